//! The normalizations of METHOD.md behind one [`Norm`] type: what each computes lives in
//! its submodule ([`psp`], [`batch`], [`layer`]), with its equation and source.
//!
//! Every norm takes time-major tensors with the feature (or conv channel) axis at 2:
//! `[T, B, F]`, or `[T, B, C, H, W]` for conv layers. Batch-type statistics reduce every
//! axis but the channel axis (and time, for per-step kinds), so the same code gives per
//! channel statistics for conv maps. Running statistics are [`Var`]s that no optimizer
//! sees (HOUSE_STYLE R6), updated with momentum 0.1 only in [`Mode::Train`].
//!
//! | kind | placement | statistics over |
//! |---|---|---|
//! | psp | trace `a` (or current) | T, B (or B per step) |
//! | bn, tdbn, tebn | current `I` | T, B |
//! | bntt | current `I` | B, per step |
//! | mpbn | membrane `u` before firing | B, per step (running: shared) |
//! | layer, rms | current `I` | F, per sample and step |

pub mod batch;
pub mod channel;
mod kernel;
pub mod layer;
pub mod psp;

use candle_core::{DType, Device, Result, Tensor, Var, D};

pub use batch::BatchNorm;
pub use layer::LayerNorm;
pub use psp::PspNorm;

use crate::config::{ExperimentConfig, NormKind, PspPlacement, PspStats};

/// BN's customary `eps`, for every norm but PSP (which has `psp_eps`).
pub const EPS: f64 = 1e-5;
pub const MOMENTUM: f64 = 0.1;

/// How a forward pass treats normalization statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Batch statistics, running statistics updated.
    Train,
    /// Batch statistics, running statistics left alone (firing-rate probes).
    Probe,
    /// Running statistics (inference).
    Eval,
}

/// Where in a layer a normalization acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// On the PSP trace, before the weight.
    PreWeight,
    /// On the synaptic current, after the weight.
    PostWeight,
    /// On the charged membrane, just before the threshold (MPBN).
    Membrane,
}

/// What building a norm needs from the experiment config.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormConfig {
    pub kind: NormKind,
    pub timesteps: usize,
    pub theta: f32,
    pub psp_eps: f64,
    pub psp_stats: PspStats,
    pub psp_shift: bool,
    pub psp_placement: PspPlacement,
}

impl NormConfig {
    pub fn from_experiment(cfg: &ExperimentConfig) -> Self {
        Self {
            kind: cfg.norm,
            timesteps: cfg.timesteps,
            theta: cfg.theta,
            psp_eps: cfg.psp_eps,
            psp_stats: cfg.psp_stats,
            psp_shift: cfg.psp_shift,
            psp_placement: cfg.psp_placement,
        }
    }

    /// Where a norm of this config acts; `None` for no norm.
    pub fn placement(&self) -> Option<Placement> {
        match self.kind {
            NormKind::None => None,
            NormKind::Psp => Some(match self.psp_placement {
                PspPlacement::Trace => Placement::PreWeight,
                PspPlacement::Current => Placement::PostWeight,
            }),
            NormKind::Bn | NormKind::Tdbn | NormKind::Tebn | NormKind::Bntt | NormKind::Layer | NormKind::Rms => {
                Some(Placement::PostWeight)
            }
            NormKind::Mpbn => Some(Placement::Membrane),
        }
    }
}

/// Why a norm of `kind` cannot be folded into a static graph's weights at inference (the
/// NIR export's refusal, and an unfolded norm's cost in the energy estimate), or `None` if it
/// can; `per_step_psp`: PSP norm with per-step statistics.
pub fn unfoldable(kind: NormKind, per_step_psp: bool) -> Option<&'static str> {
    match kind {
        NormKind::Tebn => Some("TEBN scales each time step by its own learned factor, and a NIR graph's weights are the same at every step"),
        NormKind::Bntt => Some("BNTT learns a gain and keeps statistics for each time step, and a NIR graph's weights are the same at every step"),
        NormKind::Layer => Some("layer norm subtracts and divides by statistics of each sample at each step, which NIR has no node to compute"),
        NormKind::Rms => Some("RMS norm divides by statistics of each sample at each step, which NIR has no node to compute"),
        NormKind::Psp if per_step_psp => Some("per-step PSP statistics give each time step its own scale, and a NIR graph's weights are the same at every step; choose shared statistics"),
        _ => None,
    }
}

/// A norm at inference time in the terms of a static graph ([`Norm::folded`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Folding {
    /// No norm.
    Identity,
    /// `y = scale * x + shift` per feature (or channel), in eval mode: PSP norm with
    /// shared statistics, BN, tdBN.
    Affine { scale: Vec<f32>, shift: Vec<f32> },
    /// MPBN: the neuron's threshold on its raw membrane, per feature.
    Threshold(Vec<f32>),
}

enum Body {
    Identity,
    Psp(PspNorm),
    Batch(BatchNorm),
    Layer(LayerNorm),
}

/// A normalization layer of one kind with its parameters and running statistics.
pub struct Norm {
    kind: NormKind,
    placement: Option<Placement>,
    body: Body,
}

/// A norm for `features` features (or channels). `skip_scale` is tdBN's `alpha`: 1, or
/// `1/sqrt(2)` for a layer whose output is summed with a skip connection; other kinds
/// ignore it. Trainable parameters are appended to `params`, running statistics are not.
pub fn norm(cfg: &NormConfig, features: usize, skip_scale: f64, device: &Device, params: &mut Vec<Var>) -> Result<Norm> {
    let t = cfg.timesteps;
    let body = match cfg.kind {
        NormKind::None => Body::Identity,
        NormKind::Psp => Body::Psp(PspNorm::new(features, t, cfg.psp_stats == PspStats::PerStep, cfg.psp_shift, cfg.psp_eps, device, params)?),
        NormKind::Bn => Body::Batch(BatchNorm::new(batch::Variant::Bn, features, t, device, params)?),
        NormKind::Tdbn => Body::Batch(BatchNorm::new(batch::Variant::Tdbn { scale: skip_scale * cfg.theta as f64 }, features, t, device, params)?),
        NormKind::Tebn => Body::Batch(BatchNorm::new(batch::Variant::Tebn, features, t, device, params)?),
        NormKind::Bntt => Body::Batch(BatchNorm::new(batch::Variant::Bntt, features, t, device, params)?),
        NormKind::Mpbn => Body::Batch(BatchNorm::new(batch::Variant::Bn, features, t, device, params)?),
        NormKind::Layer => Body::Layer(LayerNorm::new(false, features, device, params)?),
        NormKind::Rms => Body::Layer(LayerNorm::new(true, features, device, params)?),
    };
    Ok(Norm { kind: cfg.kind, placement: cfg.placement(), body })
}

impl Norm {
    /// No normalization.
    pub fn identity() -> Self {
        Norm { kind: NormKind::None, placement: None, body: Body::Identity }
    }

    pub fn kind(&self) -> NormKind {
        self.kind
    }

    pub fn placement(&self) -> Option<Placement> {
        self.placement
    }

    /// The per-feature gain `gamma` (BNTT: per feature and step), if this norm has one:
    /// zeroing it zeroes the norm's output up to its shift.
    pub fn gain(&self) -> Option<&Var> {
        match &self.body {
            Body::Identity => None,
            Body::Psp(n) => Some(&n.gamma),
            Body::Batch(n) => Some(&n.gamma),
            Body::Layer(n) => Some(&n.gamma),
        }
    }

    pub fn as_psp(&self) -> Option<&PspNorm> {
        match &self.body {
            Body::Psp(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_batch(&self) -> Option<&BatchNorm> {
        match &self.body {
            Body::Batch(n) => Some(n),
            _ => None,
        }
    }

    /// Every tensor of this norm, trainable or running, by a stable name (`gamma`,
    /// `beta`, `shift`, `step_scale`, `running_mean`, `running_var`, `running_sq`): what a
    /// weights file holds.
    pub fn named(&self) -> Vec<(&'static str, &Var)> {
        let mut out = vec![];
        match &self.body {
            Body::Identity => {}
            Body::Psp(n) => {
                out.push(("gamma", &n.gamma));
                out.extend(n.shift.as_ref().map(|v| ("shift", v)));
                out.push(("running_sq", &n.running_sq));
            }
            Body::Batch(n) => {
                out.push(("gamma", &n.gamma));
                out.extend(n.beta.as_ref().map(|v| ("beta", v)));
                out.extend(n.step_scale.as_ref().map(|v| ("step_scale", v)));
                out.push(("running_mean", &n.running_mean));
                out.push(("running_var", &n.running_var));
            }
            Body::Layer(n) => {
                out.push(("gamma", &n.gamma));
                out.extend(n.beta.as_ref().map(|v| ("beta", v)));
            }
        }
        out
    }

    /// This norm at inference time as a static graph can hold it ([`Folding`]), or why it
    /// cannot be ([`unfoldable`]'s reason). `theta` is the neuron's threshold, which MPBN
    /// folds into.
    pub fn folded(&self, theta: f32) -> Result<std::result::Result<Folding, &'static str>> {
        let vec = |t: &Tensor| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>();
        let per_step = match &self.body {
            Body::Psp(n) => n.eval_affine()?.is_none(),
            _ => false,
        };
        if let Some(why) = unfoldable(self.kind, per_step) {
            return Ok(Err(why));
        }
        let affine = |m: Option<(Tensor, Tensor)>| -> Result<Folding> {
            let (scale, shift) = m.ok_or_else(|| candle_core::Error::Msg("an unfoldable norm passed unfoldable()".into()))?;
            Ok(Folding::Affine { scale: vec(&scale)?, shift: vec(&shift)? })
        };
        Ok(Ok(match &self.body {
            Body::Identity => Folding::Identity,
            Body::Psp(n) => affine(n.eval_affine()?)?,
            Body::Batch(n) if self.kind == NormKind::Mpbn => {
                let gamma = vec(n.gamma.as_tensor())?;
                if gamma.iter().any(|g| *g <= 0.0) {
                    return Ok(Err("an MPBN gain is zero or negative, so its neuron fires below a threshold rather than above one, which a LIF threshold cannot say"));
                }
                Folding::Threshold(vec(&n.folded_threshold(theta)?)?)
            }
            Body::Batch(n) => affine(n.eval_affine()?)?,
            Body::Layer(_) => unreachable!("unfoldable() refuses layer and RMS norm"),
        }))
    }

    /// Normalizes a whole sequence.
    ///
    /// Shapes: `xs`: `[T, B, F]` or `[T, B, C, H, W]` -> the same.
    pub fn forward(&self, xs: &Tensor, mode: Mode) -> Result<Tensor> {
        match &self.body {
            Body::Identity => Ok(xs.clone()),
            Body::Psp(n) => n.forward(xs, mode),
            Body::Batch(n) => n.forward(xs, mode),
            Body::Layer(n) => n.forward(xs),
        }
    }

    /// Whether this norm turns a sequence whose steps are all the same into one whose steps
    /// are all the same, so that a repeated input's layer can be normalized on one step:
    /// statistics over time of equal steps are one step's (BN, tdBN, PSP norm), or per step
    /// and sample (layer and RMS norm). Not TEBN's or BNTT's per-step gains.
    pub fn keeps_repeats(&self) -> bool {
        !matches!(self.kind, NormKind::Tebn | NormKind::Bntt | NormKind::Mpbn)
    }

    /// Normalizes one time step of a membrane (MPBN): batch statistics of this step,
    /// running statistics shared over steps. Other kinds return `u` unchanged.
    ///
    /// Shapes: `u`: `[B, F]` or `[B, C, H, W]` -> the same.
    pub fn forward_step(&self, u: &Tensor, mode: Mode) -> Result<Tensor> {
        match &self.body {
            Body::Batch(n) if self.placement == Some(Placement::Membrane) => n.forward(&u.unsqueeze(0)?, mode)?.squeeze(0),
            _ => Ok(u.clone()),
        }
    }
}

/// The axes a batch-type statistic reduces: time (unless `per_step`), batch and any
/// spatial axes; the channel axis 2 is kept.
pub(crate) fn batch_axes(rank: usize, per_step: bool) -> Vec<usize> {
    (0..rank).filter(|&d| d != 2 && !(per_step && d == 0)).collect()
}

/// Mean over `axes`, keeping them as size-1 dims.
pub(crate) fn mean_over(xs: &Tensor, axes: &[usize]) -> Result<Tensor> {
    let mut m = xs.clone();
    for &d in axes.iter().rev() {
        m = m.mean_keepdim(d)?;
    }
    Ok(m)
}

/// How many values each statistic averages.
pub(crate) fn count_over(xs: &Tensor, axes: &[usize]) -> usize {
    axes.iter().map(|&d| xs.dims()[d]).product()
}

/// Shape that broadcasts a `[steps, F]` table against a rank-`rank` input:
/// `[steps, 1, F, 1, ...]`.
pub(crate) fn table_shape(steps: usize, features: usize, rank: usize) -> Vec<usize> {
    let mut shape = vec![1; rank];
    shape[0] = steps;
    shape[2] = features;
    shape
}

/// `running <- (1 - m) running + m batch`, on detached values.
pub(crate) fn momentum_update(running: &Var, batch: &Tensor) -> Result<()> {
    let next = ((running.as_tensor() * (1.0 - MOMENTUM))? + (batch.detach().flatten_all()? * MOMENTUM)?)?;
    running.set(&next)
}

/// A trainable `[n]` tensor filled with `value`.
pub(crate) fn param(value: f32, n: usize, device: &Device, params: &mut Vec<Var>) -> Result<Var> {
    let v = Var::from_tensor(&Tensor::full(value, n, device)?)?;
    params.push(v.clone());
    Ok(v)
}

/// A running statistic (not trainable) of `n` values.
pub(crate) fn stat(value: f32, n: usize, device: &Device) -> Result<Var> {
    Var::from_tensor(&Tensor::full(value, n, device)?)
}

/// Shapes: `[T, B, F]` -> `[F]`: mean over time and batch, for tests and metrics.
pub fn feature_mean(xs: &Tensor) -> Result<Tensor> {
    xs.to_dtype(DType::F32)?.mean(0)?.mean(D::Minus2)
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn dev() -> Device {
        Device::Cpu
    }

    pub fn cfg(kind: NormKind) -> NormConfig {
        NormConfig {
            kind,
            timesteps: 2,
            theta: 1.0,
            psp_eps: EPS,
            psp_stats: PspStats::Shared,
            psp_shift: false,
            psp_placement: PspPlacement::Trace,
        }
    }

    // T = 2, B = 2, F = 2. Feature 0: 1, 0, 2, 1; feature 1: 0, 0, 3, 0 (a PSP trace is >= 0).
    pub fn sample() -> Tensor {
        Tensor::from_vec(vec![1f32, 0.0, 0.0, 0.0, 2.0, 3.0, 1.0, 0.0], (2, 2, 2), &dev()).unwrap()
    }

    /// Deterministic non-negative values of `shape` (no unseeded RNG in tests).
    pub fn wave(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| (i as f32 * 0.7).sin().abs()).collect(), shape, &dev()).unwrap()
    }

    pub fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < tol, "got {got:?}, want {want:?}");
        }
    }

    /// Gradient of `sum(c * norm(x))` with respect to `x`, with `x` and `c` of `shape`.
    pub fn grad(n: &Norm, x: &[f32], c: &[f32], shape: &[usize]) -> Vec<f32> {
        let xv = Var::from_tensor(&Tensor::from_vec(x.to_vec(), shape, &dev()).unwrap()).unwrap();
        let coef = Tensor::from_vec(c.to_vec(), shape, &dev()).unwrap();
        let loss = n.forward(xv.as_tensor(), Mode::Train).unwrap().mul(&coef).unwrap().sum_all().unwrap();
        flat(loss.backward().unwrap().get(&xv).unwrap())
    }

    /// Central finite differences of `sum(c * norm(x))` in f64 arithmetic on f32 tensors.
    pub fn numeric_grad(n: &Norm, x: &[f32], c: &[f32], shape: &[usize]) -> Vec<f32> {
        let h = 1e-2f32;
        let f = |xs: &[f32]| -> f64 {
            let t = Tensor::from_vec(xs.to_vec(), shape, &dev()).unwrap();
            let y = flat(&n.forward(&t, Mode::Probe).unwrap());
            y.iter().zip(c).map(|(a, b)| *a as f64 * *b as f64).sum()
        };
        (0..x.len())
            .map(|i| {
                let (mut up, mut down) = (x.to_vec(), x.to_vec());
                up[i] += h;
                down[i] -= h;
                ((f(&up) - f(&down)) / (2.0 * h as f64)) as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn every_kind_keeps_the_shape_for_mlp_and_conv_inputs() {
        for kind in NormKind::ALL {
            let mut params = vec![];
            let n = norm(&cfg(kind), 3, 1.0, &dev(), &mut params).unwrap();
            let mlp = wave(&[2, 4, 3]);
            let conv = wave(&[2, 4, 3, 5, 5]);
            for xs in [mlp, conv] {
                for mode in [Mode::Train, Mode::Probe, Mode::Eval] {
                    let ys = n.forward(&xs, mode).unwrap();
                    assert_eq!(ys.dims(), xs.dims(), "{kind:?} {mode:?}");
                    let one = n.forward_step(&xs.get(0).unwrap(), mode).unwrap();
                    assert_eq!(one.dims(), &xs.dims()[1..], "{kind:?} {mode:?} step");
                }
            }
        }
    }

    #[test]
    fn placements_follow_the_table() {
        let p = |kind| cfg(kind).placement();
        assert_eq!(p(NormKind::None), None);
        assert_eq!(p(NormKind::Psp), Some(Placement::PreWeight));
        let current = NormConfig { psp_placement: PspPlacement::Current, ..cfg(NormKind::Psp) };
        assert_eq!(current.placement(), Some(Placement::PostWeight));
        for k in [NormKind::Bn, NormKind::Tdbn, NormKind::Tebn, NormKind::Bntt, NormKind::Layer, NormKind::Rms] {
            assert_eq!(p(k), Some(Placement::PostWeight), "{k:?}");
        }
        assert_eq!(p(NormKind::Mpbn), Some(Placement::Membrane));
    }

    #[test]
    fn conv_statistics_are_per_channel() {
        // Channel 0 is all 2s, channel 1 all 4s: BN maps both to zero, PSP norm to one.
        let mut v = vec![2f32; 2 * 1 * 2 * 2 * 2];
        for t in 0..2 {
            for c in 0..4 {
                v[t * 8 + 4 + c] = 4.0;
            }
        }
        let xs = Tensor::from_vec(v, (2, 1, 2, 2, 2), &dev()).unwrap();
        let mut params = vec![];
        let psp = norm(&cfg(NormKind::Psp), 2, 1.0, &dev(), &mut params).unwrap();
        assert_close(&flat(&psp.forward(&xs, Mode::Train).unwrap()), &[1.0; 16], 1e-4);
        let bn = norm(&cfg(NormKind::Bn), 2, 1.0, &dev(), &mut params).unwrap();
        assert_close(&flat(&bn.forward(&xs, Mode::Train).unwrap()), &[0.0; 16], 1e-4);
    }
}
