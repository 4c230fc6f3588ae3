//! Data sets: five seeded 2-D generators in the style of TensorFlow Playground, and the
//! 8x8 UCI handwritten digits shipped in `data/digits/` (see its LICENSE.md).
//!
//! Samples are row-major `[N, F]` `f32` with `u32` labels. The 2-D sets live in roughly
//! `[-1, 1]^2` with Gaussian noise of standard deviation `noise`; digits are scaled to
//! `[0, 1]`. The split into train and test is a seeded shuffle.

use crate::config::{DatasetKind, ExperimentConfig};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// The digits file, embedded so that the CLI, the tests and the wasm module all read the
/// same bytes without a file system.
const DIGITS_CSV: &str = include_str!("../../data/digits/digits.csv");

/// Samples and labels of one split.
#[derive(Clone, Debug, Default)]
pub struct Split {
    /// `[N, F]`, row-major.
    pub x: Vec<f32>,
    pub y: Vec<u32>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Gathers the rows `idx` into a new `[idx.len(), F]` buffer.
    pub fn gather(&self, idx: &[usize], features: usize) -> (Vec<f32>, Vec<u32>) {
        let mut x = Vec::with_capacity(idx.len() * features);
        let mut y = Vec::with_capacity(idx.len());
        for &i in idx {
            x.extend_from_slice(&self.x[i * features..(i + 1) * features]);
            y.push(self.y[i]);
        }
        (x, y)
    }
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub features: usize,
    pub classes: usize,
    /// The values a feature can take, for scaling to spike probabilities.
    pub range: (f32, f32),
    pub train: Split,
    pub test: Split,
}

/// Builds the data set of `cfg`, generating and splitting with `rng`.
pub fn load(cfg: &ExperimentConfig, rng: &mut Rng) -> Result<Dataset> {
    let (x, y, features, classes, range) = match cfg.dataset {
        DatasetKind::Digits => {
            let (x, y) = parse_digits(DIGITS_CSV)?;
            (x, y, 64, 10, (0.0, 1.0))
        }
        kind => {
            let (x, y) = generate_2d(kind, cfg.samples, cfg.noise, rng);
            (x, y, 2, 2, (-1.5, 1.5))
        }
    };
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let n_test = ((n as f32 * cfg.test_fraction).round() as usize).clamp(1, n - 1);
    let all = Split { x, y };
    let (tx, ty) = all.gather(&order[n_test..], features);
    let (vx, vy) = all.gather(&order[..n_test], features);
    Ok(Dataset { features, classes, range, train: Split { x: tx, y: ty }, test: Split { x: vx, y: vy } })
}

/// Parses `64 pixel counts (0..16), label (0..9)` per line, naming the line of any fault.
pub fn parse_digits(text: &str) -> Result<(Vec<f32>, Vec<u32>)> {
    let mut x = Vec::with_capacity(1797 * 64);
    let mut y = Vec::with_capacity(1797);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let vals: Vec<&str> = line.split(',').collect();
        if vals.len() != 65 {
            return Err(Error::Data(format!("digits line {}: expected 65 columns, got {}", i + 1, vals.len())));
        }
        for (j, v) in vals.iter().enumerate() {
            let n: u32 = v.trim().parse().map_err(|_| Error::Data(format!("digits line {} column {}: {v:?} is not a whole number", i + 1, j + 1)))?;
            let max = if j == 64 { 9 } else { 16 };
            if n > max {
                return Err(Error::Data(format!("digits line {} column {}: {n} exceeds {max}", i + 1, j + 1)));
            }
            if j == 64 {
                y.push(n);
            } else {
                x.push(n as f32 / 16.0);
            }
        }
    }
    Ok((x, y))
}

/// `n` two-class points of `kind` with Gaussian noise of std `noise`.
fn generate_2d(kind: DatasetKind, n: usize, noise: f32, rng: &mut Rng) -> (Vec<f32>, Vec<u32>) {
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    let tau = std::f32::consts::TAU;
    for i in 0..n {
        let label = (i % 2) as u32;
        let (px, py) = match kind {
            DatasetKind::Spiral => {
                // Two arms, each turning 1.75 times, radius growing to 1 (TF Playground).
                let k = (i / 2) as f32 / (n / 2).max(1) as f32;
                let t = 1.75 * tau * k + label as f32 * std::f32::consts::PI;
                (k * t.sin(), k * t.cos())
            }
            DatasetKind::Circles => {
                let r = if label == 0 { 0.5 * rng.uniform() } else { 0.7 + 0.3 * rng.uniform() };
                let a = tau * rng.uniform();
                (r * a.cos(), r * a.sin())
            }
            DatasetKind::Xor => {
                // Keep a small margin around the axes so the classes are separable.
                let pad = |v: f32| if v >= 0.0 { v + 0.05 } else { v - 0.05 };
                let (u, v) = (pad(0.95 * (2.0 * rng.uniform() - 1.0)), pad(0.95 * (2.0 * rng.uniform() - 1.0)));
                let (u, v) = if (u * v >= 0.0) == (label == 0) { (u, v) } else { (-u, v) };
                (u, v)
            }
            DatasetKind::Gaussians => {
                let c = if label == 0 { 0.5 } else { -0.5 };
                (c + 0.25 * rng.normal(), c + 0.25 * rng.normal())
            }
            DatasetKind::Moons => {
                // sklearn's make_moons, centred and scaled into [-1, 1].
                let a = std::f32::consts::PI * rng.uniform();
                let (mx, my) = if label == 0 { (a.cos(), a.sin()) } else { (1.0 - a.cos(), 0.5 - a.sin()) };
                ((mx - 0.5) / 1.5, (my - 0.25) / 1.0)
            }
            DatasetKind::Digits => unreachable!("digits are parsed, not generated"),
        };
        x.push(px + noise * rng.normal());
        x.push(py + noise * rng.normal());
        y.push(label);
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_file_has_1797_labelled_samples() {
        let (x, y) = parse_digits(DIGITS_CSV).unwrap();
        assert_eq!(y.len(), 1797);
        assert_eq!(x.len(), 1797 * 64);
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        for digit in 0..10 {
            let count = y.iter().filter(|&&l| l == digit).count();
            assert!((170..=190).contains(&count), "digit {digit}: {count}");
        }
    }

    #[test]
    fn malformed_digits_name_the_line() {
        let err = parse_digits("1,2,3\n").unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("65 columns"), "{err}");
        let row = format!("{},17", vec!["0"; 64].join(","));
        let err = parse_digits(&row).unwrap_err().to_string();
        assert!(err.contains("column 65") && err.contains("exceeds 9"), "{err}");
    }

    #[test]
    fn generators_are_seeded_balanced_and_split() {
        for kind in [DatasetKind::Spiral, DatasetKind::Circles, DatasetKind::Xor, DatasetKind::Gaussians, DatasetKind::Moons] {
            let cfg = ExperimentConfig { dataset: kind, samples: 200, test_fraction: 0.25, ..Default::default() };
            let a = load(&cfg, &mut Rng::new(3)).unwrap();
            let b = load(&cfg, &mut Rng::new(3)).unwrap();
            assert_eq!(a.train.x, b.train.x, "{kind:?} must be seeded");
            assert_eq!((a.train.len(), a.test.len()), (150, 50), "{kind:?}");
            let ones = a.train.y.iter().chain(&a.test.y).filter(|&&l| l == 1).count();
            assert_eq!(ones, 100, "{kind:?} balanced");
            assert!(a.train.x.iter().all(|v| v.abs() < 2.0), "{kind:?} in range");
        }
    }

    #[test]
    fn xor_labels_follow_the_quadrant() {
        let cfg = ExperimentConfig { dataset: DatasetKind::Xor, samples: 100, noise: 0.0, ..Default::default() };
        let d = load(&cfg, &mut Rng::new(1)).unwrap();
        for (p, &l) in d.train.x.chunks(2).zip(&d.train.y) {
            assert_eq!(p[0] * p[1] >= 0.0, l == 0, "{p:?} -> {l}");
        }
    }
}
