// The page's first script (index.html loads only this one). It starts downloading and
// compiling the WebAssembly module at once, and the training worker with it; the worker's
// LOADED brings the config schema (web/schema.js), and only then are the page's other modules
// loaded (main.js), since their controls, link and checks are built from it. Every worker gets the compiled module as its first message (ToWorker.WASM) and only
// instantiates it: the main thread never runs the module, and a comparison's workers do not
// each compile several MB again. The first caller of `newWorker()` (explore mode, or compare mode's first
// run) adopts the worker started here; what it posted before anyone listened (its LOADED) is
// delivered to the adopter's handlers.
import { FaultAlert } from '../explore/fault-alert.js';
import { faultCause } from '../run/fault.js';
import { FromWorker, ToWorker } from '../run/protocol.js';
import { installSchema } from '../state/schema.js';
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
// Workers that failed before the page could start (no LOADED, so no schema): the first and
// two replacements, as main.js allows once running; then the alert waits for Restart.
let failures = 0;
let started = false;
const bootAlert = new AbortController();

/**
 * Starts a worker and holds what it posts for the page. Its LOADED carries the config schema:
 * installed, the page's modules load (main.js adopts this worker). A worker that fails first
 * is replaced, since without a schema there are no controls to show the failure next to.
 */
function startEarly() {
  early = create();
  held.length = 0;
  early.onmessage = (e) => {
    held.push(e);
    if (e.data?.type === FromWorker.LOADED) begin(e.data.schema);
    else if (e.data?.type === FromWorker.ERROR && e.data.fault) failedEarly(faultCause(e.data));
  };
  early.onerror = (e) => {
    e.preventDefault?.();
    held.push(e);
    failedEarly(faultCause({ fault: 'script', message: e.message ?? '' }));
  };
}

function begin(schema) {
  if (started) return;
  started = true;
  bootAlert.abort(); // main.js owns the alert from now on
  new FaultAlert(document.getElementById('fault'), { restart() {}, back() {} }).hide();
  installSchema(schema);
  import('./main.js');
}

function failedEarly(cause) {
  if (started) return;
  early.onmessage = early.onerror = null;
  early.terminate();
  early = null;
  failures += 1;
  if (failures <= 2) return startEarly();
  const alert = document.getElementById('fault');
  new FaultAlert(alert, { restart() {}, back() {} }).show(cause, { repeated: true });
  document.getElementById('status').textContent = 'The page could not start: the training worker did not load.';
  document.getElementById('fault-restart').addEventListener('click', () => {
    failures = 0;
    startEarly();
  }, { signal: bootAlert.signal });
}

startEarly();

/** A fresh event like `e` (an event is dispatched once): a message, or a load error. */
function copy(e) {
  if (e.type === 'message') return new MessageEvent('message', { data: e.data });
  if (e instanceof ErrorEvent) return new ErrorEvent('error', { message: e.message, filename: e.filename, lineno: e.lineno, colno: e.colno, error: e.error });
  return new Event('error'); // a script that failed to load: no message, as the browser gives it
}

/** A training worker: the one started at load for the first caller, a new one after that. */
export function newWorker() {
  if (!early || !started) return create();
  const w = early;
  early = null;
  w.onmessage = w.onerror = null;
  // The caller sets its handlers right after this returns; the held events reach them next.
  queueMicrotask(() => held.splice(0).forEach((e) => w.dispatchEvent(copy(e))));
  return w;
}
