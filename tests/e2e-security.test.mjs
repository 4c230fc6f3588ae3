// End-to-end tests of the page's security promises (issue 7, part 5): a strict
// Content-Security-Policy (no inline script or style, no eval, only 'wasm-unsafe-eval' for the
// module) on every response and in the page itself, and no request to any origin but the
// page's own, so a file the user uploads never leaves the page. One session goes through the
// page (train, compare, an MNIST download, a CSV upload through the file chooser, JSON and PNG
// downloads) recording every request of the browser context, its workers' included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CSP, SECURITY_HEADERS, startServer } from '../scripts/serve.mjs';
import { ARTIFACTS, WAIT, compareReady, download, play, ready, stepsAtLeast, useBrowser } from './browser.mjs';

const open = useBrowser();
// Open-ended: the session's runs must still be training when it presses Train (a small run stops at its epochs).
const SMALL = '#depth=2&width=16&timesteps=4&batch=16&probeSamples=16&openEnded=true';
const INDEX = readFileSync(new URL('../index.html', import.meta.url), 'utf8');

/** Records `securitypolicyviolation` events of the page from its first script on. */
function watchViolations() {
  window.__violations = [];
  window.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile });
  }, true);
}

/**
 * Makes `page` record what a session needs checked: every request and response of its browser
 * context (workers included), every worker's own CSP violations (a worker's policy comes with
 * its script), and the page's violations from the first script on (after the next load).
 */
async function record(page) {
  const requests = [], responses = [], workers = [];
  const context = page.context();
  context.on('request', (r) => requests.push(r));
  context.on('response', (r) => responses.push(r));
  // Chromium fetches a service worker's requests outside any page; there must be none.
  context.on('serviceworker', (w) => requests.push({ url: () => w.url(), method: () => 'SERVICE WORKER', postDataBuffer: () => null }));
  page.on('websocket', (ws) => requests.push({ url: () => ws.url(), method: () => 'WEBSOCKET', postDataBuffer: () => null }));
  page.on('worker', (w) => {
    workers.push(w);
    w.evaluate(() => {
      self.__violations = [];
      self.addEventListener('securitypolicyviolation', (e) => self.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI }));
    }).catch(() => {}); // a comparison's worker may end first
  });
  await page.addInitScript(watchViolations);
  return { requests, responses, workers };
}

/** The violations every live worker saw (an ended worker cannot be asked). */
async function workerViolations(workers) {
  const all = await Promise.all(workers.map((w) => w.evaluate(() => self.__violations ?? []).catch(() => [])));
  return all.flat();
}

/** Polls `check` (a round trip to the browser each time) until it returns something truthy. */
async function until(what, check) {
  const end = Date.now() + WAIT.timeout;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** The `content` of the CSP meta tag in index.html. */
function metaPolicy(html) {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(m, 'index.html has a CSP meta tag');
  return m[1];
}

const directives = (policy) => new Map(policy.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
  const [name, ...values] = d.split(/\s+/);
  return [name, values.join(' ')];
}));

test('the policy is strict, and index.html carries it (all but frame-ancestors) ahead of any script', () => {
  const p = directives(CSP);
  assert.equal(p.get('default-src'), "'none'");
  assert.equal(p.get('script-src'), "'self' 'wasm-unsafe-eval'", 'no unsafe-inline, no unsafe-eval');
  assert.equal(p.get('connect-src'), "'self'", 'fetches go to the page\'s own origin only');
  assert.equal(p.get('style-src'), "'self'", 'no inline style');
  assert.equal(p.get('frame-ancestors'), "'none'");
  for (const [name, value] of p) assert.doesNotMatch(value, /unsafe-inline|(?<!wasm-)unsafe-eval|\*|https?:|data:|blob:/, `${name} ${value}`);
  const meta = directives(metaPolicy(INDEX));
  const header = new Map([...p].filter(([name]) => name !== 'frame-ancestors'));
  assert.deepEqual(meta, header, 'the meta tag is the header minus what a meta tag cannot carry');
  const head = INDEX.slice(0, INDEX.indexOf('</head>'));
  assert.ok(head.indexOf('Content-Security-Policy') < head.search(/<script|<link rel="stylesheet"/), 'the policy precedes what it governs');
  // What the policy would block, caught here with the file name rather than as a violation.
  assert.doesNotMatch(INDEX, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(INDEX, /\son[a-z]+=/i, 'no inline event handler');
  assert.doesNotMatch(INDEX, /\sstyle=|<style/i, 'no inline style');
  assert.doesNotMatch(INDEX, /javascript:|href="data:/i);
});

test('the server sends the policy and the other security headers on every response, and takes no uploads', async () => {
  const server = await startServer(0);
  try {
    const base = `http://127.0.0.1:${server.address().port}/`;
    for (const path of ['', 'web/app/main.js', 'web/worker/worker.js', 'pkg/spikeplay.js', 'pkg/spikeplay_bg.wasm', 'pkg/spikeplay_relaxed_bg.wasm', 'web/style.css', 'no-such-file']) {
      const res = await fetch(base + path);
      await res.arrayBuffer();
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers.get(name), value, `${path || '/'}: ${name}`);
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(base + 'index.html', { method, body: method === 'DELETE' ? undefined : 'x' });
      await res.arrayBuffer();
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('content-security-policy'), CSP);
    }
  } finally {
    server.close();
  }
});

test('a whole session stays on the page\'s origin, sends nothing, and breaks no rule of the policy', async () => {
  const { page, problems } = await open('', { wait: async () => {} });
  const { requests, responses, workers } = await record(page);
  const origin = new URL(page.url()).origin;
  await page.goto('about:blank');
  await page.goto(`${origin}/${SMALL}`);
  await ready(page);
  // Explore: train and show every view (network, boundary, raster, membrane, input).
  await play(page);
  await page.waitForFunction(() => Number(document.getElementById('step-count').dataset.step) >= 5, null, WAIT);
  await page.click('#chart-network');
  await page.screenshot({ path: `${ARTIFACTS}security-explore.png` });
  // Compare mode on MNIST 14x14: the data comes from the page's own server.
  await page.click('#mode-compare');
  await compareReady(page);
  await page.selectOption('#ctl-dataset', 'mnist14');
  await page.waitForSelector('#data-progress[data-state="done"]', WAIT);
  await compareReady(page);
  // The user's own CSV, through the file chooser, with a name and a header no URL may show.
  const secret = `zq${Date.now().toString(36)}`;
  const csv = [`label,${secret}x,${secret}y`];
  for (let i = 0; i < 120; i++) csv.push(`${(i * 37) % 100 > (i * 61) % 100 ? 1 : 0},${(i * 37) % 100},${(i * 61) % 100}`);
  const name = `${secret}-points.csv`;
  const [chooser] = await Promise.all([page.waitForEvent('filechooser', WAIT), page.click('#upload-choose')]);
  await chooser.setFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(csv.join('\n')) });
  await page.waitForSelector('#upload-preview:not([hidden])', WAIT);
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('dataset') === 'custom', null, WAIT);
  await compareReady(page);
  await play(page);
  await stepsAtLeast(page, 2);
  const json = await download(page, '#download-json', '#download-menu');
  assert.ok(JSON.parse(json.bytes.toString()), 'the JSON download is whole');
  const png = await download(page, '.card:has(#cmp-loss) .png');
  assert.deepEqual([...png.bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
  await page.screenshot({ path: `${ARTIFACTS}security-compare.png` });

  // Every request: the page's origin (a download's blob: URL is the page's own), GET or HEAD,
  // no body, and nothing of the upload in it.
  assert.ok(requests.length > 10, `${requests.length} requests recorded`);
  for (const r of requests) {
    const url = r.url();
    assert.equal(new URL(url).origin, origin, `${r.method()} ${url}`);
    assert.ok(['GET', 'HEAD'].includes(r.method()), `${r.method()} ${url}`);
    assert.equal(r.postDataBuffer(), null, `a body sent to ${url}`);
    assert.ok(!url.includes(secret) && !url.includes(encodeURIComponent(name)), `the upload in ${url}`);
  }
  // pkg/spikeplay.js is imported by the workers alone: its request shows theirs are recorded.
  const paths = new Set(requests.map((r) => new URL(r.url()).pathname));
  for (const p of ['/', '/web/app/boot.js', '/web/worker/worker.js', '/pkg/spikeplay.js', '/pkg/spikeplay_relaxed_bg.wasm', '/data/mnist/mnist14-images.idx3-ubyte.gz']) {
    assert.ok(paths.has(p), `${p} was requested (recording works): ${[...paths].join(' ')}`);
  }
  // The policy came with the page, its scripts (the workers' included) and the module.
  const served = responses.filter((r) => new URL(r.url()).origin === origin && r.status() === 200);
  for (const ext of ['/', '.js', '.wasm', '.css', '.gz']) {
    assert.ok(served.some((r) => new URL(r.url()).pathname.endsWith(ext)), `a ${ext} response`);
  }
  for (const r of served) {
    const h = await r.allHeaders();
    assert.equal(h['content-security-policy'], CSP, r.url());
    assert.equal(h['x-content-type-options'], 'nosniff', r.url());
  }
  // Nothing the policy refused, on the page or in a worker; no console error of any kind.
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.ok(workers.length >= 2, `${workers.length} workers seen`);
  assert.deepEqual(await workerViolations(workers), []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the policy is live: injected inline script, inline handlers and styles, eval and foreign fetches are refused', async () => {
  const { page, problems } = await open('', { wait: async () => {} });
  const { requests } = await record(page);
  const origin = new URL(page.url()).origin;
  await page.goto('about:blank');
  await page.goto(`${origin}/${SMALL}`);
  await ready(page);
  assert.deepEqual(await page.evaluate(() => window.__violations), [], 'a clean start');
  const got = await page.evaluate(async () => {
    window.__ran = [];
    const s = document.createElement('script');
    s.textContent = 'window.__ran.push("inline script")';
    document.body.append(s);
    const d = document.createElement('div');
    d.setAttribute('onclick', 'window.__ran.push("inline handler")');
    document.body.append(d);
    d.click();
    const styled = document.createElement('div');
    styled.innerHTML = '<p style="color: rgb(1, 2, 3)">x</p>';
    document.body.append(styled);
    const color = getComputedStyle(styled.firstChild).color;
    // DevTools lets code it evaluates use eval: try it from the page's own next task instead.
    await new Promise((ok) => {
      const c = new MessageChannel();
      c.port1.onmessage = ok;
      c.port2.postMessage(null);
    });
    const tryIt = (f) => { try { f(); return 'ran'; } catch (e) { return e.name; } };
    const out = {
      eval: tryIt(() => eval('1 + 1')),
      Function: tryIt(() => new Function('return 1')()),
      color,
      fetch: await fetch('https://example.com/?leak=1').then(() => 'sent', (e) => e.name),
    };
    styled.remove();
    d.remove();
    return out;
  });
  assert.deepEqual(got, { eval: 'EvalError', Function: 'EvalError', color: 'rgb(31, 41, 51)', fetch: 'TypeError' },
    'eval refused, the style attribute ignored (the text keeps the page\'s ink colour), the fetch refused');
  // Each refusal raises its violation (events are queued: wait for them, not for a time).
  const want = ['script-src-elem', 'script-src-attr', 'style-src-attr', 'script-src', 'connect-src'];
  await page.waitForFunction((n) => window.__violations.length >= n, want.length, WAIT);
  const seen = await page.evaluate(() => window.__violations.map((v) => v.directive));
  for (const d of want) assert.ok(seen.includes(d), `${d} in ${seen}`);
  assert.deepEqual(await page.evaluate(() => window.__ran), [], 'no injected code ran');
  assert.ok(!requests.some((r) => r.url().startsWith('https://example.com')), 'the refused fetch never left the browser');
  // A worker's policy comes with its script: eval is refused there too, and the module still ran.
  const worker = page.workers().find((w) => new URL(w.url()).pathname === '/web/worker/worker.js');
  assert.ok(worker, page.workers().map((w) => w.url()).join(' '));
  const inWorker = await worker.evaluate(async () => {
    await new Promise((ok) => {
      const c = new MessageChannel();
      c.port1.onmessage = ok;
      c.port2.postMessage(null);
    });
    try { return eval('1 + 1'); } catch (e) { return e.name; }
  });
  assert.equal(inWorker, 'EvalError');
  const inWorkerSeen = await until('the worker\'s violation event', async () => {
    const v = await workerViolations([worker]);
    return v.length ? v : null;
  });
  assert.deepEqual(inWorkerSeen.map((v) => v.directive), ['script-src']);
  // The console reported each refusal: the harness's check would have caught a real one.
  assert.ok(problems.some((p) => /Content Security Policy/i.test(p)), problems.join('\n'));
  await page.close();
});

test('the meta tag alone locks the page down where a static host sends no header', async () => {
  const { page, problems } = await open('', { wait: async () => {} });
  const origin = new URL(page.url()).origin;
  await page.route(`${origin}/`, async (route) => {
    const res = await route.fetch();
    const headers = { ...res.headers() };
    delete headers['content-security-policy'];
    await route.fulfill({ response: res, headers });
  });
  let header = 'unseen';
  page.on('response', async (r) => {
    if (r.url() === `${origin}/`) header = (await r.allHeaders())['content-security-policy'] ?? null;
  });
  await page.addInitScript(watchViolations);
  await page.goto('about:blank');
  await page.goto(`${origin}/${SMALL}`);
  await ready(page); // the page still works under its own meta policy
  assert.equal(header, null, 'the HTML came without the header');
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  const ran = await page.evaluate(async () => {
    window.__ran = false;
    const s = document.createElement('script');
    s.textContent = 'window.__ran = true';
    document.body.append(s);
    await new Promise((ok) => {
      const c = new MessageChannel();
      c.port1.onmessage = ok;
      c.port2.postMessage(null);
    });
    try { eval('1'); return 'eval ran'; } catch (e) { return e.name; }
  });
  assert.equal(ran, 'EvalError');
  await page.waitForFunction(() => window.__violations.some((v) => v.directive === 'script-src-elem'), null, WAIT);
  assert.equal(await page.evaluate(() => window.__ran), false);
  assert.ok(problems.every((p) => /Content Security Policy/i.test(p)), problems.join('\n'));
  await page.close();
});
