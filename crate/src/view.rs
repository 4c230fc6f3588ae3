//! What the playground's detailed views show, computed from a [`Trainer`] in plain Rust.
//!
//! The browser handle (`wasm.rs`) only forwards these; keeping them here lets `cargo test`
//! check them natively. Every view runs the network in [`Mode::Probe`] or [`Mode::Eval`],
//! never [`Mode::Train`], so looking at a run does not change it. Reports use `u32` and
//! `Vec<f32>` so they cross into JavaScript as plain numbers (no `u64`, no maps).

use candle_core::{IndexOp, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::ExperimentConfig;
use crate::encode::encode;
use crate::error::{Error, Result};
use crate::config::NormKind;
use crate::norm::{Mode, NormConfig, Placement};
use crate::rng::Rng;
use crate::model::Taps;
use crate::Trainer;

/// At most this many neurons of a layer appear in the raster; wide layers show their first.
pub const RASTER_NEURONS: usize = 128;
/// At most this many membrane traces.
pub const TRACES: usize = 8;
/// At most this many training points are drawn over the decision boundary.
pub const POINTS: usize = 400;
/// Salt of the encoding stream used by the decision grid (distinct from the trainer's).
const GRID_SALT: u64 = 0x9e1d;

/// One sample of one hidden layer over the `T` steps of the probe batch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Raster {
    pub layer: u32,
    pub sample: u32,
    pub steps: u32,
    /// Neurons shown in `spikes`: `min(width, RASTER_NEURONS)`.
    pub neurons: u32,
    /// Which neurons those are: all of them, or evenly spaced over a wider layer (so a conv
    /// layer shows every channel and the map's centre, not channel 1's blank border).
    pub shown: Vec<u32>,
    /// `[steps, neurons]` row-major, 0 or 1.
    pub spikes: Vec<f32>,
    /// Indices of the neurons whose membranes are traced, from least to most active.
    pub traced: Vec<u32>,
    /// `[steps, traced.len()]` row-major: the charged membrane, before the reset.
    pub membrane: Vec<f32>,
    pub theta: f32,
}

/// One probe sample as the first layer receives it: the encoded input over `T` steps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncodedInput {
    pub sample: u32,
    pub label: u32,
    pub steps: u32,
    pub features: u32,
    /// `[height, width]` when the features are an image, else empty.
    pub image: Vec<u32>,
    pub encoding: crate::config::Encoding,
    /// `[steps, features]` row-major: input currents (direct) or spikes (0/1).
    pub values: Vec<f32>,
}

/// The encoded input of probe sample `sample` (clamped), as the probe batch holds it.
pub fn encoded_input(trainer: &Trainer, sample: usize) -> Result<EncodedInput> {
    let sample = sample.min(trainer.probe_input.dim(1)?.saturating_sub(1));
    let x = trainer.probe_input.i((.., sample, ..))?.contiguous()?;
    let (steps, features) = x.dims2()?;
    Ok(EncodedInput {
        sample: sample as u32,
        label: trainer.data.train.y.get(sample).copied().unwrap_or(0),
        steps: steps as u32,
        features: features as u32,
        image: trainer.data.image.map_or(vec![], |(h, w)| vec![h as u32, w as u32]),
        encoding: trainer.cfg.encoding,
        values: x.flatten_all()?.to_vec1()?,
    })
}

/// The layout the network view draws and the static data the boundary view needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Layout {
    pub features: u32,
    pub classes: u32,
    pub depth: u32,
    pub width: u32,
    pub residual: bool,
    pub conv: bool,
    /// `[height, width]` of the input images, empty for feature vectors.
    pub image: Vec<u32>,
    /// Per hidden layer `[channels, height, width]` of its map (`[width, 1, 1]` dense);
    /// the layer has `c h w` neurons.
    pub shapes: Vec<[u32; 3]>,
    /// The norm's serde name ("psp", "bn", ...).
    pub norm: NormKind,
    /// "none", "pre_weight" (on the PSP trace), "post_weight" (on the current) or
    /// "membrane" (on the membrane before the threshold).
    pub norm_placement: String,
    /// Per hidden layer: whether it has a norm (a pre-weight norm is skipped on the first
    /// layer when the input is a direct current rather than spikes).
    pub normalized: Vec<bool>,
    pub steps_per_epoch: u32,
    pub train_samples: u32,
    pub test_samples: u32,
    pub probe_samples: u32,
    /// Input-plane bounds `[lo, hi]` for 2-D sets.
    pub range: Vec<f32>,
    /// Up to [`POINTS`] training points `[x, y]` row-major, empty unless `features == 2`.
    pub points: Vec<f32>,
    pub labels: Vec<u32>,
}

/// Parses a config given as a JSON object, naming the offending field when a value has
/// the wrong type (serde's own message for that names only the expected type).
pub fn parse_config(map: Map<String, Value>) -> Result<ExperimentConfig> {
    match serde_json::from_value::<ExperimentConfig>(Value::Object(map.clone())) {
        Ok(cfg) => {
            cfg.validate()?;
            Ok(cfg)
        }
        Err(whole) => {
            for (key, value) in map {
                let single = Map::from_iter([(key.clone(), value)]);
                if let Err(e) = serde_json::from_value::<ExperimentConfig>(Value::Object(single)) {
                    return Err(Error::Parse { message: format!("invalid config: {key}: {e}"), field: Some(key) });
                }
            }
            Err(Error::parse(format!("invalid config: {whole}")))
        }
    }
}

pub fn layout(trainer: &Trainer) -> Layout {
    let (cfg, data) = (&trainer.cfg, &trainer.data);
    let two_d = data.features == 2;
    let n = if two_d { data.train.len().min(POINTS) } else { 0 };
    Layout {
        features: data.features as u32,
        classes: data.classes as u32,
        depth: cfg.depth as u32,
        width: cfg.width as u32,
        residual: cfg.residual,
        conv: cfg.conv,
        image: data.image.map_or(vec![], |(h, w)| vec![h as u32, w as u32]),
        shapes: trainer.net.shapes.iter().map(|s| s.map(|v| v as u32)).collect(),
        norm: cfg.norm,
        norm_placement: placement_name(cfg).into(),
        normalized: trainer.net.layers.iter().map(|l| l.norm.kind() != NormKind::None).collect(),
        steps_per_epoch: trainer.steps_per_epoch() as u32,
        train_samples: data.train.len() as u32,
        test_samples: data.test.len() as u32,
        probe_samples: trainer.probe_input.dim(1).unwrap_or(0) as u32,
        range: vec![data.range.0, data.range.1],
        points: data.train.x[..2 * n].to_vec(),
        labels: data.train.y[..n].to_vec(),
    }
}

fn placement_name(cfg: &ExperimentConfig) -> &'static str {
    match NormConfig::from_experiment(cfg).placement() {
        None => "none",
        Some(Placement::PreWeight) => "pre_weight",
        Some(Placement::PostWeight) => "post_weight",
        Some(Placement::Membrane) => "membrane",
    }
}

/// Spikes and membrane of probe sample `sample` in hidden layer `layer` (both clamped),
/// from the taps of [`Trainer::probe_with_taps`].
pub fn raster(trainer: &Trainer, taps: &Taps, layer: usize, sample: usize) -> Result<Raster> {
    let layer = layer.min(taps.spikes.len().saturating_sub(1));
    let sample = sample.min(trainer.probe_input.dim(1)?.saturating_sub(1));
    // [T, W] for the chosen sample.
    let spikes = taps.spikes[layer].i((.., sample, ..))?.contiguous()?;
    let membrane = taps.membrane[layer].i((.., sample, ..))?.contiguous()?;
    let (steps, width) = spikes.dims2()?;
    let neurons = width.min(RASTER_NEURONS);
    let shown: Vec<u32> = (0..neurons).map(|i| (i * width / neurons) as u32).collect();
    let shown_idx = Tensor::from_vec(shown.clone(), neurons, &trainer.device)?;
    let traced = traced_neurons(&spikes, TRACES)?;
    let idx = Tensor::from_vec(traced.clone(), traced.len(), &trainer.device)?;
    Ok(Raster {
        layer: layer as u32,
        sample: sample as u32,
        steps: steps as u32,
        neurons: neurons as u32,
        spikes: spikes.index_select(&shown_idx, 1)?.flatten_all()?.to_vec1()?,
        shown,
        traced,
        membrane: membrane.index_select(&idx, 1)?.flatten_all()?.to_vec1()?,
        theta: trainer.cfg.theta,
    })
}

/// Up to `k` neurons spread over the range of activity (quietest to busiest), so the traces
/// show both a neuron that stays below threshold and one that fires.
///
/// Shapes: `spikes`: `[T, W]` -> at most `k` indices, ascending by spike count.
fn traced_neurons(spikes: &Tensor, k: usize) -> Result<Vec<u32>> {
    let counts = spikes.sum(0)?.to_vec1::<f32>()?;
    let mut order: Vec<u32> = (0..counts.len() as u32).collect();
    order.sort_by(|&a, &b| counts[a as usize].total_cmp(&counts[b as usize]).then(a.cmp(&b)));
    let k = k.min(order.len());
    if k <= 1 {
        return Ok(order[..k].to_vec());
    }
    let picks = (0..k).map(|i| order[i * (order.len() - 1) / (k - 1)]);
    let mut out: Vec<u32> = picks.collect();
    out.dedup();
    Ok(out)
}

/// Probability of class 1 (for two classes) over an `n x n` grid of the input plane, in
/// eval mode with the configured encoding. Row 0 is the top (largest second feature).
/// Empty unless the data set is 2-D.
pub fn decision_grid(trainer: &Trainer, n: usize) -> Result<Vec<f32>> {
    if trainer.data.features != 2 || n == 0 {
        return Ok(vec![]);
    }
    let (lo, hi) = trainer.data.range;
    let at = |i: usize| lo + (hi - lo) * (i as f32 + 0.5) / n as f32;
    let xs: Vec<f32> = (0..n * n).flat_map(|k| [at(k % n), at(n - 1 - k / n)]).collect();
    let mut rng = Rng::new(trainer.cfg.seed).fork(GRID_SALT);
    let cfg = &trainer.cfg;
    let input = encode(&xs, (n * n, 2), cfg.timesteps, cfg.encoding, trainer.data.range, &mut rng, &trainer.device)?;
    let (logits, _) = trainer.net.forward(&input, Mode::Eval, false)?;
    let probs = candle_nn::ops::softmax(&logits, 1)?;
    Ok(probs.i((.., 1))?.to_vec1()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatasetKind;

    fn small(dataset: DatasetKind) -> Trainer {
        let cfg = ExperimentConfig { dataset, samples: 64, depth: 3, width: 10, timesteps: 4, probe_samples: 16, ..Default::default() };
        Trainer::new(cfg).expect("small config builds")
    }

    #[test]
    fn raster_has_t_by_w_binary_spikes_and_traces() {
        let t = small(DatasetKind::Spiral);
        let (_, taps) = t.probe_with_taps().unwrap();
        let r = raster(&t, &taps, 1, 3).unwrap();
        assert_eq!((r.layer, r.sample, r.steps, r.neurons), (1, 3, 4, 10));
        assert_eq!(r.spikes.len(), 4 * 10);
        assert!(r.spikes.iter().all(|&s| s == 0.0 || s == 1.0));
        assert_eq!(r.traced.len(), TRACES);
        assert_eq!(r.membrane.len(), 4 * TRACES);
        assert_eq!(r.theta, 1.0);
        // Out-of-range requests clamp to the last layer and sample.
        let r = raster(&t, &taps, 99, 999).unwrap();
        assert_eq!((r.layer, r.sample), (2, 15));
    }

    #[test]
    fn a_wide_layer_shows_evenly_spaced_neurons() {
        let cfg = ExperimentConfig { dataset: DatasetKind::Digits, conv: true, depth: 1, width: 4, pools: 0, timesteps: 2, probe_samples: 2, ..Default::default() };
        let t = Trainer::new(cfg).unwrap();
        let (_, taps) = t.probe_with_taps().unwrap();
        let r = raster(&t, &taps, 0, 1).unwrap();
        // 4 channels x 8 x 8 = 256 neurons: every second one, covering all four channels.
        assert_eq!(r.neurons, 128);
        assert_eq!(r.shown.len(), 128);
        assert_eq!((r.shown[0], r.shown[1], r.shown[127]), (0, 2, 254));
        let all: Vec<f32> = taps.spikes[0].i((.., 1, ..)).unwrap().contiguous().unwrap().flatten_all().unwrap().to_vec1().unwrap();
        for (k, &n) in r.shown.iter().enumerate() {
            assert_eq!(r.spikes[128 + k], all[256 + n as usize], "step 2, shown neuron {k} is neuron {n}");
        }
    }

    #[test]
    fn traced_neurons_span_quiet_to_busy() {
        // T = 2, W = 4; spike counts per neuron: 2, 0, 1, 2.
        let s = Tensor::from_vec(vec![1f32, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0], (2, 4), &candle_core::Device::Cpu).unwrap();
        assert_eq!(traced_neurons(&s, 2).unwrap(), vec![1, 3]);
        assert_eq!(traced_neurons(&s, 8).unwrap(), vec![1, 2, 0, 3]);
    }

    #[test]
    fn decision_grid_is_probabilities_for_2d_and_empty_for_digits() {
        let t = small(DatasetKind::Moons);
        let g = decision_grid(&t, 6).unwrap();
        assert_eq!(g.len(), 36);
        assert!(g.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!(decision_grid(&small(DatasetKind::Digits), 6).unwrap().is_empty());
    }

    #[test]
    fn layout_describes_net_and_points() {
        let t = small(DatasetKind::Circles);
        let l = layout(&t);
        assert_eq!((l.features, l.classes, l.depth, l.width), (2, 2, 3, 10));
        assert_eq!(l.norm_placement, "pre_weight");
        assert_eq!(l.normalized, vec![false, true, true], "direct input current is not normalized");
        assert_eq!(l.points.len(), 2 * l.labels.len());
        let cfg = ExperimentConfig { norm: NormKind::Bn, ..t.cfg.clone() };
        assert_eq!(placement_name(&cfg), "post_weight");
    }

    #[test]
    fn encoded_input_shows_the_probe_sample_over_time() {
        let cfg = ExperimentConfig { dataset: DatasetKind::Digits, encoding: crate::config::Encoding::Latency, conv: true, depth: 2, width: 4, timesteps: 6, probe_samples: 4, ..Default::default() };
        let t = Trainer::new(cfg).unwrap();
        let e = encoded_input(&t, 99).unwrap();
        assert_eq!((e.sample, e.steps, e.features, e.image.clone()), (3, 6, 64, vec![8, 8]), "sample clamped to the probe batch");
        assert_eq!(e.label, t.data.train.y[3]);
        let pixels = &t.data.train.x[3 * 64..4 * 64];
        for (f, &p) in pixels.iter().enumerate() {
            let fired: Vec<usize> = (0..6).filter(|&s| e.values[s * 64 + f] == 1.0).collect();
            // Latency: one spike, the brighter the earlier; dark pixels never fire.
            let want = if p > 0.0 { vec![((1.0 - p) * 5.0).round() as usize] } else { vec![] };
            assert_eq!(fired, want, "pixel {f} of intensity {p}");
        }
        let l = layout(&t);
        assert_eq!((l.conv, l.image.clone()), (true, vec![8, 8]));
        assert_eq!(l.shapes, vec![[4, 8, 8], [4, 4, 4]], "2 pools over depth 2: one after each layer");
    }

    #[test]
    fn parse_config_names_a_mistyped_field() {
        let map = |text: &str| serde_json::from_str::<Map<String, Value>>(text).unwrap();
        let err = parse_config(map(r#"{"depth": 2, "width": "wide"}"#)).unwrap_err().to_string();
        assert!(err.contains("width"), "{err}");
        let err = parse_config(map(r#"{"depht": 2}"#)).unwrap_err().to_string();
        assert!(err.contains("depht"), "{err}");
        let err = parse_config(map(r#"{"beta": 2.0}"#)).unwrap_err().to_string();
        assert!(err.contains("beta"), "{err}");
        assert_eq!(parse_config(map(r#"{"seed": 7}"#)).unwrap().seed, 7);
    }
}
