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
    const caption = h - 4;
    if (e.image.length === 2) this.frames(ctx, w, h - 16, shade);
    else this.raster(ctx, w, h - 16, shade);
    const shown = Math.min(e.steps, MAX_FRAMES);
    const more = e.steps > shown ? ` (first ${shown} shown)` : '';
    label(ctx, `t=1`, 4, caption);
    label(ctx, `t=${shown}`, w - 4, caption, { align: 'right' });
    const what = spikes ? `${e.encoding} spikes` : 'direct current, darker = stronger';
    label(ctx, `${what} · T=${e.steps}${more}`, w / 2, caption, { align: 'center', color: COLORS.ink });
  }

  /** One frame per time step, as large as fits in one row. */
  frames(ctx, w, h, shade) {
    const e = this.e;
    const [ih, iw] = e.image;
    const n = Math.min(e.steps, MAX_FRAMES);
    const gap = 4;
    const scale = Math.max(0.5, Math.min((h - 4) / ih, (w - gap * (n - 1)) / n / iw));
    const fw = iw * scale, fh = ih * scale;
    const x0 = Math.max(0, (w - n * fw - (n - 1) * gap) / 2);
    for (let t = 0; t < n; t++) {
      const x = x0 + t * (fw + gap);
      drawPixels(ctx, iw, ih, (data) => {
        for (let i = 0; i < ih * iw; i++) data.set([...shade(e.values[t * e.features + i]), 255], 4 * i);
      }, x, 2, fw, fh);
      ctx.strokeStyle = COLORS.grid;
      ctx.strokeRect(x + 0.5, 2.5, fw - 1, fh - 1);
    }
    this.canvas.dataset.frames = String(n);
  }

  /** Features as rows, steps as columns. */
  raster(ctx, w, h, shade) {
    const e = this.e;
    const n = Math.min(e.steps, MAX_FRAMES);
    const x0 = 30, y0 = 2;
    drawPixels(ctx, n, e.features, (data) => {
      for (let f = 0; f < e.features; f++) {
        for (let t = 0; t < n; t++) data.set([...shade(e.values[t * e.features + f]), 255], 4 * (f * n + t));
      }
    }, x0, y0, w - x0 - 4, h - y0);
    label(ctx, 'f1', x0 - 4, y0 + 10, { align: 'right' });
    label(ctx, `f${e.features}`, x0 - 4, h, { align: 'right' });
    this.canvas.dataset.frames = String(n);
  }

  describe() {
    const e = this.e;
    if (!e) return 'Encoded input: no probe yet';
    const active = e.values.filter((v) => v !== 0).length;
    const shape = e.image.length === 2 ? `${e.image[0]}×${e.image[1]} image` : `${e.features} features`;
    return `Encoded input of sample ${e.sample + 1} (label ${e.label}): ${shape}, ${e.encoding} encoding over ${e.steps} steps, ${active} non-zero values`;
  }
}
