// The recording's probe thinning keeps a run's early history reachable (the history scrubber
// drags back to it) while bounding memory; probeAt / evalAt / summaryAt read it at a step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EARLY_PROBES, MAX_PROBES, Recording } from '../web/run/recording.js';

const probe = (step) => ({ step, rates: [step / 1e5, 0.1], silent: [0, 0], saturated: [0, 0], synops: step });

/** A run of `steps` steps probed every `every` steps, as the worker's ~200 ms probes do. */
function run(steps, every) {
  const rec = new Recording({ lr: 0.01 });
  for (let s = 0; s <= steps; s += every) rec.addProbe(probe(s));
  return rec;
}

test('after 15,000 steps probed every step, step 50 is still recorded exactly', () => {
  const rec = run(15_000, 1);
  assert.ok(rec.probes.length <= MAX_PROBES, `${rec.probes.length} probes kept`);
  assert.equal(rec.probeAt(50).step, 50);
  assert.deepEqual(rec.probes.slice(0, EARLY_PROBES).map((p) => p.step), Array.from({ length: EARLY_PROBES }, (_, i) => i));
  // The latest stretch stays dense too, and the whole history is still spanned.
  assert.equal(rec.probes.at(-1).step, 15_000);
  assert.equal(rec.probes.at(-2).step, 14_999);
  const steps = rec.probes.map((p) => p.step);
  assert.ok(steps.every((s, i) => i === 0 || s > steps[i - 1]), 'in step order');
  const gaps = steps.slice(1).map((s, i) => s - steps[i]);
  assert.ok(Math.max(...gaps) < 200, `no hole of ${Math.max(...gaps)} steps`);
});

test('after 100,000 steps probed every 7 steps, a probe within 7 steps of step 50 is there', () => {
  const rec = run(100_000, 7);
  assert.ok(rec.probes.length <= MAX_PROBES);
  assert.ok(Math.abs(rec.probeAt(50).step - 50) <= 7, `nearest ${rec.probeAt(50).step}`);
});

test('probeAt and evalAt give the latest record at or before the step; summaryAt reads them', () => {
  const rec = new Recording({ lr: 0.01 });
  rec.addTrain({ losses: [1, 0.9, 0.8], lrs: [0.01, 0.01, 0.01], step: 3, lr: 0.01 });
  rec.addProbe({ step: 0, rates: [0.0001, 0.2], silent: [0.9, 0], saturated: [0, 0], synops: 10 });
  rec.addProbe({ step: 2, rates: [0.3, 0.95], silent: [0, 0], saturated: [0, 0.6], synops: 20 });
  rec.addEval(0, { train_accuracy: 0.1, test_accuracy: 0.12 });
  rec.addEval(2, { train_accuracy: 0.5, test_accuracy: 0.45 });
  assert.equal(rec.probeAt(1).step, 0);
  assert.equal(rec.probeAt(2).step, 2);
  assert.equal(rec.probeAt(99).step, 2);
  assert.equal(rec.evalAt(1).test_accuracy, 0.12);
  const at1 = rec.summaryAt(1), at3 = rec.summaryAt(3);
  assert.equal(at1.silent_layers, 1);
  assert.equal(at1.saturated_layers, 0);
  assert.equal(at1.test_accuracy, 0.12);
  assert.equal(at3.saturated_layers, 1);
  assert.equal(at3.test_accuracy, 0.45);
  assert.deepEqual(rec.summaryAt(3), rec.summary());
});
