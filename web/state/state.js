// The control table, built from the config schema the wasm module sends at load
// (web/state/schema.js; crate/src/schema/fields.rs is the one place a field, a bound or a rule is
// written). It round-trips through the URL hash, seed included, so a link reproduces a run. The
// page's first-visit defaults differ from the Rust defaults where the schema gives a
// `page_default` (moons and lr 0.003, so a first visit shows learning within seconds).
//
// Hash format: #dataset=spiral&timesteps=8&...&hide=seed,lr  (camelCase keys; `hide` lists
// controls to hide for classroom use).
import { breaks, evaluate, getSchema } from './schema.js';

/**
 * One control per schema field, in the schema's order: `key` (the serde name), `label`, `group`
 * (orders the panel), `kind` ('enum' | 'int' | 'float' | 'bool'), `default` (the page's),
 * `options`, `min` / `max` with `exclusiveMin` / `exclusiveMax` where that end is open, `bound`
 * (the core's text of it), `step`, `unit`, `help`, and `unusedWhen(cfg)`, true when the core
 * ignores the field for that config (its control is then disabled, with `unusedNote`).
 */
export const CONTROLS = getSchema().fields.map((f) => Object.freeze({
  key: f.name,
  label: f.label,
  group: f.group,
  kind: f.kind,
  default: f.page_default ?? f.default,
  ...(f.kind === 'enum' ? { options: f.options } : {}),
  ...(f.min !== null && f.max !== null ? { min: f.min, max: f.max } : {}),
  ...(f.exclusive_min ? { exclusiveMin: f.min } : {}),
  ...(f.exclusive_max ? { exclusiveMax: f.max } : {}),
  bound: f.bound + f.bound_note,
  single: f.single, // an f32 field: checked as the core holds it, rounded to f32
  ...(f.step !== null ? { step: f.step } : {}),
  unit: f.unit,
  ...(f.help ? { help: f.help } : {}),
  ...(f.unused_when !== null ? { unusedWhen: (cfg) => evaluate(f.unused_when, cfg), unusedNote: f.unused_note } : {}),
}));

/** The fields whose page default deliberately differs from `ExperimentConfig::default()`. */
export const PAGE_DEFAULTS = getSchema().fields.filter((f) => f.page_default !== null).map((f) => f.name);

/** Lookup tables without a prototype: a link's `toString=` or `__proto__=` names no control. */
const table = (pairs) => Object.freeze(Object.assign(Object.create(null), Object.fromEntries(pairs)));

export const BY_KEY = table(CONTROLS.map((c) => [c.key, c]));

export const camel = (key) => key.replace(/_([a-z])/g, (_, ch) => ch.toUpperCase());
const FROM_CAMEL = table(CONTROLS.map((c) => [camel(c.key), c.key]));

export function defaults() {
  return Object.fromEntries(CONTROLS.map((c) => [c.key, c.default]));
}

/**
 * Parses one control's text; returns { value } or { error, wrong } with a readable message:
 * `wrong` is 'type' (not a number, a whole number, true or false, or one of the options) or
 * 'bound' (of the right type, outside the field's bound).
 */
export function parseValue(key, text) {
  const c = BY_KEY[key];
  const s = String(text).trim();
  if (c.kind === 'bool') {
    if (s === 'true' || s === '1') return { value: true };
    if (s === 'false' || s === '0') return { value: false };
    return { error: 'must be true or false', wrong: 'type' };
  }
  if (c.kind === 'enum') {
    return c.options.includes(s) ? { value: s } : { error: `must be one of ${c.options.join(', ')}`, wrong: 'type' };
  }
  // One way to match each text (`\d+\.?\d*` had two, and took seconds on a link of 30,000 digits).
  if (s === '' || !/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(s)) return { error: 'must be a number', wrong: 'type' };
  const v = Number(s) + 0; // -0 becomes 0, which a link writes and reads back the same
  // A whole number too long for a double (1e999, 400 nines) reads as Infinity: out of bounds.
  if (c.kind === 'int' && Number.isFinite(v) && !Number.isInteger(v)) return { error: 'must be a whole number', wrong: 'type' };
  // An f32 field is checked as the core holds it: 0.99999999 is 1 in f32, outside [0, 1).
  const at = c.single ? Math.fround : (x) => x;
  const below = c.exclusiveMin !== undefined ? at(v) <= at(c.exclusiveMin) : at(v) < at(c.min);
  const above = c.exclusiveMax !== undefined ? at(v) >= at(c.exclusiveMax) : at(v) > at(c.max);
  if (below || above) return { error: `must be in ${c.bound}`, wrong: 'bound' };
  return { value: v };
}

/**
 * The first rule spanning fields that `cfg` breaks, as the core checks them (the schema's
 * rules, evaluated by web/state/schema.js), or null: { key, keys, error }: `key` is the field the core
 * names, `keys` every field the rule reads (so the page can put the message on the one the user
 * just changed).
 */
export function crossCheck(cfg) {
  const broken = breaks(cfg);
  return broken && { key: broken.field, keys: [...broken.reads], error: broken.message };
}

/** True when `key` has no effect on a run of `cfg` (its control is then disabled). */
export const isUnused = (key, cfg) => !!BY_KEY[key].unusedWhen?.(cfg);

const short = (text) => (text.length > 24 ? `${text.slice(0, 24)}…` : text);
const linkMessage = (text, why, used) => `link value '${short(text)}' ignored (${why}); using ${used}`;

/**
 * Hash keys the page reads that are not settings: `hide` and `lock` (here), `compare` and `preset`
 * (compare/spec.js readCompare), `debug` (app/workers.js, worker/worker.js), `simd` (worker/wasm-build.js),
 * `lesson` and `chapter` (lessons/guide.js), `mode` (kept for old links).
 */
export const PAGE_KEYS = ['hide', 'lock', 'compare', 'preset', 'debug', 'simd', 'lesson', 'chapter', 'mode', 'present', 'pace'];
/**
 * Page keys a rewrite of the link keeps from the current address: read once (`simd`, at load)
 * or owned by another room (a lesson and its chapter, a teacher's locked controls), they must
 * survive the link being rewritten after every run is built.
 */
export const KEPT_KEYS = ['lesson', 'chapter', 'lock', 'simd', 'present', 'pace'];
/** The most unknown keys `fromHash` lists (a link of 10,000 keys is not worth more). */
export const MAX_UNKNOWN = 20;
/** How many unknown keys the notice names before "and N more". */
const NAMED_UNKNOWN = 5;

/**
 * The status line's notice for a link's keys that are not settings (a typo such as `depht`
 * would otherwise go unnoticed), or null when there are none.
 */
export function unknownNotice(unknown) {
  if (!unknown?.length) return null;
  const named = unknown.slice(0, NAMED_UNKNOWN).map((k) => `'${k}'`).join(', ');
  const rest = unknown.length - NAMED_UNKNOWN;
  const more = rest > 0 ? ` and ${rest}${unknown.length >= MAX_UNKNOWN ? '+' : ''} more` : '';
  const verb = unknown.length === 1 ? 'is not a setting and was' : 'are not settings and were';
  return `The link's ${named}${more} ${verb} ignored.`;
}

/**
 * Reads the hash into { config, hidden, locked, errors, unknown }: `locked`, the controls a
 * teacher's link fixes (`&lock=norm,depth`), shown but not editable. A bad entry falls back to its default; so
 * does an entry that breaks a cross-field rule (the field Rust names first, then the rule's
 * other fields from the link), one field at a time, so every other valid entry is kept.
 * `errors[key]` is a message for the control: what the link said and what is used instead.
 * `unknown`: the link's keys that are neither a control nor one of PAGE_KEYS, each shortened
 * to 24 characters, at most MAX_UNKNOWN of them.
 */
export function fromHash(hash) {
  const config = defaults();
  const errors = {};
  const given = {};
  let hidden = [];
  let locked = [];
  const unknown = new Set();
  const keys = (v) => [...new Set(v.split(',').map((s) => FROM_CAMEL[s.trim()] ?? s.trim()).filter((s) => s in BY_KEY))];
  for (const [k, v] of new URLSearchParams(hash.replace(/^#/, ''))) {
    if (k === 'hide' || k === 'lock') {
      if (k === 'hide') hidden = keys(v);
      else locked = keys(v);
      continue;
    }
    const key = FROM_CAMEL[k] ?? (k in BY_KEY ? k : null);
    if (!key) {
      if (!PAGE_KEYS.includes(k) && unknown.size < MAX_UNKNOWN) unknown.add(short(k));
      continue;
    }
    const r = parseValue(key, v);
    if ('value' in r) {
      config[key] = r.value;
      given[key] = v;
      delete errors[key];
    } else errors[key] = linkMessage(v, r.error, config[key]); // the default, or an earlier entry's value
  }
  for (let cross = crossCheck(config); cross; cross = crossCheck(config)) {
    // Every rule passes on the defaults, so some field of the rule came from the link.
    const key = [cross.key, ...cross.keys].find((k) => k in given && config[k] !== BY_KEY[k].default);
    if (!key) return { config: defaults(), hidden, locked, errors, unknown: [...unknown] };
    config[key] = BY_KEY[key].default;
    errors[key] = linkMessage(given[key], cross.error, config[key]);
    delete given[key];
  }
  return { config, hidden, locked, errors, unknown: [...unknown] };
}

/**
 * Writes the whole config (every field, so links survive default changes), `hide`, and the
 * KEPT_KEYS the `current` address has.
 */
export function toHash(config, hidden = [], current = globalThis.location?.hash ?? '') {
  const p = new URLSearchParams();
  for (const c of CONTROLS) p.set(camel(c.key), String(config[c.key]));
  if (hidden.length) p.set('hide', hidden.map(camel).join(','));
  // `simd` is read once at load, but kept in the address so that a reload or a copied link asks
  // for the same wasm module (web/worker/wasm-build.js); a lesson stays on while its settings change.
  const was = new URLSearchParams(current.replace(/^#/, ''));
  for (const k of KEPT_KEYS) if (was.get(k) !== null) p.set(k, was.get(k));
  return '#' + p.toString().replace(/%2C/g, ',');
}

/**
 * `hash` with one page key set to `value` (null: removed), every other key as it was: what the
 * page's own controls (Speed, Present) write into the address. Commas stay readable, as toHash's.
 */
export function withPageKey(hash, key, value) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  if (value === null) p.delete(key);
  else p.set(key, value);
  return '#' + p.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
}

/** f32 fields come back from the core widened to f64 (0.05 -> 0.0500000007); show what was typed. */
export function tidyConfig(config) {
  const out = { ...config };
  for (const [k, v] of Object.entries(out)) if (BY_KEY[k]?.kind === 'float') out[k] = Number(v.toPrecision(7));
  return out;
}

/**
 * How many refusals of the page's first run are each answered by resetting the one field the
 * core named (a conv link may be refused for its batch, then its probe batch, then its pools)
 * before the page gives up on the link and uses every default.
 */
export const MAX_FIELD_FALLBACKS = 4;

/**
 * What to try after the core refused `config` as the page's first run (a link, so there is
 * no run to fall back to). `error` is the core's refusal ({ field, reads }: the field it names
 * and every field its check reads): the named field back to its default, or, when that field is
 * already at its default (the core's activation bound names batch or probe_samples even when the
 * link's cost is in its pools or width), the first other field the check reads that the link
 * set; after MAX_FIELD_FALLBACKS such resets (`attempt` counts the refusals so far), or when no
 * such field is left or its default breaks a rule of its own, every default.
 * Returns { config, field }: `field` is null when the whole config was replaced.
 */
export function firstRunFallback(config, error, attempt) {
  const known = (k) => Object.hasOwn(BY_KEY, k ?? '');
  if (attempt < MAX_FIELD_FALLBACKS && known(error?.field)) {
    const candidates = [error.field, ...(error.reads ?? []).filter((k) => k !== error.field && known(k))];
    const at = candidates.find((k) => config[k] !== BY_KEY[k].default);
    const next = at && { ...config, [at]: BY_KEY[at].default };
    if (next && !crossCheck(next)) return { config: next, field: at };
  }
  return { config: defaults(), field: null };
}

const shortLabel = (label) => {
  const s = label.replace(/ \(.*\)$/, '');
  return /^[A-Z][a-z]/.test(s) ? s[0].toLowerCase() + s.slice(1) : s;
};

/**
 * The settings of `to` that differ from `from`, as a button names them ("depth 3, width 64"),
 * or a general name past three of them; null when none differ (fault.js's alert offers it).
 */
export function settingsChange(from, to) {
  const differ = CONTROLS.filter((c) => String(from[c.key]) !== String(to[c.key]));
  if (!differ.length) return null;
  if (differ.length > 3) return 'the last settings that trained';
  return differ.map((c) => `${shortLabel(c.label)} ${to[c.key]}`).join(', ');
}
