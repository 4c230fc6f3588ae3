// End-to-end tests of the data a run trains on: MNIST fetched on demand with a progress line,
// the user's own files (an IDX pair, a CSV, a malformed file), what the first layer receives
// (the encoded-input view) and the memory figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { ARTIFACTS, WAIT, compareReady, gen, hashOf, play, readyAt, rows, step, stepsAtLeast, useBrowser } from './browser.mjs';

const open = useBrowser();
const DATA = new URL('../data/mnist/', import.meta.url).pathname;
const IMAGES = `${DATA}mnist14-images.idx3-ubyte.gz`;
const LABELS = `${DATA}mnist-labels.idx1-ubyte.gz`;

/** Waits until the step counter of the run on screen passes `n`. */
const stepsPast = (page, n) => page.waitForFunction((want) => Number(document.getElementById('step-count').dataset.step) > want, n, WAIT);

/** The settings as the controls show them (every field), to check nothing moved. */
const settings = (page) => page.$$eval('#controls .control input, #controls .control select',
  (els) => Object.fromEntries(els.map((e) => [e.name, e.type === 'checkbox' ? e.checked : e.value])));

test('an uploaded IDX pair is previewed and trained on as dataset custom', async () => {
  const { page, problems } = await open('#depth=2&width=32&timesteps=4');
  const g = await gen(page);
  await page.setInputFiles('#upload-input', [IMAGES, LABELS]);
  await page.waitForSelector('#upload-preview:not([hidden])', WAIT);
  const preview = await page.$eval('#upload-preview', (e) => ({ ...e.dataset }));
  assert.deepEqual(preview, { samples: '10000', features: '196', classes: '10' });
  assert.match(await page.textContent('#upload-summary'), /10,000 samples · 196 features \(14×14 images\) · 10 classes/);
  assert.equal(await page.$eval('#upload-samples', (e) => e.querySelectorAll('canvas.thumb').length), 8);
  await readyAt(page, g + 1);
  assert.equal(await page.inputValue('#ctl-dataset'), 'custom');
  assert.equal(hashOf(page).get('dataset'), 'custom');
  assert.match(await page.textContent('#status'), /your data .*8000 training \/ 2000 test/);
  await play(page);
  await stepsPast(page, 5);
  await page.screenshot({ path: `${ARTIFACTS}upload-idx.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a malformed upload shows an alert naming the file; the run and the settings carry on', async () => {
  // Open-ended, so the run is still training after the upload was refused (it would otherwise
  // finish its 10 epochs of 45 steps while the file is parsed).
  const { page, problems } = await open('#dataset=digits&depth=2&width=32&timesteps=4&openEnded=true');
  await play(page);
  await stepsPast(page, 3);
  const before = await settings(page);
  const hash = new URL(page.url()).hash;
  // An IDX header says 3 dimensions (16 bytes of header) but the file ends after 8.
  const truncated = Buffer.from([0, 0, 8, 3, 0, 0, 0, 5]);
  await page.setInputFiles('#upload-input', [
    { name: 'bad-images.idx3-ubyte', mimeType: 'application/octet-stream', buffer: truncated },
    { name: 'mnist-labels.idx1-ubyte.gz', mimeType: 'application/gzip', buffer: readFileSync(LABELS) },
  ]);
  const alert = page.getByRole('alert').filter({ hasText: 'bad-images' });
  await alert.waitFor(WAIT);
  const text = await alert.textContent();
  assert.match(text, /bad-images\.idx3-ubyte/);
  assert.match(text, /header|byte/);
  const at = await step(page);
  await stepsPast(page, at + 3);
  assert.equal(await page.$eval('body', (b) => b.dataset.running), 'true');
  assert.deepEqual(await settings(page), before);
  assert.equal(new URL(page.url()).hash, hash);
  assert.ok(await page.isHidden('#upload-preview'));
  await page.screenshot({ path: `${ARTIFACTS}upload-error.png` });
  await page.click('#upload-dismiss');
  assert.ok(await page.isHidden('#upload-error'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a file too large for a tab is refused by its size before a byte is read', async () => {
  const { page, problems } = await open('#dataset=moons&depth=2&width=16');
  const hash = new URL(page.url()).hash;
  // A drop whose file claims 600 MB: the page must refuse it from `size` alone (reading it
  // would be the out-of-memory the check exists to prevent), so reading it is recorded.
  await page.evaluate(() => {
    window.__readHuge = false;
    const huge = { name: 'huge.csv', size: 600e6, arrayBuffer: async () => { window.__readHuge = true; return new ArrayBuffer(0); } };
    const drop = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(drop, 'dataTransfer', { value: { types: ['Files'], files: [huge] } });
    document.dispatchEvent(drop);
  });
  const alert = page.getByRole('alert').filter({ hasText: 'huge.csv' });
  await alert.waitFor(WAIT);
  assert.match(await alert.textContent(), /huge\.csv: 600\.0 MB is larger than the 536\.9 MB/);
  assert.equal(await page.evaluate(() => window.__readHuge), false);
  assert.equal(new URL(page.url()).hash, hash);
  assert.equal(await page.inputValue('#ctl-dataset'), 'moons');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a small CSV upload trains', async () => {
  const { page, problems } = await open('#depth=2&width=16&timesteps=4');
  const g = await gen(page);
  // Two classes on either side of x = y, a header row, label first.
  const rows = ['label,x,y'];
  for (let i = 0; i < 200; i++) {
    const x = (i * 37) % 100, y = (i * 61) % 100;
    rows.push(`${x > y ? 1 : 0},${x},${y}`);
  }
  await page.setInputFiles('#upload-input', { name: 'points.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
  await page.waitForSelector('#upload-preview:not([hidden])', WAIT);
  assert.equal(await page.$eval('#upload-preview', (e) => e.dataset.classes), '2');
  assert.equal(await page.$eval('#upload-samples', (e) => e.querySelectorAll('canvas.strip').length), 8);
  await readyAt(page, g + 1);
  // The greyed-out Samples field shows the file's 200 rows, not the 1000 of the generated sets.
  assert.equal(await page.inputValue('#ctl-samples'), '200');
  assert.ok(await page.isDisabled('#ctl-samples'));
  await play(page);
  await stepsPast(page, 20);
  const loss = await page.$eval('body', (b) => JSON.parse(b.dataset.firstLosses ?? '[]'));
  assert.equal(loss.length, 5);
  // A comparison on the same file says the same.
  await page.click('#mode-compare');
  await compareReady(page);
  assert.equal(await page.inputValue('#ctl-samples'), '200');
  assert.ok(loss.every(Number.isFinite), String(loss));
  assert.deepEqual(problems, []);
  await page.close();
});

test('choosing mnist14 downloads it once with a progress line, then trains', async () => {
  const { page, problems } = await open('#depth=2&width=32&timesteps=4&batch=32&probeSamples=32');
  // Records every state the progress line passes through (a local download is quick).
  await page.evaluate(() => {
    window.__progress = [];
    const el = document.getElementById('data-progress');
    new MutationObserver(() => {
      const now = el.hidden ? 'hidden' : el.dataset.state;
      if (window.__progress[window.__progress.length - 1] !== now) window.__progress.push(now);
    })
      .observe(el, { attributes: true, attributeFilter: ['hidden', 'data-state'] });
  });
  const g = await gen(page);
  await page.selectOption('#ctl-dataset', 'mnist14');
  await readyAt(page, g + 1);
  const states = await page.evaluate(() => window.__progress);
  assert.ok(states.includes('loading') && states.includes('done'), states.join(' '));
  const { loaded, total } = await page.$eval('#data-progress', (e) => ({ ...e.dataset }));
  const size = statSync(IMAGES).size + statSync(LABELS).size;
  assert.equal(Number(total), size);
  assert.equal(Number(loaded), size);
  assert.match(await page.textContent('#status'), /mnist14: 8000 training \/ 2000 test/);
  await play(page);
  await stepsPast(page, 5);
  // A second run on the same data uses the bytes in memory: no new download.
  const count = await page.evaluate(() => window.__progress.length);
  const g2 = await gen(page);
  await page.selectOption('#ctl-norm', 'bn');
  await readyAt(page, g2 + 1);
  assert.equal(await page.evaluate(() => window.__progress.filter((s) => s === 'loading').length), 1);
  assert.ok(await page.evaluate((n) => window.__progress.slice(n).every((s) => s !== 'loading'), count));
  assert.deepEqual(problems, []);
  await page.close();
});

test('the encoded-input view shows T frames for digits; the memory figure is in MB', async () => {
  const { page, problems } = await open('#dataset=digits&depth=2&width=32&timesteps=6');
  await page.waitForSelector('#chart-input[data-frames="6"]', WAIT);
  assert.match(await page.textContent('#input-title'), /^sample 1, label \d · direct · T=6$/);
  assert.match(await page.getAttribute('#chart-input', 'aria-label'), /8×8 image, direct encoding over 6 steps/);
  // Poisson spikes: the frames hold 0s and 1s, and the next sample changes the label line.
  const g = await gen(page);
  await page.selectOption('#ctl-encoding', 'poisson');
  await readyAt(page, g + 1);
  await page.waitForFunction(() => /poisson · T=6/.test(document.getElementById('input-title').textContent), null, WAIT);
  await page.click('#sample-next');
  await page.waitForFunction(() => /^sample 2,/.test(document.getElementById('input-title').textContent), null, WAIT);
  const bytes = await page.$eval('#memory', (e) => Number(e.dataset.bytes));
  assert.ok(bytes > 0, `memory ${bytes}`);
  const mb = /^(\d+) MB$/.exec(await page.textContent('#memory'));
  assert.ok(mb && Number(mb[1]) > 0, await page.textContent('#memory'));
  await page.screenshot({ path: `${ARTIFACTS}encoded-input.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a custom link with no file in memory asks for one instead of failing', async () => {
  const { page, problems } = await open('#dataset=custom&depth=2&width=16', { wait: async () => {} });
  await page.waitForFunction(() => /drop a CSV or an IDX/.test(document.getElementById('status').textContent), null, WAIT);
  assert.ok(await page.$eval('#upload', (e) => e.classList.contains('asking')));
  assert.equal(await page.inputValue('#ctl-dataset'), 'custom');
  // The file arrives: the run starts with the link's other settings.
  await page.setInputFiles('#upload-input', [IMAGES, LABELS]);
  await page.waitForFunction(() => document.getElementById('step-count').dataset.gen, null, WAIT);
  assert.equal(hashOf(page).get('width'), '16');
  assert.deepEqual(problems, []);
  await page.close();
});

test('compare mode sends every run its MNIST files', async () => {
  const { page, problems } = await open('#dataset=mnist14&depth=2&width=16&timesteps=2&batch=16&probeSamples=16&compare=norm:psp,bn', { wait: compareReady });
  const runs = await rows(page);
  assert.equal(runs.length, 2);
  assert.ok(runs.every((r) => r.state !== 'error'), JSON.stringify(runs.map((r) => r.error)));
  await play(page);
  await stepsAtLeast(page, 2);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the MNIST conv preset opens one run in Explore and starts training', async () => {
  const { page, problems } = await open('#depth=2&width=16');
  await page.click('#presets-menu summary');
  await page.click('[data-preset="mnist14-conv"]');
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('conv') === 'true', null, WAIT);
  assert.equal(await page.$eval('body', (b) => b.dataset.mode), 'explore');
  await page.waitForSelector('body[data-running="true"]', WAIT);
  await stepsPast(page, 2);
  assert.match(await page.getAttribute('#chart-network', 'aria-label'), /3 conv layers \(3×3\) × 8 channels, maps 14×14 → 7×7/);
  assert.match(await page.textContent('#raster-title'), /^layer 1 \(8×14×14\), sample 1$/);
  assert.match(await page.textContent('#explore-watch'), /MNIST 14x14/);
  assert.deepEqual(problems, []);
  await page.close();
});
