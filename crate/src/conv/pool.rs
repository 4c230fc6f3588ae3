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

/// The offset in its plane of window `(i, j)`'s first maximum.
fn first_max(plane: &[f32], w: usize, i: usize, j: usize) -> usize {
    let at = [2 * i * w + 2 * j, 2 * i * w + 2 * j + 1, (2 * i + 1) * w + 2 * j, (2 * i + 1) * w + 2 * j + 1];
    let mut best = at[0];
    for &k in &at[1..] {
        if plane[k] > plane[best] {
            best = k;
        }
    }
    best
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
            for i in 0..ho {
                let (r0, r1) = (&plane[2 * i * w..][..w], &plane[(2 * i + 1) * w..][..w]);
                for j in 0..wo {
                    y.push(if self.avg {
                        (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]) * 0.25
                    } else {
                        plane[first_max(plane, w, i, j)]
                    });
                }
            }
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
                for i in 0..ho {
                    for j in 0..wo {
                        let v = gp[i * wo + j];
                        if self.avg {
                            for k in [2 * i * w + 2 * j, 2 * i * w + 2 * j + 1, (2 * i + 1) * w + 2 * j, (2 * i + 1) * w + 2 * j + 1] {
                                dp[k] = v * 0.25;
                            }
                        } else {
                            dp[first_max(plane, w, i, j)] = v;
                        }
                    }
                }
            }
            dx
        };
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}
