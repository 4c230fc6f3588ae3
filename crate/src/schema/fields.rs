//! The table of config fields and cross-field rules (see `schema.rs`). A new setting is a field
//! of `ExperimentConfig` (config.rs: its type and default) and one entry here; the CLI flag, the
//! page's control, the link and the validation follow from them.

use serde::Serialize;
use serde_json::{json, Value};

use super::{bound_text, expr, Field, Group, Kind, Rule};
use crate::topology::fan_in;
use crate::config::{limits, DatasetKind, Encoding, ExperimentConfig, LrSchedule, NormKind, OptimizerKind, PspPlacement, PspStats, Readout, Reset, SurrogateKind};

fn names<T: Serialize>(all: &[T]) -> Vec<String> {
    all.iter().filter_map(|v| serde_json::to_value(v).ok()?.as_str().map(str::to_owned)).collect()
}

fn field(name: &'static str, label: &'static str, group: Group, kind: Kind) -> Field {
    let default = serde_json::to_value(ExperimentConfig::default()).ok().and_then(|d| d.get(name).cloned()).unwrap_or(Value::Null);
    Field {
        name, label, group, kind, default, page_default: Value::Null, options: vec![], min: None, max: None, exclusive_min: false,
        exclusive_max: false, bound: String::new(), bound_note: "", step: None, unit: "", help: "", unused_when: Value::Null,
        unused_note: "", single: false,
    }
}

fn int(name: &'static str, label: &'static str, group: Group, min: u64, max: u64) -> Field {
    Field { min: Some(min as f64), max: Some(max as f64), ..field(name, label, group, Kind::Int) }
}

/// An f64 field in `[min, max]` (see [`Field::open`] and [`Field::single`]).
fn float(name: &'static str, label: &'static str, group: Group, min: f64, max: f64, step: f64) -> Field {
    Field { min: Some(min), max: Some(max), step: Some(step), ..field(name, label, group, Kind::Float) }
}

fn flag(name: &'static str, label: &'static str, group: Group) -> Field {
    field(name, label, group, Kind::Bool)
}

fn choice<T: Serialize>(name: &'static str, label: &'static str, group: Group, all: &[T]) -> Field {
    Field { options: names(all), ..field(name, label, group, Kind::Enum) }
}

impl Field {
    fn help(self, help: &'static str) -> Self {
        Field { help, ..self }
    }
    fn unit(self, unit: &'static str) -> Self {
        Field { unit, ..self }
    }
    fn unused(self, when: Value, note: &'static str) -> Self {
        Field { unused_when: when, unused_note: note, ..self }
    }
    fn page(self, page_default: Value) -> Self {
        Field { page_default, ..self }
    }
    /// Bound exclusive at the low / high end.
    fn open(self, exclusive_min: bool, exclusive_max: bool) -> Self {
        Field { exclusive_min, exclusive_max, ..self }
    }
    fn note(self, bound_note: &'static str) -> Self {
        Field { bound_note, ..self }
    }
    /// An f32 field.
    fn single(self) -> Self {
        Field { single: true, ..self }
    }
}

/// The data sets generated from the seed (2-D points; the rest are images or files).
fn generated() -> Vec<String> {
    names(&DatasetKind::ALL.iter().copied().filter(|d| d.is_generated()).collect::<Vec<_>>())
}

/// Every field, in the order of the page's control panel.
pub(super) fn table() -> Vec<Field> {
    use limits::*;
    use Group::*;
    let not_generated = json!(["not", ["in", "dataset", generated()]]);
    let not_psp = json!(["not", ["in", "norm", ["psp"]]]);
    let psp_only = "only PSP normalization uses it";
    let fields = vec![
        choice("dataset", "Data set", Data, &DatasetKind::ALL).page(json!("moons")).help(
            "The 2-D sets are points in a plane; digits are 8x8 handwritten digits (10 classes); mnist14 / mnist28 are 10,000 MNIST \
             digits at 14x14 / 28x28 (downloaded when first used); custom is a file of your own (drop it on the page).",
        ),
        int("samples", "Samples", Data, 8, MAX_SAMPLES as u64).unit("samples")
            .help("Points generated for the 2-D sets (the image sets and files have their own count).")
            .unused(not_generated.clone(), "set by the data set (digits 1797, mnist 10,000)"),
        float("noise", "Noise", Data, 0.0, 1.0, 0.01).single()
            .help("Standard deviation of the noise added to the 2-D points, in units of the data's scale.")
            .unused(not_generated, "only the 2-D sets get noise"),
        float("test_fraction", "Test fraction", Data, 0.05, 0.9, 0.05).single().help("Fraction of the samples held out for testing."),
        choice("encoding", "Input encoding", Data, &Encoding::ALL).help(
            "direct: the value is a constant current; poisson: random spikes at a rate set by the value; latency: one spike each, \
             the brighter the earlier.",
        ),
        int("timesteps", "Time steps T", Network, 1, MAX_TIMESTEPS as u64).unit("steps").help("How many steps each sample is shown for."),
        int("depth", "Depth (layers)", Network, 1, MAX_DEPTH as u64).unit("layers")
            .help("Hidden weight layers (residual nets count the stem and every block layer)."),
        int("width", "Width (neurons)", Network, 1, MAX_WIDTH as u64).unit("neurons").help("Neurons per hidden layer (channels of a conv net)."),
        flag("residual", "Residual blocks", Network).help("Pre-activation residual blocks (needs depth >= 2)."),
        flag("conv", "Convolutional", Network).help(
            "3x3 convolutions with width channels instead of dense layers (image data only: digits, mnist, an IDX upload).",
        ),
        int("pools", "Pooling stages", Network, 0, MAX_POOLS as u64)
            .help("2x2 pooling stages spread over the depth; each halves the feature maps.")
            .unused(json!(["not", "conv"]), "only conv nets pool"),
        flag("zero_init_residual", "Zero-init residual", Network).help("Start each residual block as the identity (its last gain or weight at zero)."),
        choice("norm", "Normalization", Network, &NormKind::ALL).help(
            "psp: the paper's PSP normalization of the spike trace before each weight. On the current after the weight: bn (batch \
             norm), tdbn (BN scaled by the threshold), tebn (BN with a learned scale per time step), bntt (one BN per time step), \
             layer and rms (per sample). mpbn: batch norm of the membrane just before it fires.",
        ),
        float("psp_eps", "PSP eps", Network, 1e-8, 1.0, 0.001)
            .help("eps in a / sqrt(mean(a^2) + eps): the firing rate below which the PSP norm stops amplifying a synapse.")
            .unused(not_psp.clone(), psp_only),
        choice("psp_stats", "PSP statistics", Network, &PspStats::ALL)
            .help("shared: one mean(a^2) per neuron over all time steps and the batch (our reading of the paper); per_step: one per time step.")
            .unused(not_psp.clone(), psp_only),
        flag("psp_shift", "PSP shift (beta)", Network)
            .help("Add a learned shift after the division (the paper's optional beta).")
            .unused(not_psp.clone(), psp_only),
        choice("psp_placement", "PSP acts on", Network, &PspPlacement::ALL)
            .help("trace: the incoming spike trace, before the weight (the paper); current: the synaptic current, after it.")
            .unused(not_psp, psp_only),
        choice("readout", "Readout", Network, &Readout::ALL)
            .help("rate: spike counts of a last spiking layer; membrane: the mean membrane of a last non-spiking layer."),
        float("init_scale", "Init scale", Network, 0.0, 100.0, 0.1).single().open(true, false)
            .help("Scale of the initial weights: uniform with variance init_scale^2 / fan_in."),
        float("beta", "Leak beta", Neuron, 0.0, 1.0, 0.05).single().note(" (1 = IF neuron)")
            .help("How much membrane potential is kept each step (1 = no leak: the IF neuron)."),
        float("theta", "Threshold theta", Neuron, 0.0, 100.0, 0.1).single().open(true, false).help("The membrane potential at which a neuron fires."),
        choice("reset", "Reset", Neuron, &Reset::ALL).help("hard: back to zero after a spike; soft: subtract the threshold, keep the excess."),
        flag("detach_reset", "Detach reset", Neuron).help("Detach the spike in the reset path from the gradient (a common stabilizer)."),
        float("psp_lambda", "PSP decay lambda", Neuron, 0.0, 1.0, 0.05).single().open(false, true)
            .help("How long a spike keeps acting on the next layer: the PSP trace decay exp(-1/tau_s) (0 = one step)."),
        choice("surrogate", "Surrogate", Neuron, &SurrogateKind::ALL).help("The smooth step whose slope stands in for the spike's derivative."),
        float("surrogate_width", "Surrogate width", Neuron, 0.01, 100.0, 0.1).single().help("Each surrogate peaks at 1/width and integrates to one."),
        choice("optimizer", "Optimizer", Training, &OptimizerKind::ALL),
        float("lr", "Learning rate", Training, 0.0, 10.0, 0.001).open(true, false).page(json!(0.003)).help("How big each learning step is."),
        choice("lr_schedule", "LR schedule", Training, &LrSchedule::ALL).help("constant, or cosine: from lr down to 0 over the epochs."),
        float("weight_decay", "Weight decay", Training, 0.0, 1.0, 0.0001)
            .help("Decoupled weight decay (AdamW's, or w *= 1 - lr * wd before each SGD step)."),
        int("batch", "Batch size", Training, 1, MAX_BATCH as u64).unit("samples"),
        int("epochs", "Epochs", Training, 1, MAX_EPOCHS as u64).unit("epochs")
            .help("How long a run trains (and the length of the cosine schedule); a run stops after them unless open-ended."),
        flag("open_ended", "Open-ended", Training)
            .help("Keep training past the set epochs until you pause (in the page; the CLI always stops after them)."),
        int("probe_samples", "Probe samples", Training, 1, MAX_PROBE as u64).unit("samples")
            .help("Samples in the fixed probe batch the firing-rate statistics are taken on."),
        int("seed", "Seed", Training, 0, MAX_SEED).help("Same seed and settings = the same run, step for step."),
    ];
    fields
        .into_iter()
        .map(|f| Field { bound: bound_text(f.kind, f.min, f.max, f.exclusive_min, f.exclusive_max), default: shortest(&f), ..f })
        .collect()
}

/// An f32 default as the shortest decimal that reads back as it (0.05, not 0.0500000007).
fn shortest(f: &Field) -> Value {
    match f.default.as_f64() {
        Some(x) if f.single => (x as f32).to_string().parse::<f64>().map_or(f.default.clone(), Value::from),
        _ => f.default.clone(),
    }
}

fn rule(field: &'static str, when: Value, values: Vec<(&'static str, Value)>, require: Value, bound: &'static str, got: &'static str, message: &'static str) -> Rule {
    let mut reads = vec![field.to_owned()];
    for e in values.iter().map(|(_, e)| e).chain([&when, &require]) {
        expr::reads(e, &mut reads);
    }
    let named: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
    reads.retain(|r| !named.contains(&r.as_str()));
    Rule { field, when, values, require, bound, got, message, reads }
}

/// The rules over several fields, in the order they are checked. The data-dependent checks
/// (features, classes, image size: `ExperimentConfig::validate_for_data`) need the data and
/// stay in code.
pub(super) fn rules() -> Vec<Rule> {
    use limits::*;
    // A hidden layer's weights: width outputs x fan_in(width) inputs (x 9 for a 3x3 conv).
    let weights = json!(["*", "depth", "width", "width", ["if", "conv", fan_in(1, true), fan_in(1, false)]]);
    let cells = json!(["*", ["+", "depth", 2], "timesteps", ["max", "batch", "probe_samples"], "width"]);
    let activations = "(depth + 2) x timesteps x max(batch, probe_samples) x width = {cells} activations exceeds 16777216; \
                       lower batch, probe_samples, timesteps, width or depth";
    debug_assert_eq!((MAX_WEIGHTS, MAX_ACTIVATIONS), (8_388_608, 16_777_216), "the messages below name these bounds");
    vec![
        rule("depth", json!("residual"), vec![], json!([">=", "depth", 2]), "depth >= 2", "{depth}",
            "a residual net needs depth >= 2 (a stem and at least one block layer)"),
        rule("pools", json!("conv"), vec![], json!(["<=", "pools", "depth"]), "pools <= depth = {depth}", "{pools}",
            "a conv net pools after its layers: at most depth = {depth}, got {pools}"),
        rule("width", json!(["not", "conv"]), vec![("weights", weights.clone())], json!(["<=", "weights", MAX_WEIGHTS as f64]),
            "at most 8388608 weights", "{weights}", "depth x width^2 = {weights} weights exceeds 8388608; lower width or depth"),
        rule("width", json!("conv"), vec![("weights", weights)], json!(["<=", "weights", MAX_WEIGHTS as f64]),
            "at most 8388608 weights", "{weights}", "depth x width^2 x 9 = {weights} weights exceeds 8388608; lower width or depth"),
        // (The message's 9 is fan_in(1, true); schema::tests checks the message.)
        // Conv nets are bounded by their feature maps, which need the image size (validate_for_data).
        rule("probe_samples", json!(["and", ["not", "conv"], [">", "probe_samples", "batch"]]), vec![("cells", cells.clone())],
            json!(["<=", "cells", MAX_ACTIVATIONS as f64]), "at most 16777216 activations", "{cells}", activations),
        rule("batch", json!(["and", ["not", "conv"], ["<=", "probe_samples", "batch"]]), vec![("cells", cells)],
            json!(["<=", "cells", MAX_ACTIVATIONS as f64]), "at most 16777216 activations", "{cells}", activations),
        rule("conv", json!("conv"), vec![], json!(["not", ["in", "dataset", generated()]]), "image data", "{dataset}",
            "a conv net needs image data (digits, mnist14, mnist28 or an IDX image upload); this data set has plain feature vectors"),
    ]
}
