//! Products with a mostly-zero `A` (`[rows, in]`): the work scales with its non-zeros.
//! Each non-zero adds a scaled row of a `[*, out]` matrix into an output row; four at a
//! time, so that an output row is read and written once per four non-zeros.

/// `x * y + acc`: one fused multiply-add in the AVX2+FMA build of these loops, a
/// multiply and an add elsewhere (where `mul_add` would be a library call).
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(x: f32, y: f32, acc: f32) -> f32 {
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

/// The non-zeros of a row-major `[rows, width]` matrix, row by row: row `r`'s positions
/// (within the row) are `at[start[r]..start[r + 1]]`.
pub struct NonZeros {
    width: usize,
    start: Vec<usize>,
    at: Vec<u32>,
}

impl NonZeros {
    /// The non-zeros of `a` (rows of `width`), or `None` as soon as there are more than
    /// `most` (a dense input is not scanned to its end). One pass, four values at a time:
    /// a 4-bit mask of the non-zeros (one SIMD compare where there is SIMD) picks their
    /// positions from a table, stored four at once. The per-value loop this replaced took
    /// 50-70 µs for A's `[256, 128]` in the page's module (V8) against 5-10 µs now, and a
    /// dense layer scans its input twice per step (forward and weight gradient).
    pub fn of(a: &[f32], width: usize, most: usize) -> Option<Self> {
        assert!(width > 0 && a.len().is_multiple_of(width), "non-zeros: {} values in rows of {width}", a.len());
        let mut start = Vec::with_capacity(a.len() / width + 1);
        start.push(0);
        // Four positions are stored at a time, at `n`; `n` never passes the values scanned,
        // so the four slots stay within one per value.
        let mut at: Vec<u32> = Vec::with_capacity(a.len());
        let out = at.spare_capacity_mut();
        let mut n = 0;
        for row in a.chunks_exact(width) {
            let mut chunks = row.chunks_exact(4);
            for (j, c) in (&mut chunks).enumerate() {
                // Without a branch on the mask (spikes make it unpredictable).
                let m = mask4(c.try_into().expect("chunks of 4"));
                let (base, picks) = (4 * j as u32, &PICKS[m]);
                for (slot, &p) in out[n..n + 4].iter_mut().zip(picks) {
                    slot.write(base + p);
                }
                n += m.count_ones() as usize;
            }
            let done = row.len() - chunks.remainder().len();
            for (j, &v) in chunks.remainder().iter().enumerate() {
                out[n].write((done + j) as u32);
                n += (v != 0.0) as usize;
            }
            if n > most {
                return None;
            }
            start.push(n);
        }
        // SAFETY: every slot below n was written above (a group's first `count_ones` slots
        // are its positions; the slots past them are overwritten or left beyond n).
        unsafe { at.set_len(n) };
        Some(Self { width, start, at })
    }

    /// How many non-zeros.
    pub fn count(&self) -> usize {
        self.at.len()
    }

    /// How many rows.
    fn rows(&self) -> usize {
        self.start.len() - 1
    }

    /// Row `r`'s positions, ascending.
    fn row(&self, r: usize) -> &[u32] {
        &self.at[self.start[r]..self.start[r + 1]]
    }
}

/// For each 4-bit mask, the positions of its set bits, ascending (then zeros).
static PICKS: [[u32; 4]; 16] = {
    let mut t = [[0u32; 4]; 16];
    let mut m = 0;
    while m < 16 {
        let (mut n, mut b) = (0, 0);
        while b < 4 {
            if m & (1 << b) != 0 {
                t[m][n] = b as u32;
                n += 1;
            }
            b += 1;
        }
        m += 1;
    }
    t
};

/// Bit `q` set where `c[q] != 0.0` (as in Rust: NaN is non-zero, -0.0 is zero).
#[inline(always)]
fn mask4(c: &[f32; 4]) -> usize {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        // SAFETY: `c` is four f32, 16 readable bytes (v128_load needs no alignment).
        let v = unsafe { v128_load(c.as_ptr() as *const v128) };
        i32x4_bitmask(f32x4_ne(v, f32x4_splat(0.0))) as usize
    }
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86-64; `c` is four f32 (an unaligned load).
        unsafe { _mm_movemask_ps(_mm_cmpneq_ps(_mm_loadu_ps(c.as_ptr()), _mm_setzero_ps())) as usize }
    }
    #[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
    {
        c.iter().enumerate().fold(0, |m, (q, &v)| m | ((v != 0.0) as usize) << q)
    }
}

/// Whether this CPU runs the AVX2+FMA build of the loops (x86-64 only; the crate is
/// built for the baseline x86-64, so the compiler may use them only where asked).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_fma() -> bool {
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
        if $crate::dense::sparse::avx2_fma() {
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
pub(crate) use dispatch;

/// `y [rows, out] += A [rows, in] W^T`, with `wt` = `W^T` as `[in, out]` and `nz` the
/// non-zeros of `A`.
pub fn rows_times(y: &mut [f32], a: &[f32], nz: &NonZeros, wt: &[f32], fan_out: usize) {
    let fan_in = nz.width;
    assert!(a.len() == nz.rows() * fan_in && y.len() == nz.rows() * fan_out, "sparse rows: non-zeros of another shape");
    par_rows(y, fan_out, nz.count() * fan_out, |y, r0| dispatch!(rows(y: &mut [f32], r0: usize, a: &[f32], nz: &NonZeros, wt: &[f32], fan_in: usize, fan_out: usize)));
}

#[inline(always)]
fn rows<const FMA: bool>(y: &mut [f32], r0: usize, a: &[f32], nz: &NonZeros, wt: &[f32], fan_in: usize, fan_out: usize) {
    for (i, yr) in y.chunks_exact_mut(fan_out).enumerate() {
        let (idx, ar) = (nz.row(r0 + i), &a[(r0 + i) * fan_in..][..fan_in]);
        add_rows::<FMA>(yr, idx, |j| ar[idx[j] as usize], wt);
    }
}

/// `A^T [in, rows] G [rows, out]` as `[in, out]`: the non-zeros of each column of `A`
/// (gathered by a counting pass) scale rows of `G`.
pub fn columns_times(a: &[f32], nz: &NonZeros, g: &[f32], fan_out: usize) -> Vec<f32> {
    let fan_in = nz.width;
    assert!(a.len() == nz.rows() * fan_in && g.len() == nz.rows() * fan_out, "sparse columns: non-zeros of another shape");
    // The non-zeros by column, from those by row: column k's are at[start[k]..start[k + 1]]
    // (their rows) with values vals[..].
    let mut start = vec![0usize; fan_in + 1];
    for &k in &nz.at {
        start[k as usize + 1] += 1;
    }
    for k in 0..fan_in {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let (mut at, mut vals) = (vec![0u32; nz.count()], vec![0f32; nz.count()]);
    for (r, ar) in a.chunks_exact(fan_in).enumerate() {
        for &k in nz.row(r) {
            let k = k as usize;
            at[fill[k]] = r as u32;
            vals[fill[k]] = ar[k];
            fill[k] += 1;
        }
    }
    let mut out = vec![0f32; fan_in * fan_out];
    par_rows(&mut out, fan_out, nz.count() * fan_out, |out, k0| {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a plain filter, row by row, for widths 1-13 (groups of four and tails of 0-3),
    /// with empty and full rows, -0.0 (a zero) and NaN (a non-zero); and the early `None`.
    #[test]
    fn non_zeros_are_found_in_order_row_by_row() {
        for width in 1..=13usize {
            let rows = 7;
            let value = |i: usize| match (i * 7 + i / width) % 11 {
                0 | 5 => 1.0,
                3 => -0.0,
                8 => f32::NAN,
                9 => -2.5,
                _ => 0.0,
            };
            let mut a: Vec<f32> = (0..rows * width).map(value).collect();
            a[..width].fill(0.0); // an empty row
            a[width..2 * width].fill(0.75); // a full one
            let want: Vec<Vec<u32>> = a.chunks(width).map(|r| (0..width as u32).filter(|&k| r[k as usize] != 0.0).collect()).collect();
            let total: usize = want.iter().map(Vec::len).sum();
            let nz = NonZeros::of(&a, width, total).expect("within the limit");
            assert_eq!(nz.count(), total, "width {width}");
            for (r, w) in want.iter().enumerate() {
                assert_eq!(nz.row(r), w.as_slice(), "width {width}, row {r}");
            }
            assert!(NonZeros::of(&a, width, total - 1).is_none(), "width {width}: over the limit");
        }
    }
}
