// What explore mode does when a run does not come up or its worker stops: a config the core
// refused is named next to its control and the previous run keeps going; the page's first run
// (a link) falls back field by field, then to the defaults; a fault (the worker stopped) gets a
// fresh worker at once, the alert, and Restart or a way back to the last settings that trained.
// It works on the Explore it serves (explore.js), whose run bookkeeping it reads and resets.
import { faultCause } from '../run/fault.js';
import { ToWorker } from '../run/protocol.js';
import { BY_KEY, MAX_FIELD_FALLBACKS, firstRunFallback, settingsChange, toHash } from '../state/state.js';

const $ = (id) => document.getElementById(id);

export class Recovery {
  constructor(explore) {
    this.ex = explore;
    this.crashes = 0; // faults (the worker stopped) since the last run that came up
    this.fault = null; // { back, play } while the alert says the worker stopped (no run exists)
    this.refocus = false; // the alert's button had focus: Train gets it once the new run is up
    this.fallbacks = 0; // refusals of the page's first run (a link), each answered by a fallback
  }

  /** A new run is asked for: the alert goes (remembering whether it had focus). */
  clearFault() {
    if (!this.fault) return;
    this.fault = null;
    this.refocus = this.ex.faultAlert.hide();
  }

  /** A run came up: Train gets the focus the alert's button had. */
  refocusPlay() {
    if (this.refocus && (document.activeElement === document.body || !document.activeElement)) $('play').focus();
    this.refocus = false;
  }

  /**
   * The core refused a config the page's checks let through: say so next to its control. With
   * no run to keep (the page's first run, a link), `retry` starts a fallback instead. `error` is
   * the refusal as a value (protocol.js errorValue): its `field` picks the control, its `reason`
   * is the message without the field's name, which the control already shows.
   */
  onRejected(gen, error, current, retry = true) {
    const ex = this.ex;
    const { panel, upload, header } = ex.ui;
    const refused = ex.sent.get(gen);
    ex.sent.delete(gen);
    if (gen !== ex.nextGen) return; // a later request supersedes it
    const { message } = error;
    const field = error.field && BY_KEY[error.field] ? error.field : null;
    const text = field ? error.reason : message;
    ex.waiting = 0;
    // Up to MAX_FIELD_FALLBACKS one-field resets, then one to the defaults (which the core takes).
    if (retry && !ex.gen && refused && this.fallbacks <= MAX_FIELD_FALLBACKS) return this.fallBack(refused, error, text);
    if (!field) header.status(message, true);
    else if (ex.lastEdit?.gen === gen) {
      ex.refused = { key: ex.lastEdit.key, at: field };
      // No file yet is a request for one (a notice); a file the core refused is an error.
      panel.setError(field, text, retry ? 'error' : 'notice');
      if (retry && ex.lastEdit.key === 'dataset' && refused?.dataset === 'custom') upload.error(text);
    } else panel.setError(field, text);
    ex.stale.fresh();
    if (ex.resume) {
      ex.resume = false;
      ex.autoplay = 0;
      ex.send(ToWorker.PLAY); // the run paused for the refused download trains on
    }
    // The worker kept its current run; if its READY was dropped as stale, ask for it again.
    if (current !== ex.gen && ex.sent.has(current)) return ex.start(ex.sent.get(current));
    ex.requested = ex.config;
    ex.setBusy(false);
    panel.show(ex.requested, ex.kept());
    // No run yet (a link the core refused, or `custom` with no file): say why, in red.
    // A refusal that names no setting (a network file that does not map) keeps its message.
    if (ex.gen) header.status(field ? `${ex.config.dataset}: kept the previous settings` : `${message} (the run on screen goes on)`, !field);
    else header.status(message, true);
  }

  /** The page's first run was refused: the named field back to its default, or all defaults. */
  fallBack(refused, error, text) {
    const { panel } = this.ex.ui;
    const { field } = error;
    const next = firstRunFallback(refused, error, this.fallbacks);
    this.fallbacks += 1;
    // The field reset may be another of the bound's fields than the one the core named.
    if (next.field) panel.setError(next.field, `${text}; using the default ${BY_KEY[next.field].default}`);
    else {
      if (field) panel.setError(field, `${text}; using the defaults`);
      this.ex.notice = `The link's settings were refused (${text}); showing the default settings instead.`;
    }
    this.ex.start(next.config);
    panel.show(next.config);
  }

  /**
   * The worker stopped (protocol.js FAULTS): its run is gone and its module cannot be trusted. A
   * fresh worker replaces it at once, so every control keeps working; the settings stay as the user
   * left them (controls and link); the alert says why and offers Restart, and the last settings
   * that trained when they differ. A worker that stops again and again with no run coming up in
   * between (one that cannot even load) is not replaced a third time until the user acts.
   */
  onFault({ fault, message, gen }) {
    const ex = this.ex;
    const { panel, header } = ex.ui;
    console.warn(`spikeplay: the training worker stopped (${fault}: ${message}); replacing it`);
    this.crashes += 1;
    // The run on screen failed while training: back to the last config that trained a step. A new
    // config failed to build: back to the run on screen, which came up.
    const last = gen === ex.gen ? ex.good : (ex.good ?? ex.config);
    const back = last && settingsChange(ex.requested, last);
    this.fault = { back: back ? last : null, play: ex.running || !!ex.autoplay || ex.resume };
    ex.sent.clear();
    ex.restore = null;
    ex.waiting = 0;
    ex.resume = false;
    ex.autoplay = 0;
    ex.notice = null;
    ex.running = false;
    header.speed(null);
    if (this.crashes <= 2) ex.spawn();
    else ex.drop();
    ex.setBusy(false);
    panel.show(ex.requested, ex.kept());
    history.replaceState(null, '', toHash(ex.requested, ex.ui.hidden()));
    // The charts hold the run that stopped: dimmed if it is not of the settings on the left.
    if (ex.gen && settingsChange(ex.requested, ex.config)) ex.stale.previous(`previous run (${ex.config.dataset}) — not the settings on the left`);
    else ex.stale.fresh();
    header.status('The training worker stopped.', true);
    ex.faultAlert.show(faultCause({ fault, message }), { back, repeated: this.crashes > 2 });
  }

  /** Restart, or back to the last settings that trained: a fresh run of `config`. */
  restart(config) {
    const ex = this.ex;
    const play = this.fault?.play;
    ex.refused = null;
    ex.ui.panel.clearErrors();
    ex.start(config);
    ex.ui.panel.show(ex.requested);
    if (play) ex.autoplay = ex.nextGen; // it was training: it trains on once built
  }
}
