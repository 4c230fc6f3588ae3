// The energy estimate as the page shows it (crate/src/energy.rs computes it): the summary
// table's FP32 figures, nJ as people read them, and the title that says it is an estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { energyTitle, nanojoules } from '../web/run/format.js';
import { summarize } from '../web/run/recording.js';

const energy = {
  layers: [{ acs: 0, macs: 80, ann_macs: 32, nj: 0.368 }, { acs: 64, macs: 16, ann_macs: 64, nj: 0.1312 }, { acs: 12, macs: 6, ann_macs: 24, nj: 0.0384 }],
  acs: 76, macs: 102, ann_macs: 120,
  costs: [
    { precision: 'fp32', snn_nj: 0.5376, ann_nj: 0.552, break_even_rate: 0.5227 },
    { precision: 'fp16', snn_nj: 0.183, ann_nj: 0.18, break_even_rate: null },
    { precision: 'int8', snn_nj: 0.0258, ann_nj: 0.0276, break_even_rate: 0.6 },
  ],
};

test('the summary takes the FP32 estimate of the latest probe', () => {
  const s = summarize({ rates: [0.5, 0.25], silent: [0, 0], saturated: [0, 0], synops: 76, energy }, null, 3);
  assert.deepEqual([s.energy_nj, s.ann_nj, s.break_even_rate], [0.5376, 0.552, 0.5227]);
  const old = summarize({ rates: [0.5], silent: [0], saturated: [0], synops: 1 }, null, 1);
  assert.equal(old.energy_nj, null, 'a probe from before the estimate has none');
});

test('nanojoules read as people read them', () => {
  assert.deepEqual([0.5376, 3.14, 12.4, 1234, NaN].map(nanojoules), ['0.54 nJ', '3.1 nJ', '12 nJ', '1.2 µJ', '–']);
});

test('the title gives every precision, the break-even rate, each layer, and says estimate', () => {
  const t = energyTitle(energy);
  assert.match(t, /^An estimate per sample \(Horowitz 2014, 45 nm; memory traffic not counted\)/);
  assert.match(t, /FP32: SNN 0\.54 nJ, ANN 0\.55 nJ, the SNN pays off below a mean rate of 0\.523/);
  assert.match(t, /FP16: .* the SNN costs more even silent/);
  assert.match(t, /FP32 per layer: L1 0\.37 nJ, L2 0\.13 nJ, readout 0\.038 nJ$/);
  assert.equal(energyTitle(null), '');
});
