// End-to-end tests of the settings: quick successive edits, Enter, links with bad values,
// cross-field limits, controls a data set ignores, and recovery from a WebAssembly crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARTIFACTS, WAIT, enter, gen, hashOf, message, play, readyAt, requestedGen, step, useBrowser,
} from './browser.mjs';

const open = useBrowser();

test('two quick edits both survive, and one Enter starts one run', async () => {
  const { page, problems } = await open();
  const g = await gen(page);
  // The second edit is made before the first run has come up (same task, no waiting).
  await page.evaluate(() => {
    const depth = document.getElementById('ctl-depth');
    depth.value = '6';
    depth.dispatchEvent(new Event('change'));
    const norm = document.getElementById('ctl-norm');
    norm.value = 'bn';
    norm.dispatchEvent(new Event('change'));
  });
  await readyAt(page, g + 2);
  assert.equal(await page.inputValue('#ctl-depth'), '6');
  assert.equal(await page.inputValue('#ctl-norm'), 'bn');
  assert.equal(hashOf(page).get('depth'), '6');
  assert.equal(hashOf(page).get('norm'), 'bn');
  // Enter commits; the `change` Chrome fires for the same edit, and the one on blur, must not
  // start the run a second time.
  await enter(page, 'width', '48');
  assert.equal(await requestedGen(page), g + 3, 'Enter requested exactly one run');
  await page.click('#ctl-seed');
  assert.equal(await requestedGen(page), g + 3, 'leaving the field requested nothing more');
  await readyAt(page, g + 3);
  assert.equal(hashOf(page).get('width'), '48');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a bad link value shows the value in use and why; a hand-edited hash updates every control', async () => {
  const { page, problems } = await open('#depth=abc&norm=zzz&width=32');
  assert.equal(await page.inputValue('#ctl-depth'), '4');
  assert.equal(await page.inputValue('#ctl-norm'), 'psp');
  assert.equal(await page.inputValue('#ctl-width'), '32', 'valid entries are kept');
  assert.match(await message(page, 'depth'), /link value 'abc' ignored \(must be a number\); using 4/);
  assert.match(await message(page, 'norm'), /link value 'zzz' ignored .*; using psp/);
  // Leave a refused edit in Depth, then change the hash by hand: the field follows the link.
  await enter(page, 'depth', '6.5');
  await page.waitForSelector('#msg-depth:has-text("whole number")', WAIT);
  const g = await gen(page);
  await page.evaluate(() => (location.hash = '#depth=3&norm=bn'));
  await readyAt(page, g + 1);
  assert.equal(await page.inputValue('#ctl-depth'), '3');
  assert.equal(await page.inputValue('#ctl-norm'), 'bn');
  assert.equal(await page.inputValue('#ctl-width'), '64', 'fields the new link omits take their defaults');
  assert.equal(await message(page, 'depth'), '');
  assert.equal(await message(page, 'norm'), '');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a link that breaks a cross-field rule falls back only the fields involved', async () => {
  const { page, problems } = await open('#depth=16&width=4096&seed=7');
  assert.equal(await page.inputValue('#ctl-depth'), '16', 'depth alone is fine and kept');
  assert.equal(await page.inputValue('#ctl-width'), '64');
  assert.equal(await page.inputValue('#ctl-seed'), '7');
  assert.match(await message(page, 'width'), /link value '4096' ignored \(depth x width\^2 = 268435456 weights exceeds 8388608.*\); using 64/);
  assert.equal(await message(page, 'depth'), '');
  const g = await gen(page);
  await page.evaluate(() => (location.hash = '#residual=true&depth=1&dataset=xor'));
  await readyAt(page, g + 1);
  assert.equal(await page.isChecked('#ctl-residual'), true);
  assert.equal(await page.inputValue('#ctl-depth'), '4');
  assert.equal(await page.inputValue('#ctl-dataset'), 'xor');
  assert.match(await message(page, 'depth'), /link value '1' ignored \(a residual net needs depth >= 2.*\); using 4/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a link\'s keys that are not settings get one notice, and the run still trains', async () => {
  const { page, problems } = await open('#depht=3&foo=bar&depth=3&hide=seed');
  const status = await page.textContent('#status');
  assert.match(status, /^The link's 'depht', 'foo' are not settings and were ignored\. moons: /);
  assert.equal(await page.$eval('#status', (e) => e.classList.contains('error')), false, 'a notice, not an error');
  assert.equal(await page.inputValue('#ctl-depth'), '3', 'the settings it names are kept');
  await page.screenshot({ path: ARTIFACTS + 'unknown-keys.png' });
  assert.equal(hashOf(page).get('depht'), null, 'the address bar holds only settings');
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 3, null, WAIT);
  assert.ok(await step(page) >= 3);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a link the core refuses several times keeps its data set and conv net, one field reset at a time', async () => {
  // The page refuses width 4096 itself; the core then refuses the conv net's feature maps three
  // times, naming probe_samples (256, reset to 128), batch (200, reset to 32), then
  // probe_samples again, now at its default: the bound's other field, pools 0, goes back to 2.
  const { page, problems } = await open('#dataset=digits&conv=true&width=4096&pools=0&batch=200&probeSamples=256');
  assert.equal(await page.inputValue('#ctl-dataset'), 'digits');
  assert.equal(await page.isChecked('#ctl-conv'), true);
  assert.equal(await page.inputValue('#ctl-width'), '64');
  assert.equal(await page.inputValue('#ctl-probeSamples'), '128');
  assert.equal(await page.inputValue('#ctl-batch'), '32');
  assert.equal(await page.inputValue('#ctl-pools'), '2');
  assert.match(await message(page, 'width'), /link value '4096' ignored/);
  for (const [key, used] of [['probeSamples', 128], ['batch', 32], ['pools', 2]]) {
    assert.match(await message(page, key), new RegExp(`feature-map cells = \\d+ activations exceeds \\d+.*; using the default ${used}$`), key);
  }
  assert.equal(hashOf(page).get('dataset'), 'digits', 'the run on screen is the link\'s');
  assert.equal(hashOf(page).get('conv'), 'true');
  assert.doesNotMatch(await page.textContent('#status'), /default settings/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a conv link no reset of one field can fix falls back to the defaults, saying why', async () => {
  // mnist28's first conv layer alone is 28 x 28 x width 64 cells: at the default probe batch
  // and timesteps no pools can bring it under the core's bound (nor mnist14's two full-size
  // layers; only a lower width, probe batch or timesteps would, which are at their defaults), so after pools 0 -> 2 the
  // core's next refusal (probe_samples, at its default) ends on the defaults.
  const { page, problems } = await open('#dataset=mnist28&conv=true&width=4096&pools=0');
  assert.match(await message(page, 'pools'), /feature-map cells = \d+ activations exceeds \d+.*; using the default 2$/);
  assert.match(await message(page, 'probeSamples'), /feature-map cells = \d+ activations exceeds \d+.*; using the defaults$/);
  assert.match(await page.textContent('#status'), /^The link's settings were refused \(.*\); showing the default settings instead\.$/);
  assert.equal(await page.inputValue('#ctl-dataset'), 'moons');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a too-large edit is refused under the control that was edited, which keeps the typed text', async () => {
  const { page, problems } = await open();
  const g = await gen(page);
  await enter(page, 'width', '2048');
  assert.match(await message(page, 'width'), /weights exceeds 8388608/);
  assert.equal(await page.inputValue('#ctl-width'), '2048', 'the typed value stays to be fixed');
  await enter(page, 'width', '512');
  await readyAt(page, g + 1);
  assert.equal(await message(page, 'width'), '');
  // 256 x 512^2 weights: Rust names width, but the user changed depth, so it is said there.
  await enter(page, 'depth', '256');
  assert.match(await message(page, 'depth'), /depth x width\^2 = 67108864 weights exceeds 8388608/);
  assert.equal(await message(page, 'width'), '');
  assert.equal(await page.inputValue('#ctl-depth'), '256');
  assert.equal(await page.inputValue('#ctl-width'), '512', 'other controls show the running config');
  // An activation limit: Rust names batch; the edited timesteps gets the message.
  await enter(page, 'timesteps', '256');
  assert.match(await message(page, 'timesteps'), /activations exceeds 16777216/);
  assert.equal(await message(page, 'depth'), '', 'the newer refusal replaces the older one');
  assert.equal(await page.inputValue('#ctl-depth'), '4');
  assert.equal(await gen(page), g + 1, 'no refused edit started a run');
  await page.screenshot({ path: ARTIFACTS + 'too-large.png' });
  assert.deepEqual(problems, []);
  await page.close();
});

test('digits disables Samples and Noise, which it ignores, with a note', async () => {
  const { page, problems } = await open();
  assert.equal(await page.isEnabled('#ctl-samples'), true);
  const g = await gen(page);
  await page.selectOption('#ctl-dataset', 'digits');
  assert.equal(await page.isDisabled('#ctl-samples'), true);
  assert.equal(await page.isDisabled('#ctl-noise'), true);
  assert.match(await page.textContent('#note-samples'), /1797/);
  assert.notEqual(await page.textContent('#note-noise'), '');
  await readyAt(page, g + 1);
  assert.equal(await page.isDisabled('#ctl-noise'), true, 'still disabled once digits runs');
  await page.selectOption('#ctl-dataset', 'spiral');
  assert.equal(await page.isEnabled('#ctl-noise'), true);
  assert.equal(await page.textContent('#note-noise'), '');
  assert.deepEqual(problems, []);
  await page.close();
});

test('building a run shows a busy state; Train is unavailable with no run', async () => {
  const { page, problems } = await open();
  // Read in the same task as the edit: the busy state must be up before any worker reply.
  const during = await page.evaluate(() => {
    const depth = document.getElementById('ctl-depth');
    depth.value = '12';
    depth.dispatchEvent(new Event('change'));
    return { busy: document.body.dataset.busy, status: document.getElementById('status').textContent,
      reset: document.getElementById('reset').disabled };
  });
  assert.deepEqual(during, { busy: 'true', status: 'building the network…', reset: true });
  await page.waitForSelector('body[data-busy="false"]', WAIT);
  assert.match(await page.textContent('#status'), /training \/ .* test samples/);
  assert.equal(await page.isEnabled('#reset'), true);
  // Before the first run exists there is nothing to train.
  const fresh = await page.context().newPage();
  await fresh.route('**/web/worker/worker.js*', (route) => route.abort()); // no worker: no run can exist
  await fresh.goto(page.url());
  // No worker loads, so no schema comes and the page says it could not start (app/boot.js).
  await fresh.waitForSelector('#fault:not([hidden])', WAIT);
  assert.equal(await fresh.isDisabled('#play'), true);
  assert.equal(await fresh.isDisabled('#step'), true);
  await fresh.close();
  assert.deepEqual(problems, []);
  await page.close();
});

test('a WebAssembly crash is explained; the new settings stay, and Restart or Back is the user\'s choice', async () => {
  const { page, problems } = await open('#depth=3&debug=1');
  const g = await gen(page);
  // A crash while building the new config: the alert says so, and the settings stay depth 7.
  await page.evaluate(() => window.spikeplayDebug.trap('init'));
  await enter(page, 'depth', '7');
  await page.waitForSelector('#fault:not([hidden])', WAIT);
  assert.match(await page.textContent('#fault'), /The training worker stopped: the network crashed the WebAssembly module, probably out of memory/);
  assert.equal(await page.inputValue('#ctl-depth'), '7');
  assert.equal(hashOf(page).get('depth'), '7');
  assert.equal(await gen(page), g, 'nothing was started behind the user\'s back');
  // Back to the settings that ran: the replacement worker builds them, and they train.
  await page.click('#fault-back');
  await readyAt(page, await requestedGen(page));
  assert.equal(await page.inputValue('#ctl-depth'), '3');
  assert.equal(hashOf(page).get('depth'), '3');
  assert.equal(await page.isHidden('#fault'), true);
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 3, null, WAIT);
  // A crash while training: paused, the same settings, and Restart trains them from step 0.
  await page.evaluate(() => window.spikeplayDebug.trap('step'));
  await page.waitForSelector('#fault:not([hidden])', WAIT);
  assert.equal(await page.$eval('body', (b) => b.dataset.running), 'false');
  assert.equal(await page.inputValue('#ctl-depth'), '3');
  assert.equal(await page.isHidden('#fault-back'), true, 'no other settings to go back to');
  await page.screenshot({ path: ARTIFACTS + 'crash.png' });
  const before = await requestedGen(page);
  await page.click('#fault-restart');
  await readyAt(page, before + 1);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 3, null, WAIT);
  assert.equal(hashOf(page).get('depth'), '3');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the trap hook does nothing without debug=1', async () => {
  const { page, problems } = await open('#depth=3');
  assert.equal(await page.evaluate(() => typeof window.spikeplayDebug), 'undefined');
  const g = await gen(page);
  await enter(page, 'depth', '5');
  await readyAt(page, g + 1);
  assert.equal(hashOf(page).get('depth'), '5');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a run stops at the end of its epochs and says so; open-ended trains on', async () => {
  // xor, 64 samples: 51 training samples, 2 steps per epoch at batch 32, so 3 epochs end at step 6.
  const small = '#dataset=xor&samples=64&depth=2&width=8&timesteps=2&batch=32&epochs=3&seed=3';
  const { page, problems } = await open(small);
  await readyAt(page, await requestedGen(page));
  await page.click('#play'); // (not play(): 6 steps may be over before "running" can be seen)
  await page.waitForFunction(() => /^Finished/.test(document.getElementById('status').textContent), null, WAIT);
  await page.waitForSelector('body[data-running="false"]', WAIT);
  assert.equal(await step(page), 6, 'it stops at its last epoch\'s end');
  assert.match(await page.textContent('#status'), /^Finished: 3 epochs, 6 steps, as set\. Reset runs it again/);
  // Train or Step again on a finished run: it stays finished.
  // (The status is blanked first, so that its "Finished" is the worker's answer to each press.)
  for (const button of ['#play', '#step']) {
    await page.$eval('#status', (e) => { e.textContent = ''; });
    await page.click(button);
    await page.waitForFunction(() => /^Finished/.test(document.getElementById('status').textContent), null, WAIT);
    assert.equal(await step(page), 6, button);
  }
  // The setting reaches the control and the link from the schema alone.
  await page.click('#ctl-openEnded');
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('openEnded') === 'true', null, WAIT);
  await readyAt(page, await requestedGen(page));
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) > 12, null, WAIT);
  assert.deepEqual(problems, []);
  await page.close();
});
