// Pace and fair comparisons: the Speed menu's cap (enforced in the worker) and its `pace` link
// key, a single Step, and compare mode's lock-step (no run more than a tick of the slowest
// run's steps ahead) with each run's own speed in the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARTIFACTS, WAIT, compareReady, download, hashOf, pause, play, rows, step, stepsAtLeast, useBrowser } from './browser.mjs';

const open = useBrowser();
const stepPast = (page, n) => page.waitForFunction((want) => Number(document.getElementById('step-count').dataset.step) >= want, n, WAIT);

test('the pace key round-trips: the menu shows it, link rewrites keep it, max removes it, a bad one is named', async () => {
  const { page, problems } = await open('#openEnded=true&pace=3');
  assert.equal(await page.inputValue('#pace'), '3');
  await page.fill('#ctl-depth', '3');
  await page.press('#ctl-depth', 'Enter');
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('depth') === '3', null, WAIT);
  assert.equal(hashOf(page).get('pace'), '3', 'kept through the rewrite after a new run');
  await page.selectOption('#pace', '0');
  assert.equal(hashOf(page).get('pace'), null);
  await page.selectOption('#pace', '10');
  assert.equal(hashOf(page).get('pace'), '10');
  const bad = await open('#openEnded=true&pace=fast');
  await bad.page.waitForFunction(() => /pace/.test(document.getElementById('status').textContent), null, WAIT);
  assert.match(await bad.page.textContent('#status'), /link value 'pace=fast' ignored \(pace: one of max, 100, 30, 10, 3, 1 steps\/s\)/);
  assert.equal(await bad.page.inputValue('#pace'), '0');
  assert.deepEqual([...problems, ...bad.problems], []);
  await bad.page.close();
  await page.close();
});

test('a cap of 10 steps/s holds: 15 steps take at least 1.4 s (at full speed this net does them in well under 0.2 s)', async () => {
  const { page, problems } = await open('#openEnded=true&pace=10');
  const t0 = Date.now();
  await play(page);
  await stepPast(page, 15);
  const secs = (Date.now() - t0) / 1000;
  // One token is there at once, then one every 0.1 s: 14 waits. A slow machine only adds time.
  assert.ok(secs >= 1.3, `15 steps in ${secs.toFixed(2)} s at a 10 steps/s cap`);
  // Full speed again: the same run races on.
  await page.selectOption('#pace', '0');
  const s = await step(page);
  await stepPast(page, s + 100);
  await pause(page);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a single Step trains exactly one step, whatever the pace', async () => {
  const { page, problems } = await open('#openEnded=true&pace=1');
  const s0 = await step(page);
  await page.click('#step');
  await page.waitForFunction((was) => Number(document.getElementById('step-count').dataset.step) === was + 1, s0, WAIT);
  await page.click('#step');
  await page.waitForFunction((was) => Number(document.getElementById('step-count').dataset.step) === was + 2, s0, WAIT);
  assert.deepEqual(problems, []);
  await page.close();
});

test('compared runs train in lock-step; the table shows each run its own speed', async () => {
  // bn and tebn cost more per step than none: free-running, they drift tens of steps apart by step 150.
  const { page, problems } = await open('#dataset=digits&depth=8&timesteps=4&batch=32&openEnded=true&compare=norm:none,bn,tebn', { wait: compareReady });
  await page.click('#play');
  await stepsAtLeast(page, 150);
  const slack = Number(await page.$eval('#compare-table', (t) => t.dataset.lockSlack));
  assert.ok(slack >= 1, `lock-step is on (slack ${slack})`);
  const steps = (await rows(page)).map((r) => r.step);
  const spread = Math.max(...steps) - Math.min(...steps);
  assert.ok(spread <= slack, `steps ${steps}: ${spread} apart, at most ${slack} allowed`);
  const speeds = await page.$$eval('#compare-table tbody td.speed', (tds) => tds.map((td) => Number(td.dataset.speed)));
  assert.equal(speeds.length, 3);
  assert.ok(speeds.every((v) => v > 0), `each run's own speed: ${speeds}`);
  await page.click('#play');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the history scrubber shows step 50 again after 300 steps: profile, network and stats from the recorded probe', async () => {
  // 16 plain layers without a norm: silent deep layers early on, the rates move later.
  // The first 200 steps are probed at least every 10 steps (worker.js), or every tick if a tick trains more.
  const { page, problems } = await open('#dataset=digits&depth=16&norm=none&timesteps=4&openEnded=true');
  await play(page);
  await stepPast(page, 300);
  await page.evaluate(() => window.dispatchEvent(new CustomEvent('spikeplay:scrub', { detail: { step: 50 } })));
  await page.waitForFunction(() => document.body.dataset.scrubStep === '50', null, WAIT);
  assert.equal(await page.getAttribute('#history', 'data-live'), 'false');
  assert.match(await page.textContent('#scrub-step'), /^step 50 of \d+$/);
  const drawn = await page.evaluate(() => ({
    step: Number(document.getElementById('chart-profile').dataset.step),
    shares: JSON.parse(document.getElementById('chart-profile').dataset.shares),
    network: JSON.parse(document.getElementById('chart-network').dataset.shares),
    mean: document.getElementById('mean-rate').textContent,
  }));
  const rec = JSON.parse((await download(page, '#download-json', '#download-menu')).bytes.toString());
  const at50 = rec.probes.filter((p) => p.step <= 50).at(-1);
  const next = rec.probes.find((p) => p.step > 50);
  assert.ok(at50 && next && next.step - at50.step <= 30, `probes close around step 50: ${at50?.step} and ${next?.step}`);
  assert.equal(drawn.step, at50.step, 'the profile draws the probe of step 50');
  assert.deepEqual(drawn.shares, { silent: at50.silent, saturated: at50.saturated });
  assert.deepEqual(drawn.network, drawn.shares, 'the network view too');
  assert.equal(drawn.mean, (at50.rates.reduce((a, b) => a + b, 0) / at50.rates.length).toFixed(3), 'and the stats');
  // Training went on meanwhile; the views stayed put. The live-only cards say so.
  assert.ok(rec.probes.at(-1).step > 300);
  assert.equal(Number(await page.$eval('#chart-profile', (c) => c.dataset.step)), at50.step);
  assert.match(await page.$eval('#raster-card h2', (h) => getComputedStyle(h, '::after').content), /live/);
  await page.screenshot({ path: `${ARTIFACTS}scrubbed-step50.png` });
  // Live follows the run again.
  await page.click('#scrub-live');
  await page.waitForFunction(() => document.body.dataset.scrubStep === undefined, null, WAIT);
  await page.waitForFunction(() => Number(document.getElementById('chart-profile').dataset.step) > 300, null, WAIT);
  assert.deepEqual(problems, []);
  await page.close();
});

test('in compare mode the scrubber moves every run to one step: the table and the profiles show step 50', async () => {
  const { page, problems } = await open('#dataset=digits&depth=8&timesteps=4&batch=32&openEnded=true&compare=norm:none,psp', { wait: compareReady });
  await page.click('#play');
  await stepsAtLeast(page, 200);
  const live = await page.$eval('#cmp-profile', (c) => c.getAttribute('aria-label'));
  await page.evaluate(() => window.dispatchEvent(new CustomEvent('spikeplay:scrub', { detail: { step: 50 } })));
  await page.waitForFunction(() => document.body.dataset.scrubStep === '50', null, WAIT);
  await page.waitForFunction(() => [...document.querySelectorAll('#compare-table tbody tr')].every((tr) => tr.dataset.step === '50'), null, WAIT);
  const rec = JSON.parse((await download(page, '#download-json', '#download-menu')).bytes.toString());
  for (const [i, run] of rec.runs.entries()) {
    const p = run.probes.filter((q) => q.step <= 50).at(-1);
    const mean = (p.rates.reduce((a, b) => a + b, 0) / p.rates.length).toFixed(3);
    assert.equal(await page.textContent(`#compare-table tr[data-run="${i}"] .rate`), mean, `${run.label}: the table's mean rate is step ${p.step}'s`);
  }
  assert.notEqual(await page.$eval('#cmp-profile', (c) => c.getAttribute('aria-label')), live, 'the profiles moved back');
  await page.click('#scrub-live');
  await page.waitForFunction(() => [...document.querySelectorAll('#compare-table tbody tr')].every((tr) => Number(tr.dataset.step) > 200), null, WAIT);
  await page.click('#play');
  assert.deepEqual(problems, []);
  await page.close();
});
