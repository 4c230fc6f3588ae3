// The probe sample as the first layer receives it over the T time steps (`encodedInput`):
// for images a strip of T small frames, one per step; for feature vectors a features x steps
// raster. Direct encoding shows currents (a signed scale), poisson and latency show spikes.
import { COLORS, RAMP_RGB, drawPixels, empty, fit, label } from './canvas.js';

/** At most this many frames or columns are drawn; the rest is summarized in the caption. */
const MAX_FRAMES = 32;

export class EncodedInput {
  constructor(canvas) {
    this.canvas = canvas;
    this.e = null;
  }

  /** `enc`: { sample, label, steps, features, image: [h, w] or [], encoding, values }. */
  set(enc) {
    this.e = enc;
  }

  clear() {
    this.e = null;
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const e = this.e;
    if (!e) return empty(ctx, w, h, 'the input of one sample over time');
    this.canvas.dataset.frames = '0';
    const spikes = e.encoding !== 'direct';
    // Currents span their own range (2-D points are signed), from pale (lowest) to dark.
    let lo = 0, hi = spikes ? 1 : 0;
    if (!spikes) for (const v of e.values) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    const shade = (v) => RAMP_RGB[Math.round(255 * Math.max(0, Math.min(1, (v - lo) / (hi - lo || 1))))];
    // Spike trains end in one more frame (or column): each input's spikes summed over all T.
    const sum = spikes ? this.sum() : null;
    const axis = h - 18, caption = h - 4;
    const ends = e.image.length === 2 ? this.frames(ctx, w, h - 30, shade, sum) : this.raster(ctx, w, h - 30, shade, sum);
    const shown = Math.min(e.steps, MAX_FRAMES);
    const more = e.steps > shown ? ` (first ${shown} shown)` : '';
    label(ctx, 't=1', ends.first, axis);
    label(ctx, `t=${shown}`, ends.last, axis, { align: 'right' });
    if (sum) label(ctx, 'sum over T', ends.sum, axis, { align: 'center', color: COLORS.ink });
    const what = e.encoding === 'latency' ? 'latency spikes, brighter pixels spike earlier'
      : spikes ? `${e.encoding} spikes` : 'direct current, darker = stronger';
    label(ctx, `${what} · T=${e.steps}${more}`, w / 2, caption, { align: 'center', color: COLORS.ink });
    this.canvas.dataset.sum = String(!!sum);
  }

  /** Each input's spike count over all T, scaled so the busiest input is 1. */
  sum() {
    const e = this.e;
    const out = new Float32Array(e.features);
    for (let t = 0; t < e.steps; t++) for (let i = 0; i < e.features; i++) out[i] += e.values[t * e.features + i];
    const top = Math.max(1e-9, ...out);
    return out.map((v) => v / top);
  }

  /** One frame per time step (and the sum's), as large as fits in one row; returns where the axis labels go. */
  frames(ctx, w, h, shade, sum) {
    const e = this.e;
    const [ih, iw] = e.image;
    const n = Math.min(e.steps, MAX_FRAMES);
    const slots = n + (sum ? 1 : 0);
    const gap = 4, sep = sum ? 10 : 0; // the sum frame stands a little apart
    const scale = Math.max(0.5, Math.min((h - 4) / ih, (w - gap * (n - 1) - sep) / slots / iw));
    const fw = iw * scale, fh = ih * scale;
    const x0 = Math.max(0, (w - slots * fw - (n - 1) * gap - sep) / 2);
    const draw = (x, value) => {
      drawPixels(ctx, iw, ih, (data) => {
        for (let i = 0; i < ih * iw; i++) data.set([...shade(value(i)), 255], 4 * i);
      }, x, 2, fw, fh);
      ctx.strokeStyle = COLORS.grid;
      ctx.strokeRect(x + 0.5, 2.5, fw - 1, fh - 1);
    };
    for (let t = 0; t < n; t++) draw(x0 + t * (fw + gap), (i) => e.values[t * e.features + i]);
    const last = x0 + n * fw + (n - 1) * gap;
    if (sum) draw(last + sep, (i) => sum[i]);
    this.canvas.dataset.frames = String(n);
    return { first: x0, last, sum: last + sep + fw / 2 };
  }

  /** Features as rows, steps as columns (then a blank column and the sum's). */
  raster(ctx, w, h, shade, sum) {
    const e = this.e;
    const n = Math.min(e.steps, MAX_FRAMES);
    const cols = n + (sum ? 2 : 0);
    const x0 = 30, y0 = 2, x1 = w - 4;
    drawPixels(ctx, cols, e.features, (data) => {
      for (let f = 0; f < e.features; f++) {
        for (let t = 0; t < n; t++) data.set([...shade(e.values[t * e.features + f]), 255], 4 * (f * cols + t));
        if (sum) {
          data.set([255, 255, 255, 255], 4 * (f * cols + n));
          data.set([...shade(sum[f]), 255], 4 * (f * cols + n + 1));
        }
      }
    }, x0, y0, x1 - x0, h - y0);
    label(ctx, 'f1', x0 - 4, y0 + 10, { align: 'right' });
    label(ctx, `f${e.features}`, x0 - 4, h, { align: 'right' });
    this.canvas.dataset.frames = String(n);
    const cw = (x1 - x0) / cols;
    return { first: x0, last: x0 + n * cw, sum: Math.min(x0 + (n + 1.5) * cw, w - 30) };
  }

  describe() {
    const e = this.e;
    if (!e) return 'Encoded input: no probe yet';
    const active = e.values.filter((v) => v !== 0).length;
    const shape = e.image.length === 2 ? `${e.image[0]}×${e.image[1]} image` : `${e.features} features`;
    return `Encoded input of sample ${e.sample + 1} (label ${e.label}): ${shape}, ${e.encoding} encoding over ${e.steps} steps, ${active} non-zero values`;
  }
}
