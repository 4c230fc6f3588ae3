//! Fused CPU kernels for the hot spots of a training step (issue 6), each a candle custom
//! op with a hand-written backward, checked against the unfused autograd path in tests.
//!
//! Why our own code and not candle's ops: profiling (`perf record` on `spikeplay bench`,
//! docs/BENCHMARKS.md) showed a step of the small configs spent most of its time outside
//! arithmetic: the LIF loop is ~8 tiny tensor ops per time step, and the backward of its
//! `Tensor::get(t)` pads each step's gradient back to `[T, ...]` (a zero-filled copy per
//! step, `O(T^2)` memory traffic per layer). One op for the whole time loop does the same
//! arithmetic in two passes over the data.
//!
//! Only the CPU has these kernels. Other devices (candle's CUDA or Metal backends) take the
//! unfused path, built from candle's own ops, which the tests hold the fused ops to; the
//! environment variable `SPIKEPLAY_UNFUSED=1` forces it natively (for benchmarks).

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Device, Layout, Result, Shape, Tensor, Var};
use candle_nn::optim::ParamsAdamW;

use crate::config::{Reset, SurrogateKind};
use crate::neuron::Lif;
use crate::surrogate::Surrogate;

/// Whether the fused kernels run on `device`: the CPU, unless `SPIKEPLAY_UNFUSED` is set
/// or the caller is inside [`unfused`].
pub fn enabled(device: &Device) -> bool {
    device.is_cpu() && !forced_unfused() && !UNFUSED_HERE.with(|u| u.get())
}

thread_local! {
    static UNFUSED_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on this thread with the fused kernels off: the path a CUDA or Metal device
/// takes, so that tests can hold it to the fused one on the CPU.
pub fn unfused<R>(f: impl FnOnce() -> R) -> R {
    let before = UNFUSED_HERE.with(|u| u.replace(true));
    let out = f();
    UNFUSED_HERE.with(|u| u.set(before));
    out
}

#[cfg(not(target_arch = "wasm32"))]
fn forced_unfused() -> bool {
    static UNFUSED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UNFUSED.get_or_init(|| std::env::var("SPIKEPLAY_UNFUSED").is_ok_and(|v| !v.is_empty() && v != "0"))
}

#[cfg(target_arch = "wasm32")]
fn forced_unfused() -> bool {
    false
}

/// The contiguous f32 data of a storage.
pub(crate) fn slice<'a>(name: &str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{name}: input must be contiguous"),
    }
}

/// `(T, N)`: time steps and the neurons per step of a `[T, ...]` layout.
fn time_major(layout: &Layout) -> Result<(usize, usize)> {
    let steps = layout.dims().first().copied().unwrap_or(0);
    if steps == 0 {
        candle_core::bail!("lif: needs a leading time axis of at least one step")
    }
    Ok((steps, layout.shape().elem_count() / steps))
}

/// One charge of every neuron from `u` with input `x`, writing the charged membrane and
/// the state after the reset. The same float operations, in the same order, as
/// [`Lif::step_normed`] without a norm, so the fused forward is bit-identical to the
/// unfused one; a straight-line body per reset kind, so that it vectorizes.
#[inline(always)]
fn charge_fire_reset<const HARD: bool>(lif: &Lif, u: &mut [f32], x: &[f32], charged: &mut [f32]) {
    let (beta, theta) = (lif.beta, lif.theta);
    for ((u, &x), m) in u.iter_mut().zip(x).zip(charged) {
        let c = *u * beta + x;
        let s = if c - theta >= 0.0 { 1.0 } else { 0.0 };
        *m = c;
        *u = if HARD { c * (1.0 - s) } else { c - s * theta };
    }
}

/// The LIF time loop's spikes as one op: `(current, charged)` -> spikes, both `[T, ...]`,
/// with `charged` the charged membrane of that current ([`LifMembrane`], detached): the
/// forward reads the spikes off it (`s = H(c - theta)`, the comparison the time loop makes)
/// and the backward ([`LifBackward`]) runs on it without running the time loop again. That
/// rerun was a third of the backward's time (and of its time in the page).
struct LifOp(Lif);

impl CustomOp2 for LifOp {
    fn name(&self) -> &'static str {
        "lif"
    }

    fn cpu_fwd(&self, _current: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let charged = slice("lif", s2, l2)?;
        time_major(l1)?;
        if l1.shape() != l2.shape() {
            candle_core::bail!("lif: a charged membrane of {:?} for currents of {:?}", l2.dims(), l1.dims())
        }
        let theta = self.0.theta;
        let spikes = charged.iter().map(|&c| if c - theta >= 0.0 { 1.0 } else { 0.0 }).collect();
        Ok((CpuStorage::F32(spikes), l1.shape().clone()))
    }

    fn bwd(&self, _current: &Tensor, charged: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = charged.apply_op2_no_bwd(&grad_res.contiguous()?, &LifBackward(self.0))?;
        Ok((Some(grad), None))
    }
}

/// The charged membrane `u[t]` before the reset, `[T, ...]` (for the probe's views).
struct LifMembrane(Lif);

impl CustomOp1 for LifMembrane {
    fn name(&self) -> &'static str {
        "lif-membrane"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice("lif-membrane", storage, layout)?;
        let (steps, n) = time_major(layout)?;
        let (mut u, mut charged) = (vec![0f32; n], vec![0f32; steps * n]);
        if n == 0 {
            return Ok((CpuStorage::F32(charged), layout.shape().clone()));
        }
        for (x, charged) in x.chunks_exact(n).zip(charged.chunks_exact_mut(n)) {
            match self.0.reset {
                Reset::Hard => charge_fire_reset::<true>(&self.0, &mut u, x, charged),
                Reset::Soft => charge_fire_reset::<false>(&self.0, &mut u, x, charged),
            }
        }
        Ok((CpuStorage::F32(charged), layout.shape().clone()))
    }
}

/// Backpropagation through time for [`LifOp`]: `(charged, dL/dspikes)` -> `dL/dcurrent`.
///
/// With `c[t]` the charged membrane, `s[t] = H(c[t] - theta)`, `g = surrogate'(c - theta)`
/// and `v[t]` the state after the reset (`c (1 - s)` hard, `c - theta s` soft), going
/// backwards from `dv[T-1] = 0`:
///
/// ```text
/// ds[t] = dL/ds[t] + dv[t] * (-c[t] hard | -theta soft)   second term only without detach_reset
/// dc[t] = ds[t] * g[t] + dv[t] * ((1 - s[t]) hard | 1 soft)
/// dx[t] = dc[t],  dv[t-1] = beta * dc[t]
/// ```
struct LifBackward(Lif);

impl CustomOp2 for LifBackward {
    fn name(&self) -> &'static str {
        "lif-backward"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let charged = slice("lif-backward", s1, l1)?;
        let gs = slice("lif-backward", s2, l2)?;
        let (steps, n) = time_major(l1)?;
        if gs.len() != charged.len() {
            candle_core::bail!("lif-backward: gradient has {} values for {} currents", gs.len(), charged.len())
        }
        let lif = &self.0;
        // One copy of the loop per surrogate kind, so that `grad`'s match folds away and
        // the loop is straight-line arithmetic.
        let (width, kinds) = (lif.surrogate.width, lif.surrogate.kind);
        let dx = match kinds {
            SurrogateKind::Atan => bptt(lif, steps, n, charged, gs, |x| Surrogate::new(SurrogateKind::Atan, width).grad(x)),
            SurrogateKind::Sigmoid => bptt(lif, steps, n, charged, gs, |x| Surrogate::new(SurrogateKind::Sigmoid, width).grad(x)),
            SurrogateKind::FastSigmoid => bptt(lif, steps, n, charged, gs, |x| Surrogate::new(SurrogateKind::FastSigmoid, width).grad(x)),
            SurrogateKind::Triangle => bptt(lif, steps, n, charged, gs, |x| Surrogate::new(SurrogateKind::Triangle, width).grad(x)),
            SurrogateKind::Rectangular => bptt(lif, steps, n, charged, gs, |x| Surrogate::new(SurrogateKind::Rectangular, width).grad(x)),
        };
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// The backward loop of [`LifBackward`] with the surrogate derivative `g`: one straight-line
/// loop body per reset kind, with the last step (nothing carried back into it) peeled off,
/// so that the compiler vectorizes it. With the reset and the last-step test inside the
/// loop it ran one neuron at a time, natively and in wasm (perf annotate: `mulss`/`addss`).
#[inline(always)]
fn bptt(lif: &Lif, steps: usize, n: usize, charged: &[f32], gs: &[f32], g: impl Fn(f32) -> f32) -> Vec<f32> {
    match (lif.reset == Reset::Hard, lif.detach_reset) {
        (true, false) => bptt_with::<true, false>(lif, steps, n, charged, gs, g),
        (true, true) => bptt_with::<true, true>(lif, steps, n, charged, gs, g),
        (false, false) => bptt_with::<false, false>(lif, steps, n, charged, gs, g),
        (false, true) => bptt_with::<false, true>(lif, steps, n, charged, gs, g),
    }
}

#[inline(always)]
fn bptt_with<const HARD: bool, const DETACH: bool>(
    lif: &Lif,
    steps: usize,
    n: usize,
    charged: &[f32],
    gs: &[f32],
    g: impl Fn(f32) -> f32,
) -> Vec<f32> {
    let (beta, theta) = (lif.beta, lif.theta);
    let (charged, gs) = (&charged[..steps * n], &gs[..steps * n]);
    let mut dx = vec![0f32; steps * n];
    let last = (steps - 1) * n..steps * n;
    for ((dx, &c), &gs) in dx[last.clone()].iter_mut().zip(&charged[last.clone()]).zip(&gs[last]) {
        *dx = gs * g(c - theta);
    }
    for t in (0..steps - 1).rev() {
        // dv[t] = beta * dc[t + 1]: the gradient reaching the state after step t's reset.
        let (now, later) = dx.split_at_mut((t + 1) * n);
        let range = t * n..(t + 1) * n;
        for (((dx, &next), &c), &gs) in now[range.clone()].iter_mut().zip(&later[..n]).zip(&charged[range.clone()]).zip(&gs[range]) {
            let dv = next * beta;
            let s = if c - theta >= 0.0 { 1.0 } else { 0.0 };
            let mut ds = gs;
            if !DETACH {
                ds += dv * if HARD { -c } else { -theta };
            }
            let mut dc = ds * g(c - theta);
            dc += dv * if HARD { 1.0 - s } else { 1.0 };
            *dx = dc;
        }
    }
    dx
}

/// Spikes of a LIF population over all steps of `current` (`[T, ...]`, from a resting
/// membrane): the time loop once, for the charged membrane (detached), and the spikes read
/// off it by an op whose backward uses it; with `record`, that membrane too.
pub fn lif(lif: &Lif, current: &Tensor, record: bool) -> Result<(Tensor, Option<Tensor>)> {
    let current = current.contiguous()?;
    let charged = current.apply_op1_no_bwd(&LifMembrane(*lif))?;
    let spikes = current.apply_op2(&charged, LifOp(*lif))?;
    Ok((spikes, record.then_some(charged)))
}

/// candle-nn's AdamW as one loop per parameter: the same float operations in the same
/// order (each of candle-nn's tensor ops rounds to f32, so this does too), with the
/// moments kept as plain vectors. candle-nn runs ~13 tensor ops per parameter, each a pass
/// over memory and an allocation; a 100-layer net has ~300 parameters, so the optimizer
/// was ~17 % of a step (callgrind, config D). CPU only, like the other kernels here.
pub struct AdamW {
    vars: Vec<(Var, Vec<f32>, Vec<f32>)>,
    params: ParamsAdamW,
    step_t: i32,
}

impl AdamW {
    pub fn new(vars: Vec<Var>, params: ParamsAdamW) -> Result<Self> {
        let vars = vars.into_iter().map(|v| (v.clone(), vec![0f32; v.elem_count()], vec![0f32; v.elem_count()])).collect();
        Ok(Self { vars, params, step_t: 0 })
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step_t += 1;
        let p = &self.params;
        // candle-nn's constants, each rounded to f32 where its op applies it.
        let f = |v: f64| v as f32;
        let (beta1, one_m_beta1, beta2, one_m_beta2) = (f(p.beta1), f(1.0 - p.beta1), f(p.beta2), f(1.0 - p.beta2));
        let (scale_m, scale_v) = (f(1.0 / (1.0 - p.beta1.powi(self.step_t))), f(1.0 / (1.0 - p.beta2.powi(self.step_t))));
        let (decay, eps, lr) = (f(1.0 - p.lr * p.weight_decay), f(p.eps), f(p.lr));
        for (var, m, v) in self.vars.iter_mut() {
            let Some(g) = grads.get(var) else { continue };
            let g = g.flatten_all()?.to_vec1::<f32>()?;
            let mut theta = var.flatten_all()?.to_vec1::<f32>()?;
            for (((t, m), v), &g) in theta.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(&g) {
                *m = (*m * beta1 + 0.0) + (g * one_m_beta1 + 0.0);
                *v = (*v * beta2 + 0.0) + ((g * g) * one_m_beta2 + 0.0);
                let m_hat = *m * scale_m + 0.0;
                let v_hat = *v * scale_v + 0.0;
                let adjusted = m_hat / (v_hat.sqrt() * 1.0 + eps);
                *t = (*t * decay + 0.0) - (adjusted * lr + 0.0);
            }
            var.set(&Tensor::from_vec(theta, var.shape(), var.device())?)?;
        }
        Ok(())
    }
}

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

/// Per-channel parameters of `[T, B, C, ...]` tensors, one pass each, with tables `[C]`
/// (shared over time) or `[T * C]` (`per_step`). A conv layer's bias and the norms in eval
/// mode use these on the CPU (in training a norm is one op, `crate::norm::kernel`):
/// candle's reduction over leading axes (and so the backward of every `broadcast_*` op
/// against a `[1, 1, C]` table) costs two integer divisions per value.
pub mod channel {
    use super::*;

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SurrogateKind;
    use crate::surrogate::Surrogate;
    use candle_core::Var;

    fn currents(steps: usize, n: usize, seed: u32) -> Vec<f32> {
        // Values around the threshold, so that neurons fire, reset and stay silent.
        (0..steps * n).map(|i| (i as f32 * 0.731 + seed as f32 * 1.37).sin() * 1.3 + 0.5).collect()
    }

    /// The fused op and the unfused loop agree on spikes, membranes and gradients for
    /// every reset, detach switch and surrogate; forward bit for bit.
    #[test]
    fn fused_lif_matches_the_unfused_autograd_path() {
        let kinds = [SurrogateKind::Atan, SurrogateKind::Sigmoid, SurrogateKind::Triangle, SurrogateKind::Rectangular, SurrogateKind::FastSigmoid];
        // One step (the peeled last-step loop alone) and six.
        for (steps, b, f) in [(1, 5, 6), (6, 3, 5)] {
            for reset in [Reset::Hard, Reset::Soft] {
                for detach_reset in [true, false] {
                    for (k, &kind) in kinds.iter().enumerate() {
                        for beta in [0.9f32, 1.0] {
                            let lif = Lif { beta, theta: 1.0, reset, detach_reset, surrogate: Surrogate::new(kind, 1.5) };
                            let x = Var::from_vec(currents(steps, b * f, k as u32), (steps, b, f), &Device::Cpu).unwrap();
                            // A loss that weighs every spike differently, so every dL/ds differs.
                            let w = Tensor::from_vec(currents(steps, b * f, 7 + k as u32), (steps, b, f), &Device::Cpu).unwrap();
                            let unfused = lif.forward_normed(x.as_tensor(), true, None).unwrap();
                            let (spikes, membrane) = super::lif(&lif, x.as_tensor(), true).unwrap();
                            let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                            assert_eq!(v(&spikes), v(&unfused.spikes), "{reset:?} {kind:?}: spikes");
                            assert_eq!(v(&membrane.unwrap()), v(&unfused.membrane.unwrap()), "{reset:?} {kind:?}: membrane");
                            let s = v(&spikes);
                            assert!(s.contains(&1.0) && s.contains(&0.0), "the case must fire and stay silent");
                            let g_unfused = unfused.spikes.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
                            let g_fused = spikes.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
                            let (a, b) = (v(g_unfused.get(&x).unwrap()), v(g_fused.get(&x).unwrap()));
                            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                                assert!((p - q).abs() <= 1e-5 * (1.0 + p.abs()), "T={steps} {reset:?} detach={detach_reset} {kind:?} beta={beta} [{i}]: unfused {p} fused {q}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// With the default neuron (hard reset, detached) the gradients agree bit for bit too,
    /// so switching the fused path on does not change a training run's numbers.
    #[test]
    fn fused_lif_gradient_is_bit_identical_for_the_defaults() {
        let lif = Lif { beta: 0.9, theta: 1.0, reset: Reset::Hard, detach_reset: true, surrogate: Surrogate::new(SurrogateKind::Atan, 2.0) };
        let x = Var::from_vec(currents(8, 64, 3), (8, 4, 16), &Device::Cpu).unwrap();
        let w = Tensor::from_vec(currents(8, 64, 11), (8, 4, 16), &Device::Cpu).unwrap();
        let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let a = lif.forward_normed(x.as_tensor(), false, None).unwrap().spikes.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        let b = super::lif(&lif, x.as_tensor(), false).unwrap().0.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(v(a.get(&x).unwrap()), v(b.get(&x).unwrap()));
    }

    #[test]
    fn conv_maps_run_through_the_same_op() {
        // [T, B, C, H, W]: the op only needs the leading time axis.
        let lif = Lif { beta: 0.5, theta: 1.0, reset: Reset::Soft, detach_reset: true, surrogate: Surrogate::new(SurrogateKind::Atan, 2.0) };
        let x = Tensor::from_vec(currents(3, 2 * 2 * 3 * 3, 1), (3, 2, 2, 3, 3), &Device::Cpu).unwrap();
        let (s, _) = super::lif(&lif, &x, false).unwrap();
        let want = lif.forward_normed(&x, false, None).unwrap().spikes;
        assert_eq!(s.dims(), want.dims());
        assert_eq!(s.flatten_all().unwrap().to_vec1::<f32>().unwrap(), want.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    }

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

                let fused = channel::shift(&channel::scale(x.as_tensor(), s.as_tensor()).unwrap(), b.as_tensor()).unwrap();
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

    /// The fused AdamW against candle-nn's over several steps, with weight decay: the
    /// same parameters bit for bit.
    #[test]
    fn fused_adamw_is_candle_nns_bit_for_bit() {
        use candle_nn::optim::Optimizer;
        let params = ParamsAdamW { lr: 3e-3, weight_decay: 0.05, ..Default::default() };
        let make = || (0..3).map(|i| Var::from_vec(currents(1, 12, i), (3, 4), &Device::Cpu).unwrap()).collect::<Vec<_>>();
        let (ours, theirs) = (make(), make());
        let mut fused = AdamW::new(ours.clone(), params.clone()).unwrap();
        let mut reference = candle_nn::optim::AdamW::new(theirs.clone(), params).unwrap();
        for step in 0..5u32 {
            let target = Tensor::from_vec(currents(1, 12, 20 + step), (3, 4), &Device::Cpu).unwrap();
            let loss = |vars: &[Var]| vars.iter().map(|v| v.as_tensor().sub(&target).unwrap().sqr().unwrap().sum_all().unwrap()).reduce(|a, b| (a + b).unwrap()).unwrap();
            fused.step(&loss(&ours).backward().unwrap()).unwrap();
            reference.step(&loss(&theirs).backward().unwrap()).unwrap();
            for (a, b) in ours.iter().zip(&theirs) {
                let (a, b) = (a.flatten_all().unwrap().to_vec1::<f32>().unwrap(), b.flatten_all().unwrap().to_vec1::<f32>().unwrap());
                assert_eq!(a, b, "step {step}");
            }
        }
        assert_ne!(ours[0].flatten_all().unwrap().to_vec1::<f32>().unwrap(), currents(1, 12, 0), "the parameters moved");
    }

    #[test]
    fn the_unfused_switch_reads_the_device() {
        assert!(!enabled(&Device::Cpu) || !forced_unfused());
        // A CUDA or Metal device is never fused (no kernels there); only the CPU can be.
        assert_eq!(enabled(&Device::Cpu), !forced_unfused());
    }
}
