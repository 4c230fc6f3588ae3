//! Property tests ("fuzzing") of every parser of user input: config JSON (text, parsed
//! value, the page's field map), config field values, and data files (IDX raw and gzip, IDX
//! pairs, CSV, what the page previews, the digits file). For every input: no panic, no hang
//! (each call under `CASE_SECS`; a watchdog ends the run after `HANG_SECS`), peak allocation
//! within a bound linear in the input's (inflated) size, accepted values really within the
//! documented bounds, and every refusal names where: the config field, or the file and its
//! byte or line.
//!
//! Cases per property: `SPIKEPLAY_FUZZ_CASES` (default 10000, CI-sized: seconds in release). The full run:
//! `SPIKEPLAY_FUZZ_CASES=100000 cargo test --release -p spikeplay --test fuzz -- --nocapture`.
//! The seed is random and printed with each summary line; `SPIKEPLAY_FUZZ_SEED=N` replays it.
#![cfg(not(target_arch = "wasm32"))]

mod gen;
mod harness;

use std::sync::OnceLock;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use spikeplay::config::limits;
use spikeplay::upload::{self, DataFile, Labelled, MAX_CLASSES, MAX_INFLATED, MAX_VALUES};
use spikeplay::{Error, ExperimentConfig};

use gen::*;
use harness::*;

// ---- What accepted values and refusals must look like ----

fn fields() -> &'static [String] {
    static FIELDS: OnceLock<Vec<String>> = OnceLock::new();
    FIELDS.get_or_init(|| match serde_json::to_value(ExperimentConfig::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => unreachable!("a config serializes to an object"),
    })
}

/// A config refusal names a field of the struct or one of the `keys` it was given.
fn names_a_field(message: &str, keys: &[String]) -> bool {
    // serde_path_to_error writes `field: ...`, or `field.inner: ...` / `field[0]: ...` for
    // a wrong value nested in it; serde writes `unknown field `x``, `duplicate field `x``.
    let named = |k: &String| [":", ".", "["].iter().any(|end| message.contains(&format!("{k}{end}"))) || message.contains(&format!("`{k}`"));
    fields().iter().chain(keys).any(named)
}

/// The bounds `validate` documents, checked from the outside.
fn within_bounds(c: &ExperimentConfig) -> Result<(), TestCaseError> {
    let kernel = if c.conv { 9 } else { 1 };
    let weights = c.depth as u128 * c.width as u128 * c.width as u128 * kernel;
    prop_assert!(weights <= limits::MAX_WEIGHTS, "accepted {weights} weights");
    if !c.conv {
        let cells = (c.depth as u128 + 2) * c.timesteps as u128 * c.batch.max(c.probe_samples) as u128 * c.width as u128;
        prop_assert!(cells <= limits::MAX_ACTIVATIONS, "accepted {cells} activations");
    }
    prop_assert!(c.samples <= limits::MAX_SAMPLES && c.epochs <= limits::MAX_EPOCHS && c.seed <= limits::MAX_SEED);
    prop_assert!(c.pools <= limits::MAX_POOLS && c.timesteps >= 1 && c.depth >= 1 && c.batch >= 1);
    let floats = [c.noise as f64, c.test_fraction as f64, c.beta as f64, c.theta as f64, c.psp_lambda as f64, c.surrogate_width as f64, c.init_scale as f64, c.psp_eps, c.lr, c.weight_decay];
    prop_assert!(floats.iter().all(|v| v.is_finite()), "accepted a non-finite value: {floats:?}");
    Ok(())
}

/// A validation refusal is `Error::Config` naming a field of the struct.
fn config_refusal(e: &Error) -> Result<(), TestCaseError> {
    match e {
        Error::Config { field, .. } => prop_assert!(fields().iter().any(|f| f == field), "unknown field {field:?} in {e}"),
        other => prop_assert!(false, "validation refused with {other:?}, not Error::Config"),
    }
    Ok(())
}

/// Refusals that are about the whole file (so they name no byte or line).
const WHOLE_FILE: [&str; 8] = ["the file is empty", "no data rows", "every label is the same", ": gzip", "samples but", "this is a labels file", "this is an images file", "are needed to split into train and test"];

/// A data refusal names one of the files and says where: `byte N`, `bytes N..`, `line N`,
/// or it is about the whole file.
fn locates(message: &str, names: &[&str]) -> Result<(), TestCaseError> {
    let count_only = names.len() != 1 && names.len() != 2 && message.contains("drop an IDX images + labels pair or one CSV");
    if count_only {
        return Ok(());
    }
    prop_assert!(names.iter().any(|n| message.contains(n)), "{message:?} names none of {names:?}");
    let at = |word: &str| message.match_indices(word).any(|(i, _)| message[i + word.len()..].starts_with(|c: char| c.is_ascii_digit()));
    let whole = WHOLE_FILE.iter().any(|w| message.contains(w));
    prop_assert!(at("byte ") || at("bytes ") || at("line ") || whole, "{message:?} says no byte or line");
    Ok(())
}

fn labelled_ok(d: &Labelled) -> Result<(), TestCaseError> {
    prop_assert!(!d.y.is_empty() && d.features >= 1 && d.x.len() == d.y.len() * d.features);
    prop_assert!(d.x.len() <= MAX_VALUES && d.classes <= MAX_CLASSES);
    prop_assert!(d.y.iter().all(|&l| (l as usize) < d.classes), "a label beyond {} classes", d.classes);
    prop_assert!(d.y.iter().any(|&l| l != d.y[0]), "one class only");
    prop_assert!(d.x.iter().all(|v| v.is_finite()));
    if let Some((h, w)) = d.image {
        prop_assert_eq!(h * w, d.features);
    }
    Ok(())
}

// ---- Properties: configs ----

#[test]
fn config_json_never_panics_and_names_the_field() {
    property("config JSON", config_text(), |(text, keys, well_formed), s| {
        let bytes = text.as_bytes();
        let parsed = guarded(s, "from_json", bytes, bytes.len(), || ExperimentConfig::from_json(&text))?;
        match &parsed {
            Ok(cfg) => {
                s.accept();
                within_bounds(cfg)?
            }
            Err(e) if well_formed => prop_assert!(names_a_field(&e.to_string(), &keys), "{e} names no field of {keys:?}"),
            Err(_) => {}
        }
        // The CLI reads a value first (then overlays flags), the page a map of fields; both
        // must agree with from_json on what is a valid config. (Except for repeated keys:
        // a value keeps the last, as JavaScript does, where from_json refuses them.)
        let repeated = keys.iter().enumerate().any(|(i, k)| keys[..i].contains(k));
        if let (Ok(value), false) = (serde_json::from_str::<serde_json::Value>(&text), repeated) {
            let cli = guarded(s, "from_value", bytes, bytes.len(), || ExperimentConfig::from_value(value.clone()).and_then(|c| c.validate().map(|_| c)))?;
            prop_assert_eq!(cli.is_ok(), parsed.is_ok(), "from_value: {:?}, from_json: {:?}", cli.as_ref().err(), parsed.as_ref().err());
            if let serde_json::Value::Object(map) = value {
                let page = guarded(s, "view::parse_config", bytes, bytes.len(), || spikeplay::view::parse_config(map))?;
                prop_assert_eq!(page.is_ok(), parsed.is_ok(), "parse_config: {:?}, from_json: {:?}", page.as_ref().err(), parsed.as_ref().err());
                if let Err(e) = page {
                    prop_assert!(names_a_field(&e.to_string(), &keys), "{e} names no field of {keys:?}");
                }
            }
        }
        Ok(())
    });
}

#[test]
fn config_fields_never_panic_and_accepted_configs_fit() {
    property("config fields", (config_values(), image_size()), |(cfg, (h, w)), s| {
        let plain = guarded(s, "validate", &[], 0, || cfg.validate())?;
        match &plain {
            Ok(()) => {
                s.accept();
                within_bounds(&cfg)?
            }
            Err(e) => config_refusal(e)?,
        }
        let with_data = guarded(s, "validate_for_data", &[], 0, || cfg.validate_for_data(h.saturating_mul(w), 10, Some((h, w))))?;
        match &with_data {
            Ok(()) => {
                prop_assert!(plain.is_ok(), "validate_for_data accepted what validate refused");
                if cfg.conv {
                    prop_assert!(h.min(w) >> cfg.pools >= 1, "{} pools accepted on {h}x{w}", cfg.pools);
                    let cells = (cfg.timesteps as u128 * cfg.forward_samples() as u128).saturating_mul(cfg.conv_cells(h, w));
                    prop_assert!(cells <= limits::MAX_ACTIVATIONS, "accepted {cells} conv activations");
                }
            }
            Err(e) => config_refusal(e)?,
        }
        let no_image = guarded(s, "validate_for_data(None)", &[], 0, || cfg.validate_for_data(64, 10, None))?;
        prop_assert!(!(cfg.conv && no_image.is_ok()), "a conv net accepted without images");
        Ok(())
    });
}

// ---- Properties: data files ----

#[test]
fn idx_files_never_panic_and_refusals_name_the_byte() {
    property("IDX", idx_file(), |bytes, s| {
        let size = size_of(&bytes);
        let name = "t10k-images.idx3-ubyte";
        let inflated = guarded(s, "gunzip_if_needed", &bytes, size, || upload::gunzip_if_needed(name, &bytes).map(|b| b.len()))?;
        if let Err(e) = &inflated {
            locates(&e.to_string(), &[name])?;
        }
        match guarded(s, "parse_idx", &bytes, size, || upload::parse_idx(name, &bytes))? {
            Ok(idx) => {
                s.accept();
                prop_assert!((1..=4).contains(&idx.dims.len()) && idx.values.len() <= MAX_VALUES);
                prop_assert_eq!(idx.dims.iter().product::<usize>(), idx.values.len());
                prop_assert!(idx.values.iter().all(|v| v.is_finite()));
            }
            Err(e) => locates(&e.to_string(), &[name])?,
        }
        Ok(())
    });
}

#[test]
fn idx_pairs_never_panic_and_refusals_name_the_file() {
    property("IDX pair", idx_pair(), |(images, labels), s| {
        let size = size_of(&images) + size_of(&labels);
        let (a, b) = ("train-images", "train-labels");
        match guarded(s, "parse_idx_pair", &images, size, || upload::parse_idx_pair((a, &images), (b, &labels)))? {
            Ok(d) => {
                s.accept();
                labelled_ok(&d)?
            }
            Err(e) => locates(&e.to_string(), &[a, b])?,
        }
        Ok(())
    });
}

#[test]
fn csv_files_never_panic_and_refusals_name_the_line() {
    property("CSV", csv_file(), |bytes, s| {
        let name = "my data.csv";
        match guarded(s, "parse_csv", &bytes, size_of(&bytes), || upload::parse_csv(name, &bytes))? {
            Ok(d) => {
                s.accept();
                labelled_ok(&d)?
            }
            Err(e) => locates(&e.to_string(), &[name])?,
        }
        Ok(())
    });
}

#[test]
fn uploads_never_panic_and_previews_add_up() {
    property("upload preview", upload_files(), |files, s| {
        let files: Vec<DataFile> = files.into_iter().enumerate().map(|(i, b)| DataFile::new(format!("upload-{i}.bin"), b)).collect();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let size = files.iter().map(|f| size_of(&f.bytes)).sum();
        let first = files.first().map_or(&[][..], |f| &f.bytes[..]);
        let parsed = guarded(s, "parse_files", first, size, || upload::parse_files(&files))?;
        match &parsed {
            Ok(d) => labelled_ok(d)?,
            Err(e) => locates(&e.to_string(), &names)?,
        }
        match guarded(s, "preview", first, size, || upload::preview(&files))? {
            Ok(p) => {
                s.accept();
                prop_assert!(parsed.is_ok(), "preview accepted what parse_files refused");
                prop_assert_eq!(p.counts.len(), p.classes as usize);
                prop_assert_eq!(p.counts.iter().map(|&c| c as u64).sum::<u64>(), p.samples as u64);
                prop_assert_eq!(p.labels.len(), (p.samples as usize).min(upload::PREVIEW_SAMPLES));
                prop_assert_eq!(p.values.len(), p.labels.len() * (p.features as usize).min(upload::PREVIEW_FEATURES));
                prop_assert!(p.values.iter().all(|v| (0.0..=1.0).contains(v)), "preview values outside [0, 1]");
            }
            Err(e) => {
                // The preview also refuses too few samples to split (upload::MIN_SAMPLES).
                let too_few = parsed.as_ref().is_ok_and(|d| d.len() < upload::MIN_SAMPLES);
                prop_assert!(parsed.is_err() || too_few, "preview refused what parse_files accepted: {e}");
                locates(&e.to_string(), &names)?;
            }
        }
        Ok(())
    });
}

#[test]
fn digits_text_never_panics_and_refusals_name_the_line() {
    property("digits", digits_text(), |text, s| {
        match guarded(s, "parse_digits", text.as_bytes(), text.len(), || spikeplay::data::parse_digits(&text))? {
            Ok((x, y)) => {
                s.accept();
                prop_assert!(!y.is_empty() && x.len() == 64 * y.len());
                prop_assert!(y.iter().all(|&l| l <= 9) && x.iter().all(|v| (0.0..=1.0).contains(v)));
            }
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.starts_with("data: digits.csv: line ") || e.starts_with("data: digits.csv: no rows"), "{e}");
            }
        }
        Ok(())
    });
}

/// Weights files (`--init-from`, crate/src/weights.rs): a saved file, damaged anywhere (its
/// JSON header included), is loaded whole or refused naming the file; a refused one changes
/// nothing, an accepted one leaves every value finite. Raw bytes too.
#[test]
fn damaged_weights_files_load_whole_or_are_refused_by_name() {
    use spikeplay::config::{DatasetKind, NormKind};
    use spikeplay::Trainer;
    let cfg = ExperimentConfig { dataset: DatasetKind::Moons, samples: 60, depth: 2, width: 4, timesteps: 2, norm: NormKind::Bn, ..Default::default() };
    let saved = Trainer::new(cfg.clone()).unwrap().save_weights().unwrap();
    let files = prop_oneof![
        3 => mutations().prop_filter("damaged", |m| !m.is_empty()).prop_map({ let saved = saved.clone(); move |m| mutate(saved.clone(), &m) }),
        1 => raw_bytes(),
    ];
    // The tensors of a weights file by name (its header's metadata order is a HashMap's).
    let tensors = |t: &Trainer| -> std::collections::BTreeMap<String, Vec<u8>> {
        let bytes = t.save_weights().expect("saves");
        let st = safetensors::SafeTensors::deserialize(&bytes).expect("its own file reads");
        st.tensors().into_iter().map(|(n, v)| (n, v.data().to_vec())).collect()
    };
    property("weights", files, |bytes, s| {
        let mut t = Trainer::new(cfg.clone()).expect("the net builds");
        let before = tensors(&t);
        match guarded(s, "load_weights", &bytes, bytes.len(), || t.load_weights(&bytes, "w.safetensors"))? {
            Ok(()) => {
                s.accept();
                for (name, data) in tensors(&t) {
                    let finite = data.chunks_exact(4).all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite());
                    prop_assert!(finite, "{name} took a non-finite value");
                }
            }
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.starts_with("w.safetensors: "), "{e}");
                prop_assert!(tensors(&t) == before, "a refused file changed the network: {e}");
            }
        }
        Ok(())
    });
}

/// NIR files (`eval --model`, `--init-from`, the page's drop; crate/src/nir/import.rs): an
/// export, damaged anywhere, is imported or refused naming the file, never a panic, a hang or
/// an allocation out of proportion; an accepted graph still has the network's shape.
#[test]
fn damaged_nir_files_import_or_are_refused_by_name() {
    use spikeplay::config::DatasetKind;
    use spikeplay::Trainer;
    let cfg = ExperimentConfig { dataset: DatasetKind::Moons, samples: 60, depth: 2, width: 4, timesteps: 2, ..Default::default() };
    let saved = Trainer::new(cfg).unwrap().export_nir().unwrap();
    let files = prop_oneof![
        4 => mutations().prop_filter("damaged", |m| !m.is_empty()).prop_map({ let saved = saved.clone(); move |m| mutate(saved.clone(), &m) }),
        1 => raw_bytes(),
    ];
    property("nir", files, |bytes, s| {
        match guarded(s, "nir::import", &bytes, bytes.len(), || spikeplay::nir::import(&bytes, "m.nir"))? {
            Ok(g) => {
                s.accept();
                prop_assert!(g.features == 2 && g.classes == 2 && g.depth >= 1, "{} -> {} in {} layers", g.features, g.classes, g.depth);
            }
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.starts_with("m.nir: "), "{e}");
            }
        }
        Ok(())
    });
}

#[test]
fn raw_bytes_never_panic_any_parser() {
    property("raw bytes", raw_bytes(), |bytes, s| {
        let size = size_of(&bytes);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let name = "raw.bin";
        if let Err(e) = guarded(s, "parse_idx", &bytes, size, || upload::parse_idx(name, &bytes))? {
            locates(&e.to_string(), &[name])?;
        }
        if let Err(e) = guarded(s, "parse_csv", &bytes, size, || upload::parse_csv(name, &bytes))? {
            locates(&e.to_string(), &[name])?;
        }
        let one = [DataFile::new(name, bytes.clone())];
        if let Err(e) = guarded(s, "preview", &bytes, size, || upload::preview(&one))? {
            locates(&e.to_string(), &[name])?;
        }
        guarded(s, "parse_digits", text.as_bytes(), 3 * text.len(), || spikeplay::data::parse_digits(&text))?.ok();
        guarded(s, "from_json", text.as_bytes(), 3 * text.len(), || ExperimentConfig::from_json(&text))?.ok();
        Ok(())
    });
}

// ---- The harness itself, and regressions ----

#[test]
fn the_counter_sees_allocations_and_the_bound_catches_declared_sizes() {
    let _serial = lock(&SERIAL);
    let (v, peak) = measured(|| vec![1u8; 3 << 20]);
    assert!((3 << 20..(3 << 20) + 4096).contains(&peak), "peak {peak} for a 3 MiB vector");
    drop(v);
    // 16 bytes declaring 60000 x 28 x 28 (47M values): refused without allocating them.
    let tiny = [0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28];
    let (r, peak) = measured(|| upload::parse_idx("huge", &tiny));
    assert!(r.expect_err("no values").to_string().contains("huge: truncated data"));
    assert!(peak < 4096, "{peak} bytes for a 16-byte header");
}

#[test]
fn a_gzip_bomb_is_refused_within_the_inflate_limit() {
    use std::io::Write;
    let _serial = lock(&SERIAL);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..=MAX_INFLATED >> 20 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    let start = Instant::now();
    let (r, peak) = measured(|| upload::parse_idx("bomb.gz", &bomb));
    let e = r.expect_err("too large").to_string();
    assert!(e.starts_with("bomb.gz: gzip inflates to more than"), "{e}");
    assert!(peak < 1 << 20, "{peak} bytes held: a bomb is refused while counting, before it is held");
    println!("gzip bomb: {} bytes inflating past {MAX_INFLATED}, refused in {:.1} s, peak {peak} bytes", bomb.len(), start.elapsed().as_secs_f64());
}
