// The header's transport buttons and figures, and the status line: plain DOM writes shared by
// explore mode (explore.js) and compare mode (compare.js), both through main.js.
import { elide, formatRate } from '../run/format.js';

const $ = (id) => document.getElementById(id);

/**
 * Transport buttons reflect whether a run exists, is being built, or is training. `waiting`:
 * the requested run's data is downloading and the old run is paused, so nothing may start.
 */
export function paintTransport({ running, hasRun, busy, waiting = false }) {
  document.body.dataset.running = String(running);
  document.body.dataset.busy = String(busy);
  // The accessible name stays "Train"; aria-pressed says whether it is on.
  $('play-icon').textContent = running ? '❚❚' : '▶';
  $('play-label').textContent = running ? 'Pause' : 'Train';
  $('play').setAttribute('aria-pressed', String(running));
  $('play').disabled = !hasRun || waiting;
  $('step').disabled = !hasRun || busy || running || waiting;
  $('reset').disabled = !hasRun || busy || waiting;
}

export function showStatus(text, isError = false) {
  $('status').textContent = elide(text);
  $('status').classList.toggle('error', isError);
}

export function showMemory(bytes) {
  $('memory').textContent = `${(bytes / 2 ** 20).toFixed(0)} MB`;
  $('memory').dataset.bytes = String(bytes);
}

/** Wall-clock steps per second ('–': not training). */
export const showSpeed = (rate) => ($('speed').textContent = rate === null ? '–' : formatRate(rate));

/**
 * The latest accuracies. A timed evaluation sees the first `ev.limit` samples of each split:
 * on a larger set its figure is an estimate (≈); each epoch's end evaluates them all.
 * `ev` null: no evaluation yet.
 */
export function showAccuracy(ev, layout) {
  if (!ev) {
    $('acc-train').textContent = $('acc-test').textContent = '–';
    return;
  }
  const approx = ev.limit > 0 && layout && Math.max(layout.train_samples, layout.test_samples) > ev.limit ? '≈' : '';
  $('acc-train').textContent = `${approx}${(ev.train_accuracy * 100).toFixed(1)}%`;
  $('acc-test').textContent = `${approx}${(ev.test_accuracy * 100).toFixed(1)}%`;
  $('acc-test').title = $('acc-train').title = approx
    ? `estimate on the first ${ev.limit} samples of each split; every sample is evaluated at each epoch's end` : 'every sample of the split';
}
