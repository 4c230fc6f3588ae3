// One run of a comparison: its label and colour, its config, a worker of its own (driven through
// run/run-worker.js, as explore mode drives its own) and what it reported. Like explore mode it
// drops any report whose `gen` is not the one it last asked for, so a reused worker's late
// reports never land on a new run.
// Failures stay here: a refused config, a failed step or a fault (its worker stopped: a trap, a
// panic, a bug in the worker) marks this run only; after a fault, `restart` gives it a new worker.
import { faultCause } from '../run/fault.js';
import { ToWorker } from '../run/protocol.js';
import { Recording, summarize } from '../run/recording.js';
import { RunWorker } from '../run/run-worker.js';
import { tidyConfig } from '../state/state.js';

export class CompareRun {
  /**
   * `def`: { index, label, color, dash, value, config?, error? } from runsOf(); `worker` is null for
   * a run the page refused. `hooks`: { report(run, msg), change(run) }.
   */
  constructor(def, worker, hooks) {
    Object.assign(this, { index: def.index, label: def.label, color: def.color, dash: def.dash, value: def.value });
    this.config = def.config ?? null;
    this.hooks = hooks;
    this.link = null; // the RunWorker, null once its worker ended (or the page refused the run)
    this.gen = 0;
    this.fresh(def.error ?? null);
    this.attach(worker);
  }

  /** Forgets what the run reported; `error`: the page refused its value, so it never starts. */
  fresh(error = null) {
    this.running = false;
    this.layout = null;
    this.recording = null;
    this.latest = { probe: null, eval: null, step: 0, loss: null, speed: 0, own: 0, tick: 1 };
    this.firstLosses = [];
    this.error = error;
    this.fault = null; // the worker stopped: its row offers Restart
    this.state = this.error ? 'error' : 'building';
  }

  attach(worker) {
    this.link = worker && new RunWorker(worker, {
      ready: (data) => this.onReady(data),
      report: (data) => this.onReport(data),
      state: (data) => this.onState(data),
      error: (data) => this.onError(data),
    });
  }

  /** After a fault: the same config from step 0 in `worker` (a fresh one); init() follows. */
  restart(worker) {
    this.terminate();
    this.fresh();
    this.attach(worker);
  }

  send(type, extra = {}) {
    this.link?.send(type, extra);
  }

  /**
   * Builds this run in its worker (a reused worker drops its old run once this is accepted);
   * `files`: the run's data files (mnist14, mnist28, custom), else undefined.
   */
  init(gen, files) {
    this.gen = gen;
    this.send(ToWorker.INIT, { gen, config: this.config, view: { layer: 0, sample: 0 }, files });
  }

  get usable() {
    return !!this.link && !this.error && this.state !== 'building';
  }

  play() {
    if (this.usable) this.send(ToWorker.PLAY);
  }

  pause() {
    this.send(ToWorker.PAUSE);
  }

  step() {
    if (this.usable && !this.running) this.send(ToWorker.STEP);
  }

  onState({ running, stopped }) {
    this.running = running && !this.error;
    if (this.usable) this.state = this.running ? 'training' : stopped ? 'finished' : 'paused';
    this.hooks.change(this);
  }

  onReady({ gen, config, layout, nir }) {
    if (gen !== this.gen) return;
    this.nir = nir; // null: deployable as NIR, else the core's refusal
    this.config = tidyConfig(config);
    this.layout = layout;
    this.recording = new Recording(this.config, this.label);
    this.state = this.running ? 'training' : 'ready';
    this.hooks.change(this);
  }

  onReport({ gen, train, probe, eval: ev, stepsPerSecond, ownStepsPerSecond }) {
    if (gen !== this.gen || !this.recording) return;
    const rec = this.recording;
    if (train) {
      rec.addTrain(train);
      this.latest.step = train.step;
      if (train.losses.length) this.latest.loss = train.losses[train.losses.length - 1];
      if (stepsPerSecond) this.latest.speed = stepsPerSecond;
      // Its own speed (training time alone): lock-step holds the faster runs back, so the wall-clock figure would not tell them apart.
      if (ownStepsPerSecond) this.latest.own = ownStepsPerSecond;
      this.latest.tick = train.losses.length;
      if (this.firstLosses.length < 3) this.firstLosses.push(...train.losses.slice(0, 3 - this.firstLosses.length));
    }
    if (probe) {
      rec.addProbe(probe);
      this.latest.probe = probe;
    }
    if (ev) {
      rec.addEval(train?.step ?? probe?.step ?? this.latest.step, ev);
      this.latest.eval = ev;
    }
    this.hooks.report(this, { train, probe, eval: ev });
  }

  /** From the worker, or from compare.js when the run's data files could not be had. */
  onError({ gen, message, error, fault, rejected }) {
    // A late error of an older run in a reused worker is not this run's.
    if (!fault && gen !== undefined && gen !== this.gen) return;
    if (fault) console.warn(`spikeplay: run ${this.label}: the training worker stopped (${fault}: ${message})`);
    this.fault = fault;
    // A refused setting reads "field: why", as the compare table names the run's field.
    const refusal = error?.field ? `${error.field}: ${error.reason}` : message;
    this.error = fault ? `the training worker stopped: ${faultCause({ fault, message })}` : refusal;
    this.state = 'error';
    this.running = false;
    if (this.recording) this.recording.error = this.error;
    // A stopped worker cannot be trusted; a refused INIT leaves the worker on its old run.
    if (fault || rejected) this.terminate();
    this.hooks.change(this);
  }

  /** The numbers of the summary table. */
  summary() {
    // Scrubbed back (compare.js scrubTo): the numbers as they were at that step.
    if (this.at !== null && this.at !== undefined && this.recording) return this.recording.summaryAt(this.at);
    return summarize(this.latest.probe, this.latest.eval, this.latest.step);
  }

  /** The run's part of a JSON download. */
  toJSON() {
    const base = { label: this.label, value: this.value, color: this.color };
    if (!this.recording) return { ...base, config: this.config, error: this.error, steps: [], evals: [], probes: [], summary: this.summary() };
    return { ...base, ...this.recording.toJSON() };
  }

  terminate() {
    this.link?.terminate();
    this.link = null;
  }

  /** Stops listening; returns the worker for reuse (paused), or null if it has none. */
  release() {
    const w = this.link?.release() ?? null;
    this.link = null;
    return w;
  }
}
