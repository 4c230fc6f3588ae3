// Renders the control table (state.js) as form fields, grouped, and reports edits. It keeps
// no config of its own: the page owns the config and tells the panel what to show.
import { CONTROLS, camel, isUnused } from './state.js';

/** What a locked control says under it. */
export const LOCKED_NOTE = 'fixed by this link (a lesson or a class link)';

export class ControlPanel {
  /** `onEdit(key, text)` fires on every committed edit (change, not each keystroke). */
  constructor(root, onEdit) {
    this.root = root;
    this.inputs = {};
    this.messages = {};
    this.notes = {};
    this.rows = {};
    this.locked = new Set(); // controls a teacher's link fixes (`&lock=`)
    let group = null;
    let box = null;
    for (const c of CONTROLS) {
      if (c.group !== group) {
        group = c.group;
        box = document.createElement('fieldset');
        box.append(groupToggle(group, box));
        root.append(box);
      }
      box.append(this.row(c, onEdit));
    }
  }

  row(c, onEdit) {
    const row = document.createElement('div');
    row.className = 'control';
    row.dataset.key = c.key;
    const id = `ctl-${camel(c.key)}`;
    const lab = document.createElement('label');
    lab.htmlFor = id;
    lab.textContent = c.label;
    let input;
    if (c.kind === 'enum') {
      input = document.createElement('select');
      for (const o of c.options) input.add(new Option(o.replace(/_/g, ' '), o));
    } else {
      input = document.createElement('input');
      if (c.kind === 'bool') input.type = 'checkbox';
      else {
        input.type = 'text';
        input.inputMode = 'decimal';
        input.autocomplete = 'off';
        input.spellcheck = false;
      }
    }
    input.id = id;
    input.name = c.key;
    const read = () => (c.kind === 'bool' ? String(input.checked) : input.value);
    // Enter commits a text field, and Chrome then fires `change` for the same edit: report
    // each committed text once (typing resets the memo, so re-entering a value still counts).
    let committed = null;
    const commit = () => {
      const text = read();
      if (text === committed) return;
      committed = text;
      onEdit(c.key, text);
    };
    input.addEventListener('input', () => (committed = null));
    input.addEventListener('change', commit);
    if (input.type === 'text') input.addEventListener('keydown', (e) => e.key === 'Enter' && commit());
    const msg = document.createElement('div');
    msg.className = 'message';
    msg.setAttribute('role', 'alert');
    msg.id = `msg-${camel(c.key)}`;
    const note = document.createElement('div');
    note.className = 'note';
    note.id = `note-${camel(c.key)}`;
    input.setAttribute('aria-describedby', `${msg.id} ${note.id}`);
    // Help as a disclosure, not a hover title: touch and keyboard users reach it too.
    const name = document.createElement('span');
    name.className = 'name';
    name.append(lab);
    const parts = [name, input, msg, note];
    if (c.help) {
      const help = document.createElement('p');
      help.className = 'help';
      help.id = `help-${camel(c.key)}`;
      help.textContent = c.help;
      help.hidden = true;
      const q = document.createElement('button');
      q.type = 'button';
      q.className = 'help-toggle';
      q.textContent = '?';
      q.setAttribute('aria-label', `Help: ${c.label}`);
      q.setAttribute('aria-expanded', 'false');
      q.setAttribute('aria-controls', help.id);
      q.addEventListener('click', () => {
        help.hidden = !help.hidden;
        q.setAttribute('aria-expanded', String(!help.hidden));
      });
      name.append(q);
      parts.push(help);
    }
    row.append(...parts);
    this.inputs[c.key] = input;
    this.messages[c.key] = msg;
    this.notes[c.key] = note;
    this.rows[c.key] = row;
    return row;
  }

  /**
   * Shows `config` in every field but those in `keep` (a refused edit stays as typed, next
   * to its message, so it can be fixed), and disables the fields `config` does not use and
   * those in `fixed` ({ key: note }: set elsewhere, such as the field a comparison varies).
   */
  show(config, keep = [], fixed = {}) {
    for (const c of CONTROLS) {
      const input = this.inputs[c.key];
      const unused = isUnused(c.key, config);
      // An unused field's value is not the one in use: show the data's own figure when known.
      const actual = unused && this.actual?.dataset === config.dataset ? this.actual[c.key] : undefined;
      if (!keep.includes(c.key)) {
        if (c.kind === 'bool') input.checked = !!config[c.key];
        else input.value = String(actual ?? config[c.key]);
      }
      const note = fixed[c.key] ?? (this.locked.has(c.key) ? LOCKED_NOTE : unused ? c.unusedNote : '');
      input.disabled = !!note;
      this.rows[c.key].classList.toggle('unused', !!note);
      this.rows[c.key].classList.toggle('locked', this.locked.has(c.key));
      this.notes[c.key].textContent = note;
    }
  }

  /**
   * What the running data set really has for fields it sets itself (the sample count of a
   * file or an image set), shown in place of the unused setting's value while `dataset` is on.
   */
  setActual(dataset, values) {
    this.actual = { ...values, dataset };
    // Shown at once where the field is greyed out (a comparison's layout arrives after show()).
    for (const [key, v] of Object.entries(values)) {
      if (this.rows[key]?.classList.contains('unused') && !this.locked.has(key)) this.inputs[key].value = String(v);
    }
  }

  /** `kind` 'error': the value was refused; 'notice': a link value was replaced (the one in use is fine). */
  setError(key, text, kind = 'error') {
    if (!this.messages[key]) return;
    this.messages[key].textContent = text ?? '';
    this.rows[key].classList.toggle('invalid', !!text && kind === 'error');
    this.rows[key].classList.toggle('noticed', !!text && kind === 'notice');
  }

  /**
   * A standing remark under control `key` that no edit clears, such as the norm's
   * "deployable as NIR" mark: `{ ok, text }`, or null to remove it.
   */
  setMark(key, mark) {
    const row = this.rows[key];
    if (!row) return;
    let el = row.querySelector('.mark');
    if (!mark) return el?.remove();
    if (!el) {
      el = document.createElement('div');
      el.className = 'mark';
      el.id = `mark-${camel(key)}`;
      row.querySelector('.note').after(el);
      const input = this.inputs[key];
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby')} ${el.id}`);
    }
    el.textContent = mark.text;
    el.classList.toggle('refused', !mark.ok);
  }

  clearErrors() {
    for (const key of Object.keys(this.messages)) this.setError(key, '');
  }

  /** Classroom mode: the listed controls are shown but fixed (the next `show` disables them). */
  lock(keys) {
    this.locked = new Set(keys);
  }

  /** Classroom mode: hide the listed controls and any group left empty. */
  hide(keys) {
    for (const [key, row] of Object.entries(this.rows)) row.hidden = keys.includes(key);
    for (const fs of this.root.querySelectorAll('fieldset')) {
      fs.hidden = [...fs.querySelectorAll('.control')].every((r) => r.hidden);
    }
  }
}

/** A group's legend as a button that folds the group, so the charts are reached sooner. */
function groupToggle(group, box) {
  const legend = document.createElement('legend');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'group-toggle';
  b.textContent = group;
  b.setAttribute('aria-expanded', 'true');
  b.addEventListener('click', () => {
    const open = b.getAttribute('aria-expanded') !== 'true';
    b.setAttribute('aria-expanded', String(open));
    box.classList.toggle('folded', !open);
  });
  legend.append(b);
  return legend;
}
