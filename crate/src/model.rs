// Past 400 lines by its tests: the network itself is ~240; its tests hold plain, residual and conv nets and the fused path to one another.
//! Deep spiking MLPs: a plain stack and the pre-activation residual net of METHOD.md.
//!
//! A [`Synapse`] is one weight layer with its normalization slot:
//! `a -> PreNorm -> Linear -> PostNorm -> I`. Plain hidden layer `l`:
//! `s_l = LIF(Synapse_l(trace(s_{l-1})))`. Residual net (He et al. 2016, identity
//! mappings, activation before the weight), on the real-valued path `x`:
//!
//! ```text
//! x = Stem(input)                                   hidden layer 1, fires LIF(x)
//! block: h = Syn_a(trace(LIF(x)))                   layer fires LIF(h)
//!        x = x + Syn_b(trace(LIF(h)))               layer fires LIF(x)
//! ```
//!
//! `depth` counts hidden weight layers in both nets: a residual net of depth `D` is a stem
//! and `D - 1` block layers in blocks of two (the last block has one layer when `D - 1`
//! is odd). Each hidden weight layer is followed by exactly one LIF population, whose
//! spikes are that layer's firing rate. A readout synapse maps the last spikes to classes.
//!
//! Conv nets (`conv = true`) are the same two nets with 3x3 convolutions (padding 1,
//! `width` channels) on `[T, B, C, H, W]` maps, and `pools` 2x2 pooling stages spread over
//! the depth ([`ExperimentConfig::pool_schedule`]): a plain net max-pools the spikes (they
//! stay spikes); a residual net pools where the stream can be, after the stem or a block,
//! average-pooling the real-valued stream `x` and max-pooling the spikes fired from it. The
//! readout is dense on the flattened last map. Norms take per-channel statistics (axis 2).

mod synapse;

use candle_core::{Device, Result, Tensor, Var};

use crate::config::{ExperimentConfig, Readout};
use crate::neuron::{leaky_mean, psp_trace, Lif};
use crate::norm::{Mode, Norm, Placement};
use crate::rng::Rng;
use crate::surrogate::Surrogate;
use crate::topology::{ends_block, fan_in, residual_blocks};

pub use synapse::{Synapse, SynapseOut};

/// Detached per-layer tensors recorded by a forward pass with `record = true`.
pub struct Taps {
    /// Spikes of each hidden layer, `[T, B, width]`.
    pub spikes: Vec<Tensor>,
    /// Normalized input of each hidden layer (see [`SynapseOut::normalized`]).
    pub normalized: Vec<Tensor>,
    /// Charged membrane of each hidden layer, `[T, B, width]`.
    pub membrane: Vec<Tensor>,
}

pub struct Network {
    /// Hidden weight layers; in a residual net `layers[0]` is the stem.
    pub layers: Vec<Synapse>,
    pub head: Synapse,
    lif: Lif,
    psp_lambda: f32,
    residual: bool,
    readout: Readout,
    input_spiking: bool,
    /// Conv nets: the input image `(h, w)`; `None` for dense nets.
    image: Option<(usize, usize)>,
    /// Conv nets: 2x2 pools after each hidden layer.
    pools: Vec<usize>,
    /// Per hidden layer, `[channels, height, width]` of its map (`[width, 1, 1]` dense).
    pub shapes: Vec<[usize; 3]>,
}

/// 2x2 pooling, `n` times: average with `avg`, else max. Shapes: `[T, B, C, H, W]` -> `[T, B, C, H/2^n, W/2^n]`.
fn pool(xs: &Tensor, n: usize, avg: bool) -> Result<Tensor> {
    let mut xs = xs.clone();
    for _ in 0..n {
        xs = crate::conv::pool::pool2(&xs, avg)?;
    }
    Ok(xs)
}

impl Network {
    /// Builds a dense network for `features` inputs and `classes` outputs; returns it with
    /// its trainable parameters (running statistics excluded).
    pub fn new(cfg: &ExperimentConfig, features: usize, classes: usize, rng: &mut Rng, device: &Device) -> Result<(Self, Vec<Var>)> {
        Self::for_data(cfg, features, classes, None, rng, device)
    }

    /// [`Network::new`] for data that may be `(h, w)` images, which a conv net needs.
    pub fn for_data(cfg: &ExperimentConfig, features: usize, classes: usize, image: Option<(usize, usize)>, rng: &mut Rng, device: &Device) -> Result<(Self, Vec<Var>)> {
        let image = if cfg.conv {
            Some(image.filter(|(h, w)| h * w == features).ok_or_else(|| candle_core::Error::Msg("a conv net needs single-channel image data".into()))?)
        } else {
            None
        };
        let pools = cfg.pool_schedule();
        let mut params = Vec::new();
        let mut layers = Vec::with_capacity(cfg.depth);
        let mut shapes = Vec::with_capacity(cfg.depth);
        let (mut h, mut w) = image.unwrap_or((1, 1));
        for (l, &pooled) in pools.iter().enumerate() {
            let spikes_in = l > 0 || crate::encode::is_spiking(cfg.encoding);
            // The last layer of each block is summed with the skip.
            let summed = cfg.residual && ends_block(l, cfg.depth);
            let skip_scale = if summed { std::f64::consts::FRAC_1_SQRT_2 } else { 1.0 };
            if cfg.conv {
                let inputs = if l == 0 { 1 } else { cfg.width };
                layers.push(Synapse::build((inputs, cfg.width), true, spikes_in, cfg, skip_scale, rng, device, &mut params)?);
                shapes.push([cfg.width, h, w]);
                for _ in 0..pooled {
                    (h, w) = (h / 2, w / 2);
                }
            } else {
                let inputs = if l == 0 { features } else { cfg.width };
                layers.push(Synapse::new((inputs, cfg.width), spikes_in, cfg, skip_scale, rng, device, &mut params)?);
                shapes.push([cfg.width, 1, 1]);
            }
        }
        let head = Synapse::new((cfg.width * h * w, classes), true, cfg, 1.0, rng, device, &mut params)?;
        if cfg.residual && cfg.zero_init_residual {
            for block in residual_blocks(cfg.depth) {
                layers[block.end - 1].zero_output()?;
            }
        }
        let lif = Lif {
            beta: cfg.beta,
            theta: cfg.theta,
            reset: cfg.reset,
            detach_reset: cfg.detach_reset,
            surrogate: Surrogate::new(cfg.surrogate, cfg.surrogate_width),
        };
        let net = Self {
            layers,
            head,
            lif,
            psp_lambda: cfg.psp_lambda,
            residual: cfg.residual,
            readout: cfg.readout,
            input_spiking: crate::encode::is_spiking(cfg.encoding),
            image,
            pools,
            shapes,
        };
        Ok((net, params))
    }

    /// Runs the net on an encoded batch and returns the logits (and taps if `record`).
    ///
    /// Shapes: `input`: `[T, B, features]` -> logits `[B, classes]` (a conv net views the
    /// features as `[T, B, 1, h, w]`).
    pub fn forward(&self, input: &Tensor, mode: Mode, record: bool) -> Result<(Tensor, Option<Taps>)> {
        let mut taps = Taps { spikes: vec![], normalized: vec![], membrane: vec![] };
        let input = match self.image {
            Some((h, w)) => input.reshape((input.dim(0)?, input.dim(1)?, 1, h, w))?,
            None => input.clone(),
        };
        let a0 = if self.input_spiking { psp_trace(&input, self.psp_lambda)? } else { input };
        let first = self.layers[0].forward(&a0, mode)?;
        let mut x = first.current;
        let mut s = self.fire(&x, first.normalized, &self.layers[0].norm, mode, record, &mut taps)?;
        if self.residual {
            if self.pools[0] > 0 {
                x = pool(&x, self.pools[0], true)?;
                s = pool(&s, self.pools[0], false)?;
            }
            for range in residual_blocks(self.layers.len()) {
                let block = &self.layers[range.clone()];
                let mut h = s.clone();
                for (j, syn) in block.iter().enumerate() {
                    let out = syn.forward(&psp_trace(&h, self.psp_lambda)?, mode)?;
                    let pre = if j + 1 == block.len() {
                        x = (&x + out.current)?;
                        x.clone()
                    } else {
                        out.current
                    };
                    h = self.fire(&pre, out.normalized, &syn.norm, mode, record, &mut taps)?;
                }
                // Pools land on block ends only (`pool_schedule`).
                let n = self.pools[range.end - 1];
                if n > 0 {
                    x = pool(&x, n, true)?;
                    h = pool(&h, n, false)?;
                }
                s = h;
            }
        } else {
            s = pool(&s, self.pools[0], false)?;
            for (l, syn) in self.layers.iter().enumerate().skip(1) {
                let out = syn.forward(&psp_trace(&s, self.psp_lambda)?, mode)?;
                s = self.fire(&out.current, out.normalized, &syn.norm, mode, record, &mut taps)?;
                s = pool(&s, self.pools[l], false)?;
            }
        }
        if self.image.is_some() {
            s = s.flatten_from(2)?;
        }
        let out = self.head.forward(&psp_trace(&s, self.psp_lambda)?, mode)?;
        let logits = match self.readout {
            Readout::Rate => self.lif_forward(&out.current, &self.head.norm, mode, false)?.spikes.sum(0)?,
            Readout::Membrane => leaky_mean(&out.current, self.lif.beta)?,
        };
        Ok((logits, record.then_some(taps)))
    }

    /// Runs the LIF population, through `norm` at every step if it is a membrane norm.
    fn lif_forward(&self, current: &Tensor, norm: &Norm, mode: Mode, record: bool) -> Result<crate::neuron::LifOutput> {
        if norm.placement() == Some(Placement::Membrane) {
            let f = |u: &Tensor| norm.forward_step(u, mode);
            self.lif.forward_normed(current, record, Some(&f))
        } else {
            self.lif.forward(current, record)
        }
    }

    /// Fires a hidden LIF population on `current`, recording what the probe needs (the
    /// normalized membrane replaces `normalized` under a membrane norm).
    fn fire(&self, current: &Tensor, normalized: Tensor, norm: &Norm, mode: Mode, record: bool, taps: &mut Taps) -> Result<Tensor> {
        let out = self.lif_forward(current, norm, mode, record)?;
        if record {
            // Taps are `[T, B, neurons]`: a conv map's channels and positions flattened.
            let flat = |t: Tensor| -> Result<Tensor> { if t.rank() > 3 { t.flatten_from(2) } else { Ok(t) } };
            taps.spikes.push(flat(out.spikes.detach())?);
            taps.normalized.push(flat(out.normalized.clone().unwrap_or(normalized).detach())?);
            // Under a membrane norm the neuron compares the normalized membrane with theta,
            // so that is what the membrane view shows (a spike where a trace reaches theta).
            if let Some(m) = out.normalized.clone().or(out.membrane) {
                taps.membrane.push(flat(m)?);
            }
        }
        Ok(out.spikes)
    }

    /// Synapses each spike of hidden layer `l` reaches in the layer after it (the readout
    /// for the last one); a conv spike reaches up to 9 x channels, fewer at the border.
    pub fn fan_outs(&self, classes: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self.shapes.iter().skip(1).map(|s| fan_in(s[0], self.image.is_some())).collect();
        out.push(classes);
        out
    }

    /// Every tensor of the network, trainable parameters and running statistics, by a
    /// stable name: `layers.{l}.weight`, `layers.{l}.norm.gamma`, ..., `head.bias`. The
    /// names and shapes depend only on the config and the data's shape, so a weights file
    /// fits every network built from the same ones.
    pub fn named_tensors(&self) -> Vec<(String, &Var)> {
        let mut out: Vec<(String, &Var)> = self.layers.iter().enumerate().flat_map(|(l, s)| s.named(&format!("layers.{l}"))).collect();
        out.extend(self.head.named("head"));
        out
    }

    /// The neuron every population of the net uses.
    pub fn lif(&self) -> &Lif {
        &self.lif
    }

    /// Whether this is the pre-activation residual net (`layers[0]` the stem).
    pub fn is_residual(&self) -> bool {
        self.residual
    }

    pub fn readout(&self) -> Readout {
        self.readout
    }

    /// Conv nets: the input image `(h, w)`; `None` for dense nets.
    pub fn image(&self) -> Option<(usize, usize)> {
        self.image
    }

    /// How many 2x2 pools follow each hidden layer (all 0 in a dense net).
    pub fn pools(&self) -> &[usize] {
        &self.pools
    }

    /// The weight of every hidden layer, in order (for gradient norms).
    pub fn hidden_weights(&self) -> impl Iterator<Item = &Var> {
        self.layers.iter().map(|l| &l.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NormKind;

    fn build(residual: bool, depth: usize, norm: NormKind) -> (Network, Vec<Var>) {
        let cfg = ExperimentConfig { residual, depth, width: 8, norm, timesteps: 4, ..Default::default() };
        Network::new(&cfg, 2, 3, &mut Rng::new(0), &Device::Cpu).unwrap()
    }

    #[test]
    fn every_hidden_layer_is_tapped_once_plain_and_residual() {
        for (residual, depth) in [(false, 3), (true, 2), (true, 5), (true, 6)] {
            let (net, _) = build(residual, depth, NormKind::Psp);
            let x = Tensor::ones((4, 5, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
            let (logits, taps) = net.forward(&x, Mode::Train, true).unwrap();
            assert_eq!(logits.dims(), &[5, 3]);
            let taps = taps.unwrap();
            assert_eq!(taps.spikes.len(), depth, "residual={residual} depth={depth}");
            assert_eq!(taps.membrane.len(), depth);
            assert_eq!(taps.spikes[0].dims(), &[4, 5, 8]);
        }
    }

    #[test]
    fn parameter_counts_follow_the_norm() {
        // depth 2, width 8, 2 inputs, 3 classes: weights and biases of 3 layers = 6 tensors.
        assert_eq!(build(false, 2, NormKind::None).1.len(), 6);
        // PSP norm: + gamma on layer 2 and the head; a direct-encoded input is not a PSP.
        assert_eq!(build(false, 2, NormKind::Psp).1.len(), 8, "+ gamma per spiking input");
        assert_eq!(build(false, 2, NormKind::Bn).1.len(), 12, "+ gamma, beta per layer");
    }

    #[test]
    fn psp_norm_skips_a_direct_input_but_not_a_poisson_one() {
        let (direct, _) = build(false, 2, NormKind::Psp);
        assert_eq!(direct.layers[0].norm.kind(), NormKind::None);
        let cfg = ExperimentConfig { depth: 2, width: 8, encoding: crate::config::Encoding::Poisson, ..Default::default() };
        let (poisson, _) = Network::new(&cfg, 2, 3, &mut Rng::new(0), &Device::Cpu).unwrap();
        assert_eq!(poisson.layers[0].norm.kind(), NormKind::Psp);
    }

    #[test]
    fn zero_init_residual_blocks_start_as_the_identity() {
        // With every branch at zero, x stays the stem's output, so the LIF after each
        // block's sum (layers 3 and 5 of depth 5) fires exactly like the stem's LIF.
        for norm in ALL {
            let (net, _) = build(true, 5, norm);
            let x = Tensor::from_vec((0..40).map(|i| (i as f32 * 0.37).sin()).collect(), (4, 5, 2), &Device::Cpu).unwrap();
            let taps = net.forward(&x, Mode::Train, true).unwrap().1.unwrap();
            let stem: Vec<f32> = taps.spikes[0].flatten_all().unwrap().to_vec1().unwrap();
            assert!(stem.iter().any(|&v| v > 0.0), "{norm:?}: the stem should fire");
            for l in [2, 4] {
                assert_eq!(taps.spikes[l].flatten_all().unwrap().to_vec1::<f32>().unwrap(), stem, "{norm:?} layer {}", l + 1);
            }
        }
    }

    #[test]
    fn psp_norm_sits_before_the_weight_bn_after() {
        let (psp, _) = build(false, 2, NormKind::Psp);
        let (bn, _) = build(false, 2, NormKind::Bn);
        assert_eq!(psp.layers[1].norm.gain().unwrap().dims(), &[8], "on the fan-in");
        assert_eq!(psp.head.norm.gain().unwrap().dims(), &[8], "head normalizes its 8 inputs");
        assert_eq!(bn.head.norm.gain().unwrap().dims(), &[3], "on the fan-out");
        let cfg = ExperimentConfig { depth: 2, width: 8, psp_placement: crate::config::PspPlacement::Current, ..Default::default() };
        let (current, _) = Network::new(&cfg, 2, 3, &mut Rng::new(0), &Device::Cpu).unwrap();
        assert_eq!(current.layers[0].norm.gain().unwrap().dims(), &[8], "on the current, so the direct input layer too");
        assert_eq!(current.head.norm.gain().unwrap().dims(), &[3]);
    }

    const ALL: [NormKind; 9] = NormKind::ALL;

    #[test]
    fn every_norm_gives_gradients_to_every_parameter_plain_and_residual() {
        let x = Tensor::from_vec((0..40).map(|i| (i as f32 * 0.37).sin() * 2.0).collect(), (4, 5, 2), &Device::Cpu).unwrap();
        for norm in ALL {
            for residual in [false, true] {
                let cfg = ExperimentConfig { residual, depth: 3, width: 8, timesteps: 4, norm, zero_init_residual: false, ..Default::default() };
                let (net, params) = Network::new(&cfg, 2, 3, &mut Rng::new(0), &Device::Cpu).unwrap();
                let (logits, taps) = net.forward(&x, Mode::Train, true).unwrap();
                assert_eq!(taps.unwrap().normalized.len(), 3);
                let grads = logits.sqr().unwrap().sum_all().unwrap().backward().unwrap();
                let reached = params.iter().filter(|p| grads.get(p).is_some()).count();
                assert_eq!(reached, params.len(), "{norm:?} residual={residual}: every parameter is in the graph");
            }
        }
    }

    /// The fused CPU kernels and the unfused path a CUDA or Metal device would take (candle's
    /// own ops) give the same logits and gradients, for every norm, dense, residual and conv,
    /// in probe (batch statistics) and eval (running statistics) mode.
    #[test]
    fn fused_and_unfused_paths_agree_for_every_norm() {
        let dense = Tensor::from_vec((0..160).map(|i| (i as f32 * 0.37).sin() * 3.0).collect(), (4, 10, 4), &Device::Cpu).unwrap();
        for norm in ALL {
            for (residual, conv, per_step) in [(false, false, false), (true, false, false), (false, true, false), (false, false, true)] {
                let cfg = ExperimentConfig {
                    residual,
                    conv,
                    pools: 1,
                    depth: 3,
                    width: 8,
                    timesteps: 4,
                    norm,
                    zero_init_residual: false,
                    init_scale: 2.0,
                    readout: if residual { Readout::Rate } else { Readout::Membrane },
                    psp_stats: if per_step { crate::config::PspStats::PerStep } else { crate::config::PspStats::Shared },
                    ..Default::default()
                };
                let (features, image) = if conv { (16, Some((4, 4))) } else { (4, None) };
                let x = if conv { Tensor::from_vec((0..640).map(|i| ((i as f32 * 0.61).sin() + 1.0) * 1.5).collect(), (4, 10, 16), &Device::Cpu).unwrap() } else { dense.clone() };
                // And one step repeated over T, as a direct encoding gives it (a stride-0
                // view): the fused first layer then runs once (`dense_repeated`).
                let repeated = x.narrow(0, 0, 1).unwrap().broadcast_as(x.dims()).unwrap();
                assert_eq!(repeated.stride()[0], 0);
                let (net, params) = Network::for_data(&cfg, features, 3, image, &mut Rng::new(0), &Device::Cpu).unwrap();
                for (x, mode) in [(&x, Mode::Probe), (&x, Mode::Eval), (&repeated, Mode::Eval)] {
                    let run = || {
                        let (logits, _) = net.forward(x, mode, false).unwrap();
                        let grads = logits.sqr().unwrap().sum_all().unwrap().backward().unwrap();
                        let g: Vec<Vec<f32>> = params.iter().map(|p| grads.get(p).map(|g| g.flatten_all().unwrap().to_vec1().unwrap()).unwrap_or_default()).collect();
                        (logits.flatten_all().unwrap().to_vec1::<f32>().unwrap(), g)
                    };
                    let (fused, plain) = (run(), crate::fused::unfused(run));
                    let what = format!("{norm:?} residual={residual} conv={conv} per_step={per_step} {mode:?} repeated input={}", x.stride()[0] == 0);
                    // Relative to the largest value of its kind: some gradients are zero in
                    // exact arithmetic (a bias before BN) and come out as rounding noise.
                    let largest = |v: &[Vec<f32>]| v.iter().flatten().fold(1e-3f32, |m, x| m.max(x.abs()));
                    let (logit_scale, grad_scale) = (largest(std::slice::from_ref(&fused.0)), largest(&fused.1));
                    let close = |a: &[f32], b: &[f32], name: &str| {
                        assert_eq!(a.len(), b.len(), "{what} {name}");
                        let scale = if name == "logits" { logit_scale } else { grad_scale };
                        for (p, q) in a.iter().zip(b) {
                            assert!((p - q).abs() <= 1e-4 * scale, "{what} {name}: fused {p} unfused {q} (scale {scale})");
                        }
                    };
                    close(&fused.0, &plain.0, "logits");
                    assert!(fused.0.iter().any(|v| *v != 0.0), "{what}: the readout should see spikes");
                    for (i, (a, b)) in fused.1.iter().zip(&plain.1).enumerate() {
                        close(a, b, &format!("grad of param {i}"));
                    }
                }
            }
        }
    }

    #[test]
    fn tdbn_scales_only_the_layers_summed_with_a_skip() {
        // Depth 6 residual: stem 0, blocks (1, 2), (3, 4), (5): layers 2, 4, 5 meet the skip.
        let cfg = ExperimentConfig { residual: true, depth: 6, width: 8, norm: NormKind::Tdbn, zero_init_residual: false, ..Default::default() };
        let (net, _) = Network::new(&cfg, 2, 3, &mut Rng::new(0), &Device::Cpu).unwrap();
        let x = Tensor::ones((2, 4, 8), candle_core::DType::F32, &Device::Cpu).unwrap();
        let x = (x.cumsum(1).unwrap() * 0.5).unwrap();
        for (l, layer) in net.layers.iter().enumerate() {
            let y: Vec<f32> = layer.norm.forward(&x, Mode::Probe).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let peak = y.iter().fold(0f32, |m, v| m.max(v.abs()));
            // BN of 1, 1.5, 2, 2.5 (per feature over 2 steps): the largest is 1.342.
            let want = if [2, 4, 5].contains(&l) { 1.342 / 2f32.sqrt() } else { 1.342 };
            assert!((peak - want).abs() < 1e-3, "layer {l}: {peak} vs {want}");
        }
    }

    #[test]
    fn mpbn_fires_on_the_normalized_membrane() {
        // A constant current of 10 charges every neuron the same: BN of the membrane is 0
        // at every step, below theta, so an MPBN layer never fires while a plain one does.
        let cfg = ExperimentConfig { depth: 1, width: 4, timesteps: 3, norm: NormKind::Mpbn, ..Default::default() };
        let (net, _) = Network::new(&cfg, 2, 3, &mut Rng::new(0), &Device::Cpu).unwrap();
        let current = Tensor::full(10f32, (3, 5, 4), &Device::Cpu).unwrap();
        let norm = &net.layers[0].norm;
        let mut taps = Taps { spikes: vec![], normalized: vec![], membrane: vec![] };
        let s = net.fire(&current, current.clone(), norm, Mode::Train, true, &mut taps).unwrap();
        assert_eq!(s.sum_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
        let normed: Vec<f32> = taps.normalized[0].flatten_all().unwrap().to_vec1().unwrap();
        assert!(normed.iter().all(|v| v.abs() < 1e-3), "the tap holds the normalized membrane");
        let shown: Vec<f32> = taps.membrane[0].flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(shown, normed, "the membrane view shows what was compared with theta");
        let plain = net.fire(&current, current.clone(), &Norm::identity(), Mode::Train, false, &mut taps).unwrap();
        assert_eq!(plain.sum_all().unwrap().to_scalar::<f32>().unwrap(), 60.0);
    }

    fn conv_cfg(residual: bool, depth: usize, norm: NormKind) -> ExperimentConfig {
        ExperimentConfig { conv: true, residual, depth, width: 4, pools: 2, timesteps: 3, norm, zero_init_residual: false, ..Default::default() }
    }

    fn image_batch(b: usize, side: usize) -> Tensor {
        let n = 3 * b * side * side;
        Tensor::from_vec((0..n).map(|i| ((i as f32 * 0.61).sin() + 1.0) * 0.8).collect(), (3, b, side * side), &Device::Cpu).unwrap()
    }

    #[test]
    fn conv_layers_and_pools_have_the_documented_shapes() {
        // Plain depth 3, 2 pools on 8x8: pools after layers 2 and 3 (round(3/2) = 2, 3).
        let (net, params) = Network::for_data(&conv_cfg(false, 3, NormKind::Bn), 64, 10, Some((8, 8)), &mut Rng::new(0), &Device::Cpu).unwrap();
        assert_eq!(net.shapes, vec![[4, 8, 8], [4, 8, 8], [4, 4, 4]]);
        assert_eq!(net.layers[0].weight.dims(), &[4, 1, 3, 3], "first conv takes one channel");
        assert_eq!(net.layers[1].weight.dims(), &[4, 4, 3, 3]);
        assert_eq!(net.head.weight.dims(), &[10, 4 * 2 * 2], "dense readout on the last pooled map");
        assert_eq!(params.len(), 4 * 2 + 4 * 2, "weight, bias and BN's gamma, beta per layer");
        let (logits, taps) = net.forward(&image_batch(5, 8), Mode::Train, true).unwrap();
        assert_eq!(logits.dims(), &[5, 10]);
        let taps = taps.unwrap();
        let neurons: Vec<usize> = taps.spikes.iter().map(|t| t.dim(2).unwrap()).collect();
        assert_eq!(neurons, vec![256, 256, 64], "taps flatten channels x positions");
        assert_eq!(taps.membrane[2].dims(), &[3, 5, 64]);
        // Residual depth 4 on 8x8: stem 0, blocks (1, 2), (3): pools after 2 and 3.
        let (res, _) = Network::for_data(&conv_cfg(true, 4, NormKind::Psp), 64, 10, Some((8, 8)), &mut Rng::new(0), &Device::Cpu).unwrap();
        assert_eq!(res.shapes, vec![[4, 8, 8], [4, 8, 8], [4, 8, 8], [4, 4, 4]]);
        assert_eq!(res.forward(&image_batch(2, 8), Mode::Train, false).unwrap().0.dims(), &[2, 10]);
    }

    #[test]
    fn every_norm_takes_per_channel_statistics_in_conv_nets_and_gets_gradients() {
        for norm in ALL {
            for residual in [false, true] {
                let cfg = ExperimentConfig { encoding: crate::config::Encoding::Poisson, ..conv_cfg(residual, 3, norm) };
                let (net, params) = Network::for_data(&cfg, 36, 3, Some((6, 6)), &mut Rng::new(1), &Device::Cpu).unwrap();
                if let Some(g) = net.layers[1].norm.gain() {
                    // A post-weight norm has a gain per output channel, a pre-weight one
                    // per input channel: 4 either way (BNTT: per step, 3 x 4), never one
                    // per pixel (4 x 6 x 6).
                    let want = if norm == NormKind::Bntt { 12 } else { 4 };
                    assert_eq!(g.elem_count(), want, "{norm:?}: per-channel gain {:?}", g.dims());
                }
                let x = image_batch(4, 6);
                let spikes = x.ge(0.8).unwrap().to_dtype(candle_core::DType::F32).unwrap();
                let (logits, _) = net.forward(&spikes, Mode::Train, false).unwrap();
                let grads = logits.sqr().unwrap().sum_all().unwrap().backward().unwrap();
                for (i, p) in params.iter().enumerate() {
                    let g = grads.get(p).unwrap_or_else(|| panic!("{norm:?} residual={residual}: parameter {i} {:?} has no gradient", p.dims()));
                    let v: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
                    assert!(v.iter().all(|x| x.is_finite()), "{norm:?} residual={residual}: parameter {i} gradient finite");
                }
            }
        }
    }
}
