//! The event-driven convolution: for inputs that are mostly zero (a hidden layer's spikes,
//! binary, or their normalized trace), every non-zero input value is an event that adds its
//! `3 x 3 x C'` kernel slice, scaled by the value, to the output positions it reaches: the
//! scatter a neuromorphic chip does. The work is `events x 9 x C'` multiply-adds instead of
//! the dense path's `positions x C 9 x C'` and its patch matrix. The weight gradient walks the
//! same events, gathering the output gradient where each one landed.
//!
//! The accumulators are position-major (`[N H W, C']`, a position's channels side by side), so
//! each event's nine updates are contiguous `C'`-long rows, which the compiler vectorizes.

use super::Dims;

/// When the event-driven path beats the patch matrix: at most these shares of non-zero
/// inputs, `(forward, weight gradient)`, measured per output width (docs/BENCHMARKS.md sixth
/// round: `spikeplay bench --products`, `node scripts/bench-wasm.mjs --in chromium
/// --products`). Each event adds a `3 C'`-long run per kernel row, so the more output
/// channels, the longer the vectors and the later the patch matrix catches up: natively at
/// 4 channels (F) about 9 % forward and 16 % for the gradient, at 8 (E) 12 % and 20 %, at 32
/// (E2) about 30 % for both. In the page's relaxed-SIMD module the products are slower
/// (4 lanes), so the events win up to 30 % forward and 20 % for the gradient at every
/// width. `SPIKEPLAY_CONV_SPARSE_MAX` overrides both natively (0 turns the event path off).
pub(crate) fn shares(c_out: usize) -> (f32, f32) {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(max) = forced_max() {
        return (max, max);
    }
    if cfg!(target_arch = "wasm32") {
        return (0.3, 0.2);
    }
    match c_out {
        0..=4 => (0.09, 0.16),
        5..=8 => (0.12, 0.2),
        9..=16 => (0.2, 0.25),
        _ => (0.3, 0.28),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn forced_max() -> Option<f32> {
    static MAX: std::sync::OnceLock<Option<f32>> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| std::env::var("SPIKEPLAY_CONV_SPARSE_MAX").ok().and_then(|v| v.parse().ok()))
}

/// The non-zero values of an `[N, C, H, W]` input, plane by plane (`frame x channel`).
pub(crate) struct Events {
    /// Position in its plane (`y W + x`) and value of each event.
    at: Vec<(u32, f32)>,
    /// Where each plane's events start in `at` (`N C + 1` entries).
    starts: Vec<usize>,
}

impl Events {
    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.at.len()
    }
}

/// The events of `x` if there are few enough for the event path in the forward or in the
/// weight gradient ([`shares`]), else `None`.
pub(crate) fn events(x: &[f32], d: &Dims) -> Option<Events> {
    let (forward, gradient) = shares(d.c_out);
    events_below(x, d, forward.max(gradient))
}

/// Whether `events` (of an input of `len` values) are few enough for the forward's event
/// path; else the forward takes the patch matrix and only the weight gradient the events.
pub(crate) fn for_forward(events: &Events, len: usize, d: &Dims) -> bool {
    events.at.len() as f32 <= shares(d.c_out).0 * len as f32
}

/// Whether `events` are few enough for the weight gradient's event path.
pub(crate) fn for_gradient(events: &Events, len: usize, d: &Dims) -> bool {
    events.at.len() as f32 <= shares(d.c_out).1 * len as f32
}

/// The events of `x` if at most `share` of its values are non-zero.
pub(crate) fn events_below(x: &[f32], d: &Dims, share: f32) -> Option<Events> {
    if share <= 0.0 || x.is_empty() {
        return None;
    }
    let most = (share * x.len() as f32) as usize;
    let hw = d.hw();
    // Every value is written and the count advances past the non-zero ones (no branch per
    // value, which mispredicted on spikes); a plane can add at most `hw` past `most`.
    let mut at: Vec<(u32, f32)> = Vec::with_capacity(most + hw);
    let mut starts = Vec::with_capacity(x.len() / hw.max(1) + 1);
    let mut len = 0;
    for plane in x.chunks_exact(hw) {
        starts.push(len);
        let spare = &mut at.spare_capacity_mut()[len..len + hw];
        let mut k = 0;
        for (p, &v) in plane.iter().enumerate() {
            spare[k].write((p as u32, v));
            k += (v != 0.0) as usize;
        }
        len += k;
        if len > most {
            return None;
        }
    }
    // SAFETY: entries 0..len were written above (each plane's first k of its hw slots).
    unsafe { at.set_len(len) };
    starts.push(len);
    Some(Events { at, starts })
}

/// `w` `[C', C, 3, 3]` as `[C, 3, 3, C']` with each kernel row reversed (`kx` = 2, 1, 0): an
/// event at column `ix` reaches output columns `ix - 1, ix, ix + 1` through `kx` = 2, 1, 0,
/// so one kernel row's three taps are one run of `3 C'` weights, added onto one run of three
/// neighbouring positions' channels.
fn taps_major(w: &[f32], d: &Dims) -> Vec<f32> {
    let co = d.c_out;
    let mut out = vec![0f32; w.len()];
    for c in 0..co {
        for ci in 0..d.c_in {
            for ky in 0..3 {
                for kx in 0..3 {
                    out[((ci * 3 + ky) * 3 + 2 - kx) * co + c] = w[((c * d.c_in + ci) * 3 + ky) * 3 + kx];
                }
            }
        }
    }
    out
}

/// The kernel rows and columns an event at `(iy, ix)` reaches, as `(ky range, first column
/// of the run, first reversed tap, run length)`: output row `iy + 1 - ky` for each `ky`, output
/// columns `ix - 1 ..= ix + 1` clipped to the map.
#[inline(always)]
fn reach(iy: usize, ix: usize, d: &Dims) -> (std::ops::Range<usize>, usize, usize, usize) {
    let rows = (iy + 2).saturating_sub(d.h)..(iy + 2).min(3);
    let (x0, x1) = (ix.saturating_sub(1), (ix + 2).min(d.w));
    (rows, x0, x0 + 1 - ix, x1 - x0)
}

/// `acc += v x`, elementwise (`x` as long as `acc`): fused multiply-adds natively with
/// AVX2+FMA, `relaxed_madd` four lanes at a time in the page's relaxed-SIMD module (the
/// CPU's FMA there too), a multiply and an add elsewhere.
#[inline(always)]
fn axpy<const FMA: bool>(acc: &mut [f32], v: f32, x: &[f32]) {
    assert_eq!(acc.len(), x.len(), "axpy: lengths");
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    {
        use core::arch::wasm32::*;
        let (n, s) = (acc.len(), f32x4_splat(v));
        let full = n - n % 4;
        for o in (0..full).step_by(4) {
            // SAFETY: o + 4 <= n, and both slices hold n values.
            unsafe {
                let a = v128_load(acc.as_ptr().add(o) as *const v128);
                let b = v128_load(x.as_ptr().add(o) as *const v128);
                v128_store(acc.as_mut_ptr().add(o) as *mut v128, f32x4_relaxed_madd(s, b, a));
            }
        }
        for o in full..n {
            acc[o] += v * x[o];
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
    for (o, &k) in acc.iter_mut().zip(x) {
        *o = crate::dense::sparse::madd::<FMA>(v, k, *o);
    }
}

/// The forward by scatter: `[N, C', H, W]` with the bias. Frame by frame: a frame's
/// position-major accumulator (`[HW, C']`, 25 KiB for E2's 32 channels at 14x14) stays in
/// cache while its events land and while it is turned channel-major into the output.
pub(crate) fn forward(events: &Events, w: &[f32], b: &[f32], d: &Dims) -> Vec<f32> {
    let (hw, co) = (d.hw(), d.c_out);
    let wt = taps_major(w, d);
    let mut out = vec![0f32; d.positions() * co];
    let mut acc = vec![0f32; hw * co];
    for (n, dst) in out.chunks_exact_mut(hw * co).enumerate() {
        acc.fill(0.0);
        scatter_dispatch(events, n, &wt, &mut acc, d);
        crate::dense::transpose_into(&acc, hw, co, dst);
        for (plane, &bias) in dst.chunks_exact_mut(hw).zip(b) {
            plane.iter_mut().for_each(|v| *v += bias);
        }
    }
    out
}

fn scatter_dispatch(events: &Events, n: usize, wt: &[f32], acc: &mut [f32], d: &Dims) {
    crate::dense::sparse::dispatch!(scatter(events: &Events, n: usize, wt: &[f32], acc: &mut [f32], d: &Dims))
}

/// Every event of frame `n` with what it reaches: `f(v, position run, tap run)`, offsets of
/// `len * C'` values into a frame's `[HW, C']` map and into the reversed taps-major kernel.
/// The forward and the weight gradient walk the same events, in opposite directions.
#[inline(always)]
fn walk(events: &Events, n: usize, d: &Dims, mut f: impl FnMut(f32, usize, usize, usize)) {
    let (co, w) = (d.c_out, d.w);
    for ci in 0..d.c_in {
        let plane = n * d.c_in + ci;
        for &(p, v) in &events.at[events.starts[plane]..events.starts[plane + 1]] {
            let (iy, ix) = (p as usize / w, p as usize % w);
            let (rows, x0, tap0, len) = reach(iy, ix, d);
            for ky in rows {
                f(v, ((iy + 1 - ky) * w + x0) * co, ((ci * 3 + ky) * 3 + tap0) * co, len * co);
            }
        }
    }
}

/// Frame `n`'s accumulator (`[HW, C']`) += each of its events' value times the kernel
/// slices it reaches.
#[inline(always)]
fn scatter<const FMA: bool>(events: &Events, n: usize, wt: &[f32], acc: &mut [f32], d: &Dims) {
    walk(events, n, d, |v, at, tap, len| axpy::<FMA>(&mut acc[at..][..len], v, &wt[tap..][..len]));
}

/// The weight gradient `[C', C, 3, 3]` by walking the events: each adds its value times the
/// output gradient at every position it reached (frame by frame, the frame's gradient
/// turned position-major in a cached buffer).
pub(crate) fn weight_gradient(events: &Events, g: &[f32], d: &Dims) -> Vec<f32> {
    let (hw, co) = (d.hw(), d.c_out);
    let mut gt = vec![0f32; hw * co];
    let mut dwt = vec![0f32; d.taps() * co];
    for (n, frame) in g.chunks_exact(hw * co).enumerate() {
        crate::dense::transpose_into(frame, co, hw, &mut gt);
        gather_dispatch(events, n, &gt, &mut dwt, d);
    }
    // Back from reversed taps-major to [C', C, 3, 3].
    let mut dw = vec![0f32; dwt.len()];
    for c in 0..co {
        for ci in 0..d.c_in {
            for ky in 0..3 {
                for kx in 0..3 {
                    dw[((c * d.c_in + ci) * 3 + ky) * 3 + kx] = dwt[((ci * 3 + ky) * 3 + 2 - kx) * co + c];
                }
            }
        }
    }
    dw
}

fn gather_dispatch(events: &Events, n: usize, gt: &[f32], dwt: &mut [f32], d: &Dims) {
    crate::dense::sparse::dispatch!(gather(events: &Events, n: usize, gt: &[f32], dwt: &mut [f32], d: &Dims))
}

/// `dwt` (reversed taps-major) += each of frame `n`'s events' value times the gradient
/// (`gt`, the frame's, position-major) where it landed.
#[inline(always)]
fn gather<const FMA: bool>(events: &Events, n: usize, gt: &[f32], dwt: &mut [f32], d: &Dims) {
    walk(events, n, d, |v, at, tap, len| axpy::<FMA>(&mut dwt[tap..][..len], v, &gt[at..][..len]));
}
