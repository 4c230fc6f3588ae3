#!/usr/bin/env node
// Times the benchmark configs (crate/src/bench.rs) in WebAssembly, under Node or in headless
// Chromium inside a worker (as the page trains), and natively with `spikeplay bench`, in one
// run, and prints both with the wasm/native ratio.
//
//     scripts/build-wasm.sh && cargo build --release
//     node scripts/bench-wasm.mjs [--in node|chromium] [--configs A,B] [--norms none,psp] [--steps 20] [--warmup 3]
//     node scripts/bench-wasm.mjs --products [--in node|chromium] [--steps 20]
//
// Native and wasm time each config and norm back to back (native first), one pair after
// the other, so that both sides of a ratio see the same machine: this one's speed drifts by
// 10-20 % over minutes (a shared host), which timing every native config before every wasm
// one turned into ratios 0.1-0.2 apart between runs. --rounds N repeats the whole sequence
// N times and prints, per config and norm, the round with the median ratio (the lower of the
// two middle ones for an even N; its wasm and native figures are that round's).
//
// --products times a dense layer's matrix products by gemm and by the sparse loops (per
// shape and share of non-zero inputs, median of --steps) in wasm and natively, instead of
// training steps: where the layer switches to the sparse loops in each build.
//
// --build relaxed|baseline picks which of the two wasm modules to time (scripts/build-wasm.sh);
// by default (auto) the one the page loads there: relaxed SIMD in Chromium, the baseline
// module in Node 20 (which validates relaxed SIMD only with --experimental-wasm-relaxed-simd).
//
// wasm runs on one thread (Node's main thread, or a browser worker); the native run uses every
// core unless RAYON_NUM_THREADS says otherwise (the output says which). Figures are printed,
// never asserted.
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildUrl, chooseBuild } from '../web/worker/wasm-build.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    in: { type: 'string', default: 'node' },
    configs: { type: 'string', default: 'A,B,C,D,E,E2,F' },
    norms: { type: 'string', default: 'none,bn,psp' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    products: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    build: { type: 'string', default: 'auto' },
  },
});
const job = { configs: opt.configs.split(','), norms: opt.norms.split(','), steps: Number(opt.steps), warmup: Number(opt.warmup), products: opt.products };
if (!(job.steps >= 1 && Number.isInteger(job.steps))) throw new Error(`--steps: a whole number >= 1, got ${opt.steps}`);
if (!(job.warmup >= 0 && Number.isInteger(job.warmup))) throw new Error(`--warmup: a whole number >= 0, got ${opt.warmup}`);
if (!['node', 'chromium'].includes(opt.in)) throw new Error(`--in: node or chromium, got ${opt.in}`);
if (!['auto', 'relaxed', 'baseline'].includes(opt.build)) throw new Error(`--build: auto, relaxed or baseline, got ${opt.build}`);
if (opt.build !== 'auto') job.build = opt.build;
const rounds = Number(opt.rounds);
if (!(rounds >= 1 && Number.isInteger(rounds))) throw new Error(`--rounds: a whole number >= 1, got ${opt.rounds}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** `spikeplay bench` on `part` (configs and norms, or the products): { threads, timings }. */
function native(part) {
  const dir = mkdtempSync(join(tmpdir(), 'spikeplay-bench-'));
  try {
    const out = join(dir, 'native.json');
    const bin = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'release', 'spikeplay');
    const what = part.products ? ['--products'] : ['--configs', part.configs.join(','), '--norms', part.norms.join(','), '--warmup', String(part.warmup)];
    execFileSync(bin, ['bench', ...what, '--steps', String(job.steps), '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The module on Node's main thread: { where, run(part) -> timings, close() }. */
async function inNode() {
  const { benchFiles, benchProducts, benchSteps, initSync, wasmBuild } = await import('../pkg/spikeplay.js');
  initSync({ module: readFileSync(buildUrl(job.build ?? chooseBuild(''))) });
  // E, E2 and F train on MNIST: the shipped files benchFiles names.
  const filesOf = (c) => {
    const paths = benchFiles(c);
    return paths.length ? paths.map((path) => ({ name: path.split('/').pop(), bytes: new Uint8Array(readFileSync(join(ROOT, 'data', path))) })) : undefined;
  };
  const run = (part) => {
    if (part.products) return benchProducts(part.steps);
    const out = [];
    for (const c of part.configs) for (const n of part.norms) out.push(benchSteps(c, n, part.warmup, part.steps, filesOf(c)));
    return out;
  };
  return { where: `Node ${process.version}, main thread, ${wasmBuild()} build`, run, close() {} };
}

/**
 * The module in a worker of Debian's Chromium, on the page's own static server; one browser
 * and one worker for the whole run: { where, run(part) -> timings, close() }.
 */
async function inChromium() {
  const { chromium } = await import('playwright-core');
  const { startServer } = await import('./serve.mjs');
  const server = await startServer(0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  });
  const close = async () => {
    await browser.close();
    server.close();
  };
  try {
    const page = await browser.newPage();
    // Any page of the origin will do: the worker is created from it; the app stays idle.
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.evaluate(() => {
      const w = new Worker('web/worker/bench-worker.js', { type: 'module' });
      window.benchJob = (part) => new Promise((ok, fail) => {
        const got = [];
        w.onmessage = ({ data }) => {
          if (data.error) fail(new Error(data.error));
          else if (data.done) ok({ timings: got, build: data.build, clock: data.clock });
          else got.push(data.timing);
        };
        w.onerror = (e) => fail(new Error(e.message));
        w.postMessage(part);
      });
    });
    let where = null;
    const run = async (part) => {
      const { timings, build, clock } = await page.evaluate((p) => window.benchJob(p), part);
      const tick = `clock step ${(clock.tick_ms * 1000).toFixed(0)} µs`;
      where = `Chromium ${browser.version()}, a worker, ${build} build, ${clock.isolated ? 'cross-origin isolated' : 'NOT cross-origin isolated'} (${tick})`;
      return timings;
    };
    return { get where() { return where; }, run, close };
  } catch (e) {
    await close();
    throw e;
  }
}

const wasmSide = opt.in === 'chromium' ? await inChromium() : await inNode();
// One part per config and norm (the products: one part), each timed natively then in wasm.
const parts = job.products ? [job] : job.configs.flatMap((c) => job.norms.map((n) => ({ ...job, configs: [c], norms: [n] })));
const runs = parts.map(() => []); // per part, one { native, wasm, threads } per round
try {
  for (let r = 0; r < rounds; r++) {
    if (rounds > 1) console.error(`round ${r + 1} of ${rounds}`);
    for (const [i, part] of parts.entries()) {
      const n = native(part);
      const got = { native: n.products ?? n.timings, threads: n.threads, wasm: await wasmSide.run(part) };
      runs[i].push(got);
      if (!job.products) {
        const [nm, wm] = [median(got.native[0].step_ms), median(got.wasm[0].step_ms)];
        console.error(`${part.configs[0]} ${part.norms[0]}: native ${nm.toFixed(2)} ms, wasm ${wm.toFixed(2)} ms (${(wm / nm).toFixed(2)}x)`);
      }
    }
  }
} finally {
  await wasmSide.close();
}
const threads = runs[0][0].threads;
if (job.products) {
  // One round's products (later rounds only repeat them).
  const [{ native: natProducts, wasm: wasmProducts }] = runs[0];
  console.log(`wasm: ${wasmSide.where}, one thread; native threads: ${threads}; median of ${job.steps} runs each`);
  // Dense rows: `rows x in x out`, forward `A W^T`, gradient `dY^T A`; conv3x3 rows:
  // `frames x C x C' x H x W`, "gemm" the patch matrix, "sparse" the events.
  console.log('| layer | shape | non-zeros | wasm: forward gemm ms | sparse ms | taken | weight gradient gemm ms | sparse ms | taken | native: forward gemm ms | sparse ms | taken | weight gradient gemm ms | sparse ms | taken |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const ms = (v) => v.toFixed(3);
  const f = (t) => [ms(t.gemm_ms), ms(t.sparse_ms), t.chosen, ms(t.gemm_grad_ms), ms(t.sparse_grad_ms), t.chosen_grad].join(' | ');
  wasmProducts.forEach((w, i) => {
    console.log(`| ${w.layer} | ${w.shape.join(' x ')} | ${Math.round(w.density * 100)} % | ${f(w)} | ${f(natProducts[i])} |`);
  });
  process.exit(0);
}
const picked = rounds > 1 ? `; of ${rounds} rounds, each config's round with the median ratio` : '';
console.log(`wasm: ${wasmSide.where}, one thread; native threads: ${threads}; ${job.warmup} warm-up + ${job.steps} timed steps each, native then wasm per config${picked}`);
console.log(`| config | norm | wasm median ms/step | native median ms/step | wasm / native | wasm steps/s | native steps/s |`);
console.log('|---|---|---|---|---|---|---|');
for (const rs of runs) {
  const pairs = rs.map(({ native: [n], wasm: [w] }) => ({ config: w.config, norm: w.norm, w: median(w.step_ms), n: median(n.step_ms) }));
  const { config, norm, w, n } = [...pairs].sort((a, b) => a.w / a.n - b.w / b.n)[Math.floor((pairs.length - 1) / 2)];
  console.log(`| ${config} | ${norm} | ${w.toFixed(2)} | ${n.toFixed(2)} | ${(w / n).toFixed(2)} | ${(1000 / w).toFixed(1)} | ${(1000 / n).toFixed(1)} |`);
}
