//! Per-layer statistics on detached tensors (HOUSE_STYLE R4), as METHOD.md defines them:
//! rate = spikes / (neurons x steps x samples); a neuron is silent at rate 0 and saturated
//! at rate >= 0.9 (its own rate over the probe batch and all steps).

use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

use crate::model::Taps;

pub const SATURATED: f32 = 0.9;
/// A layer counts as silent when its mean rate is below this (about one spike per
/// thousand neuron-steps): it passes almost nothing on.
pub const SILENT_LAYER: f32 = 1e-3;

/// Hidden layers whose mean rate is below [`SILENT_LAYER`].
pub fn silent_layers(layers: &[LayerStats]) -> usize {
    layers.iter().filter(|l| l.rate < SILENT_LAYER).count()
}

/// Hidden layers whose mean rate is at least [`SATURATED`].
pub fn saturated_layers(layers: &[LayerStats]) -> usize {
    layers.iter().filter(|l| l.rate >= SATURATED).count()
}

/// What the probe reports for one hidden layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// Mean firing rate, spikes per neuron per step.
    pub rate: f32,
    /// Fraction of neurons that never fired on the probe batch.
    pub silent: f32,
    /// Fraction of neurons with rate >= 0.9.
    pub saturated: f32,
    /// Mean of the layer's normalized input.
    pub norm_mean: f32,
    /// Second raw moment of the layer's normalized input.
    pub norm_sq: f32,
    /// L2 norm of the gradient of the layer's weight at the last training step.
    pub grad_norm: f32,
}

/// Per-neuron firing rates of one layer.
///
/// Shapes: `spikes`: `[T, B, F]` -> `F` values.
pub fn neuron_rates(spikes: &Tensor) -> Result<Vec<f32>> {
    spikes.detach().mean(0)?.mean(0)?.to_vec1::<f32>()
}

fn scalar_mean(xs: &Tensor) -> Result<f32> {
    xs.detach().mean_all()?.to_scalar::<f32>()
}

/// Statistics of every hidden layer from the taps of a recorded forward pass.
/// `grad_norms` has one entry per layer (zeros before the first step).
pub fn layer_stats(taps: &Taps, grad_norms: &[f32]) -> Result<Vec<LayerStats>> {
    let mut out = Vec::with_capacity(taps.spikes.len());
    for (l, (spikes, normalized)) in taps.spikes.iter().zip(&taps.normalized).enumerate() {
        let rates = neuron_rates(spikes)?;
        let n = rates.len().max(1) as f32;
        out.push(LayerStats {
            rate: rates.iter().sum::<f32>() / n,
            silent: rates.iter().filter(|&&r| r == 0.0).count() as f32 / n,
            saturated: rates.iter().filter(|&&r| r >= SATURATED).count() as f32 / n,
            norm_mean: scalar_mean(normalized)?,
            norm_sq: scalar_mean(&normalized.detach().sqr()?)?,
            grad_norm: grad_norms.get(l).copied().unwrap_or(0.0),
        });
    }
    Ok(out)
}

/// Estimated synaptic operations per sample: every spike of layer `l` is delivered to
/// `fan_outs[l]` synapses of the layer after it (the readout for the last one). Input
/// spikes count only when the input is a spike train (`input_spikes`).
pub fn synops_per_sample(taps: &Taps, fan_outs: &[usize], input_spikes: Option<(&Tensor, usize)>) -> Result<f32> {
    let per_sample = |s: &Tensor| -> Result<f32> {
        let b = s.dim(1)?.max(1) as f32;
        Ok(s.detach().sum_all()?.to_scalar::<f32>()? / b)
    };
    let mut total = match input_spikes {
        Some((s, fan_out)) => per_sample(s)? * fan_out as f32,
        None => 0.0,
    };
    for (s, &fan_out) in taps.spikes.iter().zip(fan_outs) {
        total += per_sample(s)? * fan_out as f32;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn stats_by_hand() {
        // T = 2, B = 2, F = 3: neuron 0 always fires (rate 1), neuron 1 never, neuron 2 once.
        let s = Tensor::from_vec(vec![1f32, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0], (2, 2, 3), &Device::Cpu).unwrap();
        let normalized = Tensor::from_vec(vec![1f32, -1.0, 2.0, 0.0], (1, 1, 4), &Device::Cpu).unwrap();
        let taps = Taps { spikes: vec![s], normalized: vec![normalized], membrane: vec![] };
        let st = &layer_stats(&taps, &[0.5]).unwrap()[0];
        assert!((st.rate - 5.0 / 12.0).abs() < 1e-6);
        assert!((st.silent - 1.0 / 3.0).abs() < 1e-6);
        assert!((st.saturated - 1.0 / 3.0).abs() < 1e-6);
        assert!((st.norm_mean - 0.5).abs() < 1e-6);
        assert!((st.norm_sq - 1.5).abs() < 1e-6);
        assert_eq!(st.grad_norm, 0.5);
        // 5 spikes over 2 samples, each reaching 10 synapses.
        assert!((synops_per_sample(&taps, &[10], None).unwrap() - 25.0).abs() < 1e-5);
    }
}
