// Past 400 lines: four commands (train, compare and its merge, bench, eval), each with its flags and its progress output, the flags built from the schema, and the files a run reads and writes.
//! `spikeplay`: headless runs on the same code path as the browser.
//!
//! ```text
//! spikeplay train --dataset digits --depth 4 --width 128 --timesteps 8 --norm psp \
//!     [--residual] --epochs 30 --batch 64 --lr 1e-3 --seed 0 --out run.json
//! spikeplay train --config FILE.json [flags override the file]
//! spikeplay train ... --save model.safetensors --nir model.nir --predictions test.json
//! spikeplay train ... --init-from model.safetensors      # continue from saved weights
//! spikeplay eval --model model.nir --dataset digits       # a NIR graph, from here or elsewhere
//! spikeplay compare --dataset digits --norms none,psp,bn --depths 2,4,8 --archs plain,residual \
//!     --seeds 0,1,2 --epochs 10 --jobs 2 --out results/digits   # writes .csv and .md
//! ```

#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};
use serde::de::DeserializeOwned;
use spikeplay::compare::{self, Grid, RunSummary, Shard};
use spikeplay::upload::DataFile;
use spikeplay::config::{DatasetKind, NormKind};
use spikeplay::schema::{self, Kind};
use spikeplay::train::{run_trainer, run_with_files, Progress};
use spikeplay::model_file::ModelFile;
use spikeplay::Trainer;
use spikeplay::{Error, ExperimentConfig};

#[derive(Parser)]
#[command(name = "spikeplay", version, about = "Train deep spiking neural networks with PSP normalization")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one network and write its history and final figures as JSON.
    Train(TrainArgs),
    /// Train a grid (norms x depths x architectures x seeds) and write CSV and markdown tables.
    Compare(CompareArgs),
    /// Time training steps of the benchmark configs A-F (docs/BENCHMARKS.md) and print a table.
    Bench(BenchArgs),
    /// Evaluate a network from a file, a NIR graph (from spikeplay or another framework) or a
    /// weights file, on a data set: accuracy, and the test split's predictions if asked.
    Eval(EvalArgs),
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    fields: ConfigArgs,
    /// The network: a NIR file (`.nir`; its graph sets depth, width, neuron and readout) or
    /// a spikeplay weights file (`--save`'s safetensors; its saved config is the base).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Write the test split (samples, labels) and the network's predictions as JSON.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
}

#[derive(Args)]
struct BenchArgs {
    /// Configs, comma-separated: A (MLP 4x128, T 8), B (8x256, T 16), C (16x128, T 8, 2 inputs),
    /// D (residual 100x64, T 4), E (conv MNIST 14x14 preset), E2 (conv 2x32 on MNIST 28x28),
    /// F (the 101-layer residual conv preset).
    #[arg(long, value_delimiter = ',', default_value = "A,B,C,D,E,E2,F")]
    configs: Vec<String>,
    /// Norms, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = serde_name::<NormKind>, default_value = "none,bn,psp")]
    norms: Vec<NormKind>,
    /// Untimed steps before timing (first steps allocate).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed steps per config and norm.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Also write the timings (every step) as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Instead of training steps, time a dense layer's matrix products by gemm and by the
    /// sparse loops, and a conv layer's by the patch matrix and by events, per shape and
    /// share of non-zero inputs (where each layer switches).
    #[arg(long)]
    products: bool,
}

/// Parses an enum by its serde name, so the CLI, JSON configs and the page share names.
fn serde_name<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| e.to_string())
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    fields: ConfigArgs,
    /// Where to write the run record.
    #[arg(long, default_value = "run.json")]
    out: PathBuf,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// Start from the tensors of a weights file (`--save`'s) instead of the seed's
    /// initialization; the network must have the same shape (architecture, depth, width,
    /// norm, data). The optimizer starts afresh.
    #[arg(long, value_name = "FILE")]
    init_from: Option<PathBuf>,
    /// Write the trained network's tensors (weights, norm parameters, running statistics)
    /// as safetensors, with the config in its metadata.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Write the trained network as a NIR graph (HDF5), its norms folded into weights and
    /// thresholds. Checked before training: TEBN, BNTT, layer and RMS norm cannot be folded.
    #[arg(long, value_name = "FILE")]
    nir: Option<PathBuf>,
    /// Write the test split (samples, labels) and the trained network's eval-mode
    /// predictions on it as JSON.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct CompareArgs {
    #[command(subcommand)]
    action: Option<CompareAction>,
    #[command(flatten)]
    fields: ConfigArgs,
    /// Run only the Kth of N deterministic slices of the grid (every Nth run from the Kth),
    /// for spreading a grid over machines: writes this slice's OUT.csv and OUT.md, and
    /// OUT.shard.json, which `spikeplay compare merge` combines with the others.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Norms to compare, comma-separated (none | psp | bn | tdbn | tebn | bntt | mpbn | layer | rms).
    #[arg(long, value_delimiter = ',', value_parser = serde_name::<NormKind>, default_value = "none,psp,bn")]
    norms: Vec<NormKind>,
    /// Depths (hidden weight layers), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4")]
    depths: Vec<usize>,
    /// Architectures, comma-separated: plain | residual.
    #[arg(long, value_delimiter = ',', value_parser = parse_arch, default_value = "plain")]
    archs: Vec<bool>,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    seeds: Vec<u64>,
    /// Runs trained at once, each on one thread (results do not depend on it).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Output path without extension: writes OUT.csv (one row per run) and OUT.md.
    #[arg(long, default_value = "compare")]
    out: PathBuf,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum CompareAction {
    /// Combine the OUT.shard.json files of every shard of one grid into the OUT.csv and
    /// OUT.md one run of the whole grid would write.
    Merge(MergeArgs),
}

#[derive(Args)]
struct MergeArgs {
    /// The shard files (`compare --shard K/N` writes OUT.shard.json), all N of them.
    #[arg(required = true, value_name = "SHARD.json")]
    files: Vec<PathBuf>,
    /// Output path without extension: writes OUT.csv and OUT.md.
    #[arg(long, default_value = "compare")]
    out: PathBuf,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

fn parse_arch(s: &str) -> Result<bool, String> {
    match s {
        "plain" => Ok(false),
        "residual" => Ok(true),
        _ => Err(format!("expected plain or residual, got {s:?}")),
    }
}

/// Every field of ExperimentConfig as a flag (`--flag-name`, from the schema's table), over an
/// optional JSON file, and `--data`. The flags are built from `spikeplay::schema`, so a field
/// added there is a flag here with its help, bound, values and default, and no list of fields
/// is kept in this file.
struct ConfigArgs {
    config: Option<PathBuf>,
    data: Vec<PathBuf>,
    /// `(field, value)` for each field flag given, with the value as JSON.
    given: Vec<(&'static str, serde_json::Value)>,
}

const CONFIG_HELP: &str = "A JSON config (the fields of ExperimentConfig), or a run downloaded from the page or written by --out (its \"config\" is used); flags given as well override it.";
const DATA_HELP: &str = "Train on your own file(s): one CSV (label column, then features) or an IDX images file and its IDX labels file (give --data twice; raw or gzip). Implies --dataset custom.";

fn flag_name(field: &str) -> String {
    field.replace('_', "-")
}

/// One field's flag: its help says what it is, its bound or values and its default.
fn field_arg(f: &'static schema::Field) -> Arg {
    let mut help = if f.help.is_empty() { f.label } else { f.help }.to_owned();
    if !f.bound.is_empty() {
        help.push_str(&format!(" In {}{}.", f.bound, f.bound_note));
    }
    let default = match &f.default {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => schema::Val::Num(n.as_f64().unwrap_or(f64::NAN)).show(),
        other => other.to_string(),
    };
    help.push_str(&format!(" Default {default}."));
    let arg = Arg::new(f.name).long(flag_name(f.name)).help(help).help_heading(format!("{:?} settings", f.group));
    match f.kind {
        // `--residual` alone means true; `--residual false` and `--residual=false` also work.
        Kind::Bool => arg.num_args(0..=1).default_missing_value("true").value_parser(clap::value_parser!(bool)).value_name("BOOL"),
        Kind::Enum => arg.value_parser(PossibleValuesParser::new(f.options.iter().map(String::as_str))).value_name("NAME"),
        Kind::Int => arg.value_parser(clap::value_parser!(u64)).value_name("N"),
        Kind::Float => arg.value_parser(clap::value_parser!(f64)).value_name("X"),
    }
}

impl Args for ConfigArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let cmd = cmd
            .arg(Arg::new("config").long("config").value_parser(clap::value_parser!(PathBuf)).value_name("FILE").help(CONFIG_HELP))
            .arg(Arg::new("data").long("data").action(ArgAction::Append).value_parser(clap::value_parser!(PathBuf)).value_name("FILE").help(DATA_HELP));
        schema::fields().iter().fold(cmd, |cmd, f| cmd.arg(field_arg(f)))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ConfigArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for f in schema::fields() {
            let v = match f.kind {
                Kind::Bool => m.get_one::<bool>(f.name).map(|b| serde_json::json!(b)),
                Kind::Enum => m.get_one::<String>(f.name).map(|s| serde_json::json!(s)),
                Kind::Int => m.get_one::<u64>(f.name).map(|n| serde_json::json!(n)),
                Kind::Float => m.get_one::<f64>(f.name).map(|x| serde_json::json!(x)),
            };
            given.extend(v.map(|v| (f.name, v)));
        }
        Ok(ConfigArgs {
            config: m.get_one::<PathBuf>("config").cloned(),
            data: m.get_many::<PathBuf>("data").map(|v| v.cloned().collect()).unwrap_or_default(),
            given,
        })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// A config error with the flag that sets the field.
fn flag_error(e: Error) -> String {
    match e {
        Error::Config { field, .. } => format!("{e} (flag --{})", flag_name(field)),
        other => other.to_string(),
    }
}

/// A config or a downloaded run: the largest recording the page writes is a few MB.
const MAX_CONFIG_BYTES: usize = 64 << 20;

/// Reads `path` whole if it is at most `limit` bytes; otherwise says so without reading it.
/// The length is checked first (nothing is read of a file that is too large); a device or a
/// pipe has no length, so the read itself stops one byte past the limit too.
fn read_bounded(path: &std::path::Path, limit: usize, flag: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let bad = |e: &dyn std::fmt::Display| format!("{flag} {}: {e}", path.display());
    let too_big = |len: u64| bad(&format!("{len} bytes is more than the {limit} a file may have; nothing was read"));
    let len = std::fs::metadata(path).map_err(|e| bad(&e))?.len();
    if len > limit as u64 {
        return Err(too_big(len));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path).map_err(|e| bad(&e))?.take(limit as u64 + 1).read_to_end(&mut bytes).map_err(|e| bad(&e))?;
    if bytes.len() > limit {
        return Err(bad(&format!("more than the {limit} bytes a file may have; reading stopped there")));
    }
    Ok(bytes)
}

/// At most `MAX_MESSAGE` characters of an error: a message that quotes a 1 MB value keeps its
/// start (the field, the file, the line) and its end.
fn elide(message: &str) -> String {
    const MAX_MESSAGE: usize = 600;
    let chars: Vec<char> = message.chars().collect();
    if chars.len() <= MAX_MESSAGE {
        return message.to_string();
    }
    let (head, tail) = (&chars[..MAX_MESSAGE / 2], &chars[chars.len() - MAX_MESSAGE / 4..]);
    format!("{} … ({} characters left out) … {}", head.iter().collect::<String>(), chars.len() - head.len() - tail.len(), tail.iter().collect::<String>())
}

impl ConfigArgs {
    fn config(&self) -> Result<ExperimentConfig, String> {
        let mut cfg = match &self.config {
            Some(path) => {
                let text = read_bounded(path, MAX_CONFIG_BYTES, "--config")?;
                let text = String::from_utf8(text).map_err(|e| format!("--config {}: not UTF-8 text: byte {} is invalid", path.display(), e.utf8_error().valid_up_to()))?;
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text); // a byte-order mark some editors write
                // Through serde_path_to_error even as a Value, so a number JSON cannot hold
                // (`"depth": 1e400`) is reported with its key.
                let bad = |e: &dyn std::fmt::Display| format!("--config {}: {e}", path.display());
                let mut de = serde_json::Deserializer::from_str(&text);
                let mut value: serde_json::Value = serde_path_to_error::deserialize(&mut de).map_err(|e| bad(&e))?;
                de.end().map_err(|e| bad(&e))?;
                // A run the page downloaded (or `train --out` wrote) carries its config
                // under "config": take that, so a page run continues natively as it is.
                if let Some(inner) = value.get_mut("config").filter(|c| c.is_object()).map(serde_json::Value::take) {
                    value = inner;
                }
                ExperimentConfig::from_value(value).map_err(|e| format!("--config {}: {e}", path.display()))?
            }
            None => ExperimentConfig::default(),
        };
        let a = self;
        if !a.given.is_empty() {
            let mut value = serde_json::to_value(&cfg).map_err(|e| e.to_string())?;
            for (field, v) in &a.given {
                value[*field] = v.clone();
            }
            // A value its field's type cannot hold is named with its flag here; a float past
            // an f32 field's range becomes infinity, which the field's bound then refuses.
            cfg = ExperimentConfig::from_value(value).map_err(|e| match &e {
                Error::Parse { field: Some(f), .. } => format!("{e} (flag --{})", flag_name(f)),
                _ => e.to_string(),
            })?;
        }
        let dataset = a.given.iter().any(|(f, _)| *f == "dataset").then_some(cfg.dataset);
        if !a.data.is_empty() {
            match dataset {
                None | Some(DatasetKind::Custom) => cfg.dataset = DatasetKind::Custom,
                Some(other) => return Err(format!("--data trains on your file, but --dataset is {}; drop one of them", compare::name(&other))),
            }
        }
        cfg.validate().map_err(flag_error)?;
        Ok(cfg)
    }

    /// The files of `--data`, read whole once their size is known to fit (the parsers bound
    /// what they accept).
    /// Whether the field's flag was given.
    fn gave(&self, field: &str) -> bool {
        self.given.iter().any(|(f, _)| *f == field)
    }

    fn files(&self) -> Result<Vec<DataFile>, String> {
        self.data
            .iter()
            .map(|p| {
                let bytes = read_bounded(p, spikeplay::upload::MAX_FILE_BYTES, "--data")?;
                Ok(DataFile::new(p.display().to_string(), bytes))
            })
            .collect()
    }
}

fn fmt_secs(s: f64) -> String {
    if s >= 60.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.1}s")
    }
}

fn train(args: TrainArgs) -> Result<(), String> {
    let cfg = args.fields.config()?;
    let files = args.fields.files()?;
    let epochs = cfg.epochs;
    let start = Instant::now();
    let live = !args.quiet && std::io::stderr().is_terminal();
    let mut last_draw = Instant::now();
    if args.nir.is_some() {
        // Before training, so a run that cannot be exported is not trained for nothing.
        spikeplay::nir::deployable(&cfg).map_err(|e| format!("--nir: {e}"))?;
    }
    let mut cfg = cfg;
    let model = match &args.init_from {
        Some(path) => Some(read_model(path, "--init-from", &mut cfg, args.fields.gave("timesteps"))?),
        None => None,
    };
    let mut trainer = Trainer::with_files(cfg, &files).map_err(flag_error)?;
    if let (Some(model), Some(path)) = (&model, &args.init_from) {
        model.load(&mut trainer, &path.display().to_string()).map_err(|e| format!("--init-from {e}"))?;
    }
    let record = run_trainer(&mut trainer, |p| {
        if args.quiet {
            return;
        }
        let elapsed = start.elapsed().as_secs_f64();
        match p {
            Progress::Step { epoch, step, steps_per_epoch, loss } if live && last_draw.elapsed().as_millis() > 200 => {
                last_draw = Instant::now();
                eprint!("\repoch {}/{epochs}  step {step}/{steps_per_epoch}  loss {loss:.4}  [{}]   ", epoch + 1, fmt_secs(elapsed));
                let _ = std::io::stderr().flush();
            }
            Progress::Step { .. } => {}
            Progress::Epoch(r) => {
                let eta = elapsed / r.epoch as f64 * (epochs - r.epoch) as f64;
                let rates: Vec<String> = r.firing_rates.iter().take(8).map(|x| format!("{x:.2}")).collect();
                let more = if r.firing_rates.len() > 8 { " ..." } else { "" };
                eprintln!(
                    "\repoch {:>3}/{epochs}  loss {:.4}  train {:5.1}%  test {:5.1}%  rates [{}{more}]  {} (eta {})",
                    r.epoch,
                    r.loss,
                    100.0 * r.train_accuracy,
                    100.0 * r.test_accuracy,
                    rates.join(" "),
                    fmt_secs(elapsed),
                    fmt_secs(eta)
                );
            }
        }
    })
    .map_err(|e| e.to_string())?;
    let mut json = serde_json::to_value(&record).map_err(|e| e.to_string())?;
    json["elapsed_seconds"] = serde_json::json!(start.elapsed().as_secs_f64());
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, text + "\n").map_err(|e| format!("--out {}: {e}", args.out.display()))?;
    let mut wrote = vec![args.out.display().to_string()];
    if let Some(path) = &args.save {
        let bytes = trainer.save_weights().map_err(|e| format!("--save: {e}"))?;
        std::fs::write(path, bytes).map_err(|e| format!("--save {}: {e}", path.display()))?;
        wrote.push(path.display().to_string());
    }
    if let Some(path) = &args.nir {
        let bytes = trainer.export_nir().map_err(|e| format!("--nir: {e}"))?;
        std::fs::write(path, bytes).map_err(|e| format!("--nir {}: {e}", path.display()))?;
        wrote.push(path.display().to_string());
    }
    if let Some(path) = &args.predictions {
        write_predictions(&trainer, path)?;
        wrote.push(path.display().to_string());
    }
    if !args.quiet {
        eprintln!(
            "test accuracy {:.1}%, train {:.1}%, wrote {}",
            100.0 * record.final_.test_accuracy,
            100.0 * record.final_.train_accuracy,
            wrote.join(", ")
        );
    }
    Ok(())
}

/// Reads `path` (for `flag`) as a network ([`ModelFile`]) and sets what it fixes in `cfg`:
/// a NIR graph its depth, width, neuron and readout (and time steps, unless `--timesteps`
/// was given).
fn read_model(path: &std::path::Path, flag: &str, cfg: &mut ExperimentConfig, keep_timesteps: bool) -> Result<ModelFile, String> {
    model_from(read_bounded(path, spikeplay::upload::MAX_FILE_BYTES, flag)?, path, flag, cfg, keep_timesteps)
}

/// [`read_model`] on bytes already read.
fn model_from(bytes: Vec<u8>, path: &std::path::Path, flag: &str, cfg: &mut ExperimentConfig, keep_timesteps: bool) -> Result<ModelFile, String> {
    let name = path.display().to_string();
    let model = ModelFile::read(bytes, &name).map_err(|e| format!("{flag} {e}"))?;
    *cfg = model.config(cfg, keep_timesteps);
    cfg.validate().map_err(|e| format!("{flag} {name}: the network it holds does not fit: {}", flag_error(e)))?;
    Ok(model)
}

fn eval(args: EvalArgs) -> Result<(), String> {
    let files = args.fields.files()?;
    let mut cfg = args.fields.config()?;
    let bytes = read_bounded(&args.model, spikeplay::upload::MAX_FILE_BYTES, "--model")?;
    // A weights file carries the config it was trained with: the base, under any flags given.
    if !args.model.extension().is_some_and(|e| e == "nir") {
        if let (Some(saved), false) = (spikeplay::weights::saved_config(&bytes), args.fields.config.is_some()) {
            let mut value = serde_json::to_value(&saved).map_err(|e| e.to_string())?;
            for (field, v) in &args.fields.given {
                value[*field] = v.clone();
            }
            cfg = serde_json::from_value(value).map_err(|e| format!("--model {}: its saved config: {e}", args.model.display()))?;
        }
    }
    let model = model_from(bytes, &args.model, "--model", &mut cfg, args.fields.gave("timesteps"))?;
    let mut trainer = Trainer::with_files(cfg, &files).map_err(flag_error)?;
    model.load(&mut trainer, &args.model.display().to_string()).map_err(|e| format!("--model {e}"))?;
    let test = trainer.test_accuracy().map_err(|e| e.to_string())?;
    let train = trainer.train_accuracy().map_err(|e| e.to_string())?;
    let c = &trainer.cfg;
    eprintln!(
        "{}: test accuracy {:.1}%, train {:.1}% (depth {}, width {}, beta {}, T {}, {} readout, on {})",
        args.model.display(),
        100.0 * test,
        100.0 * train,
        c.depth,
        c.width,
        c.beta,
        c.timesteps,
        spikeplay::compare::name(&c.readout),
        spikeplay::compare::name(&c.dataset)
    );
    if let Some(path) = &args.predictions {
        write_predictions(&trainer, path)?;
    }
    Ok(())
}

/// `--predictions`: the test split and the network's eval-mode predictions on it, as JSON.
fn write_predictions(trainer: &Trainer, path: &std::path::Path) -> Result<(), String> {
    let test = &trainer.data.test;
    let predictions = trainer.predictions_of_first(test, test.len()).map_err(|e| format!("--predictions: {e}"))?;
    let f = trainer.data.features;
    let json = serde_json::json!({
        "split": "test",
        "features": f,
        "classes": trainer.data.classes,
        "image": trainer.data.image,
        "timesteps": trainer.cfg.timesteps,
        "encoding": spikeplay::compare::name(&trainer.cfg.encoding),
        "x": test.x.chunks(f).collect::<Vec<_>>(),
        "y": test.y,
        "predictions": predictions,
    });
    std::fs::write(path, json.to_string() + "\n").map_err(|e| format!("--predictions {}: {e}", path.display()))
}

fn merge_shards(args: MergeArgs) -> Result<(), String> {
    let files = args
        .files
        .iter()
        .map(|p| Ok((p.display().to_string(), read_bounded(p, MAX_CONFIG_BYTES, "merge")?)))
        .collect::<Result<Vec<_>, String>>()?;
    let (grid, rows) = compare::merge(&files).map_err(|e| format!("merge: {e}"))?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("--out {}: {e}", dir.display()))?;
    }
    let (csv_path, md_path) = (args.out.with_extension("csv"), args.out.with_extension("md"));
    std::fs::write(&csv_path, compare::csv(&rows)).map_err(|e| format!("--out {}: {e}", csv_path.display()))?;
    std::fs::write(&md_path, compare::markdown(&grid, &rows)).map_err(|e| format!("--out {}: {e}", md_path.display()))?;
    if !args.quiet {
        eprintln!("merged {} shards ({} runs) into {} and {}", files.len(), rows.len(), csv_path.display(), md_path.display());
    }
    let failed = rows.iter().filter(|r| !r.error.is_empty()).count();
    if failed > 0 {
        return Err(format!("{failed} of {} runs failed (their reasons are in {})", rows.len(), csv_path.display()));
    }
    Ok(())
}

fn compare_grid(args: CompareArgs) -> Result<(), String> {
    if let Some(CompareAction::Merge(m)) = args.action {
        return merge_shards(m);
    }
    let files = args.fields.files()?;
    let grid = Grid { base: args.fields.config()?, norms: args.norms, depths: args.depths, residual: args.archs, seeds: args.seeds };
    let configs = grid.configs();
    // Every cell is checked before the first run starts, naming the flag to change.
    for cfg in &configs {
        cfg.validate().map_err(|e| format!("{} (depth {}, {})", flag_error(e), cfg.depth, if cfg.residual { "residual" } else { "plain" }))?;
    }
    if args.jobs == 0 {
        return Err("--jobs: must be at least 1".into());
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("--out {}: {e}", dir.display()))?;
    }
    let (csv_path, md_path) = (args.out.with_extension("csv"), args.out.with_extension("md"));
    let total = configs.len();
    // The runs of this invocation: the whole grid, or a shard's slice of it.
    let mine: Vec<usize> = match args.shard {
        Some(shard) => shard.indices(total),
        None => (0..total).collect(),
    };
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<RunSummary>>> = Mutex::new(vec![None; total]);
    let start = Instant::now();
    let write_tables = |rows: &[Option<RunSummary>]| -> Result<(), String> {
        let rows: Vec<RunSummary> = rows.iter().flatten().cloned().collect();
        std::fs::write(&csv_path, compare::csv(&rows)).map_err(|e| format!("--out {}: {e}", csv_path.display()))?;
        std::fs::write(&md_path, compare::markdown(&grid, &rows)).map_err(|e| format!("--out {}: {e}", md_path.display()))
    };
    let worker = || -> Result<(), String> {
        loop {
            let Some(&i) = mine.get(next.fetch_add(1, Ordering::SeqCst)) else { return Ok(()) };
            let cfg = &configs[i];
            let t0 = Instant::now();
            let summary = match run_with_files(cfg.clone(), &files, |_| {}) {
                Ok(record) => RunSummary::from_record(&record, t0.elapsed().as_secs_f64()),
                Err(e) => RunSummary::failed(cfg, e.to_string(), t0.elapsed().as_secs_f64()),
            };
            let mut rows = done.lock().map_err(|_| "a run panicked".to_string())?;
            if !args.quiet {
                let (finished, total) = (rows.iter().flatten().count() + 1, mine.len());
                let outcome = if summary.error.is_empty() {
                    format!("test {:5.1}%  rates {:.3}..{:.3}", 100.0 * summary.test_accuracy, summary.min_rate, summary.max_rate)
                } else {
                    format!("failed: {}", summary.error)
                };
                eprintln!(
                    "[{finished}/{total}] {:<5} depth {:>3} {:<8} seed {}  {outcome}  ({:.1}s, {} elapsed)",
                    compare::name(&cfg.norm),
                    cfg.depth,
                    if cfg.residual { "residual" } else { "plain" },
                    cfg.seed,
                    summary.seconds,
                    fmt_secs(start.elapsed().as_secs_f64())
                );
            }
            rows[i] = Some(summary);
            write_tables(&rows)?;
        }
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.jobs.min(mine.len()).max(1)).map(|_| s.spawn(worker)).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a run panicked".into()))).collect::<Result<Vec<()>, String>>()
    })?;
    let rows = done.into_inner().map_err(|_| "a run panicked".to_string())?;
    let mut wrote = format!("{} and {}", csv_path.display(), md_path.display());
    if let Some(shard) = args.shard {
        let path = args.out.with_extension("shard.json");
        let file = compare::ShardFile {
            format: compare::SHARD_FORMAT.into(),
            grid: grid.clone(),
            shard,
            rows: mine.iter().map(|&i| Ok((i, rows[i].clone().ok_or("a run is missing")?))).collect::<Result<_, String>>()?,
        };
        let text = serde_json::to_string(&file).map_err(|e| e.to_string())?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("--out {}: {e}", path.display()))?;
        wrote = format!("{wrote} and {} (shard {}/{}: {} of {total} runs)", path.display(), shard.k, shard.n, mine.len());
    }
    if !args.quiet {
        eprintln!("wrote {wrote} ({} runs, {})", mine.len(), fmt_secs(start.elapsed().as_secs_f64()));
    }
    // The tables hold every run, failed ones with their reason; the exit status and the last
    // line say that some failed (even with --quiet), so a script does not take them for results.
    let total = mine.len();
    let failed: Vec<&RunSummary> = rows.iter().flatten().filter(|r| !r.error.is_empty()).collect();
    if let Some(first) = failed.first() {
        return Err(format!("{} of {total} runs failed (their reasons are in {}); the first: {}", failed.len(), csv_path.display(), first.error));
    }
    Ok(())
}

fn bench(args: BenchArgs) -> Result<(), String> {
    if args.steps == 0 {
        return Err("--steps: must be at least 1".into());
    }
    let threads = std::env::var("RAYON_NUM_THREADS").ok().unwrap_or_else(|| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        format!("{n} (all cores; set RAYON_NUM_THREADS to change)")
    });
    let start = Instant::now();
    let clock = || start.elapsed().as_secs_f64() * 1e3;
    if args.products {
        eprintln!("spikeplay bench --products: native, release build, threads {threads}; median of {} runs each", args.steps);
        let mut timings = spikeplay::dense::product_timings(args.steps, clock);
        timings.extend(spikeplay::conv::product_timings(args.steps, clock));
        print!("{}", spikeplay::dense::product_table(&timings));
        if let Some(path) = &args.out {
            let json = serde_json::json!({ "threads": threads, "products": timings });
            std::fs::write(path, serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n").map_err(|e| format!("--out {}: {e}", path.display()))?;
        }
        return Ok(());
    }
    eprintln!("spikeplay bench: native, release build, threads {threads}; {} warm-up + {} timed steps each", args.warmup, args.steps);
    let mut timings = Vec::new();
    for name in &args.configs {
        for &norm in &args.norms {
            let t = spikeplay::bench::measure(name, norm, args.warmup, args.steps, clock).map_err(|e| format!("{name} {}: {}", compare::name(&norm), flag_error(e)))?;
            eprintln!("{name} {:>5}: median {:.2} ms/step", compare::name(&norm), t.median_ms());
            timings.push(t);
        }
    }
    print!("{}", spikeplay::bench::table(&timings));
    if let Some(path) = &args.out {
        let json = serde_json::json!({ "threads": threads, "warmup": args.warmup, "timings": timings });
        std::fs::write(path, serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n").map_err(|e| format!("--out {}: {e}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    // One thread per run: a run's floating-point results then do not depend on how many
    // cores the machine has or on --jobs (candle's matmul splits work by thread count).
    if std::env::var_os("RAYON_NUM_THREADS").is_none() && std::env::args().nth(1).as_deref() == Some("compare") {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(args),
        Command::Compare(args) => compare_grid(args),
        Command::Bench(args) => bench(args),
        Command::Eval(args) => eval(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", elide(&e));
            ExitCode::from(2)
        }
    }
}
