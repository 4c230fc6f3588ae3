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

function begin(schema) {
  started = true;
  bootAlert.abort(); // main.js owns the alert from now on
  document.getElementById('fault').hidden = true;
  delete document.body.dataset.fault;
  installSchema(schema);
  import('./main.js');
}

function failed(cause) {
  dropEarly();
  failures += 1;
  if (failures <= 2) return startEarly(watch);
  new FaultAlert(document.getElementById('fault'), { restart() {}, back() {} }).show(cause, { repeated: true });
  document.getElementById('status').textContent = 'The page could not start: the training worker did not load.';
  document.getElementById('fault-restart').addEventListener('click', () => {
    failures = 0;
    startEarly(watch);
  }, { signal: bootAlert.signal });
  return undefined;
}

startEarly(watch);
