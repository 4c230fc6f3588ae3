// The control table is built from the schema the wasm module exports (crate/src/schema.rs):
// every field reaches the controls and the link with the core's kind, values and bounds, and the
// page's checks give the core's verdicts. The CLI side of the same promise is in
// crate/tests/cli.rs (`every_schema_field_is_a_flag_with_the_schemas_bounds`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCHEMA, checkConfig } from './schema.mjs';
import {
  CONTROLS, MAX_UNKNOWN, PAGE_DEFAULTS, crossCheck, defaults, fromHash, isUnused, parseValue, toHash,
  unknownNotice,
} from '../web/state/state.js';

/** The core's defaults, with the page's first-visit values where the schema gives them. */
const coreDefaults = () => Object.fromEntries(SCHEMA.fields.map((f) => [f.name, f.default]));

test('every schema field is a control with its kind, values, bounds and default', () => {
  assert.deepEqual(CONTROLS.map((c) => c.key), SCHEMA.fields.map((f) => f.name));
  assert.ok(SCHEMA.fields.length >= 34, 'the whole config');
  for (const f of SCHEMA.fields) {
    const c = CONTROLS.find((x) => x.key === f.name);
    assert.equal(c.kind, f.kind, f.name);
    assert.equal(c.default, f.page_default ?? f.default, f.name);
    if (f.kind === 'enum') assert.deepEqual(c.options, f.options, f.name);
    if (f.kind === 'int' || f.kind === 'float') {
      assert.equal(c.min, f.min, f.name);
      assert.equal(c.max, f.max, f.name);
      assert.equal(c.exclusiveMin !== undefined, f.exclusive_min, f.name);
      assert.equal(c.exclusiveMax !== undefined, f.exclusive_max, f.name);
    }
  }
  assert.deepEqual(PAGE_DEFAULTS, ['dataset', 'lr']);
  assert.equal(checkConfig(defaults()), null, "the page's first config is one the core takes");
  assert.equal(checkConfig(coreDefaults()), null);
});

/** A value of field `f` other than its default that the core takes on its own. */
function another(f) {
  if (f.kind === 'bool') return !f.default;
  if (f.kind === 'enum') return f.options.find((o) => o !== (f.page_default ?? f.default));
  const v = f.exclusive_max ? f.max / 2 : f.max;
  return f.kind === 'int' ? Math.min(v, f.min + 3) : Number((f.min + (v - f.min) / 3).toPrecision(6));
}

test('every field survives the link, and a value past its bound is refused by page and core alike', () => {
  for (const f of SCHEMA.fields) {
    const value = another(f);
    const config = { ...defaults(), [f.name]: value };
    if (crossCheck(config)) continue; // e.g. conv alone needs image data: covered by the rule tests
    const back = fromHash(toHash(config));
    assert.deepEqual(back.errors, {}, f.name);
    assert.equal(back.config[f.name], value, `${f.name} through the link`);
    assert.equal(checkConfig(config), null, `${f.name} = ${value}: the core takes it too`);
    if (f.kind !== 'int' && f.kind !== 'float') continue;
    const past = f.exclusive_max ? f.max : f.kind === 'int' ? f.max + 1 : f.max * 1.5 + 1;
    const page = parseValue(f.name, String(past));
    assert.equal(page.wrong, 'bound', `${f.name} = ${past}`);
    assert.equal(page.error, `must be in ${f.bound}${f.bound_note}`);
    if (past > Number.MAX_SAFE_INTEGER) continue; // no JavaScript number holds it exactly (seed)
    const core = checkConfig({ ...defaults(), [f.name]: past });
    assert.equal(core.kind, 'config');
    assert.equal(core.field, f.name);
    assert.equal(core.bound, f.bound, `${f.name}: the page and the core name the same bound`);
  }
});

test('the hash round-trips every field, the seed and the hidden list', () => {
  const config = { ...defaults(), dataset: 'moons', residual: true, lr: 0.0005, seed: 2 ** 53 - 1, psp_lambda: 0.25 };
  const back = fromHash(toHash(config, ['seed', 'psp_lambda']));
  assert.deepEqual(back.config, config);
  assert.deepEqual(back.hidden, ['seed', 'psp_lambda']);
  assert.deepEqual(back.errors, {});
});

test('bad values get a message naming the bound, and bad hash entries fall back', () => {
  assert.match(parseValue('beta', '1.5').error, /\[0, 1\]/);
  assert.match(parseValue('theta', '0').error, /\(0, 100\]/);
  assert.match(parseValue('depth', '2.5').error, /whole number/);
  assert.match(parseValue('norm', 'layer_norm').error, /one of none, psp, bn/);
  assert.match(parseValue('seed', String(2 ** 53)).error, /must be in/);
  assert.equal(parseValue('lr', '1e-3').value, 0.001);
  const { config, errors } = fromHash('#beta=7&width=16');
  assert.equal(config.beta, defaults().beta);
  assert.equal(config.width, 16);
  assert.ok(errors.beta);
  assert.equal(crossCheck({ ...defaults(), residual: true, depth: 1 }).key, 'depth');
});

test('the size limits are the core\'s, on the fields it names, with its messages', () => {
  const base = { ...defaults(), depth: 4, width: 64, timesteps: 8, batch: 32 };
  assert.equal(crossCheck(base), null);
  // Weights: depth x width^2, at the bound and one past it (2 x 2048^2 = 2^23).
  assert.equal(crossCheck({ ...base, depth: 2, width: 2048, batch: 1 }), null);
  const wide = crossCheck({ ...base, depth: 3, width: 2048, batch: 1 });
  assert.equal(wide.key, 'width');
  assert.deepEqual(wide.keys.sort(), ['conv', 'depth', 'width']);
  assert.equal(wide.error, 'depth x width^2 = 12582912 weights exceeds 8388608; lower width or depth');
  // Activations: (depth + 2) x timesteps x batch x width. (2 + 2) x 256 x 256 x 64 = 2^24
  // sits exactly on the bound and passes; batch 257 is 65536 cells over.
  assert.equal(crossCheck({ ...base, depth: 2, timesteps: 256, batch: 256, width: 64 }), null);
  const long = crossCheck({ ...base, depth: 2, timesteps: 256, batch: 257, width: 64 });
  assert.equal(long.key, 'batch');
  assert.deepEqual(long.keys.sort(), ['batch', 'conv', 'depth', 'probe_samples', 'timesteps', 'width']);
  assert.equal(long.error, '(depth + 2) x timesteps x max(batch, probe_samples) x width = 16842752 activations ' +
    'exceeds 16777216; lower batch, probe_samples, timesteps, width or depth');
  // The probe batch counts too (it and evaluation chunks run max(batch, probe_samples)).
  const probed = crossCheck({ ...base, depth: 256, width: 64, probe_samples: 1024 });
  assert.equal(probed.key, 'probe_samples');
  // The core says the same, field and words.
  for (const c of [{ ...base, depth: 3, width: 2048, batch: 1 }, { ...base, depth: 2, timesteps: 256, batch: 257, width: 64 }, { ...base, depth: 256, width: 64, probe_samples: 1024 }]) {
    const page = crossCheck(c);
    const core = checkConfig(c);
    assert.equal(core.field, page.key);
    assert.equal(core.reason, page.error);
  }
  // The old depth rule is gone: a deep, narrow net passes (Rust's own test case).
  assert.equal(crossCheck({ ...base, depth: 128, width: 256, timesteps: 4, batch: 64, probe_samples: 64 }), null);
  assert.equal(crossCheck({ ...base, depth: 4, width: 1024, timesteps: 8, batch: 256 }), null);
  assert.equal(crossCheck({ ...base, depth: 64, width: 256, timesteps: 64, batch: 256 }).key, 'batch');
});

test('a link breaking a cross-field rule keeps its other fields and falls back field by field', () => {
  const big = fromHash('#depth=200&width=4096&seed=9&norm=bn');
  assert.equal(big.config.depth, 200, 'falling back width alone is enough');
  assert.equal(big.config.width, 64);
  assert.equal(big.config.seed, 9);
  assert.equal(big.config.norm, 'bn');
  assert.deepEqual(Object.keys(big.errors), ['width']);
  assert.match(big.errors.width, /^link value '4096' ignored \(depth x width\^2 = 3355443200 weights exceeds 8388608; lower width or depth\); using 64$/);
  const res = fromHash('#residual=true&depth=1');
  assert.equal(res.config.residual, true);
  assert.equal(res.config.depth, 4);
  assert.match(res.errors.depth, /^link value '1' ignored \(a residual net needs depth >= 2/);
  // Two rules broken: the weights rule drops width; the activation rule then drops batch.
  const both = fromHash('#width=4096&batch=4096&timesteps=64');
  assert.equal(crossCheck(both.config), null);
  assert.equal(both.config.width, 64);
  assert.equal(both.config.timesteps, 64);
  assert.equal(both.config.batch, 32);
  assert.deepEqual(Object.keys(both.errors).sort(), ['batch', 'width']);
  const bad = fromHash('#depth=abc');
  assert.equal(bad.errors.depth, "link value 'abc' ignored (must be a number); using 4");
});

test('only the generated 2-D sets use samples and noise', () => {
  for (const key of ['samples', 'noise']) {
    assert.equal(isUnused(key, { ...defaults(), dataset: 'digits' }), true, key);
    assert.equal(isUnused(key, { ...defaults(), dataset: 'spiral' }), false, key);
  }
  assert.equal(isUnused('test_fraction', { ...defaults(), dataset: 'digits' }), false);
}); 

test('conv nets: image data only, at most one pool per layer, 9 weights per kernel', () => {
  const conv = { ...defaults(), dataset: 'digits', conv: true, depth: 3, width: 8, pools: 2 };
  assert.equal(crossCheck(conv), null);
  const flat = crossCheck({ ...conv, dataset: 'moons' });
  assert.equal(flat.key, 'conv');
  assert.match(flat.error, /^a conv net needs image data/);
  for (const dataset of ['mnist14', 'mnist28', 'custom']) assert.equal(crossCheck({ ...conv, dataset }), null, dataset);
  const pools = crossCheck({ ...conv, pools: 4 });
  assert.equal(pools.key, 'pools');
  assert.equal(pools.error, 'a conv net pools after its layers: at most depth = 3, got 4');
  assert.equal(crossCheck({ ...conv, conv: false, pools: 6 }), null, 'a dense net ignores pools');
  // 2 x 1024^2 x 9 = 18.9M weights: fine dense, too many as 3x3 kernels.
  assert.equal(crossCheck({ ...conv, conv: false, dataset: 'moons', depth: 2, width: 1024, batch: 1, probe_samples: 1 }), null);
  const wide = crossCheck({ ...conv, depth: 2, width: 1024, pools: 2 });
  assert.equal(wide.key, 'width');
  assert.match(wide.error, /^depth x width\^2 x 9 = 18874368 weights exceeds/);
  assert.ok(isUnused('pools', { ...conv, conv: false }));
  assert.ok(!isUnused('pools', conv));
});

test('conv, pools and the new data sets round-trip through the hash', () => {
  const cfg = { ...defaults(), dataset: 'mnist14', conv: true, pools: 3, depth: 5 };
  const back = fromHash(toHash(cfg));
  assert.deepEqual(back.errors, {});
  assert.deepEqual(back.config, cfg);
  assert.ok(isUnused('samples', cfg) && isUnused('noise', cfg));
  assert.equal(fromHash('#dataset=custom').config.dataset, 'custom');
  // A conv link on a 2-D set keeps the data set and drops conv, saying why.
  const bad = fromHash('#dataset=xor&conv=true');
  assert.equal(bad.config.dataset, 'xor');
  assert.equal(bad.config.conv, false);
  assert.match(bad.errors.conv, /needs image data/);
});

test('a refused first run resets the named field, up to 4 times, then everything', async () => {
  const { MAX_FIELD_FALLBACKS, firstRunFallback } = await import('../web/state/state.js');
  assert.equal(MAX_FIELD_FALLBACKS, 4);
  const link = { ...defaults(), dataset: 'mnist28', conv: true, depth: 6, width: 64, pools: 0, batch: 128, probe_samples: 256, timesteps: 16 };
  // The core's refusals of this link, as its activation bound for conv nets words them
  // (config.rs validate_for_data: the field it names, then the bound's fields, CONV_CELLS).
  const cells = (field) => ({ field, reads: [field, ...['pools', 'width', 'depth', 'timesteps', 'batch', 'probe_samples'].filter((k) => k !== field)] });
  const once = firstRunFallback(link, cells('probe_samples'), 0);
  assert.deepEqual(once, { config: { ...link, probe_samples: 128 }, field: 'probe_samples' });
  const twice = firstRunFallback(once.config, cells('batch'), 1);
  assert.deepEqual(twice, { config: { ...once.config, batch: 32 }, field: 'batch' }, 'a second refusal still resets one field');
  // The core names probe_samples (the larger batch) though it is at its default: the first other
  // field of the bound that the link set is reset instead, pools first.
  const third = firstRunFallback(twice.config, cells('probe_samples'), 2);
  assert.deepEqual(third, { config: { ...twice.config, pools: 2 }, field: 'pools' });
  const fourth = firstRunFallback(third.config, cells('probe_samples'), 3);
  assert.deepEqual(fourth, { config: { ...third.config, depth: 4 }, field: 'depth' });
  assert.deepEqual(firstRunFallback(fourth.config, cells('probe_samples'), 4), { config: defaults(), field: null },
    'after 4 resets, the defaults (though timesteps 16 is left)');
  const bare = { ...defaults(), dataset: 'mnist28', conv: true };
  assert.deepEqual(firstRunFallback(bare, cells('probe_samples'), 0), { config: defaults(), field: null }, 'nothing left to lower');
  // A plain net's bound is a schema rule: its refusal comes with the rule's fields, from the core.
  const plain = { ...link, conv: false, probe_samples: 128, depth: 20, width: 64, batch: 4096 };
  const refusal = checkConfig(plain);
  assert.equal(refusal.field, 'batch');
  assert.equal(firstRunFallback(plain, refusal, 0).field, 'batch');
  const deep = { ...plain, depth: 200, batch: 32 };
  const named = checkConfig(deep);
  assert.equal(named.field, 'probe_samples', 'the larger batch, at its default');
  assert.equal(firstRunFallback(deep, named, 0).field, 'depth', 'pools are not among a plain net\'s fields');
  // A field already at its default cannot be the fix: straight to the defaults.
  assert.deepEqual(firstRunFallback(link, { field: 'width', reads: ['width'] }, 0), { config: defaults(), field: null });
  // Nor can a default that breaks another rule (pools 2 > depth 1 on a conv net).
  assert.equal(firstRunFallback({ ...link, depth: 1, pools: 0 }, { field: 'pools', reads: ['pools'] }, 0).field, null);
});

test('rates show one decimal below 10 and no axis label reads -0.0', async () => {
  const { fixed, formatRate, plural } = await import('../web/run/format.js');
  assert.equal(formatRate(0.35), '0.3');
  assert.equal(formatRate(0.36), '0.4');
  assert.equal(formatRate(9.94), '9.9');
  assert.equal(formatRate(42.4), '42');
  assert.equal(fixed(-0.04), '0.0');
  assert.equal(fixed(-0.06), '-0.1');
  assert.equal(plural(1, 'step'), '1 step');
  assert.equal(plural(3, 'step'), '3 steps');
});

// Inputs tests/state-fuzz.test.mjs found, kept as plain regression tests.
test('fuzz: a link naming an Object.prototype member names no control', async () => {
  const { readCompare } = await import('../web/compare/spec.js');
  for (const k of ['toString', 'valueOf', 'constructor', '__proto__', 'hasOwnProperty']) {
    const r = fromHash(`#${k}=1&hide=${k},seed`);
    assert.deepEqual(r, { config: defaults(), hidden: ['seed'], locked: [], errors: {}, unknown: [k] }, k);
  }
  assert.equal(readCompare('#compare=constructor:1,2').error, "unknown field 'constructor'");
  assert.equal(readCompare('#compare=toString:a,b').error, "unknown field 'toString'");
});

test('fuzz: a repeated key with a bad later value names the value still used', () => {
  const r = fromHash('#timesteps=1&timesteps=spiral');
  assert.equal(r.config.timesteps, 1);
  assert.equal(r.errors.timesteps, "link value 'spiral' ignored (must be a number); using 1");
  assert.deepEqual(fromHash('#beta=abc&beta=0.5'), { config: { ...defaults(), beta: 0.5 }, hidden: [], locked: [], errors: {}, unknown: [] });
});

test('fuzz: -0 reads as 0, so a config survives its own link', () => {
  assert.ok(Object.is(parseValue('noise', '-0').value, 0));
  assert.ok(Object.is(fromHash('#weightDecay=-0.0').config.weight_decay, 0));
});

test('fuzz: a 300,000-digit value is refused at once, not after a minute of backtracking', () => {
  const t0 = performance.now();
  const r = fromHash(`#lr=${'1'.repeat(300_000)}x&seed=${'9'.repeat(300_000)}`);
  assert.ok(performance.now() - t0 < 500, `${performance.now() - t0} ms`);
  assert.match(r.errors.lr, /^link value '1{24}…' ignored \(must be a number\); using 0.003$/);
  assert.match(r.errors.seed, /must be in 0\.\.=9007199254740991/, 'too long for a double: out of bounds');
  assert.match(parseValue('depth', '1e999').error, /must be in 1\.\.=256/);
});

test('fuzz: a hide list names each control once', () => {
  assert.deepEqual(fromHash('#hide=testFraction,test_fraction,seed,seed').hidden, ['test_fraction', 'seed']);
});

test('a message longer than 600 characters keeps its start and end, with the middle left out', async () => {
  const { elide } = await import('../web/run/format.js');
  assert.equal(elide('short message'), 'short message');
  assert.equal(elide('x'.repeat(600)), 'x'.repeat(600), 'up to 600 characters are shown whole');
  const message = `digits.csv: line 2: '${'9'.repeat(50000)}' is not a number`;
  const out = elide(message);
  assert.ok(out.length < 700, `${out.length} characters`);
  assert.ok(out.startsWith("digits.csv: line 2: '999"), 'the start says where');
  assert.ok(out.endsWith("999' is not a number"), 'the end says why');
  const marker = ` … (${message.length - 600} characters left out) … `;
  assert.ok(out.includes(marker), 'says how much is left out');
  assert.equal(out.length - marker.length, 600, 'and shows 600 of the characters');
});

test('a link\'s keys that are not settings are listed, short and capped, for one notice', () => {
  const r = fromHash('#depht=3&foo=bar&depth=4&hide=seed&compare=norm:none,bn&preset=x&debug=1&mode=compare&probeSamples=8&foo=2');
  assert.deepEqual(r.unknown, ['depht', 'foo'], 'page keys and both spellings of a control are not reported; each key once');
  assert.equal(r.config.depth, 4);
  assert.equal(r.config.probe_samples, 8);
  assert.equal(unknownNotice(r.unknown), "The link's 'depht', 'foo' are not settings and were ignored.");
  assert.equal(unknownNotice(['x']), "The link's 'x' is not a setting and was ignored.");
  assert.equal(unknownNotice([]), null);
  assert.deepEqual(fromHash(`#${'k'.repeat(100)}=1`).unknown, [`${'k'.repeat(24)}…`], 'shortened like a link value');
  const many = fromHash(`#${Array.from({ length: 1000 }, (_, i) => `k${i}=1`).join('&')}`).unknown;
  assert.equal(many.length, MAX_UNKNOWN, 'capped');
  assert.equal(unknownNotice(many.slice(0, 7)), "The link's 'k0', 'k1', 'k2', 'k3', 'k4' and 2 more are not settings and were ignored.");
  assert.match(unknownNotice(many), /'k4' and 15\+ more are not settings/);
});

test('a rewrite of the link keeps the lesson, its chapter, the locked controls and the wasm build', () => {
  const cfg = { ...defaults(), depth: 7 };
  const p = new URLSearchParams(toHash(cfg, ['seed'], '#depth=3&lesson=paper&chapter=4&lock=norm,lr&simd=off&preset=x&debug=1').slice(1));
  assert.equal(p.get('depth'), '7');
  assert.equal(p.get('lesson'), 'paper');
  assert.equal(p.get('chapter'), '4');
  assert.equal(p.get('lock'), 'norm,lr');
  assert.equal(p.get('simd'), 'off');
  assert.equal(p.get('preset'), null, 'a preset name is not kept: the link now says its own settings');
  assert.equal(p.get('debug'), null);
  const read = fromHash(`#${p}`);
  assert.deepEqual(read.locked, ['norm', 'lr']);
  assert.deepEqual(read.unknown, []);
});

test('withPageKey sets or removes one page key and keeps every other as it was', async () => {
  const { withPageKey } = await import('../web/state/state.js');
  assert.equal(withPageKey('#depth=3&compare=norm:none,psp', 'pace', '10'), '#depth=3&compare=norm:none,psp&pace=10');
  assert.equal(withPageKey('#depth=3&pace=10&hide=lr,seed', 'pace', null), '#depth=3&hide=lr,seed');
  assert.equal(withPageKey('', 'present', '1'), '#present=1');
});
