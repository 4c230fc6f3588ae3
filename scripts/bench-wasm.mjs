#!/usr/bin/env node
// Times the benchmark configs (crate/src/bench.rs) in WebAssembly, under Node or in headless
// Chromium inside a worker (as the page trains), and natively with `spikeplay bench`, in one
// run, and prints both with the wasm/native ratio.
//
//     scripts/build-wasm.sh && cargo build --release
//     node scripts/bench-wasm.mjs [--in node|chromium] [--configs A,B] [--norms none,psp] [--steps 20] [--warmup 3]
//     node scripts/bench-wasm.mjs --products [--in node|chromium] [--steps 20]
//
// --rounds N repeats native and wasm N times, interleaved, and keeps each one's lowest
// median per config (a shared machine's interference only ever slows a run down).
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
import { buildUrl, chooseBuild } from '../web/wasm-build.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    in: { type: 'string', default: 'node' },
    configs: { type: 'string', default: 'A,B,C,D,E' },
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

/** `spikeplay bench` on the same configs: { threads, timings }. */
function native() {
  const dir = mkdtempSync(join(tmpdir(), 'spikeplay-bench-'));
  try {
    const out = join(dir, 'native.json');
    const bin = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'release', 'spikeplay');
    const what = job.products ? ['--products'] : ['--configs', job.configs.join(','), '--norms', job.norms.join(','), '--warmup', String(job.warmup)];
    execFileSync(bin, ['bench', ...what, '--steps', String(job.steps), '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The module on Node's main thread. */
async function inNode() {
  const { benchProducts, benchSteps, initSync, wasmBuild } = await import('../pkg/spikeplay.js');
  initSync({ module: readFileSync(buildUrl(job.build ?? chooseBuild(''))) });
  const where = `Node ${process.version}, main thread, ${wasmBuild()} build`;
  if (job.products) return { where, timings: benchProducts(job.steps) };
  const mnist14 = ['mnist14-images.idx3-ubyte.gz', 'mnist-labels.idx1-ubyte.gz']
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(ROOT, 'data', 'mnist', name))) }));
  const out = [];
  for (const c of job.configs) for (const n of job.norms) out.push(benchSteps(c, n, job.warmup, job.steps, c === 'E' ? mnist14 : undefined));
  return { where, timings: out };
}

/** The module in a worker of Debian's Chromium, on the page's own static server. */
async function inChromium() {
  const { chromium } = await import('playwright-core');
  const { startServer } = await import('./serve.mjs');
  const server = await startServer(0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    // Any page of the origin will do: the worker is created from it; the app stays idle.
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    const { timings, build } = await page.evaluate((job) => new Promise((ok, fail) => {
      const w = new Worker('web/bench-worker.js', { type: 'module' });
      const got = [];
      w.onmessage = ({ data }) => {
        if (data.error) fail(new Error(data.error));
        else if (data.done) ok({ timings: got, build: data.build });
        else got.push(data.timing);
      };
      w.onerror = (e) => fail(new Error(e.message));
      w.postMessage(job);
    }), job);
    return { where: `Chromium ${browser.version()}, a worker, ${build} build`, timings };
  } finally {
    await browser.close();
    server.close();
  }
}

let nat;
let wasm;
for (let r = 0; r < rounds; r++) {
  if (rounds > 1) console.error(`round ${r + 1} of ${rounds}`);
  const [n, w] = [native(), opt.in === 'chromium' ? await inChromium() : await inNode()];
  if (!nat) [nat, wasm] = [n, w];
  else if (!job.products) {
    // Keep each config's round with the lowest median.
    const better = (old, fresh) => (median(fresh.step_ms) < median(old.step_ms) ? fresh : old);
    nat.timings = nat.timings.map((t, i) => better(t, n.timings[i]));
    wasm.timings = wasm.timings.map((t, i) => better(t, w.timings[i]));
  }
}
if (job.products) {
  console.log(`wasm: ${wasm.where}, one thread; native threads: ${nat.threads}; median of ${job.steps} runs each`);
  console.log('| rows x in x out | non-zeros | wasm: A W^T gemm ms | sparse ms | taken | dY^T A gemm ms | sparse ms | taken | native: A W^T gemm ms | sparse ms | taken | dY^T A gemm ms | sparse ms | taken |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const ms = (v) => v.toFixed(3);
  const f = (t) => [ms(t.gemm_ms), ms(t.sparse_ms), t.chosen, ms(t.gemm_grad_ms), ms(t.sparse_grad_ms), t.chosen_grad].join(' | ');
  wasm.timings.forEach((w, i) => {
    const n = nat.products[i];
    console.log(`| ${w.shape.join(' x ')} | ${Math.round(w.density * 100)} % | ${f(w)} | ${f(n)} |`);
  });
  process.exit(0);
}
const nativeMs = new Map(nat.timings.map((t) => [`${t.config} ${t.norm}`, median(t.step_ms)]));
const best = rounds > 1 ? `; each side's best of ${rounds} interleaved rounds (lowest median)` : '';
console.log(`wasm: ${wasm.where}, one thread; native threads: ${nat.threads}; ${job.warmup} warm-up + ${job.steps} timed steps each${best}`);
console.log(`| config | norm | wasm median ms/step | native median ms/step | wasm / native | wasm steps/s | native steps/s |`);
console.log('|---|---|---|---|---|---|---|');
for (const t of wasm.timings) {
  const [w, n] = [median(t.step_ms), nativeMs.get(`${t.config} ${t.norm}`)];
  console.log(`| ${t.config} | ${t.norm} | ${w.toFixed(2)} | ${n.toFixed(2)} | ${(w / n).toFixed(2)} | ${(1000 / w).toFixed(1)} | ${(1000 / n).toFixed(1)} |`);
}
