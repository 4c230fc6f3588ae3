// Batches chart redraws into animation frames: however many reports arrive between two
// frames, each chart that changed is drawn once, in the next frame. After drawing, each
// canvas gets a fresh aria-label (the chart's describe()) and a bumped data-version, which
// tests wait on; web/run/perf.js counts the frames and draws.
import { perf } from '../run/perf.js';

/**
 * A frame draws charts for about this long; charts still waiting are drawn in the next frame.
 * Every chart at once fits in it while training, even at 100+ layers; it splits the frames
 * that would otherwise run long (the first draws after load, with cold code and fonts).
 */
const FRAME_BUDGET_MS = 12;

/**
 * Returns `redraw(...names)` for a { name: chart } table. After a frame that spent `d` ms on
 * its charts, frames in the next `share * d` ms draw nothing, so drawing takes at most about
 * 1 / (1 + share) of the main thread however often the workers report (a comparison's eight
 * workers report far more often than anyone can watch). While a frame's charts take under
 * ~8 ms (at 60 Hz) no frame is skipped: the charts keep up with the display.
 */
export function redrawer(charts, share = 1) {
  const dirty = new Set();
  let pending = false;
  let next = -Infinity; // earliest time for the next drawing frame
  const frame = () => {
    pending = false;
    if (performance.now() < next) return schedule(); // within the last frame's share: the next one
    const t0 = performance.now();
    let drawn = 0;
    for (const n of dirty) {
      if (drawn && performance.now() - t0 > FRAME_BUDGET_MS) break;
      dirty.delete(n);
      drawn += 1;
      charts[n].draw();
      const c = charts[n].canvas;
      c.dataset.version = String(Number(c.dataset.version ?? 0) + 1);
      c.setAttribute('aria-label', charts[n].describe());
    }
    const ms = performance.now() - t0;
    perf.frames += 1;
    perf.draws += drawn;
    perf.drawMs += ms;
    perf.lastFrameMs = ms;
    next = performance.now() + share * ms;
    if (dirty.size) schedule();
  };
  const schedule = () => {
    if (pending || !dirty.size) return;
    pending = true;
    requestAnimationFrame(frame);
  };
  return function redraw(...names) {
    names.forEach((n) => dirty.add(n));
    schedule();
  };
}
