//! The on/off switch of the fused CPU kernels (issue 6), and what every kernel shares.
//!
//! The kernels themselves live beside the layer each serves: the LIF time loop in
//! `neuron/kernel.rs`, the norms' per-channel ops in `norm/channel.rs` and `norm/kernel.rs`,
//! the dense product in `dense.rs`, AdamW in `train/optimizer.rs`. Each is a candle custom
//! op (or loop) with a hand-written backward, checked against the unfused autograd path.
//! This module imports nothing from the crate, so any of them may ask it.
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

use candle_core::{CpuStorage, Device, Layout, Result, Tensor};

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

/// `x1` (`[1, ...]`) repeated over `steps` steps, `[steps, ...]`; the backward sums the
/// steps' gradients in step order. On the CPU one op (candle's broadcast would sum the
/// gradient with its reduction over a leading axis); elsewhere candle's `broadcast_as`.
pub fn repeat_steps(x1: &Tensor, steps: usize) -> Result<Tensor> {
    if x1.dims().first() != Some(&1) {
        candle_core::bail!("repeat_steps: one step, [1, ...]; got {:?}", x1.dims())
    }
    if !enabled(x1.device()) {
        let mut dims = x1.dims().to_vec();
        dims[0] = steps;
        return x1.broadcast_as(dims)?.contiguous();
    }
    x1.contiguous()?.apply_op1(Repeat { steps })
}

struct Repeat {
    steps: usize,
}

impl candle_core::CustomOp1 for Repeat {
    fn name(&self) -> &'static str {
        "repeat-steps"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, candle_core::Shape)> {
        let x = slice("repeat-steps", storage, layout)?;
        let mut dims = layout.dims().to_vec();
        dims[0] = self.steps;
        Ok((CpuStorage::F32(x.repeat(self.steps)), candle_core::Shape::from(dims)))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        let one = arg.elem_count();
        let sum = {
            let (s, l) = grad.storage_and_layout();
            let candle_core::Storage::Cpu(s) = &*s else { candle_core::bail!("repeat-steps: CPU tensors only") };
            sum_steps(slice("repeat-steps", s, l)?, one).into_owned()
        };
        Ok(Some(Tensor::from_vec(sum, arg.shape(), arg.device())?))
    }
}

/// A repeated input's output gradient `g` (`steps` blocks of `one` values) summed over the
/// steps, in step order: the gradient of the one step's output. Borrowed when there is one step.
pub(crate) fn sum_steps(g: &[f32], one: usize) -> std::borrow::Cow<'_, [f32]> {
    if g.len() <= one {
        return g.into();
    }
    let mut sum = g[..one].to_vec();
    for step in g.chunks_exact(one).skip(1) {
        sum.iter_mut().zip(step).for_each(|(s, &v)| *s += v);
    }
    sum.into()
}

/// The contiguous f32 data of a storage.
pub(crate) fn slice<'a>(name: &str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{name}: input must be contiguous"),
    }
}

/// Values around a LIF threshold of 1 (so that neurons fire, reset and stay silent), for
/// the kernel tests of every module: deterministic, no RNG.
#[cfg(test)]
pub(crate) fn currents(steps: usize, n: usize, seed: u32) -> Vec<f32> {
    (0..steps * n).map(|i| (i as f32 * 0.731 + seed as f32 * 1.37).sin() * 1.3 + 0.5).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeating_steps_sums_their_gradients_in_both_paths() {
        let x = candle_core::Var::from_vec(vec![1f32, -2.0, 0.5, 3.0], (1, 2, 2), &Device::Cpu).unwrap();
        let up = Tensor::from_vec((0..12).map(|i| i as f32 * 0.5 - 1.0).collect::<Vec<f32>>(), (3, 2, 2), &Device::Cpu).unwrap();
        let run = || {
            let y = repeat_steps(x.as_tensor(), 3).unwrap();
            let g = (&y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            (y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), g.get(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap())
        };
        let (y, g) = run();
        assert_eq!(y, [1.0, -2.0, 0.5, 3.0].repeat(3));
        // Each input's gradient: its three copies' upstream values, e.g. -1 + 1 + 3 = 3.
        assert_eq!(g, vec![3.0, 4.5, 6.0, 7.5]);
        assert_eq!(unfused(run), (y, g), "candle's broadcast gives the same");
        assert!(repeat_steps(&up, 2).is_err(), "needs one step");
    }

    #[test]
    fn the_unfused_switch_reads_the_device() {
        assert!(!enabled(&Device::Cpu) || !forced_unfused());
        // A CUDA or Metal device is never fused (no kernels there); only the CPU can be.
        assert_eq!(enabled(&Device::Cpu), !forced_unfused());
    }
}
