//! Normalizations of METHOD.md, one enum that grows.
//!
//! Statistics are per feature over time and batch (`[T, B, F]` reduced over dims 0 and 1).
//! Running statistics are [`Var`]s that no optimizer sees (HOUSE_STYLE R6) and are updated
//! with momentum 0.1 only in [`Mode::Train`].
//!
//! - `psp` (Ikegawa et al., Sensors 2022): on the PSP trace `a`, before the weight,
//!   `a_hat = gamma * a / sqrt(mean(a^2) + eps)` (+ beta, off by default). No mean is
//!   subtracted: `a >= 0`, so silent synapses stay at zero and the drive keeps its sign.
//! - `bn` (Ioffe & Szegedy 2015): on the current `I`, after the weight,
//!   `gamma * (I - mu) / sqrt(var + eps) + beta`, biased `var` in the forward, unbiased in
//!   the running estimate (as PyTorch and candle-nn do).
//!
//! BN is written here rather than taken from `candle_nn::BatchNorm` because the probe
//! needs batch statistics without moving the running ones, which candle-nn's
//! `forward_train` always does; the tests hold ours to candle-nn's output.

use candle_core::{DType, Device, Result, Tensor, Var, D};

use crate::config::NormKind;

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
}

impl NormKind {
    /// Where a norm of this kind acts; `None` for no norm.
    pub fn placement(self) -> Option<Placement> {
        match self {
            NormKind::None => None,
            NormKind::Psp => Some(Placement::PreWeight),
            NormKind::Bn => Some(Placement::PostWeight),
        }
    }
}

/// A normalization layer of one kind with its parameters and running statistics.
pub enum Norm {
    None,
    Psp(PspNorm),
    Bn(BatchNorm),
}

/// Mean over time and batch, keeping `[1, 1, F]`.
fn mean_tb(xs: &Tensor) -> Result<Tensor> {
    xs.mean_keepdim(0)?.mean_keepdim(1)
}

fn momentum_update(running: &Var, batch: &Tensor) -> Result<()> {
    let next = ((running.as_tensor() * (1.0 - MOMENTUM))? + (batch.detach().flatten_all()? * MOMENTUM)?)?;
    running.set(&next)
}

fn param(value: f32, features: usize, device: &Device, params: &mut Vec<Var>) -> Result<Var> {
    let v = Var::from_tensor(&Tensor::full(value, features, device)?)?;
    params.push(v.clone());
    Ok(v)
}

/// PSP normalization: divide by the root of the second raw moment.
pub struct PspNorm {
    pub gamma: Var,
    pub beta: Option<Var>,
    /// Running `mean(a^2)` per feature, for [`Mode::Eval`].
    pub running_sq: Var,
    /// Added to `mean(a^2)`. For spikes `mean(a^2)` is the firing rate, so `eps` is the
    /// rate below which a synapse stops being amplified; it bounds the backward gain of a
    /// silent one at `gamma / sqrt(eps)` (316x at BN's customary 1e-5).
    pub eps: f64,
}

impl PspNorm {
    /// Shapes: `xs`: `[T, B, F]` -> `[T, B, F]`.
    pub fn forward(&self, xs: &Tensor, mode: Mode) -> Result<Tensor> {
        let sq = match mode {
            Mode::Eval => self.running_sq.as_detached_tensor().reshape((1, 1, ()))?,
            Mode::Train | Mode::Probe => mean_tb(&xs.sqr()?)?,
        };
        if mode == Mode::Train {
            momentum_update(&self.running_sq, &sq)?;
        }
        let ys = xs.broadcast_div(&(sq + self.eps)?.sqrt()?)?.broadcast_mul(self.gamma.as_tensor())?;
        match &self.beta {
            Some(b) => ys.broadcast_add(b.as_tensor()),
            None => Ok(ys),
        }
    }
}

/// Batch normalization over time and batch, per feature.
pub struct BatchNorm {
    pub gamma: Var,
    pub beta: Var,
    pub running_mean: Var,
    pub running_var: Var,
}

impl BatchNorm {
    /// Shapes: `xs`: `[T, B, F]` -> `[T, B, F]`.
    pub fn forward(&self, xs: &Tensor, mode: Mode) -> Result<Tensor> {
        let (mu, var) = match mode {
            Mode::Eval => (
                self.running_mean.as_detached_tensor().reshape((1, 1, ()))?,
                self.running_var.as_detached_tensor().reshape((1, 1, ()))?,
            ),
            Mode::Train | Mode::Probe => {
                let mu = mean_tb(xs)?;
                let var = mean_tb(&xs.broadcast_sub(&mu)?.sqr()?)?;
                (mu, var)
            }
        };
        if mode == Mode::Train {
            let n = (xs.dim(0)? * xs.dim(1)?) as f64;
            let unbiased = if n > 1.0 { (&var * (n / (n - 1.0)))? } else { var.clone() };
            momentum_update(&self.running_mean, &mu)?;
            momentum_update(&self.running_var, &unbiased)?;
        }
        xs.broadcast_sub(&mu)?
            .broadcast_div(&(var + EPS)?.sqrt()?)?
            .broadcast_mul(self.gamma.as_tensor())?
            .broadcast_add(self.beta.as_tensor())
    }
}

impl Norm {
    /// A norm of `kind` for `features` features; trainable parameters are appended to
    /// `params`, running statistics are not.
    pub fn new(kind: NormKind, features: usize, psp_eps: f64, device: &Device, params: &mut Vec<Var>) -> Result<Self> {
        let stat = |v: f32| -> Result<Var> { Var::from_tensor(&Tensor::full(v, features, device)?) };
        Ok(match kind {
            NormKind::None => Norm::None,
            NormKind::Psp => Norm::Psp(PspNorm {
                gamma: param(1.0, features, device, params)?,
                beta: None,
                running_sq: stat(1.0)?,
                eps: psp_eps,
            }),
            NormKind::Bn => Norm::Bn(BatchNorm {
                gamma: param(1.0, features, device, params)?,
                beta: param(0.0, features, device, params)?,
                running_mean: stat(0.0)?,
                running_var: stat(1.0)?,
            }),
        })
    }

    /// The per-feature gain `gamma`, if this norm has one.
    pub fn gain(&self) -> Option<&Var> {
        match self {
            Norm::None => None,
            Norm::Psp(n) => Some(&n.gamma),
            Norm::Bn(n) => Some(&n.gamma),
        }
    }

    pub fn kind(&self) -> NormKind {
        match self {
            Norm::None => NormKind::None,
            Norm::Psp(_) => NormKind::Psp,
            Norm::Bn(_) => NormKind::Bn,
        }
    }

    pub fn placement(&self) -> Option<Placement> {
        self.kind().placement()
    }

    /// Shapes: `xs`: `[T, B, F]` -> `[T, B, F]`.
    pub fn forward(&self, xs: &Tensor, mode: Mode) -> Result<Tensor> {
        match self {
            Norm::None => Ok(xs.clone()),
            Norm::Psp(n) => n.forward(xs, mode),
            Norm::Bn(n) => n.forward(xs, mode),
        }
    }
}

/// Shapes: `[T, B, F]` -> `[F]`: mean over time and batch, for tests and metrics.
pub fn feature_mean(xs: &Tensor) -> Result<Tensor> {
    xs.to_dtype(DType::F32)?.mean(0)?.mean(D::Minus2)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn dev() -> Device {
        Device::Cpu
    }

    // T = 2, B = 2, F = 2. Feature 0: 1, 0, 2, 1; feature 1: 0, 0, 3, 0 (a PSP trace is >= 0).
    fn sample() -> Tensor {
        Tensor::from_vec(vec![1f32, 0.0, 0.0, 0.0, 2.0, 3.0, 1.0, 0.0], (2, 2, 2), &dev()).unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < tol, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn psp_forward_by_hand() {
        let mut params = vec![];
        let n = Norm::new(NormKind::Psp, 2, EPS, &dev(), &mut params).unwrap();
        let ys = n.forward(&sample(), Mode::Train).unwrap();
        // mean(a^2): f0 = (1 + 0 + 4 + 1) / 4 = 1.5, f1 = 9 / 4 = 2.25.
        let (r0, r1) = ((1.5f32 + 1e-5).sqrt(), (2.25f32 + 1e-5).sqrt());
        assert_close(&flat(&ys), &[1.0 / r0, 0.0, 0.0, 0.0, 2.0 / r0, 3.0 / r1, 1.0 / r0, 0.0], 1e-6);
        // Silent inputs stay silent: no mean was subtracted.
        assert_eq!(flat(&ys)[1], 0.0);
        // Running second moment: 0.9 * 1 + 0.1 * batch.
        let Norm::Psp(p) = &n else { unreachable!() };
        assert_close(&flat(p.running_sq.as_tensor()), &[0.9 + 0.15, 0.9 + 0.225], 1e-6);
        assert_eq!(params.len(), 1, "psp has gamma only (beta off by default)");
    }

    #[test]
    fn psp_eval_uses_running_moment_and_probe_leaves_it() {
        let mut params = vec![];
        let n = Norm::new(NormKind::Psp, 2, EPS, &dev(), &mut params).unwrap();
        n.forward(&sample(), Mode::Probe).unwrap();
        let Norm::Psp(p) = &n else { unreachable!() };
        assert_close(&flat(p.running_sq.as_tensor()), &[1.0, 1.0], 1e-9);
        p.running_sq.set(&Tensor::new(&[4f32, 0.25], &dev()).unwrap()).unwrap();
        let ys = n.forward(&sample(), Mode::Eval).unwrap();
        let (r0, r1) = ((4f32 + 1e-5).sqrt(), (0.25f32 + 1e-5).sqrt());
        assert_close(&flat(&ys), &[1.0 / r0, 0.0, 0.0, 0.0, 2.0 / r0, 3.0 / r1, 1.0 / r0, 0.0], 1e-6);
    }

    #[test]
    fn psp_backward_by_hand() {
        // y_i = a_i / r, r = sqrt(m + eps), m = mean(a^2) over n values of one feature.
        // d(sum_i c_i y_i)/da_j = c_j / r - a_j * (sum_i c_i a_i) / (n r^3).
        let mut params = vec![];
        let n = Norm::new(NormKind::Psp, 1, EPS, &dev(), &mut params).unwrap();
        let a = [1f32, 2.0, 0.0, 3.0];
        let c = [0.5f32, -1.0, 2.0, 1.0];
        let x = Var::from_tensor(&Tensor::from_vec(a.to_vec(), (2, 2, 1), &dev()).unwrap()).unwrap();
        let coef = Tensor::from_vec(c.to_vec(), (2, 2, 1), &dev()).unwrap();
        let loss = n.forward(x.as_tensor(), Mode::Train).unwrap().mul(&coef).unwrap().sum_all().unwrap();
        let g = flat(loss.backward().unwrap().get(&x).unwrap());
        let m = a.iter().map(|v| v * v).sum::<f32>() / 4.0;
        let r = (m + 1e-5).sqrt();
        let ca: f32 = a.iter().zip(&c).map(|(x, y)| x * y).sum();
        let want: Vec<f32> = a.iter().zip(&c).map(|(aj, cj)| cj / r - aj * ca / (4.0 * r.powi(3))).collect();
        assert_close(&g, &want, 1e-5);
    }

    #[test]
    fn bn_forward_by_hand_and_running_stats() {
        let mut params = vec![];
        let n = Norm::new(NormKind::Bn, 2, EPS, &dev(), &mut params).unwrap();
        let ys = n.forward(&sample(), Mode::Train).unwrap();
        // f0: 1, 0, 2, 1 -> mu 1, var 0.5; f1: 0, 0, 3, 0 -> mu 0.75, var 1.6875.
        let (s0, s1) = ((0.5f32 + 1e-5).sqrt(), (1.6875f32 + 1e-5).sqrt());
        let want = [0.0, -0.75 / s1, -1.0 / s0, -0.75 / s1, 1.0 / s0, 2.25 / s1, 0.0, -0.75 / s1];
        assert_close(&flat(&ys), &want, 1e-5);
        let Norm::Bn(b) = &n else { unreachable!() };
        assert_close(&flat(b.running_mean.as_tensor()), &[0.1, 0.075], 1e-6);
        // Unbiased: var * 4/3.
        assert_close(&flat(b.running_var.as_tensor()), &[0.9 + 0.1 * 0.5 * 4.0 / 3.0, 0.9 + 0.1 * 1.6875 * 4.0 / 3.0], 1e-6);
        assert_eq!(params.len(), 2);
    }

    #[test]
    fn bn_eval_by_hand_uses_running_stats_and_probe_leaves_them() {
        let mut params = vec![];
        let n = Norm::new(NormKind::Bn, 2, EPS, &dev(), &mut params).unwrap();
        n.forward(&sample(), Mode::Probe).unwrap();
        let Norm::Bn(b) = &n else { unreachable!() };
        assert_close(&flat(b.running_mean.as_tensor()), &[0.0, 0.0], 1e-9);
        assert_close(&flat(b.running_var.as_tensor()), &[1.0, 1.0], 1e-9);
        b.running_mean.set(&Tensor::new(&[1f32, -1.0], &dev()).unwrap()).unwrap();
        b.running_var.set(&Tensor::new(&[4f32, 0.25], &dev()).unwrap()).unwrap();
        params[0].set(&Tensor::new(&[2f32, 1.0], &dev()).unwrap()).unwrap(); // gamma
        params[1].set(&Tensor::new(&[0f32, 0.5], &dev()).unwrap()).unwrap(); // beta
        // y = gamma * (x - mu) / sqrt(var + eps) + beta, per feature; x from sample().
        let (s0, s1) = ((4f32 + 1e-5).sqrt(), (0.25f32 + 1e-5).sqrt());
        let f0 = |x: f32| 2.0 * (x - 1.0) / s0;
        let f1 = |x: f32| (x + 1.0) / s1 + 0.5;
        let want = [f0(1.0), f1(0.0), f0(0.0), f1(0.0), f0(2.0), f1(3.0), f0(1.0), f1(0.0)];
        assert_close(&flat(&n.forward(&sample(), Mode::Eval).unwrap()), &want, 1e-5);
    }

    #[test]
    fn bn_matches_candle_nn_in_train_and_eval() {
        let mut params = vec![];
        let ours = Norm::new(NormKind::Bn, 2, EPS, &dev(), &mut params).unwrap();
        let (t, b) = (2, 2);
        let reference = candle_nn::BatchNorm::new(
            2,
            Tensor::zeros(2, DType::F32, &dev()).unwrap(),
            Tensor::ones(2, DType::F32, &dev()).unwrap(),
            params[0].as_tensor().clone(),
            params[1].as_tensor().clone(),
            EPS,
        )
        .unwrap();
        let xs = sample();
        let flat_in = xs.reshape((t * b, 2)).unwrap();
        let want = flat(&reference.forward_train(&flat_in).unwrap());
        assert_close(&flat(&ours.forward(&xs, Mode::Train).unwrap()), &want, 1e-5);
        let want_eval = flat(&candle_nn::ModuleT::forward_t(&reference, &flat_in, false).unwrap());
        assert_close(&flat(&ours.forward(&xs, Mode::Eval).unwrap()), &want_eval, 1e-5);
    }

    #[test]
    fn bn_backward_sums_to_zero_per_feature() {
        // With gamma = 1, d/dx of sum(c * bn(x)) is (c - mean c - y mean(c y)) / s: the
        // gradient of a mean-subtracting norm sums to zero over each feature.
        let mut params = vec![];
        let n = Norm::new(NormKind::Bn, 1, EPS, &dev(), &mut params).unwrap();
        let a = [1f32, 2.0, 0.0, 3.0];
        let c = [0.5f32, -1.0, 2.0, 1.0];
        let x = Var::from_tensor(&Tensor::from_vec(a.to_vec(), (2, 2, 1), &dev()).unwrap()).unwrap();
        let coef = Tensor::from_vec(c.to_vec(), (2, 2, 1), &dev()).unwrap();
        let loss = n.forward(x.as_tensor(), Mode::Train).unwrap().mul(&coef).unwrap().sum_all().unwrap();
        let g = flat(loss.backward().unwrap().get(&x).unwrap());
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
}
