// The guided lessons on the page: the lesson card at the top of the settings panel (a chapter's
// text, its live experiment, its "what to see" checkpoints, Back and Next, a link per chapter),
// the Lessons menu in the header, and the offer a first visit sees. The lesson files are data
// (lesson.js says what they hold); this module loads them, turns a chapter into a link the
// router runs, and lights a checkpoint (and marks its chart) when the live runs meet it.
//
// The lesson lives in the link: `lesson=<id>&chapter=<n>` (1-based) next to the experiment's
// settings, so a chapter can be shared, Back returns to the previous chapter, and changing a
// setting keeps the lesson on screen (state.js keeps these keys when it rewrites the link).
import { compareHash, parseSpec } from '../compare/spec.js';
import { PRESET_BY_ID, presetBase, presetSpec } from '../state/presets.js';
import { BY_KEY, defaults, parseValue, toHash } from '../state/state.js';
import { CHARTS, holds, metricsOf, parseLesson, runsNamed } from './lesson.js';

const $ = (id) => document.getElementById(id);
const INDEX = 'web/lessons/index.json';
/** How often the checkpoints are looked at: fast enough to feel live, cheap on the main thread. */
const POLL_MS = 250;
const OFFER_KEY = 'spikeplay.lessonOffer';

/** The lesson keys of a hash: { lesson, chapter } (chapter 1-based, or null when not given). */
export function lessonKeys(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const lesson = p.get('lesson');
  const chapter = p.get('chapter');
  return { lesson, chapter, given: lesson !== null };
}

/** True when a hash sets any control (a chapter's link does; a bare `#lesson=paper` does not). */
const hasSettings = (hash) => [...new URLSearchParams(hash.replace(/^#/, '')).keys()].some((k) => Object.hasOwn(BY_KEY, k) || Object.hasOwn(BY_KEY, k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)));

/** Settings of a chapter's experiment that the page would refuse, as the first error found. */
export function checkExperiment(e, field) {
  if (e.preset) return PRESET_BY_ID[e.preset] ? null : `${field}.preset: '${e.preset}' is not a preset (one of ${Object.keys(PRESET_BY_ID).join(', ')})`;
  for (const [k, v] of Object.entries(e.settings)) {
    if (!Object.hasOwn(BY_KEY, k)) return `${field}.settings.${k}: is not a setting`;
    const r = parseValue(k, String(v));
    if (r.error) return `${field}.settings.${k}: ${JSON.stringify(v)} ${r.error}`;
  }
  if (e.compare) {
    const at = e.compare.indexOf(':');
    const parsed = at < 0 ? { error: 'must be field:value,value' } : parseSpec(e.compare.slice(0, at), e.compare.slice(at + 1));
    if (parsed.error) return `${field}.compare: ${parsed.error}`;
  }
  return null;
}

/**
 * The link of chapter `n` (0-based) of `lesson`: its experiment's settings (on top of the page
 * defaults, never on top of what the user had, as presets do), its comparison if any, and the
 * lesson keys; `hidden` and `lock` (a teacher's link) go along.
 */
export function chapterHash(lesson, n, { hidden = [], lock = '', simd = null } = {}) {
  const e = lesson.chapters[n].experiment;
  const keep = new URLSearchParams();
  keep.set('lesson', lesson.id);
  keep.set('chapter', String(n + 1));
  if (lock) keep.set('lock', lock);
  if (simd !== null) keep.set('simd', simd);
  if (e.pace) keep.set('pace', String(e.pace));
  const current = `#${keep.toString().replace(/%2C/g, ',')}`;
  if (e.preset) {
    const p = PRESET_BY_ID[e.preset];
    if (p.compare) return compareHash(presetBase(p), hidden, presetSpec(p), p.id, current);
    return toHash(presetBase(p), hidden, current);
  }
  const base = { ...defaults(), ...e.settings };
  if (!e.compare) return toHash(base, hidden, current);
  const at = e.compare.indexOf(':');
  return compareHash(base, hidden, parseSpec(e.compare.slice(0, at), e.compare.slice(at + 1)).spec, null, current);
}

export class Guide {
  /** `router`: app/router.js (its `active` mode, `hidden`, `go`); `status(text, isError)`. */
  constructor({ router, status }) {
    Object.assign(this, { router, status });
    this.index = null; // [{ id, title, summary, file }]
    this.lessons = new Map(); // id -> parsed lesson
    this.lesson = null;
    this.chapter = 0;
    this.seen = []; // per checkpoint: the step it was first met at, or null
    this.runsKey = null; // which recordings the seen steps belong to (a new run clears them)
    this.timer = null;
    this.notice = null; // a link value the lesson replaced, said once in the lesson card
    this.root = $('lesson');
    $('lesson-back').addEventListener('click', () => this.goto(this.chapter - 1));
    $('lesson-next').addEventListener('click', () => this.goto(this.chapter + 1));
    $('lesson-again').addEventListener('click', () => this.goto(this.chapter));
    $('lesson-close').addEventListener('click', () => this.leave());
    $('lesson-offer-start').addEventListener('click', () => this.start(this.index?.[0]?.id));
    $('lesson-offer-close').addEventListener('click', () => this.dismissOffer());
    // The menu lists the lessons whichever way the page was opened (not only on a first visit).
    this.loadIndex().catch((e) => {
      const note = document.createElement('p');
      note.className = 'menu-note lesson-error';
      note.textContent = `The lessons could not be listed: ${e.message}`;
      $('lesson-list').prepend(note);
    });
  }

  /** The list of lessons (web/lessons/index.json), loaded once. */
  loadIndex() {
    // One fetch however many callers ask at once (the menu at start, the offer, a lesson link).
    this.indexLoad ??= this.fetchIndex().catch((e) => {
      this.indexLoad = null; // a failed load may be tried again
      throw e;
    });
    return this.indexLoad;
  }

  async fetchIndex() {
    const res = await fetch(INDEX);
    if (!res.ok) throw new Error(`${INDEX}: HTTP ${res.status}`);
    const list = await res.json();
    if (!Array.isArray(list)) throw new Error(`${INDEX}: must be a list of { id, title, file }`);
    this.index = list.filter((l) => l && typeof l.id === 'string' && typeof l.file === 'string' && /^[a-z0-9-]+\.json$/.test(l.file));
    this.fillMenu();
    return this.index;
  }

  /** A lesson by id: fetched, parsed and its experiments checked; throws an Error naming the field. */
  async load(id) {
    if (this.lessons.has(id)) return this.lessons.get(id);
    const index = await this.loadIndex();
    const entry = index.find((l) => l.id === id);
    if (!entry) throw new Error(`lesson: '${String(id).slice(0, 40)}' is not a lesson (one of ${index.map((l) => l.id).join(', ')})`);
    const res = await fetch(`web/lessons/${entry.file}`);
    if (!res.ok) throw new Error(`web/lessons/${entry.file}: HTTP ${res.status}`);
    let json;
    try {
      json = await res.json();
    } catch (e) {
      throw new Error(`web/lessons/${entry.file}: not valid JSON (${e.message})`);
    }
    const { lesson, error } = parseLesson(json);
    if (error) throw new Error(`web/lessons/${entry.file}: ${error}`);
    for (const [i, c] of lesson.chapters.entries()) {
      const bad = checkExperiment(c.experiment, `chapters[${i}].experiment`);
      if (bad) throw new Error(`web/lessons/${entry.file}: ${bad}`);
    }
    this.lessons.set(id, lesson);
    return lesson;
  }

  /** The Lessons menu: each lesson and its chapters, as links (they work in a new tab too). */
  fillMenu() {
    const list = $('lesson-list');
    list.querySelectorAll('button[data-lesson]').forEach((b) => b.remove());
    const before = $('class-link-open');
    for (const l of this.index) {
      const b = document.createElement('button');
      b.dataset.lesson = l.id;
      b.innerHTML = '<b></b><small></small>';
      b.querySelector('b').textContent = l.title;
      b.querySelector('small').textContent = l.summary ?? '';
      b.addEventListener('click', () => {
        $('lessons-menu').open = false;
        this.start(l.id);
      });
      list.insertBefore(b, before);
    }
  }

  /** Called after every route: shows the lesson the link names, or none. */
  async sync() {
    const asked = location.hash; // as the link was: the first run's READY may rewrite it meanwhile
    const { lesson: id, chapter, given } = lessonKeys(asked);
    if (!given) return this.hide();
    this.hideOffer();
    try {
      const lesson = await this.load(id);
      let n = Number(chapter ?? 1);
      if (!Number.isInteger(n) || n < 1 || n > lesson.chapters.length) {
        this.notice = `link value chapter '${String(chapter).slice(0, 12)}' ignored (must be 1 to ${lesson.chapters.length}); showing chapter 1`;
        this.status(this.notice, true);
        n = 1;
      }
      if (!hasSettings(asked)) {
        // A bare `#lesson=paper&chapter=3` (typed, or from the menu of another page): the
        // chapter's experiment, loaded paused as any link is.
        const p = new URLSearchParams(asked.replace(/^#/, ''));
        history.replaceState(null, '', chapterHash(lesson, n - 1, { hidden: this.router.hidden, lock: p.get('lock') ?? '', simd: p.get('simd') }));
        return this.router.route();
      }
      this.show(lesson, n - 1);
    } catch (e) {
      this.showError(e.message);
    }
  }

  /** Starts lesson `id` at its first chapter. */
  async start(id) {
    this.dismissOffer();
    try {
      const lesson = await this.load(id);
      this.lesson = lesson;
      this.goto(0);
    } catch (e) {
      this.showError(e.message);
    }
  }

  /** Runs chapter `n` (0-based): a new history entry, so Back returns to the one before. */
  goto(n) {
    const { lesson } = this;
    if (!lesson || n < 0 || n >= lesson.chapters.length) return;
    const p = new URLSearchParams(location.hash.replace(/^#/, ''));
    this.router.go(chapterHash(lesson, n, { hidden: this.router.hidden, lock: p.get('lock') ?? '', simd: p.get('simd') }), { autoplay: true });
  }

  /** Leaves the lesson, keeping the run on screen and its settings. */
  leave() {
    const p = new URLSearchParams(location.hash.replace(/^#/, ''));
    for (const k of ['lesson', 'chapter']) p.delete(k);
    history.pushState(null, '', `#${p.toString().replace(/%2C/g, ',').replace(/%3A/g, ':')}`);
    this.hide();
  }

  show(lesson, n) {
    const changed = this.lesson !== lesson || this.chapter !== n || this.root.hidden;
    this.lesson = lesson;
    this.chapter = n;
    const c = lesson.chapters[n];
    document.body.dataset.lesson = lesson.id;
    document.body.dataset.chapter = String(n + 1);
    this.root.hidden = false;
    $('lesson-error').hidden = !this.notice;
    $('lesson-error').textContent = this.notice ?? '';
    this.notice = null;
    $('lesson-title').textContent = lesson.title;
    $('lesson-progress').textContent = `chapter ${n + 1} of ${lesson.chapters.length}`;
    $('lesson-chapter').textContent = c.title;
    const body = $('lesson-text');
    body.replaceChildren(...c.text.map((t) => Object.assign(document.createElement('p'), { textContent: t })));
    $('lesson-formula').hidden = !c.formula;
    $('lesson-formula').textContent = c.formula ?? '';
    $('lesson-back').disabled = n === 0;
    $('lesson-next').disabled = n === lesson.chapters.length - 1;
    $('lesson-next').textContent = n === lesson.chapters.length - 1 ? 'The end' : 'Next chapter →';
    $('lesson-link').href = chapterHash(lesson, n, { hidden: this.router.hidden, lock: new URLSearchParams(location.hash.slice(1)).get('lock') ?? '' });
    if (changed) {
      this.seen = c.checkpoints.map(() => null);
      this.runsKey = null;
      this.renderChecks(c);
    }
    if (!this.timer) this.timer = setInterval(() => this.check(), POLL_MS);
    this.check();
  }

  renderChecks(c) {
    const list = $('lesson-checks');
    list.replaceChildren(...c.checkpoints.map((k, i) => {
      const li = document.createElement('li');
      li.dataset.index = String(i);
      li.dataset.met = 'false';
      li.innerHTML = '<span class="tick" aria-hidden="true"></span><span class="see"></span> <small class="when"></small>';
      li.querySelector('.see').textContent = k.see;
      return li;
    }));
    $('lesson-checks-head').hidden = !c.checkpoints.length;
    this.clearMarks();
  }

  /** The runs on screen, as { label: metrics } ({ '': metrics } in explore), and their identity. */
  runs() {
    const mode = this.router.active;
    const scrub = Number(document.body.dataset.scrubStep);
    const at = Number.isFinite(scrub) && document.body.dataset.scrubStep !== undefined ? scrub : Infinity;
    if (this.router.mode === 'compare') {
      const live = (mode.runs ?? []).filter((r) => r.recording);
      return { key: live.map((r) => r.recording), runs: Object.fromEntries(live.map((r) => [r.label, metricsOf(r.recording, at)])) };
    }
    return { key: mode.recording ? [mode.recording] : [], runs: mode.recording ? { '': metricsOf(mode.recording, at) } : {} };
  }

  /** Lights the checkpoints the live runs meet (once met, a checkpoint stays lit for this run). */
  check() {
    if (!this.lesson || this.root.hidden) return;
    const c = this.lesson.chapters[this.chapter];
    const { key, runs } = this.runs();
    const same = this.runsKey && key.length === this.runsKey.length && key.every((r, i) => r === this.runsKey[i]);
    if (!same) {
      this.runsKey = key;
      this.seen = c.checkpoints.map(() => null);
      this.clearMarks();
    }
    const missing = new Set();
    c.checkpoints.forEach((k, i) => {
      for (const r of runsNamed(k.when)) if (this.router.mode === 'compare' && !(r in runs)) missing.add(r);
      if (this.seen[i] === null && holds(k.when, runs)) {
        const steps = Object.values(runs).map((m) => m.step);
        this.seen[i] = steps.length ? Math.max(...steps) : 0;
        this.mark(k, i);
      }
      const li = $('lesson-checks').children[i];
      if (!li) return;
      li.dataset.met = String(this.seen[i] !== null);
      li.querySelector('.when').textContent = this.seen[i] !== null ? `seen at step ${this.seen[i]}` : '';
    });
    const met = this.seen.filter((s) => s !== null).length;
    document.body.dataset.lessonMet = String(met);
    $('lesson-waiting').textContent = missing.size
      ? `This chapter's checkpoints watch the runs ${[...missing].join(', ')}, which are not on screen: press "Run this experiment again".`
      : met === c.checkpoints.length && met > 0 ? 'All seen. On to the next chapter when you are ready.' : '';
  }

  /** Marks the chart a met checkpoint points at: an outline and a numbered note on its card. */
  mark(k, i) {
    if (!k.chart) return;
    const id = CHARTS[k.chart][this.router.mode];
    const card = id && $(id)?.closest('.card');
    if (!card) return;
    card.classList.add('lesson-mark');
    let notes = card.querySelector('.lesson-notes');
    if (!notes) {
      notes = document.createElement('div');
      notes.className = 'lesson-notes';
      card.append(notes);
    }
    const note = document.createElement('div');
    note.className = 'lesson-note';
    note.dataset.index = String(i);
    note.textContent = `✓ ${i + 1} · ${k.see}`;
    note.title = k.see;
    notes.append(note);
  }

  clearMarks() {
    document.querySelectorAll('.lesson-notes').forEach((n) => n.remove());
    document.querySelectorAll('.lesson-mark').forEach((c) => c.classList.remove('lesson-mark'));
  }

  hide() {
    this.root.hidden = true;
    clearInterval(this.timer);
    this.timer = null;
    this.clearMarks();
    delete document.body.dataset.lesson;
    delete document.body.dataset.chapter;
    delete document.body.dataset.lessonMet;
  }

  showError(text) {
    this.root.hidden = false;
    $('lesson-title').textContent = 'Lesson';
    $('lesson-chapter').textContent = 'This lesson could not be opened';
    $('lesson-text').replaceChildren();
    $('lesson-checks').replaceChildren();
    $('lesson-error').hidden = false;
    $('lesson-error').textContent = text;
    this.status(text, true);
  }

  /** The first screen of a first visit (no link): the lessons are offered before any setting. */
  async offer() {
    let dismissed = false;
    try {
      dismissed = localStorage.getItem(OFFER_KEY) === 'dismissed';
    } catch {
      // storage blocked (private mode, a sandboxed frame): offer every time
    }
    try {
      const index = await this.loadIndex();
      if (dismissed || lessonKeys(location.hash).given || !index.length) return;
      $('lesson-offer-title').textContent = index[0].title;
      $('lesson-offer-summary').textContent = index[0].summary ?? '';
      $('lesson-offer').hidden = false;
    } catch (e) {
      this.status(`the lessons could not be listed: ${e.message}`, true);
    }
  }

  hideOffer() {
    $('lesson-offer').hidden = true;
  }

  dismissOffer() {
    this.hideOffer();
    try {
      localStorage.setItem(OFFER_KEY, 'dismissed');
    } catch {
      // storage blocked: it is offered again next visit
    }
  }
}
