use serde_json::{json, Value};

use super::*;

fn default_scope() -> Map<String, Value> {
    scope_of(&ExperimentConfig::default()).unwrap()
}

/// A config with `change` applied on top of the defaults, through serde (as a link or the CLI would).
fn with(change: Value) -> ExperimentConfig {
    let mut v = Value::Object(default_scope());
    for (k, x) in change.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn the_table_has_every_field_of_the_config_once() {
    let scope = default_scope();
    let mut names: Vec<&str> = fields().iter().map(|f| f.name).collect();
    let mut keys: Vec<&str> = scope.keys().map(String::as_str).collect();
    names.sort_unstable();
    keys.sort_unstable();
    assert_eq!(names, keys);
    names.dedup();
    assert_eq!(names.len(), fields().len(), "a field listed twice");
}

#[test]
fn kinds_defaults_and_options_follow_the_rust_types() {
    for f in fields() {
        let ok = match f.kind {
            Kind::Int => f.default.is_u64(),
            Kind::Float => f.default.is_f64(),
            Kind::Bool => f.default.is_boolean(),
            Kind::Enum => f.default.as_str().is_some_and(|d| f.options.iter().any(|o| o == d)),
        };
        assert!(ok, "{}: default {} does not fit kind {:?} / options {:?}", f.name, f.default, f.kind, f.options);
        assert_eq!(f.kind == Kind::Enum, !f.options.is_empty(), "{}: options only for enums", f.name);
        assert_eq!(matches!(f.kind, Kind::Int | Kind::Float), f.min.is_some() && f.max.is_some(), "{}: numbers have bounds", f.name);
        assert!(!f.label.is_empty(), "{}: a label", f.name);
    }
    // An enum's options are every serde name, in declaration order.
    assert_eq!(field("norm").unwrap().options, ["none", "psp", "bn", "tdbn", "tebn", "bntt", "mpbn", "layer", "rms"]);
    assert_eq!(field("surrogate").unwrap().options, ["sigmoid", "fast_sigmoid", "atan", "triangle", "rectangular"]);
    assert_eq!(field("psp_stats").unwrap().options, ["shared", "per_step"]);
}

#[test]
fn the_defaults_and_the_page_defaults_pass_and_differ_only_where_listed() {
    ExperimentConfig::default().validate().unwrap();
    let page: Vec<&str> = fields().iter().filter(|f| !f.page_default.is_null()).map(|f| f.name).collect();
    assert_eq!(page, ["dataset", "lr"]);
    let change: Map<String, Value> = fields().iter().filter(|f| !f.page_default.is_null()).map(|f| (f.name.to_owned(), f.page_default.clone())).collect();
    with(Value::Object(change)).validate().expect("the page's first config is valid");
}

#[test]
fn every_bound_holds_at_its_ends_and_fails_past_them_naming_the_field() {
    for f in fields().iter().filter(|f| matches!(f.kind, Kind::Int | Kind::Float)) {
        let (lo, hi) = (f.min.unwrap(), f.max.unwrap());
        let step = if f.kind == Kind::Int { 1.0 } else { (hi - lo) * 1e-3 };
        let inside = |v: f64| if f.kind == Kind::Int { json!(v as u64) } else { json!(v) };
        // Keep the other fields small so no cross-field rule fires.
        let small = json!({ "depth": 1, "width": 1, "batch": 1, "probe_samples": 1, "timesteps": 1, "pools": 0 });
        let at = |v: Value| {
            let mut c = small.clone();
            c[f.name] = v;
            with(c).validate()
        };
        for (end, open, past) in [(lo, f.exclusive_min, lo - step), (hi, f.exclusive_max, hi + step)] {
            // On the bound: refused by the field's own bound only if that end is open (a
            // cross-field rule may still refuse an extreme value, e.g. width 4096).
            let own = at(inside(end)).err().map(|e| e.report()).filter(|r| r.bound.as_deref() == Some(f.bound.as_str()));
            assert_eq!(own.is_some(), open, "{} = {end}: {own:?}", f.name);
            if past >= 0.0 {
                let err = at(inside(past)).expect_err(f.name).report();
                assert_eq!(err.field.as_deref(), Some(f.name));
                assert_eq!(err.bound.as_deref(), Some(f.bound.as_str()));
                assert!(err.message.starts_with(&format!("invalid config: {}: must be in {}", f.name, f.bound)), "{}", err.message);
            }
        }
    }
}

#[test]
fn messages_read_as_they_did() {
    let err = |c: Value| with(c).validate().unwrap_err().to_string();
    assert_eq!(err(json!({ "beta": 3.0 })), "invalid config: beta: must be in [0, 1] (1 = IF neuron), got 3");
    assert_eq!(err(json!({ "noise": 1.1 })), "invalid config: noise: must be in [0, 1], got 1.1");
    assert_eq!(err(json!({ "theta": 0.0 })), "invalid config: theta: must be in (0, 100], got 0");
    assert_eq!(err(json!({ "psp_eps": 2.0 })), "invalid config: psp_eps: must be in [1e-8, 1], got 2");
    assert_eq!(err(json!({ "depth": 0 })), "invalid config: depth: must be in 1..=256, got 0");
    assert_eq!(err(json!({ "residual": true, "depth": 1 })), "invalid config: depth: a residual net needs depth >= 2 (a stem and at least one block layer)");
    assert_eq!(err(json!({ "conv": true, "dataset": "digits", "depth": 2, "pools": 3 })), "invalid config: pools: a conv net pools after its layers: at most depth = 2, got 3");
    assert_eq!(err(json!({ "depth": 4, "width": 4096 })), "invalid config: width: depth x width^2 = 67108864 weights exceeds 8388608; lower width or depth");
    assert_eq!(err(json!({ "conv": true, "dataset": "digits", "depth": 4, "width": 1024 })), "invalid config: width: depth x width^2 x 9 = 37748736 weights exceeds 8388608; lower width or depth");
    assert_eq!(err(json!({ "conv": true })), "invalid config: conv: a conv net needs image data (digits, mnist14, mnist28 or an IDX image upload); this data set has plain feature vectors");
    let mut c = ExperimentConfig::default();
    c.lr = f64::NAN;
    assert_eq!(c.validate().unwrap_err().to_string(), "invalid config: lr: must be in (0, 10], got NaN or infinity");
}

#[test]
fn rule_errors_carry_the_fields_they_read_and_the_figure() {
    let r = with(json!({ "depth": 64, "width": 256, "timesteps": 64, "batch": 256 })).validate().unwrap_err().report();
    assert_eq!(r.field.as_deref(), Some("batch"));
    assert_eq!(r.reads, ["batch", "depth", "timesteps", "probe_samples", "width", "conv"]);
    assert_eq!(r.got.as_deref(), Some("276824064"));
    assert_eq!(r.bound.as_deref(), Some("at most 16777216 activations"));
    let r = with(json!({ "depth": 256, "width": 64, "probe_samples": 1024 })).validate().unwrap_err().report();
    assert_eq!(r.field.as_deref(), Some("probe_samples"));
}

#[test]
fn every_expression_is_well_formed_and_reads_only_fields() {
    let scope = default_scope();
    let known = |n: &str| fields().iter().any(|f| f.name == n);
    for f in fields().iter().filter(|f| !f.unused_when.is_null()) {
        assert!(matches!(eval(&f.unused_when, &scope), Ok(Val::Bool(_))), "{}: {}", f.name, f.unused_when);
        let mut r = Vec::new();
        expr::reads(&f.unused_when, &mut r);
        assert!(r.iter().all(|n| known(n)), "{}: {r:?}", f.name);
    }
    for rule in rules() {
        assert!(known(rule.field), "{}", rule.field);
        assert!(rule.reads.iter().all(|n| known(n)), "{}: {:?}", rule.field, rule.reads);
        // Evaluated on a config where the rule applies, it must not be malformed.
        for c in [json!({}), json!({ "conv": true, "residual": true, "dataset": "digits" })] {
            let res = rule.check(&scope_of(&with(c)).unwrap());
            assert!(!matches!(res, Err(Error::Parse { .. })), "{}: {res:?}", rule.field);
        }
    }
}

#[test]
fn unused_fields_follow_their_conditions() {
    let d = ExperimentConfig::default();
    assert!(!is_unused("samples", &d), "spiral is generated");
    assert!(is_unused("samples", &with(json!({ "dataset": "digits" }))));
    assert!(is_unused("pools", &d));
    assert!(!is_unused("pools", &with(json!({ "conv": true, "dataset": "digits" }))));
    assert!(!is_unused("psp_eps", &d));
    assert!(is_unused("psp_eps", &with(json!({ "norm": "bn" }))));
    assert!(!is_unused("depth", &d));
}

#[test]
fn the_schema_serializes_for_the_page() {
    let v = serde_json::to_value(schema_json()).unwrap();
    assert_eq!(v["fields"].as_array().unwrap().len(), fields().len());
    let beta = v["fields"].as_array().unwrap().iter().find(|f| f["name"] == "beta").unwrap();
    assert_eq!((beta["kind"].as_str(), beta["bound"].as_str(), beta["group"].as_str()), (Some("float"), Some("[0, 1]"), Some("Neuron")));
    assert_eq!(beta["single"], true, "an f32 field: the page rounds as the core does");
    let lr = v["fields"].as_array().unwrap().iter().find(|f| f["name"] == "lr").unwrap();
    assert_eq!(lr["single"], false);
    assert_eq!(v["rules"][0]["reads"], json!(["depth", "residual"]));
}
