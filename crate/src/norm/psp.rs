//! PSP normalization (Ikegawa, Saiin, Sawada, Natori, "Rethinking the Role of
//! Normalization and Residual Blocks for Spiking Neural Networks", Sensors 22(8):2876,
//! 2022), on the PSP trace `a` before the weight:
//!
//! ```text
//! a_hat = gamma * a / sqrt(mean(a^2) + eps)  (+ shift, the paper's beta, off by default)
//! ```
//!
//! No mean is subtracted: `a >= 0`, so silent synapses stay at zero and the drive keeps its
//! sign. `mean(a^2)` is per feature (channel) over time and batch, or over the batch for
//! each time step (`PspStats::PerStep`); the eval mode divides by its running estimate.

use candle_core::{Device, Result, Tensor, Var};

use super::{batch_axes, mean_over, momentum_update, param, stat, table_shape, Mode};

/// PSP normalization: divide by the root of the second raw moment.
pub struct PspNorm {
    pub gamma: Var,
    /// The learnable shift, when switched on.
    pub shift: Option<Var>,
    /// Running `mean(a^2)`, `[F]` or `[T * F]` per step, for [`Mode::Eval`].
    pub running_sq: Var,
    /// Added to `mean(a^2)`. For spikes `mean(a^2)` is the firing rate, so `eps` is the
    /// rate below which a synapse stops being amplified; it bounds the backward gain of a
    /// silent one at `gamma / sqrt(eps)` (316x at BN's customary 1e-5).
    pub eps: f64,
    per_step: bool,
}

impl PspNorm {
    pub fn new(features: usize, steps: usize, per_step: bool, shift: bool, eps: f64, device: &Device, params: &mut Vec<Var>) -> Result<Self> {
        let gamma = param(1.0, features, device, params)?;
        let shift = if shift { Some(param(0.0, features, device, params)?) } else { None };
        let stats = if per_step { steps * features } else { features };
        Ok(Self { gamma, shift, running_sq: stat(1.0, stats, device)?, eps, per_step })
    }

    /// Shapes: `xs`: `[T, B, F]` or `[T, B, C, H, W]` -> the same.
    pub fn forward(&self, xs: &Tensor, mode: Mode) -> Result<Tensor> {
        if crate::fused::enabled(xs.device()) {
            return self.forward_fused(xs, mode);
        }
        let (rank, f) = (xs.rank(), xs.dim(2)?);
        let steps = if self.per_step { xs.dim(0)? } else { 1 };
        let sq = match mode {
            Mode::Eval => self.running_sq.as_detached_tensor().reshape(table_shape(steps, f, rank))?,
            Mode::Train | Mode::Probe => mean_over(&xs.sqr()?, &batch_axes(rank, self.per_step))?,
        };
        if mode == Mode::Train {
            momentum_update(&self.running_sq, &sq)?;
        }
        let per_feature = table_shape(1, f, rank);
        let ys = xs.broadcast_div(&(sq + self.eps)?.sqrt()?)?.broadcast_mul(&self.gamma.as_tensor().reshape(per_feature.as_slice())?)?;
        match &self.shift {
            Some(b) => ys.broadcast_add(&b.as_tensor().reshape(per_feature)?),
            None => Ok(ys),
        }
    }
}

impl PspNorm {
    /// Eval mode as one affine map per feature, `y = scale * a + shift` with
    /// `scale = gamma / sqrt(running mean(a^2) + eps)`: what a NIR export folds into the
    /// weight after it. `None` with per-step statistics (a scale per time step).
    pub fn eval_affine(&self) -> Result<Option<(Tensor, Tensor)>> {
        if self.per_step {
            return Ok(None);
        }
        let scale = self.gamma.as_tensor().div(&(self.running_sq.as_tensor() + self.eps)?.sqrt()?)?;
        let shift = match &self.shift {
            Some(b) => b.as_tensor().clone(),
            None => scale.zeros_like()?,
        };
        Ok(Some((scale, shift)))
    }
}

impl PspNorm {
    /// [`PspNorm::forward`] with the per-channel ops of [`super::channel`]: the
    /// gain and the root are folded into one `[C]` (or `[T * C]`) scale first.
    fn forward_fused(&self, xs: &Tensor, mode: Mode) -> Result<Tensor> {
        use super::channel;
        let gamma = self.gamma.as_tensor();
        // `[C]` gain against a `[T * C]` per-step table: one row per step.
        let gamma = if self.per_step { gamma.unsqueeze(0)?.broadcast_as((xs.dim(0)?, gamma.dim(0)?))?.flatten_all()? } else { gamma.clone() };
        if mode == Mode::Eval {
            let scale = gamma.div(&(self.running_sq.as_detached_tensor() + self.eps)?.sqrt()?)?;
            let ys = channel::scale(xs, &scale)?;
            return match &self.shift {
                Some(b) => channel::shift(&ys, b.as_tensor()),
                None => Ok(ys),
            };
        }
        // One op, the moment and its gradient included (super::kernel); no centring.
        let (ys, _, sq) = super::kernel::batch_norm(xs, &gamma, self.shift.as_ref().map(|b| b.as_tensor()), false, self.per_step, self.eps)?;
        if mode == Mode::Train {
            momentum_update(&self.running_sq, &sq)?;
        }
        Ok(ys)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{norm, NormConfig, EPS};
    use crate::config::{NormKind, PspStats};
    use candle_core::{Tensor, Var};

    use super::*;

    fn psp(per_step: bool, shift: bool, params: &mut Vec<Var>) -> super::super::Norm {
        let stats = if per_step { PspStats::PerStep } else { PspStats::Shared };
        let c = NormConfig { psp_stats: stats, psp_shift: shift, ..cfg(NormKind::Psp) };
        norm(&c, 2, 1.0, &dev(), params).unwrap()
    }

    #[test]
    fn forward_by_hand() {
        let mut params = vec![];
        let n = psp(false, false, &mut params);
        let ys = n.forward(&sample(), Mode::Train).unwrap();
        // mean(a^2): f0 = (1 + 0 + 4 + 1) / 4 = 1.5, f1 = 9 / 4 = 2.25.
        let (r0, r1) = ((1.5f32 + 1e-5).sqrt(), (2.25f32 + 1e-5).sqrt());
        assert_close(&flat(&ys), &[1.0 / r0, 0.0, 0.0, 0.0, 2.0 / r0, 3.0 / r1, 1.0 / r0, 0.0], 1e-6);
        // Silent inputs stay silent: no mean was subtracted.
        assert_eq!(flat(&ys)[1], 0.0);
        // Running second moment: 0.9 * 1 + 0.1 * batch.
        assert_close(&flat(n.as_psp().unwrap().running_sq.as_tensor()), &[0.9 + 0.15, 0.9 + 0.225], 1e-6);
        assert_eq!(params.len(), 1, "psp has gamma only (shift off by default)");
    }

    #[test]
    fn per_step_moments_by_hand() {
        let mut params = vec![];
        let n = psp(true, false, &mut params);
        let ys = n.forward(&sample(), Mode::Train).unwrap();
        // t = 0: f0 values 1, 0 -> 0.5; f1 0, 0 -> 0. t = 1: f0 2, 1 -> 2.5; f1 3, 0 -> 4.5.
        let r = |m: f32| (m + 1e-5).sqrt();
        let want = [1.0 / r(0.5), 0.0, 0.0, 0.0, 2.0 / r(2.5), 3.0 / r(4.5), 1.0 / r(2.5), 0.0];
        assert_close(&flat(&ys), &want, 1e-5);
        // One running moment per (step, feature).
        assert_close(&flat(n.as_psp().unwrap().running_sq.as_tensor()), &[0.95, 0.9, 1.15, 1.35], 1e-6);
        // Eval divides each step by its own running moment.
        let ev = flat(&n.forward(&sample(), Mode::Eval).unwrap());
        assert_close(&ev, &[1.0 / r(0.95), 0.0, 0.0, 0.0, 2.0 / r(1.15), 3.0 / r(1.35), 1.0 / r(1.15), 0.0], 1e-5);
    }

    #[test]
    fn shift_is_a_second_parameter_added_after_the_division() {
        let mut params = vec![];
        let n = psp(false, true, &mut params);
        assert_eq!(params.len(), 2);
        params[1].set(&Tensor::new(&[0.5f32, -1.0], &dev()).unwrap()).unwrap();
        let ys = flat(&n.forward(&sample(), Mode::Probe).unwrap());
        let (r0, r1) = ((1.5f32 + 1e-5).sqrt(), (2.25f32 + 1e-5).sqrt());
        assert_close(&ys, &[1.0 / r0 + 0.5, -1.0, 0.5, -1.0, 2.0 / r0 + 0.5, 3.0 / r1 - 1.0, 1.0 / r0 + 0.5, -1.0], 1e-5);
    }

    #[test]
    fn eval_uses_running_moment_and_probe_leaves_it() {
        let mut params = vec![];
        let n = psp(false, false, &mut params);
        n.forward(&sample(), Mode::Probe).unwrap();
        let p = n.as_psp().unwrap();
        assert_close(&flat(p.running_sq.as_tensor()), &[1.0, 1.0], 1e-9);
        p.running_sq.set(&Tensor::new(&[4f32, 0.25], &dev()).unwrap()).unwrap();
        let ys = n.forward(&sample(), Mode::Eval).unwrap();
        let (r0, r1) = ((4f32 + 1e-5).sqrt(), (0.25f32 + 1e-5).sqrt());
        assert_close(&flat(&ys), &[1.0 / r0, 0.0, 0.0, 0.0, 2.0 / r0, 3.0 / r1, 1.0 / r0, 0.0], 1e-6);
    }

    #[test]
    fn backward_by_hand() {
        // y_i = a_i / r, r = sqrt(m + eps), m = mean(a^2) over n values of one feature.
        // d(sum_i c_i y_i)/da_j = c_j / r - a_j * (sum_i c_i a_i) / (n r^3).
        let mut params = vec![];
        let n = norm(&cfg(NormKind::Psp), 1, 1.0, &dev(), &mut params).unwrap();
        let a = [1f32, 2.0, 0.0, 3.0];
        let c = [0.5f32, -1.0, 2.0, 1.0];
        let g = grad(&n, &a, &c, &[2, 2, 1]);
        let m = a.iter().map(|v| v * v).sum::<f32>() / 4.0;
        let r = (m + EPS as f32).sqrt();
        let ca: f32 = a.iter().zip(&c).map(|(x, y)| x * y).sum();
        let want: Vec<f32> = a.iter().zip(&c).map(|(aj, cj)| cj / r - aj * ca / (4.0 * r.powi(3))).collect();
        assert_close(&g, &want, 1e-5);
    }

    #[test]
    fn per_step_backward_matches_finite_differences() {
        let mut params = vec![];
        let n = psp(true, true, &mut params);
        let a = [1f32, 2.0, 0.5, 3.0, 1.5, 0.2, 2.5, 1.0];
        let c = [0.5f32, -1.0, 2.0, 1.0, -0.3, 0.7, 1.1, -2.0];
        assert_close(&grad(&n, &a, &c, &[2, 2, 2]), &numeric_grad(&n, &a, &c, &[2, 2, 2]), 2e-3);
    }
}
