// Accessibility and every screen: axe-core (the npm package, run inside the page) on the
// explore, compare, lesson and presentation views with no serious or critical violation;
// help that opens by keyboard and touch (a button, not a hover title); and on a phone
// (390x844) no horizontal scroll, with the presets and lessons menus on screen and tappable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ARTIFACTS, WAIT, compareReady, frames, play, ready, stepsAtLeast, useBrowser } from './browser.mjs';

const open = useBrowser();
// Evaluated through the DevTools protocol: the page's CSP (rightly) refuses an injected <script>.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 390, height: 844 };

/** axe-core's serious and critical violations on the page as it is, one line each (rule, count, first target). */
async function violations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}) x${v.nodes.length}: ${v.nodes[0].target.join(' ')} — ${v.nodes[0].failureSummary.split('\n')[1] ?? ''}`);
  });
  return found;
}

const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

test('axe finds no serious or critical violation on explore, while training and paused', async () => {
  const { page, problems } = await open('#openEnded=true');
  assert.deepEqual(await violations(page), [], 'first screen');
  await play(page);
  await stepsAtLeast(page, 20);
  assert.deepEqual(await violations(page), [], 'while training');
  assert.deepEqual(problems, []);
  await page.close();
});

test('axe finds no serious or critical violation on compare, a lesson and presentation mode', async () => {
  const { page, problems } = await open('#openEnded=true');
  await page.click('#presets-menu > summary');
  await page.click('[data-preset="norms-differ"]');
  await compareReady(page);
  assert.deepEqual(await violations(page), [], 'compare');
  await page.goto(page.url().replace(/#.*/, '#lesson=paper&chapter=2'));
  await page.waitForFunction(() => document.body.dataset.chapter === '2', null, WAIT);
  await ready(page);
  assert.deepEqual(await violations(page), [], 'lesson');
  await page.keyboard.press('p');
  await page.waitForSelector('body[data-present="true"] .card[data-current]', WAIT);
  assert.deepEqual(await violations(page), [], 'presentation');
  assert.deepEqual(problems, []);
  await page.close();
});

test('presentation mode: one chart at a time, large text, arrow keys move, Esc leaves, kept in the link', async () => {
  const { page, problems } = await open('#openEnded=true&present=1');
  await page.waitForSelector('body[data-present="true"]', WAIT);
  const shown = () => page.$$eval('#views > .card', (cs) => cs.filter((c) => getComputedStyle(c).display !== 'none').map((c) => c.id || c.querySelector('canvas')?.id));
  assert.equal((await shown()).length, 1, 'one chart on screen');
  const first = (await shown())[0];
  const px = await page.$eval('#present-where', (e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(px >= 18, `presentation text ${px} px`);
  const chartPx = await page.$eval('#views .card[data-current] canvas', (c) => parseFloat(getComputedStyle(c).getPropertyValue('--chart-text')));
  assert.ok(chartPx >= 18, `chart text ${chartPx} px`);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((was) => {
    const c = document.querySelector('#views .card[data-current]');
    return c && (c.id || c.querySelector('canvas')?.id) !== was;
  }, first, WAIT);
  assert.match(await page.textContent('#present-where'), /^2 \/ \d+ · /);
  assert.ok(new URLSearchParams(new URL(page.url()).hash.slice(1)).has('present'));
  await page.keyboard.press('Escape');
  await page.waitForSelector('body[data-present="false"]', WAIT);
  assert.ok((await shown()).length > 5, 'every chart back');
  assert.ok(!new URLSearchParams(new URL(page.url()).hash.slice(1)).has('present'), 'the link no longer presents');
  assert.deepEqual(problems, []);
  await page.close();
});

test('help opens from the keyboard: a button per setting, its text under the control', async () => {
  const { page, problems } = await open('#openEnded=true');
  const help = await page.$('#help-depth');
  assert.ok(await help.isHidden());
  assert.equal(await page.getAttribute('#ctl-depth', 'title'), null, 'no hover-only help');
  await page.focus('button[aria-controls="help-depth"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#help-depth:not([hidden])', WAIT);
  assert.match(await help.textContent(), /\w{4,}/);
  assert.equal(await page.getAttribute('button[aria-controls="help-depth"]', 'aria-expanded'), 'true');
  assert.deepEqual(problems, []);
  await page.close();
});

test('on a phone: no horizontal scroll; a preset and a lesson are tapped from their menus', async () => {
  const { page, problems } = await open('#openEnded=true');
  await page.setViewportSize(PHONE);
  await frames(page);
  assert.ok((await overflow(page)) <= 0, `explore overflows the phone by ${await overflow(page)} px`);
  await page.click('#presets-menu > summary');
  const item = page.locator('#preset-list button').first();
  const box = await item.boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width && box.y >= 0 && box.y + box.height <= PHONE.height,
    `the first preset is on screen: ${JSON.stringify(box)}`);
  assert.ok(box.height >= 40, `tap target ${box.height} px high`);
  await item.click();
  await compareReady(page);
  assert.ok((await overflow(page)) <= 0, 'compare fits the phone');
  await page.screenshot({ path: `${ARTIFACTS}phone-compare.png`, fullPage: true });
  await page.click('#lessons-menu > summary');
  await page.locator('#lesson-list button[data-lesson]').first().click();
  await page.waitForFunction(() => document.body.dataset.chapter === '1', null, WAIT);
  await ready(page);
  assert.ok((await overflow(page)) <= 0, 'a lesson fits the phone');
  assert.ok(await page.isVisible('#lesson-next'));
  await page.screenshot({ path: `${ARTIFACTS}phone-lesson.png`, fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
