// Which mode runs: the URL hash decides. A hash with `compare=` is compare mode
// (compare/compare.js), any other explore mode (explore/explore.js). The two are peers with the
// same face (togglePlay, step, reset, edit, setBase, downloads, pngContext, resize), so the
// transport, the controls and the menus talk to whichever is active. Entering compare mode ends
// explore mode's worker, and leaving it ends compare mode's, so the two never compete for the
// cores. The mode switch and the presets go through the hash as new history entries (Back
// returns); a hand edit of the hash or a new link re-routes too.
import { compareHash, defaultSpec, readCompare, specParam } from '../compare/spec.js';
import { presetBase, presetSpec } from '../state/presets.js';
import { fromHash, toHash, unknownNotice } from '../state/state.js';
import { parsePace, setPace } from '../run/pace.js';
import { showMode } from './menus.js';

export class Router {
  /** `upload`: files/upload.js Upload, whose note says when an upload unticks conv. */
  constructor({ panel, explore, compare, upload }) {
    Object.assign(this, { panel, explore, compare, upload });
    this.mode = 'explore';
    this.hidden = []; // controls the link hides (`&hide=`), in both modes
    this.lastSpec = null; // what compare mode last compared, offered again on the way back
    window.addEventListener('hashchange', () => {
      // replaceState (after each READY) fires no hashchange: this is a hand edit or a new link.
      this.explore.notice = null;
      this.route();
    });
    // Only the mode on screen redraws: the other's charts are hidden, and redrawn when it returns.
    window.addEventListener('resize', () => this.active.resize());
  }

  /** The mode on screen. */
  get active() {
    return this.mode === 'compare' ? this.compare : this.explore;
  }

  /** The page's first run, from the link it was opened with. */
  start() {
    if (readCompare(location.hash)) this.route();
    else {
      this.explore.boot(this.applyHash());
      this.onRoute?.();
    }
    this.explore.resize();
  }

  /** Reads the hash; fields the link got wrong show the value used instead, and why. */
  applyHash() {
    const { panel } = this;
    const { config, hidden, locked, errors, unknown } = fromHash(location.hash);
    // The pace is the page's, not a run's: a link without one trains at full speed.
    const asked = new URLSearchParams(location.hash.slice(1)).get('pace');
    const paced = asked === null ? { pace: 0 } : parsePace(asked);
    setPace(paced.pace ?? 0);
    this.explore.linkNote = [unknownNotice(unknown), paced.error].filter(Boolean).join(' ') || null;
    this.hidden = hidden;
    this.explore.refused = null;
    panel.hide(hidden);
    panel.lock(locked);
    panel.clearErrors();
    for (const [key, err] of Object.entries(errors)) panel.setError(key, err, 'notice');
    panel.show(config);
    return config;
  }

  /**
   * Reads the hash and runs it in its mode. `autoplay`: a preset was chosen, which is a request
   * to watch it train; a link or the mode switch only builds (press Train, as in explore).
   */
  route({ autoplay = false } = {}) {
    const { explore } = this;
    const config = this.applyHash();
    const wanted = readCompare(location.hash);
    if (wanted) {
      const spec = wanted.spec ?? defaultSpec();
      const ignored = wanted.error ? `the link's comparison was ignored (${wanted.error}); comparing ${specParam(spec)}` : '';
      const note = [ignored, explore.linkNote].filter(Boolean).join(' ');
      explore.linkNote = null;
      if (this.mode === 'explore') explore.stop();
      this.setMode('compare');
      this.compare.open(config, spec, wanted.preset, { autoplay, note });
    } else if (this.mode === 'compare') {
      this.compare.close();
      this.setMode('explore');
      explore.reopen(config, { autoplay });
    } else explore.open(config, { autoplay });
    this.onRoute?.(); // lessons/guide.js: the lesson the link names, if any
  }

  setMode(next) {
    this.mode = next;
    showMode(next);
    if (next === 'explore') this.explore.resize(); // at the window's current size (see 'resize')
  }

  /** Moves to `hash` as a new history entry (Back returns) and runs it. */
  go(hash, options) {
    history.pushState(null, '', hash);
    this.explore.notice = null;
    this.route(options);
  }

  /** The mode switch: the settings go along, and compare mode gets its last comparison back. */
  onMode(next) {
    if (next === this.mode) return;
    const { explore, compare } = this;
    if (next === 'compare') return this.go(compareHash(explore.requested ?? explore.config, this.hidden, this.lastSpec ?? defaultSpec()));
    this.lastSpec = compare.spec;
    this.go(toHash(compare.base, this.hidden));
  }

  /** A preset: a comparison in compare mode, a single run in explore mode; either trains at once. */
  onPreset(p) {
    if (p.compare) return this.go(compareHash(presetBase(p), this.hidden, presetSpec(p), p.id), { autoplay: true });
    this.explore.showWatch(p);
    this.go(toHash(presetBase(p), this.hidden), { autoplay: true });
  }

  /**
   * An upload parsed: the run (or every compared run) restarts on it, settings otherwise kept,
   * except a conv net on plain feature vectors, which the core refuses: conv is unticked.
   */
  /** A dropped network file (a NIR graph): explore mode runs it; compare mode says where to. */
  onModel(file) {
    if (this.active !== this.explore) return this.upload.error(`${file.name}: a trained network runs in Explore mode (one network); switch to Explore and drop it again`);
    this.explore.importModel(file);
  }

  onUpload({ preview }) {
    const mode = this.active;
    const change = { dataset: 'custom' };
    if (mode.base.conv && preview.image.length !== 2) {
      change.conv = false;
      this.upload.note(`Convolutional unticked: ${preview.files.join(' + ')} has plain feature vectors`);
    }
    mode.setBase(change);
  }
}
