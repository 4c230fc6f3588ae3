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

/// Rows and columns of one register block: `ROWS x 4 * VECS` accumulators.
const ROWS: usize = 4;
const VECS: usize = 2;
const COLS: usize = 4 * VECS;

/// `c = (c if accumulate) + a b`, all row-major and contiguous; `c` does not alias `a` or `b`.
pub fn product(c: &mut [f32], accumulate: bool, (m, n, k): (usize, usize, usize), a: &[f32], b: &[f32]) {
    assert!(c.len() == m * n && a.len() == m * k && b.len() == k * n, "relaxed product: sizes");
    if !accumulate {
        c.fill(0.0);
    }
    let (m4, n8) = (m - m % ROWS, n - n % COLS);
    // Column panels outermost: a panel of `B` (`k x 8`) stays in L1 while every row block
    // streams past it.
    for j in (0..n8).step_by(COLS) {
        for i in (0..m4).step_by(ROWS) {
            // SAFETY: i + ROWS <= m and j + COLS <= n, so every access below is in bounds.
            unsafe { block(c.as_mut_ptr().add(i * n + j), n, a.as_ptr().add(i * k), k, b.as_ptr().add(j), n, k) }
        }
    }
    // The edges (rows past the last full block, columns past the last full panel), plainly.
    for i in 0..m {
        let cols = if i < m4 { n8..n } else { 0..n };
        for j in cols {
            let mut s = 0f32;
            for p in 0..k {
                s += a[i * k + p] * b[p * n + j];
            }
            c[i * n + j] += s;
        }
    }
}

/// One `ROWS x COLS` block of `c` += its rows of `a` times its columns of `b`.
#[inline(always)]
unsafe fn block(c: *mut f32, ldc: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, k: usize) {
    let z = f32x4_splat(0.0);
    let mut acc = [[z; VECS]; ROWS];
    for p in 0..k {
        let bp = b.add(p * ldb);
        let bv = [v128_load(bp as *const v128), v128_load(bp.add(4) as *const v128)];
        for (r, row) in acc.iter_mut().enumerate() {
            let av = v128_load32_splat(a.add(r * lda + p) as *const u32);
            for (v, x) in row.iter_mut().enumerate() {
                *x = f32x4_relaxed_madd(av, bv[v], *x);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            let dst = c.add(r * ldc + 4 * v) as *mut v128;
            v128_store(dst, f32x4_add(v128_load(dst), *x));
        }
    }
}
