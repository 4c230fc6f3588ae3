//! `C (+)= A B` for row-major `A` `[m, k]`, `B` `[k, n]` and `C` `[m, n]` with relaxed
//! SIMD's fused multiply-add (`f32x4.relaxed_madd`), for the page's second wasm build
//! (`scripts/build-wasm.sh` builds it with `+relaxed-simd`; the page loads it where the
//! browser validates relaxed SIMD, see web/wasm-build.js).
//!
//! Why not `gemm`: its wasm kernel has only `f32x4.mul` then `f32x4.add` (baseline SIMD has
//! no fused multiply-add), which V8 runs at about one 4-lane multiply-add per cycle; with
//! `relaxed_madd` V8 emits the CPU's FMA, two per cycle. Products whose inputs are mostly
//! zero take the sparse loops (`super::sparse`) in either build; this is for the dense
//! ones, chiefly the input gradient `dY W`.

use core::arch::wasm32::*;

/// Rows and 4-lane vectors of the main register block: `4 x 8` values, eight accumulators.
const ROWS: usize = 4;
const VECS: usize = 2;

/// `c = (c if accumulate) + a b`, all row-major and contiguous; `c` does not alias `a` or `b`
/// and is only written, not read, without `accumulate`.
pub fn product(c: &mut [f32], accumulate: bool, (m, n, k): (usize, usize, usize), a: &[f32], b: &[f32]) {
    assert!(c.len() == m * n && a.len() == m * k && b.len() == k * n, "relaxed product: sizes");
    if k == 0 {
        // An empty sum; and no pointer offsets into the empty `a` and `b` below.
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    // Full blocks, then a 4-wide column panel and single rows at the edges; the last n % 4
    // columns plainly. Column panels outermost: a panel of `B` (`k x 8`) stays in L1 while
    // every row block streams past it.
    let (m4, n8) = (m - m % ROWS, n - n % (4 * VECS));
    let n4 = n - n % 4;
    let (cp, ap, bp) = (c.as_mut_ptr(), a.as_ptr(), b.as_ptr());
    // SAFETY: every block below covers rows i..i + R <= m and columns j..j + 4 V <= n, so
    // each pointer offset and each load and store stays inside its slice.
    unsafe {
        for j in (0..n8).step_by(4 * VECS) {
            for i in (0..m4).step_by(ROWS) {
                block::<ROWS, VECS>(accumulate, cp.add(i * n + j), n, ap.add(i * k), k, bp.add(j), n, k);
            }
            for i in m4..m {
                block::<1, VECS>(accumulate, cp.add(i * n + j), n, ap.add(i * k), k, bp.add(j), n, k);
            }
        }
        if n4 > n8 {
            for i in (0..m4).step_by(ROWS) {
                block::<ROWS, 1>(accumulate, cp.add(i * n + n8), n, ap.add(i * k), k, bp.add(n8), n, k);
            }
            for i in m4..m {
                block::<1, 1>(accumulate, cp.add(i * n + n8), n, ap.add(i * k), k, bp.add(n8), n, k);
            }
        }
    }
    for i in 0..m {
        for j in n4..n {
            let mut s = 0f32;
            for p in 0..k {
                s += a[i * k + p] * b[p * n + j];
            }
            c[i * n + j] = if accumulate { c[i * n + j] + s } else { s };
        }
    }
}

/// One `R x 4V` block of `c` (+)= its rows of `a` times its columns of `b`: `R V`
/// accumulators, each step `V` loads of `b`, `R` broadcasts of `a` and `R V` fused
/// multiply-adds.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const R: usize, const V: usize>(accumulate: bool, c: *mut f32, ldc: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, k: usize) {
    let mut acc = [[f32x4_splat(0.0); V]; R];
    for p in 0..k {
        let bp = b.add(p * ldb);
        let mut bv = [f32x4_splat(0.0); V];
        for (v, x) in bv.iter_mut().enumerate() {
            *x = v128_load(bp.add(4 * v) as *const v128);
        }
        for (r, row) in acc.iter_mut().enumerate() {
            let av = v128_load32_splat(a.add(r * lda + p) as *const u32);
            for (x, &bv) in row.iter_mut().zip(&bv) {
                *x = f32x4_relaxed_madd(av, bv, *x);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            let dst = c.add(r * ldc + 4 * v) as *mut v128;
            v128_store(dst, if accumulate { f32x4_add(v128_load(dst), *x) } else { *x });
        }
    }
}
