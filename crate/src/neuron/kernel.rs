//! The LIF time loop as one fused CPU op (see [`crate::fused`] for why): the forward runs
//! the loop of [`Lif::step`] once over raw slices, the backward is hand-written
//! backpropagation through time, both held to the unfused autograd path in the tests.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

use super::Lif;
use crate::config::{Reset, SurrogateKind};
use crate::fused::slice;
use crate::surrogate::Surrogate;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::currents;
    use candle_core::{Device, Var};

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

}
