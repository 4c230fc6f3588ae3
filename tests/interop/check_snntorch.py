"""spikeplay's NIR exports through snnTorch's own NIR import (`snntorch.import_nir`), where
torch is installed: the benchmark venv (.venv-bench, scripts/bench-peer.sh, plus nir and
nirtorch). Reads the files tests/interop/check_exports.py wrote in --work, runs each imported
module over the test split for the graph's time steps, and requires its spike-count
predictions to agree with spikeplay's eval-mode predictions on at least 99 % of the samples.

The cases are those snnTorch's importer maps: LIF neurons with one threshold per layer (not
MPBN's per-neuron thresholds), Affine nodes, sums of edges; not LI (membrane readout), not
IF (it requires r = 1), not SumPool2d or Threshold (a conv net's max pools). TAP totals.
"""

import argparse
import json
import pathlib
import sys

import nir
import numpy as np
import torch
from snntorch import __version__ as snntorch_version
from snntorch.import_nir import import_from_nir

CASES = ["none plain", "psp plain", "bn plain", "none residual", "psp residual", "bn residual", "tdbn residual", "psp plain, psp after the weight"]
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'FAIL'} - {name}{': ' + detail if detail else ''}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, type=pathlib.Path)
    args = ap.parse_args()
    print(f"# snntorch {snntorch_version}, torch {torch.__version__}, nir {nir.version}", flush=True)
    for name in CASES:
        stem = args.work / name.replace(" ", "_").replace(",", "")
        try:
            graph = nir.read(str(stem.with_suffix(".nir")))
            pred = json.loads(stem.with_suffix(".json").read_text())
            net = import_from_nir(graph)
            x = torch.tensor(pred["x"], dtype=torch.float32)
            with torch.no_grad():
                counts = sum((lambda o: o[0] if isinstance(o, tuple) else o)(net(x)) for _ in range(int(graph.metadata["timesteps"])))
            agree = float((counts.argmax(1).numpy() == np.asarray(pred["predictions"])).mean())
            check(f"snnTorch imports NIR {name}", agree >= 0.99, f"{agree:.1%} of {len(x)} test samples agree")
        except Exception as e:
            check(f"snnTorch imports NIR {name}", False, f"{type(e).__name__}: {e}")
    passed = sum(results)
    print(f"# pass {passed}\n# fail {len(results) - passed}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
