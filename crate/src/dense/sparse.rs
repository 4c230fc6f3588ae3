//! Products with a mostly-zero `A` (`[rows, in]`): the work scales with its non-zeros.
//! Each non-zero adds a scaled row of a `[*, out]` matrix into an output row; four at a
//! time, so that an output row is read and written once per four non-zeros.

/// `x * y + acc`: one fused multiply-add in the AVX2+FMA build of these loops, a
/// multiply and an add elsewhere (where `mul_add` would be a library call).
#[inline(always)]
fn madd<const FMA: bool>(x: f32, y: f32, acc: f32) -> f32 {
    if FMA {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

/// `acc += v[0] w[0] + v[1] w[1] + v[2] w[2] + v[3] w[3]`, elementwise.
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
#[inline(always)]
fn add4<const FMA: bool>(acc: &mut [f32], v: [f32; 4], w: [&[f32]; 4]) {
    let n = acc.len();
    let (a, b, c, d) = (&w[0][..n], &w[1][..n], &w[2][..n], &w[3][..n]);
    for o in 0..n {
        acc[o] = madd::<FMA>(v[3], d[o], madd::<FMA>(v[2], c[o], madd::<FMA>(v[1], b[o], madd::<FMA>(v[0], a[o], acc[o]))));
    }
}

/// [`add4`] in the page's relaxed-SIMD build: four lanes at a time with `relaxed_madd`
/// (the CPU's fused multiply-add, where baseline wasm has a multiply then an add), in the
/// same order.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
#[inline(always)]
fn add4<const FMA: bool>(acc: &mut [f32], v: [f32; 4], w: [&[f32]; 4]) {
    use core::arch::wasm32::*;
    let n = acc.len();
    let (a, b, c, d) = (&w[0][..n], &w[1][..n], &w[2][..n], &w[3][..n]);
    let s = v.map(|x| f32x4_splat(x));
    let full = n - n % 4;
    for o in (0..full).step_by(4) {
        // SAFETY: o + 4 <= n, and every slice here has n values.
        unsafe {
            let at = |x: &[f32]| v128_load(x.as_ptr().add(o) as *const v128);
            let mut x = at(acc);
            x = f32x4_relaxed_madd(s[0], at(a), x);
            x = f32x4_relaxed_madd(s[1], at(b), x);
            x = f32x4_relaxed_madd(s[2], at(c), x);
            x = f32x4_relaxed_madd(s[3], at(d), x);
            v128_store(acc.as_mut_ptr().add(o) as *mut v128, x);
        }
    }
    for o in full..n {
        acc[o] = madd::<false>(v[3], d[o], madd::<false>(v[2], c[o], madd::<false>(v[1], b[o], madd::<false>(v[0], a[o], acc[o]))));
    }
}

/// `acc += sum over i in idx of vals[i] * row(i)`, rows of `m` of width `acc.len()`.
#[inline(always)]
fn add_rows<const FMA: bool>(acc: &mut [f32], idx: &[u32], vals: impl Fn(usize) -> f32, m: &[f32]) {
    let width = acc.len();
    let row = |i: u32| &m[i as usize * width..(i as usize + 1) * width];
    let mut groups = idx.chunks_exact(4);
    for (j, g) in (&mut groups).enumerate() {
        let base = 4 * j;
        add4::<FMA>(acc, [vals(base), vals(base + 1), vals(base + 2), vals(base + 3)], [row(g[0]), row(g[1]), row(g[2]), row(g[3])]);
    }
    let done = idx.len() - groups.remainder().len();
    for (j, &i) in groups.remainder().iter().enumerate() {
        let (v, w) = (vals(done + j), row(i));
        for (o, &x) in acc.iter_mut().zip(w) {
            *o = madd::<FMA>(v, x, *o);
        }
    }
}

/// The positions of the non-zeros of `x` into `idx` (without a branch per value);
/// returns how many.
#[inline(always)]
fn nonzeros(x: &[f32], idx: &mut [u32]) -> usize {
    let mut n = 0;
    for (k, &v) in x.iter().enumerate() {
        idx[n] = k as u32;
        n += (v != 0.0) as usize;
    }
    n
}

/// Whether this CPU runs the AVX2+FMA build of the loops (x86-64 only; the crate is
/// built for the baseline x86-64, so the compiler may use them only where asked).
#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Splits the rows of `out` (of `width` values) among candle's threads, natively and
/// for products big enough to pay for starting them: `f(rows, first row index)`.
fn par_rows(out: &mut [f32], width: usize, work: usize, f: impl Fn(&mut [f32], usize) + Sync) {
    let rows = out.len() / width.max(1);
    #[cfg(not(target_arch = "wasm32"))]
    let threads = if work >= 1 << 20 { candle_core::utils::get_num_threads().min(rows) } else { 1 };
    #[cfg(target_arch = "wasm32")]
    let threads = {
        let _ = work;
        1
    };
    if threads <= 1 {
        return f(out, 0);
    }
    let per = rows.div_ceil(threads);
    std::thread::scope(|s| {
        for (i, chunk) in out.chunks_mut(per * width).enumerate() {
            let f = &f;
            s.spawn(move || f(chunk, i * per));
        }
    });
}

/// Calls `f::<true>(args)` in a function built for AVX2+FMA where the CPU has them
/// (the crate targets baseline x86-64), else `f::<false>(args)`; in a closure or
/// function returning `()`.
macro_rules! dispatch {
    ($f:ident($($arg:ident: $ty:ty),*)) => {{
        #[cfg(target_arch = "x86_64")]
        if avx2_fma() {
            #[target_feature(enable = "avx2,fma")]
            fn wide($($arg: $ty),*) {
                $f::<true>($($arg),*)
            }
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            return unsafe { wide($($arg),*) };
        }
        $f::<false>($($arg),*)
    }};
}

/// `y [rows, out] += A [rows, in] W^T`, with `wt` = `W^T` as `[in, out]`.
pub fn rows_times(y: &mut [f32], a: &[f32], wt: &[f32], fan_in: usize, fan_out: usize) {
    par_rows(y, fan_out, a.len() * fan_out / 8, |y, r0| {
        let a = &a[r0 * fan_in..][..y.len() / fan_out * fan_in];
        dispatch!(rows(y: &mut [f32], a: &[f32], wt: &[f32], fan_in: usize, fan_out: usize))
    });
}

#[inline(always)]
fn rows<const FMA: bool>(y: &mut [f32], a: &[f32], wt: &[f32], fan_in: usize, fan_out: usize) {
    let mut idx = vec![0u32; fan_in + 1];
    for (yr, ar) in y.chunks_exact_mut(fan_out).zip(a.chunks_exact(fan_in)) {
        let n = nonzeros(ar, &mut idx);
        let idx = &idx[..n];
        add_rows::<FMA>(yr, idx, |j| ar[idx[j] as usize], wt);
    }
}

/// `A^T [in, rows] G [rows, out]` as `[in, out]`: the non-zeros of each column of `A`
/// (gathered by a counting pass) scale rows of `G`.
pub fn columns_times(a: &[f32], g: &[f32], rows: usize, fan_in: usize, fan_out: usize) -> Vec<f32> {
    // The non-zeros by column: column k's are at[start[k]..start[k + 1]] (their rows)
    // with values vals[..].
    let mut start = vec![0usize; fan_in + 1];
    for ar in a.chunks_exact(fan_in) {
        for (k, &v) in ar.iter().enumerate() {
            start[k + 1] += (v != 0.0) as usize;
        }
    }
    for k in 0..fan_in {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let (mut at, mut vals) = (vec![0u32; start[fan_in]], vec![0f32; start[fan_in]]);
    let mut idx = vec![0u32; fan_in + 1];
    for (r, ar) in a.chunks_exact(fan_in).enumerate().take(rows) {
        let n = nonzeros(ar, &mut idx);
        for &k in &idx[..n] {
            let k = k as usize;
            at[fill[k]] = r as u32;
            vals[fill[k]] = ar[k];
            fill[k] += 1;
        }
    }
    let mut out = vec![0f32; fan_in * fan_out];
    par_rows(&mut out, fan_out, a.len() * fan_out / 8, |out, k0| {
        let (start, at, vals) = (start.as_slice(), at.as_slice(), vals.as_slice());
        dispatch!(columns(out: &mut [f32], k0: usize, fan_out: usize, start: &[usize], at: &[u32], vals: &[f32], g: &[f32]))
    });
    out
}

/// Rows `k0..` of `A^T G` into `out` from the non-zeros by column.
#[inline(always)]
fn columns<const FMA: bool>(out: &mut [f32], k0: usize, fan_out: usize, start: &[usize], at: &[u32], vals: &[f32], g: &[f32]) {
    for (j, acc) in out.chunks_exact_mut(fan_out).enumerate() {
        let (s, e) = (start[k0 + j], start[k0 + j + 1]);
        let vals = &vals[s..e];
        add_rows::<FMA>(acc, &at[s..e], |i| vals[i], g);
    }
}
