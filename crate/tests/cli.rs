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
        (&["train", "--norm", "bogus"], "unknown variant `bogus`"),
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
    for row in fresh.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let key = f[..4].join(",");
        let old = committed.lines().find(|l| l.starts_with(&format!("{key},"))).unwrap_or_else(|| panic!("{key} missing from the committed grid"));
        let g: Vec<&str> = old.split(',').collect();
        for (col, name) in [(4, "test_accuracy"), (6, "mean_rate"), (12, "first_loss")] {
            let (a, b): (f64, f64) = (f[col].parse().unwrap(), g[col].parse().unwrap());
            assert!((a - b).abs() <= 0.006, "{key} {name}: fresh {a}, committed {b}");
        }
    }
}
