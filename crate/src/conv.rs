//! A 3x3 convolution (padding 1, stride 1) with its bias as one CPU op over all `T x B`
//! frames at once (issue 19): `[T, B, C, H, W]` -> `[T, B, C', H, W]`.
//!
//! Why not candle's `conv2d`: profiling config E (docs/BENCHMARKS.md, sixth round) put ~60 %
//! of a step in candle's convolution plumbing and a twentieth in products. Its forward gathers
//! patches value by value into a freshly zeroed buffer per tile; its backward computes the
//! weight gradient as another `conv2d` whose kernel is the whole output gradient (an im2col of
//! a 14x14 "kernel") and the input gradient as a direct `conv_transpose2d`, an 8-long dot
//! product per output pixel. Here the three are one patch matrix and three products:
//!
//! - `cols` `[C * 9, F * H * W]` (row `(c, ky, kx)`, column `(frame, y, x)`), for a chunk of
//!   F frames at a time (about 1 MiB, so it stays in cache), is built by copying shifted runs
//!   of each input row (no per-value index arithmetic);
//! - forward `Y = W cols` (`[C', F H W]`, then each frame's rows moved to `[N, C', H, W]` with
//!   the bias added on the way);
//! - weight gradient `dW^T = cols dY^T`; input gradient `dcols = W^T dY`, folded back onto the
//!   input by adding the same shifted runs (col2im).
//!
//! The products are the dense layer's (`crate::dense::product`: `gemm` natively, the
//! relaxed-SIMD kernel in the page's second module). Inputs that are mostly zero (a hidden
//! layer's spikes, or their normalized trace) take the event-driven path instead
//! ([`sparse`]): every non-zero input adds its `3 x 3 x C'` kernel slice to the output, the
//! way neuromorphic hardware scatters an event, and the weight gradient walks the same
//! non-zeros. An input that is one frame repeated over `T` (a direct-encoded image) is
//! convolved once ([`conv3x3_repeated`]), like the dense layer's `dense_repeated`.
//!
//! Other devices take candle's `conv2d` (model/synapse.rs); the tests hold this op to it.

use std::ops::Range;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Storage, Tensor};

use crate::dense::product;
use crate::fused::slice;

pub mod pool;
mod sparse;
mod timing;

pub use timing::product_timings;

/// `y = conv3x3(a, W) + b` for `a`: `[T, B, C, H, W]`, `weight`: `[C', C, 3, 3]`, `bias`: `[C']`.
pub fn conv3x3(a: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    a.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, Conv::new(1))
}

/// [`conv3x3`] of an input that is the same at every one of `steps` steps, given as that one
/// step, `a1`: `[1, B, C, H, W]` -> `[steps, B, C', H, W]`: one convolution instead of
/// `steps`, and the backward sums the output's gradient over the steps first.
pub fn conv3x3_repeated(a1: &Tensor, weight: &Tensor, bias: &Tensor, steps: usize) -> Result<Tensor> {
    if a1.dims().first() != Some(&1) || steps == 0 {
        candle_core::bail!("conv3x3_repeated: one step of input, [1, B, C, H, W], for {steps} steps; got {:?}", a1.dims())
    }
    a1.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, Conv::new(steps))
}

/// The conv op; with `steps > 1` its input is one step, repeated over `steps`. The forward
/// keeps the input's events (if it took the event path) for the backward, which walks the
/// same ones: one scan of the input per training step instead of two.
struct Conv {
    steps: usize,
    events: std::sync::Mutex<Option<sparse::Events>>,
}

impl Conv {
    fn new(steps: usize) -> Self {
        Self { steps, events: std::sync::Mutex::new(None) }
    }
}

/// The sizes of one convolution: `frames` maps of `c_in x h x w` into `c_out` channels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub frames: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub h: usize,
    pub w: usize,
}

impl Dims {
    fn of(a: &Layout, w: &Layout) -> Result<Self> {
        let (ad, wd) = (a.dims(), w.dims());
        let r = ad.len();
        if r < 3 || wd.len() != 4 || wd[2..] != [3, 3] || ad[r - 3] != wd[1] {
            candle_core::bail!("conv3x3: input {ad:?} does not fit weight {wd:?} (expected [..., C, H, W] and [C', C, 3, 3])")
        }
        Ok(Self { frames: ad[..r - 3].iter().product(), c_in: wd[1], c_out: wd[0], h: ad[r - 2], w: ad[r - 1] })
    }

    pub fn hw(&self) -> usize {
        self.h * self.w
    }

    /// Columns of the patch matrix: every output position of every frame.
    pub fn positions(&self) -> usize {
        self.frames * self.hw()
    }

    /// Rows of the patch matrix: `c_in x 3 x 3`.
    pub fn taps(&self) -> usize {
        self.c_in * 9
    }
}

/// Frames per chunk of the patch matrix: about 1 MiB of patches (E2's 32-channel layer:
/// 4 frames), so the matrix stays in cache and its buffer is reused chunk after chunk. Whole,
/// E2's patch matrix and its gradient were 58 MB each per step, and zero-filling fresh pages
/// for them took a fifth of a step.
fn chunk_frames(d: &Dims) -> usize {
    ((1usize << 18) / (d.taps() * d.hw()).max(1)).max(1)
}

/// The frame ranges of [`chunk_frames`] frames each.
fn chunks(d: &Dims) -> impl Iterator<Item = Range<usize>> {
    let (step, frames) = (chunk_frames(d), d.frames);
    (0..frames).step_by(step).map(move |n| n..(n + step).min(frames))
}

/// Tap `(ky, kx)` as one contiguous run of a plane: output position `D = y W + x` reads input
/// position `D + (ky - 1) W + (kx - 1)`, for `D` in the returned range (the output rows whose
/// input row is inside the map). The run also pairs the padding column (`x = 0` for
/// `kx = 0`, `x = W - 1` for `kx = 2`) with the neighbouring row's edge value; callers zero
/// those positions ([`padding_column`]). One copy (or add) of ~H W values per tap and frame
/// instead of H runs of W: a copy of run-time length is a call in V8, and 13-long loops
/// were mostly loop overhead.
fn tap_run(ky: usize, kx: usize, d: &Dims) -> (std::ops::Range<usize>, isize) {
    let (h, w) = (d.h, d.w);
    let (y0, y1) = (1usize.saturating_sub(ky), (h + 1 - ky).min(h));
    let start = y0 * w + usize::from(kx == 0);
    let end = (y1 * w).saturating_sub(usize::from(kx == 2)).max(start);
    (start..end, (ky as isize - 1) * w as isize + kx as isize - 1)
}

/// The output positions of tap column `kx` that read the padding: column 0 for `kx = 0`,
/// column `W - 1` for `kx = 2`, none for `kx = 1`.
fn padding_column(kx: usize, d: &Dims) -> Option<usize> {
    match kx {
        0 => Some(0),
        2 => Some(d.w - 1),
        _ => None,
    }
}

/// The patch matrix `[C * 9, F * H * W]` of `x`'s (`[N, C, H, W]`) frames `frames` (F of
/// them) into `cols`: zero outside the image.
fn im2col(x: &[f32], d: &Dims, frames: Range<usize>, cols: &mut Vec<f32>) {
    let (hw, w) = (d.hw(), d.w);
    let positions = frames.len() * hw;
    cols.clear();
    cols.resize(d.taps() * positions, 0.0);
    for ci in 0..d.c_in {
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &mut cols[((ci * 3 + ky) * 3 + kx) * positions..][..positions];
                let (run, off) = tap_run(ky, kx, d);
                let src_start = (run.start as isize + off) as usize;
                for (f, n) in frames.clone().enumerate() {
                    let src = &x[(n * d.c_in + ci) * hw..][..hw];
                    let dst = &mut row[f * hw..][..hw];
                    if !run.is_empty() {
                        dst[run.clone()].copy_from_slice(&src[src_start..][..run.len()]);
                    }
                    if let Some(col) = padding_column(kx, d) {
                        for y in 0..d.h {
                            dst[y * w + col] = 0.0;
                        }
                    }
                }
            }
        }
    }
}

/// Adds the patch matrix's gradient of frames `frames` back onto the input values its
/// entries were copied from, in `dx` (`[N, C, H, W]`); the padding entries of `dcols` are
/// zeroed first (they belong to no input).
fn col2im(dcols: &mut [f32], d: &Dims, frames: Range<usize>, dx: &mut [f32]) {
    let (hw, w) = (d.hw(), d.w);
    let positions = frames.len() * hw;
    for ci in 0..d.c_in {
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &mut dcols[((ci * 3 + ky) * 3 + kx) * positions..][..positions];
                let (run, off) = tap_run(ky, kx, d);
                let dst_start = (run.start as isize + off) as usize;
                for (f, n) in frames.clone().enumerate() {
                    let src = &mut row[f * hw..][..hw];
                    if let Some(col) = padding_column(kx, d) {
                        for y in 0..d.h {
                            src[y * w + col] = 0.0;
                        }
                    }
                    if run.is_empty() {
                        continue;
                    }
                    let dst = &mut dx[(n * d.c_in + ci) * hw..][..hw];
                    for (o, &g) in dst[dst_start..][..run.len()].iter_mut().zip(&src[run.clone()]) {
                        *o += g;
                    }
                }
            }
        }
    }
}

/// Frames `frames` of `[C', F * HW]` (channel-major) into `out` (`[N, C', HW]`), adding
/// `bias[c]` to channel `c`.
fn to_frames(cm: &[f32], d: &Dims, frames: Range<usize>, bias: &[f32], out: &mut [f32]) {
    let hw = d.hw();
    let positions = frames.len() * hw;
    for (f, n) in frames.enumerate() {
        for (c, &b) in bias.iter().enumerate() {
            let src = &cm[c * positions + f * hw..][..hw];
            out[(n * d.c_out + c) * hw..][..hw].iter_mut().zip(src).for_each(|(o, &v)| *o = v + b);
        }
    }
}

/// Frames `frames` of `g` (`[N, C', HW]`) as `[C', F * HW]` into `cm`.
fn to_channels(g: &[f32], d: &Dims, frames: Range<usize>, cm: &mut Vec<f32>) {
    let hw = d.hw();
    let positions = frames.len() * hw;
    cm.resize(d.c_out * positions, 0.0);
    for (f, n) in frames.enumerate() {
        for c in 0..d.c_out {
            cm[c * positions + f * hw..][..hw].copy_from_slice(&g[(n * d.c_out + c) * hw..][..hw]);
        }
    }
}

/// The convolution's forward, `[N, C, H, W]` -> `[N, C', H, W]` with the bias, and the
/// input's events if the weight gradient is to take the event path (the forward may take it
/// at a lower share: [`sparse::shares`]).
pub(crate) fn forward(x: &[f32], w: &[f32], b: &[f32], d: &Dims) -> (Vec<f32>, Option<sparse::Events>) {
    let events = sparse::events(x, d);
    let y = match &events {
        Some(e) if sparse::for_forward(e, x.len(), d) => sparse::forward(e, w, b, d),
        _ => dense_forward(x, w, b, d),
    };
    // Kept for the backward where its weight gradient takes them.
    (y, events.filter(|e| sparse::for_gradient(e, x.len(), d)))
}

/// [`forward`] by the patch matrix, chunk by chunk of frames.
fn dense_forward(x: &[f32], w: &[f32], b: &[f32], d: &Dims) -> Vec<f32> {
    let taps = d.taps();
    let mut out = vec![0f32; d.frames * d.c_out * d.hw()];
    let (mut cols, mut cm) = (Vec::new(), Vec::new());
    for frames in chunks(d) {
        let positions = frames.len() * d.hw();
        im2col(x, d, frames.clone(), &mut cols);
        cm.resize(d.c_out * positions, 0.0);
        // Y [C', F HW] = W [C', C 9] cols [C 9, F HW].
        product(&mut cm, false, (d.c_out, positions, taps), w, (taps, 1), &cols, (positions, 1));
        to_frames(&cm, d, frames, b, &mut out);
    }
    out
}

/// The weight's, the bias's and (with `input_gradient`) the input's gradients from the
/// output gradient `g` (`[N, C', H, W]`); with the input's `events` the weight gradient
/// takes the event path.
pub(crate) fn backward(x: &[f32], w: &[f32], g: &[f32], d: &Dims, events: Option<&sparse::Events>, input_gradient: bool) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
    let (taps, hw) = (d.taps(), d.hw());
    // db: the sum of each channel's gradient: a plane's in f32 (eight running sums, which
    // the compiler keeps in one vector), the planes' in f64.
    let mut db = vec![0f64; d.c_out];
    for (i, frame) in g.chunks_exact(hw).enumerate() {
        let mut lanes = [0f32; 8];
        let mut runs = frame.chunks_exact(8);
        for run in &mut runs {
            lanes.iter_mut().zip(run).for_each(|(s, &v)| *s += v);
        }
        let tail: f32 = runs.remainder().iter().sum();
        db[i % d.c_out] += lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64;
    }
    let db = db.into_iter().map(|v| v as f32).collect();
    let mut dwt = vec![0f32; taps * d.c_out];
    let mut dx = input_gradient.then(|| vec![0f32; x.len()]);
    let (mut cols, mut gcm, mut dcols) = (Vec::new(), Vec::new(), Vec::new());
    for frames in chunks(d) {
        if events.is_some() && dx.is_none() {
            break;
        }
        let positions = frames.len() * hw;
        to_channels(g, d, frames.clone(), &mut gcm);
        if events.is_none() {
            // dW^T [C 9, C'] += cols [C 9, F HW] dY^T [F HW, C'] (the transposed operand is
            // the small gradient, not the patch matrix: the page's kernel copies it row-major).
            im2col(x, d, frames.clone(), &mut cols);
            product(&mut dwt, frames.start > 0, (taps, d.c_out, positions), &cols, (positions, 1), &gcm, (1, positions));
        }
        if let Some(dx) = dx.as_mut() {
            // dcols [C 9, F HW] = W^T [C 9, C'] dY [C', F HW], folded back onto the input.
            dcols.resize(taps * positions, 0.0);
            product(&mut dcols, false, (taps, positions, d.c_out), w, (1, taps), &gcm, (positions, 1));
            col2im(&mut dcols, d, frames, dx);
        }
    }
    let dw = match events {
        Some(events) => sparse::weight_gradient(events, g, d),
        None => (0..d.c_out).flat_map(|c| (0..taps).map(move |k| (c, k))).map(|(c, k)| dwt[k * d.c_out + c]).collect(),
    };
    (dw, db, dx)
}

impl CustomOp3 for Conv {
    fn name(&self) -> &'static str {
        "conv3x3"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, w, b) = (slice("conv3x3", s1, l1)?, slice("conv3x3", s2, l2)?, slice("conv3x3", s3, l3)?);
        let d = Dims::of(l1, l2)?;
        if b.len() != d.c_out {
            candle_core::bail!("conv3x3: a bias of {} for {} channels", b.len(), d.c_out)
        }
        let (mut y, events) = forward(a, w, b, &d);
        *self.events.lock().expect("conv events") = events;
        let mut dims = l1.dims().to_vec();
        let r = dims.len();
        dims[r - 3] = d.c_out;
        if self.steps > 1 {
            y = y.repeat(self.steps);
            dims[0] = self.steps;
        }
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(&self, a: &Tensor, w: &Tensor, _b: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let d = Dims::of(a.layout(), w.layout())?;
        let (dw, db, da) = {
            let (sa, la) = a.storage_and_layout();
            let (sw, lw) = w.storage_and_layout();
            let (sg, lg) = grad.storage_and_layout();
            let (Storage::Cpu(sa), Storage::Cpu(sw), Storage::Cpu(sg)) = (&*sa, &*sw, &*sg) else {
                candle_core::bail!("conv3x3: CPU tensors only")
            };
            let (x, w, g) = (slice("conv3x3", sa, la)?, slice("conv3x3", sw, lw)?, slice("conv3x3", sg, lg)?);
            let one = d.frames * d.c_out * d.hw();
            if g.len() != self.steps * one {
                candle_core::bail!("conv3x3: a gradient of {} values for {} x {one}", g.len(), self.steps)
            }
            // A repeated input's output gradient, summed over the steps.
            let g = crate::fused::sum_steps(g, one);
            // No input gradient for the first layer, whose input (the encoded data) needs none.
            let events = self.events.lock().expect("conv events").take();
            backward(x, w, &g, &d, events.as_ref(), a.track_op())
        };
        let device = a.device();
        Ok((
            da.map(|da| Tensor::from_vec(da, a.shape(), device)).transpose()?,
            Some(Tensor::from_vec(dw, w.shape(), device)?),
            Some(Tensor::from_vec(db, d.c_out, device)?),
        ))
    }
}

#[cfg(test)]
mod tests;
