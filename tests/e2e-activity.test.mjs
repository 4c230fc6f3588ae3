// End-to-end: the neuron-share view (web/run/activity.js) is drawn from the probes the page
// received. A plain 16-layer net of IF neurons with a low threshold over-fires: some layers have
// many saturated neurons at a mean rate the layer rule calls fine. The rate chart, the network
// view and the stats must show the shares of the very probe the run recorded (its JSON download),
// not a copy or a stale one. And a comparison names each run at its line ends and shows its dash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARTIFACTS, WAIT, compareReady, download, pause, play, stepsAtLeast, useBrowser } from './browser.mjs';
import { OVERFIRING_SHARE, neuronShares } from '../web/run/activity.js';
import { RUN_STYLES } from '../web/charts/palette.js';

const open = useBrowser();
const OVERFIRING = '#dataset=digits&depth=16&width=64&norm=none&pspLambda=0.9&beta=1&theta=0.5&timesteps=16&openEnded=true';

test('an over-firing net: the share strips, the network view and the stats show the probe the run recorded', async () => {
  const { page, problems } = await open(OVERFIRING);
  // The link's settings are the ones running (the link's keys are the controls' camelCase names).
  for (const [key, want] of [['pspLambda', '0.9'], ['beta', '1'], ['theta', '0.5'], ['timesteps', '16'], ['depth', '16']]) {
    assert.equal(await page.inputValue(`#ctl-${key}`), want, key);
  }
  await play(page);
  // Trained a little, and a probe since then drawn with its shares.
  await page.waitForFunction(() => Number(document.getElementById('chart-profile').dataset.step) >= 5, null, WAIT);
  await pause(page);
  // Both charts have drawn the same probe (they redraw in the same frame after it arrives).
  await page.waitForFunction(() => {
    const a = document.getElementById('chart-profile').dataset.shares, b = document.getElementById('chart-network').dataset.shares;
    return a && a === b;
  }, null, WAIT);
  const drawn = await page.evaluate(() => {
    const p = document.getElementById('chart-profile').dataset;
    const sat = document.getElementById('most-saturated'), sil = document.getElementById('most-silent');
    return {
      step: Number(p.step), shares: JSON.parse(p.shares), overfiring: Number(p.overfiring), dead: Number(p.dead),
      network: JSON.parse(document.getElementById('chart-network').dataset.shares),
      stat: { sat: Number(sat.dataset.share), satLayers: Number(sat.dataset.layers), sil: Number(sil.dataset.share), flagged: sat.classList.contains('flagged') },
    };
  });
  const rec = JSON.parse((await download(page, '#download-json', '#download-menu')).bytes.toString());
  const probe = rec.probes.find((p) => p.step === drawn.step);
  assert.ok(probe, `the recording has the drawn probe (step ${drawn.step})`);
  assert.equal(probe.silent.length, 16);
  assert.deepEqual(drawn.shares, { silent: probe.silent, saturated: probe.saturated }, 'the rate chart draws the probe’s shares');
  assert.deepEqual(drawn.network, drawn.shares, 'the network view too');
  const want = neuronShares(probe.silent, probe.saturated);
  assert.ok(want.overFiring >= 1, `this config over-fires: saturated shares ${probe.saturated.map((v) => v.toFixed(2))}`);
  assert.equal(drawn.overfiring, want.overFiring);
  assert.equal(drawn.dead, want.dead);
  assert.equal(drawn.stat.sat, Math.max(...probe.saturated));
  assert.equal(drawn.stat.sil, Math.max(...probe.silent));
  assert.equal(drawn.stat.satLayers, want.overFiring);
  assert.equal(drawn.stat.flagged, Math.max(...probe.saturated) >= OVERFIRING_SHARE);
  // The summary in the download agrees with the page.
  assert.equal(rec.summary.overfiring_layers, neuronShares(rec.probes.at(-1).silent, rec.probes.at(-1).saturated).overFiring);
  await page.screenshot({ path: `${ARTIFACTS}activity-overfiring.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a comparison names every run at its line ends and shows each run’s dash in the legend', async () => {
  const hash = '#dataset=xor&samples=64&depth=2&width=8&timesteps=2&openEnded=true&compare=beta:0.5,0.7,0.9';
  const { page, problems } = await open(hash, { wait: compareReady });
  await play(page);
  await stepsAtLeast(page, 3);
  await pause(page);
  const names = ['beta 0.5', 'beta 0.7', 'beta 0.9'];
  for (const id of ['cmp-profile', 'cmp-loss', 'cmp-accuracy']) {
    await page.waitForFunction(([el, want]) => {
      const got = document.getElementById(el).dataset.endLabels;
      return got && got.split('|').sort().join('|') === want;
    }, [id, [...names].sort().join('|')], WAIT);
  }
  const dashes = await page.$$eval('#compare-legend li svg line', (ls) => ls.map((l) => l.getAttribute('stroke-dasharray')));
  assert.deepEqual(dashes, RUN_STYLES.slice(0, 3).map((s) => (s.dash.length ? s.dash.join(' ') : null)));
  const table = await page.$$eval('#compare-table tbody tr', (trs) => trs.map((tr) => tr.querySelector('th svg line').getAttribute('stroke')));
  assert.deepEqual(table, RUN_STYLES.slice(0, 3).map((s) => s.color));
  const cells = await page.$$eval('#compare-table tbody tr', (trs) => trs.map((tr) => {
    const td = tr.querySelector('.most-saturated');
    return { text: td.textContent, share: Number(td.dataset.share), title: td.title };
  }));
  for (const c of cells) {
    assert.equal(c.text, `${Math.round(c.share * 100)}%`);
    assert.match(c.title, /^L[12]: /, 'the worst layer is named in the title');
  }
  assert.deepEqual(problems, []);
  await page.close();
});
