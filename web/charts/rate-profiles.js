// The firing-rate profiles of several runs on one set of axes: rate against layer, one line
// per run in its colour and dash (charts/palette.js), named at its right end. The rate axis is a square-root scale (like the heatmaps' colours) so
// that a layer dying towards 0.001 stays visibly apart from one at 0.05. Shaded: the useful
// band, and the silent (< 0.001) and saturated (>= 0.9) zones the summary table counts.
import { SATURATED, SILENT_LAYER, countLayers } from '../run/activity.js';
import { COLORS, empty, endLabels, endRoom, fit, fitting, focusOrder, frame, gutter, label, yAxis } from './canvas.js';

/** The band of layer rates that we call useful: a layer there passes on a varied signal. */
export const USEFUL_BAND = [0.01, 0.5];
const TICKS = [0, 0.01, 0.1, 0.25, 0.5, 1];

export class RateProfiles {
  constructor(canvas) {
    this.canvas = canvas;
    this.runs = [];
    this.focus = null; // index of the run to bring forward, or null
  }

  /** `runs`: [{ label, color }], in run order; forgets any rates. */
  setRuns(runs) {
    this.runs = runs.map((r) => ({ label: r.label, color: r.color, dash: r.dash ?? [], rates: null }));
  }

  set(i, rates) {
    if (this.runs[i]) this.runs[i].rates = rates;
  }

  clearRun(i) {
    if (this.runs[i]) this.runs[i].rates = null;
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const shown = this.runs.filter((r) => r.rates);
    if (!shown.length) return empty(ctx, w, h, 'each run’s rate per layer shows here');
    const f = frame(w, h, { left: gutter(ctx, ['0.25', '0.01'], 36), bottom: 30, top: 6, right: endRoom(ctx, shown.map((r) => r.label), w) });
    const sy = (v) => f.y1 - Math.sqrt(Math.min(1, Math.max(0, v))) * (f.y1 - f.y0);
    const zone = (lo, hi, color) => {
      ctx.fillStyle = color;
      ctx.fillRect(f.x0, sy(hi), f.x1 - f.x0, sy(lo) - sy(hi));
    };
    zone(USEFUL_BAND[0], USEFUL_BAND[1], 'rgba(62, 189, 147, 0.13)');
    zone(SATURATED, 1, 'rgba(214, 69, 69, 0.12)');
    zone(0, SILENT_LAYER, 'rgba(123, 135, 148, 0.25)');
    yAxis(ctx, { ...f, sy: (v) => sy(v) }, 0, 1, TICKS, (v) => String(v));
    label(ctx, fitting(ctx, ['useful band', 'useful'], f.x1 - f.x0 - 8), f.x0 + 4, sy(USEFUL_BAND[1]) + 11, { color: '#199473' });
    label(ctx, fitting(ctx, [`saturated ≥ ${SATURATED}`, `≥ ${SATURATED}`], f.x1 - f.x0 - 8), f.x0 + 4, sy(1) + 10, { color: COLORS.saturated });
    const n = Math.max(...shown.map((r) => r.rates.length));
    const slot = (f.x1 - f.x0) / n;
    const x = (i) => f.x0 + (i + 0.5) * slot;
    const dots = slot >= 8;
    // Deep nets: thinner, slightly transparent lines, so overlapping runs stay apart.
    const ends = [];
    for (const [run, alpha] of focusOrder(shown, this.runs, this.focus)) {
      ctx.globalAlpha = alpha * (slot >= 4 ? 1 : 0.85);
      ctx.strokeStyle = ctx.fillStyle = run.color;
      ctx.lineWidth = slot >= 4 ? 2 : 1.25;
      ctx.setLineDash(run.dash);
      ctx.beginPath();
      run.rates.forEach((r, i) => (i ? ctx.lineTo(x(i), sy(r)) : ctx.moveTo(x(i), sy(r))));
      if (run.rates.length === 1) ctx.lineTo(x(0) + 0.1, sy(run.rates[0]));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.lineWidth = 1;
      const last = run.rates.length - 1;
      ends.push({ text: run.label, color: run.color, x: x(last), y: sy(run.rates[last]), alpha });
      if (dots) run.rates.forEach((r, i) => {
        ctx.beginPath();
        ctx.arc(x(i), sy(r), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      });
    }
    const placed = endLabels(ctx, ends, f.x1 + 4, w, f.y0 + 4, f.y1);
    this.canvas.dataset.endLabels = placed.map((p) => p.text).join('|');
    // Every `every`-th layer is numbered, and the last one always (in place of a neighbour too close to it).
    ctx.globalAlpha = 1;
    const every = Math.ceil(n / Math.max(1, Math.floor((f.x1 - f.x0) / 28)));
    for (let i = 0; i < n; i += every) if (i === n - 1 || x(n - 1) - x(i) >= 24) label(ctx, String(i + 1), x(i), f.y1 + 12, { align: 'center' });
    label(ctx, String(n), x(n - 1), f.y1 + 12, { align: 'center', color: COLORS.ink });
    const caption = `layer 1 → ${n} (input side → output side)`;
    label(ctx, ctx.measureText(caption).width < f.x1 - f.x0 ? caption : 'layer (input → output)', (f.x0 + f.x1) / 2, h - 3, { align: 'center' });
  }

  describe() {
    const shown = this.runs.filter((r) => r.rates);
    if (!shown.length) return 'Firing rate per layer of each run: no probe yet';
    const parts = shown.map((r) => {
      const mean = r.rates.reduce((a, b) => a + b, 0) / r.rates.length;
      const { silent, saturated } = countLayers(r.rates);
      return `${r.label}: mean ${mean.toFixed(3)}, ${silent} silent, ${saturated} saturated`;
    });
    return `Firing rate per layer of each run; ${parts.join('; ')}`;
  }
}
