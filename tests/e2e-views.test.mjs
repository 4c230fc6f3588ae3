// End-to-end tests of the views: the accuracy chart's chance level, the inspected layer across
// settings changes, accessible names and keyboard use, and the transport's small behaviours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARTIFACTS, WAIT, frames, gen, pause, play, readyAt, requestedGen, useBrowser } from './browser.mjs';

const open = useBrowser();

const chance = (page) => page.$eval('#chart-accuracy', (c) => Number(c.dataset.chance));

test('the chance line sits at 1 / classes: 10 % for digits, 50 % for a 2-class set', async () => {
  const { page, problems } = await open('#dataset=digits&depth=2&width=32');
  assert.equal(await chance(page), 0.1);
  const g = await gen(page);
  await page.selectOption('#ctl-dataset', 'xor');
  await readyAt(page, g + 1);
  assert.equal(await chance(page), 0.5);
  assert.deepEqual(problems, []);
  await page.close();
});

/** The layer the title, the network's highlight and the raster's data each name (1-based). */
async function shownLayer(page) {
  await frames(page);
  return page.evaluate(() => ({
    title: Number(/^layer (\d+),/.exec(document.getElementById('raster-title').textContent)[1]),
    highlight: Number(document.getElementById('chart-network').dataset.selected),
    raster: Number(document.getElementById('chart-raster').dataset.layer),
    membrane: Number(document.getElementById('chart-membrane').dataset.layer),
  }));
}

test('the inspected layer survives a settings change, clamped to the new depth', async () => {
  const { page, problems } = await open();
  // Keyboard: focus the network and step right twice to layer 3.
  await page.focus('#chart-network');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.getElementById('chart-raster').dataset.layer === '3', null, WAIT);
  assert.deepEqual(await shownLayer(page), { title: 3, highlight: 3, raster: 3, membrane: 3 });
  assert.equal(await page.getAttribute('#chart-network', 'aria-valuenow'), '3');
  let g = await gen(page);
  await page.selectOption('#ctl-norm', 'none');
  await readyAt(page, g + 1);
  assert.deepEqual(await shownLayer(page), { title: 3, highlight: 3, raster: 3, membrane: 3 });
  g = await gen(page);
  await page.fill('#ctl-depth', '2');
  await page.press('#ctl-depth', 'Enter');
  await readyAt(page, g + 1);
  assert.deepEqual(await shownLayer(page), { title: 2, highlight: 2, raster: 2, membrane: 2 });
  assert.deepEqual(problems, []);
  await page.close();
});

test('canvases carry roles and labels with numbers; the play button keeps its name', async () => {
  const { page, problems } = await open();
  await frames(page);
  const roles = await page.$$eval('canvas', (cs) => cs.map((c) => [c.id, c.getAttribute('role'), c.getAttribute('aria-label')]));
  for (const [id, role, name] of roles) {
    assert.equal(role, id === 'chart-network' ? 'slider' : 'img', id);
    assert.ok(name && name.length > 10, `${id} has a label`);
  }
  const label = (id) => roles.find((r) => r[0] === id)[2];
  assert.match(label('chart-profile'), /L1 \d\.\d\d, L2 \d\.\d\d/);
  assert.match(label('chart-raster'), /layer 1, sample 1: \d+ spikes/);
  assert.match(await page.getAttribute('#chart-network', 'aria-valuetext'), /^layer 1 of 4, firing rate \d\.\d{3}, \d+% of its neurons saturated, \d+% silent$/);
  assert.equal(await page.getAttribute('#play', 'aria-label'), 'Train / Pause');
  await play(page);
  assert.equal(await page.getAttribute('#play', 'aria-label'), 'Train / Pause');
  assert.equal(await page.getAttribute('#play', 'aria-pressed'), 'true');
  await page.waitForFunction(() => /^Accuracy at step [1-9]/.test(document.getElementById('chart-accuracy').getAttribute('aria-label')), null, WAIT);
  await pause(page);
  assert.equal(await page.getAttribute('#play', 'aria-pressed'), 'false');
  assert.deepEqual(problems, []);
  await page.close();
});

test('steps/s clears on pause; Space after clicking Reset plays instead of resetting again', async () => {
  const { page, problems } = await open();
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('speed').textContent) > 0, null, WAIT);
  await pause(page);
  assert.equal(await page.textContent('#speed'), '–');
  await page.click('#reset');
  const g = await requestedGen(page);
  await readyAt(page, g);
  await page.keyboard.press(' ');
  await page.waitForSelector('body[data-running="true"]', WAIT);
  assert.equal(await requestedGen(page), g, 'Space did not press Reset again');
  await page.screenshot({ path: ARTIFACTS + 'views.png' });
  await pause(page);
  assert.deepEqual(problems, []);
  await page.close();
});
