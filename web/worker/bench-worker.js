// Benchmark worker (scripts/bench-wasm.mjs --in chromium): times the benchmark configs of
// crate/src/bench.rs in the wasm module inside a worker, as the page trains. Not used by the
// page itself. Message in: { configs, norms, warmup, steps, build? }; out: one { timing } per
// config and norm, then { done: true, build, clock }, or { error }. With { products: true, steps }: one
// { timing } per product shape and density (benchProducts), then { done: true, build, clock }.
// `build` ('relaxed' or 'baseline', web/worker/wasm-build.js): the module to time; by default the
// one the page would load in this browser. `done` names the module as it reports itself, and
// the clock the steps were timed with: { isolated (crossOriginIsolated), tick_ms (the smallest
// step of performance.now seen) }.
import init, { benchFiles, benchProducts, benchSteps, wasmBuild } from '../../pkg/spikeplay.js';
import { buildUrl, chooseBuild } from './wasm-build.js';

/** The worker's clock: whether the context is cross-origin isolated and its finest step. */
function clock() {
  let tick = Infinity;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    let t1 = t0;
    while (t1 === t0) t1 = performance.now();
    tick = Math.min(tick, t1 - t0);
  }
  return { isolated: self.crossOriginIsolated, tick_ms: tick };
}

/** The data files benchmark config `c` trains on (E, E2 and F: MNIST), fetched from data/. */
async function filesOf(c) {
  const paths = benchFiles(c);
  if (!paths.length) return undefined;
  return Promise.all(paths.map(async (path) => {
    const res = await fetch(new URL(`../../data/${path}`, import.meta.url));
    if (!res.ok) throw new Error(`data/${path}: HTTP ${res.status}`);
    return { name: path.split('/').pop(), bytes: new Uint8Array(await res.arrayBuffer()) };
  }));
}

self.onmessage = async ({ data: { configs, norms, warmup, steps, products, build = chooseBuild('') } }) => {
  try {
    await init({ module_or_path: buildUrl(build) });
    if (products) {
      for (const timing of benchProducts(steps)) self.postMessage({ timing });
      self.postMessage({ done: true, build: wasmBuild(), clock: clock() });
      return;
    }
    for (const c of configs) {
      const files = await filesOf(c);
      for (const n of norms) self.postMessage({ timing: benchSteps(c, n, warmup, steps, files) });
    }
    self.postMessage({ done: true, build: wasmBuild(), clock: clock() });
  } catch (e) {
    self.postMessage({ error: String(e?.message ?? e) });
  }
};
