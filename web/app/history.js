// The history scrubber in the status line: drag back to any step the run on screen recorded
// and every view with a per-step record shows that step (explore.js / compare.js scrubTo);
// Live (or dragging to the right end) follows the run again. Training goes on meanwhile: a
// teacher points at step 50 while the run carries on, and Live catches up. Other code moves
// it with a `spikeplay:scrub` event ({ detail: { step } }, null for live), the lessons say
// "find step 50 again" with it; `document.body.dataset.scrubStep` is the step shown (absent: live).
const $ = (id) => document.getElementById(id);
const POLL_MS = 250;

export class HistoryBar {
  /** `active()`: the mode on screen (its historyExtent() and scrubTo(step)). */
  constructor(active) {
    this.active = active;
    this.range = $('scrub');
    this.range.addEventListener('input', () => this.move(Number(this.range.value)));
    $('scrub-live').addEventListener('click', () => this.move(null));
    window.addEventListener('spikeplay:scrub', (e) => this.move(e.detail?.step ?? null));
    setInterval(() => this.follow(), POLL_MS);
  }

  get live() {
    return document.body.dataset.scrubStep === undefined;
  }

  /**
   * Shows `step`: a whole step within the recorded ones, or null (asked for, or at or past the
   * latest probe: live). The modes' scrubTo take it as given.
   */
  move(step) {
    const mode = this.active();
    const ext = mode.historyExtent?.();
    mode.scrubTo?.(ext && step !== null && step < ext.last ? Math.max(ext.first, Math.round(step)) : null);
    this.follow();
  }

  /** Keeps the range's ends on the run's recorded steps, and its knob at the right end while live. */
  follow() {
    const ext = this.active().historyExtent?.() ?? null;
    const bar = $('history');
    bar.hidden = !ext;
    if (!ext) return;
    this.range.min = String(ext.first);
    this.range.max = String(Math.max(ext.first + 1, ext.last));
    const live = this.live;
    this.range.value = live ? this.range.max : document.body.dataset.scrubStep;
    bar.dataset.live = String(live);
    $('scrub-live').disabled = live;
    $('scrub-step').textContent = live ? `live · step ${ext.last}` : `step ${document.body.dataset.scrubStep} of ${ext.last}`;
    this.range.setAttribute('aria-valuetext', live ? `live, step ${ext.last}` : `step ${document.body.dataset.scrubStep}`);
  }
}
