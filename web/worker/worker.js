// The training worker: the only importer of pkg/. It owns the one `Playground` handle and
// decides when to step, in ticks of about TICK_MS, yielding to its event loop between
// ticks (through a MessageChannel, which is not throttled like nested setTimeout) so that
// PAUSE, RESET and a new config act at once. Its first message is the wasm module, which the
// page has already compiled (app/workers.js): the worker only instantiates it.
import init, { Playground, debugPanic, previewFiles, schema, wasmBuild } from '../../pkg/spikeplay.js';
import { EARLY_EVERY, EARLY_STEPS, EVAL_LIMIT, EVAL_MS, FromWorker, GRID, PROBE_MS, TICK_MS, TRAP_PATTERN, ToWorker, errorValue } from '../run/protocol.js';

let handle = null;
let wasm = null; // the module's exports, for the memory in use
let gen = -1;
let running = false;
let view = { layer: 0, sample: 0 };
let lastProbe = -Infinity;
let lastProbeStep = 0;
let lastEval = -Infinity;
// Time to wait after a timed evaluation before the next: at least EVAL_MS, and four times what
// the last one took, so evaluating costs at most ~20 % of the time on a slow net.
let evalGap = EVAL_MS;
let lastStep = 0;
let scheduled = false;
// The step a run stops at on its own: its last epoch's end, unless the config is open-ended.
let finishAt = Infinity;
let finished = '';
// (time, step) samples, one per report, spanning at least the last two seconds: a wall-clock
// steps-per-second figure (steps between two reports / time between them) that includes the
// time spent probing and evaluating. PLAY starts it from the step training resumes at.
const recent = [];
// The pace (ToWorker.PACE): a cap in steps/s kept as a token budget (0: none), and the step
// not to train past for now (compare mode's lock-step). `own`: the speed of training time
// alone, smoothed, which a cap or a lock-step wait does not lower.
let paceRate = 0;
let until = Infinity;
let tokens = 1;
let tokenTime = 0;
let waitTimer = null;
let own = 0;
// Messages that arrive before the wasm module is instantiated (ToWorker.WASM) wait here.
const pending = [];
let loaded = false;
// Test-only fault injection, honoured only when the page created this worker with ?debug=1.
const DEBUG = new URL(self.location.href).searchParams.get('debug') === '1';
let armed = null; // { at: 'init' | 'step', kind: 'trap' | 'panic' | 'throw' }
// The last Rust panic, { message, location }: the core's panic hook (crate/src/wasm.rs) calls
// this before the panic ends in a trap, so nothing has to call back into the broken module.
let panicked = null;
globalThis.spikeplayPanic = (message, location) => {
  panicked = { message, location };
};

const post = (msg) => self.postMessage(msg);
/**
 * A trap (a Rust panic or a failed allocation ends in `unreachable`) leaves the module's
 * memory in an unknown state: the page must replace this worker, not keep calling it.
 */
// A core error carries its `kind` (wasm.rs `js_err`) and is never a trap. What the browser throws
// when the module's memory cannot grow is a RangeError, told apart only by its text.
const isTrap = (e) => e instanceof WebAssembly.RuntimeError || (typeof e?.kind !== 'string' && TRAP_PATTERN.test(String(e?.message ?? e)));

/**
 * Calls into the core. What it throws as a Rust `Err` (a refused config, a diverged run) is an
 * answer for the page (marked `fromCore`); anything else thrown in this worker is a fault.
 */
function core(call) {
  try {
    return call();
  } catch (e) {
    if (e instanceof Error && !isTrap(e)) e.fromCore = true;
    throw e;
  }
}

/** The fault `e` is (see FromWorker.ERROR), or null for an error of the core's own. */
const faultOf = (e) => (isTrap(e) ? (panicked ? 'panic' : 'trap') : e?.fromCore ? null : 'exception');

const fail = (e, { fault = faultOf(e), ...extra } = {}) => {
  let message = e instanceof Error ? e.message : String(e);
  if (fault === 'panic') message = `${panicked.message}${panicked.location ? ` (at ${panicked.location})` : ''}`;
  else if (fault === 'exception' && e instanceof Error) message = `${e.name}: ${e.message}`;
  if (fault) running = false; // a fault ends this worker: the page replaces it
  // The core's refusal as a value (its kind, field, bound, file, byte or line), or the fault.
  const error = fault ? { kind: fault, message } : errorValue(e);
  post({ type: FromWorker.ERROR, message, field: error.field ?? null, error, fault, ...extra });
};

/** Test only: raises the fault armed for `at` for real, as a bug or a failed allocation would. */
function faultIfArmed(at) {
  if (armed?.at !== at) return;
  const { kind } = armed;
  armed = null;
  const when = at === 'init' ? 'while building a run' : 'while training';
  if (kind === 'panic') debugPanic(`debug: a deliberate panic ${when}`);
  if (kind === 'throw') throw new Error(`debug: a deliberate exception ${when}`);
  // A WebAssembly `unreachable`, the trap a failed allocation ends in:
  // (module (func (export "t") unreachable))
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0,
    7, 5, 1, 1, 116, 0, 0, 10, 5, 1, 3, 0, 0, 11]);
  new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.t();
}

const yieldChannel = new MessageChannel();
yieldChannel.port1.onmessage = () => {
  scheduled = false;
  tick();
};
function schedule() {
  if (!scheduled && running && waitTimer === null) {
    scheduled = true;
    yieldChannel.port2.postMessage(null);
  }
}

function stepsPerSecond(step) {
  const now = performance.now();
  recent.push([now, step]);
  while (recent.length > 2 && now - recent[1][0] >= 2000) recent.shift();
  const [t0, s0] = recent[0];
  return now > t0 ? (1000 * (step - s0)) / (now - t0) : 0;
}

/**
 * How many steps the pace allows now: the tokens earned since the last look (at `paceRate` a
 * second, at most a tenth of a second's worth banked, so a cap never bursts), and no further
 * than `until`. Infinity without either.
 */
function allowed() {
  const room = until - lastStep;
  if (!paceRate) return room;
  const now = performance.now();
  tokens = Math.min(Math.max(1, paceRate / 10), tokens + (paceRate * (now - tokenTime)) / 1000);
  tokenTime = now;
  return Math.min(room, Math.floor(tokens));
}

/**
 * Trains for about TICK_MS (at least one step, at most `most`), stopping early at the end of
 * an epoch so that the report of that step carries the epoch's evaluation, as the CLI's
 * history does.
 */
function runSteps(budgetMs, most = Infinity) {
  faultIfArmed('step');
  const start = performance.now();
  const losses = [];
  const lrs = [];
  const ends = [];
  let report;
  do {
    report = trainOne();
    losses.push(report.losses[0]);
    lrs.push(report.lrs[0]);
    ends.push(report.epoch_ends[0]);
  } while (!report.epoch_ends[0] && losses.length < most && performance.now() - start < budgetMs);
  const ms = performance.now() - start;
  if (ms > 0) own = own ? 0.8 * own + 0.2 * ((1000 * losses.length) / ms) : (1000 * losses.length) / ms;
  Object.assign(report, { losses, lrs, epoch_ends: ends });
  return report;
}

/** One optimizer step; the core's report says the learning rate it used and whether it ended an epoch. */
function trainOne() {
  const report = core(() => handle.train(1));
  lastStep = report.step;
  return report;
}

/** The probe of the selected layer and sample, and that sample's encoded input. */
const probe = () => core(() => ({ probe: handle.probe(view.layer, view.sample, GRID), input: handle.encodedInput(view.sample) }));

/** Accuracy on the first `limit` samples of each split (0: all of them). */
const evaluate = (limit, epochEnd = false) => ({ ...core(() => handle.evaluate(limit)), limit, epochEnd });

/** A timed evaluation (EVAL_LIMIT samples); its duration sets the wait before the next one. */
function timedEvaluate() {
  const t0 = performance.now();
  const ev = evaluate(EVAL_LIMIT);
  lastEval = performance.now();
  evalGap = Math.max(EVAL_MS, 4 * (lastEval - t0));
  return ev;
}

const memory = () => wasm?.memory.buffer.byteLength ?? 0;

function sendReport(train, force) {
  const now = performance.now();
  const msg = { type: FromWorker.REPORT, gen, train, stepsPerSecond: force ? 0 : stepsPerSecond(train.step), ownStepsPerSecond: own };
  const epochEnd = !!train.epoch_ends?.at(-1);
  // A run's first EARLY_STEPS are probed at least every EARLY_EVERY steps, not only every
  // PROBE_MS: they are where a deep net goes silent, and at full speed a small net trains 50
  // steps between two timed probes, so the history scrubber would have nothing near step 50
  // (recording.js keeps these probes). Every 10 steps, a slow net pays for few extra probes.
  const early = train.step <= EARLY_STEPS && train.step - lastProbeStep >= EARLY_EVERY;
  if (force || epochEnd || early || now - lastProbe >= PROBE_MS) {
    Object.assign(msg, probe());
    lastProbe = performance.now();
    lastProbeStep = train.step;
  }
  // The timed evaluation is an estimate on EVAL_LIMIT samples per split; the one at an
  // epoch's end covers them all, as the CLI's history does (tests/e2e-agreement.test.mjs).
  if (epochEnd) {
    msg.eval = evaluate(0, true);
    lastEval = performance.now();
  } else if (force || now - lastEval >= evalGap) msg.eval = timedEvaluate();
  msg.memory = memory();
  msg.sentAt = performance.timeOrigin + performance.now(); // wall clock: web/run/perf.js's report latency
  post(msg);
}

/** The run has trained the epochs it was set: training stops, and the page says so. */
function stopFinished() {
  running = false;
  post({ type: FromWorker.STATE, running, stopped: finished });
}

function tick() {
  if (!running || !handle) return;
  const most = allowed();
  if (most < 1) {
    // Held: by lock-step until a PACE raises `until`; by the cap until the next token is due.
    if (lastStep < until) {
      const ms = Math.max(1, ((1 - tokens) * 1000) / paceRate);
      waitTimer = setTimeout(() => {
        waitTimer = null;
        schedule();
      }, ms);
    }
    return;
  }
  try {
    const report = runSteps(TICK_MS, most);
    if (paceRate) tokens -= report.losses.length;
    sendReport(report, false);
    if (lastStep >= finishAt) return stopFinished();
  } catch (e) {
    running = false;
    fail(e, { gen });
    post({ type: FromWorker.STATE, running });
    return;
  }
  schedule();
}

/** Reports the state of a fresh run so the views show step 0 before anyone presses play. */
function ready() {
  recent.length = 0;
  own = 0;
  lastProbe = lastEval = -Infinity;
  lastStep = lastProbeStep = 0;
  const [layout, config] = core(() => [handle.layout(), handle.config()]);
  finishAt = config.open_ended ? Infinity : config.epochs * Math.max(1, layout.steps_per_epoch);
  // (Ticking Open-ended builds the run again from step 0, as any change of setting does.)
  finished = `Finished: ${config.epochs} epochs, ${finishAt} steps, as set. Reset runs it again; tick Open-ended for runs that train until you pause.`;
  post({ type: FromWorker.READY, gen, config, layout, memory: memory(), nir: core(() => handle.nirDeployable()) });
  post({
    type: FromWorker.REPORT, gen, stepsPerSecond: 0,
    train: { losses: [], lrs: [], epoch_ends: [], step: 0, epoch: 0, lr: config.lr }, // both schedules start at the configured rate
    ...probe(), eval: timedEvaluate(), memory: memory(),
  });
}

const handlers = {
  [ToWorker.INIT]({ gen: g, config, view: v, files, model }) {
    let next;
    try {
      faultIfArmed('init');
      next = core(() => (model ? Playground.fromModel(config, files, model.name, model.bytes, !!model.keepTimesteps) : new Playground(config, files)));
    } catch (e) {
      // The previous run keeps going: only a valid config replaces it. `current` tells the
      // page which run that is (its READY may have been dropped as stale). A fault instead
      // ends this worker, and the page replaces it.
      return fail(e, { gen: g, rejected: true, current: gen });
    }
    handle?.free();
    handle = next;
    gen = g;
    // The page clamps its selection to the new depth and sends it along, so the first probe
    // already shows the layer the page's title and highlight name.
    view = v ?? { layer: 0, sample: view.sample };
    ready();
    schedule();
  },
  [ToWorker.RESET]({ gen: g }) {
    if (!handle) return;
    core(() => handle.reset());
    gen = g;
    ready();
    schedule();
  },
  [ToWorker.PLAY]() {
    if (handle && lastStep >= finishAt) return stopFinished(); // it has trained its epochs
    running = !!handle; // nothing to train until a run exists
    tokens = 1; // the first step at once, then one per token
    tokenTime = performance.now();
    recent.length = 0;
    recent.push([performance.now(), lastStep]);
    post({ type: FromWorker.STATE, running });
    schedule();
  },
  [ToWorker.DEBUG_TRAP]({ at, kind = 'trap' }) {
    if (DEBUG) armed = { at, kind };
  },
  [ToWorker.PACE]({ rate, until: upTo }) {
    paceRate = Number.isFinite(rate) && rate > 0 ? rate : 0;
    until = Number.isFinite(upTo) ? upTo : Infinity;
    tokens = Math.min(tokens, Math.max(1, paceRate / 10));
    tokenTime = performance.now();
    // A new pace applies now, not after a wait set for the old one.
    if (waitTimer !== null) clearTimeout(waitTimer);
    waitTimer = null;
    schedule();
  },
  [ToWorker.PAUSE]() {
    running = false;
    post({ type: FromWorker.STATE, running });
  },
  [ToWorker.STEP]() {
    if (!handle || running) return;
    if (lastStep >= finishAt) return stopFinished(); // it has trained its epochs
    sendReport(trainOne(), true);
    if (lastStep >= finishAt) stopFinished(); // that was its last step
  },
  [ToWorker.VIEW]({ layer, sample }) {
    view = { layer, sample };
    if (!handle) return;
    lastProbe = performance.now();
    post({ type: FromWorker.REPORT, gen, train: null, ...probe(), memory: memory() });
  },
  [ToWorker.EXPORT]({ id, format }) {
    // A refusal (a norm that cannot be folded) is an answer, not an ERROR: the run goes on.
    if (!handle) return post({ type: FromWorker.EXPORT, id, error: 'no network yet: wait for the run to come up' });
    try {
      const bytes = core(() => (format === 'nir' ? handle.exportNir() : handle.saveWeights()));
      self.postMessage({ type: FromWorker.EXPORT, id, bytes }, [bytes.buffer]);
    } catch (e) {
      post({ type: FromWorker.EXPORT, id, error: e instanceof Error ? e.message : String(e), detail: errorValue(e) });
      if (faultOf(e)) fail(e, { gen });
    }
  },
  [ToWorker.PREVIEW]({ id, files }) {
    // A malformed upload is an answer, not an ERROR: the run keeps training.
    try {
      post({ type: FromWorker.PREVIEW, id, preview: core(() => previewFiles(files)) });
    } catch (e) {
      post({ type: FromWorker.PREVIEW, id, error: e instanceof Error ? e.message : String(e), detail: errorValue(e) });
      if (faultOf(e)) fail(e, { gen }); // the parser crashed: this worker must be replaced
    }
  },
};

function dispatch(data) {
  try {
    handlers[data.type]?.(data);
  } catch (e) {
    fail(e, { gen });
  }
}

self.onmessage = ({ data }) => {
  if (data.type === ToWorker.WASM) return load(data.module);
  return loaded ? dispatch(data) : pending.push(data);
};

/** Instantiates the module the page compiled (or, given null, fetches and compiles it). */
async function load(module) {
  if (wasm) return;
  try {
    wasm = await init(module ? { module_or_path: module } : undefined);
    loaded = true;
    post({ type: FromWorker.LOADED, build: wasmBuild(), schema: schema() });
    pending.splice(0).forEach(dispatch);
  } catch (e) {
    fail(new Error(`could not load the WebAssembly module: ${e.message ?? e}`), { fault: 'load' });
  }
}
