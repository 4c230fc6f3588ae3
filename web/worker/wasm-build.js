// Which of the two WebAssembly builds of the core this browser runs (scripts/build-wasm.sh):
// the relaxed-SIMD one, whose dense products use the CPU's fused multiply-add (steps of
// wide nets ~20 % faster, docs/BENCHMARKS.md), where the browser validates relaxed-SIMD
// code (Chromium since 114), the baseline-SIMD one elsewhere. A module with relaxed-SIMD
// instructions does not compile at all without them, hence two files rather than a switch
// inside one. `#simd=baseline` in the page's address forces the baseline build (tests, and a
// way round a browser whose relaxed SIMD misbehaves).

// (module (func (param v128 v128 v128) (result v128)
//   (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0,
  32, 0, 32, 1, 32, 2, 253, 133, 2, 11,
]);

/** 'relaxed' or 'baseline': the build for this browser, or the one `hash` (`#...`) asks for. */
export function chooseBuild(hash = globalThis.location?.hash ?? '') {
  if (new URLSearchParams(hash.replace(/^#/, '')).get('simd') === 'baseline') return 'baseline';
  return WebAssembly.validate(RELAXED_PROBE) ? 'relaxed' : 'baseline';
}

/** The module file of `build`, next to the shared JS glue in pkg/. */
export function buildUrl(build) {
  return new URL(build === 'relaxed' ? '../../pkg/spikeplay_relaxed_bg.wasm' : '../../pkg/spikeplay_bg.wasm', import.meta.url);
}
