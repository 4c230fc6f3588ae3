//! spikeplay: deep spiking neural networks with postsynaptic-potential (PSP)
//! normalization (Ikegawa et al., Sensors 2022), on candle, natively and in the browser.
//!
//! Everything but `wasm.rs` is plain Rust and runs under `cargo test`. See
//! `docs/METHOD.md` for the equations this crate implements and our reading of them.

pub mod bench;
pub mod compare;
pub mod config;
pub mod data;
pub mod conv;
pub mod dense;
pub mod encode;
pub mod energy;
pub mod error;
pub mod fused;
pub mod metrics;
pub mod model;
pub mod model_file;
pub mod neuron;
pub mod nir;
pub mod norm;
pub mod report;
pub mod rng;
pub mod schema;
pub mod surrogate;
pub mod topology;
pub mod train;
pub mod upload;
pub mod view;
pub mod weights;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use config::ExperimentConfig;
pub use error::{Error, Result};
pub use train::{run, run_trainer, run_with_files, Trainer};
