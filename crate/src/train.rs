//! The trainer: owns the network, the optimizer, the data and the one seeded RNG.
//!
//! The browser calls [`Trainer::step`] in time-budgeted ticks and [`Trainer::probe`] for
//! its views; the CLI and the tests call [`run`], which loops over epochs on the same code.

pub mod optimizer;

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::config::{ExperimentConfig, LrSchedule};
use crate::data::{self, Dataset, Split};
use crate::encode::{encode, is_spiking};
use crate::error::{Error, Result};
use crate::metrics::{layer_stats, synops_per_sample, LayerStats};
use crate::model::{Network, Taps};
use crate::norm::Mode;
use crate::rng::Rng;
use crate::topology::fan_in;
use crate::upload::DataFile;
use optimizer::Optimizer;

/// Salts of the RNG streams forked from the seed, one per purpose.
const STREAM_DATA: u64 = 1;
const STREAM_INIT: u64 = 2;
const STREAM_TRAIN: u64 = 3;
const STREAM_PROBE: u64 = 4;
const STREAM_EVAL: u64 = 5;

/// What one optimizer step did: the trainer knows the rate it used and whether the step
/// closed an epoch, so no caller has to rebuild the schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepRecord {
    /// The step's training loss.
    pub loss: f32,
    /// The learning rate the step's update used.
    pub lr: f64,
    /// Whether this was the last batch of an epoch (the order was reshuffled after it).
    pub epoch_end: bool,
}

/// What the probe batch shows about the network now.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Probe {
    pub layers: Vec<LayerStats>,
    /// Estimated synaptic operations per sample.
    pub synops: f32,
    /// The energy estimate per sample from these rates ([`crate::energy`]).
    pub energy: crate::energy::Energy,
}

/// One line of the history: the end of an epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub loss: f32,
    pub train_accuracy: f32,
    pub test_accuracy: f32,
    pub firing_rates: Vec<f32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FinalRecord {
    pub test_accuracy: f32,
    pub train_accuracy: f32,
    /// One mean rate per hidden layer, on the probe batch.
    pub firing_rates: Vec<f32>,
    pub layers: Vec<LayerStats>,
    pub synops: f32,
    pub steps: usize,
    /// The energy estimate per sample at the end ([`crate::energy`]; absent in older records).
    #[serde(default)]
    pub energy: Option<crate::energy::Energy>,
}

/// What `spikeplay train` writes to `run.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub config: ExperimentConfig,
    pub history: Vec<EpochRecord>,
    /// The training loss of every optimizer step, in order.
    pub losses: Vec<f32>,
    #[serde(rename = "final")]
    pub final_: FinalRecord,
}

pub struct Trainer {
    pub cfg: ExperimentConfig,
    pub data: Dataset,
    pub(crate) net: Network,
    opt: Optimizer,
    rng: Rng,
    pub(crate) device: Device,
    order: Vec<usize>,
    cursor: usize,
    /// Completed epochs.
    pub epoch: usize,
    /// Completed optimizer steps.
    pub step: usize,
    grad_norms: Vec<f32>,
    /// The fixed probe batch, encoded once: `[T, probe_samples, features]`.
    pub(crate) probe_input: Tensor,
    probe_input_spikes: bool,
}

impl Trainer {
    /// Validates `cfg`, then builds data, network and optimizer from its seed.
    pub fn new(cfg: ExperimentConfig) -> Result<Self> {
        Self::with_files(cfg, &[])
    }

    /// [`Trainer::new`] on data given as files: an MNIST subset the page fetched, or a
    /// user's IDX pair or CSV (`dataset = custom`). Other data sets ignore `files`.
    pub fn with_files(cfg: ExperimentConfig, files: &[DataFile]) -> Result<Self> {
        Self::on_device(cfg, files, Device::Cpu)
    }

    /// [`Trainer::with_files`] with every tensor on `device`. The page and the CLI pass the
    /// CPU (the only backend built here); nothing below assumes it: the fused kernels are
    /// CPU-only and other devices take the unfused path of candle ops ([`crate::fused`]).
    pub fn on_device(cfg: ExperimentConfig, files: &[DataFile], device: Device) -> Result<Self> {
        cfg.validate()?;
        let mut root = Rng::new(cfg.seed);
        let (mut data_rng, mut init_rng, mut rng, mut probe_rng) =
            (root.fork(STREAM_DATA), root.fork(STREAM_INIT), root.fork(STREAM_TRAIN), root.fork(STREAM_PROBE));
        let data = data::load(&cfg, files, &mut data_rng)?;
        cfg.validate_for_data(data.features, data.classes, data.image)?;
        let (net, params) = Network::for_data(&cfg, data.features, data.classes, data.image, &mut init_rng, &device)?;
        let opt = Optimizer::new(&cfg, params)?;
        let mut order: Vec<usize> = (0..data.train.len()).collect();
        rng.shuffle(&mut order);
        let probe_idx: Vec<usize> = (0..cfg.probe_samples.min(data.train.len())).collect();
        let (px, _) = data.train.gather(&probe_idx, data.features);
        let probe_input = encode(&px, (probe_idx.len(), data.features), cfg.timesteps, cfg.encoding, data.range, &mut probe_rng, &device)?;
        let depth = cfg.depth;
        Ok(Self {
            probe_input_spikes: is_spiking(cfg.encoding),
            cfg,
            data,
            net,
            opt,
            rng,
            device,
            order,
            cursor: 0,
            epoch: 0,
            step: 0,
            grad_norms: vec![0.0; depth],
            probe_input,
        })
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.data.train.len().div_ceil(self.cfg.batch)
    }

    /// One optimizer step on the next minibatch; returns its loss, the rate it used and
    /// whether it ended an epoch. Reshuffles after the last batch of an epoch (the last
    /// batch may be smaller).
    pub fn step(&mut self) -> Result<StepRecord> {
        let end = (self.cursor + self.cfg.batch).min(self.order.len());
        let idx = self.order[self.cursor..end].to_vec();
        let (x, y) = self.data.train.gather(&idx, self.data.features);
        let input = encode(&x, (idx.len(), self.data.features), self.cfg.timesteps, self.cfg.encoding, self.data.range, &mut self.rng, &self.device)?;
        let labels = Tensor::from_vec(y, idx.len(), &self.device)?;
        let (logits, _) = self.net.forward(&input, Mode::Train, false)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &labels)?;
        let value = loss.to_scalar::<f32>()?;
        if !value.is_finite() {
            return Err(Error::Diverged { step: self.step + 1, what: self.where_not_finite(value)? });
        }
        let grads = loss.backward()?;
        let lr = self.learning_rate();
        for (g, w) in self.grad_norms.iter_mut().zip(self.net.hidden_weights()) {
            *g = match grads.get(w) {
                Some(t) => t.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?,
                None => 0.0,
            };
        }
        // Checked before the update, so a bad gradient never reaches the weights.
        if self.grad_norms.iter().any(|g| !g.is_finite()) {
            return Err(Error::Diverged { step: self.step + 1, what: self.where_not_finite(value)? });
        }
        self.opt.step(&grads, lr, self.cfg.weight_decay)?;
        self.step += 1;
        self.cursor = end;
        let epoch_end = self.cursor >= self.order.len();
        if epoch_end {
            self.cursor = 0;
            self.epoch += 1;
            self.rng.shuffle(&mut self.order);
        }
        Ok(StepRecord { loss: value, lr, epoch_end })
    }

    /// Names what went bad in a step whose loss came out as `loss`: the first hidden layer
    /// (or the readout) whose weights are no longer finite, else the first layer whose
    /// gradient is not (from this step's gradient norms), else the loss itself.
    fn where_not_finite(&self, loss: f32) -> Result<String> {
        let finite = |w: &Var| -> Result<bool> { Ok(w.flatten_all()?.to_vec1::<f32>()?.iter().all(|v| v.is_finite())) };
        for (l, w) in self.net.hidden_weights().enumerate() {
            if !finite(w)? {
                return Ok(format!("the weights of layer {} are no longer finite (loss {loss})", l + 1));
            }
        }
        if !finite(&self.net.head.weight)? {
            return Ok(format!("the readout's weights are no longer finite (loss {loss})"));
        }
        if loss.is_finite() {
            if let Some(l) = self.grad_norms.iter().position(|g| !g.is_finite()) {
                return Ok(format!("the gradient of layer {} became {}", l + 1, self.grad_norms[l]));
            }
        }
        // Spikes are 0 or 1 whatever the currents, so with finite weights only the readout's
        // output (the logits) can overflow.
        Ok(format!("the readout's output overflowed (the loss became {loss})"))
    }

    /// The learning rate of the next step under the config's schedule; after the last
    /// planned step the cosine stays at zero.
    pub fn learning_rate(&self) -> f64 {
        match self.cfg.lr_schedule {
            LrSchedule::Constant => self.cfg.lr,
            LrSchedule::Cosine => {
                let total = (self.cfg.epochs * self.steps_per_epoch()).max(1) as f64;
                let progress = (self.step as f64 / total).min(1.0);
                self.cfg.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// Fraction of `split` classified correctly, in eval mode, with a fixed encoding seed so
    /// that evaluating does not disturb the training stream.
    pub fn accuracy(&self, split: &Split) -> Result<f32> {
        self.accuracy_of_first(split, split.len())
    }

    /// [`Trainer::accuracy`] over the first `limit` samples of `split` (a quick estimate
    /// for large data sets; the split is shuffled, so its head is a fair sample).
    pub fn accuracy_of_first(&self, split: &Split, limit: usize) -> Result<f32> {
        let n = split.len().min(limit);
        if n == 0 {
            return Ok(0.0);
        }
        let pred = self.predictions_of_first(split, n)?;
        Ok(pred.iter().zip(&split.y).filter(|(p, t)| p == t).count() as f32 / n as f32)
    }

    /// The eval-mode class of each of the first `limit` samples of `split` (the largest
    /// logit; the first of equal ones), with the fixed encoding seed of [`Trainer::accuracy`].
    pub fn predictions_of_first(&self, split: &Split, limit: usize) -> Result<Vec<u32>> {
        let n = split.len().min(limit);
        let mut rng = Rng::new(self.cfg.seed).fork(STREAM_EVAL);
        let mut out = Vec::with_capacity(n);
        let idx: Vec<usize> = (0..n).collect();
        // Chunks no larger than validate() budgeted for, so evaluating cannot run out of memory.
        for chunk in idx.chunks(self.cfg.forward_samples()) {
            let (x, _) = split.gather(chunk, self.data.features);
            let input = encode(&x, (chunk.len(), self.data.features), self.cfg.timesteps, self.cfg.encoding, self.data.range, &mut rng, &self.device)?;
            let (logits, _) = self.net.forward(&input, Mode::Eval, false)?;
            // candle's argmax takes the first of equal logits (a rate readout's spike counts
            // tie often), as NumPy's does: the NIR proof relies on it.
            out.extend(logits.argmax(1)?.to_vec1::<u32>()?);
        }
        Ok(out)
    }

    /// The network's tensors as a safetensors file ([`crate::weights`]).
    pub fn save_weights(&self) -> Result<Vec<u8>> {
        crate::weights::save(&self.net, &self.cfg)
    }

    /// Replaces every tensor of the network with those of a safetensors file, or changes
    /// nothing and names the tensor that does not fit; the optimizer's state starts afresh.
    pub fn load_weights(&mut self, bytes: &[u8], file: &str) -> Result<()> {
        crate::weights::load_into(&self.net, bytes, file)
    }

    /// Sets the network's tensors from an imported NIR graph ([`crate::nir::import`]), whose
    /// settings the config was built with ([`crate::nir::Imported::apply`]); `file` names
    /// it in messages. Checks the data's shape first; changes nothing on a refusal.
    pub fn load_nir(&mut self, imported: &crate::nir::Imported, file: &str) -> Result<()> {
        let (f, c) = (self.data.features, self.data.classes);
        if (imported.features, imported.classes) != (f, c) {
            // Which shipped data set has the graph's shape, if one does.
            let fits = match (imported.features, imported.classes) {
                (64, 10) => "; digits has 64 features and 10 classes",
                (196, 10) => "; mnist14 has 196 features and 10 classes",
                (784, 10) => "; mnist28 has 784 features and 10 classes",
                _ => "",
            };
            return Err(Error::file(file, format!("the graph takes {} inputs and gives {} outputs; this data set has {f} features and {c} classes{fits}", imported.features, imported.classes)));
        }
        let mut values = vec![];
        for (name, var) in self.net.named_tensors() {
            let (dims, data) = imported.tensors.get(&name).ok_or_else(|| Error::file(file, format!("gives no tensor for {name}")))?;
            if dims.as_slice() != var.dims() {
                return Err(Error::file(file, format!("{name} has shape {dims:?}, this network needs {:?}", var.dims())));
            }
            values.push((var, Tensor::from_vec(data.clone(), dims.as_slice(), var.device())?));
        }
        for (var, value) in values {
            var.set(&value)?;
        }
        Ok(())
    }

    /// The trained network as a NIR graph in an HDF5 file ([`crate::nir`]), its
    /// inference-time norms folded into weights and thresholds.
    pub fn export_nir(&self) -> Result<Vec<u8>> {
        crate::nir::export(&self.net, &self.cfg, &self.data)
    }

    pub fn train_accuracy(&self) -> Result<f32> {
        self.accuracy(&self.data.train)
    }

    pub fn test_accuracy(&self) -> Result<f32> {
        self.accuracy(&self.data.test)
    }

    /// Per-layer statistics on the fixed probe batch, with batch statistics in the norms
    /// (what training sees) and the running statistics left untouched.
    pub fn probe(&self) -> Result<Probe> {
        Ok(self.probe_with_taps()?.0)
    }

    /// [`Trainer::probe`] together with the recorded layer states (spikes, membrane,
    /// normalized inputs) of the same pass, for views that show one layer in detail.
    pub fn probe_with_taps(&self) -> Result<(Probe, Taps)> {
        let (_, taps) = self.net.forward(&self.probe_input, Mode::Probe, true)?;
        let taps = taps.ok_or_else(|| Error::Data("probe recorded nothing".into()))?;
        let layers = layer_stats(&taps, &self.grad_norms)?;
        let fan_outs = self.net.fan_outs(self.data.classes);
        let first = fan_in(self.net.shapes.first().map_or(0, |s| s[0]), self.cfg.conv);
        let input = self.probe_input_spikes.then_some((&self.probe_input, first));
        let input_spikes = match input {
            Some((s, _)) => Some(s.sum_all()?.to_scalar::<f32>()? as f64 / s.dim(1)?.max(1) as f64),
            None => None,
        };
        let rates: Vec<f32> = layers.iter().map(|l| l.rate).collect();
        let energy = crate::energy::estimate(&self.net, &self.cfg, self.data.classes, &rates, input_spikes);
        let probe = Probe { synops: synops_per_sample(&taps, &fan_outs, input)?, layers, energy };
        Ok((probe, taps))
    }

    /// Runs one epoch (or what is left of the current one) and records its end.
    pub fn run_epoch(&mut self, on_progress: &mut impl FnMut(Progress)) -> Result<EpochRecord> {
        let start_epoch = self.epoch;
        let steps_per_epoch = self.steps_per_epoch();
        let (mut sum, mut n) = (0.0f64, 0usize);
        while self.epoch == start_epoch {
            let loss = self.step()?.loss;
            sum += loss as f64;
            n += 1;
            on_progress(Progress::Step { epoch: start_epoch, step: n, steps_per_epoch, loss });
        }
        let probe = self.probe()?;
        Ok(EpochRecord {
            epoch: self.epoch,
            loss: (sum / n.max(1) as f64) as f32,
            train_accuracy: self.train_accuracy()?,
            test_accuracy: self.test_accuracy()?,
            firing_rates: probe.layers.iter().map(|l| l.rate).collect(),
        })
    }
}

/// What [`run`] reports while it works.
pub enum Progress<'a> {
    /// After each optimizer step; `epoch` counts completed epochs, `step` is 1-based.
    Step { epoch: usize, step: usize, steps_per_epoch: usize, loss: f32 },
    /// After each epoch.
    Epoch(&'a EpochRecord),
}

/// Trains for `cfg.epochs` epochs, reporting progress, and returns the record that
/// `spikeplay train` writes.
pub fn run(cfg: ExperimentConfig, on_progress: impl FnMut(Progress)) -> Result<RunRecord> {
    run_with_files(cfg, &[], on_progress)
}

/// [`run`] on data given as files (see [`Trainer::with_files`]).
pub fn run_with_files(cfg: ExperimentConfig, files: &[DataFile], on_progress: impl FnMut(Progress)) -> Result<RunRecord> {
    run_trainer(&mut Trainer::with_files(cfg, files)?, on_progress)
}

/// [`run`] on a trainer built (and perhaps given weights) by the caller, which keeps it:
/// the CLI saves and exports the trained network from it.
pub fn run_trainer(trainer: &mut Trainer, mut on_progress: impl FnMut(Progress)) -> Result<RunRecord> {
    let mut history = Vec::with_capacity(trainer.cfg.epochs);
    let mut losses = Vec::with_capacity(trainer.cfg.epochs * trainer.steps_per_epoch());
    for _ in 0..trainer.cfg.epochs {
        let record = trainer.run_epoch(&mut |p: Progress| {
            if let Progress::Step { loss, .. } = p {
                losses.push(loss);
            }
            on_progress(p)
        })?;
        on_progress(Progress::Epoch(&record));
        history.push(record);
    }
    let probe = trainer.probe()?;
    let last = history.last();
    let final_ = FinalRecord {
        test_accuracy: last.map_or(0.0, |r| r.test_accuracy),
        train_accuracy: last.map_or(0.0, |r| r.train_accuracy),
        firing_rates: probe.layers.iter().map(|l| l.rate).collect(),
        layers: probe.layers,
        synops: probe.synops,
        steps: trainer.step,
        energy: Some(probe.energy),
    };
    Ok(RunRecord { config: trainer.cfg.clone(), history, losses, final_ })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatasetKind, NormKind};

    fn trainer() -> Trainer {
        let cfg = ExperimentConfig { dataset: DatasetKind::Moons, samples: 200, depth: 3, width: 16, timesteps: 4, norm: NormKind::None, ..Default::default() };
        Trainer::new(cfg).unwrap()
    }

    fn weights(t: &Trainer) -> Vec<Vec<f32>> {
        t.net.hidden_weights().map(|w| w.flatten_all().unwrap().to_vec1().unwrap()).collect()
    }

    /// A layer whose weights went bad is named, and the step is not applied.
    #[test]
    fn divergence_names_the_layer_with_non_finite_weights() {
        let mut t = trainer();
        t.step().unwrap();
        let w = &t.net.layers[1].weight;
        w.set(&w.as_tensor().affine(0.0, f64::NAN).unwrap()).unwrap();
        let before = weights(&t);
        let err = t.step().unwrap_err().to_string();
        assert!(err.contains("step 2") && err.contains("weights of layer 2"), "{err}");
        assert!(err.contains("lower the learning rate"), "{err}");
        let after = weights(&t);
        assert_eq!(format!("{before:?}"), format!("{after:?}"), "no update after a bad step");
        assert_eq!(t.step, 1);

        let mut t = trainer();
        let head = &t.net.head.weight;
        head.set(&head.as_tensor().affine(0.0, f64::INFINITY).unwrap()).unwrap();
        let err = t.step().unwrap_err().to_string();
        assert!(err.contains("readout's weights"), "{err}");
    }

    /// Finite weights so large that the backward overflows: the gradient's layer is named
    /// before the optimizer could write infinities into the weights.
    #[test]
    fn divergence_names_the_layer_whose_gradient_overflowed() {
        let mut t = trainer();
        let w = &t.net.layers[2].weight;
        w.set(&w.as_tensor().affine(1e36, 0.0).unwrap()).unwrap();
        let before = weights(&t);
        let err = t.step().unwrap_err().to_string();
        assert!(err.contains("the gradient of layer"), "{err}");
        assert_eq!(format!("{before:?}"), format!("{:?}", weights(&t)), "no update after a bad gradient");
    }
}
