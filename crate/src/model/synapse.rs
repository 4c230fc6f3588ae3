//! One weight layer with its normalization slot, `a -> PreNorm -> Linear -> PostNorm -> I`:
//! a dense or 3x3 conv weight, initialized from the run's RNG, and the norm the config
//! places before or after it.

use candle_core::{Device, Result, Tensor, Var};
use candle_nn::{Conv2d, Conv2dConfig, Linear, Module};

use crate::config::ExperimentConfig;
use crate::fused;
use crate::norm::{norm, Mode, Norm, NormConfig, Placement};
use crate::rng::Rng;
use crate::topology::fan_in;

/// A dense or a 3x3 convolutional weight.
enum Op {
    Linear(Linear),
    Conv(Conv2d),
}

impl Op {
    /// Shapes: `[T, B, in]` -> `[T, B, out]`, or `[T, B, C, H, W]` -> `[T, B, C', H, W]`.
    ///
    /// On the CPU a dense layer is one op with its bias ([`crate::dense`]), and so is a conv
    /// layer ([`crate::conv`]): candle-nn's layers broadcast the weight over `T` and the bias
    /// over `[T, B]`, whose gradients then need candle's slow reduction over leading axes, and
    /// its `conv2d` runs per frame. Elsewhere, candle-nn's layers as they are.
    fn forward(&self, a: &Tensor) -> Result<Tensor> {
        let (t, b) = (a.dim(0)?, a.dim(1)?);
        // An input that is one step repeated over T (a stride-0 view: a direct-encoded
        // input, encode.rs) is the same current at every step.
        let repeated = t > 1 && a.stride()[0] == 0;
        if !fused::enabled(a.device()) {
            let a = &a.contiguous()?;
            return match self {
                Op::Linear(l) => l.forward(a),
                Op::Conv(c) => {
                    let y = c.forward(&a.flatten(0, 1)?)?;
                    let (_, ch, h, w) = y.dims4()?;
                    y.reshape((t, b, ch, h, w))
                }
            };
        }
        match self {
            Op::Linear(l) => {
                let bias = match l.bias() {
                    Some(bias) => bias.clone(),
                    None => Tensor::zeros(l.weight().dim(0)?, a.dtype(), a.device())?,
                };
                if repeated {
                    crate::dense::dense_repeated(&a.narrow(0, 0, 1)?, l.weight(), &bias, t)
                } else {
                    crate::dense::dense(a, l.weight(), &bias)
                }
            }
            Op::Conv(c) => {
                // One op over all T x B frames (crate::conv); padding 1, stride 1 (`build`).
                let bias = match c.bias() {
                    Some(bias) => bias.clone(),
                    None => Tensor::zeros(c.weight().dim(0)?, a.dtype(), a.device())?,
                };
                if repeated {
                    crate::conv::conv3x3_repeated(&a.narrow(0, 0, 1)?, c.weight(), &bias, t)
                } else {
                    crate::conv::conv3x3(a, c.weight(), &bias)
                }
            }
        }
    }
}

/// One weight layer with its normalization.
pub struct Synapse {
    pub weight: Var,
    pub bias: Var,
    op: Op,
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
    /// `skip_scale` is tdBN's `alpha` (1/sqrt(2) when the output is summed with a skip).
    pub fn new(
        (fan_in, fan_out): (usize, usize),
        input_is_spikes: bool,
        cfg: &ExperimentConfig,
        skip_scale: f64,
        rng: &mut Rng,
        device: &Device,
        params: &mut Vec<Var>,
    ) -> Result<Self> {
        Self::build((fan_in, fan_out), false, input_is_spikes, cfg, skip_scale, rng, device, params)
    }

    /// [`Synapse::new`], or with `conv` a 3x3 convolution from `fan_in` to `fan_out`
    /// channels (padding 1; its fan-in for the init is [`fan_in`]: 9 per input channel).
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        (fan_in_channels, fan_out): (usize, usize),
        conv: bool,
        input_is_spikes: bool,
        cfg: &ExperimentConfig,
        skip_scale: f64,
        rng: &mut Rng,
        device: &Device,
        params: &mut Vec<Var>,
    ) -> Result<Self> {
        let inputs = fan_in(fan_in_channels, conv);
        let bound = cfg.init_scale * (3.0 / inputs as f32).sqrt();
        let values = rng.uniform_vec(inputs * fan_out, bound);
        let weight = if conv {
            Var::from_tensor(&Tensor::from_vec(values, (fan_out, fan_in_channels, 3, 3), device)?)?
        } else {
            Var::from_tensor(&Tensor::from_vec(values, (fan_out, fan_in_channels), device)?)?
        };
        let bias = Var::zeros(fan_out, candle_core::DType::F32, device)?;
        let op = if conv {
            let conv_cfg = Conv2dConfig { padding: 1, ..Default::default() };
            Op::Conv(Conv2d::new(weight.as_tensor().clone(), Some(bias.as_tensor().clone()), conv_cfg))
        } else {
            Op::Linear(Linear::new(weight.as_tensor().clone(), Some(bias.as_tensor().clone())))
        };
        params.push(weight.clone());
        params.push(bias.clone());
        let norm_cfg = NormConfig::from_experiment(cfg);
        let pre = norm_cfg.placement() == Some(Placement::PreWeight);
        let features = if pre { fan_in_channels } else { fan_out };
        let norm = if pre && !input_is_spikes { Norm::identity() } else { norm(&norm_cfg, features, skip_scale, device, params)? };
        Ok(Self { weight, bias, op, norm })
    }

    /// Every tensor of this synapse by name under `prefix`: `{prefix}.weight`,
    /// `{prefix}.bias`, then its norm's as `{prefix}.norm.{name}` ([`Norm::named`]).
    pub fn named(&self, prefix: &str) -> Vec<(String, &Var)> {
        let mut out = vec![(format!("{prefix}.weight"), &self.weight), (format!("{prefix}.bias"), &self.bias)];
        out.extend(self.norm.named().into_iter().map(|(n, v)| (format!("{prefix}.norm.{n}"), v)));
        out
    }

    /// Makes the synapse output zero (up to its bias) by zeroing the norm's gain, or the
    /// weight when there is no norm; gradients still reach the zeroed tensor.
    /// A membrane norm is not on the synapse's output path, so it zeroes the weight.
    pub(super) fn zero_output(&self) -> Result<()> {
        let in_path = matches!(self.norm.placement(), Some(Placement::PreWeight | Placement::PostWeight));
        let v = if in_path { self.norm.gain().unwrap_or(&self.weight) } else { &self.weight };
        v.set(&v.as_tensor().zeros_like()?)
    }

    /// Shapes: `a`: `[T, B, in]` -> current `[T, B, out]`.
    pub fn forward(&self, a: &Tensor, mode: Mode) -> Result<SynapseOut> {
        match self.norm.placement() {
            Some(Placement::PreWeight) => {
                let normalized = self.norm.forward(a, mode)?;
                Ok(SynapseOut { current: self.op.forward(&normalized)?, normalized })
            }
            Some(Placement::PostWeight) => {
                // A repeated input (a direct-encoded image) gives the same current at every
                // step, and BN's statistics over equal steps are one step's: the weight and
                // the norm run on one step, then the result is repeated (E2's first BN layer
                // normalized 6.4 million values instead of 1.6). Only the running variance's
                // n / (n - 1) counts one step's values.
                let t = a.dim(0)?;
                let current = if t > 1 && a.stride()[0] == 0 && self.norm.keeps_repeats() {
                    let one = self.norm.forward(&self.op.forward(&a.narrow(0, 0, 1)?)?, mode)?;
                    crate::fused::repeat_steps(&one, t)?
                } else {
                    self.norm.forward(&self.op.forward(a)?, mode)?
                };
                Ok(SynapseOut { normalized: current.clone(), current })
            }
            // A membrane norm acts in the neuron (`Network::fire`).
            Some(Placement::Membrane) | None => {
                let current = self.op.forward(a)?;
                Ok(SynapseOut { normalized: current.clone(), current })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pool;
    use super::*;
    use crate::config::NormKind;

    #[test]
    fn conv_weight_gradient_matches_finite_differences() {
        // The synapse (3x3 conv, then BN per channel) and an average pool are smooth, so
        // candle's backward through them must match central differences in the weight.
        let cfg = ExperimentConfig { conv: true, depth: 1, width: 4, pools: 2, timesteps: 3, norm: NormKind::Bn, zero_init_residual: false, ..Default::default() };
        let mut params = vec![];
        let syn = Synapse::build((2, 3), true, true, &cfg, 1.0, &mut Rng::new(3), &Device::Cpu, &mut params).unwrap();
        let n = 2 * 2 * 2 * 4 * 4;
        let a = Tensor::from_vec((0..n).map(|i| (i as f32 * 0.37).sin()).collect(), (2, 2, 2, 4, 4), &Device::Cpu).unwrap();
        let target = Tensor::from_vec((0..2 * 2 * 3 * 4).map(|i| (i as f32 * 0.23).cos()).collect(), (2, 2, 3, 2, 2), &Device::Cpu).unwrap();
        let loss = |syn: &Synapse| {
            let y = pool(&syn.forward(&a, Mode::Train).unwrap().current, 1, true).unwrap();
            (y - &target).unwrap().sqr().unwrap().sum_all().unwrap()
        };
        let analytic: Vec<f32> = loss(&syn).backward().unwrap().get(&syn.weight).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let w0 = syn.weight.as_tensor().copy().unwrap();
        let flat: Vec<f32> = w0.flatten_all().unwrap().to_vec1().unwrap();
        for i in [0usize, 7, 20, 53] {
            let at = |d: f32| {
                let mut v = flat.clone();
                v[i] += d;
                syn.weight.set(&Tensor::from_vec(v, w0.dims(), &Device::Cpu).unwrap()).unwrap();
                loss(&syn).to_scalar::<f32>().unwrap() as f64
            };
            let h = 1e-2;
            let numeric = ((at(h) - at(-h)) / (2.0 * h as f64)) as f32;
            syn.weight.set(&w0).unwrap();
            assert!((numeric - analytic[i]).abs() <= 2e-2 * (1.0 + numeric.abs()), "conv weight {i}: {numeric} vs {}", analytic[i]);
        }
    }
}
