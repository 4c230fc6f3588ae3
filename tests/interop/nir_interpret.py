"""A small NumPy interpreter of NIR's discrete-time semantics, written for spikeplay's
export test and independent of its Rust code: it knows NIR (the reference package's
graph objects, as `nir.read` returns them), not spikeplay.

Time is stepped with forward Euler at `dt` (snnTorch's NIR mapping uses 1e-4, and so does
spikeplay's export; a graph's metadata may name another). At every step each node, in
topological order, receives the sum of its incoming edges' outputs of the same step (NIR:
edges into a node are summed) and produces its output:

    Input            the step's input, shaped as the node says ([F], or [C, H, W])
    Affine / Linear  W x + b / W x
    Conv2d           the cross-correlation of PyTorch's Conv2d (groups 1), zero padding
    SumPool2d        sums of kernel windows at the stride (no padding; a ragged edge dropped)
    AvgPool2d        their means
    Flatten          the node's own axes from start_dim to end_dim as one
    Threshold        x > threshold
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


def conv2d(x, node):
    """x [B, C, H, W] -> [B, O, H', W']: a window view and one contraction, no loops."""
    if int(node.groups) != 1:
        raise Unsupported(f"Conv2d with groups {node.groups} is not interpreted here")
    w = np.asarray(node.weight, dtype=np.float64)
    (sh, sw), (ph, pw), (dh, dw) = (np.broadcast_to(np.asarray(v, dtype=int), (2,)) for v in (node.stride, node.padding, node.dilation))
    kh, kw = w.shape[2:]
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = np.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    return np.einsum("bchwij,ocij->bohw", win, w) + np.asarray(node.bias, dtype=np.float64)[None, :, None, None]


def pool2d(x, node, reduce):
    (kh, kw), (sh, sw), (ph, pw) = (np.broadcast_to(np.asarray(v, dtype=int), (2,)) for v in (node.kernel_size, node.stride, node.padding))
    if (ph, pw) != (0, 0):
        raise Unsupported("pooling with padding is not interpreted here")
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return reduce(win, axis=(4, 5))


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
                shape = [int(d) for d in node.input_type["input"]]
                out[name] = f64(inputs[t]).reshape(batch, *shape)
                continue
            parts = [out[p] for p in preds[name]]
            if not parts:
                raise Unsupported(f"node {name} ({kind}) has no input")
            x = sum(parts)
            if kind == "Affine":
                y = x @ f64(node.weight).T + f64(node.bias)
            elif kind == "Linear":
                y = x @ f64(node.weight).T
            elif kind == "Conv2d":
                y = conv2d(x, node)
            elif kind == "SumPool2d":
                y = pool2d(x, node, np.sum)
            elif kind == "AvgPool2d":
                y = pool2d(x, node, np.mean)
            elif kind == "Flatten":
                start, end = int(node.start_dim), int(node.end_dim)
                axes = x.shape[1:]
                end = end % len(axes)
                y = x.reshape(batch, *axes[:start], -1, *axes[end + 1:])
            elif kind == "Threshold":
                y = (x > f64(node.threshold)).astype(np.float64)
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
