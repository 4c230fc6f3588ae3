#!/usr/bin/env bash
# The README's test command: sets up what a fresh Debian machine lacks, then runs every test.
#   native:  unit tests, determinism, the CLI and the learning targets (release profile);
#   interop: the NIR and safetensors exports read by Python's reference readers;
#   browser: scripts/test-web.sh builds the core for wasm32 into pkg/ (so the wasm target
#            never rots), runs the handle's wasm-bindgen tests in headless Chromium and the
#            Playwright end-to-end tests against the served page.
# Each part installs what it needs: the wasm32 rustup target and the wasm-bindgen CLI pinned
# to Cargo.lock (scripts/build-wasm.sh), npm packages, Debian's chromium and chromium-driver
# (scripts/setup-web.sh), cargo-deny for scripts/check-deps.sh, and the pinned Python
# packages of the interop tests in .venv-interop/ (scripts/test-interop.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step "dependency checks (licences, sources, lockfile; advisories where reachable)"
scripts/check-deps.sh 2>&1 | tee -a "$log"

step "native tests (release profile: candle is ~30x slower unoptimised)"
cargo test --release --workspace 2>&1 | tee -a "$log"

step "interop tests (exports read by the nir and safetensors reference readers)"
scripts/test-interop.sh 2>&1 | tee -a "$log"

step "browser tests"
scripts/test-web.sh 2>&1 | tee -a "$log"

# One closing line over every runner, from their own summaries: cargo's "test result: ok.
# N passed; M failed" (native and wasm-bindgen-test) and node's "# pass N" / "# fail M".
totals=$(awk '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
  /^# pass / { p += $3 } /^# fail / { f += $3 }
  END { printf "%d passed, %d failed", p, f }' "$log")
step "all tests passed"
echo "$totals"
