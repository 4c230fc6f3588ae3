#!/usr/bin/env bash
# The README's test command: sets up what a fresh Debian machine lacks, then runs every test.
#   native:  unit tests, determinism, the CLI and the learning targets (release profile);
#   browser: scripts/test-web.sh builds the core for wasm32 into pkg/ (so the wasm target
#            never rots), runs the handle's wasm-bindgen tests in headless Chromium and the
#            Playwright end-to-end tests against the served page.
# Each part installs what it needs: the wasm32 rustup target and the wasm-bindgen CLI pinned
# to Cargo.lock (scripts/build-wasm.sh), npm packages, Debian's chromium and chromium-driver
# (scripts/setup-web.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "native tests (release profile: candle is ~30x slower unoptimised)"
cargo test --release --workspace

step "browser tests"
scripts/test-web.sh

step "all tests passed"
