// Firing rates per hidden layer: the profile now (rate against depth, silent and saturated
// layers flagged by web/run/activity.js's rule, and under each bar a strip with the shares of
// its neurons that are silent and saturated, activity.js's neuron-share view) and its history
// (layer x training step heatmap).
import { DEAD_SHARE, OVERFIRING_SHARE, countLayers, describeShares, layerActivity, neuronShares } from '../run/activity.js';
import { shareStrip } from './shares.js';
import { COLORS, RAMP_RGB, drawPixels, empty, fit, fitting, frame, gutter, label, layerTicks, ramp, scrubMark, yAxis } from './canvas.js';

export class RateProfile {
  constructor(canvas) {
    this.canvas = canvas;
    this.data = null;
    this.selected = 0;
  }

  /**
   * `rates`: each hidden layer's mean firing rate; `silent`, `saturated`: the shares of each
   * layer's neurons (the probe's), drawn as the strip and kept on the canvas (data-shares, with
   * the probe's `step` in data-step) as drawn.
   */
  set(rates, silent = [], saturated = [], step = null) {
    this.data = { rates, silent, saturated, step };
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    if (!this.data) return empty(ctx, w, h, 'waiting for the first probe');
    const { rates, silent, saturated } = this.data;
    const hi = Math.max(0.25, Math.min(1, Math.max(...rates) * 1.2));
    const STRIP = 8;
    const f = frame(w, h, { bottom: 32 + STRIP, left: gutter(ctx, [hi.toFixed(2)]) });
    yAxis(ctx, f, 0, hi, [0, hi / 2, hi], (v) => v.toFixed(2));
    const n = rates.length;
    const bw = (f.x1 - f.x0) / n;
    let flagged = { silent: 0, saturated: 0 };
    rates.forEach((r, i) => {
      const flag = layerActivity(r);
      if (flag !== 'ok') flagged[flag]++;
      const x = f.x0 + i * bw + Math.min(2, bw * 0.15);
      const y = f.sy(Math.min(r, hi), 0, hi);
      ctx.fillStyle = flag === 'ok' ? COLORS.ok : COLORS[flag];
      ctx.fillRect(x, y, Math.max(1, bw - 2 * Math.min(2, bw * 0.15)), f.y1 - y);
      if (flag !== 'ok' && bw > 9) label(ctx, flag === 'silent' ? '∅' : '!', x + bw / 2 - 2, f.y1 - 3, { align: 'center', color: '#fff' });
      if (i === this.selected) {
        ctx.strokeStyle = COLORS.ink;
        ctx.strokeRect(f.x0 + i * bw + 0.5, f.y0, bw - 1, f.y1 - f.y0);
      }
      if (silent[i] !== undefined || saturated[i] !== undefined) {
        const pad = Math.min(1, bw * 0.1);
        shareStrip(ctx, f.x0 + i * bw + pad, f.y1 + 3, Math.max(1, bw - 2 * pad), STRIP - 2, silent[i] ?? 0, saturated[i] ?? 0);
      }
    });
    this.canvas.dataset.shares = JSON.stringify({ silent, saturated });
    if (this.data.step !== null) this.canvas.dataset.step = String(this.data.step);
    const ny = f.y1 + STRIP + 12;
    for (const i of layerTicks(n, f.x1 - f.x0, 26)) label(ctx, String(i + 1), f.x0 + (i + 0.5) * bw, ny, { align: 'center' });
    label(ctx, fitting(ctx, ['layer (input side → output side)', 'layer (input → output)', 'layer'], f.x1 - f.x0), (f.x0 + f.x1) / 2, h - 3, { align: 'center' });
    // Top right: the layers flagged by their mean rate, then those with over-firing or dead neurons.
    const shares = neuronShares(silent, saturated);
    this.canvas.dataset.overfiring = String(shares.overFiring);
    this.canvas.dataset.dead = String(shares.dead);
    const pc = (v) => `${Math.round(v * 100)}%`;
    const layersNote = [flagged.silent && `${flagged.silent} silent`, flagged.saturated && `${flagged.saturated} saturated`].filter(Boolean).join(', ');
    const over = shares.overFiring ? [`${shares.overFiring} with ≥${pc(OVERFIRING_SHARE)} neurons saturated`, `${shares.overFiring} over-firing`] : [''];
    const dead = shares.dead ? [`${shares.dead} with ≥${pc(DEAD_SHARE)} silent`, `${shares.dead} half-dead`] : [''];
    const room = f.x1 - f.x0 - 4;
    const join = (...parts) => parts.filter(Boolean).join(' · ');
    const note = fitting(ctx, [join(layersNote, over[0], dead[0]), join(layersNote, over[1], dead[1]), join(over[1], dead[1]), over[1]], room);
    if (note && ctx.measureText(note).width <= room) label(ctx, note, f.x1, f.y0 + 10, { align: 'right', color: COLORS.saturated });
  }

  describe() {
    if (!this.data) return 'Firing rate per layer: no probe yet';
    const { rates } = this.data;
    const { silent, saturated } = countLayers(rates);
    const shown = rates.slice(0, 8).map((r, i) => `L${i + 1} ${r.toFixed(2)}`).join(', ');
    return `Firing rate per layer: ${shown}${rates.length > 8 ? ', …' : ''}; ${silent} silent, ${saturated} saturated layers; ` +
      describeShares(this.data.silent, this.data.saturated);
  }
}

const MAX_COLUMNS = 240;

export class RateHeatmap {
  constructor(canvas) {
    this.canvas = canvas;
    this.clear();
  }

  clear() {
    this.columns = []; // [step, rates[]]
    this.mark = null; // the history scrubber's step, or null (live)
  }

  push(step, rates) {
    this.columns.push([step, rates]);
    // Keep the whole history at a bounded cost: halve the resolution when full.
    if (this.columns.length > MAX_COLUMNS) this.columns = this.columns.filter((_, i) => i % 2 === 0 || i === this.columns.length - 1);
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    if (!this.columns.length) return empty(ctx, w, h, 'the history of every layer’s rate');
    const layers = this.columns[0][1].length;
    const f = frame(w, h, { left: gutter(ctx, [`L${layers}`]), bottom: 18 });
    const cols = this.columns.length;
    const rh = (f.y1 - f.y0) / layers;
    // One pixel per layer and probe, straight into the bitmap: a 101-layer history has ~24,000.
    drawPixels(ctx, cols, layers, (data) => {
      for (let c = 0; c < cols; c++) {
        const rates = this.columns[c][1];
        for (let l = 0; l < layers; l++) {
          const rgb = RAMP_RGB[Math.round(Math.sqrt(Math.min(1, Math.max(0, rates[l]))) * 255)];
          const o = 4 * (l * cols + c);
          data[o] = rgb[0];
          data[o + 1] = rgb[1];
          data[o + 2] = rgb[2];
          data[o + 3] = 255;
        }
      }
    }, f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    label(ctx, 'L1', f.x0 - 4, f.y0 + rh / 2 + 4, { align: 'right' });
    label(ctx, `L${layers}`, f.x0 - 4, f.y1 - rh / 2 + 4, { align: 'right' });
    if (this.mark !== null) {
      // The column of the latest probe at or before the mark (columns are evenly spaced, not by step).
      let c = 0;
      while (c + 1 < cols && this.columns[c + 1][0] <= this.mark) c++;
      scrubMark(ctx, f, f.x0 + ((c + 0.5) * (f.x1 - f.x0)) / cols, this.columns[c][0]);
    }
    const first = `step ${this.columns[0][0]}`, last = `step ${this.columns[cols - 1][0]}`;
    label(ctx, first, f.x0, h - 4);
    label(ctx, last, f.x1, h - 4, { align: 'right' });
    // The legend goes between the step labels, in its short form where space is tight.
    const free = [f.x0 + ctx.measureText(first).width + 10, f.x1 - ctx.measureText(last).width - 10];
    for (const long of [true, false]) {
      const width = legendWidth(ctx, long);
      if (free[1] - free[0] >= width) {
        this.legend(ctx, (free[0] + free[1] - width) / 2, h - 12, long);
        break;
      }
    }
  }

  describe() {
    if (!this.columns.length) return 'Firing-rate history: no probe yet';
    const [s0, r0] = this.columns[0], [s1, r1] = this.columns[this.columns.length - 1];
    const mean = (r) => (r.reduce((a, b) => a + b, 0) / r.length).toFixed(3);
    return `Firing-rate history of ${r0.length} layers from step ${s0} to ${s1}; mean rate ${mean(r0)} then ${mean(r1)}`;
  }

  /** Rate 0 to 1 on the same (square-root) scale as the cells, from `x`. */
  legend(ctx, x, y, long) {
    const n = long ? 60 : 30;
    const lo = long ? 'rate 0' : '0';
    const x0 = x + ctx.measureText(lo).width + 4;
    label(ctx, lo, x, y + 8);
    for (let i = 0; i < n; i++) {
      ctx.fillStyle = ramp(Math.sqrt(i / (n - 1)));
      ctx.fillRect(x0 + i * 1.3, y, 1.5, 8);
    }
    label(ctx, '1', x0 + n * 1.3 + 4, y + 8);
  }
}

const legendWidth = (ctx, long) => ctx.measureText(long ? 'rate 0' : '0').width + 8 + (long ? 60 : 30) * 1.3 + ctx.measureText('1').width;
