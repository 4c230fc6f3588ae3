"""spikeplay's exports read by their formats' reference readers (scripts/test-interop.sh).

NIR export: each case trains a small net on digits with the CLI (`--nir`, `--predictions`), reads
the file with the `nir` package's own reader (`nir.read`, with its type checks), runs it
through tests/interop/nir_interpret.py (NIR's discrete-time semantics in NumPy, not
spikeplay's code) on the test split, decodes it as the graph's metadata says, and requires
the predictions to agree with spikeplay's own eval-mode predictions on at least 99 % of the
samples. Safetensors: the same run's `--save` file read with the `safetensors` package.
NIR import: `spikeplay eval --model` on a file snnTorch's exporter wrote, and on the exports.

Prints one line per check and TAP-style totals (`# pass N`, `# fail M`) for scripts/test.sh.
"""

import argparse
import json
import pathlib
import subprocess
import sys

import nir
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import nir_interpret  # noqa: E402

BASE = {"dataset": "digits", "depth": "4", "width": "48", "timesteps": "6", "epochs": "3", "seed": "0"}
CONV = {"conv": True, "width": "8", "pools": "2", "epochs": "8", "lr": "0.003"}
CASES = {
    "none plain": {"norm": "none"},
    "psp plain": {"norm": "psp"},
    "bn plain": {"norm": "bn"},
    "none residual": {"norm": "none", "residual": True},
    "psp residual": {"norm": "psp", "residual": True},
    "bn residual": {"norm": "bn", "residual": True},
    "tdbn residual": {"norm": "tdbn", "residual": True},
    "mpbn plain": {"norm": "mpbn"},
    "psp plain, membrane readout": {"norm": "psp", "readout": "membrane"},
    "psp plain, psp after the weight": {"norm": "psp", "psp_placement": "current"},
    "bn plain, IF neurons (beta 1)": {"norm": "bn", "beta": "1"},
    # Conv nets on the 8x8 digits: 3x3 convolutions, 2x2 pools (spikes: any spike in the
    # window; the residual stream: the mean), flattened into the readout.
    "none conv": {"norm": "none", **CONV},
    "psp conv": {"norm": "psp", **CONV},
    "bn conv": {"norm": "bn", **CONV},
    "none residual conv": {"norm": "none", "residual": True, **CONV},
    "psp residual conv": {"norm": "psp", "residual": True, **CONV},
    "bn residual conv": {"norm": "bn", "residual": True, **CONV},
    "mpbn conv, membrane readout": {"norm": "mpbn", **CONV, "pools": "1", "readout": "membrane"},
}


def flags(fields):
    """`--key value` for each field of BASE overridden by `fields`; `--key` alone for a switch."""
    out = []
    for key, value in {**BASE, **fields}.items():
        out += [f"--{key.replace('_', '-')}"] + ([] if value is True else [value])
    return out


AGREEMENT = 0.99

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'FAIL'} - {name}{': ' + detail if detail else ''}", flush=True)


def train(spikeplay, work, name, fields):
    stem = work / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
    paths = {k: stem.with_suffix(s) for k, s in [("nir", ".nir"), ("save", ".safetensors"), ("predictions", ".json"), ("out", ".run.json")]}
    cmd = [spikeplay, "train", *flags(fields), "--quiet"] + [a for k, p in paths.items() for a in (f"--{k}", str(p))]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return paths


def decode(graph, outputs):
    """The metadata says how spikeplay reads its readout: spike counts or mean membrane."""
    (trace,) = outputs.values()  # [T, B, classes]
    readout = str(graph.metadata.get("readout", ""))
    score = trace.sum(0) if readout.startswith("spike count") else trace.mean(0)
    return score.argmax(1)  # the first of equal scores, as spikeplay


def nir_case(spikeplay, work, name, fields):
    paths = train(spikeplay, work, name, fields)
    graph = nir.read(str(paths["nir"]))
    pred = json.loads(paths["predictions"].read_text())
    x = np.asarray(pred["x"], dtype=np.float64)
    assert pred["encoding"] == "direct", pred["encoding"]
    steps = int(graph.metadata["timesteps"])
    inputs = np.broadcast_to(x, (steps, *x.shape))
    ours = decode(graph, nir_interpret.run(graph, inputs, dt=float(graph.metadata["dt"])))
    theirs = np.asarray(pred["predictions"])
    labels = np.asarray(pred["y"])
    agree = float((ours == theirs).mean())
    check(f"NIR {name}", agree >= AGREEMENT,
          f"{agree:.1%} of {len(theirs)} test samples agree (interpreter accuracy {(ours == labels).mean():.1%}, spikeplay {(theirs == labels).mean():.1%})")
    return graph, paths


def safetensors_case(graph, paths, name):
    tensors = load_file(str(paths["save"]))
    with safe_open(str(paths["save"]), framework="numpy") as f:
        meta = f.metadata()
    cfg = json.loads(meta["spikeplay.config"])
    fc = sorted(int(k.split(".")[1]) for k in tensors if k.startswith("layers.") and k.endswith(".weight"))
    ok = meta.get("format") == "spikeplay-weights-1" and cfg["depth"] == len(fc) == int(BASE["depth"]) and all(t.dtype == np.float32 for t in tensors.values())
    # Without a norm the NIR weights are the saved ones, bit for bit: two files, two readers.
    if cfg["norm"] == "none":
        layer = "conv" if cfg["conv"] else "fc"
        ok = ok and all(np.array_equal(tensors[f"layers.{l}.weight"], graph.nodes[f"{layer}{l}"].weight) for l in fc)
        ok = ok and np.array_equal(tensors["head.bias"], graph.nodes["head"].bias)
    check(f"safetensors {name}", ok, f"{len(tensors)} tensors, norm {cfg['norm']}")


def digits_rows():
    """data/digits/digits.csv as {64 pixel counts: [row indices]} (rows can repeat)."""
    rows = {}
    path = pathlib.Path(__file__).resolve().parents[2] / "data/digits/digits.csv"
    for i, line in enumerate(l for l in path.read_text().splitlines() if l.strip()):
        rows.setdefault(tuple(int(v) for v in line.split(",")[:64]), []).append(i)
    return rows


def evaluate(spikeplay, work, model, extra=()):
    """`spikeplay eval` of `model` on digits; its test split and predictions."""
    out = work / (pathlib.Path(model).stem + ".eval.json")
    cmd = [spikeplay, "eval", "--model", str(model), "--dataset", "digits", *extra, "--predictions", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return json.loads(out.read_text()), done.stderr.strip()


def imports(spikeplay, work):
    """NIR import: a file snnTorch's own exporter wrote (tests/interop/fixtures, made by
    scripts/make-nir-fixtures.py) predicts in spikeplay what it predicted in snnTorch; a
    spikeplay export read back predicts what the network did; a residual one is refused."""
    fixtures = pathlib.Path(__file__).resolve().parent / "fixtures"
    made = json.loads((fixtures / "snntorch-digits.json").read_text())
    pred, said = evaluate(spikeplay, work, fixtures / "snntorch-digits.nir", ["--timesteps", str(made["timesteps"])])
    rows = digits_rows()
    # spikeplay's test split, row by row, against snnTorch's predictions for the same pixels.
    theirs = [{made["predictions"][i] for i in rows[tuple(round(v * 16) for v in x)]} for x in pred["x"]]
    agree = float(np.mean([p in t for p, t in zip(pred["predictions"], theirs)]))
    check("NIR import of snnTorch's export", agree >= AGREEMENT, f"{agree:.1%} of {len(theirs)} test samples predicted as snnTorch did ({made['made_by']}); {said}")
    for name in ["none plain", "psp plain", "bn plain", "psp plain, membrane readout"]:
        stem = work / name.replace(" ", "_").replace(",", "")
        ours = json.loads(stem.with_suffix(".json").read_text())
        again, _ = evaluate(spikeplay, work, stem.with_suffix(".nir"), [])
        same = float(np.mean(np.asarray(again["predictions"]) == np.asarray(ours["predictions"])))
        check(f"NIR {name} read back", same >= AGREEMENT and again["x"] == ours["x"], f"{same:.1%} of the test predictions as before")
    residual = work / "psp_residual.nir"
    done = subprocess.run([spikeplay, "eval", "--model", str(residual), "--dataset", "digits"], capture_output=True, text=True)
    check("NIR import refuses a residual graph by node", done.returncode != 0 and "node fc0 feeds" in done.stderr, done.stderr.strip())


def refusals(spikeplay, work):
    for norm, words in [("tebn", "TEBN"), ("layer", "layer norm")]:
        cmd = [spikeplay, "train", *flags({"norm": norm}), "--nir", str(work / "refused.nir"), "--out", str(work / "refused.json")]
        done = subprocess.run(cmd, capture_output=True, text=True)
        said = done.stderr.strip().splitlines()
        check(f"NIR refuses {norm} before training", done.returncode != 0 and any(words in l and "cannot be folded" in l for l in said)
              and not any(l.lstrip("\r").startswith("epoch") for l in said) and not (work / "refused.nir").exists(), said[-1] if said else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spikeplay", required=True)
    ap.add_argument("--work", required=True, type=pathlib.Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"# nir {nir.__version__}, numpy {np.__version__}", flush=True)
    for name, fields in CASES.items():
        try:
            graph, paths = nir_case(args.spikeplay, args.work, name, fields)
            safetensors_case(graph, paths, name)
        except Exception as e:  # a crash is a failed check, named, and the rest still run
            check(f"NIR {name}", False, f"{type(e).__name__}: {e}")
    refusals(args.spikeplay, args.work)
    try:
        imports(args.spikeplay, args.work)
    except Exception as e:
        check("NIR import", False, f"{type(e).__name__}: {e}")
    passed = sum(results)
    print(f"# pass {passed}\n# fail {len(results) - passed}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
