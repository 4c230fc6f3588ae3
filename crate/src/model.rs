//! Deep spiking MLPs: a plain stack and the pre-activation residual net of METHOD.md.
//!
//! A [`Synapse`] is one weight layer with its normalization slot:
//! `a -> PreNorm -> Linear -> PostNorm -> I`. Plain hidden layer `l`:
//! `s_l = LIF(Synapse_l(trace(s_{l-1})))`. Residual net (He et al. 2016, identity
//! mappings, activation before the weight), on the real-valued path `x`:
//!
//! ```text
//! x = Stem(input)                                   hidden layer 1, fires LIF(x)
//! block: h = Syn_a(trace(LIF(x)))                   layer fires LIF(h)
//!        x = x + Syn_b(trace(LIF(h)))               layer fires LIF(x)
//! ```
//!
//! `depth` counts hidden weight layers in both nets: a residual net of depth `D` is a stem
//! and `D - 1` block layers in blocks of two (the last block has one layer when `D - 1`
//! is odd). Each hidden weight layer is followed by exactly one LIF population, whose
//! spikes are that layer's firing rate. A readout synapse maps the last spikes to classes.

use candle_core::{Device, Result, Tensor, Var};
use candle_nn::{Linear, Module};

use crate::config::{ExperimentConfig, Readout};
use crate::neuron::{leaky_mean, psp_trace, Lif};
use crate::norm::{Mode, Norm, Placement};
use crate::rng::Rng;
use crate::surrogate::Surrogate;

/// One weight layer with its normalization.
pub struct Synapse {
    pub weight: Var,
    linear: Linear,
    pub norm: Norm,
}

/// The output of a synapse and what its norm produced (for the probe).
pub struct SynapseOut {
    /// The (normalized) synaptic current, `[T, B, out]`.
    pub current: Tensor,
    /// The normalized input of the layer: `a_hat` for pre-weight norms, `I_hat` for
    /// post-weight norms, `I` without a norm.
    pub normalized: Tensor,
}

impl Synapse {
    /// Uniform weights with variance `scale^2 / fan_in` from `rng`, zero bias.
    pub fn new(
        (fan_in, fan_out): (usize, usize),
        input_is_spikes: bool,
        cfg: &ExperimentConfig,
        rng: &mut Rng,
        device: &Device,
        params: &mut Vec<Var>,
    ) -> Result<Self> {
        let bound = cfg.init_scale * (3.0 / fan_in as f32).sqrt();
        let weight = Var::from_tensor(&Tensor::from_vec(rng.uniform_vec(fan_in * fan_out, bound), (fan_out, fan_in), device)?)?;
        let bias = Var::zeros(fan_out, candle_core::DType::F32, device)?;
        let linear = Linear::new(weight.as_tensor().clone(), Some(bias.as_tensor().clone()));
        params.push(weight.clone());
        params.push(bias);
        let pre = cfg.norm.placement() == Some(Placement::PreWeight);
        let features = if pre { fan_in } else { fan_out };
        let kind = if pre && !input_is_spikes { crate::config::NormKind::None } else { cfg.norm };
        let norm = Norm::new(kind, features, cfg.psp_eps, device, params)?;
        Ok(Self { weight, linear, norm })
    }

    /// Makes the synapse output zero (up to its bias) by zeroing the norm's gain, or the
    /// weight when there is no norm; gradients still reach the zeroed tensor.
    fn zero_output(&self) -> Result<()> {
        let v = self.norm.gain().unwrap_or(&self.weight);
        v.set(&v.as_tensor().zeros_like()?)
    }

    /// Shapes: `a`: `[T, B, in]` -> current `[T, B, out]`.
    pub fn forward(&self, a: &Tensor, mode: Mode) -> Result<SynapseOut> {
        match self.norm.placement() {
            Some(Placement::PreWeight) => {
                let normalized = self.norm.forward(a, mode)?;
                Ok(SynapseOut { current: self.linear.forward(&normalized)?, normalized })
            }
            Some(Placement::PostWeight) => {
                let current = self.norm.forward(&self.linear.forward(a)?, mode)?;
                Ok(SynapseOut { normalized: current.clone(), current })
            }
            None => {
                let current = self.linear.forward(a)?;
                Ok(SynapseOut { normalized: current.clone(), current })
            }
        }
    }
}

/// Detached per-layer tensors recorded by a forward pass with `record = true`.
pub struct Taps {
    /// Spikes of each hidden layer, `[T, B, width]`.
    pub spikes: Vec<Tensor>,
    /// Normalized input of each hidden layer (see [`SynapseOut::normalized`]).
    pub normalized: Vec<Tensor>,
    /// Charged membrane of each hidden layer, `[T, B, width]`.
    pub membrane: Vec<Tensor>,
}

pub struct Network {
    /// Hidden weight layers; in a residual net `layers[0]` is the stem.
    pub layers: Vec<Synapse>,
    pub head: Synapse,
    lif: Lif,
    psp_lambda: f32,
    residual: bool,
    readout: Readout,
    input_spiking: bool,
}

impl Network {
    /// Builds a network for `features` inputs and `classes` outputs; returns it with its
    /// trainable parameters (running statistics excluded).
    pub fn new(cfg: &ExperimentConfig, features: usize, classes: usize, rng: &mut Rng, device: &Device) -> Result<(Self, Vec<Var>)> {
        let mut params = Vec::new();
        let mut layers = Vec::with_capacity(cfg.depth);
        for l in 0..cfg.depth {
            let fan_in = if l == 0 { features } else { cfg.width };
            let spikes_in = l > 0 || crate::encode::is_spiking(cfg.encoding);
            layers.push(Synapse::new((fan_in, cfg.width), spikes_in, cfg, rng, device, &mut params)?);
        }
        let head = Synapse::new((cfg.width, classes), true, cfg, rng, device, &mut params)?;
        if cfg.residual && cfg.zero_init_residual {
            for block in layers[1..].chunks(2) {
                if let Some(last) = block.last() {
                    last.zero_output()?;
                }
            }
        }
        let lif = Lif {
            beta: cfg.beta,
            theta: cfg.theta,
            reset: cfg.reset,
            detach_reset: cfg.detach_reset,
            surrogate: Surrogate::new(cfg.surrogate, cfg.surrogate_width),
        };
        let net = Self {
            layers,
            head,
            lif,
            psp_lambda: cfg.psp_lambda,
            residual: cfg.residual,
            readout: cfg.readout,
            input_spiking: crate::encode::is_spiking(cfg.encoding),
        };
        Ok((net, params))
    }

    /// Runs the net on an encoded batch and returns the logits (and taps if `record`).
    ///
    /// Shapes: `input`: `[T, B, features]` -> logits `[B, classes]`.
    pub fn forward(&self, input: &Tensor, mode: Mode, record: bool) -> Result<(Tensor, Option<Taps>)> {
        let mut taps = Taps { spikes: vec![], normalized: vec![], membrane: vec![] };
        let a0 = if self.input_spiking { psp_trace(input, self.psp_lambda)? } else { input.clone() };
        let first = self.layers[0].forward(&a0, mode)?;
        let mut x = first.current;
        let mut s = self.fire(&x, first.normalized, record, &mut taps)?;
        if self.residual {
            let block_layers: Vec<&Synapse> = self.layers[1..].iter().collect();
            for block in block_layers.chunks(2) {
                let mut h = s.clone();
                for (j, syn) in block.iter().enumerate() {
                    let out = syn.forward(&psp_trace(&h, self.psp_lambda)?, mode)?;
                    let pre = if j + 1 == block.len() {
                        x = (&x + out.current)?;
                        x.clone()
                    } else {
                        out.current
                    };
                    h = self.fire(&pre, out.normalized, record, &mut taps)?;
                }
                s = h;
            }
        } else {
            for syn in &self.layers[1..] {
                let out = syn.forward(&psp_trace(&s, self.psp_lambda)?, mode)?;
                s = self.fire(&out.current, out.normalized, record, &mut taps)?;
            }
        }
        let out = self.head.forward(&psp_trace(&s, self.psp_lambda)?, mode)?;
        let logits = match self.readout {
            Readout::Rate => self.lif.forward(&out.current, false)?.spikes.sum(0)?,
            Readout::Membrane => leaky_mean(&out.current, self.lif.beta)?,
        };
        Ok((logits, record.then_some(taps)))
    }

    /// Fires a hidden LIF population on `current`, recording what the probe needs.
    fn fire(&self, current: &Tensor, normalized: Tensor, record: bool, taps: &mut Taps) -> Result<Tensor> {
        let out = self.lif.forward(current, record)?;
        if record {
            taps.spikes.push(out.spikes.detach());
            taps.normalized.push(normalized.detach());
            if let Some(m) = out.membrane {
                taps.membrane.push(m);
            }
        }
        Ok(out.spikes)
    }

    /// The weight of every hidden layer, in order (for gradient norms).
    pub fn hidden_weights(&self) -> impl Iterator<Item = &Var> {
        self.layers.iter().map(|l| &l.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NormKind;

    fn build(residual: bool, depth: usize, norm: NormKind) -> (Network, Vec<Var>) {
        let cfg = ExperimentConfig { residual, depth, width: 8, norm, ..Default::default() };
        Network::new(&cfg, 2, 3, &mut Rng::new(0), &Device::Cpu).unwrap()
    }

    #[test]
    fn every_hidden_layer_is_tapped_once_plain_and_residual() {
        for (residual, depth) in [(false, 3), (true, 2), (true, 5), (true, 6)] {
            let (net, _) = build(residual, depth, NormKind::Psp);
            let x = Tensor::ones((4, 5, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
            let (logits, taps) = net.forward(&x, Mode::Train, true).unwrap();
            assert_eq!(logits.dims(), &[5, 3]);
            let taps = taps.unwrap();
            assert_eq!(taps.spikes.len(), depth, "residual={residual} depth={depth}");
            assert_eq!(taps.membrane.len(), depth);
            assert_eq!(taps.spikes[0].dims(), &[4, 5, 8]);
        }
    }

    #[test]
    fn parameter_counts_follow_the_norm() {
        // depth 2, width 8, 2 inputs, 3 classes: weights and biases of 3 layers = 6 tensors.
        assert_eq!(build(false, 2, NormKind::None).1.len(), 6);
        // PSP norm: + gamma on layer 2 and the head; a direct-encoded input is not a PSP.
        assert_eq!(build(false, 2, NormKind::Psp).1.len(), 8, "+ gamma per spiking input");
        assert_eq!(build(false, 2, NormKind::Bn).1.len(), 12, "+ gamma, beta per layer");
    }

    #[test]
    fn psp_norm_skips_a_direct_input_but_not_a_poisson_one() {
        let (direct, _) = build(false, 2, NormKind::Psp);
        assert!(matches!(direct.layers[0].norm, Norm::None));
        let cfg = ExperimentConfig { depth: 2, width: 8, encoding: crate::config::Encoding::Poisson, ..Default::default() };
        let (poisson, _) = Network::new(&cfg, 2, 3, &mut Rng::new(0), &Device::Cpu).unwrap();
        assert!(matches!(poisson.layers[0].norm, Norm::Psp(_)));
    }

    #[test]
    fn zero_init_residual_blocks_start_as_the_identity() {
        // With every branch at zero, x stays the stem's output, so the LIF after each
        // block's sum (layers 3 and 5 of depth 5) fires exactly like the stem's LIF.
        for norm in [NormKind::Psp, NormKind::Bn, NormKind::None] {
            let (net, _) = build(true, 5, norm);
            let x = Tensor::from_vec((0..40).map(|i| (i as f32 * 0.37).sin()).collect(), (4, 5, 2), &Device::Cpu).unwrap();
            let taps = net.forward(&x, Mode::Train, true).unwrap().1.unwrap();
            let stem: Vec<f32> = taps.spikes[0].flatten_all().unwrap().to_vec1().unwrap();
            assert!(stem.iter().any(|&v| v > 0.0), "{norm:?}: the stem should fire");
            for l in [2, 4] {
                assert_eq!(taps.spikes[l].flatten_all().unwrap().to_vec1::<f32>().unwrap(), stem, "{norm:?} layer {}", l + 1);
            }
        }
    }

    #[test]
    fn psp_norm_sits_before_the_weight_bn_after() {
        let (psp, _) = build(false, 2, NormKind::Psp);
        let (bn, _) = build(false, 2, NormKind::Bn);
        let Norm::Psp(p) = &psp.layers[1].norm else { panic!("psp expected") };
        assert_eq!(p.gamma.dims(), &[8], "on the fan-in");
        let Norm::Psp(h) = &psp.head.norm else { panic!() };
        assert_eq!(h.gamma.dims(), &[8], "head normalizes its 8 inputs");
        let Norm::Bn(b) = &bn.head.norm else { panic!("bn expected") };
        assert_eq!(b.gamma.dims(), &[3], "on the fan-out");
    }
}
