// The page's training workers. The WebAssembly module is downloaded and compiled once, at load,
// and every worker gets it as its first message (ToWorker.WASM) and only instantiates it: the
// main thread never runs the module, and a comparison's workers do not each compile several MB
// again. The first worker is started by boot.js before the page's other modules load; the first
// caller of `newWorker()` (explore mode, or compare mode's first run) adopts it, and what it
// posted before anyone listened (its LOADED) is delivered to the adopter's handlers.
import { ToWorker } from '../run/protocol.js';
import { buildUrl, chooseBuild } from '../worker/wasm-build.js';

// `#...&debug=1` at load lets tests inject a WebAssembly trap (see ToWorker.DEBUG_TRAP).
export const DEBUG = new URLSearchParams(location.hash.slice(1)).get('debug') === '1';
export const workerUrl = new URL(`../worker/worker.js${DEBUG ? '?debug=1' : ''}`, import.meta.url);

// The relaxed-SIMD build where the browser has it, else the baseline one (wasm-build.js).
// The worker names the module it instantiated in its LOADED (run/run-worker.js puts it on
// `<html data-wasm-build>`), which is the chosen one unless compiling it failed.
export const BUILD = chooseBuild();

// null if it cannot be compiled here: each worker then fetches the baseline build itself
// (the glue's default) and reports a fault only if that fails too.
const compiled = WebAssembly.compileStreaming(fetch(buildUrl(BUILD))).catch(() => null);

function create() {
  const w = new Worker(workerUrl, { type: 'module' });
  compiled.then((module) => w.postMessage({ type: ToWorker.WASM, module }));
  return w;
}

let early = null;
const held = [];

/**
 * Starts the worker the page's first caller will adopt; `watch(e)` sees each event it posts
 * until then (boot.js waits for its LOADED, which carries the schema).
 */
export function startEarly(watch) {
  dropEarly(); // (a Restart pressed twice must not leave a worker behind)
  early = create();
  held.length = 0;
  early.onmessage = early.onerror = (e) => {
    held.push(e);
    watch(e);
  };
}

/** Ends the early worker (it failed before the page could start). */
export function dropEarly() {
  if (!early) return;
  early.onmessage = early.onerror = null;
  early.terminate();
  early = null;
}

/** A fresh event like `e` (an event is dispatched once): a message, or a load error. */
function copy(e) {
  if (e.type === 'message') return new MessageEvent('message', { data: e.data });
  if (e instanceof ErrorEvent) return new ErrorEvent('error', { message: e.message, filename: e.filename, lineno: e.lineno, colno: e.colno, error: e.error });
  return new Event('error'); // a script that failed to load: no message, as the browser gives it
}

/** A training worker: the one started at load for the first caller, a new one after that. */
export function newWorker() {
  if (!early) return create();
  const w = early;
  early = null;
  w.onmessage = w.onerror = null;
  // The caller sets its handlers right after this returns; the held events reach them next.
  queueMicrotask(() => held.splice(0).forEach((e) => w.dispatchEvent(copy(e))));
  return w;
}
