// Screenshots of the page at the four sizes a newcomer and a teacher meet it on: phone
// (390x844), tablet (820x1180), laptop (1366x768) and projector (1920x1080), in Debian's
// Chromium, so a change to the page can be looked at before it lands.
//   node scripts/shots.mjs [hash] [--out DIR] [--wait-ms N] [--full]
// `hash` is the page link's part after '#' (for example 'preset=deep-plain&compare=1');
// the shots wait until the first probe is drawn (or a comparison's runs have probed), then
// `--wait-ms` more milliseconds of training if given (to see a run move). Prints each file.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';

export const SIZES = { phone: [390, 844], tablet: [820, 1180], laptop: [1366, 768], projector: [1920, 1080] };

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const [v] = args.splice(i, 2).slice(1);
  return v;
};
const full = args.includes('--full') && (args.splice(args.indexOf('--full'), 1), true);
const out = opt('--out', 'tests/artifacts/shots');
const waitMs = Number(opt('--wait-ms', '0'));
const hash = (args[0] ?? '').replace(/^#/, '');
const tag = hash ? hash.replace(/[^a-z0-9]+/gi, '-').slice(0, 60) : 'default';

mkdirSync(out, { recursive: true });
const server = await startServer(0);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  for (const [name, [width, height]] of Object.entries(SIZES)) {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
    page.on('pageerror', (e) => console.error(`${name}: pageerror: ${e.message}`));
    await page.goto(base + (hash ? `#${hash}` : ''));
    // A real condition, not a sleep: the run on screen has drawn its first probe.
    await page.waitForFunction(() => {
      const s = document.getElementById('step-count')?.dataset.gen;
      const explore = s !== undefined && document.getElementById('mean-rate')?.dataset.gen === s;
      const rows = [...document.querySelectorAll('#compare-table tbody tr')];
      const compare = document.body.dataset.mode === 'compare' && rows.length > 0
        && rows.every((tr) => tr.dataset.state === 'error' || (tr.dataset.state !== 'building' && tr.querySelector('.rate')?.textContent !== '–'));
      return document.body.dataset.mode === 'compare' ? compare : explore;
    }, null, { timeout: 90_000 });
    if (waitMs > 0) await page.waitForTimeout(waitMs);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const file = `${out}/${tag}-${name}.png`;
    await page.screenshot({ path: file, fullPage: full });
    console.log(`${file}${overflow > 0 ? `  (horizontal overflow ${overflow} px)` : ''}`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
