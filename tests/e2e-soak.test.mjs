// Long runs (issue 7, part 4): the page trains 20,000 steps of one config without its wasm
// memory, its JS heap or its report latency creeping up, and 200 config switches leave no
// memory and no workers behind. Each prints a table of what it sampled (docs/RELIABILITY.md
// quotes them). SPIKEPLAY_SOAK_STEPS shortens the long run (default 20,000).
//
// Report latency: the worker stamps each training report with the wall clock
// (`performance.timeOrigin + performance.now()`, comparable across threads) as it posts it;
// the page records, in web/run/perf.js's fixed ring, how long after that stamp it has handled the
// report. The long run compares its medians per window of 1,000 steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WAIT, pause, play, readyAt, requestedGen, useBrowser } from './browser.mjs';

const open = useBrowser();
const MB = 2 ** 20;
const STEPS = Number(process.env.SPIKEPLAY_SOAK_STEPS ?? 20_000);
// Figures are sampled every WINDOW steps (1,000 in the full run).
const WINDOW = Math.max(200, Math.min(1_000, Math.round(STEPS / 20)));
// V8 tiers up in the first ~100 steps, candle's allocations find their sizes and the
// evaluation's gap settles: the bounds start here (step 2,000 in the full run).
const WARMUP = 2 * WINDOW;
// A window waits for at most this long: a 1,000-step window takes 4-16 s on 2 shared cores.
const WINDOW_TIMEOUT = { timeout: 300_000 };

/** The page's default network, spelled out so a change of defaults does not change the test. */
const SOAK = '#dataset=moons&depth=4&width=64&timesteps=8&norm=psp&batch=32&seed=7&openEnded=true';

/** wasm memory is ever growing (memory.grow); it must stay within this of its warm-up value. */
const WASM_GROWTH = 1.10;
/**
 * The page keeps every step's loss by design: Recording.steps (one { step, loss, lr } object,
 * ~50 bytes with its two boxed doubles and its array slot) for Download, and LossCurves'
 * losses and smoothed losses (two packed doubles, 16 bytes, up to 24 with the arrays' spare
 * capacity); recorded probes (until Recording's cap) and evaluations, one per epoch of 25
 * steps, add ~12. A heap snapshot diff over 10,000 steps found ~90 bytes of JS values per
 * step, all of these; with compiled code, JSHeapUsedSize grew ~110 bytes per step. So the
 * heap may grow by 10 % plus STEP_BYTES per step trained after warm-up: keeping ~1 KB more
 * per report (one report every ~10 steps), or ~80 bytes more per step, exceeds it.
 */
const HEAP_GROWTH = 1.10;
const STEP_BYTES = 150;
/**
 * The last window's median latency may be this many times the first post-warm-up window's,
 * plus LATENCY_SLACK_MS for the scheduler on shared cores. Measured window medians: 0.6-0.9
 * ms on a quiet machine, up to 3.2 ms with other builds loading both cores (p90 up to 65
 * ms: hence medians). Work that grows with the run (a chart drawing every point, a report
 * handler walking the history) adds to every report and pushes the median past the bound.
 */
const LATENCY_DRIFT = 2;
const LATENCY_SLACK_MS = 4;

const median = (xs) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The JS heap in use on the page after a full garbage collection (Chrome DevTools Protocol). */
async function heapBytes(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'JSHeapUsedSize').value;
}

/** Heap snapshot node types that are the page's own JS values (not code, shapes or browser internals). */
const JS_VALUES = new Set(['object', 'array', 'string', 'closure', 'regexp', 'number', 'concatenated string', 'sliced string', 'symbol', 'bigint']);

/**
 * Bytes of JS values on the page (sum of self sizes in a heap snapshot, after a collection).
 * JSHeapUsedSize also counts the code V8 compiles as functions get hot and Blink's
 * performance-entry buffers, which grow, boundedly, whatever the page keeps; this does not.
 */
async function jsValueBytes(cdp) {
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  const chunks = [];
  const onChunk = (e) => chunks.push(e.chunk);
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  const { snapshot: { meta }, nodes } = JSON.parse(chunks.join(''));
  const [width, type, size] = [meta.node_fields.length, meta.node_fields.indexOf('type'), meta.node_fields.indexOf('self_size')];
  const js = meta.node_types[0].map((t) => JS_VALUES.has(t));
  let bytes = 0;
  for (let i = 0; i < nodes.length; i += width) if (js[nodes[i + type]]) bytes += nodes[i + size];
  return bytes;
}

/**
 * The page's figures now: step, wasm memory, the latencies recorded since report number
 * `from`, drawing counters and the page's clock.
 */
const pageFigures = (page, from) => page.evaluate((from) => {
  const p = window.spikeplayPerf;
  const n = p.latencyCount;
  const latencies = [];
  for (let i = Math.max(from, n - p.latencies.length); i < n; i++) latencies.push(p.latencies[i % p.latencies.length]);
  return {
    step: Number(document.getElementById('step-count').dataset.step),
    wasm: Number(document.getElementById('memory').dataset.bytes),
    latencyCount: n, latencies, frames: p.frames, drawMs: p.drawMs, now: performance.now(),
  };
}, from);

const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '–');

/** The window that ends at figures `f` (its predecessor `prev`), with the heap now. */
const windowOf = (f, prev, heap) => ({
  step: f.step, wasm: f.wasm, heap, reports: f.latencies.length, latency: median(f.latencies),
  latencyP90: [...f.latencies].sort((a, b) => a - b)[Math.floor(0.9 * (f.latencies.length - 1))],
  stepsPerSecond: (1000 * (f.step - prev.step)) / (f.now - prev.now),
  drawMs: (f.drawMs - prev.drawMs) / Math.max(1, f.frames - prev.frames),
});

/** The long run's samples as a Markdown table (docs/RELIABILITY.md). */
function printSoak(samples, seconds) {
  console.log(`\nsoak: ${STEPS} steps of ${SOAK} in ${fmt(seconds, 0)} s (warm-up ${WARMUP}, windows of ${WINDOW})`);
  console.log('| step | wasm MB | heap MB | reports | median latency ms | p90 latency ms | steps/s | draw ms/frame |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of samples) {
    console.log(`| ${s.step} | ${fmt(s.wasm / MB)} | ${fmt(s.heap / MB, 2)} | ${s.reports} | ${fmt(s.latency, 2)} | ${fmt(s.latencyP90, 2)} | ${fmt(s.stepsPerSecond, 0)} | ${fmt(s.drawMs, 2)} |`);
  }
}

test(`a ${STEPS}-step run keeps its wasm memory, JS heap and report latency flat after warm-up`, async () => {
  const { page, problems } = await open(SOAK);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const t0 = Date.now();
  await play(page);
  const samples = [];
  let prev = { ...(await pageFigures(page, 0)), latencies: [] };
  assert.ok(STEPS >= WARMUP + 2 * WINDOW, `SPIKEPLAY_SOAK_STEPS=${STEPS}: at least ${WARMUP + 2 * WINDOW} for two windows after warm-up`);
  for (let target = WINDOW; prev.step < STEPS; target = Math.min(target + WINDOW, STEPS)) {
    // The real step counter, never a sleep: the worker trains in ~25 ms ticks meanwhile.
    await page.waitForFunction((want) => Number(document.getElementById('step-count').dataset.step) >= want, target, WINDOW_TIMEOUT);
    const f = await pageFigures(page, prev.latencyCount);
    samples.push(windowOf(f, prev, await heapBytes(cdp)));
    prev = f;
  }
  await pause(page);
  printSoak(samples, (Date.now() - t0) / 1000);

  const at = samples.findIndex((s) => s.step >= WARMUP);
  const [warm, firstWindow, last] = [samples[at], samples[at + 1], samples[samples.length - 1]];
  // Heap readings after a forced collection jump by up to ~0.5 MB between neighbouring
  // samples, both ways (something transient): each end is the lower of two samples.
  const heapAt = (i) => Math.min(samples[i].heap, samples[i + 1].heap);
  const [warmHeap, lastHeap] = [heapAt(at), heapAt(samples.length - 2)];
  assert.ok(warm.wasm > 0 && last.wasm > 0, 'the page shows the wasm memory');
  assert.ok(last.wasm <= WASM_GROWTH * warm.wasm,
    `wasm memory grew from ${fmt(warm.wasm / MB)} MB at step ${warm.step} to ${fmt(last.wasm / MB)} MB at step ${last.step}`);
  const heapBound = HEAP_GROWTH * warmHeap + STEP_BYTES * (last.step - warm.step);
  assert.ok(lastHeap <= heapBound,
    `JS heap grew from ${fmt(warmHeap / MB, 2)} MB at step ${warm.step} to ${fmt(lastHeap / MB, 2)} MB at step ${last.step} (bound ${fmt(heapBound / MB, 2)} MB)`);
  assert.ok(firstWindow.reports >= 10 && last.reports >= 10, 'enough reports per window for a median');
  const latencyBound = LATENCY_DRIFT * firstWindow.latency + LATENCY_SLACK_MS;
  assert.ok(last.latency <= latencyBound,
    `median report latency drifted from ${fmt(firstWindow.latency, 2)} ms (steps ${warm.step}-${firstWindow.step}) to ${fmt(last.latency, 2)} ms (last window; bound ${fmt(latencyBound, 2)} ms)`);
  assert.deepEqual(problems, []);
  await page.close();
});

// The switch test: moves that repeat with a period of CYCLE, so the config after the first
// cycle and after the last is the same one (like is compared with like), and every size a
// cycle builds has been allocated once before the first sample.
const DATASETS = ['moons', 'circles', 'xor', 'gaussians', 'spiral'];
const NORMS = ['none', 'psp', 'bn', 'tdbn', 'tebn', 'bntt', 'mpbn', 'layer', 'rms'];
const DEPTHS = [2, 3, 4, 6];
const WIDTHS = [16, 32, 64, 96];
const TIMESTEPS = [4, 6, 8];
const SWITCHES = 200;
const CYCLE = 20;
/** Even moves load a link (the hash: several fields at once), odd moves edit one control. */
function move(i) {
  const k = (i % CYCLE) >> 1;
  if (i % 2 === 0) {
    // Open-ended: a run switched away from while it trains must still be training (a small net
    // would otherwise finish its 250 steps first, and the next run would wait for Train).
    return { hash: `#dataset=${DATASETS[k % 5]}&norm=${NORMS[k % 9]}&depth=${DEPTHS[k % 4]}&width=${WIDTHS[(3 * k) % 4]}&timesteps=${TIMESTEPS[k % 3]}&seed=7&openEnded=true` };
  }
  // A value the link above did not set, so the edit always starts a new run.
  return [
    { key: 'width', text: '48' }, { key: 'norm', select: NORMS[(k + 4) % 9] }, { key: 'timesteps', text: '5' },
    { key: 'dataset', select: DATASETS[(k + 2) % 5] }, { key: 'depth', text: '5' },
  ][k % 5];
}
/**
 * Switch bounds, the same config after the first and the last cycle, garbage collected: wasm
 * memory within 10 %; the page's JS values within SWITCH_VALUE_SLACK (a run's recording,
 * layout and charts are several KB: one kept per switch exceeds it); JSHeapUsedSize, which
 * also holds compiled code and Blink's bounded entry buffers (+0.3-0.4 MB over 180 switches
 * in our runs, nearly all code), within 10 % plus SWITCH_HEAP_SLACK.
 */
const SWITCH_WASM_GROWTH = 1.10;
const SWITCH_VALUE_SLACK = 64 * 1024;
const SWITCH_HEAP_GROWTH = 1.10;
const SWITCH_HEAP_SLACK = 1 * MB;

/** Makes move `i` and waits for its run to be on screen with its first probe. */
async function switchTo(page, i) {
  const before = await requestedGen(page);
  const m = move(i);
  if (m.hash) await page.evaluate((h) => location.replace(h), m.hash); // hashchange, no history entry
  else if (m.select) await page.selectOption(`#ctl-${m.key}`, m.select);
  else {
    await page.fill(`#ctl-${m.key}`, m.text);
    await page.press(`#ctl-${m.key}`, 'Enter');
  }
  // hashchange fires in a task of its own: wait for the request rather than read it at once.
  await page.waitForFunction((b) => Number(document.body.dataset.requestedGen) > b, before, WAIT);
  const g = await requestedGen(page);
  await readyAt(page, g);
  return g;
}

/** Waits until run `g` has trained `n` steps. */
const trained = (page, g, n) => page.waitForFunction(([g, n]) => {
  const s = document.getElementById('step-count');
  return s.dataset.gen === String(g) && Number(s.dataset.step) >= n;
}, [g, n], WINDOW_TIMEOUT);

test(`${SWITCHES} config switches leave no wasm memory, JS heap or worker behind`, async () => {
  const { page, problems } = await open(SOAK);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const t0 = Date.now();
  const samples = [];
  for (let i = 0; i < SWITCHES; i++) {
    const g = await switchTo(page, i);
    // Train on a quarter of the runs for a few steps, then pause; every eighth, the next
    // move is made while it trains, so the new run takes over the running worker.
    if (i % 4 === 0) {
      await play(page);
      await trained(page, g, 10);
      if (i % 8 === 0) {
        const next = await switchTo(page, ++i);
        await trained(page, next, 5);
      }
      await pause(page);
    }
    if ((i + 1) % CYCLE === 0) {
      const wasm = Number(await page.$eval('#memory', (e) => e.dataset.bytes));
      const values = await jsValueBytes(cdp);
      samples.push({ switches: i + 1, wasm, heap: await heapBytes(cdp), values, workers: page.workers().length, seconds: (Date.now() - t0) / 1000 });
    }
  }
  console.log(`\nswitches: ${SWITCHES} in ${fmt((Date.now() - t0) / 1000, 0)} s (cycle of ${CYCLE} moves)`);
  console.log('| switches | wasm MB | heap MB | JS values KB | workers | s |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const s of samples) console.log(`| ${s.switches} | ${fmt(s.wasm / MB)} | ${fmt(s.heap / MB, 2)} | ${fmt(s.values / 1024, 0)} | ${s.workers} | ${fmt(s.seconds, 0)} |`);

  const [first, last] = [samples[0], samples[samples.length - 1]];
  assert.equal(first.switches, CYCLE);
  assert.equal(last.switches, SWITCHES);
  assert.ok(last.wasm <= SWITCH_WASM_GROWTH * first.wasm,
    `wasm memory grew from ${fmt(first.wasm / MB)} MB after ${first.switches} switches to ${fmt(last.wasm / MB)} MB after ${last.switches}`);
  assert.ok(last.values <= first.values + SWITCH_VALUE_SLACK,
    `the page's JS values grew from ${fmt(first.values / 1024, 0)} KB after ${first.switches} switches to ${fmt(last.values / 1024, 0)} KB after ${last.switches}`);
  assert.ok(last.heap <= SWITCH_HEAP_GROWTH * first.heap + SWITCH_HEAP_SLACK,
    `JS heap grew from ${fmt(first.heap / MB, 2)} MB after ${first.switches} switches to ${fmt(last.heap / MB, 2)} MB after ${last.switches}`);
  assert.deepEqual(samples.map((s) => s.workers), samples.map(() => 1), 'one training worker throughout');
  assert.deepEqual(problems, []);
  await page.close();
});
