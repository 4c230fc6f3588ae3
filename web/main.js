// Wiring: the URL hash and the controls produce a config, the worker trains it, and its
// reports feed the charts. The main thread never trains; it only draws what arrives.
import { AccuracyCurves, LossCurves } from './charts/curves.js';
import { DecisionBoundary } from './charts/boundary.js';
import { NetworkView } from './charts/network.js';
import { MembraneTraces, SpikeRaster } from './charts/raster.js';
import { RateHeatmap, RateProfile } from './charts/rates.js';
import { ControlPanel } from './controls.js';
import { FromWorker, ToWorker } from './protocol.js';
import { BY_KEY, crossCheck, fromHash, parseValue, toHash } from './state.js';

const $ = (id) => document.getElementById(id);
const page = {
  config: null, // the config of the run the charts show (always valid)
  hidden: [],
  gen: 0, // generation whose reports are drawn
  nextGen: 0,
  running: false,
  layout: null,
  view: { layer: 0, sample: 0 },
  firstLosses: [],
};

const charts = {
  loss: new LossCurves($('chart-loss')),
  accuracy: new AccuracyCurves($('chart-accuracy')),
  profile: new RateProfile($('chart-profile')),
  heatmap: new RateHeatmap($('chart-heatmap')),
  raster: new SpikeRaster($('chart-raster')),
  membrane: new MembraneTraces($('chart-membrane')),
  boundary: new DecisionBoundary($('chart-boundary')),
  network: new NetworkView($('chart-network'), (layer) => selectView({ layer })),
};
const dirty = new Set();
function redraw(...names) {
  if (!dirty.size) requestAnimationFrame(() => {
    for (const n of dirty) {
      charts[n].draw();
      const c = charts[n].canvas;
      c.dataset.version = String(Number(c.dataset.version ?? 0) + 1);
    }
    dirty.clear();
  });
  names.forEach((n) => dirty.add(n));
}

const panel = new ControlPanel($('controls'), onEdit);
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });

function send(type, extra = {}) {
  worker.postMessage({ type, ...extra });
}

/** Starts a run of `config`; the current run keeps going until the worker accepts it. */
function start(config) {
  page.nextGen += 1;
  send(ToWorker.INIT, { gen: page.nextGen, config });
}

function onEdit(key, text) {
  const parsed = parseValue(key, text);
  if (parsed.error) return panel.setError(key, parsed.error);
  panel.setError(key, '');
  const candidate = { ...page.config, [key]: parsed.value };
  const cross = crossCheck(candidate);
  if (cross) return panel.setError(cross.key, cross.error);
  start(candidate);
}

function selectView(change) {
  page.view = { ...page.view, ...change };
  charts.network.selected = charts.profile.selected = page.view.layer;
  $('raster-title').textContent = `layer ${page.view.layer + 1}, sample ${page.view.sample + 1}`;
  send(ToWorker.VIEW, page.view);
  redraw('network', 'profile');
}

function setRunning(running) {
  page.running = running;
  document.body.dataset.running = String(running);
  $('play').textContent = running ? '❚❚ Pause' : '▶ Train';
  $('play').setAttribute('aria-pressed', String(running));
  $('step').disabled = running;
}

function showStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function clearCharts() {
  charts.loss.clear();
  charts.accuracy.clear();
  charts.heatmap.clear();
  page.firstLosses = [];
  delete document.body.dataset.firstLosses;
  redraw(...Object.keys(charts));
}

/** f32 fields come back widened to f64 (0.05 -> 0.0500000007); show what was typed. */
function tidy(config) {
  const out = { ...config };
  for (const [k, v] of Object.entries(out)) if (BY_KEY[k]?.kind === 'float') out[k] = Number(v.toPrecision(7));
  return out;
}

function onReady({ gen, config, layout }) {
  if (gen !== page.nextGen) return;
  page.gen = gen;
  page.config = tidy(config);
  config = page.config;
  page.layout = layout;
  // Messages about bad values in the link stay up for the run they fell back from.
  if (!page.keepErrors) panel.clearErrors();
  page.keepErrors = false;
  panel.show(config);
  history.replaceState(null, '', toHash(config, page.hidden));
  charts.accuracy.setClasses(layout.classes);
  charts.network.setLayout(layout);
  charts.boundary.setLayout(layout);
  $('boundary-card').hidden = layout.features !== 2;
  $('views').classList.toggle('no-boundary', layout.features !== 2);
  page.view.layer = Math.min(page.view.layer, layout.depth - 1);
  charts.network.selected = charts.profile.selected = page.view.layer;
  clearCharts();
  $('step-count').dataset.gen = String(gen);
  showStatus(`${config.dataset}: ${layout.train_samples} training / ${layout.test_samples} test samples, ${layout.steps_per_epoch} steps per epoch`);
}

function onReport({ gen, train, probe, eval: ev, stepsPerSecond }) {
  if (gen !== page.gen) return; // a report of an older config or run: drop it
  if (train) {
    charts.loss.push(train.losses);
    if (page.firstLosses.length < 5) {
      page.firstLosses.push(...train.losses.slice(0, 5 - page.firstLosses.length));
      if (page.firstLosses.length === 5) document.body.dataset.firstLosses = JSON.stringify(page.firstLosses);
    }
    $('step-count').textContent = String(train.step);
    $('step-count').dataset.step = String(train.step);
    $('epoch-count').textContent = String(train.epoch);
    if (stepsPerSecond) $('speed').textContent = stepsPerSecond.toFixed(0);
    redraw('loss');
  }
  if (probe) onProbe(probe);
  if (ev) {
    charts.accuracy.push(train?.step ?? probe?.step ?? 0, ev.train_accuracy, ev.test_accuracy);
    redraw('accuracy');
  }
}

function onProbe(p) {
  charts.profile.set(p.rates, p.silent, p.saturated);
  charts.network.setRates(p.rates, p.silent, p.saturated);
  charts.heatmap.push(p.step, p.rates);
  charts.raster.set(p.raster, page.layout?.width ?? p.raster.neurons);
  charts.membrane.set(p.raster);
  if (p.grid_size) charts.boundary.set(p.grid, p.grid_size);
  const mean = p.rates.reduce((a, b) => a + b, 0) / Math.max(1, p.rates.length);
  $('mean-rate').textContent = mean.toFixed(3);
  $('mean-rate').dataset.gen = String(page.gen);
  $('synops').textContent = p.synops >= 1000 ? `${(p.synops / 1000).toFixed(1)}k` : p.synops.toFixed(0);
  redraw('profile', 'network', 'heatmap', 'raster', 'membrane', 'boundary');
}

function onError({ gen, message, field, rejected }) {
  if (rejected) {
    // A config the core refused: say so next to its control; the old run keeps going.
    if (field) panel.setError(field, message.replace(/^invalid config: [a-z_]+: /, ''));
    else showStatus(message, true);
    return;
  }
  if (gen !== undefined && gen !== page.gen) return;
  setRunning(false);
  showStatus(message, true);
}

worker.onmessage = ({ data }) => {
  switch (data.type) {
    case FromWorker.LOADED: return page.nextGen === 0 && start(page.config);
    case FromWorker.READY: return onReady(data);
    case FromWorker.REPORT: return onReport(data);
    case FromWorker.STATE: return setRunning(data.running);
    case FromWorker.ERROR: return onError(data);
  }
};
worker.onerror = (e) => showStatus(`worker failed: ${e.message ?? 'see the console'}`, true);

$('play').addEventListener('click', () => send(page.running ? ToWorker.PAUSE : ToWorker.PLAY));
$('step').addEventListener('click', () => send(ToWorker.STEP));
$('reset').addEventListener('click', () => {
  page.nextGen += 1;
  send(ToWorker.RESET, { gen: page.nextGen });
});
$('sample-next').addEventListener('click', () => {
  const n = page.layout?.probe_samples ?? 1;
  selectView({ sample: (page.view.sample + 1) % n });
});
$('copy-link').addEventListener('click', async () => {
  const done = (t) => {
    $('copy-link').textContent = t;
    setTimeout(() => ($('copy-link').textContent = 'Copy link'), 1500);
  };
  try {
    await navigator.clipboard.writeText(location.href);
    done('Copied ✓');
  } catch {
    window.prompt('Copy this link:', location.href);
  }
});

// Space plays or pauses, unless the user is typing in a control.
document.addEventListener('keydown', (e) => {
  if (e.key !== ' ' || e.target.closest('input, select, button, textarea')) return;
  e.preventDefault();
  $('play').click();
});

function applyHash() {
  const { config, hidden, errors } = fromHash(location.hash);
  page.hidden = hidden;
  panel.hide(hidden);
  panel.clearErrors();
  for (const [key, err] of Object.entries(errors)) panel.setError(key, `link value ignored: ${err}`);
  page.keepErrors = Object.keys(errors).length > 0;
  const cross = crossCheck(config);
  return cross ? fromHash('').config : config;
}
window.addEventListener('hashchange', () => start(applyHash()));
window.addEventListener('resize', () => redraw(...Object.keys(charts)));

page.config = applyHash();
panel.show(page.config);
setRunning(false);
redraw(...Object.keys(charts));
