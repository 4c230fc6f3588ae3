#!/usr/bin/env bash
# Browser tests: the wasm handle's contract (wasm-bindgen-test in headless Chromium) and the
# end-to-end page tests (Playwright driving Debian's Chromium). Sets up what is missing first.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-web.sh --browser
scripts/build-wasm.sh

echo "== wasm-bindgen-test (headless Chromium) ==" >&2
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
  cargo test --release --target wasm32-unknown-unknown -p spikeplay --test wasm_handle

echo "== end-to-end (Playwright + Chromium) ==" >&2
node --test tests/
