// The page's first script (index.html loads only this one). It starts the module's download and
// compilation and the first training worker at once (workers.js); that worker's LOADED brings
// the config schema (state/schema.js), and only then are the page's other modules loaded
// (main.js), since their controls, link and checks are built from it.
import { FaultAlert } from '../explore/fault-alert.js';
import { faultCause } from '../run/fault.js';
import { FromWorker } from '../run/protocol.js';
import { installSchema } from '../state/schema.js';
import { dropEarly, startEarly } from './workers.js';

// Workers that failed before the page could start (no LOADED, so no schema and no controls to
// show the failure next to): the first and two replacements, as explore mode allows once
// running; then the alert waits for Restart, and the link keeps the settings.
let failures = 0;
let started = false;
const bootAlert = new AbortController();

function watch(e) {
  if (started) return;
  if (e.type === 'error') {
    e.preventDefault?.();
    return failed(faultCause({ fault: 'script', message: e.message ?? '' }));
  }
  if (e.data?.type === FromWorker.LOADED) return begin(e.data.schema);
  if (e.data?.type === FromWorker.ERROR && e.data.fault) return failed(faultCause(e.data));
  return undefined;
}

/** The page's DOM, parsed (this module loads `async`, so it may run before that). */
const parsed = document.readyState === 'loading' ? new Promise((done) => document.addEventListener('DOMContentLoaded', done, { once: true })) : Promise.resolve();

async function begin(schema) {
  started = true;
  bootAlert.abort(); // main.js owns the alert from now on
  await parsed;
  document.getElementById('fault').hidden = true;
  delete document.body.dataset.fault;
  try {
    installSchema(schema);
    await import('./main.js');
  } catch (e) {
    // A malformed schema or a page module that failed to load: nothing to show controls with.
    const status = document.getElementById('status');
    status.textContent = `The page could not start: ${e?.message ?? e}. Reload the page; if it stays, the server may be gone.`;
    status.classList.add('error');
    console.warn('spikeplay: the page could not start', e);
  }
}

async function failed(cause) {
  dropEarly();
  failures += 1;
  if (failures <= 2) return startEarly(watch);
  await parsed;
  new FaultAlert(document.getElementById('fault'), { restart() {}, back() {} }).show(cause, { repeated: true });
  document.getElementById('status').textContent = 'The page could not start: the training worker did not load.';
  // Once per alert: a second round of failures shows the alert again, with a listener of its own.
  document.getElementById('fault-restart').addEventListener('click', () => {
    failures = 0;
    startEarly(watch);
  }, { signal: bootAlert.signal, once: true });
  return undefined;
}

startEarly(watch);
