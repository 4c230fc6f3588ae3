//! A network from a file, for the CLI's `eval --model` and `--init-from` and the page's
//! drop: a NIR graph ([`crate::nir::import`]), which fixes the network's shape, or a
//! spikeplay weights file ([`crate::weights`]), which fits a network of its saved config.

use crate::config::ExperimentConfig;
use crate::error::{Error, Result};
use crate::Trainer;

/// The HDF5 signature every NIR file starts with.
const HDF5: &[u8] = b"\x89HDF\r\n\x1a\n";

/// A network read from a file.
pub enum ModelFile {
    Nir(crate::nir::Imported),
    Weights(Vec<u8>),
}

impl ModelFile {
    /// Reads `bytes` of the file `name`: a NIR graph if it is HDF5, else a weights file
    /// (checked whole when it is loaded).
    pub fn read(bytes: Vec<u8>, name: &str) -> Result<Self> {
        if bytes.starts_with(HDF5) {
            Ok(ModelFile::Nir(crate::nir::import(&bytes, name)?))
        } else {
            Ok(ModelFile::Weights(bytes))
        }
    }

    /// The config of a run of this network: `base` with what a NIR graph fixes (its time
    /// steps too, unless `keep_timesteps`), or `base` as it is for a weights file.
    pub fn config(&self, base: &ExperimentConfig, keep_timesteps: bool) -> ExperimentConfig {
        let mut cfg = base.clone();
        if let ModelFile::Nir(imported) = self {
            imported.apply(&mut cfg, keep_timesteps);
        }
        cfg
    }

    /// A trainer of `cfg` (from [`ModelFile::config`]) on `files`, holding this network.
    pub fn trainer(&self, cfg: ExperimentConfig, files: &[crate::upload::DataFile], name: &str) -> Result<Trainer> {
        cfg.validate().map_err(|e| Error::file(name, format!("the network it holds does not fit: {e}")))?;
        let mut trainer = Trainer::with_files(cfg, files)?;
        self.load(&mut trainer, name)?;
        Ok(trainer)
    }

    /// Sets `trainer`'s tensors from this file, or changes nothing and says why.
    pub fn load(&self, trainer: &mut Trainer, name: &str) -> Result<()> {
        match self {
            ModelFile::Nir(imported) => trainer.load_nir(imported, name),
            ModelFile::Weights(bytes) => trainer.load_weights(bytes, name),
        }
    }
}
