//! The browser boundary: one `#[wasm_bindgen]` handle with coarse calls.
//!
//! This is the only file that knows about wasm-bindgen. Configs arrive as plain JS objects
//! with the serde (snake_case) field names; reports leave as plain JSON-compatible objects
//! (numbers and arrays, no `u64`, no maps). JavaScript owns time: it decides how many steps
//! fit in a tick and when to probe.

use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::model_file::ModelFile;
use crate::report;
use crate::train::Trainer;
use crate::upload::{self, DataFile};
use crate::view::{self, Layout};
use crate::{Error, ExperimentConfig};

#[wasm_bindgen]
pub struct Playground {
    trainer: Trainer,
    /// The files the run was built from (MNIST or an upload), kept for `reset`.
    files: Vec<DataFile>,
    /// The network file the run started from (a dropped NIR graph), kept for `reset`.
    model: Option<(String, ModelFile)>,
}

/// Reads `[{ name, bytes: Uint8Array }, ...]`; `undefined` or `null` is no files.
fn files_from_js(files: JsValue) -> Result<Vec<DataFile>, JsValue> {
    if files.is_undefined() || files.is_null() {
        return Ok(Vec::new());
    }
    serde_wasm_bindgen::from_value(files).map_err(|e| js_msg(&format!("files: expected [{{ name, bytes: Uint8Array }}]: {e}")))
}

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: in a page, a worker and Node alike.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;

    /// `globalThis.spikeplayPanic(message, location)`, which the worker defines: a panic ends in
    /// a trap (panic = abort), so its text must reach JavaScript before it, without calling back
    /// into the module. `catch`: where no one defined it (a test in Node), the hook stays silent.
    #[wasm_bindgen(catch, js_name = spikeplayPanic)]
    fn panic_to_js(message: &str, location: &str) -> Result<(), JsValue>;
}

/// Hands every panic's message and location to JavaScript (`spikeplayPanic`), once per module.
fn report_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            let _ = panic_to_js(message, &location);
        }))
    });
}

/// Test only (the worker calls it only when created with `?debug=1`): a real Rust panic with
/// `message`, to check that a bug in the core reaches the page with its own text.
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic(message: &str) {
    report_panics();
    panic!("{message}");
}

/// The data files benchmark config `name` needs (paths in `data/`, `crate::bench::files`):
/// what [`bench_steps`] must be given.
#[wasm_bindgen(js_name = benchFiles)]
pub fn bench_files(name: &str) -> Result<Vec<String>, JsValue> {
    Ok(crate::bench::files(name).map_err(js_err)?.iter().map(|f| f.to_string()).collect())
}

/// Times `steps` training steps of benchmark config `name` (`crate::bench::CONFIGS`) with
/// `norm` after `warmup` untimed ones; `files` carries the MNIST files of E, E2 and F
/// ([`bench_files`]).
/// Returns `{ config, norm, step_ms: [...] }`, the same record as `spikeplay bench --out`.
#[wasm_bindgen(js_name = benchSteps)]
pub fn bench_steps(name: &str, norm: &str, warmup: u32, steps: u32, files: JsValue) -> Result<JsValue, JsValue> {
    report_panics();
    let norm = serde_json::from_value(Value::String(norm.to_owned())).map_err(|e| js_msg(&format!("norm: {e}")))?;
    let files = files_from_js(files)?;
    let t = crate::bench::measure_with_files(name, norm, &files, warmup as usize, steps as usize, performance_now).map_err(js_err)?;
    to_js(&t)
}

/// Which of the page's two modules this is (scripts/build-wasm.sh): `"relaxed"`, built with
/// relaxed SIMD (its dense products use fused multiply-adds), or `"baseline"`. The worker
/// reports it with LOADED, so the page shows the module that really runs, not only the one
/// web/worker/wasm-build.js chose.
#[wasm_bindgen(js_name = wasmBuild)]
pub fn wasm_build() -> String {
    (if cfg!(target_feature = "relaxed-simd") { "relaxed" } else { "baseline" }).to_owned()
}

/// Times a dense layer's matrix products by gemm and by the sparse loops in this module, and
/// a conv layer's by the patch matrix and by events (`spikeplay bench --products` natively):
/// `[ProductTiming]`, median of `repeats`.
#[wasm_bindgen(js_name = benchProducts)]
pub fn bench_products(repeats: u32) -> Result<JsValue, JsValue> {
    report_panics();
    let mut timings = crate::dense::product_timings(repeats as usize, performance_now);
    timings.extend(crate::conv::product_timings(repeats as usize, performance_now));
    to_js(&timings)
}

/// Parses uploaded files (an IDX images + labels pair, or one CSV) and returns what the
/// page previews: counts, shape, extent and the first samples. A malformed file's error
/// names the file and the byte or line.
#[wasm_bindgen(js_name = previewFiles)]
pub fn preview_files(files: JsValue) -> Result<JsValue, JsValue> {
    report_panics();
    to_js(&upload::preview(&files_from_js(files)?).map_err(js_err)?)
}

/// A core error as a JavaScript `Error` whose own properties are its [`ErrorReport`]
/// (`kind`, `field`, `bound`, `got`, `reads`, `file`, `byte`, `line`, `step`, `message`): the
/// worker passes them on, and the page acts on `kind` and `field`, never on the text.
///
/// [`ErrorReport`]: crate::error::ErrorReport
fn js_err(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    if let Ok(detail) = to_js(&e.report()) {
        js_sys::Object::<JsValue>::assign(err.unchecked_ref(), detail.unchecked_ref());
    }
    err.into()
}

/// A plain `Error` for what is not the core's (a malformed argument from the worker).
fn js_msg(text: &str) -> JsValue {
    js_sys::Error::new(text).into()
}

/// The config schema (`crate::schema`): every field's name, kind, default, bounds or values,
/// unit, group and help, and the cross-field rules as expressions. The page builds its
/// controls, its link reading and its messages from it.
#[wasm_bindgen]
pub fn schema() -> Result<JsValue, JsValue> {
    to_js(&crate::schema::schema_json())
}

/// What the core says of a config object, without building a run: `null` when it is valid,
/// else the error as a plain object (the [`js_err`] properties). The page checks configs with
/// the schema's rules itself; the tests hold its answers against this one.
#[wasm_bindgen(js_name = checkConfig)]
pub fn check_config(config: JsValue) -> Result<JsValue, JsValue> {
    let checked = serde_wasm_bindgen::from_value::<Map<String, Value>>(config)
        .map_err(|e| Error::parse(format!("invalid config: expected an object of fields: {e}")))
        .and_then(view::parse_config);
    match checked {
        Ok(_) => Ok(JsValue::NULL),
        Err(e) => to_js(&e.report()),
    }
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_msg(&format!("report: {e}")))
}

#[wasm_bindgen]
impl Playground {
    /// Builds a run from a config object and, for `mnist14`, `mnist28` and `custom`, the
    /// data files (`[{ name, bytes }]`); a rejected config's error names its field.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, files: JsValue) -> Result<Playground, JsValue> {
        report_panics();
        let map: Map<String, Value> = serde_wasm_bindgen::from_value(config)
            .map_err(|e| js_err(Error::parse(format!("invalid config: expected an object of fields: {e}"))))?;
        let cfg = view::parse_config(map).map_err(js_err)?;
        let files = files_from_js(files)?;
        Ok(Playground { trainer: Trainer::with_files(cfg, &files).map_err(js_err)?, files, model: None })
    }

    /// Builds a run that starts from the network in a file (`name`, `bytes`): a NIR graph
    /// sets the depth, width, neuron and readout of `config` (and its time steps, unless
    /// `keep_timesteps`), a weights file must fit it. A file that does not map is refused
    /// naming its node or tensor.
    #[wasm_bindgen(js_name = fromModel)]
    pub fn from_model(config: JsValue, files: JsValue, name: &str, bytes: Vec<u8>, keep_timesteps: bool) -> Result<Playground, JsValue> {
        report_panics();
        let map: Map<String, Value> = serde_wasm_bindgen::from_value(config)
            .map_err(|e| js_err(Error::parse(format!("invalid config: expected an object of fields: {e}"))))?;
        let base = view::parse_config(map).map_err(js_err)?;
        let files = files_from_js(files)?;
        let model = ModelFile::read(bytes, name).map_err(js_err)?;
        let trainer = model.trainer(model.config(&base, keep_timesteps), &files, name).map_err(js_err)?;
        Ok(Playground { trainer, files, model: Some((name.to_owned(), model)) })
    }

    /// The validated config with every default filled in, as a plain object.
    pub fn config(&self) -> Result<JsValue, JsValue> {
        to_js(&self.trainer.cfg)
    }

    /// Network layout and the training points for the views (see [`Layout`]).
    pub fn layout(&self) -> Result<JsValue, JsValue> {
        to_js::<Layout>(&view::layout(&self.trainer))
    }

    /// Takes `n` optimizer steps ([`report::train`]).
    pub fn train(&mut self, n: u32) -> Result<JsValue, JsValue> {
        to_js(&report::train(&mut self.trainer, n as usize).map_err(js_err)?)
    }

    /// Accuracy over the first `limit` samples of the train and test splits, `0` for all
    /// of them (a few forward passes per chunk: call sparingly on large data sets).
    pub fn evaluate(&self, limit: u32) -> Result<JsValue, JsValue> {
        to_js(&report::evaluate(&self.trainer, limit as usize).map_err(js_err)?)
    }

    /// Probe sample `sample` as the first layer receives it over the `T` steps.
    #[wasm_bindgen(js_name = encodedInput)]
    pub fn encoded_input(&self, sample: u32) -> Result<JsValue, JsValue> {
        to_js(&view::encoded_input(&self.trainer, sample as usize).map_err(js_err)?)
    }

    /// Per-layer statistics, the raster of `layer`/`sample`, and a `grid x grid` decision
    /// map for 2-D sets (`grid = 0` skips it).
    pub fn probe(&self, layer: u32, sample: u32, grid: u32) -> Result<JsValue, JsValue> {
        to_js(&report::probe(&self.trainer, layer as usize, sample as usize, grid as usize).map_err(js_err)?)
    }

    /// The trained network as a NIR file (HDF5 bytes, norms folded in); throws the
    /// refusal (kind `export`, its `field`) for a norm that cannot be folded.
    #[wasm_bindgen(js_name = exportNir)]
    pub fn export_nir(&self) -> Result<Vec<u8>, JsValue> {
        self.trainer.export_nir().map_err(js_err)
    }

    /// Every tensor of the network as a safetensors file (`spikeplay train --init-from`
    /// reads it).
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> Result<Vec<u8>, JsValue> {
        self.trainer.save_weights().map_err(js_err)
    }

    /// Whether this run's network can be written as NIR: `null`, or the refusal as a plain
    /// object (kind `export`, `field`, `message`), for the page's "deployable as NIR" mark.
    #[wasm_bindgen(js_name = nirDeployable)]
    pub fn nir_deployable(&self) -> Result<JsValue, JsValue> {
        match crate::nir::deployable(&self.trainer.cfg) {
            Ok(()) => Ok(JsValue::NULL),
            Err(e) => to_js(&e.report()),
        }
    }

    /// Starts the same config again from step 0 (same seed, so the same first losses).
    pub fn reset(&mut self) -> Result<(), JsValue> {
        let cfg: ExperimentConfig = self.trainer.cfg.clone();
        self.trainer = match &self.model {
            Some((name, model)) => model.trainer(cfg, &self.files, name),
            None => Trainer::with_files(cfg, &self.files),
        }
        .map_err(js_err)?;
        Ok(())
    }
}
