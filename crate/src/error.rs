//! The crate's one error type. `wasm.rs` hands it to JavaScript as a value (its
//! [`ErrorReport`]: kind, field, bound, file, byte or line, and the message), the CLI prints it.

use serde::Serialize;

/// Everything that can go wrong in the core, each naming what it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config value is out of bounds or inconsistent; `field` is its serde name, `bound` what
    /// it must satisfy, `got` the value (or the figure a cross-field rule computed from it), and
    /// `reads` every field the failed check reads (one for a field's own bound; several for a
    /// rule that spans fields, so the page can choose which of them to reset).
    #[error("invalid config: {field}: {message}")]
    Config { field: &'static str, message: String, bound: Option<String>, got: Option<String>, reads: Vec<&'static str> },
    /// A config could not be parsed: the message names the field where one can be named.
    #[error("{message}")]
    Parse { field: Option<String>, message: String },
    /// A data file could not be read: the message starts with its name and names the byte or
    /// line, which `byte` / `line` carry as numbers.
    #[error("{file}: {message}")]
    File { file: String, byte: Option<u64>, line: Option<u64>, message: String },
    /// A data set could not be loaded or generated.
    #[error("data: {0}")]
    Data(String),
    /// The loss or a layer's gradient stopped being a finite number; `what` names it (the
    /// layer where one can be named). The step is not applied, so the weights stay as they were.
    #[error("training diverged at step {step}: {what}; lower the learning rate or add a norm")]
    Diverged { step: usize, what: String },
    /// A trained network cannot be written in a format (NIR): `field` is the setting that
    /// makes it so (`norm`, `psp_stats`, ...), the message says why.
    #[error("{format} export: {field}: {message}")]
    Export { format: &'static str, field: &'static str, message: String },
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A config error with only a message (the checks that need the data, in `config.rs`
    /// and `data.rs`): `reads` is the field alone.
    pub fn config(field: &'static str, message: impl Into<String>) -> Self {
        Error::Config { field, message: message.into(), bound: None, got: None, reads: vec![field] }
    }

    /// A parse error that names no field.
    pub fn parse(message: impl Into<String>) -> Self {
        Error::Parse { field: None, message: message.into() }
    }

    /// A data file's error with neither byte nor line (`file: message`).
    pub fn file(file: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Error::File { file: file.into(), byte: None, line: None, message: message.to_string() }
    }

    /// The same error at byte `at` of its file: the message reads `byte AT: ...`.
    pub fn file_at_byte(file: impl Into<String>, at: usize, message: impl std::fmt::Display) -> Self {
        Error::File { file: file.into(), byte: Some(at as u64), line: None, message: format!("byte {at}: {message}") }
    }

    /// The same error at line `line` of its file: the message reads `line LINE...` (the
    /// caller's text follows at once, so `, column C: ...` can continue it).
    pub fn file_at_line(file: impl Into<String>, line: u64, message: impl std::fmt::Display) -> Self {
        Error::File { file: file.into(), byte: None, line: Some(line), message: format!("line {line}{message}") }
    }

    /// What crosses to JavaScript and what the CLI's `--json` errors would print.
    pub fn report(&self) -> ErrorReport {
        let message = self.to_string();
        let reason = match self {
            Error::Config { message, .. } | Error::File { message, .. } | Error::Export { message, .. } => message.clone(),
            // "invalid config: width: invalid type ..." -> "invalid type ...", for the control.
            Error::Parse { field: Some(f), message } => message.split_once(&format!("{f}: ")).map_or(message.clone(), |(_, why)| why.to_owned()),
            _ => message.clone(),
        };
        let none = ErrorReport { kind: "", field: None, bound: None, got: None, reads: vec![], file: None, byte: None, line: None, step: None, message, reason };
        match self {
            Error::Config { field, bound, got, reads, .. } => ErrorReport {
                kind: "config",
                field: Some((*field).to_owned()),
                bound: bound.clone(),
                got: got.clone(),
                reads: reads.iter().map(|r| (*r).to_owned()).collect(),
                ..none
            },
            Error::Parse { field, .. } => ErrorReport { kind: "parse", reads: field.iter().cloned().collect(), field: field.clone(), ..none },
            Error::File { file, byte, line, .. } => ErrorReport { kind: "file", file: Some(file.clone()), byte: *byte, line: *line, ..none },
            Error::Data(_) => ErrorReport { kind: "data", ..none },
            Error::Diverged { step, .. } => ErrorReport { kind: "diverged", step: Some(*step as u64), ..none },
            Error::Export { field, .. } => ErrorReport { kind: "export", field: Some((*field).to_owned()), reads: vec![(*field).to_owned()], ..none },
            Error::Tensor(_) => ErrorReport { kind: "tensor", ..none },
        }
    }
}

/// An error as a value: `kind` says what went wrong (`config`, `parse`, `file`, `data`,
/// `diverged`, `export`, `tensor`), the optional fields say where, and `message` is the text a person
/// reads (the same as the error's `Display`). JSON-compatible: absent fields are left out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorReport {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    pub message: String,
    /// The message without the prefix that names the field or the file (`invalid config:
    /// depth: `, `digits.csv: `), for a place that already shows which: the field's control.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_carry_kind_and_place_and_the_same_message() {
        let e = Error::file_at_byte("t.idx", 3, "4 dimensions");
        let r = e.report();
        assert_eq!((r.kind, r.file.as_deref(), r.byte, r.line), ("file", Some("t.idx"), Some(3), None));
        assert_eq!(r.message, "t.idx: byte 3: 4 dimensions");
        let r = Error::file_at_line("a.csv", 7, ", column 2: \"x\" is not a number").report();
        assert_eq!((r.line, r.message.as_str()), (Some(7), "a.csv: line 7, column 2: \"x\" is not a number"));
        let r = Error::config("pools", "too many").report();
        assert_eq!((r.kind, r.field.as_deref(), r.reads.clone()), ("config", Some("pools"), vec!["pools".to_owned()]));
        assert_eq!(r.message, "invalid config: pools: too many");
        assert_eq!(r.reason, "too many");
        let r = Error::Parse { field: Some("width".into()), message: "invalid config: width: invalid type: string \"wide\"".into() }.report();
        assert_eq!((r.field.as_deref(), r.reason.as_str()), (Some("width"), "invalid type: string \"wide\""));
        let json = serde_json::to_value(Error::Diverged { step: 4, what: "loss".into() }.report()).unwrap();
        assert_eq!(json["kind"], "diverged");
        assert_eq!(json["step"], 4);
        assert!(json.get("field").is_none(), "absent fields are left out: {json}");
    }
}
