//! `spikeplay`: headless runs on the same code path as the browser.
//!
//! ```text
//! spikeplay train --dataset digits --depth 4 --width 128 --timesteps 8 --norm psp \
//!     [--residual] --epochs 30 --batch 64 --lr 1e-3 --seed 0 --out run.json
//! spikeplay train --config FILE.json [flags override the file]
//! ```

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use serde::de::DeserializeOwned;
use spikeplay::config::{DatasetKind, Encoding, LrSchedule, NormKind, OptimizerKind, Readout, Reset, SurrogateKind};
use spikeplay::train::{run, Progress};
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
}

/// Parses an enum by its serde name, so the CLI, JSON configs and the page share names.
fn serde_name<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| e.to_string())
}

#[derive(Args)]
struct TrainArgs {
    /// A JSON config (the fields of ExperimentConfig); flags given as well override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where to write the run record.
    #[arg(long, default_value = "run.json")]
    out: PathBuf,
    /// No progress output.
    #[arg(long)]
    quiet: bool,

    /// spiral | circles | xor | gaussians | moons | digits
    #[arg(long, value_parser = serde_name::<DatasetKind>)]
    dataset: Option<DatasetKind>,
    #[arg(long)]
    samples: Option<usize>,
    #[arg(long)]
    noise: Option<f32>,
    #[arg(long)]
    test_fraction: Option<f32>,
    /// direct | poisson
    #[arg(long, value_parser = serde_name::<Encoding>)]
    encoding: Option<Encoding>,
    #[arg(long)]
    timesteps: Option<usize>,
    /// Hidden weight layers (plain and residual alike).
    #[arg(long)]
    depth: Option<usize>,
    #[arg(long)]
    width: Option<usize>,
    /// Use pre-activation residual blocks.
    #[arg(long)]
    residual: bool,
    #[arg(long)]
    zero_init_residual: Option<bool>,
    #[arg(long)]
    beta: Option<f32>,
    #[arg(long)]
    theta: Option<f32>,
    /// hard | soft
    #[arg(long, value_parser = serde_name::<Reset>)]
    reset: Option<Reset>,
    #[arg(long)]
    detach_reset: Option<bool>,
    #[arg(long)]
    psp_lambda: Option<f32>,
    /// sigmoid | fast_sigmoid | atan | triangle | rectangular
    #[arg(long, value_parser = serde_name::<SurrogateKind>)]
    surrogate: Option<SurrogateKind>,
    #[arg(long)]
    surrogate_width: Option<f32>,
    /// none | psp | bn
    #[arg(long, value_parser = serde_name::<NormKind>)]
    norm: Option<NormKind>,
    #[arg(long)]
    psp_eps: Option<f64>,
    /// rate | membrane
    #[arg(long, value_parser = serde_name::<Readout>)]
    readout: Option<Readout>,
    #[arg(long)]
    init_scale: Option<f32>,
    /// adam | sgd
    #[arg(long, value_parser = serde_name::<OptimizerKind>)]
    optimizer: Option<OptimizerKind>,
    #[arg(long)]
    lr: Option<f64>,
    /// constant | cosine
    #[arg(long, value_parser = serde_name::<LrSchedule>)]
    lr_schedule: Option<LrSchedule>,
    #[arg(long)]
    weight_decay: Option<f64>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    probe_samples: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
}

macro_rules! overlay {
    ($cfg:ident, $args:ident; $($field:ident),*) => {
        $(if let Some(v) = $args.$field { $cfg.$field = v; })*
    };
}

impl TrainArgs {
    fn config(&self) -> Result<ExperimentConfig, String> {
        let mut cfg = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("--config {}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("--config {}: {e}", path.display()))?
            }
            None => ExperimentConfig::default(),
        };
        let a = self;
        overlay!(cfg, a; dataset, samples, noise, test_fraction, encoding, timesteps, depth, width, zero_init_residual,
            beta, theta, reset, detach_reset, psp_lambda, surrogate, surrogate_width, norm, psp_eps, readout,
            init_scale, optimizer, lr, lr_schedule, weight_decay, batch, epochs, probe_samples, seed);
        if a.residual {
            cfg.residual = true;
        }
        cfg.validate().map_err(|e| match e {
            Error::Config { field, .. } => format!("{e} (flag --{})", field.replace('_', "-")),
            other => other.to_string(),
        })?;
        Ok(cfg)
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
    let cfg = args.config()?;
    let epochs = cfg.epochs;
    let start = Instant::now();
    let live = !args.quiet && std::io::stderr().is_terminal();
    let mut last_draw = Instant::now();
    let record = run(cfg, |p| {
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
    if !args.quiet {
        eprintln!(
            "test accuracy {:.1}%, train {:.1}%, wrote {}",
            100.0 * record.final_.test_accuracy,
            100.0 * record.final_.train_accuracy,
            args.out.display()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
