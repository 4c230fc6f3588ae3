//! `C (+)= A B` for row-major `A` `[m, k]`, `B` `[k, n]` and `C` `[m, n]` with relaxed
//! SIMD's fused multiply-add (`f32x4.relaxed_madd`), for the page's second wasm build
//! (`scripts/build-wasm.sh` builds it with `+relaxed-simd`; the page loads it where the
//! browser validates relaxed SIMD, see web/worker/wasm-build.js).
//!
//! Why not `gemm`: its wasm kernel has only `f32x4.mul` then `f32x4.add` (baseline SIMD has
//! no fused multiply-add), which V8 runs at about one 4-lane multiply-add per cycle; with
//! `relaxed_madd` V8 emits the CPU's FMA, two per cycle. Products whose inputs are mostly
//! zero take the sparse loops (`super::sparse`) in either build; this is for the dense
//! ones, chiefly the input gradient `dY W`.

use core::arch::wasm32::*;

/// `c = (c if accumulate) + a b`, all row-major and contiguous; `c` does not alias `a` or `b`
/// and is only written, not read, without `accumulate`.
///
/// Column panels of 12 (`3 x 12` blocks: nine accumulators, three loads of `b` and three
/// broadcasts of `a` per nine multiply-adds), then one of 8 or of 4 (`4 x 8` or `4 x 4`
/// blocks), the last `n % 4` columns plainly; edge rows one at a time. Panels outermost, each
/// panel of `b` (`k x 12`) first copied into a contiguous buffer that stays in L1 while every
/// row block streams past it: read in place, its rows `n` floats apart (1 KiB in B's
/// products) fall into a few cache sets and evict each other. Timed in V8 (a stand-alone
/// module in Chromium, `[1024, 256] x 256`): `4 x 8` in place 17.8 G multiply-adds/s, `3 x 12`
/// in place 19.7, `3 x 12` packed 22 (`[256, 128] x 128`: 18.1, 20.3, 23.1); `4 x 12`,
/// `5 x 8`, `6 x 8` and `2 x 16` ran slower (12-15 G: V8 keeps fewer vectors and pointers in
/// registers), as did unrolling `k` by two.
pub fn product(c: &mut [f32], accumulate: bool, (m, n, k): (usize, usize, usize), a: &[f32], b: &[f32]) {
    assert!(c.len() == m * n && a.len() == m * k && b.len() == k * n, "relaxed product: sizes");
    if k == 0 {
        // An empty sum; and no pointer offsets into the empty `a` and `b` below.
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    if m == 0 {
        return;
    }
    let n4 = n - n % 4;
    let mut panel_of_b = Vec::new();
    let mut j = 0;
    while j < n4 {
        let width = if j + 12 <= n4 { 12 } else if j + 8 <= n4 { 8 } else { 4 };
        // Four values at a time (a fixed-size copy compiles to one vector load and store):
        // V8 runs a copy of a run-time length as a call, k of them per panel.
        panel_of_b.resize(k * width, 0.0);
        for (dst, row) in panel_of_b.chunks_exact_mut(width).zip(b.chunks_exact(n)) {
            for (d, s) in dst.chunks_exact_mut(4).zip(row[j..j + width].chunks_exact(4)) {
                d.copy_from_slice(s);
            }
        }
        let cj = &mut c[j..];
        // SAFETY: the panel covers columns j..j + width <= n4 <= n of `c`, whose blocks
        // cover rows i..i + R <= m; `panel_of_b` holds k rows of `width`; so each pointer
        // offset and each load and store stays inside its slice.
        unsafe {
            match width {
                12 => panel::<3, 3>(accumulate, cj.as_mut_ptr(), a.as_ptr(), panel_of_b.as_ptr(), (m, n, k)),
                8 => panel::<4, 2>(accumulate, cj.as_mut_ptr(), a.as_ptr(), panel_of_b.as_ptr(), (m, n, k)),
                _ => panel::<4, 1>(accumulate, cj.as_mut_ptr(), a.as_ptr(), panel_of_b.as_ptr(), (m, n, k)),
            }
        }
        j += width;
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

/// Columns `0..4 V` of `c` (row stride `n`) from the packed panel `b` (`k x 4V`): `R x 4V`
/// blocks down the rows, then the last `m % R` rows one at a time.
#[inline(always)]
unsafe fn panel<const R: usize, const V: usize>(accumulate: bool, c: *mut f32, a: *const f32, b: *const f32, (m, n, k): (usize, usize, usize)) {
    let mr = m - m % R;
    for i in (0..mr).step_by(R) {
        block::<R, V>(accumulate, c.add(i * n), n, a.add(i * k), k, b, 4 * V, k);
    }
    for i in mr..m {
        block::<1, V>(accumulate, c.add(i * n), n, a.add(i * k), k, b, 4 * V, k);
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
