// A run that diverges (issue 7, part 2): the page pauses with the core's message, which says
// at which step and what went bad and suggests a fix; the settings stay, and a lower learning
// rate (or Reset) gives a working run again. The config diverges by itself: SGD at the highest
// rate the page allows, weights 10x their usual scale and a membrane readout, whose logits
// overflow within ~20 steps (the same config natively: `spikeplay train --dataset moons
// --optimizer sgd --lr 10 --init-scale 10 --readout membrane`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARTIFACTS, WAIT, enter, play, step, useBrowser } from './browser.mjs';

const open = useBrowser();
const HASH = '#dataset=moons&optimizer=sgd&lr=10&init_scale=10&norm=psp&readout=membrane&openEnded=true';

test('divergence pauses with a message naming what went bad; the settings stay and a lower rate recovers', async () => {
  const { page, problems } = await open(HASH);
  const url = page.url();
  await play(page);
  await page.waitForFunction(() => document.getElementById('status').classList.contains('error'), null, WAIT);
  assert.match(await page.textContent('#status'),
    /training diverged at step \d+: (the readout's output overflowed|the weights of layer \d|the readout's weights|the gradient of layer \d).*; lower the learning rate or add a norm/);
  await page.waitForSelector('body[data-running="false"]', WAIT);
  assert.equal(page.url(), url, 'the settings (the URL hash) are kept');
  assert.equal(await page.inputValue('#ctl-lr'), '10');
  await page.screenshot({ path: ARTIFACTS + 'diverged.png' });

  // The suggested fix: a lower learning rate restarts the run, which then trains on.
  const gen = await page.$eval('#step-count', (e) => e.dataset.gen);
  await enter(page, 'lr', '0.001');
  await page.waitForFunction((g) => document.getElementById('step-count').dataset.gen !== g, gen, WAIT);
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 60, null, WAIT);
  assert.ok(!(await page.$eval('#status', (e) => e.classList.contains('error'))), 'no error after the fix');
  assert.ok(await step(page) >= 60);
  assert.deepEqual(problems, []);
  await page.close();
});
