// What a comparison is: one field of the control table and 2 to 8 values for it; every other
// field comes from the base settings. This module turns that into runs (one config each) and
// round-trips it through the URL hash, next to the base settings:
//   #dataset=digits&...&seed=0&compare=norm:none,bn,psp&preset=deep-plain
// It imports only state.js and the run styles (charts/palette.js), so node tests can check it without a browser.
import { BY_KEY, CONTROLS, crossCheck, parseValue, toHash } from '../state/state.js';
import { NORM_STYLES, RUN_STYLES } from '../charts/palette.js';

export const MIN_RUNS = 2;
export const MAX_RUNS = 8;
/** The longest value a comparison takes: no field's real value is longer than ~25 characters. */
export const MAX_VALUE_LENGTH = 64;

/** `text` cut to its first few characters, for messages that quote what a link said. */
const quote = (text, n = 24) => (text.length > n ? `${text.slice(0, n)}…` : text);

/**
 * Parses "norm:none,bn,psp" (or a field and a list typed apart) into { field, values } where
 * `values` keeps the texts as given. A value the field refuses does not fail the spec: it
 * becomes a run that shows its error, so the other runs still go. Returns { error } when the
 * spec itself is unusable (unknown field, too few or too many values, repeats).
 */
export function parseSpec(field, list) {
  const key = String(field ?? '').trim();
  if (!(key in BY_KEY)) return { error: `unknown field '${quote(key)}'` };
  const values = String(list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  // A huge value would be echoed in messages and drawn in labels: refuse it before anything.
  const long = values.find((text) => text.length > MAX_VALUE_LENGTH);
  if (long) {
    return { error: `${key} value '${quote(long, 4)}' is too long (${long.length} characters; at most ${MAX_VALUE_LENGTH})` };
  }
  if (values.length < MIN_RUNS) return { error: `give at least ${MIN_RUNS} values, separated by commas` };
  if (values.length > MAX_RUNS) return { error: `at most ${MAX_RUNS} values (${values.length} given)` };
  const seen = new Map();
  for (const text of values) {
    const parsed = parseValue(key, text);
    // A value of the wrong kind is a typing mistake: refuse it here. One of the right kind
    // but out of bounds becomes a run that shows why it cannot train.
    if (parsed.wrong === 'type') {
      return { error: `'${text}' ${parsed.error}` };
    }
    const id = 'value' in parsed ? String(parsed.value) : text;
    if (seen.has(id)) return { error: `'${text}' repeats '${seen.get(id)}'` };
    seen.set(id, text);
  }
  return { spec: { field: key, values } };
}

/** The `compare` hash entry, readable: "norm:none,bn,psp". */
export const specParam = (spec) => `${spec.field}:${spec.values.join(',')}`;

/** The short name of a run, shown next to its colour everywhere. */
export function runLabel(field, value) {
  const c = BY_KEY[field];
  if (c.kind === 'enum') return String(value).replace(/_/g, ' ');
  const name = field.replace(/_/g, ' ');
  if (c.kind === 'bool') return `${name} ${value === true || value === 'true' ? 'on' : 'off'}`;
  return `${name} ${value}`;
}

/**
 * The runs of `spec` over `base`: { index, label, color, dash, value, config } or, for a value the
 * page refuses (the field's own bounds, or a rule across fields), { ..., error } and no config.
 */
export function runsOf(base, spec) {
  return spec.values.map((text, index) => {
    // Each run's colour and dash (charts/palette.js); comparing norms, each norm keeps its own.
    const { color, dash } = (spec.field === 'norm' && NORM_STYLES[text]) || RUN_STYLES[index];
    const run = { index, label: runLabel(spec.field, text), color, dash, value: text };
    const parsed = parseValue(spec.field, text);
    if (parsed.error) return { ...run, error: `${spec.field} '${text}' ${parsed.error}` };
    const config = { ...base, [spec.field]: parsed.value };
    const cross = crossCheck(config);
    if (cross) return { ...run, value: parsed.value, error: `with ${spec.field} ${text}: ${cross.error}` };
    return { ...run, value: parsed.value, config };
  });
}

/** The default comparison: the first three normalizations the control offers. */
export function defaultSpec() {
  return { field: 'norm', values: BY_KEY.norm.options.slice(0, 3) };
}

/**
 * Reads `compare` and `preset` from a hash: null when the hash has no comparison (explore
 * mode), else { spec } or { error } (a link with a broken comparison), and `preset`.
 */
export function readCompare(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const text = p.get('compare');
  if (text === null) return null;
  const preset = p.get('preset') || null;
  const at = text.indexOf(':');
  const parsed = at < 0 ? { error: `'${quote(text)}' is not field:value,value` } : parseSpec(text.slice(0, at), text.slice(at + 1));
  return { ...parsed, preset };
}

/**
 * The whole link of a comparison: the base settings, then `compare` and `preset`; the page keys
 * kept from `current` (state.js KEPT_KEYS: a lesson, the wasm build) go along.
 */
export function compareHash(base, hidden, spec, preset = null, current = globalThis.location?.hash ?? '') {
  const esc = (s) => encodeURIComponent(s).replace(/%2C/g, ',').replace(/%3A/g, ':');
  return `${toHash(base, hidden, current)}&compare=${esc(specParam(spec))}${preset ? `&preset=${esc(preset)}` : ''}`;
}

/** The file-name stem of a comparison: its preset, else what it varies. */
export function compareStem(base, spec, preset) {
  const what = preset ?? `${base.dataset}-${spec.field}-${spec.values.join('-')}`;
  return `compare-${what}-seed${base.seed}`.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export const FIELDS = CONTROLS.map((c) => ({ key: c.key, label: c.label }));
