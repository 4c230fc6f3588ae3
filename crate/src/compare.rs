//! Grids of runs for `spikeplay compare`: norms x depths x architectures x seeds on one
//! base config, summarized per run (CSV) and per cell over seeds (markdown, mean and
//! sample standard deviation).

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::NormKind;
use crate::metrics::{saturated_layers, silent_layers};
use crate::train::RunRecord;
use crate::ExperimentConfig;

/// What a grid varies; every other field comes from `base`.
#[derive(Clone, Debug)]
pub struct Grid {
    pub base: ExperimentConfig,
    pub norms: Vec<NormKind>,
    pub depths: Vec<usize>,
    /// `false` = plain, `true` = residual.
    pub residual: Vec<bool>,
    pub seeds: Vec<u64>,
}

impl Grid {
    /// Every config of the grid, architecture-major so a table fills row by row.
    pub fn configs(&self) -> Vec<ExperimentConfig> {
        let mut out = vec![];
        for &residual in &self.residual {
            for &depth in &self.depths {
                for &norm in &self.norms {
                    for &seed in &self.seeds {
                        out.push(ExperimentConfig { residual, depth, norm, seed, ..self.base.clone() });
                    }
                }
            }
        }
        out
    }
}

/// One finished (or failed) run of a grid.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub norm: NormKind,
    pub depth: usize,
    pub residual: bool,
    pub seed: u64,
    pub test_accuracy: f32,
    pub train_accuracy: f32,
    pub mean_rate: f32,
    pub min_rate: f32,
    pub max_rate: f32,
    pub silent_layers: usize,
    pub saturated_layers: usize,
    /// The largest share of one hidden layer's neurons that fire at a rate of 0.9 or more: a
    /// layer can over-fire in half its neurons while its mean rate stays in the band.
    pub worst_saturated: f32,
    /// The largest share of one hidden layer's neurons that never fired on the probe batch.
    pub worst_silent: f32,
    pub synops: f32,
    pub first_loss: f32,
    pub final_loss: f32,
    pub seconds: f64,
    /// Why the run stopped early (divergence, a config error), empty if it finished.
    pub error: String,
}

impl RunSummary {
    pub fn from_record(r: &RunRecord, seconds: f64) -> Self {
        let rates = &r.final_.firing_rates;
        let n = rates.len().max(1) as f32;
        Self {
            norm: r.config.norm,
            depth: r.config.depth,
            residual: r.config.residual,
            seed: r.config.seed,
            test_accuracy: r.final_.test_accuracy,
            train_accuracy: r.final_.train_accuracy,
            mean_rate: rates.iter().sum::<f32>() / n,
            min_rate: rates.iter().copied().fold(f32::INFINITY, f32::min),
            max_rate: rates.iter().copied().fold(0.0, f32::max),
            silent_layers: silent_layers(&r.final_.layers),
            saturated_layers: saturated_layers(&r.final_.layers),
            worst_saturated: r.final_.layers.iter().map(|l| l.saturated).fold(0.0, f32::max),
            worst_silent: r.final_.layers.iter().map(|l| l.silent).fold(0.0, f32::max),
            synops: r.final_.synops,
            first_loss: r.losses.first().copied().unwrap_or(f32::NAN),
            final_loss: r.history.last().map_or(f32::NAN, |h| h.loss),
            seconds,
            error: String::new(),
        }
    }

    pub fn failed(cfg: &ExperimentConfig, error: String, seconds: f64) -> Self {
        Self {
            norm: cfg.norm,
            depth: cfg.depth,
            residual: cfg.residual,
            seed: cfg.seed,
            test_accuracy: f32::NAN,
            train_accuracy: f32::NAN,
            mean_rate: f32::NAN,
            min_rate: f32::NAN,
            max_rate: f32::NAN,
            silent_layers: 0,
            saturated_layers: 0,
            worst_saturated: f32::NAN,
            worst_silent: f32::NAN,
            synops: f32::NAN,
            first_loss: f32::NAN,
            final_loss: f32::NAN,
            seconds,
            error,
        }
    }
}

/// The serde name of an enum value ("psp", "bn", ...), as the CLI, JSON and the page spell it.
pub fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn arch(residual: bool) -> &'static str {
    if residual {
        "residual"
    } else {
        "plain"
    }
}

/// One row per run.
pub fn csv(rows: &[RunSummary]) -> String {
    let mut out = String::from(
        "norm,depth,arch,seed,test_accuracy,train_accuracy,mean_rate,min_rate,max_rate,silent_layers,saturated_layers,synops,first_loss,final_loss,worst_saturated,worst_silent,seconds,error\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{:.0},{:.6},{:.6},{:.4},{:.4},{:.1},\"{}\"",
            name(&r.norm),
            r.depth,
            arch(r.residual),
            r.seed,
            r.test_accuracy,
            r.train_accuracy,
            r.mean_rate,
            r.min_rate,
            r.max_rate,
            r.silent_layers,
            r.saturated_layers,
            r.synops,
            r.first_loss,
            r.final_loss,
            r.worst_saturated,
            r.worst_silent,
            r.seconds,
            r.error.replace('"', "'")
        );
    }
    out
}

/// Mean and sample standard deviation (0 for one value); `None` if any run failed.
pub fn mean_sd(xs: &[f32]) -> Option<(f32, f32)> {
    if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let n = xs.len() as f32;
    let mean = xs.iter().sum::<f32>() / n;
    let var = if xs.len() > 1 { xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / (n - 1.0) } else { 0.0 };
    Some((mean, var.sqrt()))
}

/// Markdown tables: test accuracy (%) and mean firing rate, rows = architecture x depth,
/// columns = norms, each cell `mean ± sd` over seeds; a failed run shows as `failed`.
pub fn markdown(grid: &Grid, rows: &[RunSummary]) -> String {
    let mut out = String::new();
    let cell = |res: bool, depth: usize, norm: NormKind, f: &dyn Fn(&RunSummary) -> f32, scale: f32, digits: usize| {
        let vals: Vec<f32> = rows.iter().filter(|r| r.residual == res && r.depth == depth && r.norm == norm).map(f).collect();
        match mean_sd(&vals) {
            _ if vals.is_empty() => "–".to_string(),
            Some((m, s)) => format!("{:.*} ± {:.*}", digits, m * scale, digits, s * scale),
            None => "failed".to_string(),
        }
    };
    let header = |out: &mut String| {
        let _ = writeln!(out, "| arch | depth | {} |", grid.norms.iter().map(name).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(out, "|---|---:|{}", "---:|".repeat(grid.norms.len()));
    };
    let table = |out: &mut String, title: &str, f: &dyn Fn(&RunSummary) -> f32, scale: f32, digits: usize| {
        let _ = writeln!(out, "{title}\n");
        header(out);
        for &res in &grid.residual {
            for &depth in &grid.depths {
                let cells: Vec<String> = grid.norms.iter().map(|&n| cell(res, depth, n, f, scale, digits)).collect();
                let _ = writeln!(out, "| {} | {depth} | {} |", arch(res), cells.join(" | "));
            }
        }
        out.push('\n');
    };
    table(&mut out, "Test accuracy, % (mean ± sd over seeds)", &|r| r.test_accuracy, 100.0, 1);
    table(&mut out, "Mean hidden firing rate at the end (spikes per neuron per step)", &|r| r.mean_rate, 1.0, 3);
    table(&mut out, "Silent (rate < 0.001) plus saturated (rate >= 0.9) hidden layers at the end", &|r| (r.silent_layers + r.saturated_layers) as f32, 1.0, 1);
    table(&mut out, "Saturated neurons (rate >= 0.9) in the worst hidden layer at the end, %", &|r| r.worst_saturated, 100.0, 1);
    table(&mut out, "Silent neurons (no spike on the probe batch) in the worst hidden layer at the end, %", &|r| r.worst_silent, 100.0, 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(norm: NormKind, depth: usize, seed: u64, acc: f32) -> RunSummary {
        let cfg = ExperimentConfig { norm, depth, seed, ..Default::default() };
        let mut r = RunSummary::failed(&cfg, String::new(), 1.0);
        r.test_accuracy = acc;
        r.mean_rate = 0.1;
        r
    }

    #[test]
    fn grid_covers_every_combination_once() {
        let grid = Grid { base: ExperimentConfig::default(), norms: vec![NormKind::Psp, NormKind::Bn], depths: vec![2, 4, 8], residual: vec![false, true], seeds: vec![0, 1, 2] };
        let cfgs = grid.configs();
        assert_eq!(cfgs.len(), 2 * 3 * 2 * 3);
        let mut keys: Vec<_> = cfgs.iter().map(|c| (c.norm as u8, c.depth, c.residual, c.seed)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), cfgs.len());
    }

    #[test]
    fn mean_and_sample_sd() {
        let (m, s) = mean_sd(&[0.9, 0.8, 1.0]).unwrap();
        assert!((m - 0.9).abs() < 1e-6 && (s - 0.1).abs() < 1e-6, "{m} {s}");
        assert_eq!(mean_sd(&[0.5]), Some((0.5, 0.0)));
        assert_eq!(mean_sd(&[0.5, f32::NAN]), None);
    }

    #[test]
    fn markdown_cells_aggregate_seeds_and_mark_failures() {
        let grid = Grid { base: ExperimentConfig::default(), norms: vec![NormKind::Psp, NormKind::Bn], depths: vec![2], residual: vec![false], seeds: vec![0, 1] };
        let rows = vec![row(NormKind::Psp, 2, 0, 0.9), row(NormKind::Psp, 2, 1, 0.8), row(NormKind::Bn, 2, 0, 0.7), row(NormKind::Bn, 2, 1, f32::NAN)];
        let md = markdown(&grid, &rows);
        assert!(md.contains("| plain | 2 | 85.0 ± 7.1 | failed |"), "{md}");
        let text = csv(&rows);
        assert_eq!(text.lines().count(), 5);
        assert!(text.lines().nth(1).unwrap().starts_with("psp,2,plain,0,0.9000,"), "{text}");
    }
}
