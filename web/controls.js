// Renders the control table (state.js) as form fields, grouped, and reports edits. It keeps
// no config of its own: the page owns the config and tells the panel what to show.
import { CONTROLS, camel } from './state.js';

export class ControlPanel {
  /** `onEdit(key, text)` fires on every committed edit (change, not each keystroke). */
  constructor(root, onEdit) {
    this.root = root;
    this.inputs = {};
    this.messages = {};
    this.rows = {};
    let group = null;
    let box = null;
    for (const c of CONTROLS) {
      if (c.group !== group) {
        group = c.group;
        box = document.createElement('fieldset');
        box.innerHTML = `<legend>${group}</legend>`;
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
    if (c.help) lab.title = c.help;
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
    input.addEventListener('change', () => onEdit(c.key, read()));
    input.addEventListener('keydown', (e) => e.key === 'Enter' && onEdit(c.key, read()));
    const msg = document.createElement('div');
    msg.className = 'message';
    msg.setAttribute('role', 'alert');
    msg.id = `msg-${camel(c.key)}`;
    row.append(lab, input, msg);
    this.inputs[c.key] = input;
    this.messages[c.key] = msg;
    this.rows[c.key] = row;
    return row;
  }

  /** Shows `config` in the fields (leaving fields with a pending error as typed). */
  show(config) {
    for (const c of CONTROLS) {
      if (this.messages[c.key].textContent) continue;
      const input = this.inputs[c.key];
      if (c.kind === 'bool') input.checked = !!config[c.key];
      else input.value = String(config[c.key]);
    }
  }

  setError(key, text) {
    if (!this.messages[key]) return;
    this.messages[key].textContent = text ?? '';
    this.rows[key].classList.toggle('invalid', !!text);
  }

  clearErrors() {
    for (const key of Object.keys(this.messages)) this.setError(key, '');
  }

  /** Classroom mode: hide the listed controls and any group left empty. */
  hide(keys) {
    for (const [key, row] of Object.entries(this.rows)) row.hidden = keys.includes(key);
    for (const fs of this.root.querySelectorAll('fieldset')) {
      fs.hidden = [...fs.querySelectorAll('.control')].every((r) => r.hidden);
    }
  }
}
