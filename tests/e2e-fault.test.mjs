// End-to-end tests of faults (issue 7, part 3): a training worker that stops (a WebAssembly trap,
// a Rust panic, a JavaScript exception in the worker, a worker script that cannot load) is
// reported in an alert with Restart; the page stays usable, the user's settings stay in the
// controls and the link, and Restart trains again. `#debug=1` lets the page arm real faults in
// its worker (ToWorker.DEBUG_TRAP): `trap(at, kind)`, and `trapRun(i, at, kind)` in compare mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARTIFACTS, WAIT, compareReady, download, enter, gen, hashOf, play, readyAt, rows, stepsAtLeast, useBrowser, version,
} from './browser.mjs';

const open = useBrowser();
// Open-ended: the faults are armed while the runs train (a run stops at its epochs).
const SMALL = '#dataset=xor&depth=2&width=16&timesteps=4&openEnded=true';

const stepAtLeast = (page, n, after = 0) => page.waitForFunction(([want, old]) => {
  const s = document.getElementById('step-count');
  return Number(s.dataset.gen) > old && Number(s.dataset.step) >= want;
}, [n, after], WAIT);

/** Waits for the alert; checks what it says, that it is an alert, and that nothing is left busy. */
async function faultShown(page, pattern) {
  await page.waitForSelector('#fault:not([hidden])', WAIT);
  const text = await page.textContent('#fault .fault-text');
  assert.match(text, /^The training worker stopped: /);
  assert.match(text, pattern);
  assert.match(text, /Your settings are kept\.$/);
  assert.equal(await page.getAttribute('#fault', 'role'), 'alert');
  assert.equal(await page.isVisible('#status'), false, 'the alert takes the status line\'s place');
  const state = await page.$eval('body', (b) => ({ busy: b.dataset.busy, running: b.dataset.running }));
  assert.deepEqual(state, { busy: 'false', running: 'false' }, 'no spinner, nothing claims to train');
  assert.equal(await page.isDisabled('#play'), true, 'no run to train until Restart');
  return text;
}

/** The Restart button takes focus and Enter presses it (a keyboard user's way). */
async function restartByKeyboard(page) {
  await page.focus('#fault-restart');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'fault-restart', 'Restart takes focus');
  assert.ok(await page.$eval('#fault-restart', (b) => b.tabIndex >= 0 && !b.disabled));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#fault', { state: 'hidden', ...WAIT });
}

/** The main thread still works while the alert shows: a resize redraws a chart, a download works. */
async function stillResponsive(page, minSteps) {
  const before = await version(page, 'chart-loss');
  await page.setViewportSize({ width: 1280, height: 760 });
  await page.waitForFunction((v) => Number(document.getElementById('chart-loss').dataset.version) > v, before, WAIT);
  await page.setViewportSize({ width: 1366, height: 768 });
  const json = JSON.parse((await download(page, '#download-json', '#download-menu')).bytes.toString());
  assert.ok(json.steps.length >= minSteps, `the stopped run's recording can still be saved (${json.steps.length} steps)`);
}

for (const { kind, pattern } of [
  { kind: 'trap', pattern: /crashed the WebAssembly module, probably out of memory \(.*unreachable.*\)/ },
  // The panic's own text, and where in the Rust source it was raised.
  { kind: 'panic', pattern: /the Rust core panicked: debug: a deliberate panic while training \(at crate\/src\/wasm\.rs:\d+\)/ },
  { kind: 'throw', pattern: /a bug in the worker's JavaScript: Error: debug: a deliberate exception while training/ },
]) {
  test(`a ${kind} while training: alert with Restart, settings kept, page usable, Restart trains again`, async () => {
    const { page, problems } = await open(`${SMALL}&debug=1`);
    const g = await gen(page);
    await enter(page, 'width', '24'); // the user's own setting (the link says 16)
    await readyAt(page, g + 1);
    await play(page);
    await stepAtLeast(page, 5, g);
    await page.evaluate((k) => window.spikeplayDebug.trap('step', k), kind);
    await faultShown(page, pattern);
    assert.equal(await page.isHidden('#fault-back'), true, 'the settings that failed are the ones that trained');
    assert.equal(await page.inputValue('#ctl-width'), '24');
    assert.equal(hashOf(page).get('width'), '24');
    assert.equal(await page.isEnabled('#ctl-width'), true);
    await stillResponsive(page, 5);
    await page.screenshot({ path: `${ARTIFACTS}fault-${kind}.png` });
    // Restart: a fresh run of the same settings, which trains (it was training when it stopped).
    await restartByKeyboard(page);
    await stepAtLeast(page, 10, g + 1);
    assert.equal(hashOf(page).get('width'), '24');
    assert.equal(await page.$eval('#status', (e) => e.classList.contains('error')), false);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('a trap while building new settings keeps them; Back returns to the last settings that trained', async () => {
  const { page, problems } = await open('#depth=3&debug=1');
  const g = await gen(page);
  await page.evaluate(() => window.spikeplayDebug.trap('init'));
  await enter(page, 'depth', '7');
  await faultShown(page, /crashed the WebAssembly module/);
  assert.equal(await page.inputValue('#ctl-depth'), '7', 'the control keeps the new value');
  assert.equal(hashOf(page).get('depth'), '7', 'so does the link');
  assert.equal(await page.textContent('#fault-back'), 'Back to depth 3');
  assert.equal(await gen(page), g, 'the charts still hold the depth-3 run');
  assert.equal(await page.isVisible('#stale-note'), true, 'dimmed: they are not of the settings on the left');
  await page.screenshot({ path: ARTIFACTS + 'fault.png' });
  // Restart builds depth 7 in the fresh worker, which trains.
  await page.click('#fault-restart');
  await readyAt(page, g + 2);
  await play(page);
  await stepAtLeast(page, 3, g);
  // Another crash while building: Back offers the depth-7 run, which trained a step.
  await page.evaluate(() => window.spikeplayDebug.trap('init'));
  await enter(page, 'depth', '5');
  await faultShown(page, /crashed the WebAssembly module/);
  assert.equal(await page.inputValue('#ctl-depth'), '5');
  assert.equal(await page.textContent('#fault-back'), 'Back to depth 7');
  await page.click('#fault-back');
  await readyAt(page, g + 4); // g + 3 was depth 5, which crashed
  assert.equal(await page.inputValue('#ctl-depth'), '7');
  assert.equal(hashOf(page).get('depth'), '7');
  await stepAtLeast(page, 3, g + 3); // it was training: it trains on
  assert.deepEqual(problems, []);
  await page.close();
});

test('a setting changed while the alert shows starts a run with it', async () => {
  const { page, problems } = await open(`${SMALL}&debug=1`);
  const g = await gen(page);
  await page.evaluate(() => window.spikeplayDebug.trap('init', 'panic'));
  await enter(page, 'width', '20');
  await faultShown(page, /the Rust core panicked: debug: a deliberate panic while building a run/);
  await enter(page, 'timesteps', '6');
  await page.waitForSelector('#fault', { state: 'hidden', ...WAIT });
  await readyAt(page, g + 2);
  assert.equal(hashOf(page).get('width'), '20', 'the earlier edit is kept');
  assert.equal(hashOf(page).get('timesteps'), '6');
  await play(page);
  await stepAtLeast(page, 5, g + 1);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a worker script that cannot load: the alert, two retries at most, then Restart once it loads', async () => {
  const { page: first } = await open(SMALL);
  const page = await first.context().newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  let fetched = 0;
  await page.route('**/web/worker/worker.js*', (route) => {
    fetched += 1;
    return route.abort();
  });
  await page.goto(first.url().replace(/#.*/, '#dataset=xor&depth=2&width=12&timesteps=4'));
  await page.waitForSelector('#fault:not([hidden]) .fault-text:has-text("keeps stopping")', WAIT);
  assert.match(await page.textContent('#fault .fault-text'), /^The training worker keeps stopping: its script could not be loaded \(is the server still running\?\)\. Your settings are kept/);
  assert.equal(fetched, 3, 'the first worker and two replacements, then the page waits for the user');
  // No worker ever loaded, so no config schema came (web/boot.js): the settings are kept in
  // the link, and the controls are built from them once a worker loads.
  assert.equal(hashOf(page).get('width'), '12');
  await page.screenshot({ path: ARTIFACTS + 'fault-load.png' });
  await page.unroute('**/web/worker/worker.js*');
  await page.click('#fault-restart');
  await page.waitForSelector('#fault', { state: 'hidden', ...WAIT });
  await page.waitForSelector('body[data-requested-gen]', WAIT);
  assert.equal(await page.inputValue('#ctl-width'), '12');
  await readyAt(page, await page.$eval('body', (b) => Number(b.dataset.requestedGen)));
  await play(page);
  await stepAtLeast(page, 5);
  assert.equal(hashOf(page).get('width'), '12');
  assert.deepEqual(problems, [], 'a worker that cannot load is the alert\'s to report, not an error in the console');
  await page.close();
  await first.close();
});

test('compare mode: a run that traps shows its fault and Restart in its row; the others train on', async () => {
  const { page, problems } = await open(`${SMALL}&width=24&debug=1&compare=norm:none,psp,bn`, { wait: compareReady });
  await play(page);
  await stepsAtLeast(page, 5);
  await page.evaluate(() => window.spikeplayDebug.trapRun(1, 'step'));
  await page.waitForSelector('#compare-table tr[data-run="1"][data-state="error"]', WAIT);
  let runs = await rows(page);
  assert.match(runs[1].error, /the training worker stopped: the network crashed the WebAssembly module, probably out of memory/);
  assert.match(await page.textContent('#compare-message'), /Run psp stopped/);
  const restart = '#compare-table tr[data-run="1"] button.restart';
  await page.focus(restart);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Restart');
  // The other runs go on; the settings stay.
  const at = runs[0].step;
  await page.waitForFunction((s) => Number(document.querySelector('#compare-table tr[data-run="0"]').dataset.step) > s + 5, at, WAIT);
  assert.deepEqual([runs[0].state, runs[2].state], ['training', 'training']);
  assert.equal(await page.inputValue('#ctl-width'), '24');
  assert.equal(hashOf(page).get('width'), '24');
  assert.equal(hashOf(page).get('compare'), 'norm:none,psp,bn');
  await page.screenshot({ path: ARTIFACTS + 'fault-compare.png' });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => {
    const tr = document.querySelector('#compare-table tr[data-run="1"]');
    return tr.dataset.state === 'training' && Number(tr.dataset.step) >= 5;
  }, null, WAIT);
  runs = await rows(page);
  assert.equal(runs[1].error, null);
  assert.equal(await page.textContent('#compare-message'), '');
  assert.deepEqual(problems, []);
  await page.close();
});
