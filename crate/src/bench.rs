//! Training-step benchmarks (issue 6): the named configs every runner measures (the CLI's
//! `spikeplay bench` natively; later the same configs in wasm), and the timing loop.
//!
//! A step is what the page's worker calls in a loop: encode a batch, the forward over `T`
//! steps, the backward and the optimizer update ([`Trainer::step`]). The clock is passed
//! in, so native code times with `Instant` and wasm with `performance.now()`.

use serde::Serialize;

use crate::config::{DatasetKind, ExperimentConfig, NormKind};
use crate::error::{Error, Result};
use crate::Trainer;

/// Every benchmark config's name: A-E of issue 6, E2 and F of issue 19.
pub const CONFIGS: [&str; 7] = ["A", "B", "C", "D", "E", "E2", "F"];

/// The data files (paths in `data/`) config `name` trains on: what wasm must be given.
pub fn files(name: &str) -> Result<&'static [&'static str]> {
    Ok(config(name)?.dataset.files())
}

/// The benchmark configs by name, without a norm (each runs with several).
pub fn config(name: &str) -> Result<ExperimentConfig> {
    let base = ExperimentConfig { probe_samples: 16, seed: 0, ..Default::default() };
    Ok(match name {
        // Plain MLP, 64 inputs (digits), depth 4, width 128, T 8, batch 32.
        "A" => ExperimentConfig { dataset: DatasetKind::Digits, depth: 4, width: 128, timesteps: 8, batch: 32, ..base },
        // Plain MLP, depth 8, width 256, T 16, batch 64 (digits).
        "B" => ExperimentConfig { dataset: DatasetKind::Digits, depth: 8, width: 256, timesteps: 16, batch: 64, ..base },
        // Plain MLP, 2 inputs (spiral), depth 16, width 128, T 8, batch 32.
        "C" => ExperimentConfig { dataset: DatasetKind::Spiral, depth: 16, width: 128, timesteps: 8, batch: 32, ..base },
        // Residual MLP, depth 100, width 64, T 4, batch 16 (digits).
        "D" => ExperimentConfig { dataset: DatasetKind::Digits, residual: true, depth: 100, width: 64, timesteps: 4, batch: 16, ..base },
        // The page's MNIST conv preset: mnist14, 3 conv layers of 8 channels, 2 pools, T 4, batch 32.
        "E" => ExperimentConfig { dataset: DatasetKind::Mnist14, conv: true, depth: 3, width: 8, pools: 2, timesteps: 4, batch: 32, ..base },
        // The RESULTS.md conv net: mnist28, 2 conv layers of 32 channels, a pool after each,
        // T 4, batch 64 (with the rate readout of every config here, so the peer nets match).
        "E2" => ExperimentConfig { dataset: DatasetKind::Mnist28, conv: true, depth: 2, width: 32, pools: 2, timesteps: 4, batch: 64, ..base },
        // The page's 101-layer residual conv preset: mnist14, a stem and 50 blocks of 4
        // channels, 2 pools, T 2, batch 16.
        "F" => ExperimentConfig { dataset: DatasetKind::Mnist14, conv: true, residual: true, depth: 101, width: 4, pools: 2, timesteps: 2, batch: 16, ..base },
        other => return Err(Error::parse(format!("bench config {other:?}: expected one of {}", CONFIGS.join(", ")))),
    })
}

/// One measured config.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    pub config: String,
    pub norm: NormKind,
    /// Milliseconds of each timed step, in order.
    pub step_ms: Vec<f64>,
}

impl Timing {
    /// The `q`-quantile (0..1) of the step times, nearest rank.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut v = self.step_ms.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)]
    }

    pub fn median_ms(&self) -> f64 {
        self.quantile(0.5)
    }

    pub fn steps_per_second(&self) -> f64 {
        1000.0 / self.median_ms()
    }
}

/// Builds config `name` with `norm`, takes `warmup` untimed steps, then times `steps`
/// steps one by one with `now_ms` (a monotonic clock in milliseconds).
pub fn measure(name: &str, norm: NormKind, warmup: usize, steps: usize, now_ms: impl Fn() -> f64) -> Result<Timing> {
    measure_with_files(name, norm, &[], warmup, steps, now_ms)
}

/// [`measure`] with the data files of config E given (wasm has no embedded MNIST).
pub fn measure_with_files(name: &str, norm: NormKind, files: &[crate::upload::DataFile], warmup: usize, steps: usize, now_ms: impl Fn() -> f64) -> Result<Timing> {
    let cfg = ExperimentConfig { norm, ..config(name)? };
    let mut trainer = Trainer::with_files(cfg, files)?;
    for _ in 0..warmup {
        trainer.step()?;
    }
    let mut step_ms = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t0 = now_ms();
        trainer.step()?;
        step_ms.push(now_ms() - t0);
    }
    Ok(Timing { config: name.to_owned(), norm, step_ms })
}

/// A markdown table of `timings`: median, 10th and 90th percentile ms per step, steps/s.
pub fn table(timings: &[Timing]) -> String {
    let mut out = String::from("| config | norm | median ms/step | p10 | p90 | steps/s |\n|---|---|---|---|---|---|\n");
    for t in timings {
        out += &format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.1} |\n",
            t.config,
            crate::compare::name(&t.norm),
            t.median_ms(),
            t.quantile(0.1),
            t.quantile(0.9),
            t.steps_per_second()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_config_is_valid_with_every_benchmarked_norm() {
        for name in CONFIGS {
            for norm in [NormKind::None, NormKind::Bn, NormKind::Psp] {
                let cfg = ExperimentConfig { norm, ..config(name).unwrap() };
                cfg.validate().unwrap_or_else(|e| panic!("{name} {norm:?}: {e}"));
            }
        }
        assert!(config("G").unwrap_err().to_string().contains("A, B, C, D, E, E2, F"));
        assert_eq!(files("E2").unwrap(), ["mnist/mnist28-images.idx3-ubyte.gz", "mnist/mnist-labels.idx1-ubyte.gz"]);
        assert!(files("A").unwrap().is_empty() && files("F").unwrap()[0].contains("mnist14"));
    }

    #[test]
    fn timings_use_the_given_clock_and_rank_quantiles() {
        let ticks = std::cell::Cell::new(0.0);
        let clock = || {
            ticks.set(ticks.get() + 1.5);
            ticks.get()
        };
        let t = measure("A", NormKind::Psp, 1, 3, clock).unwrap();
        assert_eq!(t.step_ms, vec![1.5, 1.5, 1.5], "each step spans two clock reads");
        let t = Timing { config: "A".into(), norm: NormKind::Bn, step_ms: vec![5.0, 1.0, 3.0, 2.0, 4.0] };
        assert_eq!((t.median_ms(), t.quantile(0.0), t.quantile(1.0)), (3.0, 1.0, 5.0));
        assert!(table(&[t]).contains("| A | bn | 3.00 | 1.00 | 5.00 | 333.3 |"));
    }
}
