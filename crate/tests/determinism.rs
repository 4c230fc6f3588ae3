//! Same seed, same run: the losses of the first 20 steps are bit-identical.

use spikeplay::config::{DatasetKind, Encoding, NormKind};
use spikeplay::{ExperimentConfig, Trainer};

fn losses(cfg: &ExperimentConfig, steps: usize) -> Vec<u32> {
    let mut t = Trainer::new(cfg.clone()).expect("valid config");
    (0..steps).map(|_| t.step().expect("step").loss.to_bits()).collect()
}

#[test]
fn same_seed_gives_bit_identical_losses() {
    for (norm, encoding, residual) in [
        (NormKind::Psp, Encoding::Direct, false),
        (NormKind::Bn, Encoding::Poisson, true),
        (NormKind::None, Encoding::Poisson, false),
    ] {
        let cfg = ExperimentConfig { dataset: DatasetKind::Digits, norm, encoding, residual, depth: 3, width: 32, batch: 16, seed: 42, ..Default::default() };
        let a = losses(&cfg, 20);
        assert_eq!(a, losses(&cfg, 20), "{norm:?} {encoding:?} residual={residual}");
        let other = ExperimentConfig { seed: 43, ..cfg };
        assert_ne!(a, losses(&other, 20), "another seed must give another run");
    }
}

#[test]
fn an_epoch_visits_every_training_sample_once() {
    let cfg = ExperimentConfig { dataset: DatasetKind::Moons, samples: 100, batch: 32, depth: 1, width: 8, ..Default::default() };
    let mut t = Trainer::new(cfg).unwrap();
    // 80 training samples in batches of 32: 32 + 32 + 16.
    assert_eq!(t.steps_per_epoch(), 3);
    for _ in 0..3 {
        t.step().unwrap();
    }
    assert_eq!((t.epoch, t.step), (1, 3));
}
