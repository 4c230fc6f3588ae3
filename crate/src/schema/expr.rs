//! The little expression language of the schema's cross-field rules and `unused_when`
//! conditions. Rules are data (JSON), so the page can evaluate the very rules this crate
//! checks, without a second copy of them in JavaScript: `web/state/schema.js` walks the same
//! trees with the same semantics, and a test runs both over random configs.
//!
//! An expression is a JSON value:
//! - a string names a config field (or a value the rule computed first), read from the config;
//! - a number or a bool is itself;
//! - an array is `[op, args...]`: `+`, `*`, `max` (numbers), `<`, `<=`, `>`, `>=`, `==`
//!   (two numbers or two bools), `and`, `or`, `not` (bools), `if` (`[if, cond, then, else]`),
//!   and `in` (`[in, field, [names...]]`: the field's text is one of the literal names).

use serde_json::{Map, Value};

/// A value an expression yields.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Num(f64),
    Bool(bool),
    Text(String),
}

impl Val {
    /// How a value reads in a message: whole numbers without a fraction (as JavaScript's
    /// `String(n)` writes them below 1e21), the rest as Rust writes them.
    pub fn show(&self) -> String {
        match self {
            Val::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Val::Num(n) => format!("{n}"),
            Val::Bool(b) => b.to_string(),
            Val::Text(s) => s.clone(),
        }
    }
}

type Scope<'a> = &'a Map<String, Value>;

fn read(name: &str, scope: Scope) -> Result<Val, String> {
    match scope.get(name) {
        Some(Value::Number(n)) => n.as_f64().map(Val::Num).ok_or_else(|| format!("{name}: not a number")),
        Some(Value::Bool(b)) => Ok(Val::Bool(*b)),
        Some(Value::String(s)) => Ok(Val::Text(s.clone())),
        // f32 / f64 NaN and infinities serialize as null; every bound rejects them first.
        Some(Value::Null) => Ok(Val::Num(f64::NAN)),
        _ => Err(format!("unknown field {name:?}")),
    }
}

fn num(e: &Value, scope: Scope) -> Result<f64, String> {
    match eval(e, scope)? {
        Val::Num(n) => Ok(n),
        other => Err(format!("{e}: expected a number, got {other:?}")),
    }
}

fn truth(e: &Value, scope: Scope) -> Result<bool, String> {
    match eval(e, scope)? {
        Val::Bool(b) => Ok(b),
        other => Err(format!("{e}: expected a bool, got {other:?}")),
    }
}

/// Evaluates `expr` over `scope` (a config as a JSON object, plus any computed values). An
/// error means the expression itself is malformed (the schema's tests evaluate every one).
pub fn eval(expr: &Value, scope: Scope) -> Result<Val, String> {
    let list = match expr {
        Value::String(name) => return read(name, scope),
        Value::Number(n) => return n.as_f64().map(Val::Num).ok_or_else(|| format!("{n}: not a number")),
        Value::Bool(b) => return Ok(Val::Bool(*b)),
        Value::Array(list) => list,
        other => return Err(format!("{other}: not an expression")),
    };
    let (op, args) = match list.split_first() {
        Some((Value::String(op), args)) => (op.as_str(), args),
        _ => return Err(format!("{expr}: an operation starts with its name")),
    };
    let nums = || args.iter().map(|a| num(a, scope)).collect::<Result<Vec<f64>, String>>();
    let pair = || match args {
        [a, b] => Ok((a, b)),
        _ => Err(format!("{op}: takes two arguments")),
    };
    Ok(match op {
        "+" => Val::Num(nums()?.iter().sum()),
        "*" => Val::Num(nums()?.iter().product()),
        "max" => Val::Num(nums()?.into_iter().fold(f64::NEG_INFINITY, f64::max)),
        "<" | "<=" | ">" | ">=" => {
            let (a, b) = pair()?;
            let (a, b) = (num(a, scope)?, num(b, scope)?);
            Val::Bool(match op {
                "<" => a < b,
                "<=" => a <= b,
                ">" => a > b,
                _ => a >= b,
            })
        }
        "==" => {
            let (a, b) = pair()?;
            Val::Bool(eval(a, scope)? == eval(b, scope)?)
        }
        "and" => Val::Bool(args.iter().map(|a| truth(a, scope)).collect::<Result<Vec<bool>, String>>()?.iter().all(|b| *b)),
        "or" => Val::Bool(args.iter().map(|a| truth(a, scope)).collect::<Result<Vec<bool>, String>>()?.iter().any(|b| *b)),
        "not" => match args {
            [a] => Val::Bool(!truth(a, scope)?),
            _ => return Err("not: takes one argument".into()),
        },
        "if" => match args {
            [c, a, b] => eval(if truth(c, scope)? { a } else { b }, scope)?,
            _ => return Err("if: takes a condition, then, else".into()),
        },
        "in" => match args {
            [field, Value::Array(names)] => {
                let Val::Text(text) = eval(field, scope)? else { return Err(format!("in: {field} is not a text field")) };
                Val::Bool(names.iter().any(|n| n.as_str() == Some(text.as_str())))
            }
            _ => return Err("in: takes a field and a list of names".into()),
        },
        other => return Err(format!("unknown operation {other:?}")),
    })
}

/// Every field name an expression reads (in order of appearance, once each).
pub fn reads(expr: &Value, out: &mut Vec<String>) {
    match expr {
        Value::String(name) if !out.contains(name) => out.push(name.clone()),
        Value::Array(list) => {
            let skip_names = list.first().and_then(Value::as_str) == Some("in");
            for (i, arg) in list.iter().enumerate().skip(1) {
                if !(skip_names && i == 2) {
                    reads(arg, out);
                }
            }
        }
        _ => {}
    }
}

/// `text` with every `{name}` replaced by that value of `scope` as [`Val::show`] writes it.
pub fn fill(text: &str, scope: Scope) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| format!("{text:?}: unclosed {{"))?;
        out.push_str(&rest[..open]);
        out.push_str(&read(&rest[open + 1..close], scope)?.show());
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Map<String, Value> {
        json!({ "depth": 4, "width": 64, "conv": true, "norm": "psp", "lr": 0.5 }).as_object().cloned().unwrap()
    }

    #[test]
    fn operations_evaluate_as_documented() {
        let s = scope();
        let e = |v: Value| eval(&v, &s).unwrap();
        assert_eq!(e(json!(["*", ["+", "depth", 2], "width", ["if", "conv", 9, 1]])), Val::Num(6.0 * 64.0 * 9.0));
        assert_eq!(e(json!(["max", "depth", "width", 3])), Val::Num(64.0));
        assert_eq!(e(json!(["and", [">", "width", "depth"], ["<=", "lr", 0.5], ["not", [">=", "depth", 5]]])), Val::Bool(true));
        assert_eq!(e(json!(["or", ["<", "width", 1], ["==", "conv", false]])), Val::Bool(false));
        assert_eq!(e(json!(["in", "norm", ["bn", "psp"]])), Val::Bool(true));
        assert_eq!(e(json!(["in", "norm", ["bn"]])), Val::Bool(false));
    }

    #[test]
    fn malformed_expressions_are_errors_not_panics() {
        let s = scope();
        for bad in [json!("nope"), json!(["pow", 2, 3]), json!(["+", "norm"]), json!(["not", 1]), json!([]), json!({}), json!(["<", 1]), json!(["in", "depth", ["4"]])] {
            assert!(eval(&bad, &s).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_lists_fields_but_not_literal_names() {
        let mut out = Vec::new();
        reads(&json!(["and", "conv", ["in", "norm", ["psp", "depth"]], [">", "depth", "width"], [">", "depth", 1]]), &mut out);
        assert_eq!(out, ["conv", "norm", "depth", "width"]);
    }

    #[test]
    fn messages_fill_in_values_as_javascript_writes_them() {
        let mut s = scope();
        s.insert("cells".into(), json!(8.0 * 1024.0 * 1024.0));
        assert_eq!(fill("{cells} cells at depth {depth}, lr {lr}", &s).unwrap(), "8388608 cells at depth 4, lr 0.5");
        assert!(fill("{depth", &s).is_err());
        assert!(fill("{missing}", &s).is_err());
    }
}
