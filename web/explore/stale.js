// Marks views that show something other than what the page names. While a new run is built
// (or its data downloads) every chart still holds the previous run: they are dimmed under a
// note saying so, until the new run's first probe arrives. Between a click on another layer
// or sample and the probe that answers it, the raster and membrane cards say "updating…".

export class Staleness {
  /** `views`: the charts' container; `note`: the element for the note; `cards`: the probe-view cards. */
  constructor(views, note, cards) {
    this.views = views;
    this.note = note;
    this.cards = cards;
  }

  /** Dims every chart under `text` ("previous run (moons) — …"). */
  previous(text) {
    this.views.dataset.stale = 'true';
    this.note.textContent = text;
    this.note.hidden = false;
  }

  /** The charts show the run the page names again. */
  fresh() {
    delete this.views.dataset.stale;
    this.note.hidden = true;
  }

  get isStale() {
    return this.views.dataset.stale === 'true';
  }

  /** Marks (or unmarks) the raster and membrane cards as waiting for the selected layer's probe. */
  updating(on) {
    for (const card of this.cards) card.dataset.updating = String(on);
  }
}
