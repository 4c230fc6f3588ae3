//! Reading a NIR file into a spikeplay network: the HDF5 layout of [`super`] (as Python's
//! `nir.write` writes it, gzip'd datasets included), then the graph mapped onto spikeplay's
//! plain MLP, for inference and as initial weights.
//!
//! What maps: a chain `Input -> [Flatten] -> (Affine | Linear [-> Scale] -> LIF | IF)+ ->
//! Output`, the last population the readout (LIF or IF: spike counts; LI: mean membrane).
//! A neuron's `tau`, `r` and threshold fold into the weight before it: with snnTorch's
//! `dt = 1e-4`, one Euler step is `v = beta v + g I` (`beta = 1 - dt / tau`, `g = r dt / tau`),
//! and dividing the membrane by the threshold `theta'` (exact: the dynamics are linear and the
//! reset is to 0) gives spikeplay's neuron with `theta = 1` and the weight row times
//! `g / theta'`. So per-neuron thresholds and gains import exactly; `beta` must be one value
//! for the whole net (spikeplay has one), `v_leak` and `v_reset` must be 0, and the hidden
//! layers must share one width. Anything else is refused naming the node and the field.
//!
//! Not yet: residual graphs (a node reached by several edges) and conv graphs; they are
//! refused by name.

use std::collections::{BTreeMap, HashMap};

use hdf5_pure::File;

use super::DT;
use crate::config::{ExperimentConfig, NormKind, Readout, Reset};
use crate::error::{Error, Result};

/// Bounds on what a file may declare, checked before anything is read: NIR files come from
/// strangers. The limits match [`crate::config::limits`]' spirit: a tab's memory.
const MAX_NODES: usize = 4096;
const MAX_VALUES: u64 = 1 << 24;

/// A node as read: its type and its datasets (numbers as f64, with their shapes).
#[derive(Clone, Debug)]
pub struct RawNode {
    pub kind: String,
    pub fields: BTreeMap<String, (Vec<u64>, Vec<f64>)>,
}

/// A graph as read: nodes by name and `(source, destination)` edges; `metadata` numbers.
#[derive(Clone, Debug, Default)]
pub struct RawGraph {
    pub nodes: BTreeMap<String, RawNode>,
    pub edges: Vec<(String, String)>,
    pub timesteps: Option<usize>,
}

/// The node types spikeplay maps, for messages.
const MAPS: &str = "Input, Output, Affine, Linear, Scale, Flatten, LIF, IF and LI";

/// Reads the graph of a NIR file (`file` names it in messages).
pub fn read(bytes: &[u8], file: &str) -> Result<RawGraph> {
    let fault = |m: String| Error::file(file, m);
    let h5 = File::from_bytes(bytes.to_vec()).map_err(|e| fault(format!("not a readable HDF5 file (NIR files are HDF5): {e}")))?;
    let string = |path: &str| -> Result<String> {
        let ds = h5.dataset(path).map_err(|_| fault(format!("has no {path}: not a NIR graph")))?;
        let v = ds.read_string().map_err(|e| fault(format!("{path}: {e}")))?;
        v.into_iter().next().ok_or_else(|| fault(format!("{path} is empty")))
    };
    let kind = string("node/type")?;
    if kind != "NIRGraph" {
        return Err(fault(format!("node/type is {kind:?}, not a NIRGraph")));
    }
    let edges_ds = h5.dataset("node/edges").map_err(|_| fault("has no node/edges: not a NIR graph".into()))?;
    let shape = edges_ds.shape().map_err(|e| fault(format!("node/edges: {e}")))?;
    if shape.len() != 2 || shape[1] != 2 || shape[0] > (MAX_NODES * 4) as u64 {
        return Err(fault(format!("node/edges has shape {shape:?}; a NIR graph's edges are [n, 2] (pairs of node names)")));
    }
    let flat = edges_ds.read_string().map_err(|e| fault(format!("node/edges: {e}")))?;
    let edges: Vec<(String, String)> = flat.chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect();
    let group = h5.group("node/nodes").map_err(|_| fault("has no node/nodes: not a NIR graph".into()))?;
    let names = group.groups().map_err(|e| fault(format!("node/nodes: {e}")))?;
    if names.len() > MAX_NODES {
        return Err(fault(format!("declares {} nodes; spikeplay reads at most {MAX_NODES}", names.len())));
    }
    let mut nodes = BTreeMap::new();
    for name in names {
        let g = group.group(&name).map_err(|e| fault(format!("node {name}: {e}")))?;
        let kind = g.dataset("type").and_then(|d| d.read_string()).ok().and_then(|v| v.into_iter().next());
        let kind = kind.ok_or_else(|| fault(format!("node {name} has no type")))?;
        let mut fields = BTreeMap::new();
        for field in g.datasets().map_err(|e| fault(format!("node {name}: {e}")))? {
            if field == "type" {
                continue;
            }
            let ds = g.dataset(&field).map_err(|e| fault(format!("node {name}, field {field}: {e}")))?;
            let dims = ds.shape().map_err(|e| fault(format!("node {name}, field {field}: {e}")))?;
            let count = dims.iter().try_fold(1u64, |a, d| a.checked_mul(*d)).filter(|n| *n <= MAX_VALUES);
            if count.is_none() {
                return Err(fault(format!("node {name}, field {field}: shape {dims:?} holds more than {MAX_VALUES} values")));
            }
            // Strings (an Input's name, metadata) are not numbers: skipped.
            if let Ok(values) = ds.read_f64() {
                fields.insert(field, (dims, values));
            }
        }
        nodes.insert(name, RawNode { kind, fields });
    }
    let timesteps = h5.dataset("node/metadata/timesteps").ok().and_then(|d| d.read_f64().ok()).and_then(|v| v.first().copied());
    let timesteps = timesteps.filter(|t| t.is_finite() && *t >= 1.0 && *t <= crate::config::limits::MAX_TIMESTEPS as f64).map(|t| t as usize);
    Ok(RawGraph { nodes, edges, timesteps })
}

/// A NIR graph as a spikeplay network: the settings it fixes and every tensor by the names
/// of [`crate::model::Network::named_tensors`] (norm `none`).
#[derive(Clone, Debug)]
pub struct Imported {
    pub depth: usize,
    pub width: usize,
    pub features: usize,
    pub classes: usize,
    pub beta: f32,
    pub readout: Readout,
    pub timesteps: Option<usize>,
    pub tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Imported {
    /// `cfg` with the settings the graph fixes: its depth, width, neuron and readout, no
    /// norm, a plain dense net with a hard reset; its time steps if the file says and
    /// `keep_timesteps` is false.
    pub fn apply(&self, cfg: &mut ExperimentConfig, keep_timesteps: bool) {
        cfg.depth = self.depth;
        cfg.width = self.width;
        cfg.beta = self.beta;
        cfg.theta = 1.0;
        cfg.norm = NormKind::None;
        cfg.residual = false;
        cfg.conv = false;
        cfg.reset = Reset::Hard;
        cfg.psp_lambda = 0.0;
        cfg.readout = self.readout;
        if let (Some(t), false) = (self.timesteps, keep_timesteps) {
            cfg.timesteps = t;
        }
    }
}

/// One layer of the chain: its weight `[out, in]` and bias, and the neuron after it.
struct Layer {
    weight: Vec<f32>,
    outputs: usize,
    inputs: usize,
    bias: Vec<f32>,
}

/// Maps `graph` onto spikeplay's plain MLP, or names the node that does not fit.
pub fn map(graph: &RawGraph, file: &str) -> Result<Imported> {
    let fault = |m: String| Error::file(file, m);
    let nodes = &graph.nodes;
    for (a, b) in &graph.edges {
        for end in [a, b] {
            if !nodes.contains_key(end) {
                return Err(fault(format!("edge ({a}, {b}) names the missing node {end}")));
            }
        }
    }
    for (name, node) in nodes {
        if !matches!(node.kind.as_str(), "Input" | "Output" | "Affine" | "Linear" | "Scale" | "Flatten" | "LIF" | "IF" | "LI") {
            return Err(fault(format!("node {name}: NIR type {} does not map to a spikeplay network (spikeplay reads {MAPS})", node.kind)));
        }
    }
    let into = |n: &str| graph.edges.iter().filter(|(_, b)| b == n).count();
    let out_of = |n: &str| -> Vec<&String> { graph.edges.iter().filter(|(a, _)| a == n).map(|(_, b)| b).collect() };
    let inputs: Vec<&String> = nodes.iter().filter(|(_, n)| n.kind == "Input").map(|(k, _)| k).collect();
    let [input] = inputs[..] else {
        return Err(fault(format!("has {} Input nodes; spikeplay reads graphs with one", inputs.len())));
    };
    // Walk the chain from the input, refusing forks, joins and cycles by name.
    let mut chain = vec![input.clone()];
    loop {
        let at = chain.last().expect("starts with the input");
        let next = out_of(at);
        match next.len() {
            0 if nodes[at].kind == "Output" => break,
            0 => return Err(fault(format!("node {at} ({}) leads nowhere: the chain must end in an Output", nodes[at].kind))),
            1 => {}
            n => return Err(fault(format!("node {at} feeds {n} nodes ({}): a branch, as a residual net's stream is; spikeplay imports chains so far", next.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))),
        }
        let n = next[0];
        if chain.contains(n) {
            return Err(fault(format!("the graph has a cycle through {n}")));
        }
        if into(n) > 1 {
            return Err(fault(format!("node {n} is reached by {} edges (NIR sums them: a residual sum); spikeplay imports chains so far", into(n))));
        }
        chain.push(n.clone());
    }
    if chain.len() != nodes.len() {
        let stray: Vec<&str> = nodes.keys().filter(|k| !chain.contains(k)).map(|s| s.as_str()).collect();
        return Err(fault(format!("nodes {} are not on the chain from {input} to the output", stray.join(", "))));
    }
    let field = |name: &str, f: &str| -> Result<&(Vec<u64>, Vec<f64>)> {
        nodes[name].fields.get(f).ok_or_else(|| fault(format!("node {name} ({}) has no field {f}", nodes[name].kind)))
    };
    let features: u64 = field(input, "shape")?.1.iter().map(|v| *v as u64).product();
    // Layers, each closed by its neuron; their weights are folded as they come.
    let mut layers: Vec<Layer> = vec![];
    let mut open: Option<Layer> = None;
    let mut beta: Option<(f32, String)> = None;
    let mut readout = Readout::Rate;
    let mut last_neuron = String::new();
    for name in &chain[1..chain.len() - 1] {
        let node = &nodes[name];
        match node.kind.as_str() {
            "Flatten" if layers.is_empty() && open.is_none() => {}
            "Flatten" => return Err(fault(format!("node {name}: a Flatten between layers (a conv graph); spikeplay imports dense chains so far"))),
            "Affine" | "Linear" => {
                if readout == Readout::Membrane {
                    return Err(fault(format!("node {last_neuron}: a leaky integrator (LI) can only be the readout, and {name} follows it")));
                }
                if open.is_some() {
                    return Err(fault(format!("node {name} follows another weight without a neuron between them")));
                }
                let (dims, w) = field(name, "weight")?;
                let [outputs, inputs] = dims[..] else {
                    return Err(fault(format!("node {name}: weight has shape {dims:?}, an Affine's is [outputs, inputs]")));
                };
                let (outputs, inputs) = (outputs as usize, inputs as usize);
                let want = layers.last().map_or(features as usize, |l| l.outputs);
                if inputs != want {
                    return Err(fault(format!("node {name}: weight takes {inputs} inputs, the node before it gives {want}")));
                }
                let bias = if node.kind == "Affine" { field(name, "bias")?.1.clone() } else { vec![0.0; outputs] };
                if bias.len() != outputs {
                    return Err(fault(format!("node {name}: bias has {} values for {outputs} outputs", bias.len())));
                }
                open = Some(Layer { weight: w.iter().map(|v| *v as f32).collect(), outputs, inputs, bias: bias.iter().map(|v| *v as f32).collect() });
            }
            "Scale" => {
                let Some(layer) = open.as_mut() else {
                    return Err(fault(format!("node {name}: a Scale must follow a weight")));
                };
                let s = &field(name, "scale")?.1;
                if s.len() != layer.outputs {
                    return Err(fault(format!("node {name}: scale has {} values for {} outputs", s.len(), layer.outputs)));
                }
                for o in 0..layer.outputs {
                    layer.bias[o] *= s[o] as f32;
                    for w in &mut layer.weight[o * layer.inputs..(o + 1) * layer.inputs] {
                        *w *= s[o] as f32;
                    }
                }
            }
            kind @ ("LIF" | "IF" | "LI") => {
                let Some(mut layer) = open.take() else {
                    return Err(fault(format!("node {name}: a neuron must follow a weight")));
                };
                let n = layer.outputs;
                let get = |f: &str, default: Option<f64>| -> Result<Vec<f64>> {
                    match (nodes[name].fields.get(f), default) {
                        (Some((_, v)), _) if v.len() == n => Ok(v.clone()),
                        (Some((_, v)), _) => Err(fault(format!("node {name}: {f} has {} values for {n} neurons", v.len()))),
                        (None, Some(d)) => Ok(vec![d; n]),
                        (None, None) => Err(fault(format!("node {name} ({kind}) has no field {f}"))),
                    }
                };
                let r = get("r", None)?;
                let (b, gain): (Vec<f64>, Vec<f64>) = if kind == "IF" {
                    (vec![1.0; n], r.iter().map(|r| r * DT as f64).collect())
                } else {
                    let tau = get("tau", None)?;
                    if let Some(i) = tau.iter().position(|t| !(t.is_finite() && *t >= DT as f64)) {
                        return Err(fault(format!("node {name}: tau[{i}] = {} is below dt = {DT} (snnTorch's discrete-time mapping)", tau[i])));
                    }
                    (tau.iter().map(|t| 1.0 - DT as f64 / t).collect(), tau.iter().zip(&r).map(|(t, r)| r * DT as f64 / t).collect())
                };
                for (f, v) in [("v_leak", get("v_leak", Some(0.0))?), ("v_reset", get("v_reset", Some(0.0))?)] {
                    if v.iter().any(|x| *x != 0.0) && (f == "v_leak" || kind != "LI") {
                        return Err(fault(format!("node {name}: {f} is not 0; spikeplay's neuron leaks to 0 and resets to 0")));
                    }
                }
                let b0 = b[0];
                if b.iter().any(|x| (x - b0).abs() > 1e-4) {
                    return Err(fault(format!("node {name}: its neurons have different leaks (tau); spikeplay has one beta for the whole net")));
                }
                match &beta {
                    Some((first, at)) if (*first as f64 - b0).abs() > 1e-4 => {
                        return Err(fault(format!("node {name}: beta {b0:.4} differs from {at}'s {first:.4}; spikeplay has one beta for the whole net")));
                    }
                    None => beta = Some((b0 as f32, name.clone())),
                    _ => {}
                }
                // v = beta v + g I fires at v > theta': u = v / theta' fires at 1 (the reset is to 0).
                let theta = if kind == "LI" { vec![1.0; n] } else { get("v_threshold", None)? };
                // A threshold at or below the reset potential fires again at once: spikeplay's
                // neuron (threshold 1 on a scaled membrane) cannot say that.
                if let Some(i) = theta.iter().position(|t| !(t.is_finite() && *t > 0.0)) {
                    return Err(fault(format!("node {name}: v_threshold[{i}] = {} is not above v_reset = 0, which spikeplay's neuron cannot hold", theta[i])));
                }
                for o in 0..n {
                    let s = (gain[o] / theta[o]) as f32;
                    layer.bias[o] *= s;
                    for w in &mut layer.weight[o * layer.inputs..(o + 1) * layer.inputs] {
                        *w *= s;
                    }
                }
                readout = if kind == "LI" { Readout::Membrane } else { Readout::Rate };
                last_neuron = name.clone();
                layers.push(layer);
            }
            other => return Err(fault(format!("node {name} ({other}) cannot stand inside the chain"))),
        }
    }
    if let Some(layer) = open {
        return Err(fault(format!("the graph ends in a weight ({} outputs) with no neuron after it", layer.outputs)));
    }
    if layers.len() < 2 {
        return Err(fault(format!("has {} layer(s); spikeplay needs at least one hidden layer and a readout", layers.len())));
    }
    let head = layers.pop().expect("two or more");
    let width = layers[0].outputs;
    if let Some((l, layer)) = layers.iter().enumerate().find(|(_, l)| l.outputs != width) {
        return Err(fault(format!("hidden layer {} has {} neurons, the first has {width}: spikeplay's hidden layers share one width", l + 1, layer.outputs)));
    }
    for (l, layer) in layers.iter().enumerate() {
        if let Some(i) = layer.weight.iter().chain(&layer.bias).position(|v| !v.is_finite()) {
            return Err(fault(format!("hidden layer {}: value {i} is not a finite number", l + 1)));
        }
    }
    let mut tensors = HashMap::new();
    let classes = head.outputs;
    for (l, layer) in layers.iter().chain([&head]).enumerate() {
        let prefix = if l == layers.len() { "head".to_owned() } else { format!("layers.{l}") };
        tensors.insert(format!("{prefix}.weight"), (vec![layer.outputs, layer.inputs], layer.weight.clone()));
        tensors.insert(format!("{prefix}.bias"), (vec![layer.outputs], layer.bias.clone()));
    }
    let beta = beta.map_or(0.9, |(b, _)| b);
    Ok(Imported { depth: layers.len(), width, features: features as usize, classes, beta, readout, timesteps: graph.timesteps, tensors })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatasetKind;
    use crate::Trainer;

    fn trained(norm: NormKind) -> Trainer {
        let cfg = ExperimentConfig { dataset: DatasetKind::Digits, depth: 2, width: 16, timesteps: 4, norm, ..Default::default() };
        let mut t = Trainer::new(cfg).unwrap();
        for _ in 0..20 {
            t.step().unwrap();
        }
        t
    }

    /// A spikeplay export read back is the same network: its norms were folded exactly.
    #[test]
    fn an_export_read_back_predicts_what_the_network_did() {
        // (MPBN's folded thresholds can fall below 0, which the import refuses by name.)
        for norm in [NormKind::None, NormKind::Psp, NormKind::Bn, NormKind::Tdbn] {
            let t = trained(norm);
            let imported = crate::nir::import(&t.export_nir().unwrap(), "m.nir").unwrap();
            assert_eq!((imported.depth, imported.width, imported.features, imported.classes, imported.timesteps), (2, 16, 64, 10, Some(4)), "{norm:?}");
            let mut cfg = t.cfg.clone();
            imported.apply(&mut cfg, false);
            assert_eq!(cfg.norm, NormKind::None);
            let mut back = Trainer::new(cfg).unwrap();
            back.load_nir(&imported, "m.nir").unwrap();
            let test = &t.data.test;
            let (a, b) = (t.predictions_of_first(test, test.len()).unwrap(), back.predictions_of_first(test, test.len()).unwrap());
            let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64;
            assert!(agree >= 0.99, "{norm:?}: {agree}");
        }
    }

    fn raw(t: &Trainer) -> RawGraph {
        read(&t.export_nir().unwrap(), "m.nir").unwrap()
    }

    fn refused(g: &RawGraph) -> String {
        map(g, "m.nir").unwrap_err().to_string()
    }

    #[test]
    fn graphs_that_do_not_map_are_refused_naming_the_node() {
        let t = trained(NormKind::None);
        let base = raw(&t);
        let mut g = base.clone();
        g.nodes.get_mut("lif0").unwrap().kind = "CubaLIF".into();
        assert!(refused(&g).contains("node lif0: NIR type CubaLIF does not map"), "{}", refused(&g));
        let mut g = base.clone();
        g.edges.push(("fc1".into(), "ghost".into()));
        assert!(refused(&g).contains("edge (fc1, ghost) names the missing node ghost"), "{}", refused(&g));
        let mut g = base.clone();
        g.edges.retain(|(a, _)| a != "lif1");
        g.edges.push(("lif1".into(), "fc0".into()));
        assert!(refused(&g).contains("reached by 2 edges") || refused(&g).contains("cycle"), "{}", refused(&g));
        let mut g = base.clone();
        g.edges.push(("fc0".into(), "lif1".into()));
        assert!(refused(&g).contains("node fc0 feeds 2 nodes"), "{}", refused(&g));
        // Shapes that do not chain: fc1 takes 16 inputs; give it 15.
        let mut g = base.clone();
        let w = g.nodes.get_mut("fc1").unwrap().fields.get_mut("weight").unwrap();
        w.0 = vec![16, 15];
        w.1.truncate(16 * 15);
        assert!(refused(&g).contains("node fc1: weight takes 15 inputs, the node before it gives 16"), "{}", refused(&g));
        let mut g = base.clone();
        g.nodes.get_mut("lif1").unwrap().fields.get_mut("v_leak").unwrap().1[3] = 0.5;
        assert!(refused(&g).contains("node lif1: v_leak is not 0"), "{}", refused(&g));
        let mut g = base.clone();
        g.nodes.get_mut("lif1").unwrap().fields.get_mut("tau").unwrap().1.iter_mut().for_each(|t| *t = 2e-3);
        assert!(refused(&g).contains("node lif1: beta 0.9500 differs from lif0's 0.9000"), "{}", refused(&g));
        // A residual export: a sum of edges.
        let cfg = ExperimentConfig { residual: true, depth: 3, ..t.cfg.clone() };
        let r = Trainer::new(cfg).unwrap();
        assert!(refused(&raw(&r)).contains("node fc0 feeds 2 nodes (lif0, lif2): a branch"), "{}", refused(&raw(&r)));
    }

    #[test]
    fn bad_files_say_what_they_are_not() {
        let t = trained(NormKind::None);
        let bytes = t.export_nir().unwrap();
        let e = read(b"not hdf5 at all", "m.nir").unwrap_err().to_string();
        assert!(e.starts_with("m.nir: not a readable HDF5 file"), "{e}");
        // Truncated: refused naming the file, or (cut in what no reader needs) the same graph.
        let whole = crate::nir::import(&bytes, "m.nir").unwrap().tensors;
        let mut refusals = 0;
        for cut in [600, bytes.len() / 3, bytes.len() / 2, bytes.len() - 100, bytes.len() - 1] {
            match crate::nir::import(&bytes[..cut], "m.nir") {
                Ok(g) => assert_eq!(g.tensors, whole, "cut at {cut}: imported something else"),
                Err(e) => {
                    refusals += 1;
                    assert!(e.to_string().starts_with("m.nir: "), "cut at {cut}: {e}");
                }
            }
        }
        assert!(refusals >= 3, "{refusals} of 5 truncations refused");
        // Another HDF5 file: a weights-like file with no graph.
        let mut f = hdf5_pure::FileBuilder::new();
        f.create_dataset("data").with_f32_data(&[1.0, 2.0]);
        let e = read(&f.finish().unwrap(), "other.h5").unwrap_err().to_string();
        assert!(e.contains("other.h5: has no node/type: not a NIR graph"), "{e}");
        // Data of another shape.
        let imported = crate::nir::import(&bytes, "m.nir").unwrap();
        let mut other = Trainer::new(ExperimentConfig { dataset: DatasetKind::Moons, depth: 2, width: 16, ..Default::default() }).unwrap();
        let e = other.load_nir(&imported, "m.nir").unwrap_err().to_string();
        assert!(e.contains("the graph takes 64 inputs and gives 10 outputs; this data set has 2 features and 2 classes"), "{e}");
    }
}
