// The paper's story as ready-made comparisons. Each preset is data: the settings it fixes
// (`base`, on top of the page defaults, never on top of what the user had, so a preset always
// shows the same thing), the field it varies, and what to watch. The numbers are first
// measured with the CLI on the same configs (docs/RESULTS.md); change them here and nowhere else.
// Choosing a preset is a request to watch it: it starts training at once (a link that
// contains a comparison loads paused, like any link). A preset without `compare` is a single
// run, opened in Explore mode (the big conv nets would crawl if several shared two cores).
import { defaults } from './state.js';

export const PRESETS = [
  {
    id: 'deep-plain',
    title: 'A deep plain net: no norm, BN and PSP norm',
    what_to_watch: 'Twelve spiking layers in a plain stack, no shortcuts, four time steps. Without ' +
      'normalization the rates first die out layer by layer: from the fourth layer on nothing fires (pale rows ' +
      'at the left of its rate history) and its loss sits at chance. A few hundred steps later training wakes ' +
      'them, but the middle layers then fire far above the band (dark rows) and accuracy stays low. BN and PSP ' +
      'norm keep every layer in the band and both learn; in our runs BN learns faster than PSP norm in a plain ' +
      'stack this deep, and residual blocks close the gap (docs/RESULTS.md).',
    base: { dataset: 'digits', depth: 12, width: 64, timesteps: 4, residual: false, lr: 0.003, batch: 32 },
    compare: { field: 'norm', values: ['none', 'bn', 'psp'] },
  },
  {
    id: 'over-firing',
    title: 'Over-firing: the paper\'s problem, and PSP norm against it',
    what_to_watch: 'Twelve plain layers of IF neurons (no leak) with a real postsynaptic potential: each spike leaves a ' +
      'trace that decays by 0.9 a step and adds up layer after layer, at half the usual threshold, 16 time steps. Without ' +
      'a norm the deep layers split: in our runs 38 % of the worst layer\'s neurons fire at 0.9 or more while half never ' +
      'fire, so its mean rate (about 0.4) looks harmless; the red and grey marks of the rate chart show the split. PSP ' +
      'norm keeps the saturated share under about 7 % and learns (54 % after 10 epochs, 3 seeds); BN keeps it at zero but ' +
      'learns no better than no norm here (17 % against 15 %). docs/RESULTS.md, "The trace regime".',
    base: { dataset: 'digits', depth: 12, width: 64, timesteps: 16, psp_lambda: 0.9, beta: 1, theta: 0.5, batch: 64, lr: 0.003 },
    compare: { field: 'norm', values: ['none', 'bn', 'psp'] },
  },
  {
    id: 'norms-differ',
    title: 'Where the norms part ways: 16 plain layers',
    what_to_watch: 'Sixteen plain layers, four time steps, no PSP trace: the depth where our grid separates the norms ' +
      '(docs/RESULTS.md: after 10 epochs PSP 34.8 %, BN 77.1 %, TEBN 88.6 %, no norm 10.1 %). Without a norm the deep ' +
      'layers fall silent and nothing is learned; the three norms all keep the rates in the band, so watch the accuracy: ' +
      'BN and TEBN pull ahead within the first hundred steps and PSP norm follows slowly. Here the paper\'s claim that ' +
      'PSP norm beats the others is not reproduced; with the trace on (the over-firing preset) the order turns.',
    base: { dataset: 'digits', depth: 16, width: 64, timesteps: 4, batch: 64, lr: 0.003 },
    compare: { field: 'norm', values: ['none', 'psp', 'bn', 'tebn'] },
  },
  {
    id: 'residual-100',
    title: '100+ layers: residual PSP net vs the same depth plain',
    what_to_watch: '101 weight layers of 32 neurons with PSP norm, with and without pre-activation residual ' +
      'blocks. Each heatmap has one row per layer: the plain net must pass the signal through all of them, ' +
      'while the residual net also carries it around each block. Watch the loss and the test accuracy: the ' +
      'paper\'s claim is that only the residual one trains (in our runs it passes 90 % within about 150 steps; the plain one stays at chance). Each step runs 101 layers forward and back (about 20 to 50 steps/s here); the first takes a few seconds.',
    base: { dataset: 'digits', depth: 101, width: 32, timesteps: 4, norm: 'psp', batch: 32, probe_samples: 64 },
    compare: { field: 'residual', values: [true, false] },
  },
  {
    id: 'init-scale',
    title: 'Provoke over-firing and dying',
    what_to_watch: 'Init scale multiplies the starting weights of these eight unnormalized layers (1 is the ' +
      'usual choice). At 0.3 too little current passes on: the rates die out with depth (pale rows) and nothing ' +
      'is learned until training slowly wakes the layers, hundreds of steps later. At 10 the currents are far ' +
      'too strong: rates start higher, many neurons fire at every step (the Sat. neurons column of the summary gives the share)' +
      ' and the loss takes longer to fall, though it does learn. Then set Normalization on the left to ' +
      'bn or psp and compare again.',
    base: { dataset: 'digits', depth: 8, timesteps: 4, norm: 'none' },
    compare: { field: 'init_scale', values: [0.3, 1, 10] },
  },
  {
    id: 'mnist14-conv',
    title: 'MNIST 14x14 with a small conv net',
    what_to_watch: 'Three 3x3 convolutional spiking layers of 8 channels with PSP norm, on 10,000 MNIST digits ' +
      'shrunk to 14x14 (downloaded on first use, 0.7 MB); two 2x2 poolings shrink the maps to 7x7 and then 3x3 ' +
      'for the readout. Direct encoding feeds each pixel as a current for 4 steps (see "Input over time"). In our ' +
      'run on a 2-core machine (about 80 steps/s) the test accuracy passed 70 % within 3 seconds, 80 % within 5 and 90 % within 10. ' +
      'While training, the accuracy is an estimate (≈) on 512 samples per split, exact at each epoch\'s end (250 steps).',
    base: { dataset: 'mnist14', conv: true, residual: false, depth: 3, width: 8, pools: 2, timesteps: 4, batch: 32, norm: 'psp', encoding: 'direct' },
  },
  {
    id: 'residual-conv-101',
    title: '101-layer residual conv net on MNIST 14x14',
    what_to_watch: 'The paper\'s depth on images: a stem and 50 pre-activation residual blocks of 3x3 convolutions ' +
      '(4 channels each, PSP norm, 2 time steps), pooled twice. Each step runs 101 conv layers forward and back ' +
      'on one CPU core (about 20 steps/s on our 2-core machine): the test accuracy passed 50 % after about 10 seconds ' +
      'and 80 % after about 40. Watch the rate profile and the rate history too: with PSP norm and residual blocks every one of the ' +
      '101 layers keeps firing, none falls silent.',
    base: { dataset: 'mnist14', conv: true, residual: true, depth: 101, width: 4, pools: 2, timesteps: 2, batch: 16, probe_samples: 16, norm: 'psp' },
  },
];

export const PRESET_BY_ID = Object.fromEntries(PRESETS.map((p) => [p.id, p]));

/** The full base config of a preset: the page defaults with the preset's fields on top. */
export const presetBase = (preset) => ({ ...defaults(), ...preset.base });

/** The comparison of a preset, values as the texts a link carries (null: a single run). */
export const presetSpec = (preset) => (preset.compare ? { field: preset.compare.field, values: preset.compare.values.map(String) } : null);
