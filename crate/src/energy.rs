//! An **estimate** of what one sample's inference costs in energy, the recipe SNN papers use
//! (docs/METHOD.md, "Energy"): synaptic accumulates (AC) for every spike delivered to a
//! synapse, multiply-accumulates (MAC) for the real-valued first layer of a direct-encoded
//! input (at every step), for the norms that cannot be folded into the weights (per
//! normalized value and step; layer and RMS norm three, for their statistics) and for every
//! LIF neuron's update at every step (`beta u + I`; an IF neuron's is an AC). The same
//! network as an ANN does one MAC per synapse per sample. Energies are Horowitz's 45 nm
//! figures (ISSCC 2014): FP32 MAC 4.6 pJ, AC 0.9 pJ; FP16 1.5 / 0.4; INT8 0.23 / 0.03.
//! Memory traffic, which often dominates on real hardware, is not counted.

use serde::{Deserialize, Serialize};

use crate::config::{ExperimentConfig, NormKind};
use crate::model::Network;
use crate::norm::Placement;

/// Energy per operation at one precision (Horowitz, ISSCC 2014, 45 nm), in pJ.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Precision {
    pub name: &'static str,
    pub mac_pj: f64,
    pub ac_pj: f64,
}

pub const PRECISIONS: [Precision; 3] = [
    Precision { name: "fp32", mac_pj: 4.6, ac_pj: 0.9 },
    Precision { name: "fp16", mac_pj: 1.5, ac_pj: 0.4 },
    Precision { name: "int8", mac_pj: 0.23, ac_pj: 0.03 },
];

/// One weight layer's operations per sample (the readout last).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerOps {
    /// Spikes arriving at its synapses, each an accumulate.
    pub acs: f64,
    /// Multiply-accumulates: a real-valued input's products, unfoldable norms, neuron updates.
    pub macs: f64,
    /// The same layer in an ANN: one MAC per synapse.
    pub ann_macs: f64,
    /// This layer's share of the SNN's energy at FP32, in nJ.
    pub nj: f64,
}

/// The estimate for one sample at one precision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub precision: String,
    /// The SNN and the same network as an ANN, in nJ.
    pub snn_nj: f64,
    pub ann_nj: f64,
    /// The mean firing rate below which the SNN costs less than the ANN (all layers firing
    /// at it, the fixed MACs as now); `None` if even silence costs more.
    pub break_even_rate: Option<f64>,
}

/// The estimate: per layer (hidden layers, then the readout) and in total, at each precision.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Energy {
    pub layers: Vec<LayerOps>,
    pub acs: f64,
    pub macs: f64,
    pub ann_macs: f64,
    pub costs: Vec<Cost>,
}

/// Extra MACs per normalized value and step of a norm that cannot be folded
/// ([`crate::norm::unfoldable`]): 3 for layer and RMS norm (their statistics too), else 1;
/// 0 for one that can.
fn unfolded_norm_macs(kind: NormKind, cfg: &ExperimentConfig) -> f64 {
    let per_step = kind == NormKind::Psp && cfg.psp_stats == crate::config::PspStats::PerStep;
    match crate::norm::unfoldable(kind, per_step) {
        None => 0.0,
        Some(_) if matches!(kind, NormKind::Layer | NormKind::Rms) => 3.0,
        Some(_) => 1.0,
    }
}

/// The estimate for `net` (of `cfg`, on data with `classes` classes) from its measured mean
/// firing rates, one per hidden layer, and the input's spikes per sample (`None`: a
/// real-valued, direct-encoded input).
pub fn estimate(net: &Network, cfg: &ExperimentConfig, classes: usize, rates: &[f32], input_spikes: Option<f64>) -> Energy {
    let t = cfg.timesteps as f64;
    let neurons: Vec<f64> = net.shapes.iter().map(|s| (s[0] * s[1] * s[2]) as f64).collect();
    let fan_outs = net.fan_outs(classes);
    let mut layers = Vec::with_capacity(net.layers.len() + 1);
    let update_is_ac = net.lif().beta >= 1.0;
    for (l, syn) in net.layers.iter().chain([&net.head]).enumerate() {
        let head = l == net.layers.len();
        let outputs = if head { classes as f64 } else { neurons[l] };
        // Synapses: inputs x fan-in per output position (a conv's kernel at each position).
        let dims = syn.weight.dims();
        let per_output: f64 = dims[1..].iter().product::<usize>() as f64;
        let synapses = outputs * per_output;
        let mut ops = LayerOps { ann_macs: synapses, ..Default::default() };
        match l {
            0 => match input_spikes {
                // Each input spike reaches every first-layer neuron it feeds (up to 9 x
                // channels in a conv net), as the SynOps count has it.
                Some(s) => ops.acs += s * crate::topology::fan_in(net.shapes[0][0], net.image().is_some()) as f64,
                // A direct-encoded input is the same at every step: its current is computed
                // once and held (as spikeplay's first layer does, `dense_repeated`).
                None => ops.macs += synapses,
            },
            _ => {
                let spikes = rates[l - 1] as f64 * t * neurons[l - 1];
                ops.acs += spikes * fan_outs[l - 1] as f64;
            }
        }
        let normalized = match syn.norm.placement() {
            Some(Placement::PreWeight) if l > 0 => neurons[l - 1],
            Some(Placement::PreWeight) => 0.0,
            _ => outputs,
        };
        ops.macs += t * normalized * unfolded_norm_macs(syn.norm.kind(), cfg);
        // One update per neuron per step (the readout's too).
        if update_is_ac {
            ops.acs += t * outputs;
        } else {
            ops.macs += t * outputs;
        }
        ops.nj = (ops.macs * PRECISIONS[0].mac_pj + ops.acs * PRECISIONS[0].ac_pj) / 1000.0;
        layers.push(ops);
    }
    let acs: f64 = layers.iter().map(|l| l.acs).sum();
    let macs: f64 = layers.iter().map(|l| l.macs).sum();
    let ann_macs: f64 = layers.iter().map(|l| l.ann_macs).sum();
    // The ACs that scale with the hidden layers' rate: spikes x fan-out at rate 1.
    let per_unit_rate: f64 = (0..net.layers.len()).map(|l| t * neurons[l] * fan_outs[l] as f64).sum();
    let spike_acs: f64 = (0..net.layers.len()).map(|l| rates[l] as f64 * t * neurons[l] * fan_outs[l] as f64).sum();
    let costs = PRECISIONS
        .iter()
        .map(|p| {
            let snn_nj = (macs * p.mac_pj + acs * p.ac_pj) / 1000.0;
            let ann_nj = ann_macs * p.mac_pj / 1000.0;
            let fixed = snn_nj - spike_acs * p.ac_pj / 1000.0;
            let break_even_rate = (ann_nj > fixed && per_unit_rate > 0.0).then(|| (ann_nj - fixed) * 1000.0 / (per_unit_rate * p.ac_pj));
            Cost { precision: p.name.to_owned(), snn_nj, ann_nj, break_even_rate }
        })
        .collect();
    Energy { layers, acs, macs, ann_macs, costs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatasetKind;
    use crate::rng::Rng;
    use candle_core::Device;

    fn net(cfg: &ExperimentConfig, features: usize, classes: usize) -> Network {
        Network::new(cfg, features, classes, &mut Rng::new(0), &Device::Cpu).unwrap().0
    }

    /// By hand: 4 inputs -> 8 -> 8 -> 3 classes, T 2, direct input, no norm.
    #[test]
    fn operations_by_hand() {
        let cfg = ExperimentConfig { dataset: DatasetKind::Moons, depth: 2, width: 8, timesteps: 2, norm: NormKind::None, ..Default::default() };
        let e = estimate(&net(&cfg, 4, 3), &cfg, 3, &[0.5, 0.25], None);
        // Layer 1: 32 real-valued products (once: the current is held), plus 2 x 8 updates.
        assert_eq!(e.layers[0], LayerOps { acs: 0.0, macs: 32.0 + 16.0, ann_macs: 32.0, nj: (48.0 * 4.6) / 1000.0 });
        // Layer 2: 0.5 x 2 steps x 8 neurons = 8 spikes, each to 8 synapses; 16 updates.
        assert_eq!((e.layers[1].acs, e.layers[1].macs, e.layers[1].ann_macs), (64.0, 16.0, 64.0));
        // Readout: 0.25 x 2 x 8 = 4 spikes to 3 synapses each; 2 x 3 updates.
        assert_eq!((e.layers[2].acs, e.layers[2].macs, e.layers[2].ann_macs), (12.0, 6.0, 24.0));
        let fp32 = &e.costs[0];
        assert!((fp32.snn_nj - ((48.0 + 16.0 + 6.0) * 4.6 + 76.0 * 0.9) / 1000.0).abs() < 1e-12);
        assert!((fp32.ann_nj - 120.0 * 4.6 / 1000.0).abs() < 1e-12);
        // Break-even: fixed 70 MACs; each unit of rate is 2 x (8 x 8 + 8 x 3) = 176 ACs.
        let want = (120.0 * 4.6 - 70.0 * 4.6) / (176.0 * 0.9);
        assert!((fp32.break_even_rate.unwrap() - want).abs() < 1e-9, "{:?} vs {want}", fp32.break_even_rate);
        // At that rate the SNN costs what the ANN does.
        let r = want as f32;
        let at = estimate(&net(&cfg, 4, 3), &cfg, 3, &[r, r], None);
        assert!((at.costs[0].snn_nj - at.costs[0].ann_nj).abs() < 1e-6, "{:?}", at.costs[0]);
    }

    #[test]
    fn unfoldable_norms_and_spiking_inputs_cost_what_they_do() {
        let base = ExperimentConfig { dataset: DatasetKind::Moons, depth: 2, width: 8, timesteps: 2, norm: NormKind::None, ..Default::default() };
        let none = estimate(&net(&base, 4, 3), &base, 3, &[0.5, 0.5], None);
        // BN folds: no cost. TEBN does not: one MAC per normalized current and step.
        let bn = ExperimentConfig { norm: NormKind::Bn, ..base.clone() };
        assert_eq!(estimate(&net(&bn, 4, 3), &bn, 3, &[0.5, 0.5], None).macs, none.macs);
        let tebn = ExperimentConfig { norm: NormKind::Tebn, ..base.clone() };
        assert_eq!(estimate(&net(&tebn, 4, 3), &tebn, 3, &[0.5, 0.5], None).macs, none.macs + 2.0 * (8.0 + 8.0 + 3.0));
        let layer = ExperimentConfig { norm: NormKind::Layer, ..base.clone() };
        assert_eq!(estimate(&net(&layer, 4, 3), &layer, 3, &[0.5, 0.5], None).macs, none.macs + 3.0 * 2.0 * 19.0);
        // A spike-train input: its spikes are accumulates, not products.
        let poisson = ExperimentConfig { encoding: crate::config::Encoding::Poisson, ..base.clone() };
        let e = estimate(&net(&poisson, 4, 3), &poisson, 3, &[0.5, 0.5], Some(3.0));
        assert_eq!((e.layers[0].acs, e.layers[0].macs), (3.0 * 8.0, 16.0));
    }
}
