// The header's menus and the mode switch: the Presets list (built from presets.js), the
// Download menu, Copy link and the PNG button of every chart card. They only report choices; router.js
// decides what a choice does in the current mode.
import { addPngButtons } from '../files/download.js';
import { PRESETS } from '../state/presets.js';

const $ = (id) => document.getElementById(id);

/** A click that leaves no focus behind on a mouse press (Space then plays, as elsewhere). */
function onClick(el, fn) {
  el.addEventListener('click', (e) => {
    if (e.detail > 0) e.currentTarget.blur();
    fn();
  });
}

/**
 * `onMode(mode)`, `onPreset(preset)`, `onDownload('json' | 'csv' | 'nir' | 'weights')`, and `pngContext(card,
 * canvas)` -> { name, legend } for a chart's PNG.
 */
export function initMenus({ onMode, onPreset, onDownload, pngContext }) {
  onClick($('mode-explore'), () => onMode('explore'));
  onClick($('mode-compare'), () => onMode('compare'));
  for (const p of PRESETS) {
    const b = document.createElement('button');
    b.dataset.preset = p.id;
    b.innerHTML = '<b></b><small></small>';
    b.querySelector('b').textContent = p.title;
    b.querySelector('small').textContent = p.compare
      ? `${p.compare.values.length} runs, ${p.compare.field.replace(/_/g, ' ')}: ${p.compare.values.join(', ')}`
      : `one run in Explore: ${p.base.dataset}, depth ${p.base.depth}${p.base.conv ? ', conv' : ''}${p.base.residual ? ', residual' : ''}`;
    b.title = p.what_to_watch;
    onClick(b, () => {
      $('presets-menu').open = false;
      onPreset(p);
    });
    $('preset-list').append(b);
  }
  for (const kind of ['json', 'csv', 'nir', 'weights']) {
    onClick($(`download-${kind}`), () => {
      $('download-menu').open = false;
      onDownload(kind);
    });
  }
  addPngButtons(document.querySelector('main'), pngContext);
  $('copy-link').addEventListener('click', copyLink);
  // A menu closes when the user clicks anywhere else, or presses Escape.
  const close = (keep) => document.querySelectorAll('details.menu[open]').forEach((m) => m.contains(keep) || (m.open = false));
  document.addEventListener('click', (e) => close(e.target));
  document.addEventListener('keydown', (e) => e.key === 'Escape' && close(null));
}

/** The address bar holds the whole run or comparison, so the link is the thing to share. */
async function copyLink() {
  const button = $('copy-link');
  try {
    await navigator.clipboard.writeText(location.href);
    button.textContent = 'Copied ✓';
    setTimeout(() => (button.textContent = 'Copy link'), 1500);
  } catch {
    window.prompt('Copy this link:', location.href);
  }
}

/** Shows `mode`'s views and says in the settings panel what the settings mean there. */
export function showMode(mode) {
  document.body.dataset.mode = mode;
  $('views').hidden = mode !== 'explore';
  $('compare').hidden = mode !== 'compare';
  $('mode-explore').setAttribute('aria-pressed', String(mode === 'explore'));
  $('mode-compare').setAttribute('aria-pressed', String(mode === 'compare'));
  $('controls').querySelector('.hint').textContent = mode === 'compare'
    ? 'Shared by every run of the comparison; changing one restarts them all.'
    : 'Change any setting and the run restarts with it. Press ? beside a name for help.';
}
