//! Per-channel parameters of `[T, B, C, ...]` tensors as fused CPU ops (see
//! [`crate::fused`] for the switch), one pass each, with tables `[C]` (shared over time) or
//! `[T * C]` (`per_step`): the layout [`Table`] that the norms' kernel shares, and the
//! [`scale`] and [`shift`] that a conv layer's bias and the norms in eval mode use (in
//! training a norm is one op, `crate::norm::kernel`). Why: candle's reduction over leading
//! axes (and so the backward of every `broadcast_*` op against a `[1, 1, C]` table) costs
//! two integer divisions per value.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

use crate::fused::slice;

/// How a per-channel table (`[C]`, or `[T * C]` with one row per time step) lines up with
/// a `[T, B, C, ...]` tensor: statistics and per-channel parameters act on axis 2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Table {
    steps: usize,
    batch: usize,
    pub(crate) channels: usize,
    pub(crate) inner: usize,
    per_step: bool,
}

impl Table {
    pub(crate) fn of(name: &str, dims: &[usize], per_step: bool) -> Result<Self> {
        if dims.len() < 3 {
            candle_core::bail!("{name}: needs a [T, B, C, ...] tensor, got {dims:?}")
        }
        Ok(Self { steps: dims[0], batch: dims[1], channels: dims[2], inner: dims[3..].iter().product(), per_step })
    }

    /// Entries of the table: `C`, or `T * C` per step.
    pub(crate) fn len(&self) -> usize {
        if self.per_step {
            self.steps * self.channels
        } else {
            self.channels
        }
    }

    /// Values each table entry averages.
    pub(crate) fn count(&self) -> usize {
        self.batch * self.inner * if self.per_step { 1 } else { self.steps }
    }

    /// Values in one `(t, b)` block: `C x inner`.
    pub(crate) fn block(&self) -> usize {
        self.channels * self.inner
    }

    /// Calls `f(start, row)` for every `(t, b)` block in memory order: values
    /// `start..start + C x inner` go with table entries `row..row + C`.
    #[inline(always)]
    pub(crate) fn blocks(&self, mut f: impl FnMut(usize, usize)) {
        for t in 0..self.steps {
            let row = if self.per_step { t * self.channels } else { 0 };
            for b in 0..self.batch {
                f((t * self.batch + b) * self.block(), row);
            }
        }
    }

    pub(crate) fn check(&self, name: &str, table: &[f32]) -> Result<()> {
        if table.len() != self.len() {
            candle_core::bail!("{name}: a table of {} entries for {} channels over {} steps", table.len(), self.channels, self.steps)
        }
        Ok(())
    }

    /// Per table entry, the sum of `f(k)` over its values `k`, accumulated in f64.
    #[inline(always)]
    fn sums(&self, f: impl Fn(usize) -> f64) -> Vec<f32> {
        let mut acc = vec![0f64; self.len()];
        let (channels, inner) = (self.channels, self.inner);
        self.blocks(|start, row| {
            let acc = &mut acc[row..row + channels];
            if inner == 1 {
                for (c, a) in acc.iter_mut().enumerate() {
                    *a += f(start + c);
                }
            } else {
                for (c, a) in acc.iter_mut().enumerate() {
                    let first = start + c * inner;
                    *a += (first..first + inner).map(&f).sum::<f64>();
                }
            }
        });
        acc.into_iter().map(|v| v as f32).collect()
    }

    /// `out[k] = f(x[k], table[entry of k])` over a `[T, B, C, ...]` tensor, built
    /// without zero-filling, in slice loops the compiler can vectorize.
    #[inline(always)]
    fn map(&self, x: &[f32], table: &[f32], f: impl Fn(f32, f32) -> f32) -> Vec<f32> {
        let mut out = Vec::with_capacity(x.len());
        let (channels, inner, block) = (self.channels, self.inner, self.block());
        self.blocks(|start, row| {
            let (xs, ps) = (&x[start..start + block], &table[row..row + channels]);
            if inner == 1 {
                out.extend(xs.iter().zip(ps).map(|(&a, &b)| f(a, b)));
            } else {
                for (chunk, &b) in xs.chunks_exact(inner).zip(ps) {
                    out.extend(chunk.iter().map(|&a| f(a, b)));
                }
            }
        });
        out
    }
}

/// `x * table[e]` (scale) or `x + table[e]` (shift), per table entry.
struct Affine {
    shift: bool,
    per_step: bool,
}

impl CustomOp2 for Affine {
    fn name(&self) -> &'static str {
        "channel-affine"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice("channel-affine", s1, l1)?;
        let p = slice("channel-affine", s2, l2)?;
        let table = Table::of("channel-affine", l1.dims(), self.per_step)?;
        table.check("channel-affine", p)?;
        let out = if self.shift { table.map(x, p, |a, b| a + b) } else { table.map(x, p, |a, b| a * b) };
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, p: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let table = Table::of("channel-affine", x.dims(), self.per_step)?;
        if self.shift {
            // d/dx = 1; d/db[e] = sum of the gradient over the entry's values.
            let gb = grad.apply_op1_no_bwd(&EntrySum { table })?;
            Ok((Some(grad), Some(gb)))
        } else {
            // d/dx = s[e] g; d/ds[e] = sum of g x over the entry's values.
            let gx = grad.apply_op2_no_bwd(p, &Affine { shift: false, per_step: self.per_step })?;
            let gs = grad.apply_op2_no_bwd(x, &EntryDot { table })?;
            Ok((Some(gx), Some(gs)))
        }
    }
}

/// Sum of a tensor's values per table entry, `[len]` (the shift's parameter gradient).
struct EntrySum {
    table: Table,
}

impl CustomOp1 for EntrySum {
    fn name(&self) -> &'static str {
        "channel-sum"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = slice("channel-sum", storage, layout)?;
        let sums = self.table.sums(|k| g[k] as f64);
        let len = sums.len();
        Ok((CpuStorage::F32(sums), Shape::from(len)))
    }
}

/// Sum of `a * b` per table entry, `[len]` (the scale's parameter gradient).
struct EntryDot {
    table: Table,
}

impl CustomOp2 for EntryDot {
    fn name(&self) -> &'static str {
        "channel-dot"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let a = slice("channel-dot", s1, l1)?;
        let b = slice("channel-dot", s2, l2)?;
        let sums = self.table.sums(|k| a[k] as f64 * b[k] as f64);
        let len = sums.len();
        Ok((CpuStorage::F32(sums), Shape::from(len)))
    }
}

/// `x * s[entry]`; `s` is `[C]` or `[T * C]`.
pub fn scale(x: &Tensor, s: &Tensor) -> Result<Tensor> {
    let per_step = s.elem_count() != x.dim(2)?;
    x.contiguous()?.apply_op2(&s.flatten_all()?.contiguous()?, Affine { shift: false, per_step })
}

/// `x + b[entry]`; `b` is `[C]` or `[T * C]`.
pub fn shift(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    let per_step = b.elem_count() != x.dim(2)?;
    x.contiguous()?.apply_op2(&b.flatten_all()?.contiguous()?, Affine { shift: true, per_step })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::currents;
    use candle_core::{Device, Var};

    /// The per-channel scale and shift against the same maths in candle's broadcast ops
    /// (their autograd is the reference), dense and conv shapes, shared and per-step tables.
    #[test]
    fn channel_ops_match_candle_broadcasting_forward_and_backward() {
        use crate::norm::table_shape;
        for dims in [vec![3usize, 4, 5], vec![2, 3, 4, 2, 3]] {
            for per_step in [false, true] {
                let (steps, c, rank) = (dims[0], dims[2], dims.len());
                let n: usize = dims.iter().product();
                let entries = if per_step { steps * c } else { c };
                let dev = Device::Cpu;
                let x = Var::from_vec(currents(1, n, 2), dims.as_slice(), &dev).unwrap();
                let s = Var::from_vec(currents(1, entries, 5), entries, &dev).unwrap();
                let b = Var::from_vec(currents(1, entries, 9), entries, &dev).unwrap();
                let w = Tensor::from_vec(currents(1, n, 4), dims.as_slice(), &dev).unwrap();
                let table = table_shape(if per_step { steps } else { 1 }, c, rank);

                let fused = shift(&scale(x.as_tensor(), s.as_tensor()).unwrap(), b.as_tensor()).unwrap();
                let reference = x.broadcast_mul(&s.reshape(table.as_slice()).unwrap()).unwrap().broadcast_add(&b.reshape(table.as_slice()).unwrap()).unwrap();
                let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let close = |what: &str, a: &[f32], b: &[f32]| {
                    assert_eq!(a.len(), b.len(), "{what}");
                    for (i, (p, q)) in a.iter().zip(b).enumerate() {
                        assert!((p - q).abs() <= 1e-5 * (1.0 + p.abs()), "{dims:?} per_step={per_step} {what}[{i}]: {p} vs {q}");
                    }
                };
                close("y", &flat(&fused), &flat(&reference));
                let loss = |y: &Tensor| y.mul(&w).unwrap().sum_all().unwrap();
                let (gf, gr) = (loss(&fused).backward().unwrap(), loss(&reference).backward().unwrap());
                for (name, var) in [("dx", &x), ("ds", &s), ("db", &b)] {
                    close(name, &flat(gf.get(var).unwrap()), &flat(gr.get(var).unwrap()));
                }
            }
        }
    }

}
