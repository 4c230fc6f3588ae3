#!/usr/bin/env bash
# The peer benchmark of issue 6 (docs/BENCHMARKS.md): the configs of `spikeplay bench` in
# plain PyTorch and in snnTorch on the CPU (1 and 2 threads), side by side with spikeplay's
# native figures measured in the same invocation.
#
#   scripts/bench-peer.sh                                   # A-E x none, bn, psp, 20 timed steps
#   scripts/bench-peer.sh --configs A,B --norms none,psp --steps 20 --warmup 3 --json peer.json
#
# Creates the virtual environment .venv-bench/ in the repo root on first use and installs
# the pinned torch and snnTorch into it (torch brings ~2.5 GB of CUDA wheels; only the CPU
# is used), builds the release binary, then runs scripts/bench_peer.py with the venv's
# python, passing every argument through (`--help` lists them).
set -euo pipefail

TORCH_VERSION=2.15.0
SNNTORCH_VERSION=1.0.0
# snnTorch's NIR import and export need these; tests/interop/check_snntorch.py uses the venv.
NIR_PINS=(nir==1.0.8 nirtorch==2.6)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv-bench"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "bench-peer: creating $venv" >&2
    python3 -m venv "$venv"
fi

installed() {
    "$py" - "$TORCH_VERSION" "$SNNTORCH_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
torch_ok = version("torch").split("+")[0] == sys.argv[1]
nir_ok = version("nir") == "1.0.8" and version("nirtorch") == "2.6"
sys.exit(0 if torch_ok and version("snntorch") == sys.argv[2] and nir_ok else 1)
PY
}

if ! installed; then
    echo "bench-peer: installing torch==$TORCH_VERSION snntorch==$SNNTORCH_VERSION into $venv" >&2
    start=$(date +%s)
    "$py" -m pip install --progress-bar off "torch==$TORCH_VERSION" "snntorch==$SNNTORCH_VERSION" "${NIR_PINS[@]}"
    echo "bench-peer: install took $(( $(date +%s) - start )) s" >&2
fi

echo "bench-peer: cargo build --release" >&2
cargo build --release

exec "$py" "$root/scripts/bench_peer.py" --spikeplay "$root/target/release/spikeplay" "$@"
