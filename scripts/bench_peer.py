#!/usr/bin/env python3
"""Peer benchmark of issues 6 and 19: spikeplay's benchmark configs A-F in plain PyTorch and in
snnTorch on the CPU, with 1 and 2 threads, side by side with `spikeplay bench` (native)
measured in the same invocation. Run it through scripts/bench-peer.sh, which makes the
virtual environment, installs the pinned torch and snnTorch and builds the binary.

Both peers build the network of crate/src/model.rs with spikeplay's defaults
(crate/src/config.rs), so that a step does the same arithmetic:

- direct encoding: the batch repeated at every one of the T steps, `[T, B, F]`;
- each hidden layer: (PSP norm) -> Linear over all T*B rows at once (or a 3x3 conv,
  padding 1, over the T*B maps) -> (BN) -> LIF over T; the readout likewise, its spikes
  summed over T are the logits (rate readout), then cross-entropy, backward, Adam lr 1e-3;
- LIF: `u = beta u + I`, `s = H(u - theta)` (fires when `u - theta >= 0`), hard reset
  `u = u (1 - s)` with the spike detached in the reset, beta 0.9, theta 1;
- surrogate atan of width w = 2: `g(x) = (a/2) / (1 + (pi a x / 2)^2)` with `a = 2/w = 1`
  (crate/src/surrogate.rs). snnTorch's `surrogate.atan(alpha)` has the backward
  `(alpha/2) / (1 + (pi alpha x / 2)^2)`, the same formula, so alpha = a = 1 (snnTorch's
  default alpha = 2 would be spikeplay's width 1);
- PSP norm (psp_lambda 0: it sees the spikes themselves): `gamma * a / sqrt(mean(a^2) + 1e-2)`
  per feature (per channel for conv maps) over T, B (and H, W), before the weight, with a
  running mean(a^2) updated with momentum 0.1; on every layer whose input is spikes: all
  hidden layers but the first (its input is the direct-encoded sample) and the readout;
- BN: after the weight, per feature (channel) over T, B (and H, W), eps 1e-5, momentum
  0.1, running statistics (unbiased running variance): torch's own BatchNorm1d / 2d on the
  `[T*B, ...]` view, which is exactly that statistic (and torch's fused kernel);
- residual (config D): a stem, then pre-activation blocks of two layers on the real-valued
  stream x (`h = Syn(LIF(x)); x = x + Syn(LIF(h))`), the last block a single layer when
  depth - 1 is odd; the last gain of each block (PSP or BN gamma, or the weight without a
  norm) starts at zero (zero_init_residual);
- conv (configs E, E2, F): 3x3 convs (8, 32 and 4 channels), 2x2 max-pools of the spikes placed as
  `ExperimentConfig::pool_schedule` places them, the readout dense on the flattened map;
- weights uniform with variance 1/fan_in (conv fan-in 9 x channels), biases zero.

A step is what `spikeplay bench` times (crate/src/train.rs, `Trainer::step`): draw the next
minibatch of a shuffled epoch (the last batch of an epoch is smaller, as in spikeplay),
encode it, forward over T, loss (read back as a number and checked to be finite),
backward, the L2 norm of each hidden weight's gradient (spikeplay records them for its
probe; `--no-grad-norms` leaves them out), Adam step, with zero_grad. Steps are timed one
by one with time.perf_counter after the warm-up; medians and the 10th / 90th percentiles
use spikeplay's nearest-rank rule.
"""

import argparse
import gzip
import json
import math
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
import warnings

# torch warns at import when numpy is missing; nothing here needs numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import snntorch as snn  # noqa: E402
from snntorch import surrogate as snn_surrogate  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# spikeplay's defaults (crate/src/config.rs, crate/src/norm.rs).
BETA = 0.9
THETA = 1.0
SURROGATE_WIDTH = 2.0
ATAN_A = 2.0 / SURROGATE_WIDTH  # = 1: snnTorch's alpha
PSP_EPS = 1e-2
BN_EPS = 1e-5
MOMENTUM = 0.1
LR = 1e-3
TEST_FRACTION = 0.2
SEED = 0

# crate/src/bench.rs, `config`.
CONFIGS = {
    "A": dict(dataset="digits", depth=4, width=128, timesteps=8, batch=32, residual=False, conv=False, pools=0),
    "B": dict(dataset="digits", depth=8, width=256, timesteps=16, batch=64, residual=False, conv=False, pools=0),
    "C": dict(dataset="spiral", depth=16, width=128, timesteps=8, batch=32, residual=False, conv=False, pools=0),
    "D": dict(dataset="digits", depth=100, width=64, timesteps=4, batch=16, residual=True, conv=False, pools=0),
    "E": dict(dataset="mnist14", depth=3, width=8, timesteps=4, batch=32, residual=False, conv=True, pools=2),
    "E2": dict(dataset="mnist28", depth=2, width=32, timesteps=4, batch=64, residual=False, conv=True, pools=2),
    "F": dict(dataset="mnist14", depth=101, width=4, timesteps=2, batch=16, residual=True, conv=True, pools=2),
}
NORMS = ("none", "bn", "psp")
FRAMEWORKS = ("torch", "snntorch")


def rust_round(x):
    """f64::round: halves away from zero (Python's round() rounds them to even)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def pool_schedule(cfg):
    """`ExperimentConfig::pool_schedule`: 2x2 pools after each hidden layer."""
    d = cfg["depth"]
    after = [0] * d
    if not cfg["conv"]:
        return after
    for k in range(1, cfg["pools"] + 1):
        layer = max(rust_round(k * d / cfg["pools"]), 1) - 1
        if cfg["residual"]:
            while not (layer == 0 or layer % 2 == 0 or layer + 1 == d):
                layer += 1
        after[min(layer, d - 1)] += 1
    return after


def quantile(values, q):
    """spikeplay's `Timing::quantile`: nearest rank."""
    v = sorted(values)
    if not v:
        return float("nan")
    return v[min(rust_round(q * (len(v) - 1)), len(v) - 1)]


# ---------------------------------------------------------------------------------------
# Data (crate/src/data.rs): the real data sets, split 80/20 by a seeded shuffle. Values do
# not change the timing much, but sizes and the epoch's batch sequence do.


class Data:
    def __init__(self, x, y, classes, image):
        gen = torch.Generator().manual_seed(SEED)
        n = y.shape[0]
        order = torch.randperm(n, generator=gen)
        n_test = min(max(rust_round(n * TEST_FRACTION), 1), n - 1)
        self.x = x[order[n_test:]].contiguous()
        self.y = y[order[n_test:]].contiguous()
        self.features = x.shape[1]
        self.classes = classes
        self.image = image


def load_digits():
    xs, ys = [], []
    with open(os.path.join(ROOT, "data", "digits", "digits.csv")) as f:
        for line in f:
            if line.strip():
                vals = [int(v) for v in line.split(",")]
                xs.append([v / 16.0 for v in vals[:64]])
                ys.append(vals[64])
    return Data(torch.tensor(xs, dtype=torch.float32), torch.tensor(ys), 10, (8, 8))


def load_spiral(n=1000, noise=0.05):
    """`generate_2d(Spiral)`: two arms turning 1.75 times, Gaussian noise."""
    gen = torch.Generator().manual_seed(SEED + 1)
    xs, ys = [], []
    for i in range(n):
        label = i % 2
        k = (i // 2) / max(n // 2, 1)
        t = 1.75 * 2 * math.pi * k + label * math.pi
        xs.append([k * math.sin(t), k * math.cos(t)])
        ys.append(label)
    x = torch.tensor(xs, dtype=torch.float32) + noise * torch.randn(n, 2, generator=gen)
    return Data(x, torch.tensor(ys), 2, None)


def load_mnist(images_file):
    def idx(name):
        with gzip.open(os.path.join(ROOT, "data", "mnist", name)) as f:
            raw = f.read()
        ndim = raw[3]
        dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
        return torch.frombuffer(bytearray(raw[4 + 4 * ndim :]), dtype=torch.uint8).reshape(dims)

    images = idx(images_file)
    labels = idx("mnist-labels.idx1-ubyte.gz").long()
    n, h, w = images.shape
    x = images.reshape(n, h * w).float()
    lo, hi = x.min(), x.max()  # `scale_to_unit`: one global scale
    x = (x - lo) / (hi - lo)
    return Data(x, labels, 10, (h, w))


LOADERS = {
    "digits": load_digits,
    "spiral": load_spiral,
    "mnist14": lambda: load_mnist("mnist14-images.idx3-ubyte.gz"),
    "mnist28": lambda: load_mnist("mnist28-images.idx3-ubyte.gz"),
}


class Batches:
    """`Trainer::step`'s batching: consecutive slices of a shuffled order, reshuffled after
    the last (smaller) batch of an epoch."""

    def __init__(self, n, batch):
        self.n, self.batch = n, batch
        self.gen = torch.Generator().manual_seed(SEED + 3)
        self.order = torch.randperm(n, generator=self.gen)
        self.cursor = 0

    def next(self):
        end = min(self.cursor + self.batch, self.n)
        idx = self.order[self.cursor : end]
        self.cursor = end
        if self.cursor >= self.n:
            self.cursor = 0
            self.order = torch.randperm(self.n, generator=self.gen)
        return idx


# ---------------------------------------------------------------------------------------
# Neurons


# spikeplay fires at `u - theta >= 0`, snnTorch at `> 0`. The sanity check switches the
# plain-PyTorch spike to `>` so that both peers must agree exactly: in deep nets a membrane
# landing on theta exactly does happen (config B with PSP norm) and then the spikes differ.
FIRE_AT_THRESHOLD = True


class AtanSpike(torch.autograd.Function):
    """Heaviside forward (fires at x >= 0), spikeplay's atan surrogate backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0 if FIRE_AT_THRESHOLD else x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (0.5 * ATAN_A) / (1 + (0.5 * math.pi * ATAN_A * x) ** 2)


class TorchLif(nn.Module):
    """Plain PyTorch LIF, as crate/src/neuron.rs: `[T, B, ...]` current -> spikes."""

    def forward(self, current):
        u = torch.zeros_like(current[0])
        spikes = []
        for t in range(current.shape[0]):
            charged = BETA * u + current[t]
            s = AtanSpike.apply(charged - THETA)
            u = charged * (1 - s.detach())  # hard reset, detached spike
            spikes.append(s)
        return torch.stack(spikes)


class SnnLif(nn.Module):
    """snnTorch's `Leaky` over T, one step per call (snnTorch's own usage).

    With reset_mechanism="zero" and the default reset_delay=True, Leaky resets at the start
    of the next step with a detached spike of the previous membrane:
    `u_t = beta (1 - s_{t-1}) u_{t-1} + I_t`, `s_t = H(u_t - theta)`, which is spikeplay's
    hard reset with detach_reset (its stored membrane is `u_{t-1} (1 - s_{t-1})`), so both
    give the same spikes and gradients. (snnTorch fires at `u - theta > 0`, spikeplay at
    `>= 0`: they differ only where the membrane equals the threshold exactly.)
    reset_delay=False would reset within the step through the undetached spike.
    """

    def __init__(self):
        super().__init__()
        self.lif = snn.Leaky(
            beta=BETA,
            threshold=THETA,
            spike_grad=snn_surrogate.atan(alpha=ATAN_A),
            reset_mechanism="zero",
        )

    def forward(self, current):
        mem = self.lif.reset_mem()
        spikes = []
        for t in range(current.shape[0]):
            spk, mem = self.lif(current[t], mem)
            spikes.append(spk)
        return torch.stack(spikes)


NEURONS = {"torch": TorchLif, "snntorch": SnnLif}

# ---------------------------------------------------------------------------------------
# Norms, on time-major `[T, B, F]` or `[T, B, C, H, W]` (feature / channel axis 2).


class PspNorm(nn.Module):
    """crate/src/norm/psp.rs: `gamma * a / sqrt(mean(a^2) + eps)` per feature over the rest."""

    def __init__(self, features):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(features))
        self.register_buffer("running_sq", torch.ones(features))

    def forward(self, a):
        dims = [d for d in range(a.dim()) if d != 2]
        sq = a.square().mean(dim=dims, keepdim=True)
        if self.training:
            with torch.no_grad():
                self.running_sq.mul_(1 - MOMENTUM).add_(sq.flatten(), alpha=MOMENTUM)
        shape = [1] * a.dim()
        shape[2] = -1
        return a / torch.sqrt(sq + PSP_EPS) * self.gamma.view(shape)


class BatchNormTB(nn.Module):
    """BN over T and B (and H, W) per feature: torch's BatchNorm on the `[T*B, ...]` view."""

    def __init__(self, features, conv):
        super().__init__()
        cls = nn.BatchNorm2d if conv else nn.BatchNorm1d
        self.bn = cls(features, eps=BN_EPS, momentum=MOMENTUM)

    def forward(self, x):
        return self.bn(x.flatten(0, 1)).view(x.shape)


class Synapse(nn.Module):
    """model.rs `Synapse`: `a -> PreNorm (PSP) -> Linear / Conv -> PostNorm (BN) -> I`."""

    def __init__(self, fan_in, fan_out, conv, spikes_in, norm):
        super().__init__()
        self.conv = conv
        taps = 9 if conv else 1
        self.op = nn.Conv2d(fan_in, fan_out, 3, padding=1) if conv else nn.Linear(fan_in, fan_out)
        bound = math.sqrt(3.0 / (fan_in * taps))  # uniform, variance 1 / fan_in
        with torch.no_grad():
            self.op.weight.uniform_(-bound, bound)
            self.op.bias.zero_()
        # The PSP norm normalizes spike traces: not a direct-encoded input (model.rs).
        self.pre = PspNorm(fan_in) if norm == "psp" and spikes_in else None
        self.post = BatchNormTB(fan_out, conv) if norm == "bn" else None

    def forward(self, a):
        if self.pre is not None:
            a = self.pre(a)
        if self.conv:
            y = self.op(a.flatten(0, 1))
            y = y.view(a.shape[0], a.shape[1], *y.shape[1:])
        else:
            y = self.op(a)  # all T*B rows in one matmul
        if self.post is not None:
            y = self.post(y)
        return y

    def zero_output(self):
        """`Synapse::zero_output`: the norm's gain, or the weight without a norm."""
        if self.pre is not None:
            gain = self.pre.gamma
        elif self.post is not None:
            gain = self.post.bn.weight
        else:
            gain = self.op.weight
        with torch.no_grad():
            gain.zero_()


def pool(xs, n, avg=False):
    """2x2 pooling, n times, of `[T, B, C, H, W]`."""
    for _ in range(n):
        t, b = xs.shape[:2]
        y = F.avg_pool2d(xs.flatten(0, 1), 2) if avg else F.max_pool2d(xs.flatten(0, 1), 2)
        xs = y.view(t, b, *y.shape[1:])
    return xs


class Net(nn.Module):
    """model.rs `Network` (plain or pre-activation residual; dense or conv), rate readout."""

    def __init__(self, cfg, norm, neuron, data):
        super().__init__()
        self.cfg = cfg
        self.residual = cfg["residual"]
        self.image = data.image if cfg["conv"] else None
        self.pools = pool_schedule(cfg)
        width = cfg["width"]
        h, w = self.image or (1, 1)
        layers, lifs = [], []
        for l in range(cfg["depth"]):
            fan_in = (1 if cfg["conv"] else data.features) if l == 0 else width
            layers.append(Synapse(fan_in, width, cfg["conv"], l > 0, norm))
            lifs.append(neuron())
            for _ in range(self.pools[l]):
                h, w = h // 2, w // 2
        self.layers = nn.ModuleList(layers)
        self.lifs = nn.ModuleList(lifs)
        self.head = Synapse(width * h * w, data.classes, False, True, norm)
        self.head_lif = neuron()
        if self.residual:  # zero_init_residual: every block starts as the identity
            for start in range(1, cfg["depth"], 2):
                self.layers[min(start + 1, cfg["depth"] - 1)].zero_output()

    def forward(self, x):
        """`[T, B, features]` -> logits `[B, classes]`."""
        if self.image is not None:
            x = x.view(x.shape[0], x.shape[1], 1, *self.image)
        depth = len(self.layers)
        stream = self.layers[0](x)
        s = self.lifs[0](stream)
        if self.residual:
            if self.pools[0]:
                stream, s = pool(stream, self.pools[0], avg=True), pool(s, self.pools[0])
            for start in range(1, depth, 2):
                block = range(start, min(start + 2, depth))
                h = s
                for l in block:
                    current = self.layers[l](h)
                    if l == block[-1]:
                        stream = stream + current
                        current = stream
                    h = self.lifs[l](current)
                n = self.pools[block[-1]]
                if n:
                    stream, h = pool(stream, n, avg=True), pool(h, n)
                s = h
        else:
            s = pool(s, self.pools[0])
            for l in range(1, depth):
                s = pool(self.lifs[l](self.layers[l](s)), self.pools[l])
        if self.image is not None:
            s = s.flatten(2)
        return self.head_lif(self.head(s)).sum(0)

    def hidden_weights(self):
        return [layer.op.weight for layer in self.layers]


def spikeplay_param_count(cfg, norm, data):
    """Trainable parameters by model.rs's rules (weights, biases, PSP gamma on spiking
    fan-ins, BN gamma and beta on fan-outs), written out independently of `Net`."""
    width, classes = cfg["width"], data.classes
    h, w = data.image if cfg["conv"] else (1, 1)
    taps = 9 if cfg["conv"] else 1
    total = 0
    for l, pools in enumerate(pool_schedule(cfg)):
        fan_in = (1 if cfg["conv"] else data.features) if l == 0 else width
        total += fan_in * width * taps + width
        total += fan_in if norm == "psp" and l > 0 else 0
        total += 2 * width if norm == "bn" else 0
        for _ in range(pools):
            h, w = h // 2, w // 2
    head_in = width * h * w
    total += head_in * classes + classes
    total += head_in if norm == "psp" else 0
    total += 2 * classes if norm == "bn" else 0
    return total


# ---------------------------------------------------------------------------------------
# Training step and timing


class Runner:
    def __init__(self, name, norm, framework, data, grad_norms=True):
        self.cfg = CONFIGS[name]
        torch.manual_seed(SEED)
        self.model = Net(self.cfg, norm, NEURONS[framework], data)
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.data = data
        self.batches = Batches(data.y.shape[0], self.cfg["batch"])
        self.hidden = self.model.hidden_weights()
        self.grad_norms = grad_norms

    def params(self):
        return sum(p.numel() for p in self.model.parameters())

    def encode(self, idx):
        """Direct encoding: the samples, repeated at every step, `[T, B, F]`."""
        x = self.data.x.index_select(0, idx)
        return x.unsqueeze(0).repeat(self.cfg["timesteps"], 1, 1), self.data.y.index_select(0, idx)

    def step(self):
        x, y = self.encode(self.batches.next())
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(x), y)
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"diverged: loss {value}")
        loss.backward()
        if self.grad_norms:  # as `Trainer::step` records them for its probe
            self.last_grad_norms = [torch.linalg.vector_norm(w.grad).item() if w.grad is not None else 0.0 for w in self.hidden]
        self.opt.step()
        return value


def measure(name, norm, framework, threads, data, warmup, steps, grad_norms):
    torch.set_num_threads(threads)
    runner = Runner(name, norm, framework, data, grad_norms)
    for _ in range(warmup):
        runner.step()
    step_ms = []
    for _ in range(steps):
        t0 = time.perf_counter()
        runner.step()
        step_ms.append((time.perf_counter() - t0) * 1e3)
    return step_ms, runner.params()


def sanity(name, norm, data):
    """Same init and batch in both peers: the same loss and first-layer gradient (with the
    plain-PyTorch spike firing at `u > theta` as snnTorch's does, for this check only)."""
    global FIRE_AT_THRESHOLD
    out = {}
    for fw in FRAMEWORKS:
        r = Runner(name, norm, fw, data)
        x, y = r.encode(r.batches.next())
        FIRE_AT_THRESHOLD = False
        try:
            loss = F.cross_entropy(r.model(x), y)
            loss.backward()
        finally:
            FIRE_AT_THRESHOLD = True
        out[fw] = (r.params(), loss.item(), r.hidden[0].grad.clone())
    (pt, lt, gt), (ps, ls, gs) = out["torch"], out["snntorch"]
    scale = max(gt.abs().max().item(), 1e-30)
    return pt, ps, lt, ls, (gt - gs).abs().max().item() / scale


def run_spikeplay(binary, name, norms, warmup, steps, threads):
    """`spikeplay bench` for one config; returns {norm: step_ms} and its thread note."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        env = dict(os.environ)
        if threads:
            env["RAYON_NUM_THREADS"] = str(threads)
        cmd = [binary, "bench", "--configs", name, "--norms", ",".join(norms), "--warmup", str(warmup), "--steps", str(steps), "--out", out]
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        with open(out) as f:
            record = json.load(f)
    threads = str(record["threads"]).split(" ", 1)  # "2 (all cores; ...)" or "1"
    return {t["norm"]: t["step_ms"] for t in record["timings"]}, threads[0]


def loadavg():
    """The 1-minute load average (other work on the machine makes the figures noisy)."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def fmt(values):
    if not values:
        return "–"
    return f"{quantile(values, 0.5):.2f} ({quantile(values, 0.1):.2f}–{quantile(values, 0.9):.2f})"


def csv_list(allowed):
    def parse(text):
        items = [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in items if v not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(allowed)}, got {text!r}")
        return items

    return parse


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", type=csv_list(tuple(CONFIGS)), default=list(CONFIGS), help="comma-separated, default A,B,C,D,E,E2,F")
    p.add_argument("--norms", type=csv_list(NORMS), default=list(NORMS), help="comma-separated, default none,bn,psp")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before timing (default 3)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per run (default 20)")
    p.add_argument("--threads", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2], help="torch thread counts, default 1,2")
    p.add_argument("--frameworks", type=csv_list(FRAMEWORKS), default=list(FRAMEWORKS), help="default torch,snntorch")
    p.add_argument("--spikeplay", default=os.path.join(ROOT, "target", "release", "spikeplay"), help="the spikeplay binary")
    p.add_argument("--spikeplay-threads", type=int, default=0, help="RAYON_NUM_THREADS for spikeplay (default: unset, all cores)")
    p.add_argument("--no-spikeplay", action="store_true", help="time the peers only")
    p.add_argument("--no-grad-norms", action="store_true", help="leave out the per-layer gradient norms spikeplay's step records")
    p.add_argument("--json", metavar="OUT", help="also write every figure (every step) as JSON")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat every measurement this many times, interleaved, and keep each runner's round with the lowest median "
                        "(a shared machine's interference only ever slows a run down; default 1)")
    args = p.parse_args()
    if args.steps < 1:
        p.error("--steps: must be at least 1")
    if args.rounds < 1:
        p.error("--rounds: must be at least 1")

    torch.set_num_interop_threads(1)
    info = machine()
    versions = {"torch": torch.__version__, "snntorch": snn.__version__}
    print("# Peer benchmark: spikeplay native vs PyTorch and snnTorch (CPU)\n")
    print(f"- machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), {info['platform']}")
    backend = torch.__config__.parallel_info().strip().splitlines()[-1].strip()
    print(f"- python {info['python']}, torch {versions['torch']} ({backend}; intra-op threads as in each column, interop 1), snntorch {versions['snntorch']}")
    print(f"- {args.warmup} warm-up + {args.steps} timed steps per run; ms/step as median (p10–p90)")
    print(f"- step: batch, forward over T, loss, backward, {'' if args.no_grad_norms else 'gradient norms, '}Adam (lr {LR})")
    load_start = loadavg()
    print(f"- load average at the start: {load_start:.2f} (on {info['usable_cores']} cores; anything else running makes the figures noisy)", flush=True)

    sp_threads = None
    rows = {}
    data_cache = {}

    def keep(row, key, step_ms):
        """The round with the lowest median so far."""
        if key not in row or quantile(step_ms, 0.5) < quantile(row[key], 0.5):
            row[key] = step_ms

    t_start = time.perf_counter()
    for rnd in range(args.rounds):
        if args.rounds > 1:
            print(f"round {rnd + 1} of {args.rounds}", file=sys.stderr, flush=True)
        for name in args.configs:
            cfg = CONFIGS[name]
            if cfg["dataset"] not in data_cache:
                data_cache[cfg["dataset"]] = LOADERS[cfg["dataset"]]()
            data = data_cache[cfg["dataset"]]
            sp = {}
            if not args.no_spikeplay:
                print(f"[{name}] spikeplay bench ...", file=sys.stderr, flush=True)
                sp, sp_threads = run_spikeplay(args.spikeplay, name, args.norms, args.warmup, args.steps, args.spikeplay_threads)
            for norm in args.norms:
                if (name, norm) not in rows:
                    pt, ps, lt, ls, gdiff = sanity(name, norm, data)
                    expect = spikeplay_param_count(cfg, norm, data)
                    ok = "match" if pt == ps == expect else "MISMATCH"
                    print(
                        f"sanity {name} {norm:>4}: params torch {pt:,} / snntorch {ps:,} / spikeplay's rules {expect:,} ({ok}); "
                        f"first-batch loss torch {lt:.6f} snntorch {ls:.6f}, first-layer grad max rel diff {gdiff:.1e} (spike at u > theta for this check)",
                        flush=True,
                    )
                    rows[(name, norm)] = {"config": name, "norm": norm, "params": pt, "spikeplay_params_by_rules": expect}
                row = rows[(name, norm)]
                if norm in sp:
                    keep(row, "spikeplay", sp[norm])
                for fw in args.frameworks:
                    for n in args.threads:
                        step_ms, _ = measure(name, norm, fw, n, data, args.warmup, args.steps, not args.no_grad_norms)
                        keep(row, f"{fw} {n}t", step_ms)
                        sp_med = f", spikeplay {quantile(sp[norm], 0.5):.2f}" if norm in sp else ""
                        print(f"[{name} {norm}] {fw} {n}t: {fmt(step_ms)} ms/step{sp_med}", file=sys.stderr, flush=True)
    rows = list(rows.values())
    results = []
    for row in rows:
        runners = [("spikeplay", sp_threads, row.get("spikeplay"))] + [(fw, n, row.get(f"{fw} {n}t")) for fw in args.frameworks for n in args.threads]
        for runner, threads, step_ms in runners:
            if step_ms:
                results.append({"runner": runner, "threads": threads, "config": row["config"], "norm": row["norm"], "step_ms": step_ms,
                                "median_ms": quantile(step_ms, 0.5), "p10_ms": quantile(step_ms, 0.1), "p90_ms": quantile(step_ms, 0.9)})
    elapsed = time.perf_counter() - t_start

    peer_cols = [f"{fw} {n}t" for fw in args.frameworks for n in args.threads]
    ratio_col = "snntorch 1t" if "snntorch 1t" in peer_cols else None
    sp_head = f"spikeplay native ms ({sp_threads} threads)" if sp_threads else "spikeplay native ms"
    heads = ["config", "norm", sp_head] + [f"{c} ms" for c in peer_cols] + (["snntorch 1t / spikeplay"] if ratio_col else [])
    print()
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for row in rows:
        cells = [row["config"], row["norm"], fmt(row.get("spikeplay"))] + [fmt(row.get(c)) for c in peer_cols]
        if ratio_col:
            if row.get("spikeplay") and row.get(ratio_col):
                cells.append(f"{quantile(row[ratio_col], 0.5) / quantile(row['spikeplay'], 0.5):.2f}")
            else:
                cells.append("–")
        print("| " + " | ".join(cells) + " |")
    best = f"; each runner's best of {args.rounds} interleaved rounds (lowest median)" if args.rounds > 1 else ""
    print(f"\nms/step: median (p10–p90) of {args.steps} timed steps after {args.warmup} warm-up{best}; last column: "
          f"snnTorch's 1-thread median over spikeplay's (above 1: spikeplay is faster). Measured in {elapsed:.0f} s; "
          f"load average {load_start:.2f} at the start, {loadavg():.2f} at the end.")

    if args.json:
        record = {
            "machine": info,
            "versions": versions,
            "spikeplay_threads": sp_threads,
            "warmup": args.warmup,
            "steps": args.steps,
            "grad_norms": not args.no_grad_norms,
            "rounds": args.rounds,
            "loadavg": {"start": load_start, "end": loadavg()},
            "params": {f"{r['config']} {r['norm']}": r["params"] for r in rows},
            "results": results,
        }
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
