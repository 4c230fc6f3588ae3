//! A dense layer with its bias as one CPU op (issue 6): `[T, B, in]` -> `[T, B, out]`,
//! `y = a W^T + b`, forward one matrix product, backward two and a column sum.
//!
//! Why not candle's `matmul` and a bias op: the composed layer is five graph nodes
//! (flatten, transpose, matmul, reshape, bias), and candle's backward gives every node's
//! input a zero-filled gradient buffer plus an add (`GradStore::or_insert`): per layer four
//! extra passes over `[T * B, width]` and a zero-filled product output. Profiling B put a
//! sixth of a step there (docs/BENCHMARKS.md). The products are the `gemm` crate's, the
//! same kernels candle's CPU backend calls (same version, same threads), so only the
//! bookkeeping changes. The tests hold the op to candle's composed layer.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Storage, Tensor};

use crate::fused::slice;

/// `y = a W^T + b` for `a`: `[T, B, in]`, `weight`: `[out, in]`, `bias`: `[out]`.
pub fn dense(a: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    a.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, Dense)
}

struct Dense;

/// `dst = (dst if accumulate) + lhs rhs` with `lhs` `[m, k]` and `rhs` `[k, n]` given by
/// their row and column strides, `dst` row-major `[m, n]`.
#[allow(clippy::too_many_arguments)]
fn product(dst: &mut [f32], accumulate: bool, (m, n, k): (usize, usize, usize), lhs: &[f32], (lhs_rs, lhs_cs): (usize, usize), rhs: &[f32], (rhs_rs, rhs_cs): (usize, usize)) {
    assert!(dst.len() == m * n, "dense: destination of {} values for [{m}, {n}]", dst.len());
    assert!(m == 0 || k == 0 || (m - 1) * lhs_rs + (k - 1) * lhs_cs < lhs.len(), "dense: lhs out of bounds");
    assert!(k == 0 || n == 0 || (k - 1) * rhs_rs + (n - 1) * rhs_cs < rhs.len(), "dense: rhs out of bounds");
    let threads = candle_core::utils::get_num_threads();
    let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: the asserts above keep every index the strides reach inside the slices;
    // `dst` is exclusively borrowed and does not alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// `(rows, in, out)` of a dense layer from its input and weight layouts.
fn sizes(a: &Layout, w: &Layout) -> Result<(usize, usize, usize)> {
    let (dims, wd) = (a.dims(), w.dims());
    if dims.len() < 2 || wd.len() != 2 || dims[dims.len() - 1] != wd[1] {
        candle_core::bail!("dense: input {dims:?} does not fit weight {wd:?}")
    }
    Ok((a.shape().elem_count() / wd[1], wd[1], wd[0]))
}

impl CustomOp3 for Dense {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, w, b) = (slice("dense", s1, l1)?, slice("dense", s2, l2)?, slice("dense", s3, l3)?);
        let (rows, fan_in, fan_out) = sizes(l1, l2)?;
        if b.len() != fan_out {
            candle_core::bail!("dense: a bias of {} for {fan_out} outputs", b.len())
        }
        // The bias rows first, then the product added onto them: no zero fill, no bias pass.
        let mut y = Vec::with_capacity(rows * fan_out);
        for _ in 0..rows {
            y.extend_from_slice(b);
        }
        // W^T as [in, out]: element (k, n) is w[n * in + k].
        product(&mut y, true, (rows, fan_out, fan_in), a, (fan_in, 1), w, (1, fan_in));
        let mut dims = l1.dims().to_vec();
        *dims.last_mut().expect("rank checked") = fan_out;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(&self, a: &Tensor, w: &Tensor, _b: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (rows, fan_in, fan_out) = sizes(a.layout(), w.layout())?;
        let (da, dw, db) = {
            let (sa, la) = a.storage_and_layout();
            let (sw, lw) = w.storage_and_layout();
            let (sg, lg) = grad.storage_and_layout();
            let (Storage::Cpu(sa), Storage::Cpu(sw), Storage::Cpu(sg)) = (&*sa, &*sw, &*sg) else {
                candle_core::bail!("dense: CPU tensors only")
            };
            let (a, w, g) = (slice("dense", sa, la)?, slice("dense", sw, lw)?, slice("dense", sg, lg)?);
            // dA [rows, in] = dY [rows, out] W [out, in].
            let mut da = vec![0f32; rows * fan_in];
            product(&mut da, false, (rows, fan_in, fan_out), g, (fan_out, 1), w, (fan_in, 1));
            // dW [out, in] = dY^T [out, rows] A [rows, in].
            let mut dw = vec![0f32; fan_out * fan_in];
            product(&mut dw, false, (fan_out, fan_in, rows), g, (1, fan_out), a, (fan_in, 1));
            // db = column sums of dY, accumulated in f64.
            let mut db = vec![0f64; fan_out];
            for row in g.chunks_exact(fan_out) {
                for (s, &v) in db.iter_mut().zip(row) {
                    *s += v as f64;
                }
            }
            (da, dw, db.into_iter().map(|v| v as f32).collect::<Vec<_>>())
        };
        let device = a.device();
        Ok((
            Some(Tensor::from_vec(da, a.shape(), device)?),
            Some(Tensor::from_vec(dw, w.shape(), device)?),
            Some(Tensor::from_vec(db, fan_out, device)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Forward and the three gradients against candle's matmul and broadcast add.
    #[test]
    fn one_op_matches_candle_matmul_and_bias() {
        let dev = Device::Cpu;
        for (t, b, fan_in, fan_out) in [(1, 1, 1, 1), (3, 5, 7, 4), (4, 16, 64, 33)] {
            let n = t * b * fan_in;
            let a = Var::from_vec((0..n).map(|i| (i as f32 * 0.37).sin()).collect(), (t, b, fan_in), &dev).unwrap();
            let w = Var::from_vec((0..fan_in * fan_out).map(|i| (i as f32 * 0.11).cos() * 0.3).collect(), (fan_out, fan_in), &dev).unwrap();
            let bias = Var::from_vec((0..fan_out).map(|i| i as f32 * 0.1 - 0.5).collect(), fan_out, &dev).unwrap();
            let coef = Tensor::from_vec((0..t * b * fan_out).map(|i| (i as f32 * 1.7).sin()).collect(), (t, b, fan_out), &dev).unwrap();
            let run = |fused: bool| {
                let y = if fused {
                    dense(a.as_tensor(), w.as_tensor(), bias.as_tensor()).unwrap()
                } else {
                    a.as_tensor().broadcast_matmul(&w.as_tensor().t().unwrap()).unwrap().broadcast_add(bias.as_tensor()).unwrap()
                };
                let grads = y.mul(&coef).unwrap().sum_all().unwrap().backward().unwrap();
                let flat = |x: &Tensor| x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                (y.dims().to_vec(), [flat(&y), flat(grads.get(&a).unwrap()), flat(grads.get(&w).unwrap()), flat(grads.get(&bias).unwrap())])
            };
            let (got, want) = (run(true), run(false));
            assert_eq!(got.0, want.0);
            for (name, (p, q)) in ["y", "da", "dw", "db"].iter().zip(got.1.iter().zip(&want.1)) {
                assert_eq!(p.len(), q.len(), "{name}");
                for (x, y) in p.iter().zip(q) {
                    assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "[{t}, {b}, {fan_in}] -> {fan_out} {name}: op {x}, candle {y}");
                }
            }
        }
    }

    #[test]
    fn a_weight_that_does_not_fit_is_refused() {
        let dev = Device::Cpu;
        let a = Tensor::zeros((2, 3, 4), candle_core::DType::F32, &dev).unwrap();
        let w = Tensor::zeros((5, 3), candle_core::DType::F32, &dev).unwrap();
        let err = dense(&a, &w, &Tensor::zeros(5, candle_core::DType::F32, &dev).unwrap()).unwrap_err().to_string();
        assert!(err.contains("does not fit"), "{err}");
    }
}
