// Compare mode: 2 to 8 runs that differ in one field, each in a worker of its own (the
// browser spreads them over the cores), with one transport for all. It builds the runs from
// the base settings and the spec, routes each run's reports into the overlaid charts and the
// summary table, keeps the link in the address bar, and exports what the runs recorded.
import { RateHeatmaps } from '../charts/rate-heatmaps.js';
import { RateProfiles } from '../charts/rate-profiles.js';
import { RunAccuracies, RunLosses } from '../charts/run-curves.js';
import { CompareRun } from './run.js';
import { CompareView } from './view.js';
import { compareHash, compareStem, parseSpec, runsOf, specParam } from './spec.js';
import { saveCsv, saveJson } from '../files/download.js';
import { MODEL_FORMATS, saveModel } from '../files/model.js';
import { PRESET_BY_ID, presetSpec } from '../state/presets.js';
import { toCsv } from '../run/recording.js';
import { redrawer } from '../charts/redraw.js';
import { BY_KEY, parseValue } from '../state/state.js';

const $ = (id) => document.getElementById(id);
const CHARTS = ['profile', 'loss', 'accuracy', 'heatmaps'];
/**
 * Up to 8 workers report ~25 times a second each: the table refreshes at most this often (text
 * nobody can read faster); the charts redraw once per frame at most, within a share of the
 * main thread (redraw.js).
 */
const TABLE_GAP_MS = 100;

export class Compare {
  /**
   * `ui`: { panel, paint({ running, hasRun, busy }), status(text, isError), newWorker() (app/workers.js), hidden(),
   * files(config) -> Promise<files | undefined> (datasets.js: MNIST downloads, the upload) }.
   */
  constructor(ui) {
    this.ui = ui;
    this.charts = {
      profile: new RateProfiles($('cmp-profile')),
      loss: new RunLosses($('cmp-loss')),
      accuracy: new RunAccuracies($('cmp-accuracy')),
      heatmaps: new RateHeatmaps($('cmp-heatmaps')),
    };
    this.redraw = redrawer(this.charts);
    this.view = new CompareView((field, text) => this.onSpecEdit(field, text), (i) => this.focus(i), (i) => this.restart(i));
    this.runs = [];
    this.stale = new Set(); // runs whose table row waits for the next refresh
    this.pool = []; // idle workers, paused, kept so a rebuild does not recompile the module
    this.gen = 0;
    this.playing = false;
    this.base = null;
    this.spec = null;
    this.preset = null;
    this.refused = null;
    this.faultNoted = false; // the spec line's message says a run stopped
    this.at = null; // the history scrubber's step, or null (live)
    this.hooks = { report: (run, msg) => this.onReport(run, msg), change: (run) => this.onChange(run) };
  }

  /** Shows and builds a comparison; `autoplay` starts training as soon as each run is built. */
  open(base, spec, presetId = null, { autoplay = false, note = '' } = {}) {
    this.base = base;
    this.spec = spec;
    this.preset = PRESET_BY_ID[presetId] ?? null;
    this.playing = autoplay;
    this.refused = null;
    this.view.showSpec(spec, this.preset);
    this.faultNoted = false; // showSpec cleared the line
    if (note) this.view.message(note);
    this.build();
  }

  /** Ends every run and worker (leaving compare mode). */
  close() {
    for (const run of this.runs) run.terminate();
    for (const w of this.pool.splice(0)) w.terminate();
    this.runs = [];
    this.playing = false;
  }

  /** (Re)starts every run from step 0 with the current base and spec. */
  build() {
    this.at = null; // new runs are watched live
    delete document.body.dataset.scrubStep;
    for (const run of this.runs) {
      const w = run.release();
      if (w) this.pool.push(w);
    }
    this.clearFaultNote();
    const defs = runsOf(this.base, this.spec);
    this.runs = defs.map((def) => new CompareRun(def, def.error ? null : this.take(), this.hooks));
    for (const run of this.runs) if (!run.error) this.init(run);
    // Workers a smaller comparison does not need are ended, not kept.
    for (const w of this.pool.splice(0)) w.terminate();
    for (const c of Object.values(this.charts)) {
      c.setRuns(defs.map((d) => ({ ...d, note: d.error ?? 'building…' })));
      c.focus = null;
      c.mark = null;
    }
    this.view.showRuns(this.runs);
    this.ui.panel.show(this.base, this.refused ? [this.refused] : [], { [this.spec.field]: 'set per run by the comparison' });
    this.writeHash();
    this.paint();
    this.redraw(...CHARTS);
  }

  /** Takes back the note that a run stopped (it restarted, or every run is rebuilt). */
  clearFaultNote() {
    if (this.faultNoted) this.view.message('');
    this.faultNoted = false;
  }

  /** Builds `run` in its worker once its data files are in memory (one download for all runs). */
  init(run) {
    const gen = ++this.gen;
    run.gen = gen;
    this.ui.files(run.config).then((files) => {
      if (this.runs[run.index] === run && run.gen === gen) run.init(gen, files);
    }, (e) => {
      if (this.runs[run.index] === run) run.onError({ gen, message: e.message, rejected: true });
    });
  }

  /**
   * Run `i`'s worker stopped (a fault) and the user pressed its Restart: the same run from step 0
   * in a fresh worker; the other runs go on untouched, and it trains if they do.
   */
  restart(i) {
    const run = this.runs[i];
    if (!run?.fault) return;
    run.restart(this.ui.newWorker());
    for (const c of Object.values(this.charts)) c.clearRun(i);
    this.init(run);
    this.clearFaultNote();
    this.view.updateRun(run);
    this.paint();
    this.redraw(...CHARTS);
  }

  /** Restarts every run with `change` applied to the base (an upload switches to `custom`). */
  setBase(change) {
    this.base = { ...this.base, ...change };
    this.build();
  }

  take() {
    return this.pool.pop() ?? this.ui.newWorker();
  }

  writeHash() {
    history.replaceState(null, '', compareHash(this.base, this.ui.hidden(), this.spec, this.preset?.id));
  }

  onChange(run) {
    if (run.state === 'ready' && this.playing) run.play();
    // A run that fails, finishes or pauses must not hold the others at its step: they may be
    // waiting for it, with no report of theirs to come that would lift the hold.
    this.lockStep();
    if (run.error) {
      this.charts.heatmaps.setNote(run.index, run.error);
      this.charts.profile.clearRun(run.index);
      this.redraw('heatmaps', 'profile');
    }
    // Said once where it is read out (role="alert"); the row keeps the message and Restart.
    if (run.fault) {
      this.view.message(`Run ${run.label} stopped: its row in the summary has the reason and a Restart button; the other runs go on.`);
      this.faultNoted = true;
    }
    if (run.layout && run.index === this.runs.findIndex((r) => r.layout)) {
      this.charts.accuracy.setChance(1 / Math.max(1, run.layout.classes));
      // Every run shares the data: the panel shows its real sample count (an upload's, say).
      this.ui.panel.setActual(this.base.dataset, { samples: run.layout.train_samples + run.layout.test_samples });
    }
    this.view.updateRun(run);
    this.paint();
  }

  onReport(run, { train, probe, eval: ev }) {
    const i = run.index;
    if (train?.losses.length) {
      this.charts.loss.push(i, train.losses);
      this.redraw('loss');
    }
    if (probe) {
      if (this.at === null) this.charts.profile.set(i, probe.rates); // scrubbed back, it stays put
      this.charts.heatmaps.push(i, probe.step, probe.rates);
      this.redraw('profile', 'heatmaps');
    }
    if (ev) {
      this.charts.accuracy.push(i, train?.step ?? probe?.step ?? 0, ev.train_accuracy, ev.test_accuracy);
      this.redraw('accuracy');
    }
    if (train) this.lockStep();
    this.refresh(run);
  }

  /**
   * Lock-step: every training run may go at most one tick of the slowest run's steps past the
   * slowest, so the charts and the table compare the runs at (nearly) one step, not at whatever
   * each reached. A run that finished, failed or is still building holds nobody back.
   */
  lockStep() {
    const live = this.runs.filter((r) => r.running && r.state === 'training' && r.link);
    const table = $('compare-table');
    if (live.length < 2) {
      for (const r of this.runs) r.link?.hold(null);
      delete table.dataset.lockSlack;
      return;
    }
    const slowest = live.reduce((a, b) => (b.latest.step < a.latest.step ? b : a));
    const slack = Math.max(1, slowest.latest.tick);
    for (const r of live) r.link.hold(slowest.latest.step + slack);
    table.dataset.lockSlack = String(slack);
  }

  /** Updates `run`'s row (and the step range) at most every TABLE_GAP_MS, not per report. */
  refresh(run) {
    if (!this.stale.size) {
      setTimeout(() => requestAnimationFrame(() => {
        for (const r of this.stale) if (this.runs[r.index] === r) this.view.updateRun(r);
        this.stale.clear();
        $('compare-steps').textContent = this.stepsText();
      }), TABLE_GAP_MS);
    }
    this.stale.add(run);
  }

  /** The steps the history scrubber can reach: from the earliest recorded probe to the furthest. */
  historyExtent() {
    const recs = this.runs.map((r) => r.recording?.probes).filter((ps) => ps?.length);
    if (!recs.length) return null;
    return { first: Math.min(...recs.map((ps) => ps[0].step)), last: Math.max(...recs.map((ps) => ps.at(-1).step)) };
  }

  /** The history scrubber moved: every run's profile, table row and marks show `step` (null: live). */
  scrubTo(at) {
    this.at = at; // within historyExtent: app/history.js clamps it
    for (const c of ['loss', 'accuracy', 'heatmaps']) this.charts[c].mark = at;
    for (const run of this.runs) {
      run.at = at;
      const p = run.recording && (at === null ? run.recording.probes.at(-1) : run.recording.probeAt(at));
      if (p) this.charts.profile.set(run.index, p.rates);
      this.view.updateRun(run);
    }
    if (at === null) delete document.body.dataset.scrubStep;
    else document.body.dataset.scrubStep = String(at);
    this.redraw(...CHARTS);
  }

  /** Brings run `i` forward in every chart (null: none). */
  focus(i) {
    for (const c of Object.values(this.charts)) c.focus = i;
    this.redraw(...CHARTS);
  }

  stepsText() {
    const steps = this.runs.filter((r) => !r.error).map((r) => r.latest.step);
    if (!steps.length) return '–';
    const lo = Math.min(...steps), hi = Math.max(...steps);
    return lo === hi ? String(lo) : `${lo}–${hi}`;
  }

  /** The shared transport: Train means "all runs train"; runs still building join when ready. */
  paint() {
    const live = this.runs.filter((r) => !r.error);
    const busy = live.some((r) => r.state === 'building');
    const hasRun = live.some((r) => r.usable);
    // Every run that can train has finished its epochs: the comparison is over (Train again
    // trains nothing; Reset or a change starts it anew).
    const finished = live.length > 0 && live.every((r) => r.state === 'finished');
    if (!live.length || finished) this.playing = false;
    this.ui.paint({ running: this.playing, hasRun: hasRun || (busy && this.playing), busy });
    $('compare-steps').textContent = this.stepsText();
    const failed = this.runs.length - live.length;
    const what = `${BY_KEY[this.spec.field].label}: ${this.runs.map((r) => r.label).join(', ')}`;
    const fail = failed ? ` · ${failed} of ${this.runs.length} runs failed (see the table)` : '';
    const todo = busy ? 'building the networks…' : finished ? 'finished: every run trained its epochs (Reset runs them again; Open-ended runs train until paused)'
      : this.playing ? 'training all runs in lock-step (none more than a tick ahead of the slowest)' : 'paused: press Train to run them side by side';
    this.ui.status(`Comparing ${what} on ${this.base.dataset}, seed ${this.base.seed} · ${todo}${fail}`, false);
  }

  togglePlay() {
    this.playing = !this.playing;
    for (const run of this.runs) (this.playing ? run.play() : run.pause());
    this.paint();
  }

  step() {
    for (const run of this.runs) run.step();
  }

  reset() {
    this.build();
  }

  /** A base setting changed: every run restarts with it, unless no run could use it. */
  edit(key, text) {
    const { panel } = this.ui;
    if (this.refused) panel.setError(this.refused, '');
    this.refused = null;
    panel.setError(key, '');
    const parsed = parseValue(key, text);
    const base = { ...this.base, [key]: parsed.value };
    const error = parsed.error ?? (runsOf(base, this.spec).every((r) => r.error) ? runsOf(base, this.spec)[0].error : null);
    if (error) {
      this.refused = key;
      panel.setError(key, error);
      panel.show(this.base, [key], { [this.spec.field]: 'set per run by the comparison' });
      return;
    }
    if (base[key] === this.base[key]) return;
    this.base = base;
    this.build();
  }

  /** The user changed what is compared (field or values). */
  onSpecEdit(field, text) {
    const parsed = parseSpec(field, text);
    if (parsed.error) return this.view.message(parsed.error);
    const spec = parsed.spec;
    if (specParam(spec) === specParam(this.spec)) return this.view.message('');
    // A preset's story still applies while its comparison is the one shown.
    if (this.preset && specParam(presetSpec(this.preset)) !== specParam(spec)) this.preset = null;
    this.spec = spec;
    this.view.showSpec(spec, this.preset);
    this.build();
  }

  /** The file-name stem of everything this comparison downloads. */
  stem() {
    return `spikeplay-${compareStem(this.base, this.spec, this.preset?.id ?? null)}`;
  }

  downloadJson() {
    saveJson(`${this.stem()}.json`, {
      preset: this.preset?.id ?? null, compare: this.spec, base: this.base, runs: this.runs.map((r) => r.toJSON()),
    });
  }

  downloadCsv() {
    saveCsv(`${this.stem()}.csv`, toCsv(this.runs.filter((r) => r.recording).map((r) => r.recording)));
  }

  /**
   * Every run's network as `format` ('nir' or 'weights'), one file a run; the runs NIR cannot
   * hold are left out and named in the status line.
   */
  async downloadModel(format) {
    const { label } = MODEL_FORMATS[format];
    const ready = this.runs.filter((r) => r.usable && r.link?.worker && r.recording);
    if (!ready.length) return this.ui.status(`${label}: no run has come up yet`, true);
    const refused = format === 'nir' ? ready.filter((r) => r.nir) : [];
    const saved = [];
    const failed = [];
    for (const run of ready.filter((r) => !refused.includes(r))) {
      try {
        saved.push(await saveModel(run.link.worker, format, `${this.stem()}-${run.label.replace(/[^\w.-]+/g, '_')}-step${run.latest.step ?? 0}`));
      } catch (e) {
        failed.push(`${run.label}: ${e.message}`);
      }
    }
    const skipped = refused.map((r) => `${r.label} (${r.config.norm}: cannot be folded into a NIR graph)`);
    const parts = [`${label}: saved ${saved.length} file${saved.length === 1 ? '' : 's'}`];
    if (skipped.length) parts.push(`left out ${skipped.join(', ')}`);
    if (failed.length) parts.push(`failed ${failed.join('; ')}`);
    this.ui.status(parts.join(' · '), !saved.length);
  }

  /** What a chart's PNG is called, what it compares, and its run legend. */
  pngContext(canvas) {
    const shared = ['dataset', 'depth', 'width', 'timesteps', 'norm', 'residual'].filter((k) => k !== this.spec.field)
      .map((k) => `${k} ${this.base[k]}`).join(', ');
    return {
      name: `${this.stem()}-${canvas.id.replace(/^cmp-/, '')}.png`,
      legend: this.runs.map((r) => ({ label: r.label, color: r.color, dash: r.dash })),
      caption: `spikeplay · runs differ in ${BY_KEY[this.spec.field].label} · ${shared} · seed ${this.base.seed}`,
    };
  }

  resize() {
    this.redraw(...CHARTS);
  }
}
