// End-to-end tests of compare mode: runs side by side from the mode switch, a failure that
// stays in its run, the link, the presets, and the downloads (explore's too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './schema.mjs'; // before the page's modules: they are built from it
import {
  ARTIFACTS, WAIT, compareReady, download, hashOf, play, pause, ready, rows, stepsAtLeast, useBrowser,
} from './browser.mjs';
import { PRESETS } from '../web/state/presets.js';

const open = useBrowser();
// Open-ended: these runs must still be training when the test looks (a run stops at its epochs).
const SMALL = '#dataset=xor&depth=2&width=16&timesteps=4&openEnded=true';
const inCompare = { wait: compareReady };

test('the mode switch compares three norms side by side; each run trains with its own curve', async () => {
  const { page, problems } = await open(SMALL);
  await page.click('#mode-compare');
  await compareReady(page);
  assert.equal(hashOf(page).get('compare'), 'norm:none,psp,bn', 'the default comparison, in the link');
  assert.equal(hashOf(page).get('depth'), '2', 'the explore settings are the base');
  assert.equal(await page.isDisabled('#ctl-norm'), true, 'the compared field is set per run');
  assert.deepEqual((await rows(page)).map((r) => r.name), ['none', 'psp', 'bn']);
  await play(page);
  await stepsAtLeast(page, 30);
  const runs = await rows(page);
  assert.ok(runs.every((r) => r.state === 'training'), JSON.stringify(runs));
  assert.equal(new Set(runs.map((r) => JSON.stringify(r.firstLosses))).size, 3, 'three different loss curves');
  const labels = await page.$$eval('#compare canvas', (cs) => cs.map((c) => c.getAttribute('aria-label')));
  for (const name of ['none', 'psp', 'bn']) assert.ok(labels.every((l) => l.includes(name)), `${name} in every chart: ${labels}`);
  // Each run's swatch is a line sample in its colour and dash (charts/palette.js).
  const styles = await page.$$eval('#compare-legend .swatch-line line', (s) => s.map((e) => `${e.getAttribute('stroke')} ${e.getAttribute('stroke-dasharray')}`));
  assert.equal(new Set(styles.map((t) => t.split(' ')[0])).size, 3, 'one colour per run');
  assert.equal(new Set(styles).size, 3, 'and one dash');
  await page.screenshot({ path: ARTIFACTS + 'compare.png' });
  // A base setting restarts every run with it; an option toggle drops a run. Both keep playing.
  await page.fill('#ctl-width', '8');
  await page.press('#ctl-width', 'Enter');
  assert.equal(hashOf(page).get('width'), '8');
  await page.locator('#compare-options').getByRole('button', { name: 'bn', exact: true }).click();
  assert.equal(hashOf(page).get('compare'), 'norm:none,psp');
  await compareReady(page);
  await stepsAtLeast(page, 5);
  assert.deepEqual((await rows(page)).map((r) => r.name), ['none', 'psp']);
  // Back to explore: its run comes up with the base settings, and the comparison's workers stop.
  await page.click('#mode-explore');
  await ready(page);
  assert.equal(await page.isVisible('#compare'), false);
  assert.equal(hashOf(page).get('compare'), null);
  assert.equal(await page.inputValue('#ctl-depth'), '2');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a refused value and a crashed run each fail alone; the other runs keep training', async () => {
  const { page, problems } = await open(`${SMALL}&debug=1&compare=beta:0.5,1.5,0.8`, inCompare);
  let runs = await rows(page);
  assert.equal(runs[1].state, 'error');
  assert.match(runs[1].error, /beta '1.5' must be in \[0, 1\]/);
  assert.deepEqual([runs[0].error, runs[2].error], [null, null]);
  await play(page);
  await stepsAtLeast(page, 5);
  await page.evaluate(() => window.spikeplayDebug.trapRun(2, 'step'));
  await page.waitForSelector('#compare-table tr[data-run="2"][data-state="error"]', WAIT);
  runs = await rows(page);
  assert.match(runs[2].error, /^the training worker stopped: the network crashed the WebAssembly module/);
  // A stopped worker can be restarted (tests/e2e-fault.test.mjs); a refused value cannot.
  assert.equal(await page.isVisible('#compare-table tr[data-run="2"] button.restart'), true);
  assert.equal(await page.isVisible('#compare-table tr[data-run="1"] button.restart'), false);
  const at = runs[0].step;
  await page.waitForFunction((s) => Number(document.querySelector('#compare-table tr[data-run="0"]').dataset.step) > s + 5, at, WAIT);
  assert.equal((await rows(page))[0].state, 'training');
  assert.match(await page.textContent('#status'), /2 of 3 runs failed/);
  assert.match(await page.getAttribute('#cmp-heatmaps', 'aria-label'), /beta 0.8: the training worker stopped: the network crashed/);
  await page.screenshot({ path: ARTIFACTS + 'compare-failed.png' });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a value the core refuses (the page let it through) fails its run only', async () => {
  const { page: probe } = await open(SMALL);
  // A page whose norm list names a variant this build of the core does not have (the schema
  // it installs is altered on the way in; the core's own is not).
  await probe.route('**/web/state/schema.js', async (route) => {
    const body = await (await route.fetch()).text();
    const altered = body.replace('installed ??= freeze(structuredClone(schema));',
      "installed ??= freeze((({ s }) => { s.fields.find((f) => f.name === 'norm').options.push('zzz'); return s; })({ s: structuredClone(schema) }));");
    assert.notEqual(altered, body, 'the patch applies');
    await route.fulfill({ contentType: 'text/javascript', body: altered });
  });
  const url = probe.url().replace(/#.*/, `${SMALL}&compare=norm:psp,zzz`);
  await probe.goto('about:blank'); // a full load, not a hash change, so the patched module is used
  await probe.goto(url);
  await compareReady(probe);
  const runs = await rows(probe);
  assert.equal(runs[0].state, 'ready');
  assert.equal(runs[1].state, 'error');
  assert.match(runs[1].error, /norm: .*unknown variant `zzz`/, 'the core\'s own message');
  await probe.close();
});

test('a comparison link round-trips: a reload shows the same runs and the same first losses', async () => {
  const hash = `${SMALL}&seed=7&compare=init_scale:0.5,2`;
  const { page, problems } = await open(hash, inCompare);
  const firstStep = async () => {
    await page.click('#step');
    await stepsAtLeast(page, 1);
    return (await rows(page)).map((r) => [r.name, r.firstLosses]);
  };
  const before = await firstStep();
  const link = new URL(page.url()).hash;
  assert.equal(hashOf(page).get('compare'), 'init_scale:0.5,2');
  await page.reload();
  await compareReady(page);
  assert.equal(new URL(page.url()).hash, link);
  assert.equal(await page.inputValue('#compare-field'), 'init_scale');
  assert.equal(await page.inputValue('#compare-values'), '0.5, 2');
  assert.equal(await page.inputValue('#ctl-seed'), '7');
  assert.deepEqual(await firstStep(), before);
  assert.deepEqual(problems, []);
  await page.close();
});

test('every preset loads, starts by itself and lists one row per run', async () => {
  const { page, problems } = await open(SMALL);
  for (const p of PRESETS.filter((x) => x.compare)) {
    await page.click('#presets-menu summary');
    await page.click(`[data-preset="${p.id}"]`);
    await page.waitForFunction((id) => new URLSearchParams(location.hash.slice(1)).get('preset') === id, p.id, WAIT);
    await compareReady(page);
    assert.equal(await page.$eval('body', (b) => b.dataset.running), 'true', `${p.id} plays`);
    await stepsAtLeast(page, 1);
    const runs = await rows(page);
    assert.equal(runs.length, p.compare.values.length, p.id);
    assert.ok(runs.every((r) => r.state !== 'error'), `${p.id}: ${JSON.stringify(runs.map((r) => r.error))}`);
    assert.match(await page.textContent('#compare-watch'), new RegExp(p.title.slice(0, 20).replace(/[+.]/g, '\\$&')));
    if (p.id === 'deep-plain' || p.id === 'over-firing') await page.screenshot({ path: `${ARTIFACTS}preset-${p.id}.png` });
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('compare downloads: JSON of every run, CSV with a run column, a chart as PNG', async () => {
  const { page, problems } = await open(`${SMALL}&compare=norm:psp,bn`, inCompare);
  await play(page);
  await stepsAtLeast(page, 10);
  await pause(page);
  // Each worker acknowledges PAUSE after its last report: then the recordings are complete.
  await page.waitForFunction(() => [...document.querySelectorAll('#compare-table tbody tr')].every((tr) => tr.dataset.state === 'paused'), null, WAIT);
  const steps = (await rows(page)).map((r) => r.step);
  const json = await download(page, '#download-json', '#download-menu');
  assert.match(json.name, /^spikeplay-compare-xor-norm-psp-bn-seed0\.json$/);
  const data = JSON.parse(json.bytes.toString());
  assert.deepEqual(data.compare, { field: 'norm', values: ['psp', 'bn'] });
  assert.deepEqual(data.runs.map((r) => [r.label, r.config.norm, r.steps.length]), [['psp', 'psp', steps[0]], ['bn', 'bn', steps[1]]]);
  assert.ok(data.runs.every((r) => r.steps.every((s) => Number.isFinite(s.loss)) && r.probes[0].rates.length === 2 && r.evals.length));
  const csv = (await download(page, '#download-csv', '#download-menu')).bytes.toString().trim().split('\n');
  assert.equal(csv[0], 'run,step,loss,lr,train_accuracy,test_accuracy,rate_l1,rate_l2');
  assert.equal(csv.length - 1, steps[0] + steps[1]);
  const png = await download(page, '.card:has(#cmp-loss) .png');
  assert.match(png.name, /-loss\.png$/);
  assert.deepEqual([...png.bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  assert.deepEqual(problems, []);
  await page.close();
});

test('explore downloads: the run as JSON and CSV, a chart as PNG', async () => {
  const { page, problems } = await open(`${SMALL}&seed=3`);
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 10, null, WAIT);
  await pause(page);
  const step = await page.$eval('#step-count', (e) => Number(e.dataset.step));
  const json = await download(page, '#download-json', '#download-menu');
  assert.equal(json.name, 'spikeplay-xor-d2-w16-T4-psp-seed3.json');
  const data = JSON.parse(json.bytes.toString());
  assert.equal(data.config.seed, 3);
  assert.equal(data.steps.length, step);
  assert.ok(data.steps.every((s, i) => s.step === i + 1 && Number.isFinite(s.loss)));
  assert.equal(data.summary.steps, step);
  const csv = (await download(page, '#download-csv', '#download-menu')).bytes.toString().trim().split('\n');
  assert.equal(csv[0], 'step,loss,lr,train_accuracy,test_accuracy,rate_l1,rate_l2');
  assert.equal(csv.length - 1, step);
  const png = await download(page, '.card:has(#chart-accuracy) .png');
  assert.equal(png.name, 'spikeplay-xor-d2-w16-T4-psp-seed3-accuracy.png');
  assert.deepEqual([...png.bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a comparison ends when every run has trained its epochs, and says so', async () => {
  // 51 training samples at batch 32: 2 steps an epoch, so each run stops at step 4.
  const { page, problems } = await open('#dataset=xor&samples=64&depth=2&width=8&timesteps=2&epochs=2&compare=norm:none,psp', inCompare);
  await page.click('#play'); // (not play(): 4 steps may be over before "running" can be seen)
  await page.waitForFunction(() => [...document.querySelectorAll('#compare-table tbody tr')].every((tr) => tr.dataset.state === 'finished'), null, WAIT);
  assert.deepEqual((await rows(page)).map((r) => r.step), [4, 4]);
  await page.waitForSelector('body[data-running="false"]', WAIT);
  assert.match(await page.textContent('#status'), /finished: every run trained its epochs/);
  assert.deepEqual(problems, []);
  await page.close();
});
