"""Writes tests/interop/fixtures/: NIR files made by another framework's own exporter, for
spikeplay's NIR import test (tests/interop/check_exports.py).

    .venv-bench/bin/pip install nir==1.0.8 nirtorch==2.6     # beside torch and snntorch
    .venv-bench/bin/python scripts/make-nir-fixtures.py

snntorch-digits.nir: an snnTorch MLP (64 -> 32 -> 32 -> 10, Leaky beta 0.9, hard reset in
the step it fires: reset_mechanism "zero", reset_delay False, as spikeplay's neuron) trained
for a few epochs on data/digits with rate-coded cross-entropy on the spike counts, then
written by `snntorch.export_nir.export_to_nir` and `nir.write` (gzip'd datasets, as
snnTorch users get them). snntorch-digits.json: snnTorch's own predictions (largest spike
count over T = 8 steps of the direct input) for every row of data/digits/digits.csv, in
file order, with its accuracy. The files are committed; this script is how they were made.
"""

import json
import pathlib

import nir
import numpy as np
import snntorch as snn
from snntorch import utils as snn_utils
import torch
from snntorch.export_nir import export_to_nir

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/interop/fixtures"
STEPS = 8

torch.manual_seed(0)
rows = np.loadtxt(ROOT / "data/digits/digits.csv", delimiter=",", dtype=np.float32)
x = torch.tensor(rows[:, :64] / 16.0)
y = torch.tensor(rows[:, 64].astype(np.int64))


def leaky(n):
    # beta and threshold per neuron: snnTorch's exporter copies their shapes into the LIF
    # node, and NIR's type check wants the layer's ([n], not a scalar's []).
    return snn.Leaky(beta=torch.full((n,), 0.9), threshold=torch.ones(n), reset_mechanism="zero", reset_delay=False, init_hidden=True)


net = torch.nn.Sequential(torch.nn.Linear(64, 32), leaky(32), torch.nn.Linear(32, 32), leaky(32), torch.nn.Linear(32, 10), leaky(10))


def counts(batch):
    """Spike counts of the readout over STEPS steps of the direct input."""
    snn_utils.reset(net)
    return sum(net(batch) for _ in range(STEPS))


opt = torch.optim.Adam(net.parameters(), lr=3e-3)
for epoch in range(15):
    order = torch.randperm(len(x))
    for i in range(0, len(x), 64):
        idx = order[i:i + 64]
        loss = torch.nn.functional.cross_entropy(counts(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
with torch.no_grad():
    pred = counts(x).argmax(1)
accuracy = float((pred == y).float().mean())
print(f"snnTorch: accuracy {accuracy:.4f} on the {len(x)} digits")

OUT.mkdir(parents=True, exist_ok=True)
snn_utils.reset(net)  # the hidden states hold the last batch
graph = export_to_nir(net, x[0])  # one unbatched sample: NIR types have no batch axis
nir.write(OUT / "snntorch-digits.nir", graph)
(OUT / "snntorch-digits.json").write_text(json.dumps({
    "made_by": f"snntorch {snn.__version__}, torch {torch.__version__}, nir {nir.version} (scripts/make-nir-fixtures.py)",
    "timesteps": STEPS, "accuracy": accuracy, "predictions": pred.tolist(),
}) + "\n")
print("nodes:", {k: type(v).__name__ for k, v in nir.read(OUT / "snntorch-digits.nir").nodes.items()})
