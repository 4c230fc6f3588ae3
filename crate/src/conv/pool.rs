//! 2x2 pooling with stride 2 on `[..., H, W]` maps, max and average, each one CPU op with
//! its backward (issue 19), and the same pooling from candle's ops for other devices.
//!
//! The output is `floor(H / 2) x floor(W / 2)`; an odd last row or column is dropped, as
//! PyTorch's and candle's pools do. The max pool's gradient goes to the window's first
//! maximum (row by row), PyTorch's rule: spikes tie often (a window of four zeros, or of two
//! spikes), and a gradient copied to every tied input would count one output several times.
//!
//! Why not candle's `max_pool2d` and `avg_pool2d`: besides their cost (the max pool's
//! backward is an upsample, a comparison, an average pool, a second upsample and two
//! products), their backward is not the forward's gradient here. The max pool gives a unique
//! maximum a quarter of the output's gradient (candle 0.11.1, backprop.rs: `grad * avg(mask)
//! * mask`, where `avg(mask)` is 1/4 for one maximum), and on odd sizes both pools upsample
//! the gradient with nearest-neighbour indices (`floor(i * 3 / 7)` for 7 -> 3) that do not
//! line up with the windows: config E pools a 7x7 map. The tests check the ops below against
//! central differences, and the candle-op version against them.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Storage, Tensor, D};

use crate::fused::{self, slice};

/// 2x2 max pooling (`avg` false) or average pooling of the last two axes.
pub fn pool2(xs: &Tensor, avg: bool) -> Result<Tensor> {
    if fused::enabled(xs.device()) {
        xs.contiguous()?.apply_op1(Pool { avg })
    } else {
        pool2_candle(xs, avg)
    }
}

/// [`pool2`] from candle's ops (the path of other devices): the windows as a last axis of 4,
/// their mean, or the value at the first maximum picked by a one-hot mask (so the gradient
/// reaches that input alone).
pub fn pool2_candle(xs: &Tensor, avg: bool) -> Result<Tensor> {
    let dims = xs.dims().to_vec();
    let r = dims.len();
    if r < 2 || dims[r - 2] < 2 || dims[r - 1] < 2 {
        candle_core::bail!("pool2: a map of at least 2x2, got {dims:?}")
    }
    let (ho, wo) = (dims[r - 2] / 2, dims[r - 1] / 2);
    let planes: usize = dims[..r - 2].iter().product();
    let windows = xs
        .narrow(r - 2, 0, 2 * ho)?
        .narrow(r - 1, 0, 2 * wo)?
        .reshape((planes, ho, 2, wo, 2))?
        .permute((0, 1, 3, 2, 4))?
        .reshape((planes, ho, wo, 4))?;
    let y = if avg {
        windows.mean(D::Minus1)?
    } else {
        let first = windows.argmax_keepdim(D::Minus1)?;
        let slots = Tensor::arange(0u32, 4, xs.device())?.reshape((1, 1, 1, 4))?;
        let mask = first.broadcast_eq(&slots)?.to_dtype(xs.dtype())?;
        (windows * mask)?.sum(D::Minus1)?
    };
    let mut out = dims;
    out[r - 2] = ho;
    out[r - 1] = wo;
    y.reshape(out)
}

struct Pool {
    avg: bool,
}

/// `(planes, h, w)` of a map and its pooled `(ho, wo)`.
fn sizes(l: &Layout) -> Result<(usize, usize, usize, usize, usize)> {
    let d = l.dims();
    let r = d.len();
    if r < 2 || d[r - 2] < 2 || d[r - 1] < 2 {
        candle_core::bail!("pool2: a map of at least 2x2, got {d:?}")
    }
    let (h, w) = (d[r - 2], d[r - 1]);
    Ok((l.shape().elem_count() / (h * w), h, w, h / 2, w / 2))
}

/// The slot (0-3, row by row) of the first maximum of window `[a, b; c, d]`.
#[inline(always)]
fn first_max(a: f32, b: f32, c: f32, d: f32) -> usize {
    let (mut best, mut v) = (0, a);
    for (k, x) in [(1, b), (2, c), (3, d)] {
        if x > v {
            (best, v) = (k, x);
        }
    }
    best
}

/// Pools one plane (`h x w`, row-major) into `out`, pushing `ho x wo` values.
fn pool_plane(plane: &[f32], w: usize, ho: usize, wo: usize, avg: bool, out: &mut Vec<f32>) {
    for i in 0..ho {
        let (r0, r1) = (&plane[2 * i * w..][..2 * wo], &plane[(2 * i + 1) * w..][..2 * wo]);
        let pairs = r0.chunks_exact(2).zip(r1.chunks_exact(2));
        if avg {
            out.extend(pairs.map(|(p, q)| (p[0] + p[1] + q[0] + q[1]) * 0.25));
        } else {
            out.extend(pairs.map(|(p, q)| [p[0], p[1], q[0], q[1]][first_max(p[0], p[1], q[0], q[1])]));
        }
    }
}

/// The input gradient of one plane into `dx` (zeros): the window's share (average) or its
/// first maximum's gradient (max); zero in a row or column no window covers.
fn unpool_plane(plane: &[f32], g: &[f32], (w, ho, wo): (usize, usize, usize), avg: bool, dx: &mut [f32]) {
    for i in 0..ho {
        let (r0, r1) = (&plane[2 * i * w..][..2 * wo], &plane[(2 * i + 1) * w..][..2 * wo]);
        let (top, bottom) = dx[2 * i * w..].split_at_mut(w);
        let (d0, d1) = (&mut top[..2 * wo], &mut bottom[..2 * wo]);
        for (j, &v) in g[i * wo..][..wo].iter().enumerate() {
            let (a, b) = (2 * j, 2 * j + 1);
            if avg {
                let q = v * 0.25;
                (d0[a], d0[b], d1[a], d1[b]) = (q, q, q, q);
            } else {
                match first_max(r0[a], r0[b], r1[a], r1[b]) {
                    0 => d0[a] = v,
                    1 => d0[b] = v,
                    2 => d1[a] = v,
                    _ => d1[b] = v,
                }
            }
        }
    }
}

impl CustomOp1 for Pool {
    fn name(&self) -> &'static str {
        if self.avg {
            "avg_pool2"
        } else {
            "max_pool2"
        }
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice("pool2", s, l)?;
        let (planes, h, w, ho, wo) = sizes(l)?;
        let mut y = Vec::with_capacity(planes * ho * wo);
        for plane in x.chunks_exact(h * w) {
            pool_plane(plane, w, ho, wo, self.avg, &mut y);
        }
        let mut dims = l.dims().to_vec();
        let r = dims.len();
        dims[r - 2] = ho;
        dims[r - 1] = wo;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        let (planes, h, w, ho, wo) = sizes(arg.layout())?;
        let dx = {
            let (sa, la) = arg.storage_and_layout();
            let (sg, lg) = grad.storage_and_layout();
            let (Storage::Cpu(sa), Storage::Cpu(sg)) = (&*sa, &*sg) else { candle_core::bail!("pool2: CPU tensors only") };
            let (x, g) = (slice("pool2", sa, la)?, slice("pool2", sg, lg)?);
            if g.len() != planes * ho * wo {
                candle_core::bail!("pool2: a gradient of {} values for {planes} x {ho} x {wo}", g.len())
            }
            let mut dx = vec![0f32; planes * h * w];
            for ((plane, gp), dp) in x.chunks_exact(h * w).zip(g.chunks_exact(ho * wo)).zip(dx.chunks_exact_mut(h * w)) {
                unpool_plane(plane, gp, (w, ho, wo), self.avg, dp);
            }
            dx
        };
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}
