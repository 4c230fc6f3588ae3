//! The browser handle's contract, in headless Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test wasm_handle`
#![cfg(target_arch = "wasm32")]

use spikeplay::wasm::{preview_files, Playground};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A config small enough to step quickly, as a plain JS object.
fn config(extra: &str) -> JsValue {
    let text = format!(r#"{{"dataset": "moons", "samples": 64, "depth": 3, "width": 16, "timesteps": 4, "batch": 16, "probe_samples": 8, "seed": 5{extra}}}"#);
    js_sys::JSON::parse(&text).expect("test JSON parses")
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).expect("property read")
}

fn error_text(result: Result<Playground, JsValue>) -> String {
    let err = result.err().expect("config must be rejected");
    assert!(err.is_instance_of::<js_sys::Error>(), "a JS Error, with a stack, as a throw should be");
    get(&err, "message").as_string().expect("error has a message")
}

/// The error a rejected `Playground::new` threw, as a JS object.
fn error_of(result: Result<Playground, JsValue>) -> JsValue {
    result.err().expect("config must be rejected")
}

fn losses(report: &JsValue) -> Vec<f64> {
    js_sys::Array::from(&get(report, "losses")).iter().map(|v| v.as_f64().expect("loss is a number")).collect()
}

#[wasm_bindgen_test]
fn valid_config_creates_and_fills_defaults() {
    let pg = Playground::new(config(""), JsValue::UNDEFINED).expect("valid config");
    let cfg = pg.config().expect("config");
    assert_eq!(get(&cfg, "depth").as_f64(), Some(3.0));
    assert_eq!(get(&cfg, "norm").as_string().as_deref(), Some("psp"), "default filled in");
}

#[wasm_bindgen_test]
fn rejected_configs_name_their_field() {
    let out_of_bounds = error_text(Playground::new(config(r#", "beta": 1.5"#), JsValue::UNDEFINED));
    assert!(out_of_bounds.contains("beta"), "{out_of_bounds}");
    let mistyped = error_text(Playground::new(config(r#", "width": "wide""#), JsValue::UNDEFINED));
    assert!(mistyped.contains("width"), "{mistyped}");
    let unknown = error_text(Playground::new(config(r#", "depht": 3"#), JsValue::UNDEFINED));
    assert!(unknown.contains("depht"), "{unknown}");
}

#[wasm_bindgen_test]
fn errors_carry_their_report_as_properties() {
    let e = error_of(Playground::new(config(r#", "beta": 1.5"#), JsValue::UNDEFINED));
    assert_eq!(get(&e, "kind").as_string().as_deref(), Some("config"));
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("beta"));
    assert_eq!(get(&e, "bound").as_string().as_deref(), Some("[0, 1]"));
    assert_eq!(get(&e, "got").as_string().as_deref(), Some("1.5"));
    assert_eq!(get(&e, "reason").as_string().as_deref(), Some("must be in [0, 1] (1 = IF neuron), got 1.5"));
    let e = error_of(Playground::new(config(r#", "residual": true, "depth": 1"#), JsValue::UNDEFINED));
    let reads: Vec<String> = js_sys::Array::from(&get(&e, "reads")).iter().filter_map(|v| v.as_string()).collect();
    assert_eq!(reads, ["depth", "residual"]);
    // Nine dimensions: byte 3 of the images file says how many.
    let e = preview_files(files(&[("x.idx", &[0, 0, 8, 9, 0, 0, 0, 2]), ("lab.idx", &[0, 0, 8, 1, 0, 0, 0, 2, 0, 1])])).err().expect("a bad IDX file");
    assert_eq!(get(&e, "kind").as_string().as_deref(), Some("file"));
    assert_eq!(get(&e, "file").as_string().as_deref(), Some("x.idx"));
    assert_eq!(get(&e, "byte").as_f64(), Some(3.0), "byte 3 holds the dimension count");
}

#[wasm_bindgen_test]
fn reports_have_their_documented_shape() {
    let mut pg = Playground::new(config(""), JsValue::UNDEFINED).expect("valid config");
    let report = pg.train(3).expect("train");
    assert_eq!(losses(&report).len(), 3);
    assert!(losses(&report).iter().all(|l| l.is_finite() && *l > 0.0));
    assert_eq!(get(&report, "step").as_f64(), Some(3.0));
    assert!(get(&report, "epoch").as_f64().is_some() && get(&report, "lr").as_f64().is_some());
    let eval = pg.evaluate(0).expect("evaluate");
    let acc = get(&eval, "test_accuracy").as_f64().expect("number");
    assert!((0.0..=1.0).contains(&acc));
    let probe = pg.probe(1, 2, 8).expect("probe");
    assert_eq!(js_sys::Array::from(&get(&probe, "rates")).length(), 3, "one rate per hidden layer");
    assert_eq!(js_sys::Array::from(&get(&probe, "grid")).length(), 64, "8 x 8 decision grid");
    let raster = get(&probe, "raster");
    assert_eq!(get(&raster, "layer").as_f64(), Some(1.0));
    assert_eq!(js_sys::Array::from(&get(&raster, "spikes")).length(), 4 * 16, "T x width");
    let layout = pg.layout().expect("layout");
    assert_eq!(get(&layout, "features").as_f64(), Some(2.0));
}

#[wasm_bindgen_test]
fn same_config_gives_identical_first_losses_and_reset_repeats_them() {
    let mut a = Playground::new(config(""), JsValue::UNDEFINED).expect("a");
    let mut b = Playground::new(config(""), JsValue::UNDEFINED).expect("b");
    let first = losses(&a.train(4).expect("train a"));
    assert_eq!(first, losses(&b.train(4).expect("train b")));
    a.reset().expect("reset");
    assert_eq!(first, losses(&a.train(4).expect("train after reset")));
    let other = Playground::new(config(r#", "seed": 6"#), JsValue::UNDEFINED).expect("seed 6").train(4).expect("train");
    assert_ne!(first, losses(&other), "a different seed gives a different run");
}

/// `[{ name, bytes: Uint8Array }]` as the page passes files.
fn files(list: &[(&str, &[u8])]) -> JsValue {
    let arr = js_sys::Array::new();
    for (name, bytes) in list {
        let o = js_sys::Object::new();
        js_sys::Reflect::set(&o, &"name".into(), &(*name).into()).unwrap();
        js_sys::Reflect::set(&o, &"bytes".into(), &js_sys::Uint8Array::from(*bytes)).unwrap();
        arr.push(&o);
    }
    arr.into()
}

#[wasm_bindgen_test]
fn uploaded_files_preview_and_train_and_malformed_ones_name_the_byte() {
    let csv: String = (0..40).map(|i| format!("{},{},{}\n", i % 2, i % 2 * 3 + i % 5, 7 - i % 3)).collect();
    let f = files(&[("mine.csv", csv.as_bytes())]);
    let preview = preview_files(f.clone()).expect("a good CSV previews");
    assert_eq!(get(&preview, "samples").as_f64(), Some(40.0));
    assert_eq!(get(&preview, "classes").as_f64(), Some(2.0));
    let mut pg = Playground::new(config(r#", "dataset": "custom""#), f).expect("trains on the upload");
    assert_eq!(losses(&pg.train(2).expect("train")).len(), 2);
    pg.reset().expect("reset keeps the files");
    let encoded = pg.encoded_input(0).expect("encoded input");
    assert_eq!(js_sys::Array::from(&get(&encoded, "values")).length(), 4 * 2, "T x features");
    let bad = [0u8, 0, 0x08, 3, 0, 0, 0, 2];
    let err = preview_files(files(&[("img.idx", &bad), ("lab.idx", &[0, 0, 8, 1, 0, 0, 0, 2, 0, 1])])).err().expect("truncated");
    let message = get(&err, "message").as_string().unwrap();
    assert!(message.contains("img.idx") && message.contains("truncated header"), "{message}");
    let none = error_text(Playground::new(config(r#", "dataset": "custom""#), JsValue::UNDEFINED));
    assert!(none.contains("dataset"), "{none}");
}
