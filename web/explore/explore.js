// Explore mode: one run and every view of it. The controls produce a config, one worker
// (driven through run/run-worker.js, as compare mode drives its own) trains it, and its reports
// feed the charts (views.js). One worker serves run after run: each config gets a generation,
// and a report of any other generation is dropped. What happens when the core refuses a config
// or the worker stops is in recovery.js. The router (app/router.js) opens and stops this mode.
import { DATA_FILES, dataName, hideDownload } from '../files/datasets.js';
import { saveCsv, saveJson } from '../files/download.js';
import { MODEL_FORMATS, MODEL_KEYS, nirMark, saveModel } from '../files/model.js';
import { COLORS } from '../charts/canvas.js';
import { plural } from '../run/format.js';
import { reportHandled } from '../run/perf.js';
import { ToWorker } from '../run/protocol.js';
import { Recording, toCsv } from '../run/recording.js';
import { RunWorker } from '../run/run-worker.js';
import { crossCheck, parseValue, tidyConfig, toHash } from '../state/state.js';
import { FaultAlert } from './fault-alert.js';
import { Recovery } from './recovery.js';
import { ExploreViews } from './views.js';

const $ = (id) => document.getElementById(id);

/** A short, file-name-safe description of a config: "digits-d12-w64-T8-psp". */
function configStem(cfg) {
  return `${cfg.dataset}-d${cfg.depth}-w${cfg.width}-T${cfg.timesteps}-${cfg.norm}${cfg.residual ? '-res' : ''}`;
}

export class Explore {
  /**
   * `ui`: { panel, newWorker() (app/workers.js), hidden(), data (files/datasets.js DataFiles),
   * upload (files/upload.js Upload), header: { paint, status, memory, speed, accuracy } (app/header.js) }.
   */
  constructor(ui) {
    this.ui = ui;
    this.config = null; // the config of the run the charts show (always valid)
    this.requested = null; // the latest config sent to the worker: edits build on it, not on `config`
    this.good = null; // the last config that trained a step: what a crash during training falls back to
    this.sent = new Map(); // gen -> config of each INIT the worker has not answered yet
    this.gen = 0; // generation whose reports are drawn (0: no run yet)
    this.nextGen = 0;
    this.lastEdit = null; // { key, text, gen } of the edit that produced the latest request
    // A network file the runs start from (a dropped NIR graph): { name, bytes, loaded }; kept
    // while edits leave the shape it fixes alone (MODEL_KEYS), set aside by one that does not.
    this.model = null;
    this.refused = null; // { key, at }: a refused edit, kept as typed in `key`, its message at `at`
    this.restore = null; // the config to start once a replacement worker has loaded (from compare mode)
    this.notice = null; // a status message that outlives the next READY (a link's settings refused)
    this.linkNote = null; // shown once, by the link's first READY: its keys that are not settings
    this.running = false;
    this.loaded = false; // the worker has instantiated the wasm module (FromWorker.LOADED)
    this.layout = null;
    this.view = { layer: 0, sample: 0 };
    this.firstLosses = [];
    this.recording = null; // what the run on screen reported, for Download
    this.autoplay = 0; // gen of a run that plays as soon as it is built (an explore preset)
    this.waiting = 0; // gen of a requested run waiting for its data to download (the old run is paused)
    this.resume = false; // the old run was paused for a download: the next run plays once built
    this.link = null; // the RunWorker
    this.views = new ExploreViews((layer) => this.selectView({ layer }));
    this.stale = this.views.stale;
    this.recovery = new Recovery(this);
    this.faultAlert = new FaultAlert($('fault'), {
      restart: () => this.recovery.restart(this.requested),
      back: () => this.recovery.restart(this.recovery.fault?.back ?? this.requested),
    });
  }

  /** The worker, for parsing an upload between training ticks (null: none, e.g. in compare mode). */
  get worker() {
    return this.link?.worker ?? null;
  }

  /** The settings an edit or an upload builds on. */
  get base() {
    return this.requested;
  }

  /** The page's first run: its worker is the one boot.js started at load. */
  boot(config) {
    this.config = this.requested = config;
    this.spawn();
    this.setRunning(false);
    // The worker keeps messages until its module is instantiated: the first run is asked for
    // now, not a round trip after its LOADED.
    this.start(config);
  }

  /** A link or a preset in explore mode; `autoplay`: it trains as soon as it is built. */
  open(config, { autoplay = false } = {}) {
    this.start(config);
    if (autoplay) this.autoplay = this.nextGen;
  }

  /** Back from compare mode: a fresh worker, whose LOADED starts `config`. */
  reopen(config, { autoplay = false } = {}) {
    this.config = this.requested = this.restore = config;
    this.spawn();
    this.setBusy(true);
    if (autoplay) this.autoplay = this.nextGen + 1;
  }

  /** Ends the worker and forgets its run (compare mode needs the cores). */
  stop() {
    this.drop();
    this.sent.clear();
    this.gen = 0;
    this.running = false;
    this.restore = null;
    this.recovery.fault = null;
    this.faultAlert.hide();
    this.refused = null;
    this.waiting = 0;
    this.stale.fresh();
  }

  /** Ends the worker, with anything it still had queued (a stopped one cannot be trusted). */
  drop() {
    this.link?.terminate();
    this.link = null;
  }

  /** (Re)creates the worker. */
  spawn() {
    this.drop();
    this.loaded = false;
    this.link = new RunWorker(this.ui.newWorker(), {
      loaded: () => this.onLoaded(),
      ready: (data) => this.onReady(data),
      report: (data) => {
        this.onReport(data);
        reportHandled(data.sentAt);
      },
      state: (data) => {
        this.setRunning(data.running);
        if (data.stopped) this.ui.header.status(data.stopped); // e.g. it finished its epochs
      },
      error: (data) => this.onError(data),
    });
  }

  send(type, extra = {}) {
    this.link?.send(type, extra);
  }

  /** The current selection, clamped to what a run of `config` has. */
  viewFor(config) {
    return {
      layer: Math.min(this.view.layer, config.depth - 1),
      sample: Math.min(this.view.sample, config.probe_samples - 1),
    };
  }

  /**
   * Starts a run of `config`; the current run keeps going until the worker accepts it. A run
   * on MNIST or an upload first gets its files (a download only the first time); a failed
   * download, or `custom` with no upload, is refused like a config the core refuses.
   */
  start(config) {
    const { data, upload } = this.ui;
    this.recovery.clearFault();
    if (!this.link) this.spawn(); // the worker kept stopping and none was started in its place
    this.requested = config;
    const g = (this.nextGen += 1);
    this.sent.set(g, config);
    document.body.dataset.requestedGen = String(g);
    // The old run must not train on while the settings name another data set: pause it until
    // the download ends (the new run then plays in its place).
    this.waiting = DATA_FILES[config.dataset] && !data.has(config) ? g : 0;
    if (this.waiting && this.running) {
      this.resume = true;
      this.send(ToWorker.PAUSE);
    }
    if (this.resume) this.autoplay = g;
    if (this.gen) {
      const what = this.waiting ? `waiting for ${dataName(config.dataset)} to download` : 'building the new network…';
      this.stale.previous(`previous run (${this.config.dataset}) — ${what}`);
    }
    this.setBusy(true);
    // An imported network goes along (a copy of its bytes: a message moves its buffer); after
    // its first run the page's time steps stand (the graph's came with that first READY).
    const model = this.model && { name: this.model.name, bytes: this.model.bytes.slice(), keepTimesteps: this.model.loaded };
    const init = (files) => this.send(ToWorker.INIT, { gen: g, config, view: this.viewFor(config), files, model });
    if (!(config.dataset in DATA_FILES) && config.dataset !== 'custom') return init(undefined);
    data.filesFor(config).then((files) => {
      if (g !== this.nextGen || !this.link) return this.sent.delete(g); // a later request (or compare mode) took over
      if (this.waiting === g) {
        this.waiting = 0;
        if (this.gen) this.stale.previous(`previous run (${this.config.dataset}) — building the new network…`);
        this.setBusy(true);
      }
      init(files);
    }, (e) => {
      upload.ask(!!e.needsUpload);
      const message = e.needsUpload && this.gen
        ? `Drop or choose a file to train on your own data; still training ${this.config.dataset} meanwhile.` : e.message;
      if (this.link) this.recovery.onRejected(g, { kind: 'data', field: 'dataset', reads: ['dataset'], message, reason: message }, this.gen, !e.needsUpload);
    });
  }

  /** An upload parsed: the run restarts on it with `change` (dataset custom, maybe conv off). */
  setBase(change) {
    const { panel } = this.ui;
    if (this.refused) panel.setError(this.refused.at, '');
    this.refused = null;
    this.notice = null;
    panel.setError('dataset', '');
    panel.setError('conv', '');
    this.lastEdit = { key: 'dataset', text: 'custom', gen: this.nextGen + 1 };
    this.start({ ...this.requested, ...change });
    panel.show(this.requested);
  }

  /**
   * A network file was dropped (a NIR graph): the run restarts from it, the settings the graph
   * fixes (depth, width, neuron, readout, no norm) taken from it; the rest stay.
   */
  importModel(file) {
    this.model = { ...file, loaded: false, gen: this.nextGen + 1 };
    this.lastEdit = null;
    this.ui.header.status(`reading the network in ${file.name}…`);
    this.start(this.requested ?? this.config);
  }

  /** The control a refused edit keeps as typed. */
  kept() {
    return this.refused ? [this.refused.key] : [];
  }

  /** The user changed control `key` to `text`. */
  edit(key, text) {
    const { panel } = this.ui;
    // A new edit replaces the previous refused one (that control goes back to the value in use)
    // and clears this control's own message, such as a note about the link.
    if (this.refused) panel.setError(this.refused.at, '');
    this.refused = null;
    this.notice = null;
    panel.setError(key, '');
    const parsed = parseValue(key, text);
    let refusal = parsed.error ? { at: key, error: parsed.error } : null;
    const candidate = { ...this.requested, [key]: parsed.value };
    if (!refusal) {
      const cross = crossCheck(candidate);
      if (cross) refusal = { at: cross.keys.includes(key) ? key : cross.key, error: cross.error };
    }
    if (refusal) {
      this.refused = { key, at: refusal.at };
      panel.setError(refusal.at, refusal.error);
    } else if (candidate[key] !== this.requested[key]) {
      this.lastEdit = { key, text, gen: this.nextGen + 1 };
      if (this.model && MODEL_KEYS.includes(key)) {
        this.linkNote = `${this.model.name} set aside: ${key.replace(/_/g, ' ')} changed, so this is a fresh network of the new shape.`;
        this.model = null;
      }
      this.start(candidate);
    }
    panel.show(this.requested, this.kept());
  }

  selectView(change) {
    this.view = { ...this.view, ...change };
    this.views.select(this.view);
    this.send(ToWorker.VIEW, this.view);
  }

  nextSample() {
    const n = this.layout?.probe_samples ?? 1;
    this.selectView({ sample: (this.view.sample + 1) % n });
  }

  togglePlay() {
    this.send(this.running ? ToWorker.PAUSE : ToWorker.PLAY);
  }

  step() {
    this.send(ToWorker.STEP);
  }

  reset() {
    this.nextGen += 1;
    document.body.dataset.requestedGen = String(this.nextGen);
    this.send(ToWorker.RESET, { gen: this.nextGen });
  }

  setRunning(running) {
    this.running = running;
    if (!running) this.ui.header.speed(null);
    this.setBusy(document.body.dataset.busy === 'true');
  }

  setBusy(busy) {
    const { paint, status } = this.ui.header;
    // After a fault the charts still show the stopped run, but no worker has it any more.
    paint({ running: this.running, hasRun: this.gen !== 0 && !this.recovery.fault, busy, waiting: !!this.waiting });
    const doing = this.waiting ? `downloading ${dataName(this.requested.dataset)} (once; it stays in memory)…`
      : this.loaded ? 'building the network…' : 'loading the WebAssembly module…';
    if (busy) status(this.notice ?? doing, !!this.notice);
  }

  onLoaded() {
    this.loaded = true;
    const config = this.restore;
    this.restore = null;
    if (config) return this.start(config);
    return this.setBusy(document.body.dataset.busy === 'true'); // the status moves on to building
  }

  onReady({ gen, config, layout, memory, nir }) {
    if (gen !== this.nextGen) return;
    this.nir = nir; // null: deployable as NIR, else the core's refusal (kind 'export', field)
    const { panel, header, upload, data } = this.ui;
    if (memory) header.memory(memory);
    if (this.autoplay === gen) this.resume = false;
    for (const g of this.sent.keys()) if (g <= gen) this.sent.delete(g);
    this.gen = gen;
    this.config = this.requested = tidyConfig(config);
    config = this.config;
    this.recording = new Recording(config);
    delete document.body.dataset.scrubStep; // a new run is watched live (views.start)
    this.layout = layout;
    this.recovery.crashes = 0;
    panel.setActual(config.dataset, { samples: layout.train_samples + layout.test_samples });
    panel.show(config, this.kept());
    panel.setMark('norm', nirMark(nir));
    if (this.model && gen >= this.model.gen) {
      if (!this.model.loaded) {
        this.linkNote = `Loaded ${this.model.name}: depth ${config.depth}, width ${config.width}, beta ${config.beta}, ${config.readout} readout, T ${config.timesteps};`
          + ' its accuracy shows at step 0, Train trains on from it (the link holds the settings, not the weights).';
      }
      this.model.loaded = true;
    }
    $('download-nir').dataset.deployable = String(!nir);
    history.replaceState(null, '', toHash(config, this.ui.hidden()));
    this.firstLosses = [];
    delete document.body.dataset.firstLosses;
    this.views.start(layout);
    this.view = this.viewFor(config); // the worker got the same clamped view with the config
    this.views.select(this.view);
    $('step-count').dataset.gen = String(gen);
    header.speed(null);
    header.accuracy(null);
    this.setBusy(false);
    hideDownload();
    upload.ask(false);
    const name = config.dataset === 'custom' ? `your data (${data.upload?.preview.files.join(' + ') ?? 'uploaded'})` : config.dataset;
    const about = `${name}: ${layout.train_samples} training / ${layout.test_samples} test samples, ${plural(layout.steps_per_epoch, 'step')} per epoch`;
    header.status(this.notice ?? (this.linkNote ? `${this.linkNote} ${about}` : about), !!this.notice);
    this.linkNote = null;
    if (this.autoplay === gen) this.send(ToWorker.PLAY);
    this.recovery.refocusPlay();
  }

  onReport({ gen, train, probe, input, eval: ev, stepsPerSecond, memory }) {
    if (gen !== this.gen) return; // a report of an older config or run: drop it
    const { header } = this.ui;
    if (memory) header.memory(memory);
    if (input) this.views.input(input);
    const rec = this.recording;
    if (train) rec.addTrain(train);
    if (probe) rec.addProbe(probe);
    if (ev) rec.addEval(train?.step ?? probe?.step ?? 0, ev);
    if (train) this.onTrain(train, stepsPerSecond);
    if (probe) {
      if (this.gen === this.nextGen) this.stale.fresh(); // the new run's first probe: its charts are its own
      this.views.probe(probe, this.gen, this.view);
    }
    if (ev) {
      this.views.accuracy(train?.step ?? probe?.step ?? 0, ev);
      header.accuracy(ev, this.layout);
    }
  }

  onTrain(train, stepsPerSecond) {
    if (train.step >= 1) this.good = this.config;
    this.views.losses(train.losses);
    if (this.firstLosses.length < 5) {
      this.firstLosses.push(...train.losses.slice(0, 5 - this.firstLosses.length));
      if (this.firstLosses.length === 5) document.body.dataset.firstLosses = JSON.stringify(this.firstLosses);
    }
    $('step-count').textContent = String(train.step);
    $('step-count').dataset.step = String(train.step);
    $('epoch-count').textContent = String(train.epoch);
    if (stepsPerSecond && this.running) this.ui.header.speed(stepsPerSecond);
  }

  onError(msg) {
    const { gen, message, error, rejected, fault, current } = msg;
    if (fault) return this.recovery.onFault({ fault, message, gen });
    if (rejected) {
      // A network file the core could not map is set aside; the run on screen goes on.
      if (this.model && !this.model.loaded && gen >= this.model.gen) this.model = null;
      return this.recovery.onRejected(gen, error, current);
    }
    if (gen !== undefined && gen !== this.gen) return;
    this.setRunning(false);
    this.ui.header.status(message, true);
  }

  /** The steps the history scrubber can reach: the run's first and latest recorded probe. */
  historyExtent() {
    const ps = this.recording?.probes;
    return ps?.length ? { first: ps[0].step, last: ps.at(-1).step } : null;
  }

  /** The history scrubber moved (app/history.js, which keeps `at` within historyExtent): every recorded view shows `at` (null: live again). */
  scrubTo(at) {
    if (!this.recording) return;
    this.views.scrub(this.recording, at);
    if (at === null) delete document.body.dataset.scrubStep;
    else document.body.dataset.scrubStep = String(at);
  }

  /** A single-run preset says what to watch on top of the notes card. */
  showWatch(p) {
    $('explore-watch').innerHTML = '<b></b> ';
    $('explore-watch').firstChild.textContent = `${p.title}.`;
    $('explore-watch').append(p.what_to_watch);
    $('explore-watch').hidden = false;
    $('explain').open = true;
  }

  stem() {
    return `spikeplay-${configStem(this.config)}-seed${this.config.seed}`;
  }

  downloadJson() {
    if (!this.recording) return this.ui.header.status('nothing to download yet: no run has come up', true);
    saveJson(`${this.stem()}.json`, this.recording.toJSON());
  }

  downloadCsv() {
    if (!this.recording) return this.ui.header.status('nothing to download yet: no run has come up', true);
    saveCsv(`${this.stem()}.csv`, toCsv([this.recording]));
  }

  /** The network as `format` ('nir' or 'weights', files/model.js); a refusal is a status line. */
  async downloadModel(format) {
    const { header } = this.ui;
    if (!this.recording || !this.worker) return header.status('nothing to download yet: no run has come up', true);
    if (format === 'nir' && this.nir) return header.status(`Model as NIR: ${this.nir.reason ?? this.nir.message}`, true);
    const step = $('step-count').dataset.step;
    try {
      const name = await saveModel(this.worker, format, `${this.stem()}-step${step}`);
      header.status(`${MODEL_FORMATS[format].label}: saved ${name} (the network at step ${step})`);
    } catch (e) {
      header.status(`${MODEL_FORMATS[format].label}: ${e.message}`, true);
    }
  }

  /** What a chart's PNG is called, what run it shows, and its legend. */
  pngContext(canvas) {
    const legend = canvas.id === 'chart-accuracy' ? [{ label: 'train', color: COLORS.train }, { label: 'test', color: COLORS.test }] : [];
    const caption = `spikeplay · ${configStem(this.config).replace(/-/g, ' ')} · seed ${this.config.seed} · step ${$('step-count').dataset.step}`;
    return { name: `${this.stem()}-${canvas.id.replace(/^chart-/, '')}.png`, legend, caption };
  }

  /** Redraws every chart at the window's current size. */
  resize() {
    this.views.redrawAll();
  }
}
