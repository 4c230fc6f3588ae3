// What the page counts about its own drawing, for tests and scripts/bench-page.mjs, and for
// anyone curious in the console (`spikeplayPerf`). Only counters: nothing here decides what
// the page does, and speed is read from the benchmark's output, never asserted in tests.

export const perf = {
  reports: 0, // training reports handled (explore and compare), current or stale
  frames: 0, // animation frames in which at least one chart was drawn
  draws: 0, // chart draws (a frame that redraws three charts counts three)
  drawMs: 0, // time spent drawing charts, summed over every frame
  lastFrameMs: 0, // time the latest drawing frame spent on its charts
  longTasks: 0, // main-thread tasks over 50 ms since the page loaded (PerformanceObserver)
  longestTaskMs: 0,
};

if (globalThis.PerformanceObserver?.supportedEntryTypes?.includes('longtask')) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      perf.longTasks += 1;
      perf.longestTaskMs = Math.max(perf.longestTaskMs, e.duration);
    }
  }).observe({ type: 'longtask', buffered: true });
}

globalThis.spikeplayPerf = perf;
