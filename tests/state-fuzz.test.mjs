// Property tests (fast-check) of the parsers a link goes through: `fromHash` / `toHash` /
// `parseValue` in web/state/state.js and the comparison entry in web/compare/spec.js. A link is
// untrusted input: whatever it holds, the parsers return without throwing, in bounded time
// and with a bounded result, and what they return is a config the page accepts.
//
// Runs SPIKEPLAY_FUZZ_CASES generated inputs per property (CI: the default below; the
// documented run, 100,000 each, is in docs/FUZZING.md). The seed is random and printed with
// each property's summary; SPIKEPLAY_FUZZ_SEED=N replays a run. A failure prints the shrunk
// counterexample: fix the parser and keep the input as a plain test in state.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './schema.mjs'; // before the page's modules: they are built from it
import fc from 'fast-check';
import { BY_KEY, CONTROLS, MAX_UNKNOWN, PAGE_KEYS, camel, crossCheck, defaults, fromHash, parseValue, toHash } from '../web/state/state.js';
import { MAX_RUNS, MAX_VALUE_LENGTH, MIN_RUNS, compareHash, parseSpec, readCompare, runsOf } from '../web/compare/spec.js';

const CASES = Number(process.env.SPIKEPLAY_FUZZ_CASES ?? 1500);
// Random unless given, and printed with each property's summary line, so any run can be replayed.
const SEED = Number(process.env.SPIKEPLAY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
// Hang guard: one input (a hash of up to a few hundred KB: ~250 ms at worst on a quiet machine,
// about 1 s with browser tests running alongside) must be checked within RUN_MS, and a whole
// property within its budget; both generous, so only a real hang or blow-up trips them (the
// backtracking number pattern the fuzzer found took minutes on a 300,000-digit value).
const RUN_MS = 5000;
const PARAMS = {
  numRuns: CASES, seed: SEED, includeErrorInReport: true,
  interruptAfterTimeLimit: 120_000 + CASES * 20, markInterruptAsFailure: true,
};
// A parse result is the config (one entry per control), a hidden list and at most one
// short message per control: its JSON stays this small whatever the link.
const MAX_RESULT_CHARS = 16_000;

const KEYS = CONTROLS.map((c) => c.key);
const isKey = (k) => Object.hasOwn(BY_KEY, k);

/** Runs the property `name` CASES times with the hang guard; reports cases and time. */
function property(name, arb, check) {
  test(name, (t) => {
    const t0 = performance.now();
    let slowest = 0;
    fc.assert(fc.property(arb, (input) => {
      const s = performance.now();
      check(input);
      const ms = performance.now() - s;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < RUN_MS, `one input took ${ms.toFixed(0)} ms (limit ${RUN_MS})`);
    }), PARAMS);
    t.diagnostic(`${name}: ${CASES} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s, slowest ${slowest.toFixed(1)} ms `
      + `(SPIKEPLAY_FUZZ_SEED=${SEED})`);
  });
}

// ---- generators ----------------------------------------------------------------------

/** Names a link may use: real keys (both spellings), `hide`, the compare entries, and traps. */
const keyName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KEYS, ...KEYS.map(camel)) },
  { weight: 1, arbitrary: fc.constantFrom('hide', 'compare', 'preset', 'debug', '__proto__', 'constructor', 'toString',
    'hasOwnProperty', 'valueOf', 'Seed', 'SEED', 'seed ', ' seed', 'probe-samples', 'probesamples', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

/** A value of the right kind and within bounds for `key`, as a link would write it. */
function validText(key) {
  const c = BY_KEY[key];
  if (c.kind === 'enum') return fc.constantFrom(...c.options);
  if (c.kind === 'bool') return fc.constantFrom('true', 'false', '1', '0');
  return validNumber(c).map(String);
}

function validNumber(c) {
  if (c.kind === 'int') {
    const near = fc.integer({ min: c.min, max: Math.min(c.max, c.min + 16) });
    const all = c.max > 2 ** 31 ? fc.maxSafeNat().filter((v) => v <= c.max) : fc.integer({ min: c.min, max: c.max });
    return fc.oneof({ weight: 3, arbitrary: near }, all, fc.constant(c.default), fc.constant(c.max));
  }
  const lo = c.exclusiveMin ?? c.min, hi = c.exclusiveMax ?? c.max;
  // An f32 field's bounds hold for the value rounded to f32, as the core holds it (5e-324 is 0).
  const at = c.single ? Math.fround : (x) => x;
  const ok = (v) => (c.exclusiveMin !== undefined ? at(v) > at(lo) : at(v) >= at(lo)) && (c.exclusiveMax !== undefined ? at(v) < at(hi) : at(v) <= at(hi));
  return fc.oneof(
    fc.double({ min: lo, max: hi, noNaN: true }),
    fc.constantFrom(c.default, c.min, c.max, lo + (hi - lo) / 3, 0.05, 0.1, 1e-3),
  ).filter(ok);
}

/** Values a hand-edited or hostile link may hold. */
const hostileValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', ' ', '1e999', '-1e999', '1e-999', '-0', '+0', '0.0', '-0.0', 'NaN', 'nan',
    'Infinity', '-Infinity', 'inf', '0x10', '0X1F', '0b11', '0o7', '1_000', '1,000', '1e', 'e5', '.', '.5', '5.', '+-1', '--1',
    '١٢', '１２', '𝟙', ' 12 ', '\t3\n', 'true', 'TRUE', 'yes', 'null', 'undefined', '[]', '{}', 'psp', 'PSP', 'p%73p',
    '%', '%%', '%zz', '%E0%A4%A', '%C0%80', '%FF', '%00', '%2C', '%26', '%3D', '%23', '+', '&', '=', '#', ';', '\u0000',
    '\ud800', '\udfff', '\u202e', '\ufeff1', '9007199254740991', '9007199254740992', '9'.repeat(400), `0.${'0'.repeat(400)}1`,
    '1e+21', '1E3', '4096', '4097', '256', '257', '0.9', '0.999', '1', '2', '8', '0', '-1') },
  { weight: 3, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.maxSafeInteger()).map(String) },
  { weight: 2, arbitrary: fc.bigInt({ min: -(10n ** 400n), max: 10n ** 400n }).map(String) },
  { weight: 3, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'grapheme' }) },
  { weight: 2, arbitrary: fc.constantFrom(...KEYS).chain(validText) },
  { weight: 1, arbitrary: hideList() },
  // Very long values: digit runs and repeats a backtracking pattern could choke on.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('1', '0', '9', '.', 'e', '-', 'a', '%', '%2'), fc.nat({ max: 40_000 }), fc.constantFrom('', 'x', '.', 'e', '1', '%'))
    .map(([ch, n, tail]) => ch.repeat(n) + tail) },
);

function hideList() {
  return fc.array(fc.oneof(fc.constantFrom(...KEYS, ...KEYS.map(camel)), keyName), { maxLength: 50 }).map((ks) => ks.join(','));
}

/** How the entry is written: as is (so `&`, `=`, `#`, `%` break it up), or escaped. */
const written = fc.constantFrom('raw', 'escaped', 'plus');
// (encodeURIComponent refuses a lone surrogate: escaped, it becomes U+FFFD, as a browser does.)
const encode = (text, how) => (how === 'raw' ? text : how === 'escaped' ? encodeURIComponent(text.toWellFormed())
  : encodeURIComponent(text.toWellFormed()).replace(/%20/g, '+'));

/** `key=value&...` from the real keys with hostile values (repeats included). */
const entries = fc.array(fc.tuple(keyName, fc.oneof(hostileValue, hideList()), written), { maxLength: 40 });
const entryHash = fc.tuple(entries, fc.constantFrom('#', '', '#&', '#?', '##')).map(([es, lead]) =>
  lead + es.map(([k, v, how]) => `${encode(k, how)}=${encode(v, how)}`).join('&'));

/** Whole random hashes, mostly small, up to a few hundred KB. */
const bigHash = fc.oneof(
  { weight: 8, arbitrary: entryHash },
  { weight: 2, arbitrary: fc.string({ maxLength: 300, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.tuple(entryHash, fc.nat({ max: 300_000 }), fc.constantFrom('&', '=', '%', 'a', '1', ',', '&seed=1', '&hide=seed,'))
    .map(([h, n, chunk]) => h + chunk.repeat(Math.ceil(n / chunk.length))) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...KEYS.map(camel), 'hide', 'compare'), fc.nat({ max: 300_000 }), fc.constantFrom('9', '0', '.', 'x', ','))
    .map(([k, n, ch]) => `#${k}=${ch.repeat(n)}`) },
);

/** A config the page accepts: every field within its bounds, every cross-field rule passing. */
const validConfig = fc.record(Object.fromEntries(CONTROLS.map((c) => [c.key,
  c.kind === 'enum' ? fc.constantFrom(...c.options) : c.kind === 'bool' ? fc.boolean() : validNumber(c)])))
  .map((cfg) => ({ ...cfg })) // fast-check's records have no prototype; configs are plain objects
  .filter((cfg) => crossCheck(cfg) === null);
const hiddenKeys = fc.subarray(KEYS);

// ---- checks ---------------------------------------------------------------------------

/** The decoded values a hash gives `key` (either spelling), as URLSearchParams reads them. */
const linkValues = (pairs, key) => pairs.filter(([k]) => k === key || k === camel(key)).map(([, v]) => v);

const MESSAGE = /^link value '([\s\S]*)' ignored \(([\s\S]+)\); using ([\s\S]+)$/;

/** What every result of `fromHash` must satisfy, whatever the hash. */
function checkResult(hash, { config, hidden, errors, unknown }) {
  assert.deepEqual(Object.keys(config).sort(), [...KEYS].sort(), 'one entry per control, nothing else');
  for (const key of KEYS) {
    const r = parseValue(key, String(config[key]));
    assert.ok('value' in r, `${key}=${config[key]}: ${r.error}`);
    assert.ok(Object.is(r.value, config[key]), `${key}: ${String(config[key])} reads back as ${r.value}`);
  }
  assert.equal(crossCheck(config), null);
  assert.ok(hidden.every(isKey), `hidden: ${hidden}`);
  assert.equal(new Set(hidden).size, hidden.length, 'hidden lists each control once');
  const pairs = [...new URLSearchParams(hash.replace(/^#/, ''))];
  for (const [key, message] of Object.entries(errors)) {
    assert.ok(isKey(key), `error for '${key}'`);
    const m = MESSAGE.exec(message);
    assert.ok(m, message);
    const said = m[1].endsWith('…') ? m[1].slice(0, -1) : m[1];
    assert.ok(linkValues(pairs, key).some((v) => v.startsWith(said) && (said === v || m[1].endsWith('…'))),
      `'${m[1]}' is what the link said for ${key}`);
    assert.equal(m[3], String(config[key]), `${key}: the message names the value used`);
  }
  checkUnknown(pairs, unknown);
  assert.ok(JSON.stringify({ config, hidden, errors, unknown }).length < MAX_RESULT_CHARS, 'a bounded result');
}

/** `unknown` names, shortened, only keys of the link that are neither controls nor the page's own. */
function checkUnknown(pairs, unknown) {
  assert.ok(Array.isArray(unknown) && unknown.length <= MAX_UNKNOWN, `${unknown?.length} unknown keys`);
  assert.equal(new Set(unknown).size, unknown.length, 'each unknown key once');
  const notControls = pairs.map(([k]) => k).filter((k) => !isKey(k) && !KEYS.some((c) => camel(c) === k) && !PAGE_KEYS.includes(k));
  for (const name of unknown) {
    assert.ok(name.length <= 25, `'${name}' is shortened`);
    const said = name.endsWith('…') ? name.slice(0, -1) : name;
    assert.ok(notControls.some((k) => k === name || (name.endsWith('…') && k.startsWith(said))), `'${name}' is a key of the link that is not a control`);
  }
  if (notControls.length && unknown.length < MAX_UNKNOWN) assert.ok(unknown.length > 0, 'an unknown key is reported');
}

// ---- properties -----------------------------------------------------------------------

property('fromHash never throws on arbitrary strings', fc.oneof(
  fc.string({ maxLength: 400, unit: 'binary' }),
  fc.string({ maxLength: 400, unit: 'grapheme' }).map((s) => `#${s}`),
  fc.string({ maxLength: 100 }).map((s) => `#${s}=${s}`),
), (hash) => {
  checkResult(hash, fromHash(hash));
});

property('a link of real keys and hostile values yields a valid config and messages that say what is used', entryHash, (hash) => {
  checkResult(hash, fromHash(hash));
});

property('whole random hashes up to a few hundred KB parse in bounded time to a bounded result', bigHash, (hash) => {
  checkResult(hash, fromHash(hash));
  const c = readCompare(hash);
  if (c && !c.error) checkSpec(c.spec);
});

property('fromHash(toHash(c)) round-trips every valid config, hidden list included', fc.tuple(validConfig, hiddenKeys), ([config, hidden]) => {
  assert.deepEqual(fromHash(toHash(config, hidden)), { config, hidden, locked: [], errors: {}, unknown: [] });
});

/** What every spec readCompare accepts must satisfy. */
function checkSpec(spec) {
  assert.ok(isKey(spec.field), `field '${spec.field}'`);
  assert.ok(spec.values.length >= MIN_RUNS && spec.values.length <= MAX_RUNS, `${spec.values.length} values`);
  const ids = new Set();
  for (const text of spec.values) {
    assert.ok(text !== '' && text === text.trim() && !text.includes(','), `value '${text}'`);
    assert.ok(text.length <= MAX_VALUE_LENGTH, `a value of ${text.length} characters`);
    const r = parseValue(spec.field, text);
    assert.ok('value' in r || /^must be in /.test(r.error), `'${text}' is of the right kind: ${r.error}`);
    ids.add('value' in r ? String(r.value) : text);
  }
  assert.equal(ids.size, spec.values.length, 'distinct values');
  for (const run of runsOf(defaults(), spec)) {
    assert.ok(!!run.config !== !!run.error, 'a run has a config or an error');
    if (run.config) assert.equal(crossCheck(run.config), null);
  }
}

/** `compare=field:values` entries: real and trap field names, hostile and valid lists. */
const compareEntry = fc.tuple(
  fc.oneof(keyName, fc.constantFrom(...KEYS)),
  fc.oneof(
    fc.array(fc.oneof(hostileValue, fc.constantFrom(...KEYS).chain(validText)), { maxLength: 12 }).map((vs) => vs.join(',')),
    hostileValue,
  ),
  fc.option(fc.oneof(hostileValue, fc.constantFrom('deep-plain', 'over-firing', 'init-scale'))),
  written, fc.boolean(),
).map(([field, list, preset, how, colon]) => `#depth=2&compare=${encode(colon ? `${field}:${list}` : field + list, how)}`
  + (preset === null ? '' : `&preset=${encode(preset, how)}`));

property('the compare entry never throws; what it accepts is a usable spec', fc.oneof(compareEntry, bigHash.map((h) => `${h}&compare=`)), (hash) => {
  const c = readCompare(hash);
  checkResult(hash, fromHash(hash));
  if (c === null) return;
  assert.ok(c.preset === null || (typeof c.preset === 'string' && c.preset !== ''), `preset ${c.preset}`);
  if (c.error) assert.ok(typeof c.error === 'string' && c.error.length < 200, `a short message: ${c.error.slice(0, 80)}`);
  else checkSpec(c.spec);
  assert.ok(JSON.stringify(c).length < MAX_RESULT_CHARS + hash.length, 'a bounded result');
});

/** 2 to 8 distinct texts of the right kind for one field (in bounds or not). */
const validSpec = fc.constantFrom(...KEYS).chain((field) => {
  const c = BY_KEY[field];
  const text = c.kind === 'enum' || c.kind === 'bool' ? validText(field)
    : fc.oneof(validText(field), (c.kind === 'int' ? fc.maxSafeInteger() : fc.double({ noNaN: true, noDefaultInfinity: true })).map(String));
  const id = (t) => String(parseValue(field, t).value ?? t);
  const max = c.kind === 'bool' ? 2 : c.kind === 'enum' ? Math.min(MAX_RUNS, c.options.length) : MAX_RUNS;
  return fc.uniqueArray(text, { minLength: MIN_RUNS, maxLength: max, selector: id }).map((values) => ({ field, values }));
}).filter((spec) => spec.values.length >= MIN_RUNS);

property('compareHash round-trips: readCompare gives the spec and preset back, fromHash the base', fc.tuple(
  validConfig, hiddenKeys, validSpec, fc.option(fc.string({ maxLength: 30, unit: 'binary' })),
), ([base, hidden, spec, preset]) => {
  const hash = compareHash(base, hidden, spec, preset);
  assert.deepEqual(readCompare(hash), { spec, preset: preset || null });
  assert.deepEqual(parseSpec(spec.field, spec.values.join(',')), { spec });
  assert.deepEqual(fromHash(hash), { config: base, hidden, locked: [], errors: {}, unknown: [] });
});
