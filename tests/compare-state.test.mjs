// Compare mode without a browser: the spec and its link, the runs it makes, the presets as
// data, and the recording's JSON and CSV. (The browser tests are in e2e-compare.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './schema.mjs'; // before the page's modules: they are built from it
import { BY_KEY, crossCheck, defaults, fromHash, parseValue } from '../web/state/state.js';
import { MAX_RUNS, compareHash, compareStem, parseSpec, readCompare, runsOf } from '../web/compare/spec.js';
import { PRESETS, presetBase, presetSpec } from '../web/state/presets.js';
import { Recording, toCsv } from '../web/run/recording.js';

test('a spec needs a known field and 2 to 8 distinct values; a bad value is kept for its run', () => {
  assert.deepEqual(parseSpec('norm', 'none, bn ,psp').spec, { field: 'norm', values: ['none', 'bn', 'psp'] });
  assert.match(parseSpec('nrom', 'a,b').error, /unknown field 'nrom'/);
  assert.match(parseSpec('norm', 'psp').error, /at least 2 values/);
  assert.match(parseSpec('depth', '1,2,3,4,5,6,7,8,9').error, /at most 8 values \(9 given\)/);
  assert.match(parseSpec('init_scale', '1, 1.0').error, /'1.0' repeats '1'/);
  assert.deepEqual(parseSpec('beta', '0.5, 1.5').spec.values, ['0.5', '1.5'], 'a refused value is not the spec\'s problem');
  assert.match(parseSpec('depth', 'four, 8').error, /'four' must be a number/, 'a typing mistake is refused at the box');
  assert.match(parseSpec('depth', '2.5, 8').error, /'2.5' must be a whole number/);
  assert.match(parseSpec('norm', 'psp, batch').error, /'batch' must be one of/);
});

test('runs take every field from the base but the compared one; refused values carry their message', () => {
  const base = { ...defaults(), dataset: 'xor', depth: 3 };
  const runs = runsOf(base, { field: 'beta', values: ['0.5', '1.5', '0.8'] });
  assert.deepEqual(runs.map((r) => r.label), ['beta 0.5', 'beta 1.5', 'beta 0.8']);
  assert.deepEqual(runs[0].config, { ...base, beta: 0.5 });
  assert.equal(runs[1].config, undefined);
  assert.match(runs[1].error, /beta '1.5' must be in \[0, 1\]/);
  assert.equal(new Set(runs.map((r) => r.color)).size, 3, 'one colour per run');
  const colorOf = (values, norm) => runsOf(base, { field: 'norm', values }).find((r) => r.value === norm).color;
  assert.equal(colorOf(['none', 'bn', 'psp'], 'psp'), colorOf(['psp', 'tebn'], 'psp'), 'a norm keeps its colour in any comparison');
  const all = runsOf(base, { field: 'norm', values: BY_KEY.norm.options.slice(0, 8) });
  assert.equal(new Set(all.map((r) => r.color)).size, 8, 'and every norm has its own');
  assert.equal(new Set(all.map((r) => JSON.stringify(r.dash))).size, 8, 'and its own dash');
  assert.equal(new Set(runs.map((r) => JSON.stringify(r.dash))).size, 3, 'one dash per run');
  const cross = runsOf({ ...base, residual: true }, { field: 'depth', values: ['1', '4'] });
  assert.match(cross[0].error, /with depth 1: a residual net needs depth >= 2/);
  assert.equal(cross[1].config.depth, 4);
  assert.deepEqual(runsOf(base, { field: 'residual', values: ['true', 'false'] }).map((r) => r.label), ['residual on', 'residual off']);
});

test('a comparison round-trips through the hash, base settings and preset included', () => {
  const base = { ...defaults(), dataset: 'digits', depth: 12, seed: 42, lr: 0.01 };
  const spec = { field: 'init_scale', values: ['0.3', '1', '3'] };
  const hash = compareHash(base, ['seed'], spec, 'init-scale');
  assert.match(hash, /&compare=init_scale:0.3,1,3&preset=init-scale$/, 'readable in the address bar');
  assert.deepEqual(fromHash(hash).config, base);
  assert.deepEqual(fromHash(hash).hidden, ['seed']);
  assert.deepEqual(readCompare(hash), { spec, preset: 'init-scale' });
  assert.equal(readCompare('#depth=3'), null, 'no compare entry: explore mode');
  assert.match(readCompare('#compare=norm').error, /not field:value,value/);
  assert.equal(compareStem(base, spec, null), 'compare-digits-init_scale-0.3-1-3-seed42');
  assert.equal(compareStem(base, spec, 'init-scale'), 'compare-init-scale-seed42');
});

test('presets are valid data: known fields, 2 to 8 values the page accepts, what to watch in 2-5 sentences', () => {
  assert.deepEqual(PRESETS.map((p) => p.id), ['deep-plain', 'over-firing', 'norms-differ', 'residual-100', 'init-scale', 'mnist14-conv', 'residual-conv-101']);
  for (const p of PRESETS) {
    for (const [key, v] of Object.entries(p.base)) {
      assert.ok(key in BY_KEY, `${p.id}: ${key}`);
      assert.ok('value' in parseValue(key, String(v)), `${p.id}: ${key}=${v}`);
    }
    // A preset without `compare` is one run in Explore mode.
    if (p.compare) {
      assert.ok(p.compare.field in BY_KEY, p.id);
      assert.ok(p.compare.values.length >= 2 && p.compare.values.length <= MAX_RUNS, p.id);
      for (const run of runsOf(presetBase(p), presetSpec(p))) assert.equal(run.error, undefined, `${p.id}: ${run.label}`);
    } else assert.equal(presetSpec(p), null, p.id);
    assert.equal(crossCheck(presetBase(p)), null, p.id);
    const sentences = p.what_to_watch.split(/[.!?](?:\s|$)/).filter((s) => s.trim()).length;
    assert.ok(sentences >= 2 && sentences <= 5, `${p.id}: ${sentences} sentences`);
  }
  assert.match(PRESETS.find((p) => p.id === 'init-scale').what_to_watch, /Init scale/);
});

test('a recording gives each step its loss and learning rate, and the CSV one row per step', () => {
  const rec = new Recording({ ...defaults(), lr: 0.01 }, 'psp');
  rec.addTrain({ losses: [], lrs: [], step: 0, lr: 0.01 });
  rec.addProbe({ step: 0, rates: [0.1, 0.2], silent: [0, 0], saturated: [0, 0], synops: 10 });
  rec.addEval(0, { train_accuracy: 0.1, test_accuracy: 0.1 });
  rec.addTrain({ losses: [2, 1.9], lrs: [0.01, 0.007], step: 2, lr: 0.006 });
  rec.addProbe({ step: 2, rates: [0.0001, 0.95], silent: [1, 0], saturated: [0, 1], synops: 12 });
  rec.addEval(2, { train_accuracy: 0.5, test_accuracy: 0.4 });
  rec.addTrain({ losses: [1.8], lrs: [0.006], step: 3, lr: 0.005 });
  assert.deepEqual(rec.steps.map((s) => s.step), [1, 2, 3]);
  assert.deepEqual(rec.steps.map((s) => s.lr), [0.01, 0.007, 0.006], 'the rate each step used, as the worker saw it');
  const json = rec.toJSON();
  assert.equal(json.label, 'psp');
  assert.deepEqual(json.summary, {
    steps: 3, test_accuracy: 0.4, train_accuracy: 0.5, mean_rate: (0.0001 + 0.95) / 2,
    silent_layers: 1, saturated_layers: 1, synops: 12, layers: 2,
    // activity.js's neuron shares of the step-2 probe: L1 all silent, L2 all saturated.
    overfiring_layers: 1, dead_layers: 1, worst_saturated_layer: 2, worst_saturated_share: 1, worst_silent_layer: 1, worst_silent_share: 1,
    // These probes carry no energy estimate (crate/src/energy.rs sends one with every probe).
    energy_nj: null, ann_nj: null, break_even_rate: null,
  });
  const other = new Recording(defaults(), 'bn');
  other.addTrain({ losses: [2.2], step: 1, lr: 0.003 });
  const lines = toCsv([rec, other]).trim().split('\n');
  assert.equal(lines[0], 'run,step,loss,lr,train_accuracy,test_accuracy,rate_l1,rate_l2');
  assert.equal(lines.length, 1 + 3 + 1);
  assert.equal(lines[2], 'psp,2,1.9,0.007,0.5,0.4,0.0001,0.95', 'the evaluation and probe made after step 2');
  assert.equal(lines[1], 'psp,1,2,0.01,0.1,0.1,0.1,0.2', 'step 1 sees the step-0 probe');
  assert.equal(lines[4], 'bn,1,2.2,0.003,,,,', 'nothing known yet stays empty');
  assert.equal(toCsv([new Recording(defaults())]).split('\n')[0], 'step,loss,lr,train_accuracy,test_accuracy', 'explore: no run column');
  rec.addEval(3, { train_accuracy: 0.6, test_accuracy: 0.5, epochEnd: true });
  assert.equal(rec.evals.at(-1).epoch_end, true, 'an epoch-end evaluation is marked');
});

test('a compare value longer than 64 characters is refused, quoted short, and the link falls back', () => {
  const long1 = '1'.repeat(20000);
  const parsed = parseSpec('depth', `${long1},${'2'.repeat(20000)}`);
  assert.equal(parsed.error, "depth value '1111…' is too long (20000 characters; at most 64)");
  assert.equal(parsed.spec, undefined);
  const linked = readCompare(`#compare=depth:${long1},2`);
  assert.match(linked.error, /^depth value '1111…' is too long \(20000 characters; at most 64\)$/);
  assert.equal(linked.spec, undefined, 'no spec: the page compares its default instead');
  assert.ok(parseSpec('depth', `${'0'.repeat(63)}4,8`).spec, '64 characters are still taken');
  assert.ok(readCompare(`#compare=${'x'.repeat(100000)}`).error.length < 100, 'a broken spec is quoted short');
  assert.ok(readCompare(`#compare=${'x'.repeat(100000)}:1,2`).error.length < 100, 'and so is an unknown field');
});

test('a label is shortened with a few measurements, however long it is', async () => {
  const { ellipsis } = await import('../web/charts/rate-heatmaps.js');
  let calls = 0;
  const ctx = { measureText: (t) => (calls++, { width: t.length * 6 }) };
  const out = ellipsis(ctx, 'x'.repeat(100000), 60);
  assert.equal(out, `${'x'.repeat(9)}…`, 'the longest cut that fits');
  assert.ok(calls <= 20, `${calls} measurements`);
  assert.equal(ellipsis(ctx, 'short', 60), 'short');
  assert.equal(ellipsis(ctx, 'abcdef', 5), 'a…', 'at least one character is kept');
});
