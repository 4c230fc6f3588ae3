// Batches chart redraws into an animation frame. After drawing, each canvas gets a fresh
// aria-label (the chart's describe()) and a bumped data-version, which tests wait on.

/**
 * Returns `redraw(...names)` for a { name: chart } table. `minGap` (ms) spaces the frames
 * out: a comparison's many workers report far more often than anyone can watch.
 */
export function redrawer(charts, minGap = 0) {
  const dirty = new Set();
  let pending = false;
  let last = -Infinity;
  const frame = () => {
    pending = false;
    last = performance.now();
    for (const n of dirty) {
      charts[n].draw();
      const c = charts[n].canvas;
      c.dataset.version = String(Number(c.dataset.version ?? 0) + 1);
      c.setAttribute('aria-label', charts[n].describe());
    }
    dirty.clear();
  };
  return function redraw(...names) {
    names.forEach((n) => dirty.add(n));
    if (pending) return;
    pending = true;
    const wait = last + minGap - performance.now();
    if (wait > 0) setTimeout(() => requestAnimationFrame(frame), wait);
    else requestAnimationFrame(frame);
  };
}
