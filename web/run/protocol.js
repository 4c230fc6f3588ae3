// Messages between the page and the training worker. Every message that belongs to a run
// carries `gen`, the generation of the config that produced it: the page bumps it on each
// new config or reset and drops anything older, so a late report never lands on new charts.

/** Page -> worker. */
export const ToWorker = Object.freeze({
  // { module }: the first message to every worker (boot.js): the wasm module, compiled once by
  // the page as it downloads, for the worker to instantiate; null: fetch and compile it itself.
  WASM: 'wasm',
  // { gen, config, view, files? }: build a run; on failure the previous run keeps going.
  // `files`: [{ name, bytes: Uint8Array }] for mnist14, mnist28 and custom (datasets.js).
  // `model`: { name, bytes, keepTimesteps } to start from a network file (a dropped NIR
  // graph, files/model.js): the core sets the settings the graph fixes; READY has them.
  INIT: 'init',
  PLAY: 'play', // { }: train in time-budgeted ticks until PAUSE
  PAUSE: 'pause', // { }
  STEP: 'step', // { }: one optimizer step, then a report
  RESET: 'reset', // { gen }: same config from step 0
  VIEW: 'view', // { layer, sample }: what the detailed views show
  // { rate, until }: how fast to train. `rate`: a cap in steps per second (0: as fast as it
  // can), kept as a token budget, so a slow-motion run trains one step as each token arrives;
  // `until`: the last step to train to for now (null: no limit), compare mode's lock-step.
  // Kept across INIT and RESET; STEP ignores both (a single step is always one step).
  PACE: 'pace',
  // { id, files }: parse an upload (one CSV, or an IDX images + labels pair) and answer with
  // PREVIEW; the run, if any, is not touched, whatever the files hold.
  PREVIEW: 'preview',
  // { id, format: 'nir' | 'weights' }: the run's network as a file, answered with EXPORT;
  // training goes on. 'nir': the NIR graph (HDF5, norms folded in); 'weights': safetensors.
  EXPORT: 'export',
  // Test only, ignored unless the worker was created with ?debug=1: the next INIT or training
  // tick raises a real fault of `kind` (default 'trap'): a WebAssembly trap, as an out-of-memory
  // allocation ends in; a Rust panic in the core (its message reaches the page); or a plain
  // JavaScript exception in the worker's own code.
  DEBUG_TRAP: 'debugTrap', // { at: 'init' | 'step', kind?: 'trap' | 'panic' | 'throw' }
});

/** Worker -> page. */
export const FromWorker = Object.freeze({
  // { build, schema }: wasm is instantiated ('relaxed' or 'baseline' module), INIT may follow;
  // `schema`: the config schema (web/state/schema.js), which boot.js installs from the first worker.
  LOADED: 'loaded',
  // { gen, config, layout, memory, nir }: a run exists (after INIT or RESET); `nir` is null when
  // its network can be written as NIR, else the refusal as a value (kind 'export', field, message).
  READY: 'ready',
  // { gen, train, probe?, input?, eval?, stepsPerSecond, ownStepsPerSecond, memory, sentAt? }:
  // `stepsPerSecond` is wall-clock (waits for a pace or lock-step included), `ownStepsPerSecond`
  // the speed of its training time alone (what the net costs). `input` is the probe
  // sample as the first layer receives it (`encodedInput`), sent with each probe; `eval`
  // carries `limit` (0: every sample, else the first `limit` of each split: an estimate);
  // `memory` is the wasm memory in bytes; `sentAt`, on training reports, the wall clock
  // (timeOrigin + now, in ms) when posted, for web/run/perf.js's report latency.
  REPORT: 'report',
  // { running, stopped? }: acknowledges PLAY / PAUSE; `stopped`, when the worker stopped training
  // on its own (a run that finished its epochs), says why, for the status line.
  STATE: 'state',
  // { id, bytes: Uint8Array } or { id, error, detail }: the answer to ToWorker.EXPORT.
  EXPORT: 'export',
  // { id, preview } or { id, error, detail }: the answer to ToWorker.PREVIEW (`error` the message,
  // `detail` the error value, see errorValue).
  PREVIEW: 'preview',
  // { gen?, message, error, field?, fault?, rejected?, current? }: a rejected config (`rejected`,
  // with the gen of the run that keeps going) or a failed step (e.g. divergence). `error` is the
  // error as a value (errorValue: kind 'config', 'file', 'diverged', ... or the fault), `field`
  // its field. `fault` (see FAULTS): the worker stopped and must be replaced, its run is gone.
  ERROR: 'error',
});

/**
 * What stops a worker: `trap` (the module crashed, almost always a failed allocation; `message`
 * is the RuntimeError's), `panic` (a bug in the Rust core; `message`: its own text and
 * location), `exception` (a bug in the worker's JavaScript; `message`: name and text), `load`
 * (the module could not be instantiated). The page adds `script`: the worker's script itself
 * failed (Worker `error` event), with whatever message the browser gives.
 */
export const FAULTS = Object.freeze(['trap', 'panic', 'exception', 'load', 'script']);

/** How a WebAssembly trap reads when it arrives as text rather than a RuntimeError. */
export const TRAP_PATTERN = /unreachable|RuntimeError|memory access out of bounds|out of memory|Maximum memory size/i;

/**
 * Ticks last about this long, then the worker yields so PAUSE and RESET get through. Each
 * tick sends one report, so this also sets how often charts can move: at 40 ms a
 * 100-layer net drew charts in 29 frames/s (34 reports/s); at 25 ms in 39 (48 reports/s),
 * with the same steps/s and no long task (scripts/bench-page.mjs, docs/BENCHMARKS.md).
 */
export const TICK_MS = 25;
/**
 * Minimum time between probes (rates, raster, decision grid) and between timed evaluations;
 * the worker waits longer after an evaluation that took over EVAL_MS / 4 (at most ~20 %).
 */
export const PROBE_MS = 200;
/** A run's first steps are probed at least every EARLY_EVERY steps, not only every PROBE_MS (worker.js). */
export const EARLY_STEPS = 200;
export const EARLY_EVERY = 10;
export const EVAL_MS = 1000;
/**
 * Samples per split of the timed evaluations (and the step-0 one): a full pass over MNIST
 * with a conv net takes seconds. The evaluation at each epoch's end covers every sample.
 */
export const EVAL_LIMIT = 512;
/** Side of the decision-boundary grid. */
export const GRID = 32;

/** The properties a core error carries (crate/src/error.rs `ErrorReport`). */
const ERROR_KEYS = ['kind', 'field', 'bound', 'got', 'reads', 'file', 'byte', 'line', 'step', 'message', 'reason'];

/**
 * A thrown core error as a plain value that survives postMessage (an Error's own properties
 * do not): { kind, field?, bound?, got?, reads?, file?, byte?, line?, step?, message, reason }. The
 * page acts on `kind` and `field`, never on the message's text. Anything else thrown has
 * kind 'worker'.
 */
export function errorValue(e) {
  if (!e || typeof e !== 'object' || typeof e.kind !== 'string') {
    const message = e instanceof Error ? e.message : String(e);
    return { kind: 'worker', message, reason: message };
  }
  return Object.fromEntries(ERROR_KEYS.filter((k) => e[k] !== undefined).map((k) => [k, e[k]]));
}

let nextAsk = 0;

/**
 * Sends `{ type, id, ...payload }` to `worker` and resolves with the answer of type `answer`
 * carrying the same `id` (PREVIEW, EXPORT: requests the run keeps training through); an
 * answer with `error` rejects, the error value as the Error's `detail`.
 */
export function ask(worker, type, answer, payload) {
  const id = ++nextAsk;
  return new Promise((ok, fail) => {
    const on = ({ data }) => {
      if (data.type !== answer || data.id !== id) return;
      worker.removeEventListener('message', on);
      if (data.error) fail(Object.assign(new Error(data.error), { detail: data.detail }));
      else ok(data);
    };
    worker.addEventListener('message', on);
    worker.postMessage({ type, id, ...payload });
  });
}
