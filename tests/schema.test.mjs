// The page evaluates the schema's cross-field rules itself (web/state/schema.js), so that a control or
// a link is checked as it is typed. Those rules are the core's (crate/src/schema/fields.rs): here
// the page's verdict is held against the core's own (`checkConfig`, the wasm module) on random
// configs, field and words, and the evaluator against the expression language's definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SCHEMA, checkConfig } from './schema.mjs';
import { evaluate, fill } from '../web/state/schema.js';
import { crossCheck, defaults } from '../web/state/state.js';

const RUNS = Number(process.env.SCHEMA_RUNS ?? 3000);

/** Values of a field that the field's own bound takes (so only the rules can refuse). */
function values(f) {
  if (f.kind === 'bool') return fc.boolean();
  if (f.kind === 'enum') return fc.constantFrom(...f.options);
  if (f.kind === 'int') {
    // Small values most of the time: the rules are about products of a few fields.
    const top = Math.min(f.max, f.min + 300);
    return fc.oneof({ weight: 4, arbitrary: fc.integer({ min: f.min, max: top }) }, fc.constantFrom(f.min, f.max));
  }
  const lo = f.exclusive_min ? f.min + (f.max - f.min) / 4 : f.min;
  const hi = f.exclusive_max ? f.max - (f.max - f.min) / 4 : f.max;
  return fc.constantFrom(lo, hi, (lo + hi) / 2);
}

const anyConfig = fc.record(Object.fromEntries(SCHEMA.fields.map((f) => [f.name, values(f)])));
// Near the size bounds: the fields the rules multiply, around their interesting values.
const bigConfig = fc.tuple(anyConfig, fc.record({
  depth: fc.constantFrom(1, 2, 3, 64, 128, 200, 256),
  width: fc.constantFrom(1, 64, 256, 1024, 2048, 4096),
  timesteps: fc.constantFrom(1, 8, 64, 256),
  batch: fc.constantFrom(1, 32, 256, 4096),
  probe_samples: fc.constantFrom(1, 128, 1024),
  pools: fc.constantFrom(0, 2, 6),
})).map(([c, big]) => ({ ...c, ...big }));

test('the page and the core refuse the same configs, naming the same field with the same words', () => {
  let refused = 0;
  fc.assert(fc.property(fc.oneof(anyConfig, bigConfig), (config) => {
    const page = crossCheck(config);
    const core = checkConfig(config);
    if (core) refused += 1;
    assert.equal(page === null, core === null, `page ${JSON.stringify(page)} vs core ${JSON.stringify(core)}`);
    if (!core) return;
    assert.equal(core.kind, 'config');
    assert.equal(page.key, core.field);
    assert.equal(page.error, core.reason);
    assert.deepEqual(page.keys, core.reads);
  }), { numRuns: RUNS, seed: 17 });
  assert.ok(refused > RUNS / 20, `the random configs reach the rules (${refused} of ${RUNS} refused)`);
});

test('the defaults pass both, and each rule refuses where the core does', () => {
  assert.equal(crossCheck(defaults()), null);
  for (const change of [{ residual: true, depth: 1 }, { conv: true }, { conv: true, dataset: 'digits', depth: 2, pools: 3 }, { depth: 3, width: 2048 }]) {
    const config = { ...defaults(), ...change };
    assert.equal(crossCheck(config)?.error, checkConfig(config)?.reason, JSON.stringify(change));
    assert.ok(crossCheck(config), JSON.stringify(change));
  }
});

test('f32 fields are bounded as the core holds them, rounded to f32', async () => {
  const { parseValue } = await import('../web/state/state.js');
  for (const [field, text] of [['psp_lambda', '0.99999999'], ['theta', '1e-46'], ['init_scale', '1e-46'], ['beta', '1.00000001'], ['beta', '1.0000001']]) {
    const page = parseValue(field, text);
    const core = checkConfig({ ...defaults(), [field]: Number(text) });
    assert.equal('value' in page, core === null, `${field} = ${text}: page ${JSON.stringify(page)}, core ${JSON.stringify(core)}`);
  }
});

test('the evaluator follows the expression language of crate/src/schema/expr.rs', () => {
  const scope = { depth: 4, width: 64, conv: true, norm: 'psp', lr: 0.5 };
  assert.equal(evaluate(['*', ['+', 'depth', 2], 'width', ['if', 'conv', 9, 1]], scope), 6 * 64 * 9);
  assert.equal(evaluate(['max', 'depth', 'width', 3], scope), 64);
  assert.equal(evaluate(['and', ['>', 'width', 'depth'], ['<=', 'lr', 0.5], ['not', ['>=', 'depth', 5]]], scope), true);
  assert.equal(evaluate(['or', ['<', 'width', 1], ['==', 'conv', false]], scope), false);
  assert.equal(evaluate(['in', 'norm', ['bn', 'psp']], scope), true);
  for (const bad of ['nope', ['pow', 2, 3], ['+', 'norm'], ['not', 1], [], {}, ['<', 1], ['in', 'depth', ['4']]]) {
    assert.throws(() => evaluate(bad, scope), undefined, JSON.stringify(bad));
  }
  assert.equal(fill('{width} cells at depth {depth}', scope), '64 cells at depth 4');
  assert.throws(() => fill('{depth', scope), /unclosed/);
  assert.throws(() => fill('{missing}', scope), /unknown field/);
  assert.throws(() => evaluate(['in', 'norm', ['psp'], 'extra'], scope), /takes a field and a list/);
});
