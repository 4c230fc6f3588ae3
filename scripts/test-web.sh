#!/usr/bin/env bash
# Browser tests: the wasm handle's contract and the dense kernels of both wasm builds
# (wasm-bindgen-test in headless Chromium), and the end-to-end page tests (Playwright
# driving Debian's Chromium). Sets up what is missing first.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-web.sh --browser
scripts/build-wasm.sh

echo "== wasm-bindgen-test (headless Chromium) ==" >&2
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
  cargo test --release --target wasm32-unknown-unknown -p spikeplay --test wasm_handle --test wasm_kernels

# The dense products of the relaxed-SIMD module (the one Chromium loads) have their own
# kernel: the same file again in that build (its target dir, as in build-wasm.sh).
echo "== wasm-bindgen-test, relaxed-SIMD build (headless Chromium) ==" >&2
SPIKEPLAY_WASM_BUILD=relaxed CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  cargo test --release --target wasm32-unknown-unknown -p spikeplay --test wasm_kernels \
  --target-dir "${CARGO_TARGET_DIR:-target}/relaxed-simd"

echo "== end-to-end (Playwright + Chromium) ==" >&2
node --test tests/
