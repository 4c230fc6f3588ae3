// Past 400 lines: ~210 are tests; the export is the rest, one arm per NIR node type in the writer and one per layer kind in the graph; the import is nir/import.rs.
//! A trained network as a NIR graph (the Neuromorphic Intermediate Representation,
//! Pedersen et al., Nature Communications 2024), written as the HDF5 file that Python's
//! `nir.read` (the reference reader, 1.0.8) reads: `/version`, and `/node` holding the graph's
//! `type`, `edges` and one group per node with its `type` and one dataset per field, the
//! strings variable-length UTF-8 as h5py writes them.
//!
//! The graph: `input` -> `fc0` (Affine) -> `lif0` (LIF) -> ... -> `head` (Affine) ->
//! `readout` (LIF for a rate readout, LI for a membrane one) -> `output`. A residual net's sums
//! are edges: NIR sums the edges that reach a node, so each block-end neuron `lif{l}` is
//! reached by the stem's and every block's output Affine up to its own (the stream `x`).
//!
//! The neuron is snnTorch's discrete-time mapping (`export_nir.py`): `dt = 1e-4`,
//! `tau = dt / (1 - beta)`, `r = tau / dt`, `v_leak = 0`, `v_threshold = theta`, so that one
//! forward-Euler step of NIR's `tau dv/dt = (v_leak - v) + r I` is spikeplay's
//! `u = beta u + I`; `beta = 1` is NIR's IF with `r = 1 / dt`. The reset is NIR's: to
//! `v_reset = 0` when the neuron fires, which is spikeplay's hard reset; a reset by
//! subtraction has no NIR field, so such a net is refused rather than exported as another
//! neuron. `dt`, the time steps, the encoding and how the readout is decoded (spike count or
//! mean membrane, then the largest) travel in the graph's metadata, which NIR leaves
//! free-form.
//!
//! The inference-time norms are folded in ([`crate::norm::Norm::folded`]): PSP norm (its
//! running second moment), BN and tdBN become a per-feature scale and shift of the weight they
//! sit beside, MPBN becomes per-neuron thresholds. TEBN and BNTT (per-step parameters), layer
//! and RMS norm (per-sample statistics) and per-step PSP statistics cannot be folded:
//! [`deployable`] says so before a run, and [`export`] refuses with the reason.

mod import;

use hdf5_pure::{FileBuilder, GroupBuilder};

pub use import::{map, read, Imported, RawGraph};

/// A NIR file as a spikeplay network ([`import`]'s rules), or the node that does not fit.
pub fn import(bytes: &[u8], file: &str) -> Result<Imported> {
    map(&read(bytes, file)?, file)
}

use crate::compare::name;
use crate::config::{ExperimentConfig, NormKind, PspPlacement, PspStats, Reset};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{Network, Synapse};
use crate::norm::{Folding, Placement};
use crate::topology::residual_blocks;

/// The time step of snnTorch's NIR mapping of a discrete-time neuron.
pub const DT: f32 = 1e-4;
/// The format version written to `/version` (the reference writer writes its own version).
pub const VERSION: &str = "1.0.8";

/// A NIR node, with its fields as the reference writer names them. A neuron's parameters
/// share one shape, `dims` (`[n]`, or `[C, H, W]` on a conv map).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Input { shape: Vec<i64> },
    Output { shape: Vec<i64> },
    /// `y = W x + b`, `weight` row-major `[outputs, inputs]`.
    Affine { weight: Vec<f32>, outputs: usize, inputs: usize, bias: Vec<f32> },
    /// A 3x3 convolution, stride 1, padding 1, on `input_shape` `(H, W)` maps; `weight`
    /// row-major `[outputs, inputs, 3, 3]`.
    Conv2d { weight: Vec<f32>, outputs: usize, inputs: usize, bias: Vec<f32>, input_shape: [i64; 2] },
    /// 2x2 windows, stride 2, no padding: the sum, or the mean.
    SumPool2d,
    AvgPool2d,
    /// `z = x > threshold`.
    Threshold { threshold: Vec<f32>, dims: Vec<u64> },
    /// A `[C, H, W]` map as one vector, C-major (`start_dim` 0 over the map's own axes).
    Flatten { input: Vec<i64> },
    Lif { tau: Vec<f32>, r: Vec<f32>, v_leak: Vec<f32>, v_threshold: Vec<f32>, v_reset: Vec<f32>, dims: Vec<u64> },
    If { r: Vec<f32>, v_threshold: Vec<f32>, v_reset: Vec<f32>, dims: Vec<u64> },
    /// A leaky integrator, no spikes: its membrane is its output.
    Li { tau: Vec<f32>, r: Vec<f32>, v_leak: Vec<f32>, dims: Vec<u64> },
    /// An integrator (`dv/dt = r I`).
    I { r: Vec<f32>, dims: Vec<u64> },
}

impl Node {
    /// The `type` string of the node's group.
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Input { .. } => "Input",
            Node::Output { .. } => "Output",
            Node::Affine { .. } => "Affine",
            Node::Conv2d { .. } => "Conv2d",
            Node::SumPool2d => "SumPool2d",
            Node::AvgPool2d => "AvgPool2d",
            Node::Threshold { .. } => "Threshold",
            Node::Flatten { .. } => "Flatten",
            Node::Lif { .. } => "LIF",
            Node::If { .. } => "IF",
            Node::Li { .. } => "LI",
            Node::I { .. } => "I",
        }
    }

    fn write(&self, g: &mut GroupBuilder) {
        let f32s = |g: &mut GroupBuilder, name: &str, v: &[f32], dims: &[u64]| {
            g.create_dataset(name).with_f32_data(v).with_shape(dims);
        };
        let i64s = |g: &mut GroupBuilder, name: &str, v: &[i64]| {
            g.create_dataset(name).with_i64_data(v);
        };
        let scalar = |g: &mut GroupBuilder, name: &str, v: i64| {
            g.create_dataset(name).with_i64_data(&[v]).with_shape(&[]);
        };
        g.create_dataset("type").with_vlen_strings(&[self.type_name()]).with_shape(&[]);
        match self {
            Node::Input { shape } | Node::Output { shape } => i64s(g, "shape", shape),
            Node::Affine { weight, outputs, inputs, bias } => {
                f32s(g, "weight", weight, &[*outputs as u64, *inputs as u64]);
                f32s(g, "bias", bias, &[*outputs as u64]);
            }
            Node::Conv2d { weight, outputs, inputs, bias, input_shape } => {
                f32s(g, "weight", weight, &[*outputs as u64, *inputs as u64, 3, 3]);
                f32s(g, "bias", bias, &[*outputs as u64]);
                i64s(g, "input_shape", input_shape);
                for name in ["stride", "padding", "dilation"] {
                    i64s(g, name, &[1, 1]);
                }
                scalar(g, "groups", 1);
            }
            Node::SumPool2d | Node::AvgPool2d => {
                i64s(g, "kernel_size", &[2, 2]);
                i64s(g, "stride", &[2, 2]);
                i64s(g, "padding", &[0, 0]);
            }
            Node::Threshold { threshold, dims } => f32s(g, "threshold", threshold, dims),
            Node::Flatten { input } => {
                i64s(g, "input_type", input);
                scalar(g, "start_dim", 0);
                scalar(g, "end_dim", -1);
            }
            Node::Lif { tau, r, v_leak, v_threshold, v_reset, dims } => {
                for (name, v) in [("tau", tau), ("r", r), ("v_leak", v_leak), ("v_threshold", v_threshold), ("v_reset", v_reset)] {
                    f32s(g, name, v, dims);
                }
            }
            Node::If { r, v_threshold, v_reset, dims } => {
                for (name, v) in [("r", r), ("v_threshold", v_threshold), ("v_reset", v_reset)] {
                    f32s(g, name, v, dims);
                }
            }
            Node::Li { tau, r, v_leak, dims } => {
                for (name, v) in [("tau", tau), ("r", r), ("v_leak", v_leak)] {
                    f32s(g, name, v, dims);
                }
            }
            Node::I { r, dims } => f32s(g, "r", r, dims),
        }
    }
}

/// A NIR graph: named nodes in order, and `(source, destination)` edges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub nodes: Vec<(String, Node)>,
    pub edges: Vec<(String, String)>,
    /// Free-form `metadata` of the graph: `(key, value)`, values as text or numbers.
    pub metadata: Vec<(String, Meta)>,
}

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Meta {
    Text(String),
    Number(f64),
}

impl Graph {
    fn node(&mut self, name: impl Into<String>, node: Node) -> String {
        let name = name.into();
        self.nodes.push((name.clone(), node));
        name
    }

    fn edge(&mut self, from: &str, to: &str) {
        self.edges.push((from.to_owned(), to.to_owned()));
    }

    /// The HDF5 bytes of the file `nir.write` would write for this graph (uncompressed).
    pub fn to_hdf5(&self) -> Result<Vec<u8>> {
        let mut file = FileBuilder::new();
        file.create_dataset("version").with_vlen_strings(&[VERSION]).with_shape(&[]);
        let mut root = file.create_group("node");
        root.create_dataset("type").with_vlen_strings(&["NIRGraph"]).with_shape(&[]);
        let edges: Vec<&str> = self.edges.iter().flat_map(|(a, b)| [a.as_str(), b.as_str()]).collect();
        root.create_dataset("edges").with_vlen_strings(&edges).with_shape(&[self.edges.len() as u64, 2]);
        let mut nodes = root.create_group("nodes");
        for (name, node) in &self.nodes {
            let mut g = nodes.create_group(name);
            node.write(&mut g);
            nodes.add_group(g.finish());
        }
        root.add_group(nodes.finish());
        if !self.metadata.is_empty() {
            let mut meta = root.create_group("metadata");
            for (key, value) in &self.metadata {
                match value {
                    Meta::Text(t) => meta.create_dataset(key).with_vlen_strings(&[t.as_str()]).with_shape(&[]),
                    Meta::Number(x) => meta.create_dataset(key).with_f64_data(&[*x]).with_shape(&[]),
                };
            }
            root.add_group(meta.finish());
        }
        file.add_group(root.finish());
        file.finish().map_err(|e| Error::Data(format!("writing the NIR file: {e}")))
    }
}

fn refuse(field: &'static str, message: impl Into<String>) -> Error {
    Error::Export { format: "NIR", field, message: message.into() }
}

/// Whether a network of this config can be written as NIR once trained, or the setting that
/// prevents it and why (the page's "deployable as NIR" mark, the compare table's column).
/// A trained net can still be refused for what it learned (an MPBN gain below zero).
pub fn deployable(cfg: &ExperimentConfig) -> std::result::Result<(), Error> {
    let per_step = cfg.norm == NormKind::Psp && cfg.psp_stats == PspStats::PerStep;
    if let Some(why) = crate::norm::unfoldable(cfg.norm, per_step) {
        let field = if per_step { "psp_stats" } else { "norm" };
        return Err(refuse(field, format!("{} cannot be folded into the graph: {why}", label(cfg.norm))));
    }
    if cfg.reset == Reset::Soft {
        return Err(refuse("reset", "NIR's LIF neuron resets to v_reset when it fires; a reset by subtraction has no field in NIR 1.0, so the exported neuron would not be this one"));
    }
    if cfg.psp_lambda > 0.0 {
        return Err(refuse("psp_lambda", "the synaptic trace before each weight (psp_lambda > 0) is not exported yet; only psp_lambda 0 (the trace is the spikes)"));
    }
    if cfg.conv && cfg.norm == NormKind::Psp && cfg.psp_shift && cfg.psp_placement == PspPlacement::Trace {
        return Err(refuse("psp_shift", "a learned PSP shift before a zero-padded convolution does not reach the padding, so it cannot be folded into the convolution's bias; switch the shift off or normalize the current"));
    }
    Ok(())
}

/// A synapse at inference time: its Affine (or Conv2d, on `(h, w)` maps) node, and the
/// thresholds of the neurons it feeds, one per feature or channel, if its norm moved them
/// (MPBN).
fn fold(syn: &Synapse, theta: f32, layer: &str, map: Option<(usize, usize)>) -> Result<(Node, Option<Vec<f32>>)> {
    let dims = syn.weight.dims().to_vec();
    let (outputs, inputs) = (dims[0], dims[1]);
    // Weights per (output, input) pair: a 3x3 kernel, or one.
    let taps: usize = dims[2..].iter().product();
    let mut weight = syn.weight.flatten_all()?.to_vec1::<f32>()?;
    let mut bias = syn.bias.to_vec1::<f32>()?;
    let folding = syn.norm.folded(theta)?.map_err(|why| refuse("norm", format!("{layer}: {} cannot be folded into the graph: {why}", label(syn.norm.kind()))))?;
    let mut threshold = None;
    let row = inputs * taps;
    match (folding, syn.norm.placement()) {
        (Folding::Identity, _) => {}
        // a_hat = s * a + c before the weight: W' = W diag(s), b' = b + W c (`deployable`
        // refuses a shift before a convolution: its zero padding is not shifted).
        (Folding::Affine { scale, shift }, Some(Placement::PreWeight)) => {
            for o in 0..outputs {
                let w = &mut weight[o * row..(o + 1) * row];
                bias[o] += w.iter().enumerate().map(|(k, w)| w * shift[k / taps]).sum::<f32>();
                for (k, w) in w.iter_mut().enumerate() {
                    *w *= scale[k / taps];
                }
            }
        }
        // I_hat = s * I + c after it: W' = diag(s) W, b' = s b + c.
        (Folding::Affine { scale, shift }, _) => {
            for o in 0..outputs {
                for w in &mut weight[o * row..(o + 1) * row] {
                    *w *= scale[o];
                }
                bias[o] = scale[o] * bias[o] + shift[o];
            }
        }
        (Folding::Threshold(t), _) => threshold = Some(t),
    }
    let node = match map {
        Some((h, w)) => Node::Conv2d { weight, outputs, inputs, bias, input_shape: [h as i64, w as i64] },
        None => Node::Affine { weight, outputs, inputs, bias },
    };
    Ok((node, threshold))
}

/// The neuron node of a population of shape `dims` (`[n]` or `[C, H, W]`) with thresholds
/// `per_channel` (one a feature or channel, repeated over a map), or the leaky integrator
/// of a membrane readout.
fn neuron(net: &Network, dims: &[usize], per_channel: Option<Vec<f32>>, spiking: bool) -> Node {
    let lif = net.lif();
    let n: usize = dims.iter().product();
    let fill = |v: f32| vec![v; n];
    let v_threshold = match per_channel {
        Some(t) => t.iter().flat_map(|v| std::iter::repeat_n(*v, n / t.len())).collect(),
        None => fill(lif.theta),
    };
    let dims: Vec<u64> = dims.iter().map(|d| *d as u64).collect();
    if lif.beta >= 1.0 {
        let r = fill(1.0 / DT);
        return if spiking { Node::If { r, v_threshold, v_reset: fill(0.0), dims } } else { Node::I { r, dims } };
    }
    // In f64, rounded once: r is 1 / (1 - beta) of the f32 beta the net uses.
    let tau = DT as f64 / (1.0 - lif.beta as f64);
    let (tau, r, v_leak) = (fill(tau as f32), fill((tau / DT as f64) as f32), fill(0.0));
    if spiking {
        Node::Lif { tau, r, v_leak, v_threshold, v_reset: fill(0.0), dims }
    } else {
        Node::Li { tau, r, v_leak, dims }
    }
}

/// The NIR graph of a trained network (see the module's description).
pub fn graph(net: &Network, cfg: &ExperimentConfig, data: &Dataset) -> Result<Graph> {
    deployable(cfg)?;
    let theta = net.lif().theta;
    let image = net.image();
    let mut g = Graph::default();
    let input_shape = match image {
        Some((h, w)) => vec![1, h as i64, w as i64],
        None => vec![data.features as i64],
    };
    let input = g.node("input", Node::Input { shape: input_shape });
    // Each hidden layer: its Affine or Conv2d node, and the neuron node it feeds, of the
    // layer's map (`[C, H, W]`, before its pools) or width.
    let dims = |l: usize| -> Vec<usize> {
        let [c, h, w] = net.shapes[l];
        if image.is_some() { vec![c, h, w] } else { vec![c] }
    };
    let (mut weights, mut neurons) = (vec![], vec![]);
    for (l, syn) in net.layers.iter().enumerate() {
        let map = image.map(|_| (net.shapes[l][1], net.shapes[l][2]));
        let (node, threshold) = fold(syn, theta, &format!("layer {}", l + 1), map)?;
        weights.push(g.node(format!("{}{l}", if map.is_some() { "conv" } else { "fc" }), node));
        neurons.push(g.node(format!("lif{l}"), neuron(net, &dims(l), threshold, true)));
    }
    let pools = net.pools().to_vec();
    // 2x2 pools of layer l's map, `n` times: the spikes by a sum and `> 0.5` (the max of 0s
    // and 1s: any spike), the residual stream by the mean. Returns the last node's name.
    let pooled = |g: &mut Graph, src: &str, l: usize, n: usize, spikes: bool| -> String {
        let [c, mut h, mut w] = net.shapes[l];
        let mut at = src.to_owned();
        for k in 1..=n {
            (h, w) = (h / 2, w / 2);
            if spikes {
                let sum = g.node(format!("{src}_sum{k}"), Node::SumPool2d);
                g.edge(&at, &sum);
                let dims = vec![c as u64, h as u64, w as u64];
                at = g.node(format!("{src}_max{k}"), Node::Threshold { threshold: vec![0.5; c * h * w], dims });
                g.edge(&sum, &at);
            } else {
                let avg = g.node(format!("{src}_avg{k}"), Node::AvgPool2d);
                g.edge(&at, &avg);
                at = avg;
            }
        }
        at
    };
    let fired = if net.is_residual() {
        // The stream x: the stem, then each block's output summed onto it; NIR sums the edges
        // that reach a node, so each block-end neuron gets an edge from every part of x (each
        // through the average pools the stream went through since that part joined it).
        let mut stream = vec![weights[0].clone()];
        g.edge(&input, &weights[0]);
        g.edge(&weights[0], &neurons[0]);
        let mut fired = neurons[0].clone();
        let last = net.layers.len() - 1;
        let pool_stream = |g: &mut Graph, stream: &mut Vec<String>, fired: &mut String, l: usize| {
            if pools[l] > 0 {
                // After the last layer only the spikes go on (to the readout).
                if l < last {
                    for x in stream.iter_mut() {
                        *x = pooled(g, x, l, pools[l], false);
                    }
                }
                *fired = pooled(g, fired, l, pools[l], true);
            }
        };
        pool_stream(&mut g, &mut stream, &mut fired, 0);
        for block in residual_blocks(net.layers.len()) {
            let mut h = fired.clone();
            for l in block.clone() {
                g.edge(&h, &weights[l]);
                if l + 1 == block.end {
                    stream.push(weights[l].clone());
                    for x in &stream {
                        g.edge(x, &neurons[l]);
                    }
                } else {
                    g.edge(&weights[l], &neurons[l]);
                }
                h = neurons[l].clone();
            }
            fired = h;
            pool_stream(&mut g, &mut stream, &mut fired, block.end - 1);
        }
        fired
    } else {
        let mut fired = input.clone();
        for l in 0..net.layers.len() {
            g.edge(&fired, &weights[l]);
            g.edge(&weights[l], &neurons[l]);
            fired = pooled(&mut g, &neurons[l], l, pools[l], true);
        }
        fired
    };
    let (head, threshold) = fold(&net.head, theta, "the readout", None)?;
    let into_head = match image {
        Some(_) => {
            let [c, h, w] = net.shapes[net.layers.len() - 1];
            let n = pools[net.layers.len() - 1];
            let flat = g.node("flatten", Node::Flatten { input: vec![c as i64, (h >> n) as i64, (w >> n) as i64] });
            g.edge(&fired, &flat);
            flat
        }
        None => fired,
    };
    let head = g.node("head", head);
    g.edge(&into_head, &head);
    let rate = net.readout() == crate::config::Readout::Rate;
    let readout = g.node("readout", neuron(net, &[data.classes], if rate { threshold } else { None }, rate));
    g.edge(&head, &readout);
    let output = g.node("output", Node::Output { shape: vec![data.classes as i64] });
    g.edge(&readout, &output);
    let text = |s: &str| Meta::Text(s.to_owned());
    g.metadata = vec![
        ("producer".into(), text(concat!("spikeplay ", env!("CARGO_PKG_VERSION")))),
        ("dt".into(), Meta::Number(DT as f64)),
        ("timesteps".into(), Meta::Number(cfg.timesteps as f64)),
        ("encoding".into(), text(&name(&cfg.encoding))),
        ("readout".into(), text(if rate { "spike count of `readout` summed over the time steps, then the largest" } else { "membrane of `readout` averaged over the time steps, then the largest" })),
        ("norm".into(), text(&name(&cfg.norm))),
        ("config".into(), text(&serde_json::to_string(cfg).map_err(|e| Error::parse(e.to_string()))?)),
    ];
    Ok(g)
}

/// The NIR file of a trained network.
pub fn export(net: &Network, cfg: &ExperimentConfig, data: &Dataset) -> Result<Vec<u8>> {
    graph(net, cfg, data)?.to_hdf5()
}

/// A norm's name as the docs write it.
fn label(kind: NormKind) -> &'static str {
    match kind {
        NormKind::None => "no norm",
        NormKind::Psp => "PSP norm",
        NormKind::Bn => "BN",
        NormKind::Tdbn => "tdBN",
        NormKind::Tebn => "TEBN",
        NormKind::Bntt => "BNTT",
        NormKind::Mpbn => "MPBN",
        NormKind::Layer => "layer norm",
        NormKind::Rms => "RMS norm",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatasetKind, Readout};
    use crate::Trainer;

    fn trained(norm: NormKind, residual: bool, depth: usize) -> Trainer {
        let cfg = ExperimentConfig { dataset: DatasetKind::Moons, samples: 200, depth, width: 8, timesteps: 4, norm, residual, ..Default::default() };
        let mut t = Trainer::new(cfg).unwrap();
        for _ in 0..3 {
            t.step().unwrap();
        }
        t
    }

    fn node<'a>(g: &'a Graph, name: &str) -> &'a Node {
        &g.nodes.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no node {name}")).1
    }

    fn names(g: &Graph) -> Vec<&str> {
        g.nodes.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn a_plain_net_is_a_chain_and_a_residual_net_sums_its_stream_by_edges() {
        let t = trained(NormKind::None, false, 3);
        let g = graph(&t.net, &t.cfg, &t.data).unwrap();
        assert_eq!(names(&g), ["input", "fc0", "lif0", "fc1", "lif1", "fc2", "lif2", "head", "readout", "output"]);
        let chain = ["input", "fc0", "lif0", "fc1", "lif1", "fc2", "lif2", "head", "readout", "output"];
        let want: Vec<(String, String)> = chain.windows(2).map(|w| (w[0].to_owned(), w[1].to_owned())).collect();
        let mut got = g.edges.clone();
        got.sort();
        let mut want = want;
        want.sort();
        assert_eq!(got, want);
        // depth 4: stem, a block of two (fc1, fc2), a block of one (fc3).
        let t = trained(NormKind::None, true, 4);
        let g = graph(&t.net, &t.cfg, &t.data).unwrap();
        let into = |n: &str| -> Vec<&str> { g.edges.iter().filter(|(_, b)| b == n).map(|(a, _)| a.as_str()).collect() };
        assert_eq!(into("lif0"), ["fc0"]);
        assert_eq!(into("fc1"), ["lif0"]);
        assert_eq!(into("lif1"), ["fc1"]);
        assert_eq!(into("lif2"), ["fc0", "fc2"]);
        assert_eq!(into("fc3"), ["lif2"]);
        assert_eq!(into("lif3"), ["fc0", "fc2", "fc3"]);
        assert_eq!(into("head"), ["lif3"]);
    }

    #[test]
    fn unfolded_weights_are_the_trained_ones_and_the_neuron_is_snntorchs_mapping() {
        let t = trained(NormKind::None, false, 2);
        let g = graph(&t.net, &t.cfg, &t.data).unwrap();
        let Node::Affine { weight, outputs, inputs, bias } = node(&g, "fc0") else { panic!("fc0 is Affine") };
        assert_eq!((*outputs, *inputs), (8, 2));
        assert_eq!(weight, &t.net.layers[0].weight.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        assert_eq!(bias, &t.net.layers[0].bias.to_vec1::<f32>().unwrap());
        let Node::Lif { tau, r, v_threshold, v_reset, v_leak, dims } = node(&g, "lif0") else { panic!("lif0 is LIF") };
        assert_eq!(dims, &[8]);
        // beta 0.9: tau = 1e-4 / 0.1, r = tau / dt = 10; one Euler step is u = 0.9 u + I.
        assert!((tau[0] - 1e-3).abs() < 1e-9 && (r[0] - 10.0).abs() < 1e-4, "{tau:?} {r:?}");
        assert_eq!((v_threshold[0], v_reset[0], v_leak[0], tau.len()), (1.0, 0.0, 0.0, 8));
        let dt_over_tau = DT / tau[0];
        let (u, i) = (0.37f32, 0.21f32);
        assert!((u + dt_over_tau * (-u + r[0] * i) - (0.9 * u + i)).abs() < 1e-6);
    }

    /// Folding is exact: the Affine node's output is the eval-mode norm of the synapse's.
    #[test]
    fn folded_norms_give_the_eval_mode_current() {
        use crate::norm::Mode;
        use candle_core::{Device, Tensor};
        for norm in [NormKind::Psp, NormKind::Bn, NormKind::Tdbn] {
            let t = trained(norm, false, 3);
            let g = graph(&t.net, &t.cfg, &t.data).unwrap();
            for (l, syn) in t.net.layers.iter().enumerate().skip(1) {
                let a: Vec<f32> = (0..3 * 8).map(|i| ((i * 7) % 5) as f32 / 4.0).collect();
                let input = Tensor::from_vec(a.clone(), (1, 3, 8), &Device::Cpu).unwrap();
                let want = syn.forward(&input, Mode::Eval).unwrap().current.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let Node::Affine { weight, outputs, inputs, bias } = node(&g, &format!("fc{l}")) else { panic!() };
                for b in 0..3 {
                    for o in 0..*outputs {
                        let y: f32 = bias[o] + (0..*inputs).map(|i| weight[o * inputs + i] * a[b * inputs + i]).sum::<f32>();
                        let w = want[b * outputs + o];
                        assert!((y - w).abs() <= 1e-4 * (1.0 + w.abs()), "{norm:?} layer {l} sample {b} out {o}: folded {y}, eval {w}");
                    }
                }
            }
        }
    }

    #[test]
    fn mpbn_becomes_thresholds_and_a_membrane_readout_a_leaky_integrator() {
        let mut t = trained(NormKind::Mpbn, false, 2);
        let g = graph(&t.net, &t.cfg, &t.data).unwrap();
        let want = t.net.layers[1].norm.as_batch().unwrap().folded_threshold(1.0).unwrap().to_vec1::<f32>().unwrap();
        let Node::Lif { v_threshold, .. } = node(&g, "lif1") else { panic!() };
        assert_eq!(v_threshold, &want);
        assert!(want.iter().any(|v| *v != 1.0), "{want:?}");
        t.cfg.readout = Readout::Membrane;
        let cfg = ExperimentConfig { readout: Readout::Membrane, ..t.cfg.clone() };
        let t = Trainer::new(cfg).unwrap();
        let g = graph(&t.net, &t.cfg, &t.data).unwrap();
        assert_eq!(node(&g, "readout").type_name(), "LI");
    }

    fn conv(norm: NormKind, residual: bool, depth: usize) -> Trainer {
        let cfg = ExperimentConfig { dataset: DatasetKind::Digits, conv: true, pools: 2, depth, width: 4, timesteps: 2, batch: 16, norm, residual, ..Default::default() };
        let mut t = Trainer::new(cfg).unwrap();
        for _ in 0..2 {
            t.step().unwrap();
        }
        t
    }

    #[test]
    fn a_conv_net_pools_spikes_as_any_spike_and_flattens_before_the_readout() {
        let t = conv(NormKind::None, false, 2);
        let g = graph(&t.net, &t.cfg, &t.data).unwrap();
        let chain = ["input", "conv0", "lif0", "lif0_sum1", "lif0_max1", "conv1", "lif1", "lif1_sum1", "lif1_max1", "flatten", "head", "readout", "output"];
        let mut got = names(&g);
        got.sort();
        let mut want = chain.to_vec();
        want.sort();
        assert_eq!(got, want);
        let mut want: Vec<(String, String)> = chain.windows(2).map(|w| (w[0].to_owned(), w[1].to_owned())).collect();
        let mut edges = g.edges.clone();
        want.sort();
        edges.sort();
        assert_eq!(edges, want);
        let Node::Conv2d { input_shape, outputs, inputs, .. } = node(&g, "conv1") else { panic!() };
        assert_eq!((*input_shape, *outputs, *inputs), ([4, 4], 4, 4));
        let Node::Lif { dims, .. } = node(&g, "lif1") else { panic!() };
        assert_eq!(dims, &[4, 4, 4]);
        let Node::Threshold { threshold, dims } = node(&g, "lif1_max1") else { panic!() };
        assert_eq!((dims.as_slice(), threshold.len(), threshold[0]), (&[4u64, 2, 2][..], 16, 0.5));
        assert_eq!(node(&g, "flatten"), &Node::Flatten { input: vec![4, 2, 2] });
        // Residual, depth 4 (stem, blocks of two and one), pooled after each block: every part
        // of the stream x is averaged where the stream is, and after the last block only the
        // spikes go on.
        let t = conv(NormKind::None, true, 4);
        let g = graph(&t.net, &t.cfg, &t.data).unwrap();
        let into = |n: &str| -> Vec<&str> { g.edges.iter().filter(|(_, b)| b == n).map(|(a, _)| a.as_str()).collect() };
        assert_eq!(t.net.pools(), [0, 0, 1, 1]);
        assert_eq!(into("lif2"), ["conv0", "conv2"]);
        assert_eq!(into("conv3"), ["lif2_max1"]);
        assert_eq!(into("lif3"), ["conv0_avg1", "conv2_avg1", "conv3"]);
        assert_eq!(into("flatten"), ["lif3_max1"]);
        assert!(!names(&g).iter().any(|n| n.starts_with("conv3_avg")), "{:?}", names(&g));
        // Every node but the output leads somewhere.
        for (n, _) in &g.nodes {
            assert!(n == "output" || g.edges.iter().any(|(a, _)| a == n), "{n} leads nowhere");
        }
    }

    /// A folded Conv2d gives the eval-mode current of its synapse: BN after the weight (per
    /// output channel) and PSP norm before it (per input channel).
    #[test]
    fn folded_conv_norms_give_the_eval_mode_current() {
        use crate::norm::Mode;
        use candle_core::{Device, Tensor};
        for norm in [NormKind::Psp, NormKind::Bn] {
            let t = conv(norm, false, 2);
            let g = graph(&t.net, &t.cfg, &t.data).unwrap();
            let syn = &t.net.layers[1];
            let a: Vec<f32> = (0..2 * 4 * 4 * 4).map(|i| ((i * 7) % 3 == 0) as u8 as f32).collect();
            let input = Tensor::from_vec(a, (1, 2, 4, 4, 4), &Device::Cpu).unwrap();
            let want = syn.forward(&input, Mode::Eval).unwrap().current.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let Node::Conv2d { weight, bias, .. } = node(&g, "conv1") else { panic!() };
            let k = Tensor::from_vec(weight.clone(), (4, 4, 3, 3), &Device::Cpu).unwrap();
            let b = Tensor::from_vec(bias.clone(), (1, 4, 1, 1), &Device::Cpu).unwrap();
            let got = input.squeeze(0).unwrap().conv2d(&k, 1, 1, 1, 1).unwrap().broadcast_add(&b).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for (i, (y, w)) in got.iter().zip(&want).enumerate() {
                assert!((y - w).abs() <= 1e-4 * (1.0 + w.abs()), "{norm:?} at {i}: folded {y}, eval {w}");
            }
        }
        let cfg = ExperimentConfig { conv: true, psp_shift: true, ..Default::default() };
        assert!(deployable(&cfg).unwrap_err().to_string().contains("psp_shift"));
    }

    #[test]
    fn norms_that_cannot_fold_are_refused_by_name_and_reason() {
        for (norm, words) in [(NormKind::Tebn, "TEBN"), (NormKind::Bntt, "BNTT"), (NormKind::Layer, "layer norm"), (NormKind::Rms, "RMS norm")] {
            let t = trained(norm, false, 2);
            let err = export(&t.net, &t.cfg, &t.data).unwrap_err();
            let report = err.report();
            assert_eq!((report.kind, report.field.as_deref()), ("export", Some("norm")), "{norm:?}");
            assert!(report.message.starts_with("NIR export: norm: ") && report.message.contains(words) && report.message.contains("cannot be folded"), "{}", report.message);
        }
        let cfg = ExperimentConfig { psp_stats: PspStats::PerStep, ..Default::default() };
        assert!(deployable(&cfg).unwrap_err().to_string().contains("psp_stats"));
        let cfg = ExperimentConfig { reset: Reset::Soft, ..Default::default() };
        assert!(deployable(&cfg).unwrap_err().to_string().contains("reset by subtraction"));
        assert!(deployable(&ExperimentConfig::default()).is_ok());
    }

    /// The file reads back with an HDF5 reader (hdf5-pure's own; Python's `nir.read` reads it
    /// in tests/interop).
    #[test]
    fn the_file_holds_the_graph_as_the_reference_writer_lays_it_out() {
        let t = trained(NormKind::Psp, true, 3);
        let g = graph(&t.net, &t.cfg, &t.data).unwrap();
        let bytes = g.to_hdf5().unwrap();
        let f = hdf5_pure::File::from_bytes(bytes).unwrap();
        assert_eq!(f.dataset("version").unwrap().read_string().unwrap(), [VERSION]);
        assert_eq!(f.dataset("node/type").unwrap().read_string().unwrap(), ["NIRGraph"]);
        let edges = f.dataset("node/edges").unwrap();
        assert_eq!(edges.shape().unwrap(), [g.edges.len() as u64, 2]);
        assert_eq!(edges.read_string().unwrap()[..2], [g.edges[0].0.clone(), g.edges[0].1.clone()]);
        assert_eq!(f.dataset("node/nodes/lif1/type").unwrap().read_string().unwrap(), ["LIF"]);
        let Node::Affine { weight, .. } = node(&g, "fc1") else { panic!() };
        assert_eq!(&f.dataset("node/nodes/fc1/weight").unwrap().read_f32().unwrap(), weight);
        assert_eq!(f.dataset("node/nodes/fc1/weight").unwrap().shape().unwrap(), [8, 8]);
    }
}
