// When a training worker stops (a fault: protocol.js FAULTS), what the page says, in words a
// student can act on (the way back to the last settings that trained is named by state.js
// settingsChange). Explore mode says it in its alert (explore/fault-alert.js), compare mode in
// the run's row. It imports nothing built from the schema, so boot.js can use it before the
// schema has come.
import { elide } from './format.js';

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
