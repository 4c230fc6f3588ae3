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

use candle_core::{CpuStorage, Device, Layout, Result};

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
    fn the_unfused_switch_reads_the_device() {
        assert!(!enabled(&Device::Cpu) || !forced_unfused());
        // A CUDA or Metal device is never fused (no kernels there); only the CPU can be.
        assert_eq!(enabled(&Device::Cpu), !forced_unfused());
    }
}
