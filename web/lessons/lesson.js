// What a lesson is, as data: a file in web/lessons/ (listed in web/lessons/index.json) with
// chapters, each a few sentences, one live experiment and "what to see" checkpoints that are
// declarative predicates over the latest probe and evaluation of the run (or runs) on screen.
// A teacher writes another lesson by adding a file; a mistake in it gets an error naming the
// field (`chapters[2].checkpoints[0].when.metric`), never a blank page.
// This module is pure (no DOM), so node tests check the parsing and the predicates.
//
// A lesson file:
//   { "id": "paper", "title": "...", "summary": "...",
//     "chapters": [ { "title": "...", "text": ["a paragraph", ...],
//       "experiment": { "preset": "deep-plain" }          // or
//       "experiment": { "settings": { "depth": 16, ... }, "compare": "norm:none,psp" },
//                      (either may add "pace": steps per second, one of run/pace.js PACES)
//       "checkpoints": [ { "see": "three or more layers fall silent", "chart": "profile",
//         "when": { "metric": "silent_layers", "op": ">=", "value": 3, "run": "none" } } ] } ] }
// `when` is one test ({ metric, op, value } or { metric, op, than: { run, metric?, plus? } }),
// or { "all": [ ... ] } / { "any": [ ... ] } of tests. `run` names a compared run by its label
// ("none", "residual on"); in explore mode it is left out. Once a checkpoint holds it stays lit,
// with the step it was first seen at, so a passing moment is not lost.
import { PACES } from '../run/pace.js';

/** What a checkpoint can read of a run, from its latest probe, evaluation and step. */
export const METRICS = {
  step: 'training steps done',
  loss: 'the latest step\'s loss',
  test_accuracy: 'test accuracy at the latest evaluation (0 to 1)',
  train_accuracy: 'train accuracy at the latest evaluation (0 to 1)',
  mean_rate: 'mean firing rate over the hidden layers',
  min_rate: 'the lowest hidden layer\'s mean rate',
  max_rate: 'the highest hidden layer\'s mean rate',
  silent_layers: 'hidden layers whose mean rate is below 0.001',
  saturated_layers: 'hidden layers whose mean rate is 0.9 or more',
  worst_saturated: 'the largest share of one layer\'s neurons firing at 0.9 or more (0 to 1)',
  worst_silent: 'the largest share of one layer\'s neurons that never fired (0 to 1)',
  synops: 'synaptic operations per sample',
};
export const OPS = { '<': (a, b) => a < b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '>=': (a, b) => a >= b };
/** The charts a checkpoint can point at, by the card each mode shows them in. */
export const CHARTS = {
  network: { explore: 'network-card' },
  loss: { explore: 'chart-loss', compare: 'cmp-loss' },
  accuracy: { explore: 'chart-accuracy', compare: 'cmp-accuracy' },
  profile: { explore: 'chart-profile', compare: 'cmp-profile' },
  heatmap: { explore: 'chart-heatmap', compare: 'cmp-heatmaps' },
  raster: { explore: 'chart-raster' },
  membrane: { explore: 'chart-membrane' },
  table: { compare: 'compare-table' },
};
const MAX_CHAPTERS = 30;
const MAX_TEXT = 2000;

class LessonError extends Error {
  constructor(field, message) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}
const fail = (field, message) => {
  throw new LessonError(field, message);
};
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v, field, max = MAX_TEXT) => {
  if (typeof v !== 'string' || !v.trim()) fail(field, 'must be a non-empty text');
  if (v.length > max) fail(field, `is ${v.length} characters long (at most ${max})`);
  return v;
};
const only = (obj, keys, field) => {
  for (const k of Object.keys(obj)) if (!keys.includes(k)) fail(`${field}.${k}`, `is not a lesson field (${field} takes ${keys.join(', ')})`);
};

function test(t, field) {
  if (!isObject(t)) fail(field, 'must be an object such as { "metric": "silent_layers", "op": ">=", "value": 3 }');
  for (const join of ['all', 'any']) {
    if (join in t) {
      only(t, [join], field);
      if (!Array.isArray(t[join]) || !t[join].length) fail(`${field}.${join}`, 'must be a non-empty list of tests');
      return { [join]: t[join].map((x, i) => test(x, `${field}.${join}[${i}]`)) };
    }
  }
  only(t, ['metric', 'op', 'value', 'than', 'run'], field);
  if (!(t.metric in METRICS)) fail(`${field}.metric`, `'${String(t.metric).slice(0, 24)}' is not a metric (one of ${Object.keys(METRICS).join(', ')})`);
  if (!(t.op in OPS)) fail(`${field}.op`, `must be one of ${Object.keys(OPS).join(' ')}`);
  if (t.run !== undefined) text(t.run, `${field}.run`, 64);
  if (('value' in t) === ('than' in t)) fail(field, 'needs either "value" (a number) or "than" (another run\'s metric)');
  if ('value' in t && !Number.isFinite(t.value)) fail(`${field}.value`, 'must be a number');
  if ('than' in t) {
    if (!isObject(t.than)) fail(`${field}.than`, 'must be an object such as { "run": "bn" }');
    only(t.than, ['run', 'metric', 'plus'], `${field}.than`);
    text(t.than.run, `${field}.than.run`, 64);
    if (t.than.metric !== undefined && !(t.than.metric in METRICS)) fail(`${field}.than.metric`, `'${String(t.than.metric).slice(0, 24)}' is not a metric`);
    if (t.than.plus !== undefined && !Number.isFinite(t.than.plus)) fail(`${field}.than.plus`, 'must be a number');
  }
  return { ...t };
}

function experiment(e, field) {
  if (!isObject(e)) fail(field, 'must be an object with "preset", or "settings" and an optional "compare"');
  only(e, ['preset', 'settings', 'compare', 'pace'], field);
  if (('preset' in e) === ('settings' in e)) fail(field, 'needs either "preset" or "settings"');
  // A pace (steps/s, run/pace.js) slows the experiment down enough to watch what it shows.
  if ('pace' in e && !PACES.includes(e.pace)) fail(`${field}.pace`, `must be one of ${PACES.join(', ')} (steps per second; 0 is full speed)`);
  if ('preset' in e) text(e.preset, `${field}.preset`, 64);
  if ('settings' in e && !isObject(e.settings)) fail(`${field}.settings`, 'must be an object of settings, such as { "depth": 16 }');
  if ('compare' in e) text(e.compare, `${field}.compare`, 300);
  return { ...e };
}

/**
 * Checks a lesson file's JSON. Returns { lesson } or { error, field }: the first problem,
 * naming its place in the file. Settings, presets and comparisons are checked where they are
 * used (`chapterHash` in guide.js goes through the page's own link reading, which names a bad
 * setting); here the structure, the metrics and the charts.
 */
export function parseLesson(json) {
  try {
    if (!isObject(json)) fail('lesson', 'must be a JSON object');
    only(json, ['id', 'title', 'summary', 'chapters'], 'lesson');
    const id = text(json.id, 'id', 40);
    if (!/^[a-z0-9-]+$/.test(id)) fail('id', 'must be lower-case letters, digits and dashes');
    text(json.title, 'title', 120);
    if (json.summary !== undefined) text(json.summary, 'summary', 400);
    if (!Array.isArray(json.chapters) || !json.chapters.length) fail('chapters', 'must be a non-empty list');
    if (json.chapters.length > MAX_CHAPTERS) fail('chapters', `has ${json.chapters.length} chapters (at most ${MAX_CHAPTERS})`);
    const chapters = json.chapters.map((c, i) => {
      const at = `chapters[${i}]`;
      if (!isObject(c)) fail(at, 'must be an object');
      only(c, ['title', 'text', 'experiment', 'checkpoints', 'formula'], at);
      text(c.title, `${at}.title`, 120);
      const paras = Array.isArray(c.text) ? c.text : [c.text];
      paras.forEach((p, j) => text(p, `${at}.text${Array.isArray(c.text) ? `[${j}]` : ''}`));
      if (c.formula !== undefined) text(c.formula, `${at}.formula`, 200);
      const checkpoints = (c.checkpoints ?? []).map((k, j) => {
        const cat = `${at}.checkpoints[${j}]`;
        if (!isObject(k)) fail(cat, 'must be an object with "see" and "when"');
        only(k, ['see', 'when', 'chart'], cat);
        text(k.see, `${cat}.see`, 300);
        if (k.chart !== undefined && !(k.chart in CHARTS)) fail(`${cat}.chart`, `'${String(k.chart).slice(0, 24)}' is not a chart (one of ${Object.keys(CHARTS).join(', ')})`);
        return { see: k.see, chart: k.chart ?? null, when: test(k.when, `${cat}.when`) };
      });
      return { title: c.title, text: paras, formula: c.formula ?? null, experiment: experiment(c.experiment, `${at}.experiment`), checkpoints };
    });
    return { lesson: { id, title: json.title, summary: json.summary ?? '', chapters } };
  } catch (e) {
    if (e instanceof LessonError) return { error: e.message, field: e.field };
    throw e;
  }
}

/**
 * The metrics of one run at its latest probe at or before `atStep` (the scrubbed step, or
 * Infinity for live): { step, loss, test_accuracy, ... }, with null where nothing is known yet.
 * `rec` is a Recording (web/run/recording.js): { steps, evals, probes }.
 */
export function metricsOf(rec, atStep = Infinity) {
  const last = (xs) => {
    for (let i = xs.length - 1; i >= 0; i--) if (xs[i].step <= atStep) return xs[i];
    return null;
  };
  const probe = last(rec.probes);
  const ev = last(rec.evals);
  const st = last(rec.steps);
  const rates = probe?.rates ?? [];
  const max = (xs) => (xs?.length ? Math.max(...xs) : null);
  return {
    step: st?.step ?? probe?.step ?? 0,
    loss: st?.loss ?? null,
    test_accuracy: ev?.test_accuracy ?? null,
    train_accuracy: ev?.train_accuracy ?? null,
    mean_rate: rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : null,
    min_rate: rates.length ? Math.min(...rates) : null,
    max_rate: max(rates),
    silent_layers: probe ? rates.filter((r) => r < 1e-3).length : null,
    saturated_layers: probe ? rates.filter((r) => r >= 0.9).length : null,
    worst_saturated: max(probe?.saturated),
    worst_silent: max(probe?.silent),
    synops: probe?.synops ?? null,
  };
}

/**
 * Whether test `t` holds for `runs` ({ label: metrics }, or { '': metrics } in explore mode).
 * A run or a metric not known yet makes the test false, never an error: the checkpoint waits.
 */
export function holds(t, runs) {
  if (t.all) return t.all.every((x) => holds(x, runs));
  if (t.any) return t.any.some((x) => holds(x, runs));
  const pick = (run) => (run === undefined ? Object.values(runs)[0] : runs[run]);
  const a = pick(t.run)?.[t.metric];
  const b = 'value' in t ? t.value : pick(t.than.run)?.[t.than.metric ?? t.metric];
  if (a === null || a === undefined || b === null || b === undefined) return false;
  return OPS[t.op](a, b + ('than' in t ? (t.than.plus ?? 0) : 0));
}

/** The runs a test names, so the guide can say when a lesson's run is not on screen. */
export function runsNamed(t) {
  if (t.all || t.any) return [...new Set((t.all ?? t.any).flatMap(runsNamed))];
  return [t.run, t.than?.run].filter((r) => r !== undefined);
}
