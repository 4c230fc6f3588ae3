// What a run reported, kept for download: every step's loss, every evaluation and every probe
// (thinned when long, like the heatmap). It receives the worker's report objects and knows
// nothing about the page, so node tests can check the JSON and CSV it produces.
import { countLayers, neuronShares } from './activity.js';

/**
 * Probes kept per run. Past this the probes between the first EARLY_PROBES and the latest
 * RECENT_PROBES are thinned to every second one. The first stay at full density: a run's first
 * steps (a deep net going silent by step 50) are what the history scrubber is most often dragged
 * back to; the latest are what the charts show now; the middle stays evenly spaced.
 */
export const MAX_PROBES = 2000;
export const EARLY_PROBES = 400;
const RECENT_PROBES = 400;

export class Recording {
  constructor(config, label = null) {
    this.config = config;
    this.label = label;
    this.steps = []; // { step, loss, lr }
    this.evals = []; // { step, train_accuracy, test_accuracy }
    this.probes = []; // { step, rates, silent, saturated, synops, energy }
    this.lr = config.lr; // the learning rate of the next step (each report says it)
    this.error = null;
  }

  /**
   * One report's losses are the steps (step - n, step], and `lrs` the learning rate each of
   * them used (the worker records it before every step); `lr` is the next step's.
   */
  addTrain({ losses, lrs, step, lr }) {
    const n = losses.length;
    losses.forEach((loss, i) => {
      this.steps.push({ step: step - n + 1 + i, loss, lr: lrs?.[i] ?? this.lr });
    });
    this.lr = lr;
  }

  addEval(step, ev) {
    const last = this.evals[this.evals.length - 1];
    if (last?.step === step) this.evals.pop();
    // `epoch_end`: taken right after an epoch's last step, the moment the CLI's history
    // records, so the two can be compared step for step.
    this.evals.push({ step, train_accuracy: ev.train_accuracy, test_accuracy: ev.test_accuracy, epoch_end: !!ev.epochEnd });
  }

  addProbe(p) {
    const last = this.probes[this.probes.length - 1];
    if (last?.step === p.step) this.probes.pop();
    this.probes.push({ step: p.step, rates: [...p.rates], silent: [...p.silent], saturated: [...p.saturated], synops: p.synops, energy: p.energy ?? null });
    if (this.probes.length > MAX_PROBES) {
      const end = this.probes.length - RECENT_PROBES;
      const middle = evenly(this.probes.slice(EARLY_PROBES, end), (end - EARLY_PROBES) >> 1);
      this.probes = [...this.probes.slice(0, EARLY_PROBES), ...middle, ...this.probes.slice(end)];
    }
  }

  /** The latest probe at or before `step` (the first one if none is that early), or null. */
  probeAt(step) {
    return latestAtOrBefore(this.probes, step) ?? this.probes[0] ?? null;
  }

  /** The latest evaluation at or before `step`, or null. */
  evalAt(step) {
    return latestAtOrBefore(this.evals, step);
  }

  /** The summary table's numbers as they were at `step` (the history scrubber's view). */
  summaryAt(step) {
    const p = this.probeAt(step);
    return summarize(p, this.evalAt(step), p ? Math.min(step, this.steps.at(-1)?.step ?? 0) : 0);
  }

  summary() {
    return summarize(this.probes[this.probes.length - 1], this.evals[this.evals.length - 1], this.steps.length ? this.steps[this.steps.length - 1].step : 0);
  }

  toJSON() {
    const out = { config: this.config, steps: this.steps, evals: this.evals, probes: this.probes, summary: this.summary() };
    if (this.label !== null) out.label = this.label;
    if (this.error) out.error = this.error;
    return out;
  }
}

/**
 * About `n` of `list` (sorted by step), evenly spaced in steps, its first and last kept: every
 * second one would not do, since the older part was thinned before and would thin again.
 */
function evenly(list, n) {
  if (list.length <= n || n < 2) return list;
  const first = list[0].step, last = list[list.length - 1].step;
  const gap = (last - first) / (n - 1);
  const out = [list[0]];
  for (let i = 1; i < list.length - 1; i++) {
    if (list[i].step >= out[out.length - 1].step + gap || list[i].step - first >= out.length * gap) out.push(list[i]);
  }
  out.push(list[list.length - 1]);
  return out;
}

/** Binary search over records sorted by `step`: the last with step <= `step`. */
function latestAtOrBefore(list, step) {
  let lo = 0, hi = list.length - 1, found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].step <= step) {
      found = list[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The numbers of the summary table from the latest probe and evaluation; silent and saturated
 * layers by activity.js's rule, the one the CLI's `compare` table uses, so the two agree; and
 * activity.js's neuron-share view beside it: the layers with over-firing and with dead neurons,
 * and the worst layer's shares (1-based layer, share 0 to 1).
 */
export function summarize(probe, ev, steps) {
  const out = { steps, test_accuracy: ev?.test_accuracy ?? null, train_accuracy: ev?.train_accuracy ?? null };
  if (!probe) {
    return {
      ...out, mean_rate: null, silent_layers: null, saturated_layers: null, overfiring_layers: null, dead_layers: null,
      worst_saturated_layer: null, worst_saturated_share: null, worst_silent_layer: null, worst_silent_share: null, synops: null, layers: null,
      energy_nj: null, ann_nj: null, break_even_rate: null,
    };
  }
  const { rates } = probe;
  const count = countLayers(rates);
  const shares = neuronShares(probe.silent, probe.saturated);
  return {
    ...out,
    mean_rate: rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length),
    silent_layers: count.silent,
    saturated_layers: count.saturated,
    overfiring_layers: shares.overFiring,
    dead_layers: shares.dead,
    worst_saturated_layer: shares.worstSaturated ? shares.worstSaturated.layer + 1 : null,
    worst_saturated_share: shares.worstSaturated?.share ?? null,
    worst_silent_layer: shares.worstSilent ? shares.worstSilent.layer + 1 : null,
    worst_silent_share: shares.worstSilent?.share ?? null,
    synops: probe.synops,
    layers: rates.length,
    // The FP32 energy estimate (crate/src/energy.rs), when the probe carries one.
    energy_nj: probe.energy?.costs?.[0]?.snn_nj ?? null,
    ann_nj: probe.energy?.costs?.[0]?.ann_nj ?? null,
    break_even_rate: probe.energy?.costs?.[0]?.break_even_rate ?? null,
  };
}

const cell = (v) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * One CSV row per recorded step: its loss and learning rate, and the latest evaluation and
 * probe made at or before that step (a probe at step s is taken after step s). With several
 * recordings (a comparison) a first `run` column names each; rates go to `rate_l1..rate_lN`
 * with N the deepest run (shallower runs leave the rest empty).
 */
export function toCsv(recordings) {
  const many = recordings.length > 1 || recordings[0]?.label !== null;
  const layers = Math.max(0, ...recordings.map((r) => r.probes[0]?.rates.length ?? 0));
  const rateCols = Array.from({ length: layers }, (_, i) => `rate_l${i + 1}`);
  const header = [...(many ? ['run'] : []), 'step', 'loss', 'lr', 'train_accuracy', 'test_accuracy', ...rateCols];
  const lines = [header.join(',')];
  for (const rec of recordings) {
    let e = -1, p = -1;
    for (const { step, loss, lr } of rec.steps) {
      while (e + 1 < rec.evals.length && rec.evals[e + 1].step <= step) e++;
      while (p + 1 < rec.probes.length && rec.probes[p + 1].step <= step) p++;
      const ev = rec.evals[e], pr = rec.probes[p];
      const rates = rateCols.map((_, i) => pr?.rates[i]);
      lines.push([...(many ? [rec.label] : []), step, loss, lr, ev?.train_accuracy, ev?.test_accuracy, ...rates].map(cell).join(','));
    }
  }
  return lines.join('\n') + '\n';
}
