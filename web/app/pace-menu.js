// The header's Speed menu: the pace every run trains at (run/pace.js), from "max" down to one
// step a second, so a teacher can slow the first steps of a deep net enough to point at them.
// The choice goes into the link (`pace`), which the page keeps through its rewrites.
import { PACES, onPace, paceLabel, setPace } from '../run/pace.js';
import { withPageKey } from '../state/state.js';

export function initPaceMenu(select) {
  for (const p of PACES) select.add(new Option(paceLabel(p), String(p)));
  onPace((p) => (select.value = String(p)));
  select.addEventListener('change', () => {
    const p = Number(select.value);
    setPace(p);
    history.replaceState(null, '', withPageKey(location.hash, 'pace', p ? String(p) : null));
  });
}
