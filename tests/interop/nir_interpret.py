"""A small NumPy interpreter of NIR's discrete-time semantics, written for spikeplay's
export test and independent of its Rust code: it knows NIR (the reference package's
graph objects, as `nir.read` returns them), not spikeplay.

Time is stepped with forward Euler at `dt` (snnTorch's NIR mapping uses 1e-4, and so does
spikeplay's export; a graph's metadata may name another). At every step each node, in
topological order, receives the sum of its incoming edges' outputs of the same step (NIR:
edges into a node are summed) and produces its output:

    Input            the step's input
    Affine / Linear  W x + b / W x
    Scale            s * x
    LIF   v += dt/tau (v_leak - v + r x); z = v > v_threshold; v = v_reset where z; out z
    IF    v += dt r x;                    z, reset as LIF;                          out z
    LI    v += dt/tau (v_leak - v + r x);                                           out v
    I     v += dt r x;                                                              out v
    Output           its input, recorded

Anything else is refused with the node's name and type.
"""

import numpy as np


class Unsupported(ValueError):
    pass


def topological_order(graph):
    """Node names so that every edge goes forward; refuses cycles and dangling edges."""
    names = set(graph.nodes)
    preds = {n: [] for n in names}
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in names:
                raise Unsupported(f"edge ({src}, {dst}) names the missing node {end}")
        preds[dst].append(src)
    indegree = {n: len(p) for n, p in preds.items()}
    succ = {n: [] for n in names}
    for src, dst in graph.edges:
        succ[src].append(dst)
    ready = sorted(n for n in names if indegree[n] == 0)
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in succ[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    if len(order) != len(names):
        stuck = sorted(n for n in names if indegree[n] > 0)
        raise Unsupported(f"the graph has a cycle through {', '.join(stuck)}")
    return order, preds


def run(graph, inputs, dt=1e-4):
    """Runs `graph` on `inputs` of shape [T, B, features] (the one Input node's); returns
    {output node name: array [T, B, n]}."""
    order, preds = topological_order(graph)
    steps, batch = inputs.shape[:2]
    state = {}
    recorded = {n: [] for n, node in graph.nodes.items() if type(node).__name__ == "Output"}
    f64 = lambda a: np.asarray(a, dtype=np.float64)
    for t in range(steps):
        out = {}
        for name in order:
            node = graph.nodes[name]
            kind = type(node).__name__
            if kind == "Input":
                out[name] = f64(inputs[t])
                continue
            parts = [out[p] for p in preds[name]]
            if not parts:
                raise Unsupported(f"node {name} ({kind}) has no input")
            x = sum(parts)
            if kind == "Affine":
                y = x @ f64(node.weight).T + f64(node.bias)
            elif kind == "Linear":
                y = x @ f64(node.weight).T
            elif kind == "Scale":
                y = x * f64(node.scale)
            elif kind in ("LIF", "IF", "LI", "I"):
                v = state.get(name, np.zeros_like(x))
                if kind in ("LIF", "LI"):
                    v = v + dt / f64(node.tau) * (f64(node.v_leak) - v + f64(node.r) * x)
                else:
                    v = v + dt * f64(node.r) * x
                if kind in ("LIF", "IF"):
                    z = v > f64(node.v_threshold)
                    v = np.where(z, f64(node.v_reset), v)
                    y = z.astype(np.float64)
                else:
                    y = v
                state[name] = v
            elif kind == "Output":
                y = x
                recorded[name].append(y)
            else:
                raise Unsupported(f"node {name}: NIR type {kind} is not interpreted here")
            out[name] = y
    return {n: np.stack(v) for n, v in recorded.items()}
