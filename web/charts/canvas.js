// Shared canvas plumbing for the charts: crisp drawing at the device pixel ratio, a
// palette, and small axis helpers. Charts receive numbers and draw; they import nothing
// else from the page.

export const COLORS = {
  ink: '#1f2933',
  muted: '#7b8794',
  grid: '#e4e7eb',
  train: '#2f6fde',
  test: '#e8871e',
  ok: '#2f6fde',
  silent: '#9aa5b1',
  saturated: '#d64545',
  spike: '#1f2933',
  class0: '#e8871e',
  class1: '#2f6fde',
  band: 'rgba(47, 111, 222, 0.08)',
};

/** Sizes `canvas` to its CSS box at the device pixel ratio; returns a context in CSS px. */
export function fit(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth));
  const h = Math.max(1, Math.round(canvas.clientHeight));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  // style.css sets --chart-text larger on a projector and in presentation mode.
  const px = parseFloat(getComputedStyle(canvas).getPropertyValue('--chart-text')) || 11;
  ctx.font = `${px}px system-ui, sans-serif`;
  return { ctx, w, h };
}

/** The plot area inside margins, with scales from data to pixels. */
export function frame(w, h, { left = 34, right = 8, top = 8, bottom = 18 } = {}) {
  const x0 = left, x1 = w - right, y0 = top, y1 = h - bottom;
  return {
    x0, x1, y0, y1,
    sx: (v, lo, hi) => x0 + ((v - lo) / (hi - lo || 1)) * (x1 - x0),
    sy: (v, lo, hi) => y1 - ((v - lo) / (hi - lo || 1)) * (y1 - y0),
  };
}

export function yAxis(ctx, f, lo, hi, ticks, fmt = (v) => String(v)) {
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.muted;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of ticks) {
    const y = f.sy(v, lo, hi);
    ctx.beginPath();
    ctx.moveTo(f.x0, y);
    ctx.lineTo(f.x1, y);
    ctx.stroke();
    ctx.fillText(fmt(v), f.x0 - 4, y);
  }
}

export function label(ctx, text, x, y, { align = 'left', base = 'alphabetic', color = COLORS.muted } = {}) {
  ctx.fillStyle = color;
  ctx.textAlign = align;
  ctx.textBaseline = base;
  ctx.fillText(text, x, y);
}

/** A placeholder message in the middle, wrapped at its spaces so a narrow chart shows all of it. */
export function empty(ctx, w, h, text) {
  const lines = [];
  for (const word of text.split(' ')) {
    const joined = lines.length ? `${lines[lines.length - 1]} ${word}` : word;
    if (lines.length && ctx.measureText(joined).width <= w - 12) lines[lines.length - 1] = joined;
    else lines.push(word);
  }
  const lh = 14;
  lines.forEach((t, i) => label(ctx, t, w / 2, h / 2 + (i - (lines.length - 1) / 2) * lh, { align: 'center', base: 'middle' }));
}

/** A left margin wide enough for `texts` drawn right-aligned 4 px before the plot (and `min`). */
export function gutter(ctx, texts, min = 34) {
  return Math.max(min, Math.ceil(Math.max(0, ...texts.map((t) => ctx.measureText(t).width))) + 8);
}

/** The first of `texts` (longest first) that fits in `max` px, else the last one. */
export function fitting(ctx, texts, max) {
  return texts.find((t) => ctx.measureText(t).width <= max) ?? texts[texts.length - 1];
}

/** `text` shortened with an ellipsis to fit `max` px (whole when it fits). */
export function clip(ctx, text, max) {
  if (ctx.measureText(text).width <= max) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > max) t = t.slice(0, -1);
  return `${t}…`;
}

/** The right margin that run names at the line ends need: their width, at most `share` of `w`. */
export function endRoom(ctx, names, w, share = 0.28) {
  if (!names.length) return 8;
  return Math.min(Math.ceil(Math.max(...names.map((t) => ctx.measureText(t).width))) + 12, Math.max(44, Math.round(w * share)));
}

/**
 * Each run's name at the right end of its line, in the margin from `x` to `right`: at its line's
 * last y, moved apart to `gap` px and kept within [top, bottom], so lines that end together still
 * have readable names; a thin leader joins a label to its line's end when it moved or the line
 * ends short of the margin. `items`: [{ text, color, x, y, alpha }] (x, y: the line's end).
 * Returns the labels as placed ({ text, y }), top to bottom.
 */
export function endLabels(ctx, items, x, right, top, bottom, gap = 12) {
  const placed = [...items].sort((a, b) => a.y - b.y).map((it) => ({ ...it, ly: it.y }));
  placed.forEach((p, i) => (p.ly = Math.max(p.ly, i ? placed[i - 1].ly + gap : top)));
  for (let i = placed.length - 1; i >= 0; i--) placed[i].ly = Math.min(placed[i].ly, i < placed.length - 1 ? placed[i + 1].ly - gap : bottom);
  for (const p of placed) {
    ctx.globalAlpha = p.alpha ?? 1;
    if (Math.abs(p.ly - p.y) > 2 || p.x < x - 3) {
      ctx.strokeStyle = p.color;
      ctx.lineWidth = 0.75;
      ctx.beginPath();
      ctx.moveTo(p.x + 2, p.y);
      ctx.lineTo(x + 1, p.ly);
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    label(ctx, clip(ctx, p.text, right - x - 4), x + 3, p.ly, { base: 'middle', color: p.color });
  }
  ctx.globalAlpha = 1;
  return placed.map((p) => ({ text: p.text, y: Math.round(p.ly) }));
}

// Stops of a light-to-dark ramp (pale yellow, orange, red, purple, near-black) so that
// small differences in firing rate stay visible.
const STOPS = [[255, 252, 222], [253, 190, 92], [236, 98, 58], [150, 40, 100], [40, 12, 60]];

/** `[r, g, b]` for `v` in [0, 1] on the ramp. */
export function rampRgb(v) {
  const t = Math.min(1, Math.max(0, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(t));
  const f = t - i;
  return STOPS[i].map((a, k) => Math.round(a + f * (STOPS[i + 1][k] - a)));
}

export function ramp(v) {
  const [r, g, b] = rampRgb(v);
  return `rgb(${r},${g},${b})`;
}

// Small bitmaps by size, kept between frames: resizing one canvas for every call (the
// heatmap, the boundary grid and the input frames differ) allocated a new backing store and
// image buffer each time, several times a frame.
const scratch = new Map(); // 'colsxrows' -> { canvas, ctx, img }
const SCRATCH_SIZES = 8;

function bitmap(cols, rows) {
  const key = `${cols}x${rows}`;
  let b = scratch.get(key);
  if (b) scratch.delete(key); // re-inserted below: the map's order is least recently used first
  else {
    if (scratch.size >= SCRATCH_SIZES) scratch.delete(scratch.keys().next().value);
    const canvas = new OffscreenCanvas(cols, rows);
    const ctx = canvas.getContext('2d');
    b = { canvas, ctx, img: ctx.createImageData(cols, rows) };
  }
  scratch.set(key, b);
  return b;
}

/**
 * Draws a `cols x rows` bitmap scaled into a box: `write(data)` fills its RGBA bytes (zeroed
 * first). Thousands of cells cost one drawImage instead of thousands of fillRects, which keeps
 * the main thread's frames short while training.
 */
export function drawPixels(ctx, cols, rows, write, x, y, w, h) {
  const { canvas, ctx: bctx, img } = bitmap(cols, rows);
  img.data.fill(0);
  write(img.data);
  bctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas, x, y, w, h);
}

/** Draws a `cols x rows` grid of colours (`rgba(i)` -> [r, g, b, a]) scaled into a box. */
export function drawCells(ctx, cols, rows, rgba, x, y, w, h) {
  drawPixels(ctx, cols, rows, (data) => {
    for (let i = 0; i < cols * rows; i++) data.set(rgba(i), 4 * i);
  }, x, y, w, h);
}

/** The ramp at 0, 1/255, ..., 1 as a lookup table, for bitmaps of many cells. */
export const RAMP_RGB = Array.from({ length: 256 }, (_, i) => rampRgb(i / 255));

/** Thins a series to at most `max` points by taking evenly spaced entries (keeps the last). */
export function thin(xs, max) {
  if (xs.length <= max) return xs.map((v, i) => [i, v]);
  const out = [];
  const step = (xs.length - 1) / (max - 1);
  for (let k = 0; k < max; k++) {
    const i = Math.round(k * step);
    out.push([i, xs[i]]);
  }
  return out;
}

/**
 * The runs to draw, the focused one (`all[focus]`, e.g. under the mouse in the legend) last so
 * it is on top, each with its alpha: the others fade while one is in focus.
 */
export function focusOrder(shown, all, focus) {
  const f = focus === null ? undefined : all[focus];
  return [...shown.filter((r) => r !== f), ...shown.filter((r) => r === f)].map((r) => [r, !f || r === f ? 1 : 0.15]);
}

/** A line through `pts` ([x, y] pixels), optionally dashed. */
export function polyline(ctx, pts, color, width, dash = []) {
  if (!pts.length) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  ctx.beginPath();
  pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.lineWidth = 1;
}

/**
 * The history scrubber's mark: a vertical line at `x` across the plot `f` and the step it
 * shows, in a label that stays inside the plot.
 */
export function scrubMark(ctx, f, x, step) {
  const xx = Math.round(Math.min(f.x1, Math.max(f.x0, x))) + 0.5;
  ctx.setLineDash([]);
  polyline(ctx, [[xx, f.y0], [xx, f.y1]], COLORS.ink, 2);
  const text = `step ${step}`;
  const tw = ctx.measureText(text).width;
  const left = xx + tw + 8 > f.x1;
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.fillRect(left ? xx - tw - 7 : xx + 3, f.y0 + 1, tw + 4, 14);
  label(ctx, text, left ? xx - 5 : xx + 5, f.y0 + 12, { align: left ? 'right' : 'left', color: COLORS.ink });
}

/** The step axis under a training curve: step 0 at the left, the last step at the right. */
export function stepAxis(ctx, f, last) {
  label(ctx, 'step 0', f.x0, f.y1 + 13);
  label(ctx, `step ${last}`, f.x1, f.y1 + 13, { align: 'right' });
}

/**
 * Which layers (0-based) to number along an axis `px` wide so labels stay `gap` px apart:
 * the first, then every `step`-th with a round step (1, 2, 5, 10, 20, 50, ...), so a
 * 101-layer net reads L1, L10, L20, ... L100, and the last one when it has room.
 */
export function layerTicks(n, px, gap = 28) {
  const fit = Math.max(1, Math.floor(px / gap));
  let step = 1;
  for (let k = 0; step * fit < n; k++) step = [1, 2, 5][k % 3] * 10 ** Math.floor(k / 3);
  const ticks = [0];
  for (let l = step; l <= n; l += step) if (((l - 1 - ticks[ticks.length - 1]) * px) / n >= gap) ticks.push(l - 1);
  if (ticks[ticks.length - 1] !== n - 1 && ((n - 1 - ticks[ticks.length - 1]) * px) / n >= gap) ticks.push(n - 1);
  return ticks;
}
