// The page's side of one training worker (web/worker/worker.js): it listens to the worker,
// tells a fault (the worker stopped: a trap, a panic, a bug in its JavaScript, or its script
// failed) from an ordinary error, and hands every message to its owner. Both modes drive their
// workers through it: explore mode one worker for run after run, compare mode one per run
// (compare/run.js). The worker names a fault itself (ERROR's `fault`) and sends every other
// error as a value (`error`: kind, field, ...): nothing here reads a message's text. What a message means for a run, such as which `gen` is current and what a
// refusal does, stays with the owner.
import { paceMessage, track, untrack } from './pace.js';
import { perf } from './perf.js';
import { FromWorker, ToWorker } from './protocol.js';

export class RunWorker {
  /**
   * Listens to `worker` (from app/boot.js newWorker()). `hooks`: { loaded?(msg), ready(msg),
   * report(msg), state(msg), error(msg) }; error's `msg.fault` is set when the worker stopped
   * (then it cannot be trusted: its owner ends it).
   */
  constructor(worker, hooks) {
    this.worker = worker;
    this.hooks = hooks;
    this.until = null; // compare mode's lock-step: the last step this run may train to for now
    track(this);
    worker.onmessage = ({ data }) => this.handle(data);
    // The script itself failed (not the wasm inside it): a fault like a trap.
    worker.onerror = (e) => {
      e.preventDefault?.();
      hooks.error({ fault: 'script', message: e.message ?? '' });
    };
  }

  send(type, extra = {}) {
    // The page's pace goes first, so a worker new to the page never trains a step too fast.
    if (type === ToWorker.PLAY) this.sendPace();
    this.worker?.postMessage({ type, ...extra });
  }

  /** Tells the worker the page's pace (run/pace.js) and this run's lock-step limit. */
  sendPace() {
    const [type, msg] = paceMessage(this.until);
    this.worker?.postMessage({ type, ...msg });
  }

  /** Compare mode's lock-step: train no further than step `n` for now (null: no limit). */
  hold(n) {
    if (n === this.until) return;
    this.until = n;
    this.sendPace();
  }

  handle(data) {
    switch (data.type) {
      case FromWorker.LOADED:
        document.documentElement.dataset.wasmBuild = data.build; // the module that runs (wasm-build.js)
        return this.hooks.loaded?.(data);
      case FromWorker.READY: return this.hooks.ready(data);
      case FromWorker.REPORT:
        perf.reports += 1;
        return this.hooks.report(data);
      case FromWorker.STATE: return this.hooks.state(data);
      case FromWorker.ERROR: return this.hooks.error(data);
    }
  }

  /** Ends the worker, with anything it still had queued (a stopped one cannot be trusted). */
  terminate() {
    untrack(this);
    if (!this.worker) return;
    this.worker.onmessage = this.worker.onerror = null;
    this.worker.terminate();
    this.worker = null;
  }

  /** Stops listening; returns the worker for reuse (paused), or null if it has none. */
  release() {
    untrack(this);
    const w = this.worker;
    if (!w) return null;
    w.onmessage = w.onerror = null;
    w.postMessage({ type: ToWorker.PAUSE });
    // A reused worker must not keep this run's lock-step limit.
    w.postMessage({ type: ToWorker.PACE, rate: paceMessage(null)[1].rate, until: null });
    this.worker = null;
    return w;
  }
}
