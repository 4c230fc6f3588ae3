#!/usr/bin/env node
// Times the benchmark configs (crate/src/bench.rs) in WebAssembly under Node and natively
// with `spikeplay bench`, in one run, and prints both with the wasm/native ratio.
//
//     scripts/build-wasm.sh && cargo build --release
//     node scripts/bench-wasm.mjs [--configs A,B] [--norms none,psp] [--steps 20] [--warmup 3]
//
// Node runs the module on one thread, as a browser worker does; the native run uses every
// core unless RAYON_NUM_THREADS says otherwise (the header says which). Figures are printed,
// never asserted.
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchSteps, initSync } from '../pkg/spikeplay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    configs: { type: 'string', default: 'A,B,C,D,E' },
    norms: { type: 'string', default: 'none,bn,psp' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
  },
});
const configs = opt.configs.split(',');
const norms = opt.norms.split(',');
const steps = Number(opt.steps);
const warmup = Number(opt.warmup);
if (!(steps >= 1 && Number.isInteger(steps))) throw new Error(`--steps: a whole number >= 1, got ${opt.steps}`);
if (!(warmup >= 0 && Number.isInteger(warmup))) throw new Error(`--warmup: a whole number >= 0, got ${opt.warmup}`);

initSync({ module: readFileSync(join(ROOT, 'pkg', 'spikeplay_bg.wasm')) });
const mnist14 = ['mnist14-images.idx3-ubyte.gz', 'mnist-labels.idx1-ubyte.gz']
  .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(ROOT, 'data', 'mnist', name))) }));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

// Native first, with the same configs, norms and step counts.
const dir = mkdtempSync(join(tmpdir(), 'spikeplay-bench-'));
let native;
try {
  const out = join(dir, 'native.json');
  const bin = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'release', 'spikeplay');
  execFileSync(bin, ['bench', '--configs', configs.join(','), '--norms', norms.join(','),
    '--steps', String(steps), '--warmup', String(warmup), '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  native = JSON.parse(readFileSync(out, 'utf8'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const nativeMs = new Map(native.timings.map((t) => [`${t.config} ${t.norm}`, median(t.step_ms)]));

console.error(`wasm under Node ${process.version} (one thread), ${warmup} warm-up + ${steps} timed steps each`);
const rows = [];
for (const c of configs) {
  for (const n of norms) {
    const t = benchSteps(c, n, warmup, steps, c === 'E' ? mnist14 : undefined);
    const wasm = median(t.step_ms);
    const nat = nativeMs.get(`${c} ${n}`);
    console.error(`${c} ${n.padStart(5)}: wasm ${wasm.toFixed(2)} ms/step, native ${nat.toFixed(2)}`);
    rows.push(`| ${c} | ${n} | ${wasm.toFixed(2)} | ${nat.toFixed(2)} | ${(wasm / nat).toFixed(2)} |`);
  }
}
console.log(`native threads: ${native.threads}`);
console.log('| config | norm | wasm (Node) median ms/step | native median ms/step | wasm / native |');
console.log('|---|---|---|---|---|');
console.log(rows.join('\n'));
