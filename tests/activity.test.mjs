// The one rule for silent and saturated layers (web/run/activity.js), which mirrors
// crate/src/metrics.rs (SILENT_LAYER = 1e-3, SATURATED = 0.9, `silent_layers` counts layers with
// a mean rate below SILENT_LAYER, `saturated_layers` those at SATURATED or more), and the
// summary table counting by it. The expected flags below are those bounds read by hand.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  DEAD_SHARE, OVERFIRING_SHARE, SATURATED, SILENT_LAYER, countLayers, describeShares, layerActivity, neuronActivity, neuronShares,
} from '../web/run/activity.js';
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

// The neuron-share view (activity.js): a layer has over-firing neurons at OVERFIRING_SHARE (0.1)
// or more of them saturated, and dead neurons at DEAD_SHARE (0.5) or more silent. The layer
// below is the one from issue 18 (the CLI's depth-16 plain net): 44 % saturated, 47 % silent,
// mean rate 0.43, which the mean-rate rule calls fine.
test('a layer with 10 % of its neurons saturated over-fires, one with half of them silent has dead neurons', () => {
  assert.equal(OVERFIRING_SHARE, 0.1);
  assert.equal(DEAD_SHARE, 0.5);
  assert.equal(layerActivity(0.43), 'ok');
  assert.deepEqual(neuronActivity(0.47, 0.44), { overFiring: true, dead: false });
  assert.deepEqual(neuronActivity(0.5, 0.099), { overFiring: false, dead: true });
  assert.deepEqual(neuronActivity(0.499, 0.1), { overFiring: true, dead: false });
  assert.deepEqual(neuronActivity(0, 0), { overFiring: false, dead: false });
});

test('the worst layer and the counts of the neuron-share view, and its words', () => {
  const silent = [0.1, 0.47, 0.62, 0];
  const saturated = [0, 0.44, 0.02, 0.12];
  const s = neuronShares(silent, saturated);
  assert.equal(s.overFiring, 2, 'L2 (44 %) and L4 (12 %)');
  assert.equal(s.dead, 1, 'L3 (62 %)');
  assert.deepEqual(s.worstSaturated, { layer: 1, share: 0.44 });
  assert.deepEqual(s.worstSilent, { layer: 2, share: 0.62 });
  assert.equal(describeShares(silent, saturated),
    '2 layers with ≥ 10 % saturated neurons (worst L2: 44 %); 1 layer with ≥ 50 % silent neurons (worst L3: 62 %)');
  assert.equal(describeShares([0.2], [0.05]), 'no layer with ≥ 10 % saturated or ≥ 50 % silent neurons');
  assert.deepEqual(neuronShares([], []), { overFiring: 0, dead: 0, worstSaturated: null, worstSilent: null });
  assert.deepEqual(neuronShares(undefined, undefined).worstSilent, null, 'an old recording without shares');
});

test('the summary carries the neuron-share view of the latest probe beside the layer counts', () => {
  const probe = { step: 9, rates: [0.43, 0.2], silent: [0.47, 0.6], saturated: [0.44, 0], synops: 1 };
  const s = summarize(probe, null, 9);
  assert.equal(s.silent_layers, 0, 'no mean rate below 0.001');
  assert.equal(s.saturated_layers, 0, 'no mean rate at 0.9');
  assert.equal(s.overfiring_layers, 1);
  assert.equal(s.dead_layers, 1);
  assert.equal(s.worst_saturated_layer, 1);
  assert.equal(s.worst_saturated_share, 0.44);
  assert.equal(s.worst_silent_layer, 2);
  assert.equal(s.worst_silent_share, 0.6);
  assert.equal(summarize(null, null, 0).worst_saturated_share, null);
});
