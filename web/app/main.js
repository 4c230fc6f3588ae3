// Wiring: the URL hash and the controls produce a config, the worker trains it, and its
// reports feed the charts. The main thread never trains; it only draws what arrives.
// A hash with `compare=` switches to compare mode (compare.js), which owns its own workers;
// explore mode's worker is ended meanwhile, so the two never compete for the cores.
import { DEBUG, newWorker } from './boot.js';
import { Compare } from '../compare/compare.js';
import { compareHash, configStem, defaultSpec, readCompare, specParam } from '../compare/spec.js';
import { ControlPanel } from '../state/controls.js';
import { ExploreViews } from '../explore/views.js';
import { DATA_FILES, DataFiles, dataName, hideDownload, showDownload } from '../files/datasets.js';
import { saveCsv, saveJson } from '../files/download.js';
import { initMenus, showMode } from './menus.js';
import { presetBase, presetSpec } from '../state/presets.js';
import { FaultAlert, faultCause, settingsChange } from '../run/fault.js';
import { FromWorker, TRAP_PATTERN, ToWorker } from '../run/protocol.js';
import { Recording, toCsv } from '../run/recording.js';
import { plural } from '../run/format.js';
import { paintTransport, showAccuracy, showMemory, showSpeed, showStatus } from './header.js';
import { perf, reportHandled } from '../run/perf.js';
import { COLORS } from '../charts/canvas.js';
import { BY_KEY, MAX_FIELD_FALLBACKS, crossCheck, firstRunFallback, fromHash, parseValue, tidyConfig, toHash, unknownNotice } from '../state/state.js';
import { Upload, previewIn } from '../files/upload.js';

const $ = (id) => document.getElementById(id);

const page = {
  config: null, // the config of the run the charts show (always valid)
  requested: null, // the latest config sent to the worker: edits build on it, not on `config`
  good: null, // the last config that trained a step: what a crash during training falls back to
  sent: new Map(), // gen -> config of each INIT the worker has not answered yet
  hidden: [],
  gen: 0, // generation whose reports are drawn (0: no run yet)
  nextGen: 0,
  lastEdit: null, // { key, text, gen } of the edit that produced the latest request
  refused: null, // { key, at }: a refused edit, kept as typed in `key`, its message at `at`
  restore: null, // the config to start once a replacement worker has loaded (from compare mode)
  crashes: 0, // faults (the worker stopped) since the last run that came up
  fault: null, // { back, play } while the alert says the worker stopped (no run exists)
  refocus: false, // the alert's button had focus: Train gets it once the new run is up
  notice: null, // a status message that outlives the next READY (a link's settings refused)
  linkNote: null, // shown once, by the link's first READY: its keys that are not settings
  running: false,
  loaded: false, // the worker has instantiated the wasm module (FromWorker.LOADED)
  layout: null,
  view: { layer: 0, sample: 0 },
  firstLosses: [],
  recording: null, // what the run on screen reported, for Download
  autoplay: 0, // gen of a run that plays as soon as it is built (an explore preset)
  waiting: 0, // gen of a requested run waiting for its data to download (the old run is paused)
  resume: false, // the old run was paused for a download: the next run plays once built
  fallbacks: 0, // refusals of the page's first run (a link), each answered by a fallback
};
let mode = 'explore';

const views = new ExploreViews((layer) => selectView({ layer }));
const stale = views.stale;

const panel = new ControlPanel($('controls'), (key, text) => (mode === 'compare' ? compare.onBaseEdit(key, text) : onEdit(key, text)));
let worker = null;
const faultAlert = new FaultAlert($('fault'), { restart: () => restart(page.requested), back: () => restart(page.fault?.back ?? page.requested) });
// MNIST files and the user's upload, in memory for every later run (both modes).
const data = new DataFiles(showDownload);
const compare = new Compare({
  panel, newWorker, paint: paintTransport, status: showStatus, hidden: () => page.hidden,
  files: (config) => data.filesFor(config),
});
const upload = new Upload(panel.rows.dataset, {
  // Explore mode's worker parses between training ticks; compare mode borrows a fresh one.
  parse: (files) => (worker ? previewIn(worker, files) : previewOnce(files)),
  accept: (got) => {
    data.upload = got;
    onUpload(got);
  },
});

async function previewOnce(files) {
  const w = newWorker();
  try {
    return await previewIn(w, files);
  } finally {
    w.terminate();
  }
}

/** Ends the worker, with anything it still had queued (a stopped one cannot be trusted). */
function dropWorker() {
  if (!worker) return;
  worker.onmessage = worker.onerror = null;
  worker.terminate();
  worker = null;
}

/** (Re)creates the worker. */
function spawn() {
  dropWorker();
  worker = newWorker();
  page.loaded = false;
  worker.onmessage = onMessage;
  // The script failed (to load, or threw where the worker catches nothing): it is a fault too.
  worker.onerror = (e) => {
    e.preventDefault?.();
    onFault({ fault: 'script', message: e.message ?? '' });
  };
}

function send(type, extra = {}) {
  worker?.postMessage({ type, ...extra });
}

/** The current selection, clamped to what a run of `config` has. */
const viewFor = (config) => ({
  layer: Math.min(page.view.layer, config.depth - 1),
  sample: Math.min(page.view.sample, config.probe_samples - 1),
});

/**
 * Starts a run of `config`; the current run keeps going until the worker accepts it. A run
 * on MNIST or an upload first gets its files (a download only the first time); a failed
 * download, or `custom` with no upload, is refused like a config the core refuses.
 */
function start(config) {
  if (page.fault) {
    page.fault = null;
    page.refocus = faultAlert.hide();
  }
  if (!worker) spawn(); // the worker kept stopping and none was started in its place
  page.requested = config;
  const g = (page.nextGen += 1);
  page.sent.set(g, config);
  document.body.dataset.requestedGen = String(g);
  // The old run must not train on while the settings name another data set: pause it until
  // the download ends (the new run then plays in its place).
  page.waiting = DATA_FILES[config.dataset] && !data.has(config) ? g : 0;
  if (page.waiting && page.running) {
    page.resume = true;
    send(ToWorker.PAUSE);
  }
  if (page.resume) page.autoplay = g;
  if (page.gen) {
    const what = page.waiting ? `waiting for ${dataName(config.dataset)} to download` : 'building the new network…';
    stale.previous(`previous run (${page.config.dataset}) — ${what}`);
  }
  setBusy(true);
  const init = (files) => send(ToWorker.INIT, { gen: g, config, view: viewFor(config), files });
  if (!(config.dataset in DATA_FILES) && config.dataset !== 'custom') return init(undefined);
  data.filesFor(config).then((files) => {
    if (g !== page.nextGen || !worker) return page.sent.delete(g); // a later request (or compare mode) took over
    if (page.waiting === g) {
      page.waiting = 0;
      if (page.gen) stale.previous(`previous run (${page.config.dataset}) — building the new network…`);
      setBusy(true);
    }
    init(files);
  }, (e) => {
    upload.ask(!!e.needsUpload);
    const message = e.needsUpload && page.gen
      ? `Drop or choose a file to train on your own data; still training ${page.config.dataset} meanwhile.` : e.message;
    if (worker) onRejected(g, message, 'dataset', page.gen, !e.needsUpload);
  });
}

/**
 * An upload parsed: the run (or every compared run) restarts on it, settings otherwise kept,
 * except a conv net on plain feature vectors, which the core refuses: conv is unticked.
 */
function onUpload({ preview }) {
  const base = mode === 'compare' ? compare.base : page.requested;
  const change = { dataset: 'custom' };
  if (base.conv && preview.image.length !== 2) {
    change.conv = false;
    upload.note(`Convolutional unticked: ${preview.files.join(' + ')} has plain feature vectors`);
  }
  if (mode === 'compare') return compare.setBase(change);
  if (page.refused) panel.setError(page.refused.at, '');
  page.refused = null;
  page.notice = null;
  panel.setError('dataset', '');
  panel.setError('conv', '');
  page.lastEdit = { key: 'dataset', text: 'custom', gen: page.nextGen + 1 };
  start({ ...page.requested, ...change });
  panel.show(page.requested);
}

const kept = () => (page.refused ? [page.refused.key] : []);

function onEdit(key, text) {
  // A new edit replaces the previous refused one (that control goes back to the value in use)
  // and clears this control's own message, such as a note about the link.
  if (page.refused) panel.setError(page.refused.at, '');
  page.refused = null;
  page.notice = null;
  panel.setError(key, '');
  const parsed = parseValue(key, text);
  let refusal = parsed.error ? { at: key, error: parsed.error } : null;
  const candidate = { ...page.requested, [key]: parsed.value };
  if (!refusal) {
    const cross = crossCheck(candidate);
    if (cross) refusal = { at: cross.keys.includes(key) ? key : cross.key, error: cross.error };
  }
  if (refusal) {
    page.refused = { key, at: refusal.at };
    panel.setError(refusal.at, refusal.error);
  } else if (candidate[key] !== page.requested[key]) {
    page.lastEdit = { key, text, gen: page.nextGen + 1 };
    start(candidate);
  }
  panel.show(page.requested, kept());
}

function selectView(change) {
  page.view = { ...page.view, ...change };
  showView();
  send(ToWorker.VIEW, page.view);
}

const showView = () => views.select(page.view);

function setRunning(running) {
  page.running = running;
  if (!running) showSpeed(null);
  setBusy(document.body.dataset.busy === 'true');
}

function setBusy(busy) {
  // After a fault the charts still show the stopped run, but no worker has it any more.
  paintTransport({ running: page.running, hasRun: page.gen !== 0 && !page.fault, busy, waiting: !!page.waiting });
  const doing = page.waiting ? `downloading ${dataName(page.requested.dataset)} (once; it stays in memory)…`
    : page.loaded ? 'building the network…' : 'loading the WebAssembly module…';
  if (busy) showStatus(page.notice ?? doing, !!page.notice);
}

function onReady({ gen, config, layout, memory }) {
  if (gen !== page.nextGen) return;
  if (memory) showMemory(memory);
  if (page.autoplay === gen) page.resume = false;
  for (const g of page.sent.keys()) if (g <= gen) page.sent.delete(g);
  page.gen = gen;
  page.config = page.requested = tidyConfig(config);
  config = page.config;
  page.recording = new Recording(config);
  page.layout = layout;
  page.crashes = 0;
  panel.show(config, kept());
  history.replaceState(null, '', toHash(config, page.hidden));
  page.firstLosses = [];
  delete document.body.dataset.firstLosses;
  views.start(layout);
  page.view = viewFor(config); // the worker got the same clamped view with the config
  showView();
  $('step-count').dataset.gen = String(gen);
  showSpeed(null);
  showAccuracy(null);
  setBusy(false);
  hideDownload();
  upload.ask(false);
  const name = config.dataset === 'custom' ? `your data (${data.upload?.preview.files.join(' + ') ?? 'uploaded'})` : config.dataset;
  const about = `${name}: ${layout.train_samples} training / ${layout.test_samples} test samples, ${plural(layout.steps_per_epoch, 'step')} per epoch`;
  showStatus(page.notice ?? (page.linkNote ? `${page.linkNote} ${about}` : about), !!page.notice);
  page.linkNote = null;
  if (page.autoplay === gen) send(ToWorker.PLAY);
  if (page.refocus && (document.activeElement === document.body || !document.activeElement)) $('play').focus();
  page.refocus = false;
}

function onReport({ gen, train, probe, input, eval: ev, stepsPerSecond, memory }) {
  if (gen !== page.gen) return; // a report of an older config or run: drop it
  if (memory) showMemory(memory);
  if (input) views.input(input);
  const rec = page.recording;
  if (train) rec.addTrain(train);
  if (probe) rec.addProbe(probe);
  if (ev) rec.addEval(train?.step ?? probe?.step ?? 0, ev);
  if (train) {
    if (train.step >= 1) page.good = page.config;
    views.losses(train.losses);
    if (page.firstLosses.length < 5) {
      page.firstLosses.push(...train.losses.slice(0, 5 - page.firstLosses.length));
      if (page.firstLosses.length === 5) document.body.dataset.firstLosses = JSON.stringify(page.firstLosses);
    }
    $('step-count').textContent = String(train.step);
    $('step-count').dataset.step = String(train.step);
    $('epoch-count').textContent = String(train.epoch);
    if (stepsPerSecond && page.running) showSpeed(stepsPerSecond);
  }
  if (probe) {
    if (page.gen === page.nextGen) stale.fresh(); // the new run's first probe: its charts are its own
    views.probe(probe, page.gen, page.view);
  }
  if (ev) {
    views.accuracy(train?.step ?? probe?.step ?? 0, ev);
    showAccuracy(ev, page.layout);
  }
}

function onError({ gen, message, field, rejected, fault, current }) {
  if (fault || TRAP_PATTERN.test(message)) return onFault({ fault: fault ?? 'trap', message, gen });
  if (rejected) return onRejected(gen, message, field, current);
  if (gen !== undefined && gen !== page.gen) return;
  setRunning(false);
  showStatus(message, true);
}

/**
 * The core refused a config the page's checks let through: say so next to its control. With
 * no run to keep (the page's first run, a link), `retry` starts a fallback instead.
 */
function onRejected(gen, message, field, current, retry = true) {
  const refused = page.sent.get(gen);
  page.sent.delete(gen);
  if (gen !== page.nextGen) return; // a later request supersedes it
  const text = message.replace(/^invalid config: [a-z_]+: /, '');
  page.waiting = 0;
  // Up to MAX_FIELD_FALLBACKS one-field resets, then one to the defaults (which the core takes).
  if (retry && !page.gen && refused && page.fallbacks <= MAX_FIELD_FALLBACKS) return fallBack(refused, field, text);
  if (!field) showStatus(message, true);
  else if (page.lastEdit?.gen === gen) {
    page.refused = { key: page.lastEdit.key, at: field };
    // No file yet is a request for one (a notice); a file the core refused is an error.
    panel.setError(field, text, retry ? 'error' : 'notice');
    if (retry && page.lastEdit.key === 'dataset' && refused?.dataset === 'custom') upload.error(text);
  } else panel.setError(field, text);
  stale.fresh();
  if (page.resume) {
    page.resume = false;
    page.autoplay = 0;
    send(ToWorker.PLAY); // the run paused for the refused download trains on
  }
  // The worker kept its current run; if its READY was dropped as stale, ask for it again.
  if (current !== page.gen && page.sent.has(current)) return start(page.sent.get(current));
  page.requested = page.config;
  setBusy(false);
  panel.show(page.requested, kept());
  // No run yet (a link the core refused, or `custom` with no file): say why, in red.
  if (page.gen) showStatus(`${page.config.dataset}: kept the previous settings`);
  else showStatus(message, true);
}

/** The page's first run was refused: the named field back to its default, or all defaults. */
function fallBack(refused, field, text) {
  const next = firstRunFallback(refused, field, page.fallbacks);
  page.fallbacks += 1;
  // The field reset may be another of the bound's fields than the one the core named.
  if (next.field) panel.setError(next.field, `${text}; using the default ${BY_KEY[next.field].default}`);
  else {
    if (field) panel.setError(field, `${text}; using the defaults`);
    page.notice = `The link's settings were refused (${text}); showing the default settings instead.`;
  }
  start(next.config);
  panel.show(next.config);
}

/**
 * The worker stopped (protocol.js FAULTS): its run is gone and its module cannot be trusted. A
 * fresh worker replaces it at once, so every control keeps working; the settings stay as the user
 * left them (controls and link); the alert says why and offers Restart, and the last settings
 * that trained when they differ. A worker that stops again and again with no run coming up in
 * between (one that cannot even load) is not replaced a third time until the user acts.
 */
function onFault({ fault, message, gen }) {
  console.warn(`spikeplay: the training worker stopped (${fault}: ${message}); replacing it`);
  page.crashes += 1;
  // The run on screen failed while training: back to the last config that trained a step. A new
  // config failed to build: back to the run on screen, which came up.
  const last = gen === page.gen ? page.good : (page.good ?? page.config);
  const back = last && settingsChange(page.requested, last);
  page.fault = { back: back ? last : null, play: page.running || !!page.autoplay || page.resume };
  page.sent.clear();
  page.restore = null;
  page.waiting = 0;
  page.resume = false;
  page.autoplay = 0;
  page.notice = null;
  page.running = false;
  showSpeed(null);
  if (page.crashes <= 2) spawn();
  else dropWorker();
  setBusy(false);
  panel.show(page.requested, kept());
  history.replaceState(null, '', toHash(page.requested, page.hidden));
  // The charts hold the run that stopped: dimmed if it is not of the settings on the left.
  if (page.gen && settingsChange(page.requested, page.config)) stale.previous(`previous run (${page.config.dataset}) — not the settings on the left`);
  else stale.fresh();
  showStatus('The training worker stopped.', true);
  faultAlert.show(faultCause({ fault, message }), { back, repeated: page.crashes > 2 });
}

/** Restart, or back to the last settings that trained: a fresh run of `config`. */
function restart(config) {
  const play = page.fault?.play;
  page.refused = null;
  panel.clearErrors();
  start(config);
  panel.show(page.requested);
  if (play) page.autoplay = page.nextGen; // it was training: it trains on once built
}

function onMessage({ data }) {
  switch (data.type) {
    case FromWorker.LOADED: {
      page.loaded = true;
      document.documentElement.dataset.wasmBuild = data.build; // the module that runs (wasm-build.js)
      const config = page.restore;
      page.restore = null;
      if (config) return start(config);
      return setBusy(document.body.dataset.busy === 'true'); // the status moves on to building
    }
    case FromWorker.READY: return onReady(data);
    case FromWorker.REPORT:
      perf.reports += 1;
      onReport(data);
      return reportHandled(data.sentAt);
    case FromWorker.STATE: return setRunning(data.running);
    case FromWorker.ERROR: return onError(data);
  }
}

// A mouse click leaves focus on the button, where Space would press it again; the page's
// Space shortcut (play/pause) should act instead. Keyboard presses keep focus (detail 0).
const click = (id, fn) => $(id).addEventListener('click', (e) => {
  if (e.detail > 0) e.currentTarget.blur();
  fn();
});
click('play', () => (mode === 'compare' ? compare.togglePlay() : send(page.running ? ToWorker.PAUSE : ToWorker.PLAY)));
click('step', () => (mode === 'compare' ? compare.step() : send(ToWorker.STEP)));
click('reset', () => {
  if (mode === 'compare') return compare.reset();
  page.nextGen += 1;
  document.body.dataset.requestedGen = String(page.nextGen);
  send(ToWorker.RESET, { gen: page.nextGen });
});
click('sample-next', () => {
  const n = page.layout?.probe_samples ?? 1;
  selectView({ sample: (page.view.sample + 1) % n });
});
// Space plays or pauses, unless focus is on something Space already operates.
document.addEventListener('keydown', (e) => {
  if (e.key !== ' ' || e.target.closest('input, select, button, textarea, summary')) return;
  e.preventDefault();
  if (!$('play').disabled) $('play').click();
});

/** Reads the hash; fields the link got wrong show the value used instead, and why. */
function applyHash() {
  const { config, hidden, errors, unknown } = fromHash(location.hash);
  page.linkNote = unknownNotice(unknown);
  page.hidden = hidden;
  page.refused = null;
  panel.hide(hidden);
  panel.clearErrors();
  for (const [key, err] of Object.entries(errors)) panel.setError(key, err, 'notice');
  panel.show(config);
  return config;
}
window.addEventListener('hashchange', () => {
  // replaceState (after each READY) fires no hashchange: this is a hand edit or a new link.
  page.notice = null;
  route();
});
// Only the mode on screen redraws: the other's charts are hidden, and redrawn when it returns.
window.addEventListener('resize', () => (mode === 'compare' ? compare.resize() : views.redrawAll()));

/**
 * Reads the hash and runs it in its mode. `autoplay`: a preset was chosen, which is a request
 * to watch it train; a link or the mode switch only builds (press Train, as in explore).
 */
function route({ autoplay = false } = {}) {
  const config = applyHash();
  const wanted = readCompare(location.hash);
  if (wanted) {
    const spec = wanted.spec ?? defaultSpec();
    const ignored = wanted.error ? `the link's comparison was ignored (${wanted.error}); comparing ${specParam(spec)}` : '';
    const note = [ignored, page.linkNote].filter(Boolean).join(' ');
    page.linkNote = null;
    if (mode === 'explore') stopExplore();
    setMode('compare');
    compare.open(config, spec, wanted.preset, { autoplay, note });
  } else if (mode === 'compare') {
    compare.close();
    setMode('explore');
    page.config = page.requested = page.restore = config;
    spawn(); // its LOADED starts `page.restore`
    setBusy(true);
    if (autoplay) page.autoplay = page.nextGen + 1;
  } else {
    start(config);
    if (autoplay) page.autoplay = page.nextGen;
  }
}

/** Ends explore mode's worker and forgets its run (compare mode needs the cores). */
function stopExplore() {
  if (worker) {
    worker.onmessage = worker.onerror = null;
    worker.terminate();
    worker = null;
  }
  page.sent.clear();
  page.gen = 0;
  page.running = false;
  page.restore = null;
  page.fault = null;
  faultAlert.hide();
  page.refused = null;
  page.waiting = 0;
  stale.fresh();
}

function setMode(next) {
  mode = next;
  showMode(next);
  if (next === 'explore') views.redrawAll(); // at the window's current size (see 'resize')
}

/** Moves to `hash` as a new history entry (Back returns) and runs it. */
function go(hash, options) {
  history.pushState(null, '', hash);
  page.notice = null;
  route(options);
}

let lastSpec = null; // what compare mode last compared, offered again on the way back
const exploreStem = () => `spikeplay-${configStem(page.config)}-seed${page.config.seed}`;
initMenus({
  onMode(next) {
    if (next === mode) return;
    if (next === 'compare') return go(compareHash(page.requested ?? page.config, page.hidden, lastSpec ?? defaultSpec()));
    lastSpec = compare.spec;
    go(toHash(compare.base, page.hidden));
  },
  onPreset(p) {
    if (p.compare) return go(compareHash(presetBase(p), page.hidden, presetSpec(p), p.id), { autoplay: true });
    // A single-run preset says what to watch on top of the notes card.
    $('explore-watch').innerHTML = '<b></b> ';
    $('explore-watch').firstChild.textContent = `${p.title}.`;
    $('explore-watch').append(p.what_to_watch);
    $('explore-watch').hidden = false;
    $('explain').open = true;
    go(toHash(presetBase(p), page.hidden), { autoplay: true });
  },
  onDownload(kind) {
    if (mode === 'compare') return kind === 'json' ? compare.downloadJson() : compare.downloadCsv();
    if (!page.recording) return showStatus('nothing to download yet: no run has come up', true);
    if (kind === 'json') saveJson(`${exploreStem()}.json`, page.recording.toJSON());
    else saveCsv(`${exploreStem()}.csv`, toCsv([page.recording]));
  },
  pngContext(card, canvas) {
    if (mode === 'compare') return compare.pngContext(canvas);
    const legend = canvas.id === 'chart-accuracy' ? [{ label: 'train', color: COLORS.train }, { label: 'test', color: COLORS.test }] : [];
    const caption = `spikeplay · ${configStem(page.config).replace(/-/g, ' ')} · seed ${page.config.seed} · step ${$('step-count').dataset.step}`;
    return { name: `${exploreStem()}-${canvas.id.replace(/^chart-/, '')}.png`, legend, caption };
  },
});

if (DEBUG) {
  window.spikeplayDebug = {
    // `kind`: 'trap' (default), 'panic' or 'throw' (ToWorker.DEBUG_TRAP).
    trap: (at, kind = 'trap') => send(ToWorker.DEBUG_TRAP, { at, kind }),
    trapRun: (i, at, kind = 'trap') => compare.runs[i]?.send(ToWorker.DEBUG_TRAP, { at, kind }),
  };
}
if (readCompare(location.hash)) route();
else {
  page.config = page.requested = applyHash();
  spawn();
  setRunning(false);
  // The worker keeps messages until its module is instantiated: the first run is asked for
  // now, not a round trip after its LOADED.
  start(page.config);
}
views.redrawAll();
