#!/usr/bin/env node
// Where a training step's time goes in the page's wasm module: a CPU profile (Chrome DevTools
// Protocol, `Profiler.start` around `benchSteps`) of one benchmark config in headless
// Chromium, printed as self time by function, the way docs/BENCHMARKS.md compares it with
// `perf report` of the native binary. Figures are printed, never asserted.
//
//     scripts/build-wasm.sh
//     node scripts/profile-wasm.mjs A none [--steps 300] [--warmup 10] [--build relaxed|baseline] [--top 20] [--out A-none.cpuprofile]
//
// The module runs on the page's main thread here (DevTools' profiler sees the page, not its
// workers), one thread as in the page's worker. --out keeps the whole profile (it opens in
// Chromium's DevTools, Performance panel).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';
import { buildUrl } from '../web/worker/wasm-build.js';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    steps: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '10' },
    build: { type: 'string', default: 'relaxed' },
    top: { type: 'string', default: '20' },
    out: { type: 'string' },
  },
});
const [config, norm] = positionals;
// crate/src/bench.rs CONFIGS.
const CONFIGS = ['A', 'B', 'C', 'D', 'E', 'E2', 'F'];
if (!CONFIGS.includes(config)) throw new Error(`config: one of ${CONFIGS.join(', ')}, got ${config}`);
if (!['none', 'bn', 'psp'].includes(norm)) throw new Error(`norm: none, bn or psp, got ${norm}`);
if (!['relaxed', 'baseline'].includes(opt.build)) throw new Error(`--build: relaxed or baseline, got ${opt.build}`);
const whole = (name, min) => {
  const v = Number(opt[name]);
  if (!(Number.isInteger(v) && v >= min)) throw new Error(`--${name}: a whole number >= ${min}, got ${opt[name]}`);
  return v;
};
const [steps, warmup, top] = [whole('steps', 1), whole('warmup', 0), whole('top', 1)];

const server = await startServer(0);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
  const module = buildUrl(opt.build).pathname.replace(/^.*(?=\/pkg\/)/, '');
  const build = await page.evaluate(async (path) => {
    const m = await import('/pkg/spikeplay.js');
    await m.default({ module_or_path: path });
    window.spikeplayModule = m;
    return m.wasmBuild();
  }, module);
  // E, E2 and F train on MNIST: the files the repository ships (benchFiles names them),
  // fetched as the page fetches them.
  await page.evaluate(async (c) => {
    const paths = window.spikeplayModule.benchFiles(c);
    window.spikeplayFiles = paths.length ? await Promise.all(paths.map(async (path) => {
      const res = await fetch(`/data/${path}`);
      if (!res.ok) throw new Error(`data/${path}: HTTP ${res.status}`);
      return { name: path.split('/').pop(), bytes: new Uint8Array(await res.arrayBuffer()) };
    })) : null;
  }, config);
  await page.evaluate(([c, n, w]) => window.spikeplayModule.benchSteps(c, n, w, 1, window.spikeplayFiles ?? undefined), [config, norm, warmup]);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const timing = await page.evaluate(([c, n, s]) => window.spikeplayModule.benchSteps(c, n, 0, s, window.spikeplayFiles ?? undefined), [config, norm, steps]);
  const { profile } = await cdp.send('Profiler.stop');
  if (opt.out) writeFileSync(opt.out, JSON.stringify(profile));

  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id).callFrame;
    // Rust symbols end in a hash (`::h0123456789abcdef`), which says nothing to a reader.
    const name = (frame.functionName || frame.url || '(anonymous)').replace(/::h[0-9a-f]{16}$/, '');
    self.set(name, (self.get(name) ?? 0) + profile.timeDeltas[i]);
    total += profile.timeDeltas[i];
  });
  const median = [...timing.step_ms].sort((a, b) => a - b)[(timing.step_ms.length - 1) >> 1];
  console.log(`${config} ${norm}: ${build} module, Chromium ${browser.version()}, page main thread; ${steps} steps after ${warmup + 1} warm-up, median ${median.toFixed(2)} ms a step (under the profiler); ${(total / 1000).toFixed(0)} ms sampled`);
  console.log('| self time | function |');
  console.log('|---|---|');
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| ${(100 * us / total).toFixed(1)} % | ${name.replaceAll('|', '\\|')} |`);
  }
} finally {
  await browser.close();
  server.close();
}
