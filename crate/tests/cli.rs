//! The `spikeplay` binary: bad input exits non-zero naming the field; a run writes run.json.

use std::process::Command;

fn spikeplay(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_spikeplay")).args(args).output().expect("binary runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("spikeplay-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn bad_flags_and_values_name_the_field() {
    let cases: [(&[&str], &str); 5] = [
        (&["train", "--depth", "0"], "depth"),
        (&["train", "--beta", "2"], "beta"),
        (&["train", "--norm", "bogus"], "invalid value 'bogus' for '--norm <NAME>'"),
        (&["train", "--widht", "3"], "--widht"),
        (&["train", "--lr", "abc"], "--lr"),
    ];
    for (args, needle) in cases {
        let (ok, err) = spikeplay(args);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(needle), "{args:?}: {err:?} should mention {needle}");
    }
}

#[test]
fn bad_config_file_names_the_field() {
    let path = tmp("bad.json");
    std::fs::write(&path, r#"{"dataset": "digits", "timestep": 8}"#).unwrap();
    let (ok, err) = spikeplay(&["train", "--config", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("timestep"), "{err}");
    // A number JSON cannot hold fails in the tokenizer, still under its key (a recording's too).
    std::fs::write(&path, r#"{"config": {"depth": 1e400}}"#).unwrap();
    let (ok, err) = spikeplay(&["train", "--config", path.to_str().unwrap()]);
    assert!(!ok && err.contains("config.depth: number out of range"), "{err}");
}

#[test]
fn a_run_writes_config_history_and_final() {
    let cfg = tmp("cfg.json");
    std::fs::write(&cfg, r#"{"dataset": "moons", "samples": 200, "depth": 2, "width": 16, "epochs": 2}"#).unwrap();
    let out = tmp("run.json");
    let (ok, err) = spikeplay(&["train", "--config", cfg.to_str().unwrap(), "--epochs", "3", "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(run["config"]["epochs"], 3, "flags override the file");
    assert_eq!(run["config"]["dataset"], "moons");
    assert_eq!(run["history"].as_array().unwrap().len(), 3);
    for key in ["test_accuracy", "train_accuracy"] {
        let v = run["final"][key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert_eq!(run["final"]["firing_rates"].as_array().unwrap().len(), 2);
    assert!(err.contains("epoch   3/3"), "progress is shown: {err}");

    // The run file (as the page downloads it, config under "config") continues natively.
    let again = tmp("run-again.json");
    let (ok, err) = spikeplay(&["train", "--config", out.to_str().unwrap(), "--epochs", "1", "--out", again.to_str().unwrap()]);
    assert!(ok, "{err}");
    let rerun: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(rerun["config"]["dataset"], "moons");
    assert_eq!(rerun["config"]["samples"], 200);
    assert_eq!(rerun["config"]["epochs"], 1);
}

#[test]
fn compare_writes_one_csv_row_per_run_and_a_markdown_table() {
    let out = tmp("grid");
    let (ok, err) = spikeplay(&[
        "compare", "--dataset", "moons", "--samples", "120", "--width", "8", "--timesteps", "2", "--epochs", "1",
        "--norms", "psp,tebn", "--depths", "2,3", "--archs", "plain,residual", "--seeds", "0,1", "--jobs", "2",
        "--out", out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(out.with_extension("csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 2 * 2 * 2, "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("tebn,3,residual,1,")), "{csv}");
    let md = std::fs::read_to_string(out.with_extension("md")).unwrap();
    assert!(md.contains("| arch | depth | psp | tebn |"), "{md}");
    assert!(md.contains("| residual | 3 |"), "{md}");
    assert!(err.contains("[16/16]"), "progress names each run: {err}");
}

#[test]
fn compare_exits_non_zero_when_a_run_fails_even_quietly() {
    let csv = tmp("cmp-nan.csv");
    std::fs::write(&csv, "0,1\n1,NaN\n0,2\n1,3\n").unwrap();
    let out = tmp("cmp-fail");
    let (ok, err) = spikeplay(&["compare", "--data", csv.to_str().unwrap(), "--norms", "none,psp", "--seeds", "0", "--epochs", "1", "--quiet", "--out", out.to_str().unwrap()]);
    assert!(!ok && err.contains("2 of 2 runs failed") && err.contains("cmp-nan.csv: line 2, column 2"), "{err}");
    let table = std::fs::read_to_string(out.with_extension("csv")).expect("the table is still written");
    assert!(table.contains("line 2, column 2"), "{table}");
}

#[test]
fn compare_checks_every_cell_before_running() {
    let out = tmp("bad-grid");
    let (ok, err) = spikeplay(&["compare", "--depths", "1", "--archs", "residual", "--out", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("depth") && err.contains("residual"), "{err}");
    assert!(!out.with_extension("csv").exists(), "nothing ran");
    let (ok, err) = spikeplay(&["compare", "--archs", "deep"]);
    assert!(!ok && err.contains("plain or residual"), "{err}");
}

/// docs/RESULTS.md's grid regenerates from its command: a slice of it (the shallowest
/// cells, two norms, one seed) rerun here must give the committed rows. Runs use one thread
/// each, so they are deterministic; the tolerance covers a different CPU's SIMD path.
#[test]
fn results_grid_slice_regenerates() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/results/digits.csv")).expect("docs/results/digits.csv");
    let out = tmp("slice");
    let (ok, err) = spikeplay(&[
        "compare", "--dataset", "digits", "--width", "64", "--timesteps", "4", "--batch", "64", "--epochs", "10", "--lr", "3e-3",
        "--norms", "psp,bn", "--depths", "2", "--archs", "plain", "--seeds", "0", "--out", out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let fresh = std::fs::read_to_string(out.with_extension("csv")).unwrap();
    // The worst layer's neuron shares (a layer can over-fire in half its neurons while its mean
    // rate is in the band): present, and shares.
    let header: Vec<&str> = fresh.lines().next().unwrap().split(',').collect();
    let (sat, sil) = (header.iter().position(|h| *h == "worst_saturated").expect("worst_saturated column"), header.iter().position(|h| *h == "worst_silent").expect("worst_silent column"));
    for row in fresh.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        for col in [sat, sil] {
            let share: f64 = f[col].parse().unwrap();
            assert!((0.0..=1.0).contains(&share), "{row}: {} = {share}", header[col]);
        }
        let key = f[..4].join(",");
        let old = committed.lines().find(|l| l.starts_with(&format!("{key},"))).unwrap_or_else(|| panic!("{key} missing from the committed grid"));
        let g: Vec<&str> = old.split(',').collect();
        for (col, name) in [(4, "test_accuracy"), (6, "mean_rate"), (12, "first_loss")] {
            let (a, b): (f64, f64) = (f[col].parse().unwrap(), g[col].parse().unwrap());
            assert!((a - b).abs() <= 0.006, "{key} {name}: fresh {a}, committed {b}");
        }
    }
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `--data` takes a real IDX pair (the shipped MNIST 14x14 files, here as a user would pass
/// them, in either order) and a CSV; the run trains on them as `dataset: custom`.
#[test]
fn data_flag_trains_on_an_idx_pair_and_a_csv() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist/");
    let (images, labels) = (format!("{root}mnist14-images.idx3-ubyte.gz"), format!("{root}mnist-labels.idx1-ubyte.gz"));
    let out = tmp("idx.json");
    let (ok, err) = spikeplay(&["train", "--data", &labels, "--data", &images, "--depth", "2", "--width", "64", "--timesteps", "4", "--epochs", "1", "--batch", "32", "--lr", "3e-3", "--quiet", "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let run = read_json(&out);
    assert_eq!(run["config"]["dataset"], "custom");
    let acc = run["final"]["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.8, "one epoch on 8,000 MNIST digits reaches 88.7 % (seed 0); at least 80 %, got {acc}");

    let csv = tmp("two-blobs.csv");
    let rows: String = (0..200).map(|i| format!("{},{},{}\n", i % 2, (i % 2) as f32 * 4.0 + (i % 7) as f32 * 0.1, 1.0 - (i % 3) as f32 * 0.2)).collect();
    std::fs::write(&csv, format!("label,a,b\n{rows}")).unwrap();
    let out = tmp("csv.json");
    let (ok, err) = spikeplay(&["train", "--data", csv.to_str().unwrap(), "--depth", "2", "--width", "16", "--epochs", "20", "--quiet", "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(read_json(&out)["final"]["test_accuracy"].as_f64().unwrap() > 0.9, "two separable blobs");
}

#[test]
fn data_flag_errors_name_the_file_and_the_byte_or_line() {
    let truncated = tmp("trunc.idx");
    std::fs::write(&truncated, [0u8, 0, 8, 3, 0, 0, 0, 10]).unwrap();
    let labels = tmp("labels.idx");
    std::fs::write(&labels, [0u8, 0, 8, 1, 0, 0, 0, 2, 0, 1]).unwrap();
    let (ok, err) = spikeplay(&["train", "--data", truncated.to_str().unwrap(), "--data", labels.to_str().unwrap()]);
    assert!(!ok && err.contains("trunc.idx") && err.contains("truncated header"), "{err}");
    let csv = tmp("nan.csv");
    std::fs::write(&csv, "0,1,2\n1,NaN,3\n").unwrap();
    let (ok, err) = spikeplay(&["train", "--data", csv.to_str().unwrap()]);
    assert!(!ok && err.contains("nan.csv") && err.contains("line 2, column 2"), "{err}");
    let (ok, err) = spikeplay(&["train", "--data", csv.to_str().unwrap(), "--dataset", "digits"]);
    assert!(!ok && err.contains("--dataset"), "{err}");
    let (ok, err) = spikeplay(&["train", "--data", "/nonexistent/x.csv"]);
    assert!(!ok && err.contains("--data /nonexistent/x.csv"), "{err}");
    let (ok, err) = spikeplay(&["train", "--dataset", "spiral", "--conv"]);
    assert!(!ok && err.contains("conv") && err.contains("image"), "{err}");
}

#[test]
fn files_too_large_or_too_wide_are_refused_before_anything_is_built() {
    // Sparse files: their length is what the CLI checks, before reading a byte of them.
    let huge = tmp("huge.csv");
    std::fs::File::create(&huge).unwrap().set_len(600_000_000).unwrap();
    let (ok, err) = spikeplay(&["train", "--data", huge.to_str().unwrap()]);
    assert!(!ok && err.contains("huge.csv") && err.contains("600000000 bytes is more than"), "{err}");
    let big_config = tmp("big.json");
    std::fs::File::create(&big_config).unwrap().set_len(100 << 20).unwrap();
    let (ok, err) = spikeplay(&["train", "--config", big_config.to_str().unwrap()]);
    assert!(!ok && err.contains("--config") && err.contains("nothing was read"), "{err}");
    // Four rows of 2^21 features: within the upload bound, but a 2^21 x 64 first layer is not.
    let wide = tmp("wide.csv");
    let row = |label: u8| format!("{label}{}\n", ",1".repeat(1 << 21));
    std::fs::write(&wide, [row(0), row(1), row(0), row(1)].concat()).unwrap();
    let (ok, err) = spikeplay(&["train", "--data", wide.to_str().unwrap(), "--test-fraction", "0.5"]);
    assert!(!ok && err.contains("width") && err.contains("2097152 features"), "{err}");
    // A device has no length: the read itself stops past the limit.
    let (ok, err) = spikeplay(&["train", "--config", "/dev/zero"]);
    assert!(!ok && err.contains("--config /dev/zero: more than the 67108864 bytes"), "{err}");
    for p in [huge, big_config, wide] {
        let _ = std::fs::remove_file(p);
    }
}

/// Issue 5: a small conv SNN (two 3x3 conv layers of 32 channels with PSP norm, two 2x2
/// pools, T = 4) reaches 97 % test accuracy on the 28x28 MNIST subset (8,000 training and
/// 2,000 test images) in a CLI run. About 2.5 minutes on 2 cores (12 before issue 19's conv
/// op); docs/RESULTS.md has the per-epoch figures of this exact command.
#[test]
fn conv_snn_reaches_97_percent_on_mnist28() {
    let out = tmp("mnist-conv.json");
    let args = [
        "train", "--dataset", "mnist28", "--conv", "--depth", "2", "--width", "32", "--pools", "2", "--timesteps", "4",
        "--norm", "psp", "--readout", "membrane", "--batch", "64", "--probe-samples", "64", "--epochs", "5", "--lr", "3e-3",
        "--lr-schedule", "cosine", "--seed", "0", "--quiet", "--out", out.to_str().unwrap(),
    ];
    let (ok, err) = spikeplay(&args);
    assert!(ok, "{err}");
    let run = read_json(&out);
    let acc = run["final"]["test_accuracy"].as_f64().unwrap();
    eprintln!("mnist28 conv: test {acc:.4}, history {}", run["history"]);
    assert!(acc >= 0.97, "conv SNN test accuracy {acc} on MNIST 28x28");
    let rates: Vec<f64> = run["final"]["firing_rates"].as_array().unwrap().iter().map(|r| r.as_f64().unwrap()).collect();
    assert!(rates.iter().all(|&r| r > 0.005 && r < 0.9), "rates {rates:?}");
}

/// `spikeplay bench` prints a markdown row per config and norm with positive timings and
/// writes every step's time; figures are read, never asserted against a speed.
#[test]
fn bench_prints_a_table_and_names_a_bad_config() {
    let out = tmp("bench.json");
    let run = Command::new(env!("CARGO_BIN_EXE_spikeplay"))
        .args(["bench", "--configs", "A", "--norms", "none,psp", "--warmup", "1", "--steps", "3", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let table = String::from_utf8_lossy(&run.stdout);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| A |")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    for row in rows {
        let cells: Vec<f64> = row.split('|').skip(3).filter_map(|c| c.trim().parse().ok()).collect();
        assert_eq!(cells.len(), 4, "{row}");
        assert!(cells.iter().all(|&v| v > 0.0 && v.is_finite()), "{row}");
    }
    let json = read_json(&out);
    assert_eq!(json["timings"][1]["step_ms"].as_array().unwrap().len(), 3);
    let (ok, err) = spikeplay(&["bench", "--configs", "Z"]);
    assert!(!ok && err.contains("bench config \"Z\""), "{err}");
}

/// Every field of the schema is a flag, with the schema's values and bounds: its help names
/// them, and a value past an end is refused naming the field, the bound and the flag (the CLI
/// keeps no second list of fields to fall out of step).
#[test]
fn every_schema_field_is_a_flag_with_the_schemas_bounds() {
    use spikeplay::schema::{fields, Kind};
    let out = Command::new(env!("CARGO_BIN_EXE_spikeplay")).args(["train", "--help"]).output().expect("binary runs");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    for f in fields() {
        let flag = format!("--{}", f.name.replace('_', "-"));
        let line = help.lines().find(|l| l.trim_start().starts_with(&format!("{flag} "))).unwrap_or_else(|| panic!("{flag} missing from --help"));
        match f.kind {
            Kind::Enum => assert!(line.contains(&format!("[possible values: {}]", f.options.join(", "))), "{line}"),
            Kind::Int | Kind::Float => assert!(line.contains(&format!("In {}", f.bound)), "{line}"),
            Kind::Bool => assert!(line.contains("[<BOOL>]"), "{line}"),
        }
        if !matches!(f.kind, Kind::Int | Kind::Float) {
            continue;
        }
        let (lo, hi) = (f.min.unwrap(), f.max.unwrap());
        // A value past the top (the top itself if that end is open), and the bottom if open.
        let mut refused = vec![if f.exclusive_max { hi } else if f.kind == Kind::Int { hi + 1.0 } else { hi * 1.5 + 1.0 }];
        if f.exclusive_min {
            refused.push(lo);
        }
        for v in refused {
            let text = if f.kind == Kind::Int { format!("{}", v as u64) } else { format!("{v}") };
            let (ok, err) = spikeplay(&["train", &flag, &text, "--quiet"]);
            assert!(!ok, "{flag} {text} was accepted");
            let want = format!("invalid config: {}: must be in {}", f.name, f.bound);
            assert!(err.contains(&want) && err.contains(&format!("(flag {flag})")), "{flag} {text}: {err:?} should say {want:?}");
        }
    }
}

/// `--save` then `--init-from`: a run that starts from saved weights and barely moves them
/// (lr 1e-12) scores what the saved run scored; one from the seed's weights does not.
#[test]
fn saved_weights_carry_a_trained_network_into_another_run() {
    let (weights, first, second, fresh) = (tmp("w.safetensors"), tmp("first.json"), tmp("second.json"), tmp("fresh.json"));
    let base = ["train", "--dataset", "digits", "--depth", "3", "--width", "32", "--norm", "none", "--timesteps", "4", "--quiet"];
    let (ok, err) = spikeplay(&[&base[..], &["--epochs", "3", "--save", weights.to_str().unwrap(), "--out", first.to_str().unwrap()]].concat());
    assert!(ok, "{err}");
    let tiny = ["--epochs", "1", "--lr", "1e-12"];
    let (ok, err) = spikeplay(&[&base[..], &tiny, &["--init-from", weights.to_str().unwrap(), "--out", second.to_str().unwrap()]].concat());
    assert!(ok, "{err}");
    let (ok, err) = spikeplay(&[&base[..], &tiny, &["--out", fresh.to_str().unwrap()]].concat());
    assert!(ok, "{err}");
    let acc = |p: &std::path::Path| -> f64 {
        let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        run["final"]["test_accuracy"].as_f64().unwrap()
    };
    assert!(acc(&first) > 0.5, "the first run learned: {}", acc(&first));
    assert!((acc(&second) - acc(&first)).abs() < 0.01, "from saved weights {} vs saved {}", acc(&second), acc(&first));
    assert!(acc(&fresh) < acc(&first) - 0.2, "from the seed's weights {} vs saved {}", acc(&fresh), acc(&first));
    // Another width: refused, naming the tensor and what the file was saved from.
    let (ok, err) = spikeplay(&["train", "--dataset", "digits", "--depth", "3", "--width", "16", "--norm", "none", "--init-from", weights.to_str().unwrap()]);
    assert!(!ok && err.contains("layers.0.weight has shape [32, 64], this network needs [16, 64]") && err.contains("saved from plain depth 3, width 32"), "{err}");
}

#[test]
fn nir_export_is_refused_before_training_for_norms_that_cannot_fold() {
    let out = tmp("refused.nir");
    let (ok, err) = spikeplay(&["train", "--dataset", "moons", "--norm", "bntt", "--nir", out.to_str().unwrap()]);
    assert!(!ok && err.contains("--nir: NIR export: norm: BNTT cannot be folded"), "{err}");
    assert!(!err.contains("epoch") && !out.exists(), "refused before the first epoch: {err}");
    // A file with HDF5's signature and nothing readable after it is refused by name.
    std::fs::write(&out, b"\x89HDF\r\n\x1a\n rest").unwrap();
    let (ok, err) = spikeplay(&["train", "--dataset", "moons", "--init-from", out.to_str().unwrap()]);
    assert!(!ok && err.contains("refused.nir: not a readable HDF5 file (NIR files are HDF5)"), "{err}");
}

/// `eval --model`: a weights file (its saved config) and the same run's NIR graph score what
/// the run scored; a graph on data of another shape is refused naming both shapes.
#[test]
fn eval_scores_a_saved_network_from_its_weights_and_from_its_nir_graph() {
    let (weights, graph, run) = (tmp("e.safetensors"), tmp("e.nir"), tmp("e.json"));
    let (ok, err) = spikeplay(&["train", "--dataset", "digits", "--depth", "2", "--width", "16", "--norm", "bn", "--timesteps", "4", "--epochs", "2", "--quiet",
        "--save", weights.to_str().unwrap(), "--nir", graph.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&run).unwrap()).unwrap();
    let want = format!("test accuracy {:.1}%", 100.0 * run["final"]["test_accuracy"].as_f64().unwrap());
    let (ok, said) = spikeplay(&["eval", "--model", weights.to_str().unwrap()]);
    assert!(ok && said.contains(&want) && said.contains("depth 2, width 16"), "weights: {said} (want {want})");
    let (ok, said) = spikeplay(&["eval", "--model", graph.to_str().unwrap(), "--dataset", "digits"]);
    assert!(ok && said.contains(&want) && said.contains("T 4"), "NIR: {said} (want {want})");
    let (ok, err) = spikeplay(&["eval", "--model", graph.to_str().unwrap(), "--dataset", "moons"]);
    assert!(!ok && err.contains("the graph takes 64 inputs and gives 10 outputs; this data set has 2 features and 2 classes"), "{err}");
}
