//! A batch-statistics channel norm as one CPU op (issue 6): BN and its family (`centre`)
//! and PSP normalization (no centring), forward in two passes over the data (statistics,
//! then the normalized output) and backward in two (two sums per channel, then the input's
//! gradient), where the composed per-channel ops of [`super::channel`] took about
//! ten, each with candle's zero-filled gradient buffer and an add.
//!
//! With `x_hat = (x - mu) * r`, `r = 1 / sqrt(v + eps)` (`mu = 0` and `v = mean(x^2)` for
//! PSP; `v` the biased variance for BN), per table entry `e` (a channel, or a channel and
//! step) over its `n` values:
//!
//! ```text
//! y       = g[e] x_hat + b[c]
//! dL/dg   = sum dy x_hat            dL/db = sum dy (over steps too)
//! dL/dx   = g r (dy - [centre] mean(dy) - x_hat mean(dy x_hat))
//! ```
//!
//! (the last is BN's textbook backward; without centring the `mean(dy)` term, which comes
//! from `mu`, is absent). The tests hold it to the composed autograd path.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

use super::channel::Table;
use crate::fused::slice;

/// `(y, mu, v)`: the normalized `x` and the batch statistics it used, `[len]` each (for the
/// running estimates; `mu` is zero without centring).
///
/// Shapes: `x`: `[T, B, C, ...]`; `gain`: `[len]` (`C`, or `T * C` with `per_step`);
/// `shift`: `[C]`.
pub fn batch_norm(x: &Tensor, gain: &Tensor, shift: Option<&Tensor>, centre: bool, per_step: bool, eps: f64) -> Result<(Tensor, Tensor, Tensor)> {
    let x = x.contiguous()?;
    let table = Table::of("channel-norm", x.dims(), per_step)?;
    let len = table.len();
    let stats = x.apply_op1_no_bwd(&Stats { table, centre })?.to_vec1::<f32>()?;
    let (mu, v) = stats.split_at(len);
    let inv: Vec<f32> = v.iter().map(|&v| (1.0 / (v as f64 + eps).sqrt()) as f32).collect();
    let shift = match shift {
        Some(b) => b.flatten_all()?.contiguous()?,
        None => Tensor::zeros(table.channels, x.dtype(), x.device())?,
    };
    let op = NormOp { table, centre, mu: mu.to_vec(), inv };
    let y = x.apply_op3(&gain.flatten_all()?.contiguous()?, &shift, op)?;
    let device = x.device();
    Ok((y, Tensor::from_slice(mu, len, device)?, Tensor::from_slice(v, len, device)?))
}

/// Per table entry, the two sums of `f(x, dy, mu[e], inv[e])` over the entry's values,
/// accumulated in f64 per `(t, b)` block; `dy` is `x` again where there is none.
#[inline(always)]
fn two_sums(table: &Table, x: &[f32], dy: &[f32], mu: &[f32], inv: &[f32], f: impl Fn(f32, f32, f32, f32) -> (f32, f32)) -> (Vec<f64>, Vec<f64>) {
    let (mut p, mut q) = (vec![0f64; table.len()], vec![0f64; table.len()]);
    let (channels, inner, block) = (table.channels, table.inner, table.block());
    table.blocks(|start, row| {
        let (xs, ds) = (&x[start..start + block], &dy[start..start + block]);
        let (ps, qs) = (&mut p[row..row + channels], &mut q[row..row + channels]);
        let (mu, inv) = (&mu[row..row + channels], &inv[row..row + channels]);
        if inner == 1 {
            for (((((pc, qc), &x), &d), &m), &r) in ps.iter_mut().zip(qs.iter_mut()).zip(xs).zip(ds).zip(mu).zip(inv) {
                let (u, w) = f(x, d, m, r);
                *pc += u as f64;
                *qc += w as f64;
            }
        } else {
            // A conv map's run (a channel's `H x W` values) is summed in eight f32 lanes
            // (one vector; a serial f64 sum per value took most of a BN layer's time on
            // E2's 28x28 maps), the runs in f64.
            for c in 0..channels {
                let run = c * inner..(c + 1) * inner;
                let (mut a, mut b) = ([0f32; 8], [0f32; 8]);
                let (mut xr, mut dr) = (xs[run.clone()].chunks_exact(8), ds[run].chunks_exact(8));
                for (x8, d8) in (&mut xr).zip(&mut dr) {
                    for l in 0..8 {
                        let (u, w) = f(x8[l], d8[l], mu[c], inv[c]);
                        a[l] += u;
                        b[l] += w;
                    }
                }
                let (mut ta, mut tb) = (0f64, 0f64);
                for (&x, &d) in xr.remainder().iter().zip(dr.remainder()) {
                    let (u, w) = f(x, d, mu[c], inv[c]);
                    ta += u as f64;
                    tb += w as f64;
                }
                ps[c] += a.iter().map(|&v| v as f64).sum::<f64>() + ta;
                qs[c] += b.iter().map(|&v| v as f64).sum::<f64>() + tb;
            }
        }
    });
    (p, q)
}

/// `out[k] = x[k] a[e] + dy[k] m[e] + d[e] + s[c]` over a `[T, B, C, ...]` tensor (the
/// forward without `dy`, the input gradient without `s`), in loops the compiler vectorizes.
#[allow(clippy::too_many_arguments)]
fn affine(table: &Table, x: &[f32], dy: Option<&[f32]>, a: &[f32], m: &[f32], d: &[f32], s: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    let (channels, inner, block) = (table.channels, table.inner, table.block());
    table.blocks(|start, row| {
        let xs = &x[start..start + block];
        let (a, m, d) = (&a[row..row + channels], &m[row..row + channels], &d[row..row + channels]);
        match (dy.map(|dy| &dy[start..start + block]), inner) {
            (None, 1) => out.extend(xs.iter().zip(a).zip(d).zip(s).map(|(((&x, &a), &d), &s)| x * a + d + s)),
            (Some(ds), 1) => out.extend(xs.iter().zip(ds).zip(a).zip(m).zip(d).map(|((((&x, &g), &a), &m), &d)| x * a + g * m + d)),
            (None, _) => {
                for c in 0..channels {
                    out.extend(xs[c * inner..(c + 1) * inner].iter().map(|&x| x * a[c] + d[c] + s[c]));
                }
            }
            (Some(ds), _) => {
                for c in 0..channels {
                    let run = c * inner..(c + 1) * inner;
                    out.extend(xs[run.clone()].iter().zip(&ds[run]).map(|(&x, &g)| x * a[c] + g * m[c] + d[c]));
                }
            }
        }
    });
    out
}

/// `[2 * len]`: per entry the mean (zero without centring), then the second moment about
/// it, in two passes (the centred one exact for large means too).
struct Stats {
    table: Table,
    centre: bool,
}

impl CustomOp1 for Stats {
    fn name(&self) -> &'static str {
        "channel-norm-stats"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice("channel-norm-stats", storage, layout)?;
        let (len, n) = (self.table.len(), self.table.count() as f64);
        let ones = vec![1f32; len];
        let mu: Vec<f32> = if self.centre {
            two_sums(&self.table, x, x, &ones, &ones, |v, _, _, _| (v, 0.0)).0.iter().map(|s| (s / n) as f32).collect()
        } else {
            vec![0.0; len]
        };
        let (sq, _) = two_sums(&self.table, x, x, &mu, &ones, |v, _, m, _| ((v - m) * (v - m), 0.0));
        let mut out = mu;
        out.extend(sq.iter().map(|s| (s / n) as f32));
        Ok((CpuStorage::F32(out), Shape::from(2 * len)))
    }
}

/// `(x, gain, shift)` -> `gain[e] (x - mu[e]) inv[e] + shift[c]`, with the batch
/// statistics fixed by [`batch_norm`] and their gradient in the backward.
struct NormOp {
    table: Table,
    centre: bool,
    mu: Vec<f32>,
    inv: Vec<f32>,
}

impl CustomOp3 for NormOp {
    fn name(&self) -> &'static str {
        "channel-norm"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice("channel-norm", s1, l1)?;
        let (g, b) = (slice("channel-norm", s2, l2)?, slice("channel-norm", s3, l3)?);
        self.table.check("channel-norm gain", g)?;
        if b.len() != self.table.channels {
            candle_core::bail!("channel-norm: a shift of {} entries for {} channels", b.len(), self.table.channels)
        }
        // y = x a - mu a + b with a = g inv: one multiply and two adds per value.
        let a: Vec<f32> = g.iter().zip(&self.inv).map(|(g, r)| g * r).collect();
        let d: Vec<f32> = a.iter().zip(&self.mu).map(|(a, m)| -m * a).collect();
        Ok((CpuStorage::F32(affine(&self.table, x, None, &a, &a, &d, b)), l1.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, gain: &Tensor, _shift: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (table, len) = (self.table, self.table.len());
        let sums = x.apply_op2_no_bwd(&grad, &Sums { table, mu: self.mu.clone(), inv: self.inv.clone() })?.to_vec1::<f32>()?;
        let (sum_dy, sum_dy_xhat) = sums.split_at(len);
        let g = gain.to_vec1::<f32>()?;
        let n = table.count() as f32;
        // dx = A dy - C (x - mu) - B, written x (-C) + dy A + (C mu - B).
        let mut coef = InputGrad { table, coef_x: vec![0.0; len], coef_dy: vec![0.0; len], constant: vec![0.0; len] };
        for e in 0..len {
            let a = g[e] * self.inv[e];
            let c = a * self.inv[e] * sum_dy_xhat[e] / n;
            let b = if self.centre { a * sum_dy[e] / n } else { 0.0 };
            coef.coef_x[e] = -c;
            coef.coef_dy[e] = a;
            coef.constant[e] = c * self.mu[e] - b;
        }
        let dx = x.apply_op2_no_bwd(&grad, &coef)?;
        let device = x.device();
        let channels = table.channels;
        let dshift: Vec<f32> = (0..channels).map(|c| sum_dy.iter().skip(c).step_by(channels).sum()).collect();
        Ok((Some(dx), Some(Tensor::from_slice(sum_dy_xhat, len, device)?), Some(Tensor::from_vec(dshift, channels, device)?)))
    }
}

/// `(x, dy)` -> `[2 * len]`: per entry `sum dy`, then `sum dy x_hat`.
struct Sums {
    table: Table,
    mu: Vec<f32>,
    inv: Vec<f32>,
}

impl CustomOp2 for Sums {
    fn name(&self) -> &'static str {
        "channel-norm-sums"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice("channel-norm-sums", s1, l1)?;
        let dy = slice("channel-norm-sums", s2, l2)?;
        let (p, q) = two_sums(&self.table, x, dy, &self.mu, &self.inv, |x, g, m, r| (g, g * (x - m) * r));
        let out: Vec<f32> = p.iter().chain(&q).map(|&v| v as f32).collect();
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}

/// `(x, dy)` -> the input gradient `x coef_x[e] + dy coef_dy[e] + constant[e]`.
struct InputGrad {
    table: Table,
    coef_x: Vec<f32>,
    coef_dy: Vec<f32>,
    constant: Vec<f32>,
}

impl CustomOp2 for InputGrad {
    fn name(&self) -> &'static str {
        "channel-norm-backward"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice("channel-norm-backward", s1, l1)?;
        let dy = slice("channel-norm-backward", s2, l2)?;
        let zeros = vec![0f32; self.table.channels];
        Ok((CpuStorage::F32(affine(&self.table, x, Some(dy), &self.coef_x, &self.coef_dy, &self.constant, &zeros)), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// The op against the same norm composed of candle's broadcasting ops (autograd),
    /// forward and every gradient, for both kinds, shared and per-step tables, with and
    /// without a shift, dense and conv layouts.
    #[test]
    fn one_op_matches_candle_autograd_forward_and_backward() {
        let dev = Device::Cpu;
        for dims in [vec![3usize, 5, 4], vec![2, 3, 2, 2, 3]] {
            let n: usize = dims.iter().product();
            let (steps, channels) = (dims[0], dims[2]);
            for centre in [true, false] {
                for per_step in [false, true] {
                    for with_shift in [false, true] {
                        let what = format!("dims {dims:?} centre {centre} per_step {per_step} shift {with_shift}");
                        let len = if per_step { steps * channels } else { channels };
                        let x = Var::from_vec((0..n).map(|i| (i as f32 * 0.73).sin() * 2.0 + 0.4).collect(), dims.as_slice(), &dev).unwrap();
                        let gain = Var::from_vec((0..len).map(|i| 0.5 + i as f32 * 0.1).collect(), len, &dev).unwrap();
                        let shift = Var::from_vec((0..channels).map(|i| i as f32 * 0.3 - 0.2).collect(), channels, &dev).unwrap();
                        let coef = Tensor::from_vec((0..n).map(|i| (i as f32 * 1.31).cos()).collect(), dims.as_slice(), &dev).unwrap();
                        let vars = [&x, &gain, &shift];
                        let run = |fused: bool| {
                            let y = if fused {
                                batch_norm(x.as_tensor(), gain.as_tensor(), with_shift.then(|| shift.as_tensor()), centre, per_step, 1e-5).unwrap().0
                            } else {
                                composed(x.as_tensor(), gain.as_tensor(), with_shift.then(|| shift.as_tensor()), centre, per_step)
                            };
                            let grads = y.mul(&coef).unwrap().sum_all().unwrap().backward().unwrap();
                            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                            let g: Vec<Vec<f32>> = vars.iter().map(|v| grads.get(v).map(flat).unwrap_or_default()).collect();
                            (flat(&y), g)
                        };
                        let (got, want) = (run(true), run(false));
                        let close = |a: &[f32], b: &[f32], name: &str| {
                            assert_eq!(a.len(), b.len(), "{what} {name}");
                            for (p, q) in a.iter().zip(b) {
                                assert!((p - q).abs() <= 2e-5 * (1.0 + q.abs()), "{what} {name}: op {p}, autograd {q}");
                            }
                        };
                        close(&got.0, &want.0, "y");
                        for (i, name) in ["dx", "dgain", "dshift"].iter().enumerate() {
                            if *name == "dshift" && !with_shift {
                                continue;
                            }
                            close(&got.1[i], &want.1[i], name);
                        }
                    }
                }
            }
        }
    }

    /// The norm from candle's ops: statistics over every axis but 2 (and 0 per step).
    fn composed(x: &Tensor, gain: &Tensor, shift: Option<&Tensor>, centre: bool, per_step: bool) -> Tensor {
        let rank = x.rank();
        let axes: Vec<usize> = (0..rank).filter(|&d| d != 2 && !(per_step && d == 0)).collect();
        let mean = |t: &Tensor| axes.iter().rev().fold(t.clone(), |m, &d| m.mean_keepdim(d).unwrap());
        let centred = if centre { x.broadcast_sub(&mean(x)).unwrap() } else { x.clone() };
        let v = mean(&centred.sqr().unwrap());
        let mut shape = vec![1; rank];
        shape[2] = x.dim(2).unwrap();
        if per_step {
            shape[0] = x.dim(0).unwrap();
        }
        let y = centred.broadcast_div(&(v + 1e-5).unwrap().sqrt().unwrap()).unwrap().broadcast_mul(&gain.reshape(shape.as_slice()).unwrap()).unwrap();
        match shift {
            Some(b) => {
                shape[0] = 1;
                y.broadcast_add(&b.reshape(shape).unwrap()).unwrap()
            }
            None => y,
        }
    }
}
