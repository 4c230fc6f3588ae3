// The wasm benchmark runner (scripts/bench-wasm.mjs) times a config in WebAssembly under Node
// and natively in one run and prints the ratio; scripts/profile-wasm.mjs prints where a step's
// time goes in the module. Checked for shape, never for speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chooseBuild } from '../web/worker/wasm-build.js';

const ROOT = new URL('..', import.meta.url).pathname;

// `auto` is the module the page would load: in Node whatever this Node validates (Node 20:
// baseline, relaxed SIMD only behind a flag), in Chromium the relaxed one. The output names
// the module as it reports itself.
for (const [where, build, loaded] of [['node', 'auto', chooseBuild('')], ['chromium', 'auto', 'relaxed'], ['chromium', 'baseline', 'baseline']]) {
test(`bench-wasm --in ${where} --build ${build} prints wasm and native figures and their ratio for the same config`, () => {
  // The native binary is the release build the CLI tests made (cargo builds it if missing).
  execFileSync('cargo', ['build', '--release', '--quiet', '--bin', 'spikeplay'], { cwd: ROOT, stdio: 'inherit' });
  // Under Node, three rounds: each row is then one round's pair, the one with the median ratio.
  const rounds = where === 'node' ? 3 : 1;
  const out = execFileSync('node', ['scripts/bench-wasm.mjs', '--in', where, '--configs', 'A', '--norms', 'none,psp', '--steps', '2', '--warmup', '0', '--build', build, '--rounds', String(rounds)],
    { cwd: ROOT, encoding: 'utf8' });
  const rows = out.split('\n').filter((l) => l.startsWith('| A |'));
  assert.equal(rows.length, 2, out);
  for (const row of rows) {
    const [wasm, native, ratio, wasmRate, nativeRate] = row.split('|').slice(3, 8).map(Number);
    assert.ok(wasm > 0 && native > 0, row);
    assert.ok(Math.abs(ratio - wasm / native) < 0.01 * ratio + 0.005, `ratio ${ratio} is wasm / native: ${row}`);
    assert.ok(Math.abs(wasmRate - 1000 / wasm) < 0.01 * wasmRate + 0.05 && Math.abs(nativeRate - 1000 / native) < 0.01 * nativeRate + 0.05,
      `steps/s are 1000 / ms: ${row}`);
  }
  // In Chromium the worker must be cross-origin isolated (the server's headers): otherwise its
  // clock ticks in 100 µs, 5 % of an A step.
  const place = where === 'chromium' ? 'Chromium .*, a worker' : 'Node .*, main thread';
  const clock = where === 'chromium' ? ', cross-origin isolated \\(clock step \\d+ µs\\)' : '';
  assert.match(out, new RegExp(`^wasm: ${place}, ${loaded} build${clock}, one thread; native threads: \\d`, 'm'));
  assert.match(out, /native then wasm per config/);
  assert.equal(/of 3 rounds, each config's round with the median ratio/.test(out), rounds === 3, out);
});
}

test('bench-wasm --products prints the product timings of both builds, shape by shape', () => {
  execFileSync('cargo', ['build', '--release', '--quiet', '--bin', 'spikeplay'], { cwd: ROOT, stdio: 'inherit' });
  const out = execFileSync('node', ['scripts/bench-wasm.mjs', '--products', '--steps', '1'], { cwd: ROOT, encoding: 'utf8' });
  const rows = out.split('\n').filter((l) => /^\| (dense|conv3x3) \| \d+( x \d+)+ \|/.test(l));
  // Dense: 3 shapes x 7 densities; conv3x3: 3 shapes x 7 densities.
  assert.equal(rows.filter((r) => r.startsWith('| dense |')).length, 21, out);
  assert.equal(rows.filter((r) => r.startsWith('| conv3x3 |')).length, 21, out);
  for (const row of rows) {
    const cells = row.split('|').slice(1, -1).map((c) => c.trim());
    assert.equal(cells.length, 15, row);
    const times = [3, 4, 6, 7, 9, 10, 12, 13].map((i) => Number(cells[i]));
    assert.ok(times.every((t) => t >= 0 && Number.isFinite(t)), row);
    assert.ok([5, 8, 11, 14].every((i) => ['gemm', 'sparse'].includes(cells[i])), row);
  }
  // The 64-row dense shape is too small for the sparse loops natively, at any density; a conv
  // layer at 50 % non-zeros takes the patch matrix everywhere, at 2 % the events.
  assert.ok(rows.filter((r) => r.startsWith('| dense | 64 x')).every((r) => r.trim().endsWith('| gemm |')), out);
  assert.ok(rows.filter((r) => r.startsWith('| conv3x3 |') && r.includes('| 50 % |')).every((r) => r.trim().endsWith('| gemm |')), out);
  assert.ok(rows.filter((r) => r.startsWith('| conv3x3 |') && r.includes('| 2 % |')).every((r) => r.trim().endsWith('| sparse |')), out);
});

test('profile-wasm prints the module functions\' self time for one config, largest first', () => {
  const out = execFileSync('node', ['scripts/profile-wasm.mjs', 'A', 'psp', '--steps', '10', '--warmup', '0', '--top', '5'], { cwd: ROOT, encoding: 'utf8' });
  assert.match(out, /^A psp: relaxed module, Chromium .*, median [\d.]+ ms a step/m);
  const rows = out.split('\n').filter((l) => /^\| [\d.]+ % \|/.test(l));
  assert.equal(rows.length, 5, out);
  const shares = rows.map((r) => Number(r.split('|')[1].replace('%', '')));
  assert.ok(shares.every((v, i) => v > 0 && (i === 0 || v <= shares[i - 1])), `largest first: ${shares}`);
  assert.ok(shares.reduce((a, b) => a + b) <= 100.05, `shares of one total: ${shares}`);
  assert.ok(rows.some((r) => r.includes('spikeplay::')), `the module's functions by name:\n${out}`);
  assert.ok(rows.every((r) => !/::h[0-9a-f]{16}/.test(r)), 'without symbol hashes');
});

test('profile-wasm profiles the conv configs on the shipped MNIST files (14x14 for E, 28x28 for E2)', () => {
  for (const config of ['E', 'E2']) {
    const out = execFileSync('node', ['scripts/profile-wasm.mjs', config, 'psp', '--steps', '2', '--warmup', '0', '--top', '8'], { cwd: ROOT, encoding: 'utf8' });
    assert.match(out, new RegExp(`^${config} psp: relaxed module, Chromium .*, median [\\d.]+ ms a step`, 'm'));
    assert.ok(out.split('\n').filter((l) => /^\| [\d.]+ % \|/.test(l)).some((r) => /spikeplay::|candle_core::/.test(r)), `the module's functions by name:\n${out}`);
  }
});

test('profile-wasm names the argument it refuses', () => {
  for (const [args, field] of [[['G', 'none'], 'config'], [['A', 'pspp'], 'norm'], [['A', 'none', '--build', 'fast'], '--build'], [['A', 'none', '--steps', '0'], '--steps']]) {
    let err;
    try {
      execFileSync('node', ['scripts/profile-wasm.mjs', ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = e;
    }
    assert.ok(err && err.status !== 0, `${args} refused`);
    assert.match(err.stderr, new RegExp(`${field.replace('-', '\\-')}: `), err.stderr);
  }
});
