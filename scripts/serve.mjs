// A small static server for the playground: serves the repository root on 127.0.0.1 with
// the MIME types browsers insist on (application/wasm for streaming compilation,
// text/javascript for module scripts and workers) and a strict Content-Security-Policy on
// every response. No framework: this is all it needs.
//
// Usage: node scripts/serve.mjs [--port N]   (PORT env also works; 0 picks a free port)
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.md': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  // The MNIST files are gzip streams the core inflates itself: served as opaque bytes, never
  // with Content-Encoding: gzip (the browser would inflate them and the length would lie).
  '.gz': 'application/gzip',
};
// The page loads only its own files: no inline script or style, no eval (only compiling its
// WebAssembly module, on the page and in the workers, which get this header with their script),
// and it talks to no origin but its own, so a file the user uploads cannot leave the page.
// index.html carries the same policy in a <meta> tag (minus frame-ancestors, which a meta tag
// cannot set) for static hosts that send no headers; tests/e2e-security.test.mjs checks both.
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "style-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
export const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // With the opener policy, this makes the page and its workers cross-origin isolated: the
  // page loads nothing from other origins, and an isolated page's clock ticks every 5 µs, not
  // every 100 µs (Chromium), which the in-page benchmarks need to time a 2 ms step.
  'cross-origin-embedder-policy': 'require-corp',
};

// Only what the page loads; never the crate, target/ or node_modules. `data` holds the
// MNIST files the page fetches when a run needs them.
const allowed = ['index.html', 'web', 'pkg', 'data', 'favicon.ico'];

function resolvePath(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null; // a malformed escape such as %E0%A4%A: refuse it, never crash the server
  }
  const clean = normalize(decoded).replace(/^([/\\])+/, '');
  const rel = clean === '' || clean === '.' ? 'index.html' : clean;
  const top = rel.split(/[/\\]/)[0];
  const full = join(root, rel);
  if (!allowed.includes(top) || !full.startsWith(root + sep)) return null;
  return full;
}

export function startServer(port = 0) {
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // A static page has nothing to receive.
      res.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const file = resolvePath(req.url ?? '/');
    const info = file && (await stat(file).catch(() => null));
    if (!info || !info.isFile()) {
      res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      // The page is rebuilt often during development; stale wasm next to fresh glue breaks.
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = Number(i > 0 ? process.argv[i + 1] : process.env.PORT ?? 8080);
  const server = await startServer(port);
  console.log(`spikeplay playground: http://127.0.0.1:${server.address().port}/`);
}
