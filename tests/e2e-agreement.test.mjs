// The CLI and the page run one code path: for the same config and seed the page's first
// loss matches the native CLI's within 1e-4, and its test accuracy after the same epochs
// lies within the CLI's seed-to-seed spread; for an MLP on digits and for a conv net on
// MNIST 14x14 (whose layers are crate/src/conv.rs's ops: the page's relaxed-SIMD products and
// event loops against the native gemm and AVX2 ones). The CLI is the release binary that
// `cargo test --release` builds (cargo rebuilds it here if it is stale).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WAIT, download, pause, play, useBrowser } from './browser.mjs';

const open = useBrowser();
const ROOT = new URL('..', import.meta.url).pathname;
const CONFIG = { dataset: 'digits', depth: 3, width: 32, timesteps: 4, batch: 64, epochs: 3, lr: 0.003 };
// The conv case: the page's MNIST conv preset's net, one epoch (125 steps).
const CONV = { dataset: 'mnist14', conv: true, depth: 3, width: 8, pools: 2, timesteps: 4, batch: 64, epochs: 1, lr: 0.003 };
const SEEDS = [0, 1, 2];
// One test sample's share of accuracy: digits holds out 359 samples, MNIST 2,000.
const ONE_SAMPLE = { digits: 1 / 359, mnist14: 1 / 2000 };

/** `spikeplay train` with `flags`; returns the run it writes. */
function train(flags) {
  const dir = mkdtempSync(join(tmpdir(), 'spikeplay-agree-'));
  try {
    const out = join(dir, 'run.json');
    execFileSync('cargo', ['run', '--release', '--quiet', '--bin', 'spikeplay', '--', 'train', ...flags, '--quiet', '--out', out],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The CLI's flags for `config`: `--conv` alone for a true switch. */
const flags = (config) => Object.entries(config).flatMap(([k, v]) => (v === true ? [`--${k}`] : [`--${k.replace(/_/g, '-')}`, String(v)]));

/** Trains `config` with seeds SEEDS natively and with seed 0 in the page; checks the page
 * against the CLI and returns the page's recording. */
async function agree(config) {
  const runs = SEEDS.map((seed) => train(flags({ ...config, seed })));
  const native = runs[0];
  const accuracies = runs.map((r) => r.history[config.epochs - 1].test_accuracy);
  const spread = Math.max(...accuracies) - Math.min(...accuracies);
  const steps = native.losses.length;
  assert.equal(native.final.steps, steps);

  const hash = '#' + Object.entries({ ...config, seed: 0 }).map(([k, v]) => `${k}=${v}`).join('&');
  const { page, problems } = await open(hash);
  await play(page);
  await page.waitForFunction((n) => Number(document.getElementById('step-count').dataset.step) >= n, steps, WAIT);
  await pause(page);
  const rec = JSON.parse((await download(page, '#download-json', '#download-menu')).bytes.toString());
  assert.deepEqual(
    Object.fromEntries(Object.keys(config).map((k) => [k, rec.config[k]])), config, 'the page ran the same config');

  const first = rec.steps[0].loss;
  assert.ok(Math.abs(first - native.losses[0]) <= 1e-4, `${config.dataset} first loss: page ${first}, CLI ${native.losses[0]}`);
  const drift = Math.max(...native.losses.map((l, i) => Math.abs(l - rec.steps[i].loss)));
  const atEnd = rec.evals.find((e) => e.step === steps);
  assert.ok(atEnd?.epoch_end, `an evaluation right after step ${steps}: ${JSON.stringify(rec.evals.slice(-3))}`);
  const gap = Math.abs(atEnd.test_accuracy - native.history[config.epochs - 1].test_accuracy);
  console.log(`agreement (${config.dataset}${config.conv ? ', conv' : ''}): first loss ${first} vs ${native.losses[0]}; max loss gap over ${steps} steps ${drift.toExponential(2)};`
    + ` test accuracy page ${atEnd.test_accuracy.toFixed(4)} vs CLI ${accuracies.map((a) => a.toFixed(4)).join(' / ')} (seeds ${SEEDS})`);
  assert.ok(gap <= Math.max(spread, ONE_SAMPLE[config.dataset]), `test accuracy gap ${gap} exceeds the seed spread ${spread}`);
  // Every epoch end the CLI records has its evaluation in the page too.
  for (let e = 1; e <= config.epochs; e++) {
    const at = rec.evals.find((v) => v.step === e * (steps / config.epochs));
    assert.ok(at?.epoch_end, `epoch ${e} evaluated at its last step`);
  }
  assert.deepEqual(problems, []);
  await page.close();
  return rec;
}

test('the page and the CLI agree on the first loss and, within the seed spread, on accuracy', async () => {
  const rec = await agree(CONFIG);
  const first = rec.steps[0].loss;
  // Outgrowing the page (README): the downloaded recording is a config the CLI takes as it is,
  // and training from it natively gives the page's first loss again.
  const dir = mkdtempSync(join(tmpdir(), 'spikeplay-download-'));
  try {
    const file = join(dir, 'spikeplay-run.json');
    writeFileSync(file, JSON.stringify(rec));
    const resumed = train(['--config', file, '--epochs', '1']);
    assert.equal(resumed.config.depth, CONFIG.depth);
    assert.ok(Math.abs(resumed.losses[0] - first) <= 1e-4, `CLI from the download: first loss ${resumed.losses[0]} vs page ${first}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a conv net on MNIST 14x14 agrees between the page and the CLI too', async () => {
  await agree(CONV);
});
