// End-to-end tests of the playground's basic loop: load, train, pause, reload a link, refuse
// a bad value. Settings and views have their own files (e2e-settings, e2e-views).
// Run: node --test tests/   (needs pkg/ built: scripts/build-wasm.sh)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARTIFACTS, WAIT, pause, play, ready, step, useBrowser, version } from './browser.mjs';

const open = useBrowser();

test('the page loads with a clean console and shows the untrained network', async () => {
  const { page, problems } = await open();
  assert.equal(await step(page), 0);
  assert.match(await page.textContent('#mean-rate'), /^\d\.\d{3}$/);
  await page.screenshot({ path: ARTIFACTS + 'loaded.png' });
  // Clicking the third of the four layer boxes selects it for the raster (geometry of
  // NetworkView: 60 px for input and readout on each side, layers in equal slots).
  const box = await page.locator('#chart-network').boundingBox();
  const slot = (box.width - 120) / 4;
  const raster = await version(page, 'chart-raster');
  await page.mouse.click(box.x + 60 + 2.5 * slot, box.y + box.height / 2);
  await page.waitForFunction((v) => Number(document.getElementById('chart-raster').dataset.version) > v, raster, WAIT);
  assert.match(await page.textContent('#raster-title'), /^layer 3,/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('play trains: step count, loss, rate profile and heatmap all move; no long tasks', async () => {
  const { page, problems } = await open();
  const before = { loss: await version(page, 'chart-loss'), profile: await version(page, 'chart-profile'), heat: await version(page, 'chart-heatmap') };
  const rateBefore = await page.textContent('#mean-rate');
  const t0 = await page.evaluate(() => performance.now());
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 150, null, WAIT);
  await page.waitForFunction((v) => Number(document.getElementById('chart-heatmap').dataset.version) > v + 3, before.heat, WAIT);
  assert.ok((await version(page, 'chart-loss')) > before.loss, 'loss chart redrawn');
  assert.ok((await version(page, 'chart-profile')) > before.profile, 'rate profile redrawn');
  assert.notEqual(await page.textContent('#mean-rate'), rateBefore, 'mean firing rate changed');
  assert.ok(Number(await page.textContent('#speed')) > 0, 'steps per second shown');
  const long = await page.evaluate((t) => window.__longTasks.filter((e) => e.start >= t && e.duration > 100), t0);
  await page.screenshot({ path: ARTIFACTS + 'training.png' });
  assert.deepEqual(long, [], 'no main-thread task over 100 ms while training');
  assert.deepEqual(problems, []);
  await page.close();
});

test('pause stops the reports', async () => {
  const { page, problems } = await open();
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 20, null, WAIT);
  await pause(page);
  const stopped = await step(page);
  const loss = await version(page, 'chart-loss');
  // An absence can only be observed over a window: watch it for a second.
  await page.waitForTimeout(1000);
  assert.equal(await step(page), stopped, 'no steps after pause was acknowledged');
  assert.equal(await version(page, 'chart-loss'), loss, 'no loss redraws after pause');
  await page.click('#step');
  await page.waitForFunction((s) => Number(document.getElementById('step-count').dataset.step) === s + 1, stopped, WAIT);
  assert.deepEqual(problems, []);
  await page.close();
});

async function firstLosses(page) {
  await play(page);
  await page.waitForSelector('body[data-first-losses]', WAIT);
  await pause(page);
  return JSON.parse(await page.$eval('body', (b) => b.dataset.firstLosses));
}

const controlValues = (page) =>
  page.$$eval('#controls input, #controls select', (els) => els.map((e) => [e.name, e.type === 'checkbox' ? e.checked : e.value]));

test('a reload with the hash restores the settings and the same first losses', async () => {
  const { page, problems } = await open('#dataset=circles&depth=3&width=32&timesteps=6&norm=bn&seed=1234&hide=surrogate');
  assert.equal(await page.inputValue('#ctl-dataset'), 'circles');
  assert.equal(await page.isVisible('#ctl-surrogate'), false, 'classroom mode hides the control');
  const settings = await controlValues(page);
  const losses = await firstLosses(page);
  const hash = new URL(page.url()).hash;
  assert.match(hash, /seed=1234/);
  await page.reload();
  await ready(page);
  assert.equal(new URL(page.url()).hash, hash);
  assert.deepEqual(await controlValues(page), settings);
  assert.deepEqual(await firstLosses(page), losses);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a bad value shows its message and the previous run keeps going', async () => {
  const { page, problems } = await open();
  const gen = await page.$eval('#step-count', (e) => e.dataset.gen);
  await play(page);
  await page.fill('#ctl-beta', '1.5');
  await page.press('#ctl-beta', 'Enter');
  await page.waitForSelector('#msg-beta:not(:empty)', WAIT);
  assert.match(await page.textContent('#msg-beta'), /must be in \[0, 1\]/);
  const s = await step(page);
  await page.waitForFunction((v) => Number(document.getElementById('step-count').dataset.step) > v, s, WAIT);
  assert.equal(await page.$eval('#step-count', (e) => e.dataset.gen), gen, 'same run');
  assert.match(new URL(page.url()).hash, /beta=0.9/, 'the link keeps the valid config');
  await page.screenshot({ path: ARTIFACTS + 'bad-value.png' });
  // A valid edit while running restarts cleanly with the new config.
  await page.fill('#ctl-beta', '0.8');
  await page.press('#ctl-beta', 'Enter');
  await page.waitForFunction((g) => document.getElementById('step-count').dataset.gen !== g, gen, WAIT);
  assert.equal(await page.textContent('#msg-beta'), '');
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) > 5, null, WAIT);
  assert.match(new URL(page.url()).hash, /beta=0.8/);
  assert.deepEqual(problems, []);
  await page.close();
});
