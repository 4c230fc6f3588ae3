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
    /// The loss stopped being a finite number.
    #[error("training diverged at step {step}: the loss became {loss}; lower the learning rate or add a norm")]
    Diverged { step: usize, loss: f32 },
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
