// Networks that leave the page (issue 20): Download -> Model as NIR and Weights (safetensors).
// The NIR file is read by Python's reference reader (`nir.read`, nir 1.0.8 in .venv-interop,
// which scripts/test-interop.sh sets up before the browser tests); the weights file is read
// by the native CLI's --init-from, which scores what the page's network scored. A norm that
// cannot be folded is marked as such next to the norm control and refused with its reason,
// and the run keeps training; compare mode's table has a NIR column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WAIT, compareReady, download, pause, play, step, stepsAtLeast, useBrowser } from './browser.mjs';

const open = useBrowser();
const ROOT = new URL('..', import.meta.url).pathname;
const PYTHON = join(ROOT, '.venv-interop/bin/python');
const HASH = '#dataset=digits&depth=3&width=32&timesteps=4&batch=64&epochs=2&lr=0.003&norm=none';

/** Runs `code` in the interop venv's Python with the arguments; returns its stdout as JSON. */
function python(code, ...args) {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: scripts/test-interop.sh creates it (scripts/test.sh runs it first)`);
  return JSON.parse(execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' }));
}

test('the trained network downloads as NIR and as weights, and both read back elsewhere', async () => {
  const { page, problems } = await open(HASH);
  assert.match(await page.textContent('#mark-norm'), /✓ deployable as NIR/);
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 20, null, WAIT);
  await pause(page);
  const at = await step(page);
  // The energy estimate from the latest probe: SNN and ANN figures, and what the title says.
  assert.match(await page.textContent('#energy'), /^\d[\d.]* nJ ANN \d[\d.]* nJ$/);
  assert.match(await page.getAttribute('#energy', 'title'), /^An estimate per sample .*\nFP32: .*\nFP16: .*\nINT8: .*\nFP32 per layer: L1 .* L3 .* readout /s);
  const nir = await download(page, '#download-nir', '#download-menu');
  const weights = await download(page, '#download-weights', '#download-menu');
  assert.match(nir.name, new RegExp(`^spikeplay-digits-d3-w32-T4-none-seed0-step${at}\\.nir$`));
  assert.match(weights.name, /\.safetensors$/);
  assert.deepEqual([...nir.bytes.subarray(0, 8)], [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 'an HDF5 file');
  assert.match(await page.textContent('#status'), /Model as NIR: saved .*\.nir|Weights \(safetensors\): saved/);
  const rec = JSON.parse((await download(page, '#download-json', '#download-menu')).bytes.toString());
  const dir = mkdtempSync(join(tmpdir(), 'spikeplay-export-'));
  try {
    const [nirFile, weightsFile, runFile, out] = ['m.nir', 'w.safetensors', 'run.json', 'again.json'].map((f) => join(dir, f));
    writeFileSync(nirFile, nir.bytes);
    writeFileSync(weightsFile, weights.bytes);
    writeFileSync(runFile, JSON.stringify(rec));
    // The reference reader takes the page's file, type checks included; without a norm its
    // weights are the page's own, as the safetensors reader reads them from the other file.
    const read = python(`
import json, sys, nir, numpy as np
from safetensors.numpy import load_file
g = nir.read(sys.argv[1]); w = load_file(sys.argv[2])
print(json.dumps({"nodes": sorted(g.nodes), "same": all(np.array_equal(g.nodes[f"fc{l}"].weight, w[f"layers.{l}.weight"]) for l in range(3)),
                  "head": list(g.nodes["head"].weight.shape)}))`, nirFile, weightsFile);
    assert.deepEqual(read.nodes, ['fc0', 'fc1', 'fc2', 'head', 'input', 'lif0', 'lif1', 'lif2', 'output', 'readout']);
    assert.equal(read.same, true, 'the NIR weights are the page network\'s');
    assert.deepEqual(read.head, [10, 32]);
    // The CLI goes on from the page's weights: with a negligible learning rate its first
    // evaluation scores what the page's network scored at the step it was saved.
    execFileSync('cargo', ['run', '--release', '--quiet', '--bin', 'spikeplay', '--', 'train', '--config', runFile,
      '--init-from', weightsFile, '--epochs', '1', '--lr', '1e-12', '--quiet', '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    const cli = JSON.parse(readFileSync(out, 'utf8')).history[0].test_accuracy;
    const seen = rec.evals.filter((e) => e.step <= at).pop();
    console.log(`weights from the page (step ${at}): CLI test accuracy ${cli.toFixed(4)}; the page's latest evaluation ${seen?.test_accuracy?.toFixed(4)} at step ${seen?.step}`);
    assert.ok(cli > 0.5, `the CLI scores a trained network: ${cli}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('a norm NIR cannot hold is marked, refused with its reason, and the run goes on', async () => {
  // Enough epochs that the run is still training when the refusal comes (2 take a second).
  const { page, problems } = await open(HASH.replace('norm=none', 'norm=tebn').replace('epochs=2', 'epochs=200'));
  assert.match(await page.textContent('#mark-norm'), /✗ not deployable as NIR: TEBN scales each time step by its own learned factor/);
  await play(page);
  const before = await step(page);
  await page.click('#download-menu summary');
  await page.click('#download-nir');
  assert.match(await page.textContent('#status'), /Model as NIR: TEBN cannot be folded into the graph: TEBN scales each time step/);
  // Training went on, and the weights (which hold TEBN's per-step scales) still download.
  await page.waitForFunction((n) => Number(document.getElementById('step-count').dataset.step) > n + 5, before, WAIT);
  const weights = await download(page, '#download-weights', '#download-menu');
  assert.ok(weights.bytes.length > 1000 && weights.bytes.includes(Buffer.from('step_scale')), 'TEBN\'s step scales are in the weights');
  assert.equal(await page.$eval('#ctl-norm', (s) => s.value), 'tebn', 'the settings stay');
  await pause(page);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the compare table says which runs are deployable as NIR', async () => {
  const { page, problems } = await open('#dataset=xor&samples=64&depth=2&width=8&timesteps=2&epochs=2&compare=norm:none,psp,bntt', { wait: compareReady });
  const marks = await page.$$eval('#compare-table tbody tr', (trs) => trs.map((tr) => [tr.querySelector('.name').textContent, tr.querySelector('.nir').dataset.deployable, tr.querySelector('.nir').title]));
  assert.deepEqual(marks.map(([, d]) => d), ['true', 'true', 'false'], JSON.stringify(marks));
  assert.match(marks[2][2], /BNTT learns a gain .* for each time step/);
  const energy = await page.$$eval('#compare-table tbody td.energy', (tds) => tds.map((td) => [Number(td.dataset.nj), td.title]));
  assert.ok(energy.every(([nj, title]) => nj > 0 && /^An estimate per sample/.test(title)), JSON.stringify(energy));
  // 2 steps an epoch: each run stops at step 4 (#play, not play(): that may be over before "running" shows).
  await page.click('#play');
  await stepsAtLeast(page, 4);
  // Every deployable run downloads; the one that is not is named in the status line.
  const first = await download(page, '#download-nir', '#download-menu');
  assert.match(first.name, /\.nir$/);
  await page.waitForFunction(() => /saved 2 files · left out .*bntt/.test(document.getElementById('status').textContent), null, WAIT);
  assert.deepEqual(problems, []);
  await page.close();
});

const FIXTURE = join(ROOT, 'tests/interop/fixtures/snntorch-digits.nir');

test('a NIR file dropped on the page runs as the network it holds, and trains on from it', async () => {
  // On the default 2-D data set the graph (64 inputs, 10 classes) cannot run: refused with
  // the data set that fits, and the run on screen goes on.
  const { page, problems } = await open('#depth=3&width=16');
  await page.setInputFiles('#upload-input', FIXTURE);
  await page.waitForFunction(() => /this data set has 2 features and 2 classes; digits has 64 features and 10 classes \(the run on screen goes on\)/.test(document.getElementById('status').textContent), null, WAIT);
  assert.equal(await page.$eval('#ctl-depth', (e) => e.value), '3', 'the settings stay');
  await page.selectOption('#ctl-dataset', 'digits');
  await page.waitForFunction(() => /digits: 1438 training/.test(document.getElementById('status').textContent), null, WAIT);
  await page.setInputFiles('#upload-input', FIXTURE);
  await page.waitForFunction(() => /Loaded snntorch-digits\.nir: depth 2, width 32, beta 0\.9, rate readout, T 8/.test(document.getElementById('status').textContent), null, WAIT);
  assert.deepEqual(await page.$$eval(['#ctl-depth', '#ctl-width', '#ctl-norm'].join(','), (es) => es.map((e) => e.value)), ['2', '32', 'none']);
  // snnTorch trained it to 98 % on digits: at step 0 the page's evaluation says so.
  const accuracyAt0 = async () => {
    const rec = JSON.parse((await download(page, '#download-json', '#download-menu')).bytes.toString());
    return rec.evals.find((e) => e.step === 0)?.test_accuracy;
  };
  await page.waitForFunction(() => /%/.test(document.getElementById('acc-test').textContent), null, WAIT);
  const first = await accuracyAt0();
  assert.ok(first > 0.95, `the imported network's test accuracy at step 0: ${first}`);
  // It trains on from there, and Reset goes back to the imported network, not a fresh one.
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 10, null, WAIT);
  await pause(page);
  await page.click('#reset');
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) === 0 && /%/.test(document.getElementById('acc-test').textContent), null, WAIT);
  assert.ok(await accuracyAt0() > 0.95, 'Reset starts from the imported network again');
  // A setting the graph fixes sets the network aside, and says so.
  await page.fill('#ctl-width', '16');
  await page.press('#ctl-width', 'Enter');
  await page.waitForFunction(() => /snntorch-digits\.nir set aside: width changed/.test(document.getElementById('status').textContent), null, WAIT);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a NIR graph that does not map is refused naming its node, and the run goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spikeplay-nir-'));
  try {
    // A residual export: its stream is a branch, which the import does not take yet.
    const file = join(dir, 'residual.nir');
    execFileSync('cargo', ['run', '--release', '--quiet', '--bin', 'spikeplay', '--', 'train', '--dataset', 'digits', '--depth', '3', '--width', '8',
      '--residual', '--epochs', '1', '--quiet', '--nir', file, '--out', join(dir, 'r.json')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    const { page, problems } = await open('#dataset=digits&depth=2&width=16&epochs=200'); // still training when the refusal comes
    await play(page);
    await page.setInputFiles('#upload-input', file);
    await page.waitForFunction(() => /residual\.nir: node fc0 feeds 2 nodes \(lif0, lif2\): a branch/.test(document.getElementById('status').textContent), null, WAIT);
    const at = await step(page);
    await page.waitForFunction((n) => Number(document.getElementById('step-count').dataset.step) > n + 3, at, WAIT);
    assert.equal(await page.$eval('#ctl-width', (e) => e.value), '16', 'the settings stay');
    await pause(page);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
