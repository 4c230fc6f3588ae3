//! Surrogate gradients: the spike is a Heaviside step forward, a smooth step backward.
//!
//! Every surrogate here is the derivative `g` of a smooth step `p` from 0 to 1, written
//! with one width `w` so that `g(0) = 1/w` and `integral g = 1`. With `x = u - theta`:
//!
//! | kind | `g(x)` | source |
//! |---|---|---|
//! | sigmoid | `a s(ax)(1 - s(ax))`, `a = 4/w` | SpikingJelly `Sigmoid` (alpha = 4 at w = 1) |
//! | fast_sigmoid | `(k/2) / (1 + k abs x)^2`, `k = 2/w` | Zenke & Ganguli 2018 (SuperSpike) |
//! | atan | `(a/2) / (1 + (pi a x / 2)^2)`, `a = 2/w` | Fang et al. 2021, SpikingJelly `ATan` |
//! | triangle | `max(0, 1 - abs x / w) / w` | Esser et al. 2016; Bellec et al. 2018 |
//! | rectangular | `1/w` where `abs x < w/2`, else 0 | Wu et al. 2018 (STBP) |
//!
//! The forward fires when `x >= 0` (SpikingJelly's convention). The spike is a candle
//! [`CustomOp1`] so that the backward is one pass over the data instead of a chain of
//! small tensor ops; its gradient is checked against `g` and against finite differences
//! of `p` in the tests.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use crate::config::SurrogateKind;

/// A surrogate kind with its width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Surrogate {
    pub kind: SurrogateKind,
    pub width: f32,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Surrogate {
    pub fn new(kind: SurrogateKind, width: f32) -> Self {
        Self { kind, width }
    }

    /// The surrogate derivative `g(x)` used in place of the Dirac delta.
    #[inline(always)]
    pub fn grad(&self, x: f32) -> f32 {
        let w = self.width;
        match self.kind {
            SurrogateKind::Sigmoid => {
                let a = 4.0 / w;
                let s = sigmoid(a * x);
                a * s * (1.0 - s)
            }
            SurrogateKind::FastSigmoid => {
                let k = 2.0 / w;
                0.5 * k / (1.0 + k * x.abs()).powi(2)
            }
            SurrogateKind::Atan => {
                let a = 2.0 / w;
                let z = std::f32::consts::FRAC_PI_2 * a * x;
                0.5 * a / (1.0 + z * z)
            }
            SurrogateKind::Triangle => (1.0 - x.abs() / w).max(0.0) / w,
            SurrogateKind::Rectangular => {
                if x.abs() < 0.5 * w {
                    1.0 / w
                } else {
                    0.0
                }
            }
        }
    }

    /// The smooth step `p(x)` whose derivative is [`Surrogate::grad`]; for tests and plots.
    pub fn primitive(&self, x: f32) -> f32 {
        let w = self.width;
        match self.kind {
            SurrogateKind::Sigmoid => sigmoid(4.0 / w * x),
            SurrogateKind::FastSigmoid => {
                let k = 2.0 / w;
                0.5 + 0.5 * k * x / (1.0 + k * x.abs())
            }
            SurrogateKind::Atan => {
                let a = 2.0 / w;
                (std::f32::consts::FRAC_PI_2 * a * x).atan() / std::f32::consts::PI + 0.5
            }
            SurrogateKind::Triangle => {
                if x <= -w {
                    0.0
                } else if x < 0.0 {
                    (x + w).powi(2) / (2.0 * w * w)
                } else if x < w {
                    1.0 - (w - x).powi(2) / (2.0 * w * w)
                } else {
                    1.0
                }
            }
            SurrogateKind::Rectangular => (x / w + 0.5).clamp(0.0, 1.0),
        }
    }
}

/// Applies `f` to every element of a contiguous f32 tensor's storage.
fn map_f32(
    name: &str,
    storage: &CpuStorage,
    layout: &Layout,
    f: impl Fn(f32) -> f32,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let src = storage.as_slice::<f32>()?;
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{name}: input must be contiguous")
    };
    let out = src[start..end].iter().map(|&x| f(x)).collect();
    Ok((CpuStorage::F32(out), layout.shape().clone()))
}

/// Heaviside forward, surrogate backward.
struct SpikeOp(Surrogate);

impl CustomOp1 for SpikeOp {
    fn name(&self) -> &'static str {
        "spike"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        map_f32("spike", storage, layout, |x| if x >= 0.0 { 1.0 } else { 0.0 })
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let g = arg.contiguous()?.apply_op1_no_bwd(&SurrogateGradOp(self.0))?;
        Ok(Some(grad_res.mul(&g)?))
    }
}

/// Elementwise `g(x)`, used only inside the spike's backward.
struct SurrogateGradOp(Surrogate);

impl CustomOp1 for SurrogateGradOp {
    fn name(&self) -> &'static str {
        "surrogate-grad"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let sg = self.0;
        map_f32("surrogate-grad", storage, layout, move |x| sg.grad(x))
    }
}

/// Spikes `H(x)` with the surrogate gradient `g(x)` in the backward pass.
///
/// Shapes: `x` any shape (usually `[B, F]`, the potential minus threshold) -> same shape,
/// values 0.0 / 1.0, dtype f32.
pub fn spike(x: &Tensor, sg: Surrogate) -> candle_core::Result<Tensor> {
    if crate::fused::enabled(x.device()) {
        x.contiguous()?.apply_op1(SpikeOp(sg))
    } else {
        spike_portable(x, sg)
    }
}

/// [`spike`] from candle's own ops, for devices without the custom op (CUDA, Metal): the
/// straight-through form `H(x) + (x - sg(x)) * g(x)` with `H`, `g` and `sg(x)` detached
/// (`sg` = stop gradient), whose value is exactly `H(x)` and whose derivative is `g(x)`.
pub fn spike_portable(x: &Tensor, sg: Surrogate) -> candle_core::Result<Tensor> {
    use candle_core::DType;
    let w = sg.width as f64;
    let xd = x.detach();
    let g = match sg.kind {
        SurrogateKind::Sigmoid => {
            let a = 4.0 / w;
            let s = candle_nn::ops::sigmoid(&(&xd * a)?)?;
            ((&s * a)? * s.affine(-1.0, 1.0)?)?
        }
        SurrogateKind::FastSigmoid => {
            let k = 2.0 / w;
            xd.abs()?.affine(k, 1.0)?.sqr()?.recip()?.affine(0.5 * k, 0.0)?
        }
        SurrogateKind::Atan => {
            let a = 2.0 / w;
            (&xd * (std::f64::consts::FRAC_PI_2 * a))?.sqr()?.affine(1.0, 1.0)?.recip()?.affine(0.5 * a, 0.0)?
        }
        SurrogateKind::Triangle => xd.abs()?.affine(-1.0 / w, 1.0)?.relu()?.affine(1.0 / w, 0.0)?,
        SurrogateKind::Rectangular => xd.abs()?.lt(0.5 * w)?.to_dtype(DType::F32)?.affine(1.0 / w, 0.0)?,
    };
    let step = xd.ge(0.0)?.to_dtype(DType::F32)?;
    step + (x - &xd)?.mul(&g)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    const KINDS: [SurrogateKind; 5] = [
        SurrogateKind::Sigmoid,
        SurrogateKind::FastSigmoid,
        SurrogateKind::Atan,
        SurrogateKind::Triangle,
        SurrogateKind::Rectangular,
    ];

    // Points chosen away from the kinks of triangle (0, +-w) and rectangular (+-w/2).
    const XS: [f32; 8] = [-1.7, -0.8, -0.3, -0.05, 0.07, 0.3, 0.6, 1.3];

    #[test]
    fn forward_is_heaviside_with_fire_at_zero() {
        let x = Tensor::new(&[-0.5f32, 0.0, 0.2], &Device::Cpu).unwrap();
        let s = spike(&x, Surrogate::new(SurrogateKind::Atan, 1.0)).unwrap();
        assert_eq!(s.to_vec1::<f32>().unwrap(), vec![0.0, 1.0, 1.0]);
    }

    #[test]
    fn backward_matches_analytic_derivative() {
        for kind in KINDS {
            for w in [0.5f32, 1.0, 2.0] {
                let sg = Surrogate::new(kind, w);
                let x = Var::new(&XS, &Device::Cpu).unwrap();
                let coef = Tensor::new(&[1.0f32, 2.0, -1.0, 0.5, 3.0, -2.0, 1.5, 0.25], &Device::Cpu).unwrap();
                let loss = spike(x.as_tensor(), sg).unwrap().mul(&coef).unwrap().sum_all().unwrap();
                let grads = loss.backward().unwrap();
                let got = grads.get(&x).unwrap().to_vec1::<f32>().unwrap();
                let coefs = coef.to_vec1::<f32>().unwrap();
                for ((&xi, &gi), &ci) in XS.iter().zip(&got).zip(&coefs) {
                    let want = ci * sg.grad(xi);
                    assert!((gi - want).abs() < 1e-6, "{kind:?} w={w} x={xi}: {gi} vs {want}");
                }
            }
        }
    }

    /// The portable spike (candle ops only, for CUDA or Metal) against the custom op: the
    /// same 0/1 values and the same surrogate gradient for every kind.
    #[test]
    fn portable_spike_matches_the_custom_op() {
        let xs: Vec<f32> = XS.iter().copied().chain([0.0, -0.0, 2.5]).collect();
        for kind in KINDS {
            for w in [0.5f32, 1.0, 2.0] {
                let sg = Surrogate::new(kind, w);
                let x = Var::new(xs.as_slice(), &Device::Cpu).unwrap();
                let coef = Tensor::new(&[1.0f32, 2.0, -1.0, 0.5, 3.0, -2.0, 1.5, 0.25, 0.7, -0.3, 1.1], &Device::Cpu).unwrap();
                let custom = x.as_tensor().apply_op1(SpikeOp(sg)).unwrap();
                let portable = spike_portable(x.as_tensor(), sg).unwrap();
                assert_eq!(portable.to_vec1::<f32>().unwrap(), custom.to_vec1::<f32>().unwrap(), "{kind:?} w={w}");
                let g = |s: &Tensor| s.mul(&coef).unwrap().sum_all().unwrap().backward().unwrap().get(&x).unwrap().to_vec1::<f32>().unwrap();
                for (i, (p, c)) in g(&portable).iter().zip(g(&custom)).enumerate() {
                    assert!((p - c).abs() <= 1e-5 * (1.0 + c.abs()), "{kind:?} w={w} x={}: portable {p} custom {c}", xs[i]);
                }
            }
        }
    }

    #[test]
    fn derivative_matches_finite_differences_of_the_step() {
        let h = 1e-3f32;
        for kind in KINDS {
            for w in [0.5f32, 1.0, 2.0] {
                let sg = Surrogate::new(kind, w);
                for x in XS {
                    let fd = (sg.primitive(x + h) - sg.primitive(x - h)) / (2.0 * h);
                    let g = sg.grad(x);
                    assert!((fd - g).abs() < 2e-3 * (1.0 + g.abs()), "{kind:?} w={w} x={x}: fd {fd} vs g {g}");
                }
            }
        }
    }

    #[test]
    fn every_surrogate_peaks_at_one_over_width_and_integrates_to_one() {
        for kind in KINDS {
            let sg = Surrogate::new(kind, 0.8);
            assert!((sg.grad(0.0) - 1.25).abs() < 1e-5, "{kind:?} peak {}", sg.grad(0.0));
            let (lo, hi) = (sg.primitive(-1e4), sg.primitive(1e4));
            assert!(lo.abs() < 1e-3 && (hi - 1.0).abs() < 1e-3, "{kind:?}: p goes {lo} -> {hi}");
        }
    }
}
