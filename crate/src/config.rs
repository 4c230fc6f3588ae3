// Past 400 lines: ~190 are the enums the fields take, with their docs, and ~140 the tests; the struct, its defaults and the checks that need the data are the rest.
//! The one experiment configuration shared by the CLI, the tests and the browser.
//!
//! Every field has a default, unknown fields are rejected, and [`ExperimentConfig::validate`]
//! names the offending field and its bound. The bounds, labels, help and cross-field rules are
//! in the schema (`schema.rs`, `schema/fields.rs`), which the CLI's flags and the page's
//! controls are built from, so the serde names are the public names.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `Enum::ALL`, every variant in order. The match below lists them without a wildcard, so a
/// variant added to the enum but not here fails to compile.
macro_rules! variants {
    ($t:ident { $($v:ident),* $(,)? }) => {
        impl $t {
            /// Every variant, in declaration order.
            pub const ALL: [$t; [$(stringify!($v)),*].len()] = [$($t::$v),*];
        }
        const _: fn($t) = |x| match x {
            $($t::$v)|* => (),
        };
    };
}

/// Which data set to train on. The 2-D sets are generated from the seed; `digits` is the
/// 8x8 UCI optdigits set shipped in `data/digits/`; `mnist14` / `mnist28` are the 10,000
/// image MNIST subset of `data/mnist/` at 14x14 and 28x28; `custom` is a file the user
/// brings (an IDX pair or a CSV: the page's upload, the CLI's `--data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    Spiral,
    Circles,
    Xor,
    Gaussians,
    Moons,
    Digits,
    Mnist14,
    Mnist28,
    Custom,
}

variants!(DatasetKind { Spiral, Circles, Xor, Gaussians, Moons, Digits, Mnist14, Mnist28, Custom });

impl DatasetKind {
    /// The 2-D sets generated from the seed (the others are images or a user's file).
    pub fn is_generated(self) -> bool {
        matches!(self, DatasetKind::Spiral | DatasetKind::Circles | DatasetKind::Xor | DatasetKind::Gaussians | DatasetKind::Moons)
    }

    /// The files of a shipped data set in `data/`, images first (empty for generated sets
    /// and for `digits`, which is embedded).
    pub fn files(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist14 => &["mnist/mnist14-images.idx3-ubyte.gz", "mnist/mnist-labels.idx1-ubyte.gz"],
            DatasetKind::Mnist28 => &["mnist/mnist28-images.idx3-ubyte.gz", "mnist/mnist-labels.idx1-ubyte.gz"],
            _ => &[],
        }
    }
}

/// How a real-valued sample becomes the input of the first layer over `T` steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The sample is injected as a constant current at every step.
    Direct,
    /// Each feature, scaled to [0, 1], fires with that probability at every step.
    Poisson,
    /// Each feature, scaled to `p` in [0, 1], fires once, at step `round((1 - p)(T - 1))`:
    /// the brighter, the earlier (time-to-first-spike); `p = 0` never fires.
    Latency,
}

variants!(Encoding { Direct, Poisson, Latency });

/// What happens to the membrane after a spike (METHOD.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reset {
    /// `u <- u * (1 - s)`: back to zero.
    Hard,
    /// `u <- u - theta * s`: subtract the threshold, keep the excess.
    Soft,
}

variants!(Reset { Hard, Soft });

/// Which smooth step stands in for the Heaviside derivative in the backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurrogateKind {
    Sigmoid,
    FastSigmoid,
    Atan,
    Triangle,
    Rectangular,
}

variants!(SurrogateKind { Sigmoid, FastSigmoid, Atan, Triangle, Rectangular });

/// Which normalization every layer uses (METHOD.md, table; `norm.rs` has the equations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    None,
    /// The paper's PSP normalization: the PSP trace divided by the root of its second raw
    /// moment, before the weight (switches: `psp_stats`, `psp_shift`, `psp_placement`).
    Psp,
    /// Batch normalization of the synaptic current after the weight.
    Bn,
    /// Threshold-dependent BN (Zheng et al. 2021): BN scaled by `alpha * theta`.
    Tdbn,
    /// Temporal effective BN (Duan et al. 2022): BN, then a learnable scale per time step.
    Tebn,
    /// BN through time (Kim & Panda 2021): one BN per time step, no shift.
    Bntt,
    /// Membrane-potential BN (Guo et al. 2023): BN of the membrane before it fires.
    Mpbn,
    /// Layer normalization of the current, per sample and time step.
    Layer,
    /// RMS normalization of the current, per sample and time step.
    Rms,
}

// In the order of METHOD.md's table.
variants!(NormKind { None, Psp, Bn, Tdbn, Tebn, Bntt, Mpbn, Layer, Rms });

/// Over what the PSP norm takes its second moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PspStats {
    /// One moment per feature over time and batch (our reading of the paper).
    Shared,
    /// One moment per feature and time step, over the batch.
    PerStep,
}

variants!(PspStats { Shared, PerStep });

/// What the PSP norm divides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PspPlacement {
    /// The PSP trace `a`, before the weight (the paper's placement).
    Trace,
    /// The synaptic current `I = W a + b`, after the weight.
    Current,
}

variants!(PspPlacement { Trace, Current });

/// How the readout layer turns into logits for the cross-entropy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// Spike count of a final spiking layer (rate x T).
    Rate,
    /// Mean membrane of a final non-spiking leaky integrator.
    Membrane,
}

variants!(Readout { Rate, Membrane });

/// How the learning rate moves over the `epochs` of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    Constant,
    /// `lr * (1 + cos(pi * step / total)) / 2` (Loshchilov & Hutter 2017, no restarts).
    Cosine,
}

variants!(LrSchedule { Constant, Cosine });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Adam,
    Sgd,
}

variants!(OptimizerKind { Adam, Sgd });

/// Everything that defines a run. Two runs with equal configs are bit-identical.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    pub dataset: DatasetKind,
    /// Samples generated for the 2-D data sets (ignored by `digits`).
    pub samples: usize,
    /// Noise of the 2-D generators, in units of the data's scale.
    pub noise: f32,
    /// Fraction of the samples held out for testing.
    pub test_fraction: f32,
    pub encoding: Encoding,
    /// Time steps `T` per sample.
    pub timesteps: usize,
    /// Hidden weight layers (residual nets count the stem and every block layer).
    pub depth: usize,
    pub width: usize,
    /// Pre-activation residual blocks (METHOD.md) instead of a plain stack.
    pub residual: bool,
    /// Convolutional layers (3x3, padding 1, `width` channels) on image data instead of
    /// dense ones; the readout stays dense.
    pub conv: bool,
    /// Conv nets: 2x2 pooling stages spread over the depth (max pooling of spikes; in
    /// residual nets average pooling of the residual stream at a block boundary).
    pub pools: usize,
    /// Start every residual branch at zero (the gain of its last norm, or its last weight
    /// without a norm), so each block begins as the identity (Goyal et al. 2017).
    pub zero_init_residual: bool,
    /// Membrane leak `beta`; 1 gives the IF neuron.
    pub beta: f32,
    /// Firing threshold `theta`.
    pub theta: f32,
    pub reset: Reset,
    /// Detach the spike in the reset path from the graph (a common stabilizer).
    pub detach_reset: bool,
    /// PSP trace decay `lambda = exp(-1/tau_s)`; 0 passes raw spikes.
    pub psp_lambda: f32,
    pub surrogate: SurrogateKind,
    /// Surrogate width `w`: each surrogate peaks at `1/w` and integrates to one.
    pub surrogate_width: f32,
    pub norm: NormKind,
    /// `eps` of the PSP norm, `a / sqrt(mean(a^2) + eps)`. For spikes `mean(a^2)` is the
    /// firing rate; BN's customary 1e-5 let silent neurons amplify gradients 316x and broke
    /// plain nets from depth 8 on (docs/METHOD.md).
    pub psp_eps: f64,
    /// PSP norm: moment shared over time steps or taken per step.
    pub psp_stats: PspStats,
    /// PSP norm: add a learnable shift (the paper's beta; off by default).
    pub psp_shift: bool,
    /// PSP norm: on the trace (before the weight) or on the current (after it).
    pub psp_placement: PspPlacement,
    pub readout: Readout,
    /// Scale of the initial weights: uniform with variance `init_scale^2 / fan_in`.
    pub init_scale: f32,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub lr_schedule: LrSchedule,
    /// Decoupled weight decay (Loshchilov & Hutter 2019): AdamW's, or `w *= 1 - lr * wd`
    /// before each SGD step.
    pub weight_decay: f64,
    pub batch: usize,
    pub epochs: usize,
    /// The page trains past `epochs` until paused (false: a run stops after them, as the
    /// CLI's always does).
    pub open_ended: bool,
    /// Samples in the fixed probe batch used for firing-rate statistics.
    pub probe_samples: usize,
    /// Seed of the one RNG behind init, data, shuffling and encoding. Kept below 2^53 so
    /// that it survives a trip through JavaScript numbers.
    pub seed: u64,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::Spiral,
            samples: 1000,
            noise: 0.05,
            test_fraction: 0.2,
            encoding: Encoding::Direct,
            timesteps: 8,
            depth: 4,
            width: 64,
            residual: false,
            conv: false,
            pools: 2,
            zero_init_residual: true,
            beta: 0.9,
            theta: 1.0,
            reset: Reset::Hard,
            detach_reset: true,
            psp_lambda: 0.0,
            surrogate: SurrogateKind::Atan,
            surrogate_width: 2.0,
            norm: NormKind::Psp,
            psp_eps: 1e-2,
            psp_stats: PspStats::Shared,
            psp_shift: false,
            psp_placement: PspPlacement::Trace,
            readout: Readout::Rate,
            init_scale: 1.0,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            lr_schedule: LrSchedule::Constant,
            weight_decay: 0.0,
            batch: 32,
            epochs: 10,
            open_ended: false,
            probe_samples: 128,
            seed: 0,
        }
    }
}

/// Upper bounds that keep a run within a browser tab's memory and a student's patience.
pub mod limits {
    pub const MAX_SAMPLES: usize = 100_000;
    pub const MAX_TIMESTEPS: usize = 256;
    pub const MAX_DEPTH: usize = 256;
    pub const MAX_WIDTH: usize = 4096;
    pub const MAX_BATCH: usize = 4096;
    pub const MAX_EPOCHS: usize = 100_000;
    pub const MAX_PROBE: usize = 1024;
    pub const MAX_POOLS: usize = 6;
    /// JavaScript numbers hold integers exactly up to 2^53.
    pub const MAX_SEED: u64 = (1 << 53) - 1;
    /// Hidden weights, `depth x width^2` (2^23 = 8.4M floats, 32 MiB): with gradients and
    /// Adam's two moments that is ~130 MiB, within a browser tab's 4 GiB wasm memory, and a
    /// step stays in seconds, not minutes.
    pub const MAX_WEIGHTS: u128 = 1 << 23;
    /// Activations one forward pass keeps for backprop,
    /// `(depth + 2) x timesteps x max(batch, probe_samples) x width` (2^24 = 16.8M cells;
    /// evaluation runs in chunks of that many samples too); autograd holds about eleven f32
    /// tensors of this size (the LIF layers keep their charged membrane), ~740 MiB.
    pub const MAX_ACTIVATIONS: u128 = 1 << 24;
}

/// The config field a serde error is about: the top key of its path (an unknown key too).
pub fn path_field<E>(e: &serde_path_to_error::Error<E>) -> Option<String> {
    match e.path().iter().next() {
        Some(serde_path_to_error::Segment::Map { key }) => Some(key.clone()),
        _ => None,
    }
}

/// serde reads a JSON array as a struct's fields in order; a config must be an object.
const NOT_AN_OBJECT: &str = r#"expected an object of fields, like {"depth": 4, "width": 64}"#;

/// A check of `validate_for_data`: the error names `field`; `reads` are the config fields
/// the bound is made of (the data's sizes are fixed), so the page can choose one to lower.
fn check(ok: bool, field: &'static str, reads: &[&'static str], message: String) -> Result<()> {
    if ok {
        return Ok(());
    }
    let mut all = vec![field];
    all.extend(reads.iter().filter(|r| **r != field));
    Err(Error::Config { field, message, bound: None, got: None, reads: all })
}

/// The config fields the activation bound of a conv net is made of, the likeliest cost of a
/// link first (the page resets the first of them that the link set, when the named one is at
/// its default).
const CONV_CELLS: [&str; 6] = ["pools", "width", "depth", "timesteps", "batch", "probe_samples"];

// `ExperimentConfig::validate` is in schema.rs, beside the table it checks.
impl ExperimentConfig {
    /// Everything [`validate`](Self::validate) checks (first: `conv_cells` walks `depth` and
    /// `pools`, which only `validate` keeps small), then the checks that need the data (`features` per sample, `classes`, the image size if
    /// the samples are images): a conv net needs images and enough pixels for its pools; the
    /// weights the data adds (the first dense layer's `features x width`, the readout's
    /// `width x classes`, or for a conv net `width x final map x classes`) and the encoded
    /// input and feature maps stay within the bounds. An upload can hold 2^26 values in any
    /// shape, so this is where a wide file or a huge image is refused, before any allocation.
    pub fn validate_for_data(&self, features: usize, classes: usize, image: Option<(usize, usize)>) -> Result<()> {
        use limits::*;
        self.validate()?;
        let c = self;
        let field = if c.probe_samples > c.batch { "probe_samples" } else { "batch" };
        let steps = c.timesteps as u128 * c.forward_samples() as u128;
        if !c.conv {
            let input = features as u128 * c.width as u128;
            check(input <= MAX_WEIGHTS, "width", &[], format!("the data's {features} features x width {} = {input} input weights exceeds {MAX_WEIGHTS}; lower width (or use data with fewer features)", c.width))?;
            let head = c.width as u128 * classes as u128;
            check(head <= MAX_WEIGHTS, "width", &[], format!("width {} x the data's {classes} classes = {head} readout weights exceeds {MAX_WEIGHTS}; lower width", c.width))?;
            let cells = steps.saturating_mul(features as u128);
            check(cells <= MAX_ACTIVATIONS, field, &["batch", "probe_samples", "timesteps"], format!("timesteps x max(batch, probe_samples) x the data's {features} features = {cells} input values exceeds {MAX_ACTIVATIONS}; lower batch, probe_samples or timesteps"))?;
            return Ok(());
        }
        let Some((h, w)) = image else {
            return Err(Error::config("conv", "a conv net needs image data (digits, mnist14, mnist28 or an IDX image upload); this data set has plain feature vectors"));
        };
        let side = h.min(w);
        check(side >= 1, "conv", &[], format!("a conv net needs images of at least 1x1 pixel, got {h}x{w}"))?;
        check(side >> c.pools >= 1, "pools", &[], format!("{} 2x2 pools shrink a {h}x{w} image below one pixel; at most {}", c.pools, side.ilog2()))?;
        let cells = steps.saturating_mul(c.conv_cells(h, w));
        check(cells <= MAX_ACTIVATIONS, field, &CONV_CELLS, format!("timesteps x max(batch, probe_samples) x feature-map cells = {cells} activations exceeds {MAX_ACTIVATIONS}; lower batch, probe_samples, timesteps, width, depth or use more pools"))?;
        let pooled = c.pool_schedule().iter().sum::<usize>() as u32;
        let (fh, fw) = (h.checked_shr(pooled).unwrap_or(0), w.checked_shr(pooled).unwrap_or(0));
        let head = (c.width as u128 * fh as u128 * fw as u128).saturating_mul(classes as u128);
        check(head <= MAX_WEIGHTS, "pools", &["width"], format!("width {} x the final {fh}x{fw} feature map x {classes} classes = {head} readout weights exceeds {MAX_WEIGHTS}; use more pools or lower width", c.width))?;
        Ok(())
    }

    /// Cells of one sample at one step over the input, every hidden conv layer's map and
    /// the readout, for an `h x w` image (the conv analogue of `(depth + 2) x width`).
    /// Saturates rather than overflows for any image size.
    pub fn conv_cells(&self, h: usize, w: usize) -> u128 {
        let (mut h, mut w) = (h, w);
        let map = |h: usize, w: usize| (h as u128 * w as u128).saturating_mul(self.width as u128);
        let mut total = h as u128 * w as u128;
        for pools in self.pool_schedule() {
            total = total.saturating_add(map(h, w));
            (h, w) = (h.checked_shr(pools as u32).unwrap_or(0), w.checked_shr(pools as u32).unwrap_or(0));
        }
        total.saturating_add(map(h, w))
    }

    /// Conv nets: how many 2x2 pools follow each hidden layer. Pool `k` of `P` goes after
    /// layer `round(k D / P)` (1-based); a residual net moves it to the next point where
    /// the residual stream can be pooled (after the stem or a block).
    pub fn pool_schedule(&self) -> Vec<usize> {
        let d = self.depth;
        let mut after = vec![0; d];
        if !self.conv || d == 0 {
            return after;
        }
        for k in 1..=self.pools {
            let mut l = ((k * d) as f64 / self.pools as f64).round().max(1.0) as usize - 1;
            if self.residual {
                // The stream can be pooled after the stem (layer 0) or where a block ends.
                while !(l == 0 || crate::topology::ends_block(l, d)) {
                    l += 1;
                }
            }
            after[l.min(d - 1)] += 1;
        }
        after
    }

    /// The most samples one forward pass sees: a training batch, the probe batch, or an
    /// evaluation chunk (which is this size, so the activation bound covers it).
    pub fn forward_samples(&self) -> usize {
        self.batch.max(self.probe_samples)
    }

    /// Parses a JSON config, naming the unknown or mistyped field
    /// (`config JSON: depth: invalid type: ...`), then validates it.
    pub fn from_json(text: &str) -> Result<Self> {
        let fault = |e: &dyn std::fmt::Display| Error::parse(format!("config JSON: {e}"));
        if !text.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{') {
            return Err(fault(&NOT_AN_OBJECT));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let cfg: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Parse { field: path_field(&e), message: format!("config JSON: {e}") })?;
        de.end().map_err(|e| fault(&e))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads the fields of an already parsed JSON value, naming the unknown or mistyped
    /// field (`invalid config: depth: invalid type: ...`, the prefix of [`Error::Config`],
    /// which the page reads the field from). It does not validate: the CLI overlays its
    /// flags first.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        if !value.is_object() {
            return Err(Error::parse(format!("invalid config: {NOT_AN_OBJECT}")));
        }
        serde_path_to_error::deserialize(value).map_err(|e| Error::Parse { field: path_field(&e), message: format!("invalid config: {e}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips() {
        let c = ExperimentConfig::default();
        c.validate().expect("default config must validate");
        let text = serde_json::to_string(&c).expect("serialize");
        assert_eq!(ExperimentConfig::from_json(&text).expect("parse"), c);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases: [(&str, fn(&mut ExperimentConfig)); 5] = [
            ("timesteps", |c| c.timesteps = 0),
            ("beta", |c| c.beta = 1.5),
            ("lr", |c| c.lr = f64::NAN),
            ("width", |c| c.width = 0),
            ("seed", |c| c.seed = u64::MAX),
        ];
        for (field, mutate) in cases {
            let mut c = ExperimentConfig::default();
            mutate(&mut c);
            let err = c.validate().expect_err(field).to_string();
            assert!(err.contains(field), "error {err:?} should name {field}");
        }
    }

    #[test]
    fn networks_too_big_for_memory_are_rejected_before_allocation() {
        let wide = ExperimentConfig { depth: 4, width: 4096, ..Default::default() };
        assert!(wide.validate().expect_err("67M weights").to_string().contains("width: depth x width^2"));
        let long = ExperimentConfig { depth: 64, width: 256, timesteps: 64, batch: 256, ..Default::default() };
        assert!(long.validate().expect_err("275M activations").to_string().contains("batch:"));
        // The probe batch counts too: 258 x 8 x 1024 x 64 = 135M cells with batch 32.
        let probed = ExperimentConfig { depth: 256, width: 64, probe_samples: 1024, ..Default::default() };
        assert!(probed.validate().expect_err("probe batch").to_string().contains("probe_samples:"));
        // The largest nets the tests and the paper's story need still pass.
        ExperimentConfig { depth: 128, width: 256, timesteps: 4, batch: 64, probe_samples: 64, ..Default::default() }.validate().unwrap();
        ExperimentConfig { depth: 4, width: 1024, timesteps: 8, batch: 256, ..Default::default() }.validate().unwrap();
    }

    #[test]
    fn unknown_field_is_rejected_by_name() {
        let err = ExperimentConfig::from_json(r#"{"depht": 3}"#).expect_err("typo").to_string();
        assert!(err.contains("depht"), "{err}");
    }

    #[test]
    fn mistyped_values_name_their_field() {
        let cases = [
            (r#"{"depth": 1e30}"#, "config JSON: depth: invalid type: floating point `1e+30`, expected usize at line 1 column 14"),
            (r#"{"width": 64, "seed": -1}"#, "config JSON: seed: invalid value: integer `-1`, expected u64"),
            (r#"{"norm": "psb"}"#, "config JSON: norm: unknown variant `psb`, expected one of"),
            (r#"{"lr": "fast"}"#, "config JSON: lr: invalid type: string \"fast\", expected f64"),
            (r#"{"residual": 1}"#, "config JSON: residual: invalid type: integer `1`, expected a boolean"),
            (r#"{"samples": 18446744073709551616}"#, "config JSON: samples: invalid type: floating point"),
        ];
        for (text, want) in cases {
            let err = ExperimentConfig::from_json(text).expect_err(text).to_string();
            assert!(err.starts_with(want), "{text}: {err:?} should start with {want:?}");
        }
        let err = ExperimentConfig::from_json(r#"{"depth": 3} {"#).expect_err("trailing").to_string();
        assert!(err.starts_with("config JSON: trailing characters at line 1 column 14"), "{err}");
        // serde would read a JSON array as the fields in order; a config is an object.
        for text in [r#"["digits", 100]"#, " 3", ""] {
            let err = ExperimentConfig::from_json(text).expect_err(text).to_string();
            assert!(err.starts_with("config JSON: expected an object of fields"), "{text}: {err}");
        }
    }

    #[test]
    fn a_parsed_value_names_its_field_and_is_not_yet_validated() {
        let value = serde_json::json!({ "depth": 0, "width": [64] });
        let err = ExperimentConfig::from_value(value).expect_err("width is a list").to_string();
        assert_eq!(err, "invalid config: width: invalid type: sequence, expected usize");
        let err = ExperimentConfig::from_value(serde_json::json!(["digits"])).expect_err("array").to_string();
        assert!(err.starts_with("invalid config: expected an object of fields"), "{err}");
        // Out of bounds but well typed: read as is, so the CLI's flags can still fix it.
        let cfg = ExperimentConfig::from_value(serde_json::json!({ "depth": 0 })).expect("well typed");
        assert_eq!(cfg.depth, 0);
    }

    #[test]
    fn data_checks_survive_any_field_values_and_image_sizes() {
        let huge = ExperimentConfig { conv: true, depth: usize::MAX, pools: usize::MAX, width: usize::MAX, ..Default::default() };
        let err = huge.validate_for_data(64, 10, Some((8, 8))).expect_err("huge").to_string();
        assert!(err.starts_with("invalid config: depth:"), "{err}");
        let conv = ExperimentConfig { conv: true, pools: 2, dataset: DatasetKind::Custom, ..Default::default() };
        let err = conv.validate_for_data(0, 10, Some((0, 5))).expect_err("no pixels").to_string();
        assert_eq!(err, "invalid config: conv: a conv net needs images of at least 1x1 pixel, got 0x5");
        let err = conv.validate_for_data(usize::MAX, 10, Some((3, usize::MAX))).expect_err("one pool fits").to_string();
        assert!(err.contains("pools: 2 2x2 pools shrink a 3x18446744073709551615 image below one pixel; at most 1"), "{err}");
        let err = conv.validate_for_data(usize::MAX, 10, Some((usize::MAX, usize::MAX))).expect_err("too many cells").to_string();
        assert!(err.starts_with("invalid config: probe_samples: timesteps x max(batch, probe_samples) x feature-map cells"), "{err}");
        ExperimentConfig { width: 8, ..conv }.validate_for_data(64, 10, Some((8, 8))).expect("digits fit");
    }

    #[test]
    fn data_too_wide_or_too_many_classes_is_refused_before_the_net_is_built() {
        // An upload may hold 2^26 values in any shape: one wide row is a huge first layer.
        let dense = ExperimentConfig::default();
        let err = dense.validate_for_data(1 << 22, 2, None).expect_err("wide rows").to_string();
        assert!(err.starts_with("invalid config: width: the data's 4194304 features x width 64 = 268435456 input weights exceeds 8388608"), "{err}");
        let err = ExperimentConfig { width: 8, ..dense.clone() }.validate_for_data(1 << 17, 2, None).expect_err("encoded input").to_string();
        assert!(err.starts_with("invalid config: probe_samples: timesteps x max(batch, probe_samples) x the data's 131072 features"), "{err}");
        // (Uploads have at most 1000 classes, so only the API can reach this one.)
        let err = ExperimentConfig { width: 2048, depth: 1, batch: 1, probe_samples: 1, timesteps: 1, ..dense.clone() }
            .validate_for_data(2, 5000, None).expect_err("readout").to_string();
        assert!(err.starts_with("invalid config: width: width 2048 x the data's 5000 classes"), "{err}");
        // 256x256 images with 1000 classes and no pooling: a 64 x 256 x 256 x 1000 readout.
        let conv = ExperimentConfig { conv: true, pools: 0, dataset: DatasetKind::Custom, depth: 1, batch: 1, probe_samples: 1, timesteps: 1, ..dense.clone() };
        let err = conv.validate_for_data(256 * 256, 1000, Some((256, 256))).expect_err("conv readout").to_string();
        assert!(err.starts_with("invalid config: pools: width 64 x the final 256x256 feature map x 1000 classes"), "{err}");
        ExperimentConfig { pools: 5, depth: 5, ..conv }.validate_for_data(256 * 256, 1000, Some((256, 256))).expect("pooled to 8x8");
        // The shipped data sets still fit the default net.
        dense.validate_for_data(784, 10, None).expect("mnist28 dense");
        ExperimentConfig { conv: true, width: 8, dataset: DatasetKind::Mnist14, ..dense }.validate_for_data(196, 10, Some((14, 14))).expect("mnist14 conv");
    }
}

#[cfg(test)]
mod pool_tests {
    use super::*;

    #[test]
    fn pools_spread_over_the_depth_and_land_on_block_ends() {
        let plain = |depth, pools| ExperimentConfig { conv: true, depth, pools, ..Default::default() }.pool_schedule();
        assert_eq!(plain(2, 2), vec![1, 1]);
        assert_eq!(plain(4, 2), vec![0, 1, 0, 1]);
        assert_eq!(plain(3, 1), vec![0, 0, 1]);
        assert_eq!(plain(1, 2), vec![2]);
        let res = |depth, pools| ExperimentConfig { conv: true, residual: true, depth, pools, ..Default::default() }.pool_schedule();
        // depth 6: stem 0, blocks (1, 2), (3, 4), (5): pool points 0, 2, 4, 5.
        assert_eq!(res(6, 2), vec![0, 0, 1, 0, 0, 1]);
        assert_eq!(res(2, 2), vec![1, 1]);
        assert_eq!(res(101, 2), { let mut v = vec![0; 101]; v[50] = 1; v[100] = 1; v });
        assert_eq!(plain(4, 0), vec![0; 4]);
        assert_eq!(ExperimentConfig { depth: 4, ..Default::default() }.pool_schedule(), vec![0; 4], "dense nets never pool");
    }
}
