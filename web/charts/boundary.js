// The decision boundary over the input plane for the 2-D data sets: the probability of
// class 1 on a grid, coloured from one class's colour to the other's, with training points.
import { COLORS, drawCells, empty, fit, label } from './canvas.js';

const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
const C0 = hex(COLORS.class0), C1 = hex(COLORS.class1);

export class DecisionBoundary {
  constructor(canvas) {
    this.canvas = canvas;
    this.layout = null;
    this.grid = null;
    this.size = 0;
  }

  setLayout(layout) {
    this.layout = layout;
    this.grid = null;
  }

  set(grid, size) {
    this.grid = grid;
    this.size = size;
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const L = this.layout;
    if (!L) return empty(ctx, w, h, '…');
    if (L.features !== 2) return empty(ctx, w, h, 'only for the 2-D data sets');
    const side = Math.min(w, h) - 4;
    const ox = (w - side) / 2, oy = (h - side) / 2;
    if (this.grid && this.size) {
      // Confident cells are stronger; cells near p = 0.5 fade out, which draws the boundary.
      const tint = (p) => [...(p >= 0.5 ? C1 : C0), Math.round(255 * 0.6 * (0.15 + Math.abs(p - 0.5)))];
      drawCells(ctx, this.size, this.size, (i) => tint(this.grid[i]), ox, oy, side, side);
    }
    const [lo, hi] = L.range;
    const px = (v) => ox + ((v - lo) / (hi - lo)) * side;
    const py = (v) => oy + side - ((v - lo) / (hi - lo)) * side;
    for (let i = 0; i < L.labels.length; i++) {
      ctx.fillStyle = L.labels[i] ? COLORS.class1 : COLORS.class0;
      ctx.strokeStyle = '#fff';
      ctx.beginPath();
      ctx.arc(px(L.points[2 * i]), py(L.points[2 * i + 1]), 2.5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
    ctx.strokeStyle = COLORS.grid;
    ctx.strokeRect(ox, oy, side, side);
    if (!this.grid) label(ctx, 'boundary appears after the first probe', w / 2, oy + 14, { align: 'center' });
  }

  describe() {
    const L = this.layout;
    if (!L || L.features !== 2) return 'Decision boundary: only for the 2-D data sets';
    if (!this.grid) return `Decision boundary: ${L.labels.length} data points, no prediction yet`;
    const ones = this.grid.filter((p) => p >= 0.5).length;
    return `Decision boundary: ${Math.round((100 * ones) / this.grid.length)}% of the plane predicted as class 1, ${L.labels.length} data points`;
  }
}
