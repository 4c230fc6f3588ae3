//! The crate's one error type. `wasm.rs` turns it into a `JsError`, the CLI prints it.

/// Everything that can go wrong in the core, each naming what it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config value is out of bounds or inconsistent; `field` is its serde name.
    #[error("invalid config: {field}: {message}")]
    Config { field: &'static str, message: String },
    /// A config or file could not be parsed; the message names the field, line or byte.
    #[error("{0}")]
    Parse(String),
    /// A data set could not be loaded or generated.
    #[error("data: {0}")]
    Data(String),
    /// The loss or a layer's gradient stopped being a finite number; `what` names it (the
    /// layer where one can be named). The step is not applied, so the weights stay as they were.
    #[error("training diverged at step {step}: {what}; lower the learning rate or add a norm")]
    Diverged { step: usize, what: String },
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
