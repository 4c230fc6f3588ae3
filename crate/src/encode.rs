//! Input encodings: how a batch of real-valued samples becomes `T` steps of input.
//!
//! - `direct`: the sample is a constant input current at every step (Rueckauer et al.
//!   2017; SpikingJelly's examples call it the "encoder layer" approach), as one step
//!   viewed over all steps.
//! - `poisson`: each feature, scaled from the data set's range to `p` in [0, 1], spikes
//!   with probability `p` at every step, drawn from the trainer's seeded RNG.
//! - `latency` (time-to-first-spike, linear as snnTorch's `spikegen.latency(linear=True)`):
//!   each feature fires exactly once, at step `round((1 - p)(T - 1))`, so the brightest
//!   inputs fire first; `p = 0` never fires. Deterministic.

use candle_core::{Device, Tensor};

use crate::config::Encoding;
use crate::error::Result;
use crate::rng::Rng;

/// Encodes `xs` (`[B, F]` row-major) over `steps` time steps.
///
/// Shapes: `xs`: `B * F` values -> `[T, B, F]`.
pub fn encode(
    xs: &[f32],
    (batch, features): (usize, usize),
    steps: usize,
    encoding: Encoding,
    range: (f32, f32),
    rng: &mut Rng,
    device: &Device,
) -> Result<Tensor> {
    let values = match encoding {
        // One step, viewed `steps` times (stride 0 over T): a dense first layer sees that
        // and runs once (model.rs, `dense_repeated`).
        Encoding::Direct => return Ok(Tensor::from_slice(xs, (1, batch, features), device)?.broadcast_as((steps, batch, features))?),
        Encoding::Poisson => {
            let (lo, hi) = range;
            let probs: Vec<f32> = xs.iter().map(|v| (v - lo) / (hi - lo)).collect();
            (0..steps).flat_map(|_| rng.bernoulli_vec(&probs)).collect()
        }
        Encoding::Latency => {
            let (lo, hi) = range;
            let mut out = vec![0f32; steps * xs.len()];
            for (i, v) in xs.iter().enumerate() {
                let p = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
                if p > 0.0 {
                    let t = ((1.0 - p) * (steps - 1) as f32).round() as usize;
                    out[t * xs.len() + i] = 1.0;
                }
            }
            out
        }
    };
    Ok(Tensor::from_vec(values, (steps, batch, features), device)?)
}

/// Whether the encoded input is a spike train (and so gets a PSP trace like hidden spikes).
pub fn is_spiking(encoding: Encoding) -> bool {
    matches!(encoding, Encoding::Poisson | Encoding::Latency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_repeats_the_sample_over_time() {
        let x = encode(&[0.5, -1.0], (1, 2), 3, Encoding::Direct, (0.0, 1.0), &mut Rng::new(0), &Device::Cpu).unwrap();
        assert_eq!(x.dims(), &[3, 1, 2]);
        assert_eq!(x.stride()[0], 0, "one step, viewed at every step");
        assert_eq!(x.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![0.5, -1.0, 0.5, -1.0, 0.5, -1.0]);
    }

    #[test]
    fn poisson_rate_matches_intensity() {
        let steps = 4000;
        let x = encode(&[0.0, 0.25, 1.0], (1, 3), steps, Encoding::Poisson, (0.0, 1.0), &mut Rng::new(1), &Device::Cpu).unwrap();
        let rates = x.mean(0).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(rates[0], 0.0);
        assert!((rates[1] - 0.25).abs() < 0.03, "{rates:?}");
        assert_eq!(rates[2], 1.0);
    }

    #[test]
    fn latency_fires_once_and_brighter_first() {
        // T = 5: p = 1 -> step 0, 0.75 -> 1, 0.5 -> 2, 0.1 -> round(3.6) = 4, 0 -> never.
        let xs = [1.0, 0.75, 0.5, 0.1, 0.0];
        let x = encode(&xs, (1, 5), 5, Encoding::Latency, (0.0, 1.0), &mut Rng::new(0), &Device::Cpu).unwrap();
        let s = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let first: Vec<Option<usize>> = (0..5).map(|f| (0..5).find(|&t| s[t * 5 + f] == 1.0)).collect();
        assert_eq!(first, vec![Some(0), Some(1), Some(2), Some(4), None]);
        let counts: Vec<f32> = (0..5).map(|f| (0..5).map(|t| s[t * 5 + f]).sum()).collect();
        assert_eq!(counts, vec![1.0, 1.0, 1.0, 1.0, 0.0], "one spike at most");
        assert!(is_spiking(Encoding::Latency));
    }
}
