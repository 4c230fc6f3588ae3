//! Data sets: five seeded 2-D generators in the style of TensorFlow Playground, and the
//! 8x8 UCI handwritten digits shipped in `data/digits/` (see its LICENSE.md).
//!
//! Samples are row-major `[N, F]` `f32` with `u32` labels. The 2-D sets live in roughly
//! `[-1, 1]^2` with Gaussian noise of standard deviation `noise`; digits, MNIST and
//! uploaded files are scaled to `[0, 1]`. The split into train and test is a seeded shuffle.
//!
//! MNIST and uploads arrive as files ([`DataFile`]) parsed by `upload.rs`: the page fetches
//! or reads them and hands them over; natively the MNIST files are embedded in the binary
//! (so the CLI and the tests need no paths) and `--data` reads a user's file.

use crate::config::{DatasetKind, ExperimentConfig};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::upload::{parse_files, DataFile};

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
    /// `(height, width)` when the samples are single-channel images (conv nets need one).
    pub image: Option<(usize, usize)>,
    pub train: Split,
    pub test: Split,
}

/// The MNIST files embedded in native builds, so `Trainer::new` works without a path.
/// The browser fetches them instead (keeping the wasm small) and passes them in.
#[cfg(not(target_arch = "wasm32"))]
pub fn builtin_files(kind: DatasetKind) -> Vec<DataFile> {
    let bytes: &[(&str, &[u8])] = match kind {
        DatasetKind::Mnist14 => &[
            ("mnist14-images.idx3-ubyte.gz", include_bytes!("../../data/mnist/mnist14-images.idx3-ubyte.gz")),
            ("mnist-labels.idx1-ubyte.gz", include_bytes!("../../data/mnist/mnist-labels.idx1-ubyte.gz")),
        ],
        DatasetKind::Mnist28 => &[
            ("mnist28-images.idx3-ubyte.gz", include_bytes!("../../data/mnist/mnist28-images.idx3-ubyte.gz")),
            ("mnist-labels.idx1-ubyte.gz", include_bytes!("../../data/mnist/mnist-labels.idx1-ubyte.gz")),
        ],
        _ => &[],
    };
    bytes.iter().map(|(n, b)| DataFile::new(*n, b.to_vec())).collect()
}

#[cfg(target_arch = "wasm32")]
pub fn builtin_files(_kind: DatasetKind) -> Vec<DataFile> {
    Vec::new()
}

/// Builds the data set of `cfg`, generating and splitting with `rng`. `files` carries the
/// data of `mnist14`, `mnist28` (natively optional: the embedded copy is used when empty)
/// and `custom`; other data sets ignore it.
pub fn load(cfg: &ExperimentConfig, files: &[DataFile], rng: &mut Rng) -> Result<Dataset> {
    let (x, y, features, classes, image) = match cfg.dataset {
        DatasetKind::Digits => {
            let (x, y) = parse_digits(DIGITS_CSV)?;
            (x, y, 64, 10, Some((8, 8)))
        }
        DatasetKind::Mnist14 | DatasetKind::Mnist28 | DatasetKind::Custom => {
            let builtin;
            let files = if files.is_empty() {
                builtin = builtin_files(cfg.dataset);
                &builtin[..]
            } else {
                files
            };
            if files.is_empty() {
                let what = match cfg.dataset {
                    DatasetKind::Custom => "custom needs a file: upload an IDX pair or a CSV (the CLI: --data FILE)",
                    _ => "its files have not been loaded yet",
                };
                return Err(Error::config("dataset", what));
            }
            let mut d = parse_files(files)?;
            if d.len() < crate::upload::MIN_SAMPLES {
                let names = files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(" + ");
                return Err(Error::config("dataset", format!("{names}: {} samples; at least {} are needed to split into train and test", d.len(), crate::upload::MIN_SAMPLES)));
            }
            d.scale_to_unit();
            (d.x, d.y, d.features, d.classes, d.image)
        }
        kind => {
            let (x, y) = generate_2d(kind, cfg.samples, cfg.noise, rng);
            (x, y, 2, 2, None)
        }
    };
    let generated = !matches!(cfg.dataset, DatasetKind::Digits | DatasetKind::Mnist14 | DatasetKind::Mnist28 | DatasetKind::Custom);
    let range = if generated { (-1.5, 1.5) } else { (0.0, 1.0) };
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let n_test = ((n as f32 * cfg.test_fraction).round() as usize).clamp(1, n - 1);
    let all = Split { x, y };
    let (tx, ty) = all.gather(&order[n_test..], features);
    let (vx, vy) = all.gather(&order[..n_test], features);
    Ok(Dataset { features, classes, range, image, train: Split { x: tx, y: ty }, test: Split { x: vx, y: vy } })
}

/// Parses `64 pixel counts (0..16), label (0..9)` per line, naming the line of any fault.
pub fn parse_digits(text: &str) -> Result<(Vec<f32>, Vec<u32>)> {
    let fault = |at: String| Error::Data(format!("digits.csv: {at}"));
    let mut x = Vec::with_capacity(1797 * 64);
    let mut y = Vec::with_capacity(1797);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let columns = line.split(',').count();
        if columns != 65 {
            return Err(fault(format!("line {}: expected 65 columns, got {columns}", i + 1)));
        }
        for (j, v) in line.split(',').enumerate() {
            let n: u32 = v.trim().parse().map_err(|_| fault(format!("line {}, column {}: {v:?} is not a whole number", i + 1, j + 1)))?;
            let max = if j == 64 { 9 } else { 16 };
            if n > max {
                return Err(fault(format!("line {}, column {}: {n} exceeds {max}", i + 1, j + 1)));
            }
            if j == 64 {
                y.push(n);
            } else {
                x.push(n as f32 / 16.0);
            }
        }
    }
    if y.is_empty() {
        return Err(fault("no rows; each line is 64 pixel counts and a label".into()));
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
            _ => unreachable!("only the 2-D sets are generated"),
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
        assert_eq!(err, "data: digits.csv: line 1: expected 65 columns, got 3");
        let row = format!("{},17", vec!["0"; 64].join(","));
        let err = parse_digits(&format!("\n{row}")).unwrap_err().to_string();
        assert_eq!(err, "data: digits.csv: line 2, column 65: 17 exceeds 9");
        let err = parse_digits(" \n\n").unwrap_err().to_string();
        assert!(err.starts_with("data: digits.csv: no rows"), "{err}");
    }

    #[test]
    fn generators_are_seeded_balanced_and_split() {
        for kind in [DatasetKind::Spiral, DatasetKind::Circles, DatasetKind::Xor, DatasetKind::Gaussians, DatasetKind::Moons] {
            let cfg = ExperimentConfig { dataset: kind, samples: 200, test_fraction: 0.25, ..Default::default() };
            let a = load(&cfg, &[], &mut Rng::new(3)).unwrap();
            let b = load(&cfg, &[], &mut Rng::new(3)).unwrap();
            assert_eq!(a.train.x, b.train.x, "{kind:?} must be seeded");
            assert_eq!((a.train.len(), a.test.len()), (150, 50), "{kind:?}");
            let ones = a.train.y.iter().chain(&a.test.y).filter(|&&l| l == 1).count();
            assert_eq!(ones, 100, "{kind:?} balanced");
            assert!(a.train.x.iter().all(|v| v.abs() < 2.0), "{kind:?} in range");
        }
    }

    #[test]
    fn mnist_subsets_have_10000_balanced_images_in_unit_range() {
        for (kind, side) in [(DatasetKind::Mnist14, 14), (DatasetKind::Mnist28, 28)] {
            let cfg = ExperimentConfig { dataset: kind, ..Default::default() };
            let d = load(&cfg, &[], &mut Rng::new(0)).unwrap();
            assert_eq!((d.features, d.classes, d.image), (side * side, 10, Some((side, side))));
            assert_eq!((d.train.len(), d.test.len()), (8000, 2000));
            assert!(d.train.x.iter().all(|v| (0.0..=1.0).contains(v)));
            let ink = d.train.x.iter().filter(|&&v| v > 0.5).count() as f32 / d.train.x.len() as f32;
            assert!((0.05..0.3).contains(&ink), "{kind:?}: {ink} of the pixels are ink");
            for digit in 0..10 {
                let n = d.train.y.iter().chain(&d.test.y).filter(|&&l| l == digit).count();
                assert!((850..=1150).contains(&n), "{kind:?} digit {digit}: {n}");
            }
        }
    }

    #[test]
    fn custom_needs_a_file_and_takes_a_csv() {
        let cfg = ExperimentConfig { dataset: DatasetKind::Custom, ..Default::default() };
        let err = load(&cfg, &[], &mut Rng::new(0)).unwrap_err().to_string();
        assert!(err.starts_with("invalid config: dataset:") && err.contains("--data"), "{err}");
        let csv = "label,a,b\n0,0,10\n1,5,0\n0,1,9\n1,6,1\n0,0,8\n";
        let d = load(&cfg, &[DataFile::new("t.csv", csv.as_bytes().to_vec())], &mut Rng::new(0)).unwrap();
        assert_eq!((d.features, d.classes, d.train.len() + d.test.len()), (2, 2, 5));
        assert!(d.train.x.iter().chain(&d.test.x).all(|v| (0.0..=1.0).contains(v)), "scaled by the global extent 0..10");
        assert_eq!(d.range, (0.0, 1.0), "uploaded features are in [0, 1] even with two of them");
    }

    #[test]
    fn xor_labels_follow_the_quadrant() {
        let cfg = ExperimentConfig { dataset: DatasetKind::Xor, samples: 100, noise: 0.0, ..Default::default() };
        let d = load(&cfg, &[], &mut Rng::new(1)).unwrap();
        for (p, &l) in d.train.x.chunks(2).zip(&d.train.y) {
            assert_eq!(p[0] * p[1] >= 0.0, l == 0, "{p:?} -> {l}");
        }
    }
}
