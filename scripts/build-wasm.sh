#!/usr/bin/env bash
# Builds the core for the browser into pkg/ (wasm-bindgen --target web): a baseline-SIMD
# module and a relaxed-SIMD one (see below).
# Installs the wasm32 target and the wasm-bindgen CLI that matches Cargo.lock if missing.
# Incremental: cargo reuses $CARGO_TARGET_DIR (default target/) between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

# The CLI must match the crate exactly or the generated glue breaks at load time.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$want" ]; then
  cargo generate-lockfile >/dev/null
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
fi
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (found '${have:-none}'); this takes ~9 min once" >&2
  # No --locked: one of its pinned dependencies is no longer in the registry (TOOLCHAIN.md).
  cargo install wasm-bindgen-cli --version "$want"
fi

target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --target wasm32-unknown-unknown -p spikeplay --lib
wasm-bindgen "$target_dir/wasm32-unknown-unknown/release/spikeplay.wasm" \
  --target web --out-dir pkg --no-typescript

# A second module with relaxed SIMD (fused multiply-add in the dense products,
# crate/src/dense/relaxed.rs): web/worker/wasm-build.js loads it where the browser validates
# relaxed-SIMD code (Chromium since 114), the module above elsewhere. Its own target dir,
# since other rustflags would otherwise rebuild the first module's artifacts each time.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  cargo build --release --target wasm32-unknown-unknown -p spikeplay --lib --target-dir "$target_dir/relaxed-simd"
relaxed=$(mktemp -d)
trap 'rm -rf "$relaxed"' EXIT
wasm-bindgen "$target_dir/relaxed-simd/wasm32-unknown-unknown/release/spikeplay.wasm" \
  --target web --out-dir "$relaxed" --no-typescript
# Both modules share pkg/spikeplay.js, so their exports and imports must be the same.
cmp -s "$relaxed/spikeplay.js" pkg/spikeplay.js \
  || { echo "build-wasm: the relaxed-SIMD build's JS glue differs from the baseline build's" >&2; exit 1; }
cp "$relaxed/spikeplay_bg.wasm" pkg/spikeplay_relaxed_bg.wasm
printf '*\n' > pkg/.gitignore
echo "built pkg/ ($(du -h pkg/spikeplay_bg.wasm | cut -f1) wasm, $(du -h pkg/spikeplay_relaxed_bg.wasm | cut -f1) relaxed-SIMD wasm)" >&2
