// Small multiples of the layer x training-time rate heatmap, one panel per run, all on one
// colour scale (square root of the rate, as in the explore view) and one canvas, so a PNG of
// it is the whole comparison. Each panel's time axis is its own run's (0 to its last probe).
// A deep net has more layers than a panel has pixel rows: rows are then averaged into bins.
import { COLORS, RAMP_RGB, drawPixels, fit, label, ramp, scrubMark } from './canvas.js';

const MAX_COLUMNS = 160;
const TITLE = 15, AXIS = 12, GUTTER = 30, GAP = 10, LEGEND = 16;

/** Columns and rows of panels for `n` runs in `w x h`: the layout with the biggest panels. */
function grid(n, w, h) {
  let best = { cols: n, rows: 1, score: -1 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const score = Math.min(w / cols, h / rows);
    if (score > best.score) best = { cols, rows, score };
  }
  return best;
}

export class RateHeatmaps {
  constructor(canvas) {
    this.canvas = canvas;
    this.runs = [];
    this.focus = null; // index of the run whose panel is outlined, or null
    this.mark = null; // the history scrubber's step, or null (live)
  }

  setRuns(runs) {
    this.runs = runs.map((r) => ({ label: r.label, color: r.color, dash: r.dash ?? [], columns: [], note: r.note ?? 'building…' }));
  }

  clearRun(i, note = 'building…') {
    if (this.runs[i]) Object.assign(this.runs[i], { columns: [], note });
  }

  /** A note shown in place of the panel (an error), or null to show the data. */
  setNote(i, note) {
    if (this.runs[i]) this.runs[i].note = note;
  }

  push(i, step, rates) {
    const run = this.runs[i];
    if (!run) return;
    run.note = null;
    const c = run.columns;
    if (c.length && c[c.length - 1][0] === step) c.pop();
    c.push([step, rates]);
    if (c.length > MAX_COLUMNS) run.columns = c.filter((_, k) => k % 2 === 0 || k === c.length - 1);
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    if (!this.runs.length) return;
    const { cols, rows } = grid(this.runs.length, w, h - LEGEND);
    const pw = w / cols, ph = (h - LEGEND) / rows;
    this.runs.forEach((run, i) => this.panel(ctx, run, (i % cols) * pw, Math.floor(i / cols) * ph, pw - GAP, ph - 4, i === this.focus));
    this.legend(ctx, w, h);
  }

  panel(ctx, run, x, y, pw, ph, focused) {
    // The row labels' room grows with the deepest layer's name and the chart text size ('L101' at 13 px).
    const deepest = run.columns[0]?.[1].length ?? 0;
    const g = Math.max(GUTTER, Math.ceil(ctx.measureText(`L${deepest}`).width) + 6);
    const cx = x + g, cy = y + TITLE, cw = pw - g, ch = ph - TITLE - AXIS;
    if (focused) {
      ctx.strokeStyle = run.color;
      ctx.lineWidth = 2;
      ctx.strokeRect(cx - 1.5, cy - 1.5, cw + 3, ch + 3);
      ctx.lineWidth = 1;
    }
    // The run's line sample (colour and dash, as on the line charts) before its name.
    ctx.strokeStyle = run.color;
    ctx.lineWidth = 2.5;
    ctx.setLineDash(run.dash.map((v) => v * 0.7));
    ctx.beginPath();
    ctx.moveTo(cx, y + 7.5);
    ctx.lineTo(cx + 16, y + 7.5);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
    label(ctx, ellipsis(ctx, run.label, cw - 21), cx + 20, y + 11, { color: COLORS.ink });
    if (run.note || !run.columns.length) {
      ctx.strokeStyle = COLORS.grid;
      ctx.strokeRect(cx + 0.5, cy + 0.5, cw - 1, ch - 1);
      const lines = wrapWords(ctx, run.note ?? 'waiting for a probe', cw - 10).slice(0, Math.max(1, Math.floor(ch / 13)));
      const color = run.note && run.note !== 'building…' ? COLORS.saturated : COLORS.muted;
      lines.forEach((t, k) => label(ctx, t, cx + cw / 2, cy + ch / 2 + (k - (lines.length - 1) / 2) * 13 + 4, { align: 'center', color }));
      return;
    }
    const cols = run.columns;
    const layers = cols[0][1].length;
    const n = cols.length;
    const bins = Math.max(1, Math.min(layers, Math.floor(ch * (window.devicePixelRatio || 1))));
    // Bin b averages layers [edges[b], edges[b + 1]); its colour is the ramp at sqrt(rate).
    const edges = Array.from({ length: bins + 1 }, (_, b) => Math.round((b * layers) / bins));
    drawPixels(ctx, n, bins, (data) => {
      for (let c = 0; c < n; c++) {
        const rates = cols[c][1];
        for (let b = 0; b < bins; b++) {
          let sum = 0;
          for (let l = edges[b]; l < edges[b + 1]; l++) sum += rates[l] ?? 0;
          const v = sum / (edges[b + 1] - edges[b]);
          const rgb = RAMP_RGB[Math.round(Math.sqrt(Math.min(1, Math.max(0, v))) * 255)];
          const o = 4 * (b * n + c);
          data[o] = rgb[0];
          data[o + 1] = rgb[1];
          data[o + 2] = rgb[2];
          data[o + 3] = 255;
        }
      }
    }, cx, cy, cw, ch);
    if (this.mark !== null) {
      // The history scrubber's step: this run's latest column at or before it.
      let k = 0;
      while (k + 1 < n && cols[k + 1][0] <= this.mark) k++;
      scrubMark(ctx, { x0: cx, x1: cx + cw, y0: cy, y1: cy + ch }, cx + ((k + 0.5) * cw) / n, cols[k][0]);
    }
    label(ctx, 'L1', cx - 3, cy + 8, { align: 'right' });
    label(ctx, `L${layers}`, cx - 3, cy + ch - 1, { align: 'right' });
    label(ctx, `step ${cols[0][0]}`, cx, cy + ch + 10);
    label(ctx, `${cols[n - 1][0]}`, cx + cw, cy + ch + 10, { align: 'right' });
  }

  /** One colour key for every panel, bottom right, with how to read the panels. */
  legend(ctx, w, h) {
    const y = h - 10, n = 50;
    const x1 = w - GAP - ctx.measureText('1').width;
    const x0 = x1 - 6 - n * 1.3;
    label(ctx, '1', x1, y + 4);
    for (let i = 0; i < n; i++) {
      ctx.fillStyle = ramp(Math.sqrt(i / (n - 1)));
      ctx.fillRect(x0 + i * 1.3, y - 4, 1.5, 8);
    }
    // The long key where it fits, else just the scale.
    const text = ['rows = layers (L1 at top), left → right = training · firing rate 0', 'rows = layers, → training · rate 0', 'rate 0']
      .find((t) => ctx.measureText(t).width < x0 - 8) ?? '0';
    label(ctx, text, x0 - 4, y + 4, { align: 'right' });
  }

  describe() {
    if (!this.runs.length) return 'Firing-rate history of each run: no runs';
    return `Firing-rate history, one panel per run; ${this.runs.map((r) => {
      if (r.note || !r.columns.length) return `${r.label}: ${r.note ?? 'no probe yet'}`;
      const [s, rates] = r.columns[r.columns.length - 1];
      return `${r.label}: ${rates.length} layers, mean rate ${(rates.reduce((a, b) => a + b, 0) / rates.length).toFixed(3)} at step ${s}`;
    }).join('; ')}`;
  }
}

/**
 * `text` cut to fit `max` pixels with a trailing '…' (at least one character is kept). A binary
 * search over the kept length: a label of any length costs ~log2(length) measurements.
 */
export function ellipsis(ctx, text, max) {
  if (ctx.measureText(text).width <= max) return text;
  let lo = 1; // fits, or is the shortest allowed
  let hi = text.length - 1; // the longest cut worth trying
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= max) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

function wrapWords(ctx, text, max) {
  const lines = [''];
  for (const word of text.split(/\s+/)) {
    const cur = lines[lines.length - 1];
    const next = cur ? `${cur} ${word}` : word;
    if (cur && ctx.measureText(next).width > max) lines.push(word);
    else lines[lines.length - 1] = next;
  }
  return lines;
}
