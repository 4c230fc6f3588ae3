// What the page counts about its own drawing, for tests and scripts/bench-page.mjs, and for
// anyone curious in the console (`spikeplayPerf`). Only counters: nothing here decides what
// the page does, and speed is read from the benchmark's output, never asserted in tests
// (tests/e2e-soak.test.mjs asserts only that report latency does not drift over a long run).

/** Latest report latencies kept (a fixed ring: a long run costs no memory here). */
export const LATENCY_RING = 1024;

export const perf = {
  reports: 0, // training reports handled (explore and compare), current or stale
  frames: 0, // animation frames in which at least one chart was drawn
  draws: 0, // chart draws (a frame that redraws three charts counts three)
  drawMs: 0, // time spent drawing charts, summed over every frame
  lastFrameMs: 0, // time the latest drawing frame spent on its charts
  longTasks: 0, // main-thread tasks over 50 ms since the page loaded (PerformanceObserver)
  longestTaskMs: 0,
  // Report latency (explore mode's training reports): ms from the worker posting a report to
  // the page having handled it (charts marked for the next frame). The n-th report's (from 0)
  // is at latencies[n % LATENCY_RING] until LATENCY_RING later ones overwrite it.
  latencyCount: 0,
  latencies: new Float64Array(LATENCY_RING),
};

/**
 * Wall-clock milliseconds, comparable between the page and a worker: each has its own
 * `performance.timeOrigin`, and `timeOrigin + now()` puts both on the same clock.
 */
const wallMs = () => performance.timeOrigin + performance.now();

/** A report the worker stamped at `sentAt` (wallMs) has been handled. */
export function reportHandled(sentAt) {
  if (typeof sentAt !== 'number') return;
  perf.latencies[perf.latencyCount % LATENCY_RING] = wallMs() - sentAt;
  perf.latencyCount += 1;
}

if (globalThis.PerformanceObserver?.supportedEntryTypes?.includes('longtask')) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      perf.longTasks += 1;
      perf.longestTaskMs = Math.max(perf.longestTaskMs, e.duration);
    }
  }).observe({ type: 'longtask', buffered: true });
}

globalThis.spikeplayPerf = perf;
