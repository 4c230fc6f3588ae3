//! Grids of runs for `spikeplay compare`: norms x depths x architectures x seeds on one
//! base config, summarized per run (CSV) and per cell over seeds (markdown, mean and
//! sample standard deviation).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::config::NormKind;
use crate::error::{Error, Result};
use crate::metrics::{saturated_layers, silent_layers};
use crate::train::RunRecord;
use crate::ExperimentConfig;

/// What a grid varies; every other field comes from `base`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// One finished (or failed) run of a grid. Its figures are NaN for a failed run (null in
/// JSON, [`nan_as_null`]), so a shard file carries them exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub norm: NormKind,
    pub depth: usize,
    pub residual: bool,
    pub seed: u64,
    #[serde(with = "nan_as_null")]
    pub test_accuracy: f32,
    #[serde(with = "nan_as_null")]
    pub train_accuracy: f32,
    #[serde(with = "nan_as_null")]
    pub mean_rate: f32,
    #[serde(with = "nan_as_null")]
    pub min_rate: f32,
    #[serde(with = "nan_as_null")]
    pub max_rate: f32,
    pub silent_layers: usize,
    pub saturated_layers: usize,
    /// The largest share of one hidden layer's neurons that fire at a rate of 0.9 or more: a
    /// layer can over-fire in half its neurons while its mean rate stays in the band.
    #[serde(with = "nan_as_null")]
    pub worst_saturated: f32,
    /// The largest share of one hidden layer's neurons that never fired on the probe batch.
    #[serde(with = "nan_as_null")]
    pub worst_silent: f32,
    #[serde(with = "nan_as_null")]
    pub synops: f32,
    #[serde(with = "nan_as_null")]
    pub first_loss: f32,
    #[serde(with = "nan_as_null")]
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

/// f32 figures that may be NaN (a failed run's) as JSON numbers, or null for NaN.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f32, s: S) -> std::result::Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f32(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f32, D::Error> {
        Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::NAN))
    }
}

/// `--shard K/N`: the `K`th of `N` deterministic slices of a grid, every `N`th run from
/// the `K`th (so each shard gets a share of every depth and norm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    /// Parses `K/N` with `1 <= K <= N`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let bad = || format!("expected K/N with 1 <= K <= N (the Kth of N slices), got {text:?}");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if k == 0 || k > n || n > 100_000 {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    /// The indices into [`Grid::configs`] this shard runs.
    pub fn indices(&self, total: usize) -> Vec<usize> {
        (self.k - 1..total).step_by(self.n).collect()
    }
}

/// What a shard writes beside its tables (`OUT.shard.json`), for [`merge`]: the whole
/// grid, which slice this is, and its runs with their indices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    pub format: String,
    pub grid: Grid,
    pub shard: Shard,
    pub rows: Vec<(usize, RunSummary)>,
}

pub const SHARD_FORMAT: &str = "spikeplay-shard-1";

/// Combines shard files (`(name, bytes)`) into the grid and every run in grid order: what
/// one `compare` of the whole grid would have tabled. Refuses, naming the file, shards of
/// another grid or another `N`, a shard given twice or missing, and runs missing or doubled.
pub fn merge(files: &[(String, Vec<u8>)]) -> Result<(Grid, Vec<RunSummary>)> {
    let mut first: Option<(String, Grid, usize)> = None;
    let mut seen = std::collections::BTreeMap::new();
    let mut rows: Vec<Option<RunSummary>> = vec![];
    for (name, bytes) in files {
        let file: ShardFile = serde_json::from_slice(bytes).map_err(|e| Error::file(name, format!("not a shard file of spikeplay compare --shard: {e}")))?;
        if file.format != SHARD_FORMAT {
            return Err(Error::file(name, format!("format {:?}, expected {SHARD_FORMAT:?}", file.format)));
        }
        match &first {
            None => {
                rows = vec![None; file.grid.configs().len()];
                first = Some((name.clone(), file.grid.clone(), file.shard.n));
            }
            Some((other, grid, n)) => {
                if &file.grid != grid {
                    return Err(Error::file(name, format!("is a shard of another grid than {other} (its norms, depths, architectures, seeds or base settings differ)")));
                }
                if file.shard.n != *n {
                    return Err(Error::file(name, format!("is shard {}/{} but {other} is one of {n}", file.shard.k, file.shard.n)));
                }
            }
        }
        if let Some(twice) = seen.insert(file.shard.k, name.clone()) {
            return Err(Error::file(name, format!("is shard {}/{} again ({twice} is too)", file.shard.k, file.shard.n)));
        }
        let want = file.shard.indices(rows.len());
        let got: Vec<usize> = file.rows.iter().map(|(i, _)| *i).collect();
        if got != want {
            return Err(Error::file(name, format!("holds runs {got:?}, shard {}/{} of {} runs has {want:?}", file.shard.k, file.shard.n, rows.len())));
        }
        for (i, row) in file.rows {
            rows[i] = Some(row);
        }
    }
    let (_, grid, n) = first.ok_or_else(|| Error::parse("no shard files given"))?;
    if let Some(k) = (1..=n).find(|k| !seen.contains_key(k)) {
        return Err(Error::parse(format!("shard {k}/{n} is missing: give the OUT.shard.json of every shard")));
    }
    Ok((grid, rows.into_iter().map(|r| r.expect("every index was checked")).collect()))
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
    fn shards_cover_the_grid_once_and_merge_back_in_order() {
        let grid = Grid { base: ExperimentConfig::default(), norms: vec![NormKind::Psp, NormKind::Bn], depths: vec![2, 4], residual: vec![false], seeds: vec![0, 1, 2] };
        let total = grid.configs().len();
        let shards: Vec<Shard> = (1..=5).map(|k| Shard { k, n: 5 }).collect();
        let mut all: Vec<usize> = shards.iter().flat_map(|s| s.indices(total)).collect();
        all.sort();
        assert_eq!(all, (0..total).collect::<Vec<_>>());
        let rows: Vec<RunSummary> = grid.configs().iter().enumerate().map(|(i, c)| {
            let mut r = RunSummary::failed(c, if i == 3 { "diverged".into() } else { String::new() }, i as f64);
            r.test_accuracy = if i == 3 { f32::NAN } else { 0.5 + i as f32 / 1000.0 };
            r
        }).collect();
        let file = |s: Shard| -> (String, Vec<u8>) {
            let f = ShardFile { format: SHARD_FORMAT.into(), grid: grid.clone(), shard: s, rows: s.indices(total).into_iter().map(|i| (i, rows[i].clone())).collect() };
            (format!("s{}.json", s.k), serde_json::to_vec(&f).unwrap())
        };
        let files: Vec<_> = shards.iter().rev().map(|s| file(*s)).collect();
        let (g, merged) = merge(&files).unwrap();
        assert_eq!(g, grid);
        // Exactly the rows (NaN included: a failed run's figures survive the file).
        assert_eq!(csv(&merged), csv(&rows));
        assert!(merged[3].test_accuracy.is_nan() && merged[4].test_accuracy == rows[4].test_accuracy);
        // Missing, doubled, foreign shards are refused by name.
        assert!(merge(&files[1..]).unwrap_err().to_string().contains("shard 5/5 is missing"));
        let twice = [files.clone(), vec![files[0].clone()]].concat();
        assert!(merge(&twice).unwrap_err().to_string().contains("is shard 5/5 again"));
        let other = Grid { seeds: vec![0], ..grid.clone() };
        let f = ShardFile { format: SHARD_FORMAT.into(), grid: other, shard: Shard { k: 1, n: 5 }, rows: vec![] };
        let foreign = [files.clone(), vec![("x.json".into(), serde_json::to_vec(&f).unwrap())]].concat();
        assert!(merge(&foreign).unwrap_err().to_string().contains("x.json: is a shard of another grid"));
        assert!(merge(&[("bad.json".into(), b"{".to_vec())]).unwrap_err().to_string().starts_with("bad.json: not a shard file"));
        assert_eq!(Shard::parse("2/3"), Ok(Shard { k: 2, n: 3 }));
        assert!(Shard::parse("0/3").is_err() && Shard::parse("4/3").is_err() && Shard::parse("x").is_err());
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
