//! What the page's coarse calls return (`train(n)`, `evaluate(limit)`, `probe(...)`), built
//! from a [`Trainer`] in plain Rust so that `cargo test` checks them; `wasm.rs` only turns
//! them into JavaScript values. Field names are the page's contract: the worker and the
//! charts read them as they stand. `u32` and `Vec<f32>`, no `u64` and no maps, so they cross
//! as plain numbers (HOUSE_STYLE, boundary rules).

use serde::Serialize;

use crate::error::Result;
use crate::metrics::LayerStats;
use crate::train::Trainer;
use crate::view::{self, Raster};

/// The largest decision grid a probe computes, per side (a grid costs `grid^2` forwards'
/// worth of samples).
pub const MAX_GRID: usize = 64;

/// What `train(n)` returns.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// One loss per step taken, in order.
    pub losses: Vec<f32>,
    /// The learning rate each of those steps used (the schedule as the trainer applied it).
    pub lrs: Vec<f64>,
    /// Per step taken, whether it was the last of an epoch (its batch closed the epoch).
    pub epoch_ends: Vec<bool>,
    /// Completed optimizer steps after this call.
    pub step: u32,
    /// Completed epochs after this call.
    pub epoch: u32,
    /// Learning rate of the next step.
    pub lr: f64,
}

/// What `evaluate(limit)` returns.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub train_accuracy: f32,
    pub test_accuracy: f32,
}

/// What `probe(layer, sample, grid)` returns: the per-layer statistics, the detail of the
/// chosen layer, and the decision grid (empty unless the data set is 2-D).
#[derive(Clone, Debug, Serialize)]
pub struct ProbeReport {
    pub step: u32,
    pub rates: Vec<f32>,
    pub silent: Vec<f32>,
    pub saturated: Vec<f32>,
    pub norm_mean: Vec<f32>,
    pub norm_sq: Vec<f32>,
    pub grad_norm: Vec<f32>,
    pub synops: f32,
    /// The energy estimate per sample ([`crate::energy`]).
    pub energy: crate::energy::Energy,
    pub raster: Raster,
    pub grid_size: u32,
    pub grid: Vec<f32>,
}

/// Takes `steps` optimizer steps and reports each one's loss, rate and epoch end.
pub fn train(trainer: &mut Trainer, steps: usize) -> Result<TrainReport> {
    let (mut losses, mut lrs, mut epoch_ends) = (Vec::with_capacity(steps), Vec::with_capacity(steps), Vec::with_capacity(steps));
    for _ in 0..steps {
        let record = trainer.step()?;
        losses.push(record.loss);
        lrs.push(record.lr);
        epoch_ends.push(record.epoch_end);
    }
    Ok(TrainReport { losses, lrs, epoch_ends, step: trainer.step as u32, epoch: trainer.epoch as u32, lr: trainer.learning_rate() })
}

/// Accuracy over the first `limit` samples of the train and test splits, `0` for all of
/// them (a few forward passes per chunk: call sparingly on large data sets).
pub fn evaluate(trainer: &Trainer, limit: usize) -> Result<EvalReport> {
    let limit = if limit == 0 { usize::MAX } else { limit };
    Ok(EvalReport {
        train_accuracy: trainer.accuracy_of_first(&trainer.data.train, limit)?,
        test_accuracy: trainer.accuracy_of_first(&trainer.data.test, limit)?,
    })
}

/// Per-layer statistics on the probe batch, the raster of `layer` and `sample` (both
/// clamped), and a `grid x grid` decision map for 2-D sets (`grid = 0` skips it; at most
/// [`MAX_GRID`]).
pub fn probe(trainer: &Trainer, layer: usize, sample: usize, grid: usize) -> Result<ProbeReport> {
    let (probe, taps) = trainer.probe_with_taps()?;
    let pick = |f: fn(&LayerStats) -> f32| probe.layers.iter().map(f).collect::<Vec<f32>>();
    let grid = grid.min(MAX_GRID);
    Ok(ProbeReport {
        step: trainer.step as u32,
        rates: pick(|l| l.rate),
        silent: pick(|l| l.silent),
        saturated: pick(|l| l.saturated),
        norm_mean: pick(|l| l.norm_mean),
        norm_sq: pick(|l| l.norm_sq),
        grad_norm: pick(|l| l.grad_norm),
        synops: probe.synops,
        energy: probe.energy,
        raster: view::raster(trainer, &taps, layer, sample)?,
        grid: view::decision_grid(trainer, grid)?,
        grid_size: if trainer.data.features == 2 { grid as u32 } else { 0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatasetKind, LrSchedule, NormKind};
    use crate::ExperimentConfig;

    /// Moons: 200 samples, 40 for the test split, so 160 training samples and batches of
    /// 32 give 5 steps per epoch.
    fn trainer(lr_schedule: LrSchedule, epochs: usize) -> Trainer {
        let cfg = ExperimentConfig { dataset: DatasetKind::Moons, samples: 200, test_fraction: 0.2, batch: 32, epochs, depth: 3, width: 16, timesteps: 4, norm: NormKind::Bn, lr: 0.01, lr_schedule, ..Default::default() };
        Trainer::new(cfg).unwrap()
    }

    #[test]
    fn a_constant_schedule_reports_the_same_rate_for_every_step() {
        let mut t = trainer(LrSchedule::Constant, 2);
        let r = train(&mut t, 3).unwrap();
        assert_eq!(r.losses.len(), 3);
        assert_eq!(r.lrs, vec![0.01; 3]);
        assert_eq!((r.step, r.epoch, r.lr), (3, 0, 0.01));
        assert!(r.losses.iter().all(|l| l.is_finite() && *l > 0.0), "{:?}", r.losses);
    }

    /// The cosine rate of step `k` (0-based) of `total` is `lr (1 + cos(pi k / total)) / 2`:
    /// the first step takes the full rate, each report's `lr` is the next step's.
    #[test]
    fn a_cosine_schedule_reports_each_steps_rate_and_the_epoch_it_closed() {
        let mut t = trainer(LrSchedule::Cosine, 2);
        assert_eq!(t.steps_per_epoch(), 5);
        let total = 10.0;
        let cosine = |k: usize| 0.01 * 0.5 * (1.0 + (std::f64::consts::PI * k as f64 / total).cos());
        let first = train(&mut t, 4).unwrap();
        let second = train(&mut t, 3).unwrap();
        assert_eq!(first.lrs, (0..4).map(cosine).collect::<Vec<_>>());
        assert_eq!(first.lrs[0], 0.01);
        assert_eq!(second.lrs, (4..7).map(cosine).collect::<Vec<_>>());
        assert!(second.lrs.windows(2).all(|w| w[1] < w[0]), "the rate falls: {:?}", second.lrs);
        assert_eq!(first.lr, second.lrs[0], "a report's next rate is what the next step uses");
        assert_eq!(second.lr, cosine(7));
        // Step 5 (the second of the second call) takes the last batch of epoch 1.
        assert_eq!(first.epoch_ends, vec![false; 4]);
        assert_eq!(second.epoch_ends, vec![true, false, false]);
        assert_eq!((first.epoch, second.epoch, second.step), (0, 1, 7));
    }

    #[test]
    fn an_epoch_ends_on_its_last_batch_every_time() {
        let mut t = trainer(LrSchedule::Constant, 3);
        let r = train(&mut t, 11).unwrap();
        let ends: Vec<usize> = r.epoch_ends.iter().enumerate().filter(|(_, &e)| e).map(|(i, _)| i + 1).collect();
        assert_eq!(ends, vec![5, 10], "steps that closed an epoch, 1-based");
        assert_eq!(r.epoch, 2);
    }

    /// The probe report carries one entry per hidden layer, the raster of the asked layer
    /// and sample, and a decision grid on 2-D data; a layer past the last is clamped.
    #[test]
    fn the_probe_report_describes_every_layer_and_the_chosen_one() {
        let mut t = trainer(LrSchedule::Constant, 1);
        train(&mut t, 2).unwrap();
        let r = probe(&t, 1, 3, 6).unwrap();
        assert_eq!(r.step, 2);
        for (name, v) in [("rates", &r.rates), ("silent", &r.silent), ("saturated", &r.saturated), ("norm_mean", &r.norm_mean), ("norm_sq", &r.norm_sq), ("grad_norm", &r.grad_norm)] {
            assert_eq!(v.len(), 3, "{name}: one per hidden layer");
            assert!(v.iter().all(|x| x.is_finite()), "{name}: {v:?}");
        }
        assert!(r.rates.iter().chain(&r.silent).chain(&r.saturated).all(|x| (0.0..=1.0).contains(x)));
        assert!(r.grad_norm.iter().all(|g| *g > 0.0), "two steps gave every layer a gradient: {:?}", r.grad_norm);
        let stats = t.probe().unwrap();
        assert_eq!(r.rates, stats.layers.iter().map(|l| l.rate).collect::<Vec<_>>(), "the same pass as Trainer::probe");
        assert_eq!(r.synops, stats.synops);
        assert_eq!((r.raster.layer, r.raster.sample, r.raster.steps), (1, 3, 4));
        assert_eq!(r.raster.spikes.len(), 4 * r.raster.neurons as usize);
        assert_eq!((r.grid_size, r.grid.len()), (6, 36));
        assert!(r.grid.iter().all(|p| (0.0..=1.0).contains(p)));

        let clamped = probe(&t, 99, 0, 1000).unwrap();
        assert_eq!(clamped.raster.layer, 2, "the last hidden layer");
        assert_eq!((clamped.grid_size, clamped.grid.len()), (64, 64 * 64), "the grid is capped");
        let skipped = probe(&t, 0, 0, 0).unwrap();
        assert_eq!((skipped.grid_size, skipped.grid.len()), (0, 0), "grid 0 skips the map");
    }

    #[test]
    fn a_probe_of_image_data_has_no_decision_grid() {
        let cfg = ExperimentConfig { dataset: DatasetKind::Digits, depth: 2, width: 8, timesteps: 2, ..Default::default() };
        let t = Trainer::new(cfg).unwrap();
        let r = probe(&t, 0, 0, 8).unwrap();
        assert_eq!((r.grid_size, r.grid.len()), (0, 0));
        assert_eq!(r.rates.len(), 2);
    }

    /// Evaluating does not train, and `limit = 0` covers every sample.
    #[test]
    fn evaluate_reports_accuracies_without_changing_the_run() {
        let t = trainer(LrSchedule::Constant, 1);
        let all = evaluate(&t, 0).unwrap();
        assert_eq!(all.test_accuracy, t.test_accuracy().unwrap());
        assert_eq!(all.train_accuracy, t.train_accuracy().unwrap());
        let few = evaluate(&t, 10).unwrap();
        assert!((0.0..=1.0).contains(&few.train_accuracy) && few.train_accuracy * 10.0 == (few.train_accuracy * 10.0).round());
        assert_eq!(t.step, 0);
    }
}
