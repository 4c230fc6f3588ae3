// A compact picture of the network: input, one box per hidden layer (filled by its current
// firing rate, with a strip under it for the shares of its neurons silent and saturated:
// charts/shares.js), the readout, where the normalization sits, and the residual skips.
// Clicking a layer, or the arrow keys while the canvas has focus (it is a slider for
// assistive tech), selects it for the raster and membrane views.
import { COLORS, fit, label, layerTicks, ramp } from './canvas.js';
import { layerActivity } from '../run/activity.js';
import { shareStrip } from './shares.js';

/** How the caption and the marks name each norm (the core's serde names are the keys). */
const NORM_NAME = { none: '', psp: 'PSP', bn: 'BN', tdbn: 'tdBN', tebn: 'TEBN', bntt: 'BNTT', mpbn: 'MPBN', layer: 'Layer', rms: 'RMS' };
const WHERE = { pre_weight: 'before each weight', post_weight: 'after each weight', membrane: 'on each membrane, before it fires' };

/** Splits `text` at its ' · ' joints into lines no wider than `max` (a part may overflow). */
function wrap(ctx, text, max) {
  const lines = [];
  for (const part of text.split(' · ')) {
    const last = lines.length ? `${lines[lines.length - 1]} · ${part}` : null;
    if (last && ctx.measureText(last).width <= max) lines[lines.length - 1] = last;
    else lines.push(part);
  }
  return lines;
}

export class NetworkView {
  constructor(canvas, onSelect) {
    this.canvas = canvas;
    this.layout = null;
    this.rates = null;
    this.flags = null;
    this.selected = 0;
    this.boxes = [];
    canvas.addEventListener('click', (e) => {
      const r = canvas.getBoundingClientRect();
      const x = e.clientX - r.left;
      const hit = this.boxes.findIndex(([x0, x1]) => x >= x0 - 2 && x <= x1 + 2);
      if (hit >= 0) onSelect(hit);
    });
    canvas.addEventListener('keydown', (e) => {
      const n = this.layout?.depth ?? 0;
      const to = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 }[e.key];
      const next = to ? this.selected + to : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : null;
      if (next === null || !n) return;
      e.preventDefault();
      if (next >= 0 && next < n && next !== this.selected) onSelect(next);
    });
    canvas.addEventListener('mousemove', (e) => {
      const x = e.clientX - canvas.getBoundingClientRect().left;
      canvas.style.cursor = this.boxes.some(([x0, x1]) => x >= x0 - 2 && x <= x1 + 2) ? 'pointer' : 'default';
    });
  }

  setLayout(layout) {
    this.layout = layout;
    this.rates = null;
  }

  /** `rates`: each hidden layer's mean firing rate; `silent`, `saturated`: its neurons' shares. */
  setRates(rates, silent = [], saturated = []) {
    this.rates = rates;
    this.flags = rates.map(layerActivity);
    this.shares = { silent, saturated };
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const L = this.layout;
    if (!L) return;
    const n = L.depth;
    const sel = this.rates?.[this.selected];
    this.canvas.dataset.selected = String(this.selected + 1);
    this.canvas.setAttribute('aria-valuemax', String(n));
    this.canvas.setAttribute('aria-valuenow', String(this.selected + 1));
    this.canvas.setAttribute('aria-valuetext', `layer ${this.selected + 1} of ${n}${sel === undefined ? '' : `, firing rate ${sel.toFixed(3)}`}${this.shareText()}`);
    // The caption wraps at its ' · ' joints, so a narrow window shows all of it.
    // On a short canvas (a tablet's card) the caption's later parts give way, so the boxes keep
    // at least MIN_BOX px: else the box height went negative and the layer names were drawn
    // over the boxes, out of sight.
    const MIN_BOX = 14;
    let parts = this.caption().split(' · ');
    let lines = wrap(ctx, parts.join(' · '), w - 8);
    while (parts.length > 1 && h - 19 - 6 - 13 * lines.length - 18 < MIN_BOX) {
      parts = parts.slice(0, -1);
      lines = wrap(ctx, parts.join(' · '), w - 8);
    }
    const io = 46;
    const x0 = io + 14, x1 = w - io - 14;
    const slot = (x1 - x0) / n;
    const bw = Math.max(2, Math.min(56, slot * 0.6));
    const STRIP = 6; // the neuron-share strip under each box
    const top = 18, bottom = h - 19 - STRIP - 13 * lines.length;
    this.geom = { top, bottom };
    this.boxes = [];
    const image = L.image?.length === 2 ? `${L.image[0]}×${L.image[1]}` : null;
    this.ioBox(ctx, 4, top, io, bottom - top, `input\n${image ?? L.features}`);
    this.ioBox(ctx, w - io - 4, top, io, bottom - top, `readout\n${L.classes}`);
    const norm = L.norm_placement === 'none' ? '' : NORM_NAME[L.norm] ?? L.norm ?? '';
    for (let i = 0; i < n; i++) {
      const cx = x0 + (i + 0.5) * slot;
      const bx = cx - bw / 2;
      this.boxes.push([bx, bx + bw]);
      const r = this.rates?.[i];
      ctx.fillStyle = r === undefined ? '#f5f7fa' : ramp(Math.sqrt(r));
      ctx.fillRect(bx, top, bw, bottom - top);
      const flag = this.flags?.[i];
      ctx.strokeStyle = i === this.selected ? COLORS.ink : flag && flag !== 'ok' ? COLORS[flag] : COLORS.muted;
      ctx.lineWidth = i === this.selected ? 3 : flag && flag !== 'ok' ? 2 : 1;
      // Dashed: a layer that is silent or saturated passes (almost) no information on.
      if (flag && flag !== 'ok' && i !== this.selected) ctx.setLineDash([4, 3]);
      ctx.strokeRect(bx, top, bw, bottom - top);
      ctx.setLineDash([]);
      ctx.lineWidth = 1;
      const sh = this.shares;
      if (r !== undefined && sh && (sh.silent[i] !== undefined || sh.saturated[i] !== undefined)) {
        shareStrip(ctx, bx, bottom + 2, bw, STRIP - 2, sh.silent[i] ?? 0, sh.saturated[i] ?? 0);
      }
      if (r !== undefined && bw >= 30) {
        label(ctx, r.toFixed(2), cx, (top + bottom) / 2 + 4, { align: 'center', color: r > 0.35 ? '#fff' : COLORS.ink });
      }
      // Every norm acts on what flows into the layer's neurons (the trace before the weight,
      // the current after it, or the membrane), so its mark sits on the input side.
      const pre = true;
      if (norm && L.normalized[i] && slot - bw > 8) this.normMark(ctx, pre ? bx - 5 : bx + bw + 5, norm, slot - bw, pre);
    }
    if (L.residual) this.skips(ctx, n, x0, slot, top);
    // Conv layers are named by their map, C×H×W, where every label fits; else L1, L2, ...
    const names = Array.from({ length: n }, (_, i) => (L.conv && L.shapes?.[i] ? `L${i + 1} ${L.shapes[i].join('×')}` : `L${i + 1}`));
    const wide = Math.max(...names.map((t) => ctx.measureText(t).width)) + 8 <= slot;
    const ticks = wide ? names.map((_, i) => i) : layerTicks(n, x1 - x0, 34);
    for (const i of ticks) label(ctx, wide ? names[i] : `L${i + 1}`, x0 + (i + 0.5) * slot, bottom + STRIP + 12, { align: 'center' });
    if (this.rates && this.shares) this.canvas.dataset.shares = JSON.stringify(this.shares);
    lines.forEach((t, i) => label(ctx, t, w / 2, h - 4 - 13 * (lines.length - 1 - i), { align: 'center', color: COLORS.ink }));
  }

  /** ", 44% of its neurons saturated, 47% silent" for the selected layer, once a probe came. */
  shareText() {
    const sh = this.shares, i = this.selected;
    if (!this.rates || !sh || sh.saturated[i] === undefined) return '';
    return `, ${Math.round(sh.saturated[i] * 100)}% of its neurons saturated, ${Math.round((sh.silent[i] ?? 0) * 100)}% silent`;
  }

  caption() {
    const L = this.layout;
    const norm = L.norm_placement === 'none' ? '' : NORM_NAME[L.norm] ?? L.norm ?? '';
    const sel = this.rates?.[this.selected];
    const where = WHERE[L.norm_placement] ?? '';
    const except = L.normalized[0] ? '' : ' but the first (its input is a current, not spikes)';
    return [this.size(), norm ? `${norm} normalization (green) ${where}${except}` : 'no normalization',
      L.residual && 'residual blocks (purple skips)', `inspecting L${this.selected + 1}${sel === undefined ? '' : `, firing rate ${sel.toFixed(3)}`}${this.shareText()}`]
      .filter(Boolean).join(' · ');
  }

  /** "4 layers × 64 neurons", or for a conv net its channels and how the maps shrink. */
  size() {
    const L = this.layout;
    if (!L.conv || !L.shapes?.length) return `${L.depth} layers × ${L.width} neurons`;
    const maps = [];
    for (const [, h, w] of L.shapes) if (maps[maps.length - 1] !== `${h}×${w}`) maps.push(`${h}×${w}`);
    return `${L.depth} conv layers (3×3) × ${L.width} channels, maps ${maps.join(' → ')}`;
  }

  describe() {
    return this.layout ? `Layer to inspect; the network: ${this.caption()}` : 'The network: loading';
  }

  ioBox(ctx, x, y, bw, bh, text) {
    ctx.fillStyle = '#eef2f7';
    ctx.fillRect(x, y, bw, bh);
    ctx.strokeStyle = COLORS.grid;
    ctx.strokeRect(x, y, bw, bh);
    text.split('\n').forEach((t, i) => label(ctx, t, x + bw / 2, y + bh / 2 + (i ? 8 : -4), { align: 'center', color: COLORS.ink }));
  }

  /** A green bar on the side of the box where the norm acts; its name points away. */
  normMark(ctx, x, text, gap, pre) {
    const { top, bottom } = this.geom;
    const y = (top + bottom) / 2;
    ctx.fillStyle = '#3ebd93';
    ctx.fillRect(x - 2, y - 10, 4, 20);
    if (gap > 48) label(ctx, text, pre ? x - 5 : x + 5, y + 4, { align: pre ? 'right' : 'left', color: '#199473' });
  }

  /** Residual net: layer 1 is the stem, then blocks of two layers, each skipped over. */
  skips(ctx, n, x0, slot, top) {
    ctx.strokeStyle = '#8e44ad';
    // Past ~40 layers the arcs merge into a band: fainter, so they do not hide the boxes.
    ctx.globalAlpha = slot < 14 ? 0.5 : 1;
    for (let start = 1; start < n; start += 2) {
      const end = Math.min(n - 1, start + 1);
      const a = x0 + (start - 0.5) * slot + 4, b = x0 + (end + 0.5) * slot + 4;
      ctx.beginPath();
      ctx.moveTo(a, top);
      ctx.quadraticCurveTo((a + b) / 2, top - 16, b, top);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }
}
