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

/// When the event-driven path beats the patch matrix: at most this share of non-zero inputs
/// (measured, docs/BENCHMARKS.md sixth round: `spikeplay bench --conv-products` and
/// `node scripts/bench-wasm.mjs --conv-products`). `SPIKEPLAY_CONV_SPARSE_MAX` overrides it
/// natively (0 turns the event path off).
const SPARSE_MAX: f32 = if cfg!(target_arch = "wasm32") { 0.3 } else { 0.3 };

#[cfg(target_arch = "wasm32")]
fn sparse_max() -> f32 {
    SPARSE_MAX
}

#[cfg(not(target_arch = "wasm32"))]
fn sparse_max() -> f32 {
    static MAX: std::sync::OnceLock<f32> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| std::env::var("SPIKEPLAY_CONV_SPARSE_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(SPARSE_MAX))
}

/// The non-zero values of an `[N, C, H, W]` input, plane by plane (`frame x channel`).
pub(crate) struct Events {
    /// Position in its plane (`y W + x`) and value of each event.
    at: Vec<(u32, f32)>,
    /// Where each plane's events start in `at` (`N C + 1` entries).
    starts: Vec<usize>,
}

#[cfg(test)]
impl Events {
    pub fn count(&self) -> usize {
        self.at.len()
    }
}

/// The events of `x` if there are few enough for the event path, else `None`.
pub(crate) fn events(x: &[f32], d: &Dims) -> Option<Events> {
    events_below(x, d, sparse_max())
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

/// Frame `n`'s accumulator (`[HW, C']`) += each of its events' value times the kernel
/// slices it reaches.
#[inline(always)]
fn scatter<const FMA: bool>(events: &Events, n: usize, wt: &[f32], acc: &mut [f32], d: &Dims) {
    let (co, w) = (d.c_out, d.w);
    for ci in 0..d.c_in {
        let plane = n * d.c_in + ci;
        for &(p, v) in &events.at[events.starts[plane]..events.starts[plane + 1]] {
            let (iy, ix) = (p as usize / w, p as usize % w);
            let (rows, x0, tap0, len) = reach(iy, ix, d);
            for ky in rows {
                let y = iy + 1 - ky;
                axpy::<FMA>(&mut acc[(y * w + x0) * co..][..len * co], v, &wt[((ci * 3 + ky) * 3 + tap0) * co..][..len * co]);
            }
        }
    }
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
    let (co, w) = (d.c_out, d.w);
    for ci in 0..d.c_in {
        let plane = n * d.c_in + ci;
        for &(p, v) in &events.at[events.starts[plane]..events.starts[plane + 1]] {
            let (iy, ix) = (p as usize / w, p as usize % w);
            let (rows, x0, tap0, len) = reach(iy, ix, d);
            for ky in rows {
                let y = iy + 1 - ky;
                axpy::<FMA>(&mut dwt[((ci * 3 + ky) * 3 + tap0) * co..][..len * co], v, &gt[(y * w + x0) * co..][..len * co]);
            }
        }
    }
}
