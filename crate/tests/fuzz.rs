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

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use spikeplay::config::limits;
use spikeplay::upload::{self, DataFile, Labelled, MAX_CLASSES, MAX_INFLATED, MAX_VALUES};
use spikeplay::{Error, ExperimentConfig};

// ---- Allocation counting, per thread, only inside `measured` ----

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = ON.try_with(|on| {
        if on.get() {
            let live = LIVE.get() + delta;
            LIVE.set(live);
            PEAK.set(PEAK.get().max(live));
        }
    });
}

// SAFETY: every call forwards to `System` unchanged; the counters only read sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // A moving realloc holds both blocks for a moment: count the new one first.
            note(new_size as isize);
            note(-(layout.size() as isize));
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f`, returning its result and the peak bytes it held above what was live before.
fn measured<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LIVE.set(0);
    PEAK.set(0);
    ON.set(true);
    let r = f();
    ON.set(false);
    (r, PEAK.get().max(0) as usize)
}

// ---- Time guard ----

/// A call slower than this fails its case (and proptest shrinks the input).
const CASE_SECS: f64 = 5.0;
/// A call still running after this is reported and the process exits: a hang fails CI.
const HANG_SECS: u64 = 60;

struct Watch {
    started: Option<(Instant, &'static str)>,
    input: Vec<u8>,
}

static WATCH: Mutex<Watch> = Mutex::new(Watch { started: None, input: Vec::new() });

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn watchdog() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        std::thread::spawn(|| loop {
            std::thread::sleep(Duration::from_millis(250));
            let w = lock(&WATCH);
            if let Some((t, what)) = w.started.filter(|(t, _)| t.elapsed() > Duration::from_secs(HANG_SECS)) {
                eprintln!("fuzz: {what} still running after {:.0} s on this input ({} bytes): {:?}", t.elapsed().as_secs_f64(), w.input.len(), &w.input);
                std::process::exit(101);
            }
        });
    });
}

/// Peak bytes and seconds of the slowest and hungriest calls of a property.
#[derive(Default)]
struct Stats {
    calls: Cell<u64>,
    /// Cases whose main parse accepted the input: how deep the generators reach.
    accepted: Cell<u64>,
    peak: Cell<usize>,
    peak_input: Cell<usize>,
    slowest: Cell<f64>,
}

impl Stats {
    fn accept(&self) {
        self.accepted.set(self.accepted.get() + 1);
    }
}

/// Runs the parser call `f` on `input` under the watchdog and the allocation counter, and
/// fails the case if it held more than `16 x size + 1 MiB` (`size`: the input's bytes,
/// inflated where gzip) or took longer than `CASE_SECS`.
fn guarded<R>(stats: &Stats, what: &'static str, input: &[u8], size: usize, f: impl FnOnce() -> R) -> Result<R, TestCaseError> {
    {
        let mut w = lock(&WATCH);
        w.input.clear();
        w.input.extend_from_slice(input);
        w.started = Some((Instant::now(), what));
    }
    // Stops the watch when the call returns or panics (proptest catches the panic).
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            lock(&WATCH).started = None;
        }
    }
    let done = Done;
    let start = Instant::now();
    let (r, peak) = measured(f);
    let secs = start.elapsed().as_secs_f64();
    drop(done);
    stats.calls.set(stats.calls.get() + 1);
    if peak > stats.peak.get() {
        stats.peak.set(peak);
        stats.peak_input.set(size);
    }
    stats.slowest.set(stats.slowest.get().max(secs));
    let bound = 16 * size + (1 << 20);
    prop_assert!(peak <= bound, "{what}: peak {peak} bytes for an input of {size} bytes, over the bound {bound}");
    prop_assert!(secs < CASE_SECS, "{what}: {secs:.2} s for an input of {size} bytes");
    Ok(r)
}

/// Bytes a parser may have to hold for `bytes`: the file, plus what it inflates to (and
/// what that inflates to: `parse_files` inflates a file, then `parse_csv` the result).
fn size_of(bytes: &[u8]) -> usize {
    fn inflated(bytes: &[u8], depth: u32) -> usize {
        if depth == 0 || !bytes.starts_with(&[0x1f, 0x8b]) {
            return 0;
        }
        let mut out = Vec::new();
        let _ = flate2::read::GzDecoder::new(bytes).take(MAX_INFLATED as u64).read_to_end(&mut out);
        out.len() + inflated(&out, depth - 1)
    }
    bytes.len() + inflated(bytes, 2)
}

// ---- Running a property ----

static SERIAL: Mutex<()> = Mutex::new(());

fn cases() -> u32 {
    std::env::var("SPIKEPLAY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

/// Runs `test` on `cases()` inputs from `strategy`, one property at a time (so the
/// timings do not share the cores), and prints one summary line.
fn property<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value, &Stats) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let _serial = lock(&SERIAL);
    watchdog();
    let seed = std::env::var("SPIKEPLAY_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        t.as_nanos() as u64 ^ std::process::id() as u64
    });
    let config = Config { cases: cases(), failure_persistence: None, rng_seed: RngSeed::Fixed(seed), max_shrink_time: 60_000, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let stats = Stats::default();
    let start = Instant::now();
    let result = runner.run(&strategy, |v| test(v, &stats));
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz {name}: {} cases ({} accepted), {} parser calls in {secs:.1} s; peak {} bytes (input {} bytes); slowest call {:.3} s; seed {seed}",
        cases(),
        stats.accepted.get(),
        stats.calls.get(),
        stats.peak.get(),
        stats.peak_input.get(),
        stats.slowest.get()
    );
    match result {
        Ok(()) => {}
        Err(proptest::test_runner::TestError::Fail(why, input)) => panic!("fuzz {name} (SPIKEPLAY_FUZZ_SEED={seed}): {why}; minimal input: {input:?}"),
        Err(e) => panic!("fuzz {name} (SPIKEPLAY_FUZZ_SEED={seed}): {e}"),
    }
}

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

// ---- Generators: valid shapes reached deep, then broken ----

/// Each config field with the values it takes: enum names, or the JSON type of the value.
const ENUMS: [(&str, &[&str]); 10] = [
    ("dataset", &["spiral", "circles", "xor", "gaussians", "moons", "digits", "mnist14", "mnist28", "custom"]),
    ("encoding", &["direct", "poisson", "latency"]),
    ("reset", &["hard", "soft"]),
    ("surrogate", &["sigmoid", "fast_sigmoid", "atan", "triangle", "rectangular"]),
    ("norm", &["none", "psp", "bn", "tdbn", "tebn", "bntt", "mpbn", "layer", "rms"]),
    ("psp_stats", &["shared", "per_step"]),
    ("psp_placement", &["trace", "current"]),
    ("readout", &["rate", "membrane"]),
    ("optimizer", &["adam", "sgd"]),
    ("lr_schedule", &["constant", "cosine"]),
];
const INTS: [&str; 11] = ["samples", "timesteps", "depth", "width", "pools", "batch", "epochs", "probe_samples", "seed", "samples", "depth"];
const FLOATS: [&str; 10] = ["noise", "test_fraction", "beta", "theta", "psp_lambda", "surrogate_width", "psp_eps", "init_scale", "lr", "weight_decay"];
const BOOLS: [&str; 6] = ["residual", "conv", "zero_init_residual", "detach_reset", "psp_shift", "residual"];

/// Integers at and around every bound, and any.
fn edge_int() -> impl Strategy<Value = u64> {
    let edges = vec![0, 1, 2, 3, 6, 7, 8, 9, 32, 64, 128, 256, 257, 1024, 1025, 4096, 4097, 100_000, 100_001, 1 << 23, 1 << 24, (1 << 53) - 1, 1 << 53, u32::MAX as u64, u64::MAX / 2, u64::MAX];
    prop_oneof![4 => 0u64..=300, 3 => proptest::sample::select(edges), 1 => any::<u64>()]
}

/// Floats at and around every bound, non-finite ones, and any.
fn edge_float() -> impl Strategy<Value = f64> {
    let edges = vec![0.0, -0.0, 1e-8, 9e-9, 0.01, 0.05, 0.9, 0.91, 1.0, 1.0001, 10.0, 100.0, 100.01, -1.0, 3.5e38, 1e308, f64::MIN_POSITIVE, 1e-320, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    prop_oneof![4 => -2.0..2.0f64, 3 => proptest::sample::select(edges), 1 => any::<f64>()]
}

/// Number tokens as JSON text, including ones no f64 or u64 holds.
fn number_text() -> impl Strategy<Value = String> {
    let odd = vec!["-1", "1e308", "-1e308", "1e400", "-1e400", "1e-400", "18446744073709551616", "18446744073709551615", "9007199254740993", "-0", "1.0", "1e30", "0.5e1", "-9223372036854775809", "1E2", "NaN", "Infinity", "01", "1.", ".5", "+1"];
    prop_oneof![
        3 => edge_int().prop_map(|v| v.to_string()),
        2 => edge_float().prop_filter("finite", |v| v.is_finite()).prop_map(|v| format!("{v:e}")),
        2 => proptest::sample::select(odd).prop_map(str::to_owned),
    ]
}

fn string_text() -> impl Strategy<Value = String> {
    let names: Vec<&str> = ENUMS.iter().flat_map(|(_, v)| v.iter().copied()).chain(["", "PSP", "Psp", "psp ", "x"]).collect();
    prop_oneof![proptest::sample::select(names).prop_map(str::to_owned), any::<String>()].prop_map(|s| serde_json::to_string(&s).unwrap_or_default())
}

/// Any JSON value as text, nested a few levels.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![number_text(), string_text(), Just("null".to_owned()), Just("true".to_owned()), Just("false".to_owned())];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec((string_text(), inner), 0..4).prop_map(|kv| format!("{{{}}}", kv.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(","))),
        ]
    })
}

/// A value of the field's own type, mostly; sometimes any JSON value.
fn field_value(field: &'static str) -> BoxedStrategy<String> {
    let typed: BoxedStrategy<String> = if let Some((_, names)) = ENUMS.iter().find(|(f, _)| *f == field) {
        proptest::sample::select(names.to_vec()).prop_map(|n| format!("{n:?}")).boxed()
    } else if INTS.contains(&field) {
        prop_oneof![8 => edge_int().prop_map(|v| v.to_string()), 1 => number_text()].boxed()
    } else if FLOATS.contains(&field) {
        prop_oneof![8 => edge_float().prop_filter("finite", |v| v.is_finite()).prop_map(|v| format!("{v:?}")), 1 => number_text()].boxed()
    } else {
        any::<bool>().prop_map(|b| b.to_string()).boxed()
    };
    prop_oneof![9 => typed, 1 => json_text()].boxed()
}

fn all_fields() -> Vec<&'static str> {
    ENUMS.iter().map(|(f, _)| *f).chain(INTS).chain(FLOATS).chain(BOOLS).collect()
}

/// `(text, keys, well_formed)`: a JSON object of config fields (and sometimes unknown or
/// repeated keys), or that text cut and mutated, or any string.
fn config_text() -> impl Strategy<Value = (String, Vec<String>, bool)> {
    let entry = proptest::sample::select(all_fields()).prop_flat_map(|f| (Just(f.to_owned()), field_value(f)));
    let unknown = prop_oneof![Just("depht".to_owned()), Just("Depth".to_owned()), Just("".to_owned()), any::<String>()];
    let object = (proptest::collection::vec(entry, 0..12), proptest::option::weighted(0.1, (unknown, json_text()))).prop_map(|(mut kv, extra)| {
        kv.extend(extra);
        let body: Vec<String> = kv.iter().map(|(k, v)| format!("{}: {v}", serde_json::to_string(k).unwrap_or_default())).collect();
        (format!("{{{}}}", body.join(", ")), kv.into_iter().map(|(k, _)| k).collect::<Vec<_>>(), true)
    }).boxed();
    prop_oneof![
        6 => object.clone(),
        2 => (object, mutations()).prop_map(|((text, keys, _), m)| (String::from_utf8_lossy(&mutate(text.into_bytes(), &m)).into_owned(), keys, false)),
        1 => json_text().prop_map(|t| (t, vec![], false)),
        1 => any::<String>().prop_map(|t| (t, vec![], false)),
    ]
}

/// A config with any field values, bounds and beyond.
fn config_values() -> impl Strategy<Value = ExperimentConfig> {
    let changes = proptest::collection::vec((proptest::sample::select(all_fields()), edge_int(), edge_float(), any::<bool>(), any::<usize>()), 0..14);
    changes.prop_map(|changes| {
        let mut value = serde_json::to_value(ExperimentConfig::default()).unwrap_or_default();
        for (field, int, float, flag, pick) in changes {
            let v = if let Some((_, names)) = ENUMS.iter().find(|(f, _)| *f == field) {
                serde_json::json!(names[pick % names.len()])
            } else if INTS.contains(&field) {
                serde_json::json!(int)
            } else if FLOATS.contains(&field) {
                // JSON has no NaN or infinity: those are set below, after parsing.
                if float.is_finite() { serde_json::json!(float) } else { serde_json::json!(0.5) }
            } else {
                serde_json::json!(flag)
            };
            value[field] = v;
        }
        serde_json::from_value(value).unwrap_or_default()
    })
    .prop_flat_map(|cfg: ExperimentConfig| (Just(cfg), proptest::option::weighted(0.2, (0..10usize, edge_float()))))
    .prop_map(|(mut cfg, nonfinite)| {
        if let Some((i, v)) = nonfinite {
            match i {
                0 => cfg.noise = v as f32,
                1 => cfg.test_fraction = v as f32,
                2 => cfg.beta = v as f32,
                3 => cfg.theta = v as f32,
                4 => cfg.psp_lambda = v as f32,
                5 => cfg.surrogate_width = v as f32,
                6 => cfg.psp_eps = v,
                7 => cfg.init_scale = v as f32,
                8 => cfg.lr = v,
                _ => cfg.weight_decay = v,
            }
        }
        cfg
    })
}

fn image_size() -> impl Strategy<Value = (usize, usize)> {
    let edge = proptest::sample::select(vec![0, 1, 2, 3, 7, 8, 14, 28, 64, 1 << 16, usize::MAX / 2, usize::MAX]);
    prop_oneof![3 => (1usize..=64, 1usize..=64), 1 => (edge.clone(), edge), 1 => (any::<usize>(), 1usize..=64)]
}

/// Byte-level damage: `(kind, position, value)` triples applied in order.
fn mutations() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
    proptest::collection::vec((0u8..5, any::<usize>(), any::<u8>()), 0..4)
}

fn mutate(mut b: Vec<u8>, m: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(kind, at, v) in m {
        let i = if b.is_empty() { 0 } else { at % (b.len() + 1) };
        match kind {
            0 => b.truncate(i),
            1 if i < b.len() => b[i] = v,
            2 if i < b.len() => b[i] ^= 1 << (v % 8),
            3 => b.insert(i, v),
            _ => b.extend(std::iter::repeat_n(v, at % 17)),
        }
    }
    b
}

fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(bytes).ok();
    e.finish().unwrap_or_default()
}

/// Sometimes damaged, sometimes gzip'd (and then sometimes the gzip stream damaged).
fn damaged(file: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (file, mutations(), proptest::option::weighted(0.25, (0u32..=9, mutations()))).prop_map(|(b, m, gz)| {
        let b = if m.len() > 2 { mutate(b, &m) } else { b };
        match gz {
            Some((level, gm)) => {
                let g = gzip(&b, level);
                if gm.len() > 2 { mutate(g, &gm) } else { g }
            }
            None => b,
        }
    })
}

fn idx_dim() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..=12, 1 => Just(0u32), 1 => proptest::sample::select(vec![u32::MAX, 60000, 1 << 16, 8193, 28, 1 << 26]), 1 => any::<u32>()]
}

const IDX_CODES: [u8; 6] = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E];

/// An IDX file: header, values of the declared size when that is small, with NaN,
/// infinities and f32-overflowing doubles planted.
fn idx_raw(dims: impl Strategy<Value = Vec<u32>>, codes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![9 => proptest::sample::select(codes), 1 => any::<u8>()];
    (code, dims, proptest::option::weighted(0.05, any::<u8>()))
        .prop_flat_map(|(code, dims, ndims)| {
            let width = match code { 0x0B => 2, 0x0C | 0x0D => 4, 0x0E => 8, _ => 1 };
            let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d as usize)).filter(|&n| n.saturating_mul(width) <= 1 << 14);
            let len = count.map_or(0..64, |n| n * width..n * width + 1);
            (Just((code, dims, ndims, width)), proptest::collection::vec(any::<u8>(), len), proptest::collection::vec((any::<usize>(), 0usize..4), 0..3))
        })
        .prop_map(|((code, dims, ndims, width), mut data, plant)| {
            let mut b = vec![0, 0, code, ndims.unwrap_or(dims.len() as u8)];
            for d in &dims {
                b.extend_from_slice(&d.to_be_bytes());
            }
            for (at, which) in plant {
                let v: Vec<u8> = match width {
                    4 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX][which].to_be_bytes().to_vec(),
                    8 => [f64::NAN, f64::INFINITY, 1e300, -1e39][which].to_be_bytes().to_vec(),
                    _ => continue,
                };
                let slots = data.len() / width;
                if slots > 0 {
                    let i = at % slots * width;
                    data[i..i + width].copy_from_slice(&v);
                }
            }
            b.extend_from_slice(&data);
            b
        })
}

fn idx_file() -> impl Strategy<Value = Vec<u8>> {
    damaged(idx_raw(proptest::collection::vec(idx_dim(), 0..=5), IDX_CODES.to_vec()))
}

/// `(images, labels)` with matching sample counts, then damaged.
fn idx_pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let n = prop_oneof![6 => 1u32..=16, 1 => idx_dim()];
    let shape = prop_oneof![3 => (1u32..=8, 1u32..=8).prop_map(|(h, w)| vec![h, w]), 1 => (1u32..=12).prop_map(|f| vec![f]), 1 => proptest::collection::vec(idx_dim(), 0..=3)];
    (n, shape, prop_oneof![Just(0u32), 1u32..=3]).prop_flat_map(|(n, shape, skew)| {
        let images: Vec<u32> = std::iter::once(n).chain(shape).collect();
        let labels = vec![if skew == 3 { n.wrapping_add(1) } else { n }];
        let label_codes = if skew == 2 { IDX_CODES.to_vec() } else { vec![0x08] };
        (damaged(idx_raw(Just(images), IDX_CODES.to_vec())), damaged(idx_raw(Just(labels), label_codes)))
    })
}

/// CSV text: optional BOM and header, rows of number-like fields, odd separators and line
/// ends, blank lines; then damaged (and sometimes gzip'd).
fn csv_file() -> impl Strategy<Value = Vec<u8>> {
    let odd = vec!["nan", "NaN", "inf", "-inf", "1e39", "-0", "", " 7 ", "\"3\"", "x", "é", "0x10", "1_000", "+3", ".5", "5.", "1e-50", "2.5", "1000", "999", "-1", "\"1,2\"", "\"", "3\r"];
    let odd = proptest::sample::select(odd).prop_map(str::to_owned);
    let label = prop_oneof![30 => (0u32..4).prop_map(|v| v.to_string()), 1 => odd.clone()];
    let field = prop_oneof![30 => (-100.0f32..100.0).prop_map(|v| v.to_string()), 10 => (0u32..256).prop_map(|v| v.to_string()), 1 => odd];
    let sep = prop_oneof![16 => Just(","), 1 => Just(";"), 1 => Just("\t")];
    let end = prop_oneof![6 => Just("\n"), 2 => Just("\r\n"), 1 => Just("\r"), 1 => Just("\n\n  \n")];
    (1usize..6, sep, end, any::<bool>(), any::<bool>(), proptest::bool::weighted(0.1)).prop_flat_map(move |(cols, sep, end, bom, header, ragged)| {
        let features = if ragged { proptest::collection::vec(field.clone(), 0..7).boxed() } else { proptest::collection::vec(field.clone(), cols).boxed() };
        let row = (label.clone(), features).prop_map(|(l, mut f)| {
            f.insert(0, l);
            f
        });
        proptest::collection::vec(row, 0..24).prop_map(move |rows| {
            let mut t = String::new();
            if bom {
                t.push('\u{feff}');
            }
            if header {
                t.push_str(&(0..=cols).map(|c| if c == 0 { "label".to_owned() } else { format!("f{c}") }).collect::<Vec<_>>().join(sep));
                t.push_str(end);
            }
            for r in rows {
                t.push_str(&r.join(sep));
                t.push_str(end);
            }
            t.into_bytes()
        })
    })
    .prop_flat_map(|b| damaged(Just(b)))
}

/// Digits lines: 64 counts and a label, sometimes with a bad cell, short, or junk.
fn digits_text() -> impl Strategy<Value = String> {
    let bad = vec!["17", " 3", "-1", "x", "10", "4294967296", ""];
    let line = (proptest::collection::vec(0u8..=16, 65), proptest::option::weighted(0.1, (0usize..65, proptest::sample::select(bad))), prop_oneof![12 => Just(65usize), 1 => 0usize..70]);
    let line = line.prop_map(|(cells, bad, len)| {
        let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        cells[64] = (cells[64].parse::<u8>().unwrap_or(0) % 10).to_string();
        if let Some((i, v)) = bad {
            cells[i] = v.to_owned();
        }
        cells.resize(len, "0".to_owned());
        cells.join(",")
    });
    (proptest::collection::vec(line, 0..12), prop_oneof![Just("\n"), Just("\r\n")], mutations()).prop_map(|(lines, end, m)| {
        let text = lines.join(end);
        if m.len() > 2 { String::from_utf8_lossy(&mutate(text.into_bytes(), &m)).into_owned() } else { text }
    })
}

/// What a user may drop on the page: no file, one or two IDX, CSV or raw files, or three.
fn upload_files() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let one = prop_oneof![2 => idx_file(), 2 => csv_file(), 1 => raw_bytes()];
    prop_oneof![
        1 => Just(vec![]),
        3 => one.clone().prop_map(|f| vec![f]),
        4 => idx_pair().prop_map(|(a, b)| vec![a, b]),
        1 => (one.clone(), one.clone()).prop_map(|(a, b)| vec![b, a]),
        1 => proptest::collection::vec(one, 3..5),
    ]
}

/// Arbitrary bytes, alone and behind the magic numbers the parsers switch on.
fn raw_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefix = proptest::sample::select(vec![vec![], vec![0, 0], vec![0, 0, 8, 1], vec![0, 0, 0x0d, 3], vec![0x1f, 0x8b], vec![0x1f, 0x8b, 8, 0], vec![0xef, 0xbb, 0xbf], vec![b'{']]);
    (prefix, proptest::collection::vec(any::<u8>(), 0..512)).prop_map(|(mut p, b)| {
        p.extend(b);
        p
    })
}
