//! The config schema: every field of [`ExperimentConfig`] once, with its kind, default, bounds or
//! values, unit, group and help, and every rule that spans fields. Everything that shows, reads or
//! checks a config is driven by it: [`ExperimentConfig::validate`], the CLI's flags
//! (`bin/spikeplay.rs`), the page's controls, link and messages (it receives [`schema_json`] from
//! the wasm module at load) and the fuzz properties. The table itself is in `schema/fields.rs`.

mod expr;
mod fields;

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Map, Value};

pub use expr::{eval, Val};

use crate::config::ExperimentConfig;
use crate::error::{Error, Result};

/// What a field holds (its JSON type, and how a control edits it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Int,
    Float,
    Bool,
    Enum,
}

/// Where a field's control sits on the page (and its flag in the CLI's help).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Group {
    Data,
    Network,
    Neuron,
    Training,
}

/// One config field.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    /// The serde name: the JSON key, the link's key (camelCase there) and `--flag-name`.
    pub name: &'static str,
    pub label: &'static str,
    pub group: Group,
    pub kind: Kind,
    /// `ExperimentConfig::default()`'s value.
    pub default: Value,
    /// The page's first-visit value where it differs from `default` (so that a first visit
    /// shows learning within seconds), else null.
    pub page_default: Value,
    /// Enum fields: the serde names of the variants, in order.
    pub options: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub exclusive_min: bool,
    pub exclusive_max: bool,
    /// The bound as messages write it: `1..=256`, `[0, 1]`, `(0, 100]` (empty for enum and bool).
    pub bound: String,
    /// Added after the bound in a message, e.g. ` (1 = IF neuron)`.
    pub bound_note: &'static str,
    /// The step of the page's number input.
    pub step: Option<f64>,
    pub unit: &'static str,
    pub help: &'static str,
    /// A condition (an expression of `schema/expr.rs`) under which the core ignores the field.
    pub unused_when: Value,
    pub unused_note: &'static str,
    /// An f32 field: its bounds hold for the value rounded to f32 (the page rounds with
    /// `Math.fround` too), and messages show it as an f32 (0.1, not 0.10000000149011612).
    pub single: bool,
}

/// A rule over several fields. When `when` holds, `require` must hold too; else the error names
/// `field`, with `bound`, `got` and `message` filled in from the config and from `values` (named
/// figures computed first, e.g. the weight count).
#[derive(Clone, Debug, Serialize)]
pub struct Rule {
    pub field: &'static str,
    pub when: Value,
    /// `[name, expression]` pairs, evaluated in order; later ones and the rest of the rule may
    /// use them by name.
    pub values: Vec<(&'static str, Value)>,
    pub require: Value,
    pub bound: &'static str,
    pub got: &'static str,
    pub message: &'static str,
    /// Every field the rule reads, the named one first (derived from the expressions).
    pub reads: Vec<String>,
}

/// The whole schema as the page receives it.
#[derive(Serialize)]
pub struct Schema {
    pub fields: &'static [Field],
    pub rules: &'static [Rule],
}

/// The table, built once.
pub fn fields() -> &'static [Field] {
    static FIELDS: OnceLock<Vec<Field>> = OnceLock::new();
    FIELDS.get_or_init(fields::table)
}

/// The cross-field rules, in the order they are checked (after every field's own bound).
pub fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(fields::rules)
}

/// The field called `name`.
pub fn field(name: &str) -> Option<&'static Field> {
    fields().iter().find(|f| f.name == name)
}

/// The schema for the page: [`fields`] and [`rules`] as JSON-compatible values.
pub fn schema_json() -> Schema {
    Schema { fields: fields(), rules: rules() }
}

/// A config as the JSON object the expressions read.
pub fn scope_of(cfg: &ExperimentConfig) -> Result<Map<String, Value>> {
    match serde_json::to_value(cfg).map_err(|e| Error::parse(format!("config: {e}")))? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::parse("config: not an object")),
    }
}

impl Field {
    /// Checks this field's value in `scope` against its bound.
    fn check(&self, scope: &Map<String, Value>) -> Result<()> {
        if !matches!(self.kind, Kind::Int | Kind::Float) {
            return Ok(()); // serde already admits only the type's values
        }
        let value = scope.get(self.name);
        let n = value.and_then(Value::as_f64).unwrap_or(f64::NAN);
        // An f32 field holds its bounds as f32 too (0.01 is 0.00999999977 in f32).
        let at = |b: f64| if self.single { b as f32 as f64 } else { b };
        let below = self.min.is_some_and(|lo| if self.exclusive_min { n <= at(lo) } else { n < at(lo) });
        let above = self.max.is_some_and(|hi| if self.exclusive_max { n >= at(hi) } else { n > at(hi) });
        if n.is_finite() && !below && !above {
            return Ok(());
        }
        let got = match value {
            Some(Value::Number(v)) if self.kind == Kind::Int => v.to_string(),
            Some(Value::Number(_)) if self.single => (n as f32).to_string(),
            Some(Value::Number(_)) => n.to_string(),
            _ => "NaN or infinity".to_owned(),
        };
        Err(Error::Config {
            field: self.name,
            message: format!("must be in {}{}, got {got}", self.bound, self.bound_note),
            bound: Some(self.bound.clone()),
            got: Some(got),
            reads: vec![self.name],
        })
    }
}

impl Rule {
    /// Checks the rule on `scope`; the error names the rule's field.
    fn check(&self, scope: &Map<String, Value>) -> Result<()> {
        let malformed = |e: String| Error::parse(format!("schema rule on {}: {e}", self.field));
        let mut scope = scope.clone();
        for (name, e) in &self.values {
            let v = match eval(e, &scope).map_err(malformed)? {
                Val::Num(n) => Value::from(n),
                Val::Bool(b) => Value::Bool(b),
                Val::Text(s) => Value::String(s),
            };
            scope.insert((*name).to_owned(), v);
        }
        let holds = |e: &Value| match eval(e, &scope) {
            Ok(Val::Bool(b)) => Ok(b),
            Ok(other) => Err(malformed(format!("{e} is {other:?}, not a bool"))),
            Err(e) => Err(malformed(e)),
        };
        if !holds(&self.when)? || holds(&self.require)? {
            return Ok(());
        }
        let fill = |t: &str| expr::fill(t, &scope).map_err(malformed);
        let field = self.field;
        let reads = self.reads.iter().filter_map(|r| fields().iter().find(|f| f.name == r).map(|f| f.name)).collect();
        Err(Error::Config { field, message: fill(self.message)?, bound: Some(fill(self.bound)?), got: Some(fill(self.got)?), reads })
    }
}

impl ExperimentConfig {
    /// Checks every field against its bound and every cross-field rule, as the schema
    /// (`schema/fields.rs`) states them: the first failure, naming its field. The too-big
    /// networks (over 2^23 hidden weights or 2^24 activations per forward pass) are refused
    /// here, before anything is allocated.
    pub fn validate(&self) -> Result<()> {
        check(self)
    }
}

/// Every field's bound, in table order, then every rule, in order: the first failure.
pub fn check(cfg: &ExperimentConfig) -> Result<()> {
    let scope = scope_of(cfg)?;
    for f in fields() {
        f.check(&scope)?;
    }
    for r in rules() {
        r.check(&scope)?;
    }
    Ok(())
}

/// Whether the core ignores field `name` for `cfg` (its `unused_when` holds).
pub fn is_unused(name: &str, cfg: &ExperimentConfig) -> bool {
    let Some(f) = field(name) else { return false };
    if f.unused_when.is_null() {
        return false;
    }
    scope_of(cfg).is_ok_and(|s| eval(&f.unused_when, &s) == Ok(Val::Bool(true)))
}

/// The text of a bound: `lo..=hi` for whole numbers, intervals with brackets for the rest.
fn bound_text(kind: Kind, min: Option<f64>, max: Option<f64>, exclusive_min: bool, exclusive_max: bool) -> String {
    let show = |v: f64| if v != 0.0 && v.abs() < 1e-4 { format!("{v:e}") } else { Val::Num(v).show() };
    match (kind, min, max) {
        (Kind::Int, Some(lo), Some(hi)) => format!("{}..={}", show(lo), show(hi)),
        (Kind::Float, Some(lo), Some(hi)) => {
            format!("{}{}, {}{}", if exclusive_min { '(' } else { '[' }, show(lo), show(hi), if exclusive_max { ')' } else { ']' })
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
