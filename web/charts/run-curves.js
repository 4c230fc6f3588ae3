// Training curves of several runs against the optimizer step, one colour and dash per run
// (charts/palette.js), each named at its line's end: the smoothed loss (RunLosses) and the test
// (thick) and train (thin, faint) accuracy (RunAccuracies). The x axis runs to the furthest
// run, so a slower run's line simply ends earlier.
import { COLORS, empty, endLabels, endRoom, fit, focusOrder, frame, gutter, label, polyline, scrubMark, stepAxis, thin, yAxis } from './canvas.js';

/** Names at the line ends, on the canvas too (data-end-labels) for tests and tools. */
function nameEnds(canvas, ctx, f, w, ends) {
  const placed = endLabels(ctx, ends, f.x1 + 4, w, f.y0 + 4, f.y1);
  canvas.dataset.endLabels = placed.map((p) => p.text).join('|');
}

const MAX_POINTS = 500;

export class RunLosses {
  constructor(canvas) {
    this.canvas = canvas;
    this.runs = [];
    this.focus = null;
    this.mark = null; // the history scrubber's step, or null (live)
  }

  setRuns(runs) {
    this.runs = runs.map((r) => ({ label: r.label, color: r.color, dash: r.dash ?? [], smooth: [] }));
  }

  clearRun(i) {
    if (this.runs[i]) this.runs[i].smooth = [];
  }

  /** The losses of the next steps of run `i` (non-finite ones hold the smoothed line). */
  push(i, losses) {
    const s = this.runs[i]?.smooth;
    if (!s) return;
    for (const l of losses) {
      const prev = s.length ? s[s.length - 1] : l;
      s.push(Number.isFinite(l) ? (Number.isFinite(prev) ? 0.95 * prev + 0.05 * l : l) : prev);
    }
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const shown = this.runs.filter((r) => r.smooth.length);
    if (!shown.length) return empty(ctx, w, h, 'press Train: each run’s loss shows here');
    const finite = shown.flatMap((r) => [...r.smooth.slice(0, 50), ...r.smooth.slice(-50)]).filter(Number.isFinite);
    const hi = Math.max(0.1, ...finite) * 1.1;
    const f = frame(w, h, { left: gutter(ctx, [hi.toFixed(2)]), right: endRoom(ctx, shown.map((r) => r.label), w) });
    const last = Math.max(1, ...shown.map((r) => r.smooth.length));
    yAxis(ctx, f, 0, hi, [0, hi / 2, hi], (v) => v.toFixed(2));
    const ends = [];
    for (const [r, alpha] of focusOrder(shown, this.runs, this.focus)) {
      ctx.globalAlpha = alpha;
      const pts = thin(r.smooth, MAX_POINTS).map(([i, v]) => [f.sx(i + 1, 0, last), f.sy(Math.min(Number.isFinite(v) ? v : hi, hi), 0, hi)]);
      polyline(ctx, pts, r.color, 2, r.dash);
      const [x, y] = pts[pts.length - 1];
      ends.push({ text: r.label, color: r.color, x, y, alpha });
    }
    ctx.globalAlpha = 1;
    nameEnds(this.canvas, ctx, f, w, ends);
    stepAxis(ctx, f, last);
    if (this.mark !== null) scrubMark(ctx, f, f.sx(Math.min(this.mark, last), 0, last), this.mark);
  }

  describe() {
    const shown = this.runs.filter((r) => r.smooth.length);
    if (!shown.length) return 'Loss of each run: no steps yet';
    return `Smoothed loss of each run; ${shown.map((r) => `${r.label} ${r.smooth[r.smooth.length - 1].toFixed(3)} after ${r.smooth.length} steps`).join('; ')}`;
  }
}

export class RunAccuracies {
  constructor(canvas) {
    this.canvas = canvas;
    this.runs = [];
    this.focus = null;
    this.mark = null; // the history scrubber's step, or null (live)
    this.setChance(0.5);
  }

  setRuns(runs) {
    this.runs = runs.map((r) => ({ label: r.label, color: r.color, dash: r.dash ?? [], points: [] }));
  }

  clearRun(i) {
    if (this.runs[i]) this.runs[i].points = [];
  }

  setChance(p) {
    this.chance = p;
    this.canvas.dataset.chance = String(p);
  }

  push(i, step, train, test) {
    const pts = this.runs[i]?.points;
    if (!pts) return;
    if (pts.length && pts[pts.length - 1][0] === step) pts.pop();
    pts.push([step, train, test]);
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const shown = this.runs.filter((r) => r.points.length);
    if (!shown.length) return empty(ctx, w, h, 'each run’s accuracy shows here');
    const f = frame(w, h, { left: gutter(ctx, ['100%']), right: endRoom(ctx, shown.map((r) => r.label), w) });
    yAxis(ctx, f, 0, 1, [0, 0.5, 1], (v) => `${v * 100}%`);
    const cy = f.sy(this.chance, 0, 1);
    polyline(ctx, [[f.x0, cy], [f.x1, cy]], COLORS.muted, 1, [3, 3]);
    label(ctx, `chance ${Math.round(this.chance * 100)}%`, f.x1 - 3, cy + 12, { align: 'right' });
    const last = Math.max(1, ...shown.map((r) => r.points[r.points.length - 1][0]));
    const ends = [];
    for (const [r, alpha] of focusOrder(shown, this.runs, this.focus)) {
      const pts = (k) => r.points.map((p) => [f.sx(p[0], 0, last), f.sy(p[k], 0, 1)]);
      // Train thin and faint under test: the dash is the run's, so the two differ by weight.
      ctx.globalAlpha = alpha * 0.45;
      polyline(ctx, pts(1), r.color, 1, r.dash);
      ctx.globalAlpha = alpha;
      const test = pts(2);
      polyline(ctx, test, r.color, 2, r.dash);
      const [x, y] = test[test.length - 1];
      ends.push({ text: r.label, color: r.color, x, y, alpha });
    }
    ctx.globalAlpha = 1;
    nameEnds(this.canvas, ctx, f, w, ends);
    stepAxis(ctx, f, last);
    if (this.mark !== null) scrubMark(ctx, f, f.sx(Math.min(this.mark, last), 0, last), this.mark);
  }

  describe() {
    const shown = this.runs.filter((r) => r.points.length);
    if (!shown.length) return 'Accuracy of each run: none yet';
    const pct = (v) => `${(v * 100).toFixed(1)}%`;
    return `Test accuracy of each run; ${shown.map((r) => {
      const [step, , te] = r.points[r.points.length - 1];
      return `${r.label} ${pct(te)} at step ${step}`;
    }).join('; ')} (chance ${pct(this.chance)})`;
  }
}
