//! Batch normalization and its SNN variants, on the synaptic current `I` (MPBN: on the
//! membrane). With `x_hat = (x - mu) / sqrt(var + eps)`, statistics per channel:
//!
//! - `bn` (Ioffe & Szegedy 2015): `gamma * x_hat + beta`, over time and batch.
//! - `tdbn` (Zheng et al., "Going Deeper With Directly-Trained Larger SNNs", AAAI 2021):
//!   `alpha * theta * gamma * x_hat + beta`, with `alpha = 1/sqrt(2)` on a layer whose
//!   output is summed with a skip connection and 1 elsewhere.
//! - `tebn` (Duan et al., "Temporal Effective Batch Normalization in SNNs", NeurIPS 2022):
//!   `p[t] * (gamma * x_hat + beta)`, statistics over time and batch, one learnable scale
//!   per time step (initialized to 1, as in the authors' code).
//! - `bntt` (Kim & Panda, "Revisiting Batch Normalization for Training Low-Latency Deep
//!   SNNs from Scratch", Front. Neurosci. 2021): `gamma[t] * x_hat[t]`, one BN per time
//!   step (statistics over the batch at step `t`, running ones per step), no shift.
//! - `mpbn` (Guo et al., "Membrane Potential Batch Normalization for SNNs", ICCV 2023):
//!   `s = H(gamma * u_hat + beta - theta)` on the charged membrane `u`. A step's membrane
//!   depends on the spikes (and resets) of the steps before it, so statistics cannot span
//!   time in the forward: they are the batch's at each step, and one running estimate is
//!   shared by all steps (as one BatchNorm module called at every step does). METHOD.md's
//!   table lists (T, B); this is the causal reading. In eval the norm folds into a
//!   per-channel threshold ([`BatchNorm::folded_threshold`]).
//!
//! Biased `var` in the forward, unbiased in the running estimate, as PyTorch and candle-nn
//! do. Written here rather than taken from `candle_nn::BatchNorm` because the probe needs
//! batch statistics without moving the running ones (`forward_train` always moves them)
//! and because of the per-step variants; the tests hold plain BN to candle-nn's output.

use candle_core::{Device, Result, Tensor, Var};

use super::{batch_axes, count_over, mean_over, momentum_update, param, stat, table_shape, Mode, EPS};

/// Which member of the BN family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Variant {
    /// Plain BN (also MPBN's, applied per step to the membrane).
    Bn,
    /// tdBN with its fixed factor `alpha * theta`.
    Tdbn { scale: f64 },
    Tebn,
    Bntt,
}

pub struct BatchNorm {
    /// `[F]`, or `[T * F]` for BNTT (one gain per step).
    pub gamma: Var,
    /// `[F]`; BNTT has none.
    pub beta: Option<Var>,
    /// TEBN's per-step scale `p`, `[T]`.
    pub step_scale: Option<Var>,
    /// `[F]`, or `[T * F]` for BNTT.
    pub running_mean: Var,
    pub running_var: Var,
    scale: f64,
    per_step: bool,
}

impl BatchNorm {
    pub fn new(variant: Variant, features: usize, steps: usize, device: &Device, params: &mut Vec<Var>) -> Result<Self> {
        let per_step = variant == Variant::Bntt;
        let stats = if per_step { steps * features } else { features };
        let gamma = param(1.0, stats, device, params)?;
        let beta = if per_step { None } else { Some(param(0.0, features, device, params)?) };
        let step_scale = if variant == Variant::Tebn { Some(param(1.0, steps, device, params)?) } else { None };
        let scale = if let Variant::Tdbn { scale } = variant { scale } else { 1.0 };
        Ok(Self { gamma, beta, step_scale, running_mean: stat(0.0, stats, device)?, running_var: stat(1.0, stats, device)?, scale, per_step })
    }

    /// Shapes: `xs`: `[T, B, F]` or `[T, B, C, H, W]` -> the same.
    pub fn forward(&self, xs: &Tensor, mode: Mode) -> Result<Tensor> {
        if crate::fused::enabled(xs.device()) {
            return self.forward_fused(xs, mode);
        }
        let (rank, f) = (xs.rank(), xs.dim(2)?);
        let steps = if self.per_step { xs.dim(0)? } else { 1 };
        let axes = batch_axes(rank, self.per_step);
        let (mu, var) = match mode {
            Mode::Eval => {
                let shape = table_shape(steps, f, rank);
                (self.running_mean.as_detached_tensor().reshape(shape.as_slice())?, self.running_var.as_detached_tensor().reshape(shape)?)
            }
            Mode::Train | Mode::Probe => {
                let mu = mean_over(xs, &axes)?;
                let var = mean_over(&xs.broadcast_sub(&mu)?.sqr()?, &axes)?;
                (mu, var)
            }
        };
        if mode == Mode::Train {
            let n = count_over(xs, &axes) as f64;
            let unbiased = if n > 1.0 { (&var * (n / (n - 1.0)))? } else { var.clone() };
            momentum_update(&self.running_mean, &mu)?;
            momentum_update(&self.running_var, &unbiased)?;
        }
        let gamma = self.gamma.as_tensor().reshape(table_shape(steps, f, rank))?;
        let gamma = if self.scale != 1.0 { (gamma * self.scale)? } else { gamma };
        let mut ys = xs.broadcast_sub(&mu)?.broadcast_div(&(var + EPS)?.sqrt()?)?.broadcast_mul(&gamma)?;
        if let Some(b) = &self.beta {
            ys = ys.broadcast_add(&b.as_tensor().reshape(table_shape(1, f, rank))?)?;
        }
        if let Some(p) = &self.step_scale {
            let mut shape = vec![1; rank];
            shape[0] = xs.dim(0)?;
            ys = ys.broadcast_mul(&p.as_tensor().reshape(shape)?)?;
        }
        Ok(ys)
    }

    /// [`BatchNorm::forward`] with the per-channel ops of [`super::channel`]; the
    /// gain, `alpha` and the root fold into one `[C]` (BNTT: `[T * C]`) scale.
    fn forward_fused(&self, xs: &Tensor, mode: Mode) -> Result<Tensor> {
        use super::channel;
        let gamma = if self.scale != 1.0 { (self.gamma.as_tensor() * self.scale)? } else { self.gamma.as_tensor().clone() };
        let mut ys = match mode {
            Mode::Eval => {
                let centred = channel::shift(xs, &self.running_mean.as_detached_tensor().neg()?)?;
                let ys = channel::scale(&centred, &gamma.div(&(self.running_var.as_detached_tensor() + EPS)?.sqrt()?)?)?;
                match &self.beta {
                    Some(b) => channel::shift(&ys, b.as_tensor())?,
                    None => ys,
                }
            }
            Mode::Train | Mode::Probe => {
                // One op, statistics and their gradient included (super::kernel).
                let (ys, mu, var) = super::kernel::batch_norm(xs, &gamma, self.beta.as_ref().map(|b| b.as_tensor()), true, self.per_step, EPS)?;
                if mode == Mode::Train {
                    let n = super::count_over(xs, &batch_axes(xs.rank(), self.per_step)) as f64;
                    let unbiased = if n > 1.0 { (&var * (n / (n - 1.0)))? } else { var };
                    momentum_update(&self.running_mean, &mu)?;
                    momentum_update(&self.running_var, &unbiased)?;
                }
                ys
            }
        };
        if let Some(p) = &self.step_scale {
            let mut shape = vec![1; xs.rank()];
            shape[0] = xs.dim(0)?;
            ys = ys.broadcast_mul(&p.as_tensor().reshape(shape)?)?;
        }
        Ok(ys)
    }

    /// BN and tdBN in eval mode as one affine map per feature, `y = scale * x + shift`
    /// (`scale = alpha * gamma / sqrt(var + eps)`, `shift = beta - scale * mu`): what a NIR
    /// export folds into the weight before it. `None` for TEBN and BNTT, whose gain changes
    /// with the time step.
    pub fn eval_affine(&self) -> Result<Option<(Tensor, Tensor)>> {
        if self.per_step || self.step_scale.is_some() {
            return Ok(None);
        }
        let scale = ((self.gamma.as_tensor() * self.scale)? / (self.running_var.as_tensor() + EPS)?.sqrt()?)?;
        let shift = (scale.mul(self.running_mean.as_tensor())?.neg()? + self.beta.as_ref().map_or_else(|| scale.zeros_like(), |b| Ok(b.as_tensor().clone()))?)?;
        Ok(Some((scale, shift)))
    }

    /// MPBN in eval mode as a plain threshold on the raw membrane: with `gamma > 0`,
    /// `gamma * (u - mu) / sqrt(var + eps) + beta >= theta` iff
    /// `u >= mu + sqrt(var + eps) * (theta - beta) / gamma`. Per channel, `[F]`.
    pub fn folded_threshold(&self, theta: f32) -> Result<Tensor> {
        let beta = match &self.beta {
            Some(b) => b.as_tensor().clone(),
            None => self.gamma.as_tensor().zeros_like()?,
        };
        let sd = (self.running_var.as_tensor() + EPS)?.sqrt()?;
        let margin = ((beta.affine(-1.0, theta as f64)? * sd)? / self.gamma.as_tensor())?;
        self.running_mean.as_tensor() + margin
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{norm, Norm, NormConfig};
    use super::*;
    use crate::config::NormKind;
    use candle_core::DType;

    fn make(kind: NormKind, features: usize, skip: f64, params: &mut Vec<Var>) -> Norm {
        norm(&cfg(kind), features, skip, &dev(), params).unwrap()
    }

    /// `sample()` through plain BN by hand: f0 = 1, 0, 2, 1 -> mu 1, var 0.5;
    /// f1 = 0, 0, 3, 0 -> mu 0.75, var 1.6875.
    fn bn_of_sample() -> [f32; 8] {
        let (s0, s1) = ((0.5f32 + 1e-5).sqrt(), (1.6875f32 + 1e-5).sqrt());
        [0.0, -0.75 / s1, -1.0 / s0, -0.75 / s1, 1.0 / s0, 2.25 / s1, 0.0, -0.75 / s1]
    }

    #[test]
    fn bn_forward_by_hand_and_running_stats() {
        let mut params = vec![];
        let n = make(NormKind::Bn, 2, 1.0, &mut params);
        assert_close(&flat(&n.forward(&sample(), Mode::Train).unwrap()), &bn_of_sample(), 1e-5);
        let b = n.as_batch().unwrap();
        assert_close(&flat(b.running_mean.as_tensor()), &[0.1, 0.075], 1e-6);
        // Unbiased: var * 4/3.
        assert_close(&flat(b.running_var.as_tensor()), &[0.9 + 0.1 * 0.5 * 4.0 / 3.0, 0.9 + 0.1 * 1.6875 * 4.0 / 3.0], 1e-6);
        assert_eq!(params.len(), 2);
    }

    #[test]
    fn bn_eval_by_hand_uses_running_stats_and_probe_leaves_them() {
        let mut params = vec![];
        let n = make(NormKind::Bn, 2, 1.0, &mut params);
        n.forward(&sample(), Mode::Probe).unwrap();
        let b = n.as_batch().unwrap();
        assert_close(&flat(b.running_mean.as_tensor()), &[0.0, 0.0], 1e-9);
        assert_close(&flat(b.running_var.as_tensor()), &[1.0, 1.0], 1e-9);
        b.running_mean.set(&Tensor::new(&[1f32, -1.0], &dev()).unwrap()).unwrap();
        b.running_var.set(&Tensor::new(&[4f32, 0.25], &dev()).unwrap()).unwrap();
        params[0].set(&Tensor::new(&[2f32, 1.0], &dev()).unwrap()).unwrap(); // gamma
        params[1].set(&Tensor::new(&[0f32, 0.5], &dev()).unwrap()).unwrap(); // beta
        let (s0, s1) = ((4f32 + 1e-5).sqrt(), (0.25f32 + 1e-5).sqrt());
        let f0 = |x: f32| 2.0 * (x - 1.0) / s0;
        let f1 = |x: f32| (x + 1.0) / s1 + 0.5;
        let want = [f0(1.0), f1(0.0), f0(0.0), f1(0.0), f0(2.0), f1(3.0), f0(1.0), f1(0.0)];
        assert_close(&flat(&n.forward(&sample(), Mode::Eval).unwrap()), &want, 1e-5);
    }

    #[test]
    fn bn_matches_candle_nn_in_train_and_eval() {
        let mut params = vec![];
        let ours = make(NormKind::Bn, 2, 1.0, &mut params);
        let reference = candle_nn::BatchNorm::new(
            2,
            Tensor::zeros(2, DType::F32, &dev()).unwrap(),
            Tensor::ones(2, DType::F32, &dev()).unwrap(),
            params[0].as_tensor().clone(),
            params[1].as_tensor().clone(),
            EPS,
        )
        .unwrap();
        let flat_in = sample().reshape((4, 2)).unwrap();
        let want = flat(&reference.forward_train(&flat_in).unwrap());
        assert_close(&flat(&ours.forward(&sample(), Mode::Train).unwrap()), &want, 1e-5);
        let want_eval = flat(&candle_nn::ModuleT::forward_t(&reference, &flat_in, false).unwrap());
        assert_close(&flat(&ours.forward(&sample(), Mode::Eval).unwrap()), &want_eval, 1e-5);
    }

    #[test]
    fn bn_backward_sums_to_zero_per_feature() {
        // With gamma = 1, d/dx of sum(c * bn(x)) is (c - mean c - y mean(c y)) / s: the
        // gradient of a mean-subtracting norm sums to zero over each feature.
        let mut params = vec![];
        let n = make(NormKind::Bn, 1, 1.0, &mut params);
        let a = [1f32, 2.0, 0.0, 3.0];
        let c = [0.5f32, -1.0, 2.0, 1.0];
        let g = grad(&n, &a, &c, &[2, 2, 1]);
        let mu = 1.5f32;
        let var = a.iter().map(|v| (v - mu).powi(2)).sum::<f32>() / 4.0;
        let s = (var + 1e-5).sqrt();
        let y: Vec<f32> = a.iter().map(|v| (v - mu) / s).collect();
        let mc = c.iter().sum::<f32>() / 4.0;
        let mcy = c.iter().zip(&y).map(|(ci, yi)| ci * yi).sum::<f32>() / 4.0;
        let want: Vec<f32> = c.iter().zip(&y).map(|(ci, yi)| (ci - mc - yi * mcy) / s).collect();
        assert_close(&g, &want, 1e-4);
        assert!(g.iter().sum::<f32>().abs() < 1e-4);
    }

    #[test]
    fn tdbn_scales_bn_by_alpha_theta() {
        let mut params = vec![];
        let c = NormConfig { theta: 2.0, ..cfg(NormKind::Tdbn) };
        let alpha = std::f64::consts::FRAC_1_SQRT_2;
        let n = norm(&c, 2, alpha, &dev(), &mut params).unwrap();
        let want: Vec<f32> = bn_of_sample().iter().map(|v| v * 2.0 * alpha as f32).collect();
        assert_close(&flat(&n.forward(&sample(), Mode::Train).unwrap()), &want, 1e-5);
        // The shift is not scaled: y = alpha * theta * gamma * x_hat + beta.
        params[1].set(&Tensor::new(&[1f32, 1.0], &dev()).unwrap()).unwrap();
        let shifted: Vec<f32> = want.iter().map(|v| v + 1.0).collect();
        assert_close(&flat(&n.forward(&sample(), Mode::Probe).unwrap()), &shifted, 1e-5);
    }

    #[test]
    fn tebn_scales_each_step_and_learns_the_scale() {
        let mut params = vec![];
        let n = make(NormKind::Tebn, 2, 1.0, &mut params);
        assert_eq!(params.len(), 3, "gamma, beta, p");
        params[2].set(&Tensor::new(&[2f32, 0.5], &dev()).unwrap()).unwrap();
        let bn = bn_of_sample();
        let want: Vec<f32> = bn.iter().enumerate().map(|(i, v)| v * if i < 4 { 2.0 } else { 0.5 }).collect();
        let ys = n.forward(&sample(), Mode::Train).unwrap();
        assert_close(&flat(&ys), &want, 1e-5);
        // d sum(y) / d p[t] = sum of BN's output at step t.
        let g = flat(ys.sum_all().unwrap().backward().unwrap().get(&params[2]).unwrap());
        assert_close(&g, &[bn[..4].iter().sum(), bn[4..].iter().sum()], 1e-5);
    }

    #[test]
    fn bntt_has_one_bn_per_step_without_shift() {
        let mut params = vec![];
        let n = make(NormKind::Bntt, 2, 1.0, &mut params);
        assert_eq!(params.len(), 1, "a gain per step and feature, no shift");
        assert_eq!(params[0].dims(), &[4]);
        params[0].set(&Tensor::new(&[1f32, 1.0, 2.0, 1.0], &dev()).unwrap()).unwrap();
        // t = 0: f0 1, 0 -> mu 0.5 var 0.25; f1 0, 0 -> mu 0 var 0.
        // t = 1: f0 2, 1 -> mu 1.5 var 0.25 (gain 2); f1 3, 0 -> mu 1.5 var 2.25.
        let s = |v: f32| (v + 1e-5).sqrt();
        let want = [0.5 / s(0.25), 0.0, -0.5 / s(0.25), 0.0, 2.0 * 0.5 / s(0.25), 1.5 / s(2.25), -2.0 * 0.5 / s(0.25), -1.5 / s(2.25)];
        assert_close(&flat(&n.forward(&sample(), Mode::Train).unwrap()), &want, 1e-4);
        let b = n.as_batch().unwrap();
        assert_close(&flat(b.running_mean.as_tensor()), &[0.05, 0.0, 0.15, 0.15], 1e-6);
        // Unbiased over 2 samples: var * 2.
        assert_close(&flat(b.running_var.as_tensor()), &[0.95, 0.9, 0.95, 0.9 + 0.45], 1e-6);
        // Eval: each step's own running statistics and gain, e.g. step 1, feature 0:
        // 2 * (x - 0.15) / sqrt(0.95 + eps).
        let ev = flat(&n.forward(&sample(), Mode::Eval).unwrap());
        let want_eval = [
            (1.0 - 0.05) / s(0.95),
            0.0,
            -0.05 / s(0.95),
            0.0,
            2.0 * (2.0 - 0.15) / s(0.95),
            (3.0 - 0.15) / s(1.35),
            2.0 * (1.0 - 0.15) / s(0.95),
            -0.15 / s(1.35),
        ];
        assert_close(&ev, &want_eval, 1e-5);
        let a = [1f32, 2.0, 0.5, 3.0, 1.5, 0.2, 2.5, 1.0];
        let c = [0.5f32, -1.0, 2.0, 1.0, -0.3, 0.7, 1.1, -2.0];
        assert_close(&grad(&n, &a, &c, &[2, 2, 2]), &numeric_grad(&n, &a, &c, &[2, 2, 2]), 5e-3);
    }

    #[test]
    fn tebn_eval_uses_shared_running_stats_and_the_step_scales() {
        let mut params = vec![];
        let n = make(NormKind::Tebn, 1, 1.0, &mut params);
        let b = n.as_batch().unwrap();
        b.running_mean.set(&Tensor::new(&[1f32], &dev()).unwrap()).unwrap();
        b.running_var.set(&Tensor::new(&[4f32], &dev()).unwrap()).unwrap();
        params[2].set(&Tensor::new(&[3f32, -1.0], &dev()).unwrap()).unwrap();
        let xs = Tensor::new(&[5f32, 1.0], &dev()).unwrap().reshape((2, 1, 1)).unwrap();
        // p[t] * (x - 1) / 2: 3 * 2 = 6 at t = 0, -1 * 0 = 0 at t = 1.
        assert_close(&flat(&n.forward(&xs, Mode::Eval).unwrap()), &[6.0, 0.0], 1e-4);
    }

    #[test]
    fn mpbn_normalizes_each_step_over_the_batch_and_shares_running_stats() {
        let mut params = vec![];
        let n = make(NormKind::Mpbn, 2, 1.0, &mut params);
        let xs = sample();
        // Step 1 on its own: f0 2, 1 -> mu 1.5, var 0.25; f1 3, 0 -> mu 1.5, var 2.25.
        let s = |v: f32| (v + 1e-5).sqrt();
        let got = flat(&n.forward_step(&xs.get(1).unwrap(), Mode::Train).unwrap());
        assert_close(&got, &[0.5 / s(0.25), 1.5 / s(2.25), -0.5 / s(0.25), -1.5 / s(2.25)], 1e-4);
        // The whole-sequence forward of a membrane norm is not used; each step moves the
        // one shared running estimate.
        n.forward_step(&xs.get(0).unwrap(), Mode::Train).unwrap();
        let b = n.as_batch().unwrap();
        assert_close(&flat(b.running_mean.as_tensor()), &[0.9 * 0.15 + 0.1 * 0.5, 0.9 * 0.15], 1e-6);
    }

    #[test]
    fn mpbn_eval_folds_into_a_threshold() {
        let mut params = vec![];
        let n = make(NormKind::Mpbn, 2, 1.0, &mut params);
        let b = n.as_batch().unwrap();
        b.running_mean.set(&Tensor::new(&[0.5f32, -0.2], &dev()).unwrap()).unwrap();
        b.running_var.set(&Tensor::new(&[2f32, 0.3], &dev()).unwrap()).unwrap();
        params[0].set(&Tensor::new(&[0.7f32, 1.9], &dev()).unwrap()).unwrap();
        params[1].set(&Tensor::new(&[0.1f32, -0.4], &dev()).unwrap()).unwrap();
        let theta = 1.0f32;
        let folded = flat(&b.folded_threshold(theta).unwrap());
        let u = wave(&[16, 2]).affine(6.0, -2.0).unwrap();
        let normed = flat(&n.forward_step(&u, Mode::Eval).unwrap());
        for (i, (raw, z)) in flat(&u).iter().zip(&normed).enumerate() {
            assert_eq!(*z >= theta, *raw >= folded[i % 2], "u = {raw}, folded {folded:?}");
        }
    }
}
