// One probe sample in the chosen layer over the T time steps: which neurons spiked when
// (SpikeRaster), and the membrane potential of a few of them against the threshold
// (MembraneTraces). A spike happens exactly where a trace reaches the dashed line.
import { COLORS, empty, fit, fitting, frame, gutter, label } from './canvas.js';
import { fixed } from '../run/format.js';

const TRACE_COLORS = ['#9aa5b1', '#7b8794', '#3ebd93', '#2f6fde', '#8e44ad', '#e8871e', '#d64545', '#1f2933'];

export class SpikeRaster {
  constructor(canvas) {
    this.canvas = canvas;
    this.r = null;
  }

  set(raster, width) {
    this.r = raster;
    this.width = width;
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const r = this.r;
    if (!r) return empty(ctx, w, h, 'spikes of one sample appear here');
    // `shown` names the neurons drawn (evenly spaced over a wider layer); older cores drew the first ones.
    const index = (row) => (r.shown ? r.shown[row] : row) + 1;
    const first = `n${index(0)}`, last = `n${index(r.neurons - 1)}`;
    // The margin fits the row labels: a fixed 34 px cut "n1556" to "ı1556" at the canvas's edge.
    const f = frame(w, h, { left: gutter(ctx, [first, last]), bottom: 18, top: 4 });
    const cw = (f.x1 - f.x0) / r.steps;
    const rh = (f.y1 - f.y0) / r.neurons;
    ctx.fillStyle = '#f5f7fa';
    ctx.fillRect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    ctx.fillStyle = COLORS.spike;
    let count = 0;
    for (let t = 0; t < r.steps; t++) {
      for (let n = 0; n < r.neurons; n++) {
        if (r.spikes[t * r.neurons + n] > 0) {
          count++;
          ctx.fillRect(f.x0 + t * cw + cw * 0.15, f.y0 + n * rh, Math.max(1, cw * 0.7), Math.max(1, rh - (rh > 3 ? 1 : 0)));
        }
      }
    }
    label(ctx, first, f.x0 - 4, f.y0 + 8, { align: 'right' });
    label(ctx, last, f.x0 - 4, f.y1, { align: 'right' });
    label(ctx, 't=1', f.x0, h - 4);
    label(ctx, `t=${r.steps}`, f.x1, h - 4, { align: 'right' });
    // The count between the time labels, shorter where they would touch (never over them).
    const room = f.x1 - f.x0 - 2 * ctx.measureText(`t=${r.steps}`).width - 16;
    const spikes = `${count} spike${count === 1 ? '' : 's'}`;
    const texts = r.neurons < this.width ? [`${spikes} (${this.which()})`, `${spikes} (${r.neurons} of ${this.width} neurons)`, spikes] : [spikes];
    const note = fitting(ctx, texts, room);
    if (ctx.measureText(note).width <= room) label(ctx, note, (f.x0 + f.x1) / 2, h - 4, { align: 'center', color: COLORS.ink });
  }

  /** Which of the layer's neurons the rows are, when they are not all of them. */
  which() {
    const r = this.r;
    return r.shown ? `${r.neurons} of ${this.width} neurons, evenly spaced` : `first ${r.neurons} of ${this.width} neurons`;
  }

  describe() {
    const r = this.r;
    if (!r) return 'Spike raster: no probe yet';
    const count = r.spikes.reduce((a, s) => a + (s > 0), 0);
    const of = r.neurons < this.width ? ` (${this.which()})` : '';
    return `Spike raster of layer ${r.layer + 1}, sample ${r.sample + 1}: ${count} spikes from ${r.neurons} neurons${of} over ${r.steps} time steps`;
  }
}

export class MembraneTraces {
  constructor(canvas) {
    this.canvas = canvas;
    this.r = null;
  }

  set(raster) {
    this.r = raster;
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const r = this.r;
    if (!r || !r.traced.length) return empty(ctx, w, h, 'membrane potentials appear here');
    const k = r.traced.length;
    // A wider left margin holds the threshold's label, off the traces.
    let lo = Math.min(0, ...r.membrane), hi = Math.max(r.theta * 1.3, ...r.membrane);
    hi += (hi - lo) * 0.05;
    const theta = `θ=${Number(r.theta.toPrecision(3))}`;
    const f = frame(w, h, { left: gutter(ctx, [theta, fixed(lo), fixed(hi)], 46), bottom: 18, top: 6 });
    const x = (t) => (r.steps === 1 ? (f.x0 + f.x1) / 2 : f.sx(t, 0, r.steps - 1));
    ctx.strokeStyle = COLORS.grid;
    ctx.beginPath();
    ctx.moveTo(f.x0, f.sy(0, lo, hi));
    ctx.lineTo(f.x1, f.sy(0, lo, hi));
    ctx.stroke();
    for (let j = 0; j < k; j++) {
      ctx.strokeStyle = TRACE_COLORS[Math.round((j * (TRACE_COLORS.length - 1)) / Math.max(1, k - 1))];
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let t = 0; t < r.steps; t++) {
        const v = r.membrane[t * k + j];
        const y = f.sy(v, lo, hi);
        t ? ctx.lineTo(x(t), y) : ctx.moveTo(x(t), y);
      }
      ctx.stroke();
      for (let t = 0; t < r.steps; t++) {
        if (r.membrane[t * k + j] >= r.theta) {
          ctx.fillStyle = ctx.strokeStyle;
          ctx.beginPath();
          ctx.arc(x(t), f.sy(r.membrane[t * k + j], lo, hi), 3, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
    ctx.lineWidth = 1;
    const ty = f.sy(r.theta, lo, hi);
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = COLORS.saturated;
    ctx.beginPath();
    ctx.moveTo(f.x0, ty);
    ctx.lineTo(f.x1, ty);
    ctx.stroke();
    ctx.setLineDash([]);
    label(ctx, theta, f.x0 - 4, ty + 4, { align: 'right', color: COLORS.saturated });
    // The range labels give way to the threshold's when they would overlap it (a line of text
    // is ~12 px: baselines closer than that touch).
    if (f.y1 - (ty + 4) >= 13) label(ctx, fixed(lo), f.x0 - 4, f.y1, { align: 'right' });
    if (ty + 4 - (f.y0 + 8) >= 13) label(ctx, fixed(hi), f.x0 - 4, f.y0 + 8, { align: 'right' });
    label(ctx, 't=1', f.x0, h - 4);
    label(ctx, `t=${r.steps}`, f.x1, h - 4, { align: 'right' });
    const room = f.x1 - f.x0 - 2 * ctx.measureText(`t=${r.steps}`).width - 16;
    const note = fitting(ctx, [`${k} neurons: quiet (grey) → busy (dark)`, 'quiet (grey) → busy (dark)'], room);
    if (ctx.measureText(note).width <= room) label(ctx, note, (f.x0 + f.x1) / 2, h - 4, { align: 'center', color: COLORS.ink });
  }

  describe() {
    const r = this.r;
    if (!r || !r.traced.length) return 'Membrane potentials: no probe yet';
    const crossings = r.membrane.filter((v) => v >= r.theta).length;
    return `Membrane potentials of ${r.traced.length} neurons of layer ${r.layer + 1} over ${r.steps} steps; ` +
      `threshold ${Number(r.theta.toPrecision(3))} reached ${crossings} times`;
  }
}
