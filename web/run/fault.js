// When a training worker stops (a fault: protocol.js FAULTS), what the page says, in words a
// student can act on, and how it names a way back to the last settings that trained (a network
// that ran out of memory would only crash again). Explore mode says it in its alert
// (explore/fault-alert.js), compare mode in the run's row.
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
