// "Copy link for class": a teacher picks a lesson and chapter (or keeps the current settings)
// and which settings the students should not see (`hide`) or not change (`lock`), and gets the
// link, without typing `&hide=`. The link is the whole setup: nothing is stored anywhere.
import { CONTROLS, camel } from '../state/state.js';
import { chapterHash } from './guide.js';

const $ = (id) => document.getElementById(id);
/** The groups a class usually keeps in view; the others are expert settings. */
const BASIC_GROUPS = ['data', 'network'];

/**
 * The class link: `hash` (a chapter's, or the current page's) with `hide` and `lock` replaced.
 * `origin` is the page's address without its hash.
 */
export function classLink(origin, hash, hide, lock) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  p.delete('hide');
  p.delete('lock');
  const tail = [];
  if (hide.length) tail.push(`hide=${hide.map(camel).join(',')}`);
  if (lock.length) tail.push(`lock=${lock.map(camel).join(',')}`);
  const body = p.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
  return `${origin}#${[body, ...tail].filter(Boolean).join('&')}`;
}

export class ClassLink {
  /** `guide`: lessons/guide.js Guide (its index and lessons); `router` for the current hidden controls. */
  constructor({ guide, router }) {
    Object.assign(this, { guide, router });
    this.dialog = $('class-dialog');
    this.boxes = {}; // key -> { hide, lock } checkboxes
    const body = $('class-table').tBodies[0];
    for (const c of CONTROLS) {
      const tr = document.createElement('tr');
      tr.dataset.key = c.key;
      tr.dataset.group = String(c.group).toLowerCase();
      const name = document.createElement('th');
      name.scope = 'row';
      name.textContent = c.label;
      tr.append(name);
      const boxes = {};
      for (const kind of ['hide', 'lock']) {
        const td = document.createElement('td');
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.id = `class-${kind}-${camel(c.key)}`;
        box.setAttribute('aria-label', `${kind === 'hide' ? 'Hide' : 'Lock'} ${c.label}`);
        box.addEventListener('change', () => this.update());
        td.append(box);
        tr.append(td);
        boxes[kind] = box;
      }
      this.boxes[c.key] = boxes;
      body.append(tr);
    }
    $('class-link-open').addEventListener('click', () => {
      $('lessons-menu').open = false;
      this.open();
    });
    $('class-lesson').addEventListener('change', () => this.fillChapters().then(() => this.update()));
    $('class-chapter').addEventListener('change', () => this.update());
    $('class-hide-expert').addEventListener('click', () => this.set((c) => ({ hide: !BASIC_GROUPS.includes(String(c.group).toLowerCase()) })));
    $('class-lock-all').addEventListener('click', () => this.set(() => ({ lock: true })));
    $('class-clear').addEventListener('click', () => this.set(() => ({ hide: false, lock: false })));
    $('class-copy').addEventListener('click', () => this.copy());
  }

  /** Opens the dialog on the lesson and chapter on screen (or the current settings). */
  async open() {
    const index = await this.guide.loadIndex().catch(() => []);
    const sel = $('class-lesson');
    sel.replaceChildren(new Option('No lesson: the settings on screen now', ''), ...index.map((l) => new Option(l.title, l.id)));
    sel.value = document.body.dataset.lesson ?? '';
    const p = new URLSearchParams(location.hash.replace(/^#/, ''));
    const lock = new Set((p.get('lock') ?? '').split(',').filter(Boolean));
    const hidden = new Set(this.router.hidden);
    for (const c of CONTROLS) {
      this.boxes[c.key].hide.checked = hidden.has(c.key);
      this.boxes[c.key].lock.checked = lock.has(camel(c.key)) || lock.has(c.key);
    }
    await this.fillChapters(Number(document.body.dataset.chapter ?? 1) - 1);
    this.update();
    this.dialog.showModal();
  }

  async fillChapters(at = 0) {
    const id = $('class-lesson').value;
    const sel = $('class-chapter');
    if (!id) {
      sel.replaceChildren(new Option('–', ''));
      sel.disabled = true;
      return;
    }
    const lesson = await this.guide.load(id);
    sel.replaceChildren(...lesson.chapters.map((c, i) => new Option(`${i + 1}. ${c.title}`, String(i))));
    sel.disabled = false;
    sel.value = String(Math.min(Math.max(at, 0), lesson.chapters.length - 1));
  }

  set(fn) {
    for (const c of CONTROLS) {
      const v = fn(c);
      if ('hide' in v) this.boxes[c.key].hide.checked = v.hide;
      if ('lock' in v) this.boxes[c.key].lock.checked = v.lock;
    }
    this.update();
  }

  update() {
    const hide = CONTROLS.filter((c) => this.boxes[c.key].hide.checked).map((c) => c.key);
    const lock = CONTROLS.filter((c) => this.boxes[c.key].lock.checked && !this.boxes[c.key].hide.checked).map((c) => c.key);
    const id = $('class-lesson').value;
    const lesson = id ? this.guide.lessons.get(id) : null;
    const hash = lesson ? chapterHash(lesson, Number($('class-chapter').value)) : location.hash;
    $('class-url').value = classLink(location.href.split('#')[0], hash, hide, lock);
  }

  async copy() {
    const button = $('class-copy');
    try {
      await navigator.clipboard.writeText($('class-url').value);
      button.textContent = 'Copied ✓';
    } catch {
      // No clipboard (an insecure origin, a denied permission): select it for Ctrl+C instead.
      $('class-url').select();
      button.textContent = 'Selected: press Ctrl+C';
    }
    setTimeout(() => (button.textContent = 'Copy link'), 2000);
  }
}
