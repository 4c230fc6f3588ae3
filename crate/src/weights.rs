//! A trained network's tensors as a safetensors file (Hugging Face's format, which candle
//! reads and writes): every trainable parameter and running statistic under the names of
//! [`Network::named_tensors`], `F32`, with the run's config as JSON in the header's
//! metadata (`spikeplay.config`), so a file says what it was trained as.
//!
//! Loading checks the whole file against the network before it changes anything: a
//! missing, extra, misshapen, non-`F32` or non-finite tensor is refused with its name, and
//! the network is left as it was. The bytes are parsed by the `safetensors` crate itself
//! (candle's dependency), which bounds the header and every tensor's extent.

use std::collections::HashMap;

use candle_core::Tensor;
use safetensors::SafeTensors;

use crate::compare::name;
use crate::config::ExperimentConfig;
use crate::error::{Error, Result};
use crate::model::Network;

/// The metadata key holding the config JSON.
pub const CONFIG_KEY: &str = "spikeplay.config";
/// The metadata key holding the format's name and version.
pub const FORMAT_KEY: &str = "format";
pub const FORMAT: &str = "spikeplay-weights-1";

/// The network's tensors as safetensors bytes.
pub fn save(net: &Network, cfg: &ExperimentConfig) -> Result<Vec<u8>> {
    let tensors: Vec<(String, Tensor)> = net.named_tensors().into_iter().map(|(n, v)| (n, v.as_detached_tensor())).collect();
    let config = serde_json::to_string(cfg).map_err(|e| Error::parse(e.to_string()))?;
    let metadata = HashMap::from([(FORMAT_KEY.to_owned(), FORMAT.to_owned()), (CONFIG_KEY.to_owned(), config)]);
    safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata)).map_err(|e| Error::Data(format!("safetensors: {e}")))
}

/// The config a weights file was saved with, if its metadata holds one that parses.
pub fn saved_config(bytes: &[u8]) -> Option<ExperimentConfig> {
    let (_, meta) = SafeTensors::read_metadata(bytes).ok()?;
    let text = meta.metadata().as_ref()?.get(CONFIG_KEY)?;
    serde_json::from_str(text).ok()
}

/// Sets every tensor of `net` from the safetensors `bytes` of `file` (its name, for
/// messages), or changes nothing and says which tensor does not fit.
pub fn load_into(net: &Network, bytes: &[u8], file: &str) -> Result<()> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| Error::file(file, format!("not a safetensors file: {e}")))?;
    let hint = saved_config(bytes).map(|c| format!(" (it was saved from {})", describe(&c))).unwrap_or_default();
    let wanted = net.named_tensors();
    let names: std::collections::HashSet<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
    let mut extra: Vec<String> = st.names().into_iter().filter(|n| !names.contains(n)).map(str::to_owned).collect();
    extra.sort();
    if let Some(first) = extra.first() {
        let more = if extra.len() > 1 { format!(" and {} more", extra.len() - 1) } else { String::new() };
        return Err(Error::file(file, format!("holds tensor {first}{more}, which this network does not have{hint}")));
    }
    let mut values = Vec::with_capacity(wanted.len());
    for (name, var) in &wanted {
        let view = st.tensor(name).map_err(|_| Error::file(file, format!("has no tensor {name}, which this network needs{hint}")))?;
        let need = var.dims();
        if view.shape() != need {
            return Err(Error::file(file, format!("tensor {name} has shape {:?}, this network needs {need:?}{hint}", view.shape())));
        }
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(Error::file(file, format!("tensor {name} is {:?}, spikeplay reads F32", view.dtype())));
        }
        let data: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::file(file, format!("tensor {name} holds {} at index {i}", data[i])));
        }
        values.push(Tensor::from_vec(data, need, var.device())?);
    }
    for ((_, var), value) in wanted.iter().zip(values) {
        var.set(&value)?;
    }
    Ok(())
}

/// A config's shape-deciding settings, for messages.
fn describe(c: &ExperimentConfig) -> String {
    let arch = match (c.conv, c.residual) {
        (true, true) => "residual conv",
        (true, false) => "conv",
        (false, true) => "residual",
        (false, false) => "plain",
    };
    format!("{arch} depth {}, width {}, norm {}, on {}", c.depth, c.width, name(&c.norm), name(&c.dataset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatasetKind, NormKind};
    use crate::Trainer;

    fn trainer(norm: NormKind, width: usize, seed: u64) -> Trainer {
        let cfg = ExperimentConfig { dataset: DatasetKind::Moons, samples: 200, depth: 3, width, timesteps: 4, norm, seed, ..Default::default() };
        Trainer::new(cfg).unwrap()
    }

    fn all_values(net: &Network) -> Vec<(String, Vec<f32>)> {
        net.named_tensors().into_iter().map(|(n, v)| (n, v.flatten_all().unwrap().to_vec1().unwrap())).collect()
    }

    #[test]
    fn a_saved_network_loads_into_another_bit_for_bit() {
        for norm in [NormKind::None, NormKind::Psp, NormKind::Bn, NormKind::Tebn, NormKind::Bntt, NormKind::Mpbn, NormKind::Layer] {
            let mut a = trainer(norm, 8, 1);
            for _ in 0..3 {
                a.step().unwrap();
            }
            let bytes = save(&a.net, &a.cfg).unwrap();
            let b = trainer(norm, 8, 2);
            assert_ne!(all_values(&a.net), all_values(&b.net), "{norm:?}: seeds 1 and 2 must differ before loading");
            load_into(&b.net, &bytes, "w.safetensors").unwrap();
            assert_eq!(all_values(&a.net), all_values(&b.net), "{norm:?}");
            assert_eq!(saved_config(&bytes).as_ref(), Some(&a.cfg));
            // Running statistics travel too: BN's moved off their initial 0 and 1.
            if norm == NormKind::Bn {
                let rm = all_values(&b.net).into_iter().find(|(n, _)| n == "layers.1.norm.running_mean").unwrap().1;
                assert!(rm.iter().any(|v| *v != 0.0), "{rm:?}");
            }
        }
    }

    #[test]
    fn a_file_that_does_not_fit_is_refused_by_name_and_changes_nothing() {
        let a = trainer(NormKind::Bn, 8, 1);
        let bytes = save(&a.net, &a.cfg).unwrap();
        let before = |t: &Trainer| all_values(&t.net);
        // Another width: the first tensor's shape is named, with what the file was saved as.
        let wide = trainer(NormKind::Bn, 16, 1);
        let kept = before(&wide);
        let err = load_into(&wide.net, &bytes, "w.safetensors").unwrap_err().to_string();
        assert!(err.contains("layers.0.weight has shape [8, 2], this network needs [16, 2]") && err.contains("width 8, norm bn"), "{err}");
        assert_eq!(before(&wide), kept);
        // Another norm: the file's BN tensors are not the PSP net's.
        let psp = trainer(NormKind::Psp, 8, 1);
        let err = load_into(&psp.net, &bytes, "w.safetensors").unwrap_err().to_string();
        assert!(err.contains("holds tensor head.norm.beta and") && err.contains("norm bn"), "{err}");
        // Not a safetensors file at all, and a truncated one.
        let err = load_into(&psp.net, b"hello", "w.safetensors").unwrap_err().to_string();
        assert!(err.starts_with("w.safetensors: not a safetensors file"), "{err}");
        let err = load_into(&a.net, &bytes[..bytes.len() - 3], "w.safetensors").unwrap_err().to_string();
        assert!(err.starts_with("w.safetensors: not a safetensors file"), "{err}");
    }

    #[test]
    fn non_finite_values_are_named() {
        let a = trainer(NormKind::None, 8, 1);
        a.net.layers[1].bias.set(&Tensor::new(&[0f32, 0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0], &candle_core::Device::Cpu).unwrap()).unwrap();
        let bytes = save(&a.net, &a.cfg).unwrap();
        let b = trainer(NormKind::None, 8, 2);
        let err = load_into(&b.net, &bytes, "w.safetensors").unwrap_err().to_string();
        assert!(err.contains("tensor layers.1.bias holds NaN at index 2"), "{err}");
    }
}
