// Shared harness for the end-to-end tests: Debian's Chromium (playwright-core, no downloaded
// browsers) against the page served by scripts/serve.mjs, the run command's server. Each test
// file calls `useBrowser()` once; each test opens its own page (no shared mutable fixtures).
// Screenshots go to tests/artifacts/.
import { after, before } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';

export const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// Cold V8 needs a while for the first wasm steps on a busy 2-core machine.
export const WAIT = { timeout: 90_000 };

/** Registers the before/after hooks; returns `open(hash, viewport?)`. */
export function useBrowser() {
  let server, context, base, profile;
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer(0);
    base = `http://127.0.0.1:${server.address().port}/`;
    profile = mkdtempSync(join(tmpdir(), 'spikeplay-e2e-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1366, height: 768 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await context?.close();
    server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /**
   * Opens the page and collects console errors, page errors and long tasks. By default waits
   * for the explore run; `{ wait: compareReady }` waits for a comparison instead.
   */
  return async function open(hash = '', { wait = ready } = {}) {
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(base + hash);
    await wait(page);
    return { page, problems };
  };
}

/** Waits until a run exists and its step-0 probe has arrived. */
export async function ready(page) {
  await page.waitForSelector('#step-count[data-gen]', WAIT);
  await page.waitForFunction(() => {
    const gen = document.getElementById('step-count').dataset.gen;
    return document.getElementById('mean-rate').dataset.gen === gen;
  }, null, WAIT);
}

/** The generation of the run on screen, and of the latest request. */
export const gen = (page) => page.$eval('#step-count', (e) => Number(e.dataset.gen));
export const requestedGen = (page) => page.$eval('body', (b) => Number(b.dataset.requestedGen));

/** Waits until run `g` is on screen and its first probe drawn into the stats. */
export async function readyAt(page, g) {
  await page.waitForFunction((want) => {
    const s = document.getElementById('step-count').dataset.gen;
    return s === String(want) && document.getElementById('mean-rate').dataset.gen === s;
  }, g, WAIT);
}

/** Resolves after the next two animation frames, so queued redraws have happened. */
export const frames = (page) => page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));

export const step = (page) => page.$eval('#step-count', (e) => Number(e.dataset.step));
export const version = (page, id) => page.$eval(`#${id}`, (e) => Number(e.dataset.version ?? 0));

export async function play(page) {
  await page.click('#play');
  await page.waitForSelector('body[data-running="true"]', WAIT);
}

export async function pause(page) {
  await page.click('#play');
  await page.waitForSelector('body[data-running="false"]', WAIT);
}

/** Types `text` into a control and commits it with Enter. */
export async function enter(page, key, text) {
  await page.fill(`#ctl-${key}`, text);
  await page.press(`#ctl-${key}`, 'Enter');
}

export const message = (page, key) => page.textContent(`#msg-${key}`);
export const hashOf = (page) => new URLSearchParams(new URL(page.url()).hash.slice(1));

/** Compare mode: the summary table's rows, as their data attributes and text. */
export const rows = (page) => page.$$eval('#compare-table tbody tr', (trs) => trs.map((tr) => ({
  state: tr.dataset.state, step: Number(tr.dataset.step), loss: tr.dataset.loss,
  firstLosses: JSON.parse(tr.dataset.firstLosses || '[]'), name: tr.querySelector('.name').textContent,
  error: tr.querySelector('.error').hidden ? null : tr.querySelector('.error').textContent,
})));

/** Waits until every run of the comparison on screen is built (or failed) and has probed. */
export async function compareReady(page) {
  await page.waitForSelector('body[data-mode="compare"] #compare-table[data-runs]', WAIT);
  await page.waitForFunction(() => {
    const trs = [...document.querySelectorAll('#compare-table tbody tr')];
    return trs.length > 0 && trs.every((tr) => tr.dataset.state === 'error' || (tr.dataset.state !== 'building' && tr.querySelector('.rate').textContent !== '–'));
  }, null, WAIT);
}

/** Waits until every run that has not failed has done at least `n` steps. */
export function stepsAtLeast(page, n) {
  return page.waitForFunction((want) => [...document.querySelectorAll('#compare-table tbody tr')]
    .every((tr) => tr.dataset.state === 'error' || Number(tr.dataset.step) >= want), n, WAIT);
}

/** Clicks `selector` and returns the download it starts: { name, bytes }. */
export async function download(page, selector, menu = null) {
  if (menu) await page.click(`${menu} summary`);
  const [dl] = await Promise.all([page.waitForEvent('download', WAIT), page.click(selector)]);
  const chunks = [];
  for await (const c of await dl.createReadStream()) chunks.push(c);
  return { name: dl.suggestedFilename(), bytes: Buffer.concat(chunks) };
}
