// The one rule for silent and saturated layers (web/run/activity.js), which mirrors
// crate/src/metrics.rs (SILENT_LAYER = 1e-3, SATURATED = 0.9, `silent_layers` counts layers with
// a mean rate below SILENT_LAYER, `saturated_layers` those at SATURATED or more), and the
// summary table counting by it. The expected flags below are those bounds read by hand.
import test from 'node:test';
import assert from 'node:assert/strict';
import { SATURATED, SILENT_LAYER, countLayers, layerActivity } from '../web/run/activity.js';
import { summarize } from '../web/run/recording.js';

test('a layer is silent below a mean rate of 0.001 and saturated at 0.9 or more', () => {
  assert.equal(SILENT_LAYER, 1e-3);
  assert.equal(SATURATED, 0.9);
  const cases = [[0, 'silent'], [0.000999, 'silent'], [0.001, 'ok'], [0.5, 'ok'], [0.899, 'ok'], [0.9, 'saturated'], [1, 'saturated']];
  for (const [rate, want] of cases) assert.equal(layerActivity(rate), want, `rate ${rate}`);
  assert.deepEqual(countLayers([0, 0.0005, 0.2, 0.95, 0.9]), { silent: 2, saturated: 2 });
  assert.deepEqual(countLayers([]), { silent: 0, saturated: 0 });
});

test('the summary table counts layers by the same rule as the charts', () => {
  // Per-neuron fractions do not flag a layer: 95 % of its neurons silent, but a mean rate of 0.01.
  const probe = { step: 3, rates: [0.01, 0.0001, 0.92], silent: [0.95, 1, 0], saturated: [0, 0, 0.6], synops: 5 };
  const s = summarize(probe, null, 3);
  assert.equal(s.silent_layers, 1);
  assert.equal(s.saturated_layers, 1);
  assert.deepEqual(countLayers(probe.rates), { silent: s.silent_layers, saturated: s.saturated_layers });
  assert.equal(probe.rates.map(layerActivity).join(), 'ok,silent,saturated');
});
