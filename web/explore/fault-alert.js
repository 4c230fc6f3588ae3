// Explore mode's alert when its training worker stops: why (run/fault.js faultCause), Restart,
// and, when the settings that failed are not the last ones that trained, a way back to those.
import { elide } from '../run/format.js';

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
