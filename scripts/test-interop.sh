#!/usr/bin/env bash
# The interop tests (tests/interop/): spikeplay's exports read by their formats' reference
# readers, and a grid sharded over Ray and merged (scripts/grid-ray.py). Creates .venv-interop/ on first use with the pinned Python packages (a few MB,
# no torch), builds the release CLI, then runs tests/interop/check_exports.py, which trains
# small nets with `--nir --save --predictions`, reads the files with `nir.read` and
# `safetensors`, and checks a NumPy NIR interpreter's predictions against spikeplay's.
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=(nir==1.0.8 h5py==3.16.0 numpy==2.4.6 safetensors==0.8.0)
venv=.venv-interop
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "test-interop: creating $venv" >&2
    python3 -m venv "$venv"
fi
if ! "$py" - "${PINS[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(0 if all(version(p.split("==")[0]) == p.split("==")[1] for p in sys.argv[1:]) else 1)
PY
    echo "test-interop: installing ${PINS[*]} into $venv" >&2
    "$py" -m pip install --quiet --progress-bar off "${PINS[@]}"
fi

cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" tests/interop/check_exports.py --spikeplay target/release/spikeplay --work "$work/exports"

# The same files through snnTorch's NIR import, where torch is installed (the benchmark venv
# of scripts/bench-peer.sh, with nir and nirtorch); a clean clone has none, and says so.
bench_py=.venv-bench/bin/python
if [ -x "$bench_py" ] && "$bench_py" -c "import snntorch.import_nir" 2>/dev/null; then
    "$bench_py" tests/interop/check_snntorch.py --work "$work/exports"
else
    echo "test-interop: SKIPPED snnTorch's NIR import: no .venv-bench with torch, snntorch, nir and nirtorch (scripts/bench-peer.sh makes it; add nir==1.0.8 nirtorch==2.6)"
fi

# A grid beyond one process: Ray (PyPI) runs `compare --shard K/N` tasks and the merge.
# Its own venv: ray is large and the export checks do not need it.
RAY_PIN=ray==2.60.0
ray_venv=.venv-ray
ray_py="$ray_venv/bin/python"
[ -x "$ray_py" ] || python3 -m venv "$ray_venv"
if ! "$ray_py" -c "import sys; from importlib.metadata import version; sys.exit(version('ray') != '${RAY_PIN#ray==}')" 2>/dev/null; then
    echo "test-interop: installing $RAY_PIN into $ray_venv" >&2
    "$ray_py" -m pip install --quiet --progress-bar off "$RAY_PIN"
fi
"$ray_py" tests/interop/check_grid.py --spikeplay target/release/spikeplay --work "$work/grid"
