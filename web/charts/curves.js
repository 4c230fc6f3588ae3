// Training curves against optimizer steps: the loss of every step (with a smoothed line
// on top, since minibatch losses are noisy) and train/test accuracy at each evaluation.
import { COLORS, empty, fit, frame, gutter, label, polyline, scrubMark, stepAxis, thin, yAxis } from './canvas.js';

const MAX_POINTS = 600;

export class LossCurves {
  constructor(canvas) {
    this.canvas = canvas;
    this.clear();
  }

  clear() {
    this.losses = [];
    this.smooth = [];
    this.mark = null; // the history scrubber's step, or null (live)
  }

  push(losses) {
    for (const l of losses) {
      const prev = this.smooth.length ? this.smooth[this.smooth.length - 1] : l;
      this.losses.push(l);
      this.smooth.push(0.95 * prev + 0.05 * l);
    }
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    if (!this.losses.length) return empty(ctx, w, h, 'press Train: the loss shows here');
    const hi = Math.max(0.1, ...this.smooth.slice(0, 50), ...this.smooth.slice(-50)) * 1.15;
    const f = frame(w, h, { left: gutter(ctx, [hi.toFixed(2)]) });
    const n = this.losses.length;
    yAxis(ctx, f, 0, hi, [0, hi / 2, hi], (v) => v.toFixed(2));
    const px = ([i, v]) => [f.sx(i, 0, Math.max(1, n - 1)), f.sy(Math.min(v, hi), 0, hi)];
    polyline(ctx, thin(this.losses, MAX_POINTS).map(px), 'rgba(47,111,222,0.25)', 1);
    polyline(ctx, thin(this.smooth, MAX_POINTS).map(px), COLORS.train, 2);
    stepAxis(ctx, f, n);
    if (this.mark !== null) {
      // losses[i] is step i + 1's.
      const i = Math.min(n, Math.max(1, this.mark)) - 1;
      scrubMark(ctx, f, f.sx(i, 0, Math.max(1, n - 1)), this.mark);
      label(ctx, `loss ${this.smooth[i].toFixed(3)} at step ${i + 1}`, f.x1, f.y1 - 6, { align: 'right', color: COLORS.ink });
    } else label(ctx, `loss ${this.smooth[n - 1].toFixed(3)}`, f.x1, f.y0 + 10, { align: 'right', color: COLORS.ink });
  }

  describe() {
    const n = this.losses.length;
    return n ? `Loss curve over ${n} steps; smoothed loss now ${this.smooth[n - 1].toFixed(3)}` : 'Loss curve: no steps yet';
  }
}

export class AccuracyCurves {
  constructor(canvas) {
    this.canvas = canvas;
    this.clear();
  }

  clear() {
    this.points = []; // [step, train, test]
    this.mark = null; // the history scrubber's step, or null (live)
    this.setChance(0.5);
  }

  setClasses(classes) {
    this.setChance(1 / Math.max(1, classes));
  }

  /** The dashed line's level, also on the canvas (data-chance) for tests and tools. */
  setChance(p) {
    this.chance = p;
    this.canvas.dataset.chance = String(p);
  }

  push(step, train, test) {
    const last = this.points[this.points.length - 1];
    if (last && last[0] === step) this.points.pop();
    this.points.push([step, train, test]);
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    if (!this.points.length) return empty(ctx, w, h, 'accuracy appears once training starts');
    const f = frame(w, h, { left: gutter(ctx, ['100%']) });
    yAxis(ctx, f, 0, 1, [0, 0.5, 1], (v) => `${v * 100}%`);
    const cy = f.sy(this.chance, 0, 1);
    ctx.setLineDash([3, 3]);
    polyline(ctx, [[f.x0, cy], [f.x1, cy]], COLORS.muted, 1);
    ctx.setLineDash([]);
    // Bottom right of the line: curves start near chance on the left and rise from there.
    label(ctx, `chance ${Math.round(this.chance * 100)}%`, f.x1 - 3, cy + 12, { align: 'right' });
    const last = Math.max(1, this.points[this.points.length - 1][0]);
    const pts = (k) => this.points.map((p) => [f.sx(p[0], 0, last), f.sy(p[k], 0, 1)]);
    polyline(ctx, pts(1), COLORS.train, 2);
    polyline(ctx, pts(2), COLORS.test, 2);
    stepAxis(ctx, f, last);
    if (this.mark !== null) scrubMark(ctx, f, f.sx(Math.min(this.mark, last), 0, last), this.mark);
    // The latest numbers are in the card's title, outside the plot, so no curve is hidden.
  }

  describe() {
    const pct = (v) => `${(v * 100).toFixed(1)}%`;
    const chance = `chance ${pct(this.chance)}`;
    if (!this.points.length) return `Accuracy curves: none yet (${chance})`;
    const [step, tr, te] = this.points[this.points.length - 1];
    return `Accuracy at step ${step}: train ${pct(tr)}, test ${pct(te)} (${chance})`;
  }
}
