// When a training worker stops (a fault: protocol.js FAULTS), what the page says, in words a
// student can act on, and the alert explore mode says it in: the message, Restart, and, when the
// settings that failed are not the last ones that trained, a way back to those (a network that
// ran out of memory would only crash again). Compare mode shows the same words in the run's row.
import { elide } from './format.js';
import { CONTROLS } from '../state/state.js';

/** Why the worker stopped, as a clause ("the Rust core panicked: …"), from its ERROR or `error` event. */
export function faultCause({ fault, message: whole = '' }) {
  const message = elide(whole); // compare mode's rows show it too
  switch (fault) {
    case 'panic': return `the Rust core panicked: ${message}`;
    case 'exception': return `a bug in the worker's JavaScript: ${message}`;
    case 'load': return message; // "could not load the WebAssembly module: …"
    case 'script': return message ? `its script failed: ${message}` : 'its script could not be loaded (is the server still running?)';
    default: return `the network crashed the WebAssembly module, probably out of memory (${message || 'a trap'})`;
  }
}

const shortLabel = (label) => {
  const s = label.replace(/ \(.*\)$/, '');
  return /^[A-Z][a-z]/.test(s) ? s[0].toLowerCase() + s.slice(1) : s;
};

/**
 * The settings of `to` that differ from `from`, as a button names them ("depth 3, width 64"),
 * or a general name past three of them; null when none differ.
 */
export function settingsChange(from, to) {
  const differ = CONTROLS.filter((c) => String(from[c.key]) !== String(to[c.key]));
  if (!differ.length) return null;
  if (differ.length > 3) return 'the last settings that trained';
  return differ.map((c) => `${shortLabel(c.label)} ${to[c.key]}`).join(', ');
}

/** Explore mode's alert (index.html #fault): role="alert", so it is read out when it appears. */
export class FaultAlert {
  /** `restart()` and `back()` run when their button is pressed. */
  constructor(root, { restart, back }) {
    this.root = root;
    this.text = root.querySelector('.fault-text');
    this.hint = root.querySelector('.fault-hint');
    this.restartButton = root.querySelector('.fault-restart');
    this.backButton = root.querySelector('.fault-back');
    this.restartButton.addEventListener('click', restart);
    this.backButton.addEventListener('click', back);
  }

  /**
   * Shows why the worker stopped. `back`: the change the second button makes ("depth 3"), or
   * null for no such button; `repeated`: it keeps stopping with no run coming up in between.
   */
  show(cause, { back = null, repeated = false } = {}) {
    cause = elide(cause);
    this.text.textContent = repeated
      ? `The training worker keeps stopping: ${cause}. Your settings are kept (also in the address bar); if Restart does not help, reload the page.`
      : `The training worker stopped: ${cause}. Your settings are kept.`;
    this.hint.textContent = back
      ? 'Restart builds them again; if they ran out of memory they will crash again: go back, or make the network smaller.'
      : 'Restart trains them again from step 0, or change a setting to start a new run.';
    this.backButton.hidden = !back;
    this.backButton.textContent = back ? `Back to ${back}` : '';
    this.backButton.title = back ? 'The last settings that trained a step' : '';
    this.root.hidden = false;
    document.body.dataset.fault = 'true';
  }

  /** Hides the alert; true if focus was on one of its buttons (the caller puts it somewhere useful). */
  hide() {
    if (this.root.hidden) return false;
    const hadFocus = this.root.contains(document.activeElement);
    this.root.hidden = true;
    delete document.body.dataset.fault;
    return hadFocus;
  }

  get shown() {
    return !this.root.hidden;
  }
}
