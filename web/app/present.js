// Presentation mode, for a teacher at a projector: one chart at a time, full screen, in large
// text (style.css, body[data-present]), with its title and caption; ← → (or the buttons) move
// between the charts of the mode on screen, Esc or P leaves. The header stays, so Train,
// Step and Reset remain a click (or Space) away. A link opens in it with `present=1`.
import { withPageKey } from '../state/state.js';
const $ = (id) => document.getElementById(id);

/** The chart cards of the mode on screen, in page order (hidden cards, such as the boundary of image data, skipped). */
function cards() {
  const root = document.body.dataset.mode === 'compare' ? $('compare') : $('views');
  return [...root.querySelectorAll(':scope > .card:not(.explain):not(#compare-setup)')].filter((c) => !c.hidden);
}

export class Presenter {
  constructor() {
    this.index = 0;
    $('present').addEventListener('click', (e) => {
      if (e.detail > 0) e.currentTarget.blur();
      this.toggle();
    });
    $('present-prev').addEventListener('click', () => this.move(-1));
    $('present-next').addEventListener('click', () => this.move(1));
    $('present-exit').addEventListener('click', () => this.toggle(false));
    document.addEventListener('keydown', (e) => this.key(e));
    // A mode switch shows other cards: start at the first of them.
    new MutationObserver(() => this.on && ((this.index = 0), this.show())).observe(document.body, {
      attributes: true, attributeFilter: ['data-mode'],
    });
    if (new URLSearchParams(location.hash.slice(1)).has('present')) this.toggle(true);
  }

  get on() {
    return document.body.dataset.present === 'true';
  }

  key(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest('input, select, textarea')) return;
    if (e.key === 'p' || e.key === 'P') this.toggle();
    else if (!this.on) return;
    else if (e.key === 'Escape') this.toggle(false);
    else if (e.key === 'ArrowRight' && !e.target.closest('canvas')) this.move(1);
    else if (e.key === 'ArrowLeft' && !e.target.closest('canvas')) this.move(-1);
    else return;
    e.preventDefault();
  }

  toggle(on = !this.on) {
    document.body.dataset.present = String(on);
    $('present').setAttribute('aria-pressed', String(on));
    $('present-nav').hidden = !on;
    if (!on) for (const c of document.querySelectorAll('.card[data-current]')) delete c.dataset.current;
    // The link says so too (state.js KEPT_KEYS keeps it through rewrites): a copied link opens presenting.
    if (on !== new URLSearchParams(location.hash.slice(1)).has('present')) {
      history.replaceState(null, '', withPageKey(location.hash, 'present', on ? '1' : null));
    }
    this.show();
  }

  move(by) {
    const n = cards().length;
    this.index = (this.index + by + n) % n;
    this.show();
  }

  show() {
    if (this.on) {
      const list = cards();
      this.index = Math.min(this.index, list.length - 1);
      list.forEach((c, i) => (i === this.index ? (c.dataset.current = 'true') : delete c.dataset.current));
      const card = list[this.index];
      const title = card.querySelector('h2')?.firstChild?.textContent.trim() ?? '';
      $('present-where').textContent = `${this.index + 1} / ${list.length} · ${title}`;
      document.body.dataset.presentIndex = String(this.index);
    }
    // The charts size themselves to their boxes on a resize: draw them at the new size.
    window.dispatchEvent(new Event('resize'));
  }
}
