// The data files a run needs, fetched only when a run needs them: the MNIST sets are ~0.7
// and ~1.6 MB, so a first visit (moons) loads none of them. Bytes stay in memory for later
// runs, resets and comparisons; the user's upload is kept here too (a link cannot carry it).
// Files go to the worker as they are (`[{ name, bytes }]`, gzip and all): the core parses them.

/** `DatasetKind::files()` in crate/src/config.rs: relative to `data/`, images first. */
export const DATA_FILES = {
  mnist14: ['mnist/mnist14-images.idx3-ubyte.gz', 'mnist/mnist-labels.idx1-ubyte.gz'],
  mnist28: ['mnist/mnist28-images.idx3-ubyte.gz', 'mnist/mnist-labels.idx1-ubyte.gz'],
};

/** How the status line names a data set while it downloads. */
const NAMES = { mnist14: 'MNIST 14×14', mnist28: 'MNIST 28×28' };
export const dataName = (dataset) => NAMES[dataset] ?? dataset;

export const NEEDS_UPLOAD = 'This run trains on your own data (data set "custom"), which a link cannot carry: '
  + 'drop a CSV or an IDX images + labels pair on the page (or use "Choose files" under Data), or pick another data set.';

const DATA_URL = new URL('../../data/', import.meta.url);

export class DataFiles {
  /** `progress({ label, loaded, total, done })` reports each download; `done` at its end. */
  constructor(progress) {
    this.progress = progress;
    this.bytes = new Map(); // name -> Uint8Array
    this.loading = new Map(); // name -> Promise<Uint8Array>
    this.upload = null; // { files: [{ name, bytes }], preview }
  }

  /** Whether a run of `config` can start without a download or an upload. */
  has(config) {
    if (config.dataset === 'custom') return !!this.upload;
    return (DATA_FILES[config.dataset] ?? []).every((n) => this.bytes.has(n));
  }

  /**
   * The `files` of a run of `config`: undefined for sets the core builds itself. Rejects with
   * an Error (a failed download, or `custom` with no upload yet: NEEDS_UPLOAD).
   */
  async filesFor(config) {
    if (config.dataset === 'custom') {
      if (!this.upload) throw Object.assign(new Error(NEEDS_UPLOAD), { needsUpload: true });
      return this.upload.files;
    }
    const names = DATA_FILES[config.dataset];
    if (!names) return undefined;
    const bytes = await this.fetchAll(config.dataset, names);
    return names.map((name, i) => ({ name, bytes: bytes[i] }));
  }

  /** Downloads what is missing of `names`, reporting one progress for all of them. */
  async fetchAll(label, names) {
    const missing = names.filter((n) => !this.bytes.has(n));
    if (!missing.length) return names.map((n) => this.bytes.get(n));
    const parts = new Map(missing.map((n) => [n, { loaded: 0, total: 0 }]));
    const report = (done = false) => {
      let loaded = 0, total = 0;
      for (const p of parts.values()) {
        loaded += p.loaded;
        total += p.total;
      }
      // A file whose response has not begun has no size yet: the total is not known either.
      if ([...parts.values()].some((p) => !p.total)) total = 0;
      this.progress({ label, loaded, total, done });
    };
    report();
    try {
      await Promise.all(missing.map((n) => this.fetchOne(n, (loaded, total) => {
        parts.set(n, { loaded, total });
        report();
      })));
    } catch (e) {
      this.progress({ label, loaded: 0, total: 0, done: true, error: e.message });
      throw e;
    }
    report(true);
    return names.map((n) => this.bytes.get(n));
  }

  /**
   * One file, streamed so the page can show how far it got. Concurrent asks (the runs of a
   * comparison) share one download, and each hears its progress, so none reports 0 bytes.
   */
  fetchOne(name, onChunk) {
    let entry = this.loading.get(name);
    if (!entry) {
      const listeners = new Set();
      const promise = stream(new URL(name, DATA_URL), (loaded, total) => {
        entry.last = [loaded, total];
        for (const f of listeners) f(loaded, total);
      }).then((bytes) => {
        this.bytes.set(name, bytes);
        return bytes;
      }).finally(() => this.loading.delete(name));
      entry = { promise, listeners, last: null };
      this.loading.set(name, entry);
    }
    entry.listeners.add(onChunk);
    if (entry.last) onChunk(...entry.last);
    return entry.promise;
  }
}

/** Reads a response body chunk by chunk; `onChunk(loaded, total)` (total from Content-Length). */
async function stream(url, onChunk) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not download ${url.pathname.split('/').pop()}: ${e.message}`);
  }
  if (!res.ok) throw new Error(`could not download ${url.pathname.split('/').pop()}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || 0;
  const chunks = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onChunk(loaded, Math.max(total, loaded));
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  onChunk(loaded, loaded);
  return bytes;
}

/** "682 KB", "1.6 MB". */
export function formatBytes(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1e3))} KB`;
}

/**
 * Draws a download's progress in the status line (#data-progress): label, bar, percentage.
 * `data-state` is 'loading', 'done' or 'failed', for tests and styles.
 */
export function showDownload({ label, loaded, total, done, error }) {
  const root = document.getElementById('data-progress');
  const bar = root.querySelector('progress');
  const text = root.querySelector('span');
  const name = NAMES[label] ?? label;
  root.hidden = false;
  root.dataset.state = error ? 'failed' : done ? 'done' : 'loading';
  root.dataset.loaded = String(loaded);
  root.dataset.total = String(total);
  // No size yet (a response has not begun): an indeterminate bar, not a full one.
  if (total) {
    bar.max = total;
    bar.value = loaded;
  } else bar.removeAttribute('value');
  const pct = total ? Math.floor((100 * loaded) / total) : 0;
  text.textContent = error ? `${name}: download failed`
    : done ? `${name} downloaded (${formatBytes(total)}), kept for later runs`
      : total ? `downloading ${name}: ${pct} % of ${formatBytes(total)}` : `downloading ${name}…`;
}

/** Hides a finished download's line (a run built from it is on screen). */
export function hideDownload() {
  const root = document.getElementById('data-progress');
  if (root.dataset.state !== 'loading') root.hidden = true;
}
