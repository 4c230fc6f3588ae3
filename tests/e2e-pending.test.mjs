// End-to-end tests of what the page shows while the run it names is not the one on screen:
// a run waiting for its download (the old one paused, its charts dimmed), a layer click
// waiting for its probe, an upload that needs a setting changed, and a link the core refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WAIT, gen, play, readyAt, useBrowser } from './browser.mjs';

const open = useBrowser();
const SHOTS = '/tmp/fix/';

const stepsPast = (page, n) => page.waitForFunction((want) => Number(document.getElementById('step-count').dataset.step) > want, n, WAIT);
const statusMatches = (page, re) => page.waitForFunction((src) => new RegExp(src).test(document.getElementById('status').textContent), re.source, WAIT);

test('while MNIST downloads, the old run pauses, the transport waits and the old charts are dimmed', async () => {
  const { page, problems } = await open('#depth=2&width=16&timesteps=4&openEnded=true');
  // Hold the images file until the test lets it go: a slow connection, made deterministic.
  let release;
  const held = new Promise((ok) => (release = ok));
  await page.route('**/mnist28-images*', async (route) => {
    await held;
    await route.continue();
  });
  await play(page);
  await stepsPast(page, 3);
  const g = await gen(page);
  await page.selectOption('#ctl-dataset', 'mnist28');
  await page.waitForSelector('body[data-running="false"]', WAIT);
  await statusMatches(page, /^downloading MNIST 28×28/);
  const at = Number(await page.$eval('#step-count', (e) => e.dataset.step));
  assert.deepEqual(await page.$$eval('#play, #step, #reset', (bs) => bs.map((b) => b.disabled)), [true, true, true]);
  assert.equal(await page.$eval('#views', (v) => v.dataset.stale), 'true');
  assert.equal(await page.textContent('#stale-note'), 'previous run (moons) — waiting for MNIST 28×28 to download');
  assert.equal(await page.$eval('#chart-loss', (c) => getComputedStyle(c).opacity), '0.3');
  // Space (the play shortcut) does nothing either: the old run stays where it was.
  await page.keyboard.press(' ');
  await page.screenshot({ path: `${SHOTS}p1a-waiting.png` });
  assert.equal(Number(await page.$eval('#step-count', (e) => e.dataset.step)), at);
  assert.match(await page.textContent('#status'), /^downloading/);
  release();
  // The new run comes up and trains in the old one's place (it was training); the dimming ends.
  await readyAt(page, g + 1);
  await page.waitForSelector('body[data-running="true"]', WAIT);
  await page.waitForFunction(() => !document.getElementById('views').dataset.stale, null, WAIT);
  assert.ok(await page.isHidden('#stale-note'));
  assert.match(await page.textContent('#status'), /mnist28: 8000 training/);
  await stepsPast(page, 1);
  await page.screenshot({ path: `${SHOTS}p1a-after.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a new config dims every chart until its first probe arrives', async () => {
  const { page, problems } = await open('#depth=2&width=16&timesteps=4');
  // Whenever the charts' run differs from the requested one, the views must say they are stale.
  // The dimmed state can last less than a frame (a small net builds in milliseconds), too
  // short for a polling wait: the observer records every note shown while the views are
  // stale, and the test waits for that record.
  await page.evaluate(() => {
    window.__unmarked = [];
    window.__staleNotes = [];
    const check = () => {
      const shown = document.getElementById('mean-rate').dataset.gen;
      const wanted = document.body.dataset.requestedGen;
      const stale = document.getElementById('views').dataset.stale === 'true';
      if (stale && !document.getElementById('stale-note').hidden) window.__staleNotes.push(document.getElementById('stale-note').textContent);
      if (shown !== wanted && !stale) window.__unmarked.push([shown, wanted]);
    };
    new MutationObserver(check).observe(document.body, { attributes: true, subtree: true, attributeFilter: ['data-gen', 'data-requested-gen', 'data-stale'] });
  });
  const g = await gen(page);
  await page.fill('#ctl-depth', '24');
  await page.press('#ctl-depth', 'Enter');
  await page.waitForFunction(() => window.__staleNotes.length > 0, null, WAIT);
  assert.match(await page.evaluate(() => window.__staleNotes[0]), /^previous run \(moons\) — building the new network/);
  await readyAt(page, g + 1);
  await page.waitForFunction(() => !document.getElementById('views').dataset.stale, null, WAIT);
  assert.deepEqual(await page.evaluate(() => window.__unmarked), []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('after a layer click the raster and membrane say "updating" until that layer\'s probe arrives', async () => {
  const { page, problems } = await open('#dataset=digits&depth=12&width=256&timesteps=8&batch=64&openEnded=true');
  await page.evaluate(() => {
    window.__wrong = [];
    window.__marked = 0;
    const check = () => {
      const title = Number(/^layer (\d+),/.exec(document.getElementById('raster-title').textContent)[1]);
      const data = Number(document.getElementById('chart-raster').dataset.layer);
      const updating = document.getElementById('raster-card').dataset.updating === 'true';
      if (updating) window.__marked += 1;
      if (title !== data && !updating) window.__wrong.push([title, data]);
    };
    new MutationObserver(check).observe(document.getElementById('views'), { attributes: true, childList: true, characterData: true, subtree: true });
  });
  await play(page);
  await stepsPast(page, 2);
  await page.focus('#chart-network');
  for (const key of ['End', 'Home', 'ArrowRight', 'End']) {
    await page.keyboard.press(key);
    if (key === 'End') await page.screenshot({ path: `${SHOTS}p21-updating.png` });
  }
  await page.waitForFunction(() => document.getElementById('chart-raster').dataset.layer === '12'
    && document.getElementById('raster-card').dataset.updating === 'false', null, WAIT);
  assert.deepEqual(await page.evaluate(() => window.__wrong), []);
  assert.ok(await page.evaluate(() => window.__marked) > 0, 'never marked as updating');
  // A layer wider than the raster shows evenly spaced neurons, and says so.
  assert.match(await page.getAttribute('#chart-raster', 'aria-label'), /\(128 of 256 neurons, evenly spaced\)/);
  assert.match(await page.textContent('#speed'), /^\d+(\.\d)?$/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a CSV upload while Convolutional is ticked unticks it and says so in the upload box', async () => {
  const { page, problems } = await open('#dataset=digits&conv=true&depth=2&width=8&pools=1&timesteps=2&batch=16&probeSamples=16&openEnded=true');
  const g = await gen(page);
  // Labels 0 and 3 only: four outputs, two of them never the answer. A header row.
  const lines = ['label,a,b'];
  for (let i = 0; i < 120; i++) lines.push(`${i % 2 ? 3 : 0},${i % 7},${(i * 3) % 11}`);
  await page.setInputFiles('#upload-input', { name: 'small.csv', mimeType: 'text/csv', buffer: Buffer.from(lines.join('\n')) });
  await readyAt(page, g + 1);
  assert.equal(await page.textContent('#upload-note'), 'Convolutional unticked: small.csv has plain feature vectors');
  assert.equal(await page.isChecked('#ctl-conv'), false);
  assert.equal(await page.inputValue('#ctl-dataset'), 'custom');
  assert.equal(await page.textContent('#msg-conv'), '');
  assert.equal(await page.textContent('#upload-warning'), 'labels run 0..3 but 2 values are used; the readout gets 4 outputs');
  assert.match(await page.textContent('#upload-summary'), /one global scale for all features · first row \(label,a,b\) skipped as a header/);
  assert.match(await page.getAttribute('#upload-counts', 'title'), /0: 60, 1: 0, 2: 0, 3: 60/);
  await page.$eval('#upload', (e) => e.scrollIntoView());
  await page.screenshot({ path: `${SHOTS}p1b-upload.png` });
  await play(page);
  await stepsPast(page, 2);
  assert.deepEqual(problems, []);
  await page.close();
});

test('choosing custom with no file says the old run trains on meanwhile', async () => {
  const { page, problems } = await open('#depth=2&width=16');
  await page.selectOption('#ctl-dataset', 'custom');
  await page.waitForFunction(() => document.getElementById('msg-dataset').textContent !== '', null, WAIT);
  assert.equal(await page.textContent('#msg-dataset'), 'Drop or choose a file to train on your own data; still training moons meanwhile.');
  assert.ok(await page.$eval('#upload', (e) => e.classList.contains('asking')));
  assert.ok(await page.isHidden('#upload-error'), 'no file was refused: no error in the upload box');
  assert.equal(await page.$eval('#views', (v) => v.dataset.stale ?? ''), '');
  assert.equal(await page.isDisabled('#play'), false);
  await page.screenshot({ path: `${SHOTS}p25-custom.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a link the core refuses falls back to the refused field\'s default, then to the defaults', async () => {
  const { page, problems } = await open('#dataset=mnist28&conv=true&depth=6&width=64&pools=0&batch=128', { wait: async () => {} });
  await page.waitForSelector('#step-count[data-gen]', WAIT);
  await page.waitForFunction(() => document.getElementById('mean-rate').dataset.gen === document.getElementById('step-count').dataset.gen, null, WAIT);
  // batch back to 32 still leaves probe_samples 128 over the bound: the defaults come up.
  assert.match(await page.textContent('#msg-batch'), /activations exceeds .*; using the default 32$/);
  assert.match(await page.textContent('#status'), /The link's settings were refused .*showing the default settings instead/);
  assert.equal(await page.inputValue('#ctl-dataset'), 'moons');
  assert.equal(await page.isDisabled('#play'), false);
  await page.screenshot({ path: `${SHOTS}p27-fallback.png` });
  await play(page);
  await stepsPast(page, 2);
  assert.deepEqual(problems, []);
  await page.close();
});

test('small things: a sum frame for spike inputs, memory at step 0, "1 step per epoch", a spinner', async () => {
  const { page, problems } = await open('#dataset=digits&depth=2&width=32&timesteps=6&encoding=latency');
  await page.waitForSelector('#chart-input[data-sum="true"][data-frames="6"]', WAIT);
  assert.ok(Number(await page.$eval('#memory', (e) => e.dataset.bytes)) > 0, 'memory shown before any step');
  assert.equal(await page.$eval('#step-count', (e) => e.dataset.step), '0');
  await page.screenshot({ path: `${SHOTS}p3-latency.png` });
  // The status line's busy marker is a CSS spinner, not an emoji Debian's Chromium has no glyph for.
  const marker = await page.evaluate(() => {
    document.body.dataset.busy = 'true';
    const st = getComputedStyle(document.getElementById('status'), '::before');
    return { content: st.content, animation: st.animationName };
  });
  assert.deepEqual(marker, { content: '""', animation: 'spin' });
  const g = await gen(page);
  await page.selectOption('#ctl-dataset', 'moons');
  await readyAt(page, g + 1);
  const g2 = await gen(page);
  await page.fill('#ctl-samples', '40');
  await page.press('#ctl-samples', 'Enter');
  await readyAt(page, g2 + 1);
  assert.match(await page.textContent('#status'), /32 training \/ 8 test samples, 1 step per epoch$/);
  assert.deepEqual(problems, []);
  await page.close();
});
