// Past 400 lines by its tests: the op is ~300; its tests hold it to candle's composed layer at every shape, density and accumulate switch.
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

pub use timing::{product_table, product_timings, time_median, ProductTiming};

/// `y = a W^T + b` for `a`: `[T, B, in]`, `weight`: `[out, in]`, `bias`: `[out]`.
pub fn dense(a: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    a.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, Dense { steps: 1 })
}

/// [`dense`] of an input that is the same at every one of `steps` steps, given as that one
/// step, `a1`: `[1, B, in]` -> `[steps, B, out]`. The product runs once instead of `steps`
/// times, and the backward sums the output's gradient over the steps first, so the weight's
/// (and the input's) gradient is one product too. A direct-encoded input is such an input
/// (encode.rs): the first layer of A and B did an eighth and a sixteenth of the work.
pub fn dense_repeated(a1: &Tensor, weight: &Tensor, bias: &Tensor, steps: usize) -> Result<Tensor> {
    if a1.dims().first() != Some(&1) || steps == 0 {
        candle_core::bail!("dense_repeated: one step of input, [1, B, in], for {steps} steps; got {:?}", a1.dims())
    }
    a1.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, Dense { steps })
}

/// The dense op; with `steps > 1` its input is one step, repeated over `steps` (see
/// [`dense_repeated`]).
struct Dense {
    steps: usize,
}

/// `dst = (dst if accumulate) + lhs rhs` with `lhs` `[m, k]` and `rhs` `[k, n]` given by
/// their row and column strides, `dst` row-major `[m, n]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product(dst: &mut [f32], accumulate: bool, (m, n, k): (usize, usize, usize), lhs: &[f32], (lhs_rs, lhs_cs): (usize, usize), rhs: &[f32], (rhs_rs, rhs_cs): (usize, usize)) {
    assert!(dst.len() == m * n, "dense: destination of {} values for [{m}, {n}]", dst.len());
    assert!(m == 0 || k == 0 || (m - 1) * lhs_rs + (k - 1) * lhs_cs < lhs.len(), "dense: lhs out of bounds");
    assert!(k == 0 || n == 0 || (k - 1) * rhs_rs + (n - 1) * rhs_cs < rhs.len(), "dense: rhs out of bounds");
    // The page's relaxed-SIMD build has its own kernel (fused multiply-add), which takes its
    // operands row-major: a transposed one is copied first (`O(mk + kn)` for `O(mnk)` work).
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    {
        let (a, b) = (row_major(lhs, (m, k), (lhs_rs, lhs_cs)), row_major(rhs, (k, n), (rhs_rs, rhs_cs)));
        relaxed::product(dst, accumulate, (m, n, k), &a, &b);
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
    gemm_product(dst, accumulate, (m, n, k), lhs, (lhs_rs, lhs_cs), rhs, (rhs_rs, rhs_cs));
}

/// [`product`] on row-major operands (`lhs` `[m, k]`, `rhs` `[k, n]`), for the kernel tests
/// (crate/tests/wasm_kernels.rs: the relaxed kernel in that build, `gemm` in the other).
#[doc(hidden)]
pub fn product_row_major(dst: &mut [f32], accumulate: bool, (m, n, k): (usize, usize, usize), lhs: &[f32], rhs: &[f32]) {
    product(dst, accumulate, (m, n, k), lhs, (k, 1), rhs, (n, 1))
}

/// [`product`] by the `gemm` crate (its checks done by the caller).
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
#[allow(clippy::too_many_arguments)]
fn gemm_product(dst: &mut [f32], accumulate: bool, (m, n, k): (usize, usize, usize), lhs: &[f32], (lhs_rs, lhs_cs): (usize, usize), rhs: &[f32], (rhs_rs, rhs_cs): (usize, usize)) {
    let threads = candle_core::utils::get_num_threads();
    let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: the asserts in `product` keep every index the strides reach inside the slices;
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

/// `x` (`[r, c]` with strides `(rs, cs)`) as a contiguous row-major slice, copied only if it
/// is not one already.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
fn row_major(x: &[f32], (r, c): (usize, usize), (rs, cs): (usize, usize)) -> std::borrow::Cow<'_, [f32]> {
    if (cs == 1 && rs == c) || r * c == 0 {
        return std::borrow::Cow::Borrowed(&x[..r * c]);
    }
    if rs == 1 && cs == r {
        // The transpose of a row-major `[c, r]` (`W^T` forward, `dY^T` for the weight's
        // gradient): the tiled copy.
        return std::borrow::Cow::Owned(transpose(&x[..r * c], c, r));
    }
    std::borrow::Cow::Owned((0..r).flat_map(|i| (0..c).map(move |j| x[i * rs + j * cs])).collect())
}

/// When the sparse products beat `gemm`'s: at most this share of non-zero inputs, and at
/// least this many rows (`T x B`). Hidden layers take spikes or their normalized traces,
/// 70-100 % zeros (configs A-D: 0-5 % without a norm, 10-13 % with PSP norm, 13-26 % with
/// BN). Natively `gemm` runs 8-lane AVX2 with fused multiply-add; the sparse loops (an
/// AVX2+FMA build too, but with a scan of the input, a transpose of the weight and scattered
/// rows) win the weight gradient below ~20 % non-zeros on B's `[1024, 256] x 256` (0.96 vs
/// 1.89 ms at 10 %, 1.60 vs 1.90 at 20 %, 2.10 vs 1.80 at 30 %) and only with enough rows
/// (`[64, 64] x 64`: never). In the browser `gemm`'s 4-lane kernel without fused multiply-add
/// is 3.4x slower than natively and the loops only 1.4-1.9x, so they win up to about half
/// non-zeros at every size. The relaxed-SIMD module's own dense kernel (`relaxed`) is ~1.7x
/// faster than `gemm`'s (and its sparse loops use fused multiply-adds as well): at
/// `[1024, 256] x 256` and 50 % non-zeros 3.24 ms dense against 3.37 sparse (forward; 30 %:
/// 2.2 sparse), at `[256, 128] x 128` 0.215 against 0.205, so the same share holds for it
/// (fifth round of docs/BENCHMARKS.md). Figures: `spikeplay bench --products`, `node
/// scripts/bench-wasm.mjs --products [--build baseline]`, docs/BENCHMARKS.md.
/// `SPIKEPLAY_SPARSE_MAX` overrides the share natively (0 turns the sparse products off).
const SPARSE: (f32, usize) = if cfg!(target_arch = "wasm32") { (0.5, 1) } else { (0.2, 128) };

/// The forward's sparse loop (rows of `A`) wins up to a higher share than the weight
/// gradient's (columns of `A`, gathered first): natively up to 30 % (1.45 vs 1.68 ms at
/// 30 %, 2.06 vs 1.63 at 50 %).
const SPARSE_FORWARD: f32 = if cfg!(target_arch = "wasm32") { 0.5 } else { 0.3 };

#[cfg(target_arch = "wasm32")]
fn sparse_max() -> f32 {
    SPARSE.0
}

#[cfg(not(target_arch = "wasm32"))]
fn sparse_max() -> f32 {
    static MAX: std::sync::OnceLock<f32> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| std::env::var("SPIKEPLAY_SPARSE_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(SPARSE.0))
}

/// The non-zeros of `a` (`rows` rows of `width`) if it has few enough for [`sparse`]'s
/// weight gradient, else `None`.
fn sparse_enough(a: &[f32], rows: usize, width: usize) -> Option<sparse::NonZeros> {
    sparse_share(a, rows, width, sparse_max())
}

/// The non-zeros of `a` if it has few enough for [`sparse`]'s forward product.
fn sparse_enough_forward(a: &[f32], rows: usize, width: usize) -> Option<sparse::NonZeros> {
    let max = sparse_max();
    sparse_share(a, rows, width, if max > 0.0 { max.max(SPARSE_FORWARD) } else { 0.0 })
}

fn sparse_share(a: &[f32], rows: usize, width: usize, max: f32) -> Option<sparse::NonZeros> {
    if rows < SPARSE.1 || max <= 0.0 || a.is_empty() {
        return None;
    }
    sparse::NonZeros::of(a, width, (max * a.len() as f32) as usize)
}

/// `[r, c]` row-major -> `[c, r]` row-major.
pub(crate) fn transpose(x: &[f32], r: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0f32; r * c];
    transpose_into(x, r, c, &mut out);
    out
}

/// The 4 x 4 block at row `i`, column `j` of `x` (`[r, c]`) into `out` (`[c, r]`) transposed.
#[inline(always)]
fn block4(x: &[f32], (i, j): (usize, usize), (r, c): (usize, usize), out: &mut [f32]) {
    assert!((i + 3) * c + j + 4 <= x.len() && (j + 3) * r + i + 4 <= out.len(), "transpose: block out of bounds");
    // In wasm, four loads, eight shuffles and four stores (V8 ran the element-wise version as
    // scalar moves: 14 % of config E's step in the page); natively the compiler's shuffles.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        // SAFETY: the assert above keeps all four rows' and columns' 4 values in bounds.
        unsafe {
            let at = |q: usize| v128_load(x.as_ptr().add((i + q) * c + j) as *const v128);
            let (a, b, cc, d) = (at(0), at(1), at(2), at(3));
            let (t0, t1) = (i32x4_shuffle::<0, 4, 1, 5>(a, b), i32x4_shuffle::<2, 6, 3, 7>(a, b));
            let (t2, t3) = (i32x4_shuffle::<0, 4, 1, 5>(cc, d), i32x4_shuffle::<2, 6, 3, 7>(cc, d));
            let cols = [i32x4_shuffle::<0, 1, 4, 5>(t0, t2), i32x4_shuffle::<2, 3, 6, 7>(t0, t2), i32x4_shuffle::<0, 1, 4, 5>(t1, t3), i32x4_shuffle::<2, 3, 6, 7>(t1, t3)];
            for (p, col) in cols.into_iter().enumerate() {
                v128_store(out.as_mut_ptr().add((j + p) * r + i) as *mut v128, col);
            }
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let b: [[f32; 4]; 4] = std::array::from_fn(|q| x[(i + q) * c + j..][..4].try_into().expect("4 values"));
        for (p, row) in out[j * r..].chunks_mut(r).take(4).enumerate() {
            row[i..i + 4].copy_from_slice(&[b[0][p], b[1][p], b[2][p], b[3][p]]);
        }
    }
}

/// [`transpose`] into `out` (`r * c` values, all overwritten).
pub(crate) fn transpose_into(x: &[f32], r: usize, c: usize, out: &mut [f32]) {
    assert_eq!(x.len(), r * c, "transpose: {} values for [{r}, {c}]", x.len());
    assert_eq!(out.len(), r * c, "transpose: room for {} values for [{r}, {c}]", out.len());
    // In 16 x 16 tiles, so that reads and writes both stay within a few cache lines; a full
    // tile as 4 x 4 blocks (four rows read, four written: vector shuffles where the compiler
    // has them). Value by value, a tile wrote 16 rows `r` apart: at `r` = 1024 (4 KiB) they
    // share cache sets, and B's `dY^T` copy (`[1024, 256]`) took 1.0 ms in the page's module,
    // 0.43 ms by blocks (`[1024, 64]`: 0.25 -> 0.10; `[128, 128]`-`[256, 256]` alike).
    const TILE: usize = 16;
    for i0 in (0..r).step_by(TILE) {
        for j0 in (0..c).step_by(TILE) {
            let (i1, j1) = ((i0 + TILE).min(r), (j0 + TILE).min(c));
            // The tile's 4 x 4 blocks, then its edge rows and columns value by value (a conv
            // frame's `[196, 8]` has no full 16 x 16 tile but 48 x 2 blocks).
            let (i4, j4) = (i0 + (i1 - i0) / 4 * 4, j0 + (j1 - j0) / 4 * 4);
            for i in (i0..i4).step_by(4) {
                for j in (j0..j4).step_by(4) {
                    block4(x, (i, j), (r, c), out);
                }
            }
            for i in i0..i1 {
                let js = if i < i4 { j4..j1 } else { j0..j1 };
                for j in js {
                    out[j * r + i] = x[i * c + j];
                }
            }
        }
    }
}

pub(crate) mod sparse;
mod timing;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod relaxed;

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
        // Copied in doubling runs: a copy per row is a call per row in V8 (a 512-byte copy
        // 256 times a layer in A).
        let mut y = Vec::with_capacity(rows * fan_out);
        if rows > 0 {
            y.extend_from_slice(b);
        }
        while y.len() < rows * fan_out {
            y.extend_from_within(..y.len().min(rows * fan_out - y.len()));
        }
        if let Some(nz) = sparse_enough_forward(a, rows, fan_in) {
            let wt = transpose(w, fan_out, fan_in);
            sparse::rows_times(&mut y, a, &nz, &wt, fan_out);
        } else {
            // W^T as [in, out]: element (k, n) is w[n * in + k].
            product(&mut y, true, (rows, fan_out, fan_in), a, (fan_in, 1), w, (1, fan_in));
        }
        let mut dims = l1.dims().to_vec();
        *dims.last_mut().expect("rank checked") = fan_out;
        if self.steps > 1 {
            // The one step's output, once per step.
            y = y.repeat(self.steps);
            dims[0] = self.steps;
        }
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
            let (a_values, w, g) = (slice("dense", sa, la)?, slice("dense", sw, lw)?, slice("dense", sg, lg)?);
            if g.len() != self.steps * rows * fan_out {
                candle_core::bail!("dense: a gradient of {} values for {} x {rows} x {fan_out}", g.len(), self.steps)
            }
            // A repeated input's output gradient, summed over the steps.
            let g = crate::fused::sum_steps(g, rows * fan_out);
            let g: &[f32] = &g;
            // dA [rows, in] = dY [rows, out] W [out, in]; not for the first layer, whose input
            // (the encoded data) needs no gradient.
            let da = a.track_op().then(|| {
                let mut da = vec![0f32; rows * fan_in];
                product(&mut da, false, (rows, fan_in, fan_out), g, (fan_out, 1), w, (fan_in, 1));
                da
            });
            // dW [out, in] = dY^T [out, rows] A [rows, in].
            let dw = if let Some(nz) = sparse_enough(a_values, rows, fan_in) {
                transpose(&sparse::columns_times(a_values, &nz, g, fan_out), fan_in, fan_out)
            } else {
                let mut dw = vec![0f32; fan_out * fan_in];
                product(&mut dw, false, (fan_out, fan_in, rows), g, (1, fan_out), a_values, (fan_in, 1));
                dw
            };
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
            da.map(|da| Tensor::from_vec(da, a.shape(), device)).transpose()?,
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
        // Dense inputs take gemm; mostly-zero ones (spikes, and scaled like a normalized
        // trace) with enough rows take the sparse loops, checked by `sparse_enough`.
        let dense_input = |i: usize| (i as f32 * 0.37).sin();
        let spikes = |i: usize| if (i as f32 * 0.618).fract() < 0.08 { 1.0 } else { 0.0 };
        let trace = |i: usize| spikes(i) * (1.0 + (i % 7) as f32 * 0.1);
        // The last case is big enough to be split among candle's threads (when there are
        // several).
        type Case<'a> = (usize, usize, usize, usize, &'a dyn Fn(usize) -> f32, bool);
        let cases: [Case; 7] = [
            (1, 1, 1, 1, &dense_input, false),
            (3, 5, 7, 4, &dense_input, false),
            (4, 16, 64, 33, &dense_input, false),
            (4, 64, 37, 21, &spikes, true),
            (8, 32, 64, 9, &trace, true),
            (2, 64, 5, 3, &trace, true),
            (16, 128, 64, 128, &trace, true),
        ];
        for (t, b, fan_in, fan_out, input, sparse) in cases {
            let n = t * b * fan_in;
            let values: Vec<f32> = (0..n).map(input).collect();
            assert_eq!(sparse_enough(&values, t * b, fan_in).is_some(), sparse, "[{t}, {b}, {fan_in}]: which path");
            let a = Var::from_vec(values, (t, b, fan_in), &dev).unwrap();
            let w = Var::from_vec((0..fan_in * fan_out).map(|i| (i as f32 * 0.11).cos() * 0.3).collect(), (fan_out, fan_in), &dev).unwrap();
            let bias = Var::from_vec((0..fan_out).map(|i| i as f32 * 0.1 - 0.5).collect(), fan_out, &dev).unwrap();
            let coef = Tensor::from_vec((0..t * b * fan_out).map(|i| (i as f32 * 1.7).sin()).collect(), (t, b, fan_out), &dev).unwrap();
            let run = |fused: bool| {
                let y = if fused {
                    dense(a.as_tensor(), w.as_tensor(), bias.as_tensor()).unwrap()
                } else {
                    a.as_tensor().broadcast_matmul(&w.as_tensor().t().unwrap()).unwrap().broadcast_add(bias.as_tensor()).unwrap()
                };
                values_and_grads(&y, &coef, [&a, &w, &bias])
            };
            assert_close(&run(true), &run(false), &format!("[{t}, {b}, {fan_in}] -> {fan_out}, op against candle"));
        }
    }

    /// `y`'s dims, then its values and the gradients of `sum(y * coef)` for `a`, `w` and
    /// `bias`, flat.
    fn values_and_grads(y: &Tensor, coef: &Tensor, [a, w, bias]: [&Var; 3]) -> (Vec<usize>, [Vec<f32>; 4]) {
        let grads = y.mul(coef).unwrap().sum_all().unwrap().backward().unwrap();
        let flat = |x: &Tensor| x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        (y.dims().to_vec(), [flat(y), flat(grads.get(a).unwrap()), flat(grads.get(w).unwrap()), flat(grads.get(bias).unwrap())])
    }

    /// The same dims, and every value and gradient within 1e-4 (relative, or absolute
    /// below 1).
    fn assert_close(got: &(Vec<usize>, [Vec<f32>; 4]), want: &(Vec<usize>, [Vec<f32>; 4]), what: &str) {
        assert_eq!(got.0, want.0, "{what}: dims");
        for (name, (p, q)) in ["y", "da", "dw", "db"].iter().zip(got.1.iter().zip(&want.1)) {
            assert_eq!(p.len(), q.len(), "{what} {name}");
            for (x, y) in p.iter().zip(q) {
                assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{what} {name}: {x} against {y}");
            }
        }
    }

    /// One step run once and repeated equals the repeated input run through [`dense`], in
    /// the output and every gradient (the one step's input gradient too), for dense and
    /// spike inputs (the latter with enough rows for the sparse loops natively).
    #[test]
    fn a_repeated_input_matches_the_input_repeated() {
        let dev = Device::Cpu;
        let spikes = |i: usize| if (i as f32 * 0.618).fract() < 0.08 { 1.0 } else { 0.0 };
        let dense_input = |i: usize| (i as f32 * 0.37).sin();
        type Case<'a> = (usize, usize, usize, usize, &'a dyn Fn(usize) -> f32);
        let cases: [Case; 4] = [(1, 4, 3, 2, &dense_input), (3, 5, 7, 4, &dense_input), (8, 160, 64, 33, &spikes), (16, 9, 64, 17, &dense_input)];
        for (steps, b, fan_in, fan_out, input) in cases {
            let a1 = Var::from_vec((0..b * fan_in).map(input).collect(), (1, b, fan_in), &dev).unwrap();
            let w = Var::from_vec((0..fan_in * fan_out).map(|i| (i as f32 * 0.11).cos() * 0.3).collect(), (fan_out, fan_in), &dev).unwrap();
            let bias = Var::from_vec((0..fan_out).map(|i| i as f32 * 0.1 - 0.5).collect(), fan_out, &dev).unwrap();
            let coef = Tensor::from_vec((0..steps * b * fan_out).map(|i| (i as f32 * 1.7).sin()).collect(), (steps, b, fan_out), &dev).unwrap();
            let run = |repeated: bool| {
                let y = if repeated {
                    dense_repeated(a1.as_tensor(), w.as_tensor(), bias.as_tensor(), steps).unwrap()
                } else {
                    dense(&a1.as_tensor().broadcast_as((steps, b, fan_in)).unwrap(), w.as_tensor(), bias.as_tensor()).unwrap()
                };
                values_and_grads(&y, &coef, [&a1, &w, &bias])
            };
            let got = run(true);
            assert_eq!(got.0, vec![steps, b, fan_out]);
            assert_close(&got, &run(false), &format!("{steps} x [{b}, {fan_in}] -> {fan_out}, repeated against whole"));
        }
        let zeros = |shape: &[usize]| Tensor::zeros(shape, candle_core::DType::F32, &dev).unwrap();
        let err = dense_repeated(&zeros(&[2, 3, 4]), &zeros(&[5, 4]), &zeros(&[5]), 4).unwrap_err().to_string();
        assert!(err.contains("one step of input"), "{err}");
    }

    /// An input that needs no gradient (the encoded data of the first layer) gets none, and
    /// the weight's and bias's gradients are the same as with a tracked input.
    #[test]
    fn an_untracked_input_gets_no_gradient_and_changes_no_other() {
        let dev = Device::Cpu;
        let values: Vec<f32> = (0..2 * 3 * 4).map(|i| (i as f32 * 0.3).cos()).collect();
        let w = Var::from_vec((0..20).map(|i| i as f32 * 0.05).collect(), (5, 4), &dev).unwrap();
        let b = Var::zeros(5, candle_core::DType::F32, &dev).unwrap();
        let grads_of = |a: &Tensor| dense(a, w.as_tensor(), b.as_tensor()).unwrap().sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let constant = Tensor::from_vec(values.clone(), (2, 3, 4), &dev).unwrap();
        let tracked = Var::from_vec(values, (2, 3, 4), &dev).unwrap();
        let (g0, g1) = (grads_of(&constant), grads_of(tracked.as_tensor()));
        assert!(g0.get(&constant).is_none(), "no gradient for the constant input");
        assert!(g1.get(tracked.as_tensor()).is_some());
        for v in [&w, &b] {
            let flat = |g: &candle_core::backprop::GradStore| g.get(v).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(flat(&g0), flat(&g1));
        }
    }

    /// Full tiles (by 4 x 4 blocks), partial ones at the edges, and the 4 KiB row stride
    /// the blocks were written for.
    #[test]
    fn transpose_moves_every_value() {
        for (r, c) in [(0, 3), (1, 1), (3, 5), (16, 16), (17, 33), (32, 20), (1024, 48), (40, 1024)] {
            let x: Vec<f32> = (0..r * c).map(|i| i as f32).collect();
            let t = transpose(&x, r, c);
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(t[j * r + i], x[i * c + j], "[{r}, {c}] at ({i}, {j})");
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

    #[test]
    fn product_timings_cover_every_shape_and_density_with_the_given_clock() {
        let tick = std::cell::Cell::new(0.0);
        let t = product_timings(1, || {
            tick.set(tick.get() + 0.5);
            tick.get()
        });
        assert_eq!(t.len(), 21);
        // One clock step per reading, shared by the calls it averages.
        assert!(t.iter().all(|r| r.gemm_ms > 0.0 && r.gemm_ms <= 0.5 && r.sparse_grad_ms == r.gemm_ms), "{t:?}");
        assert_eq!(t[0].gemm_ms, 0.5, "one call per reading at B's shape");
        let table = product_table(&t);
        assert_eq!(table.lines().count(), 23);
        assert!(table.contains("| 1024 x 256 x 256 | 1 % |"), "{table}");
    }
}
