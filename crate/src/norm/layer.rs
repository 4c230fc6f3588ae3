//! Per-sample normalizations of the synaptic current, over the features (conv: channels
//! and positions) of one sample at one time step; no running statistics, so train and
//! eval compute the same thing.
//!
//! - `layer` (Ba, Kiros & Hinton, "Layer Normalization", 2016):
//!   `gamma * (I - mean(I)) / sqrt(var(I) + eps) + beta`.
//! - `rms` (Zhang & Sennrich, "Root Mean Square Layer Normalization", NeurIPS 2019):
//!   `g * I / sqrt(mean(I^2) + eps)`: the per-sample cousin of PSP normalization.
//!
//! Gains (and the shift) are per feature or channel. The tests hold both to candle-nn's
//! `LayerNorm` / `RmsNorm` (which normalize the last axis); ours also take conv maps.

use candle_core::{Device, Result, Tensor, Var};

use super::{mean_over, param, table_shape, EPS};

pub struct LayerNorm {
    pub gamma: Var,
    /// `None` for RMS norm.
    pub beta: Option<Var>,
    rms: bool,
}

impl LayerNorm {
    pub fn new(rms: bool, features: usize, device: &Device, params: &mut Vec<Var>) -> Result<Self> {
        let gamma = param(1.0, features, device, params)?;
        let beta = if rms { None } else { Some(param(0.0, features, device, params)?) };
        Ok(Self { gamma, beta, rms })
    }

    /// Shapes: `xs`: `[T, B, F]` or `[T, B, C, H, W]` -> the same.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (rank, f) = (xs.rank(), xs.dim(2)?);
        let axes: Vec<usize> = (2..rank).collect();
        let centred = if self.rms { xs.clone() } else { xs.broadcast_sub(&mean_over(xs, &axes)?)? };
        let sq = mean_over(&centred.sqr()?, &axes)?;
        let per_feature = table_shape(1, f, rank);
        let ys = centred.broadcast_div(&(sq + EPS)?.sqrt()?)?.broadcast_mul(&self.gamma.as_tensor().reshape(per_feature.as_slice())?)?;
        match &self.beta {
            Some(b) => ys.broadcast_add(&b.as_tensor().reshape(per_feature)?),
            None => Ok(ys),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{norm, Mode};
    use crate::config::NormKind;
    use candle_core::Tensor;
    use candle_nn::Module;

    #[test]
    fn layer_norm_by_hand_and_against_candle_nn() {
        let mut params = vec![];
        let n = norm(&cfg(NormKind::Layer), 2, 1.0, &dev(), &mut params).unwrap();
        assert_eq!(params.len(), 2);
        // Per (t, b): (1, 0) -> +-1; (0, 0) -> 0; (2, 3) -> -+1; (1, 0) -> +-1 (up to eps).
        let s = (0.25f32 + 1e-5).sqrt();
        let want = [0.5 / s, -0.5 / s, 0.0, 0.0, -0.5 / s, 0.5 / s, 0.5 / s, -0.5 / s];
        let ys = flat(&n.forward(&sample(), Mode::Train).unwrap());
        assert_close(&ys, &want, 1e-5);
        params[0].set(&Tensor::new(&[2f32, 0.5], &dev()).unwrap()).unwrap();
        params[1].set(&Tensor::new(&[0.1f32, -0.1], &dev()).unwrap()).unwrap();
        let reference = candle_nn::LayerNorm::new(params[0].as_tensor().clone(), params[1].as_tensor().clone(), 1e-5);
        let xs = wave(&[3, 4, 2]);
        // Two close features give a tiny variance, where candle's fused kernel and our
        // composed ops round differently by ~1e-4.
        assert_close(&flat(&n.forward(&xs, Mode::Eval).unwrap()), &flat(&reference.forward(&xs).unwrap()), 5e-4);
    }

    #[test]
    fn rms_norm_by_hand_and_against_candle_nn() {
        let mut params = vec![];
        let n = norm(&cfg(NormKind::Rms), 2, 1.0, &dev(), &mut params).unwrap();
        assert_eq!(params.len(), 1, "a gain, no shift");
        // (1, 0): rms sqrt(0.5); (2, 3): rms sqrt(6.5).
        let (a, b) = ((0.5f32 + 1e-5).sqrt(), (6.5f32 + 1e-5).sqrt());
        let want = [1.0 / a, 0.0, 0.0, 0.0, 2.0 / b, 3.0 / b, 1.0 / a, 0.0];
        assert_close(&flat(&n.forward(&sample(), Mode::Train).unwrap()), &want, 1e-5);
        params[0].set(&Tensor::new(&[2f32, 0.5], &dev()).unwrap()).unwrap();
        let reference = candle_nn::RmsNorm::new(params[0].as_tensor().clone(), 1e-5);
        let xs = wave(&[3, 4, 2]);
        assert_close(&flat(&n.forward(&xs, Mode::Probe).unwrap()), &flat(&reference.forward(&xs).unwrap()), 1e-5);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let a = [1f32, 2.0, 0.5, 3.0, 1.5, 0.2, 2.5, 1.0, 0.3, 0.9, 1.2, 0.1];
        let c = [0.5f32, -1.0, 2.0, 1.0, -0.3, 0.7, 1.1, -2.0, 0.2, 0.4, -0.6, 1.3];
        for kind in [NormKind::Layer, NormKind::Rms] {
            let mut params = vec![];
            let n = norm(&cfg(kind), 3, 1.0, &dev(), &mut params).unwrap();
            assert_close(&grad(&n, &a, &c, &[2, 2, 3]), &numeric_grad(&n, &a, &c, &[2, 2, 3]), 5e-3);
        }
    }
}
