// The compare runs' styles (web/charts/palette.js) stay apart for every reader. The colour maths
// (tests/color-vision.mjs) is written out and checked first against published numbers, so a
// broken formula cannot pass the palette.
// Bounds, and why: CIEDE2000 >= 10 between every two colours (the grey baseline included) in
// normal vision and under each simulated dichromacy (Machado et al. 2009, severity 1.0, in linear
// RGB): a ΔE2000 of about 2 is a just-noticeable difference for patches side by side, and thin
// lines far apart on a chart need several times that (Szafir 2018, "Modeling color difference
// for visualization design", IEEE TVCG 24(1): thin marks need markedly larger differences than
// large patches), so 10 is a margin, not a bare pass. Contrast >= 3:1 against the chart's white: WCAG 2.1's
// non-text contrast bound (1.4.11) for parts of graphics.
import test from 'node:test';
import assert from 'node:assert/strict';
import { MACHADO, contrast, deltaE2000, hexToRgb, linToLab, seen, simulate, toLinear } from './color-vision.mjs';
import { NEUTRAL_STYLE, NORM_STYLES, RUN_STYLES } from '../web/charts/palette.js';

const MIN_DE2000 = 10;
const MIN_CONTRAST = 3;
const BACKGROUND = '#ffffff'; // --card in web/style.css, behind every chart
const VISIONS = [null, 'deuteranopia', 'protanopia', 'tritanopia'];

test('the colour maths reproduces published numbers', () => {
  // Sharma, Wu & Dalal (2005), table 1: pairs 1, 7, 17 and 25 with their ΔE2000.
  const pairs = [
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, 0, 0], [50, -1, 2], 2.3669],
    [[50, 2.5, 0], [73, 25, -18], 27.1492],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
  ];
  for (const [a, b, want] of pairs) assert.ok(Math.abs(deltaE2000(a, b) - want) < 1e-4, `ΔE2000 ${deltaE2000(a, b)} vs ${want}`);
  // CIELAB of sRGB primaries (D65), as every converter gives them: red 53.24, 80.09, 67.20.
  const red = linToLab(hexToRgb('#ff0000').map(toLinear));
  [53.24, 80.09, 67.2].forEach((v, i) => assert.ok(Math.abs(red[i] - v) < 0.02, `red Lab ${red}`));
  assert.ok(Math.abs(linToLab([1, 1, 1])[0] - 100) < 1e-4 && Math.abs(linToLab([1, 1, 1])[1]) < 0.01, 'white is L 100, a 0');
  // WCAG: black on white is 21:1; #767676 on white is the known 4.54:1.
  assert.ok(Math.abs(contrast('#000000', '#ffffff') - 21) < 1e-9);
  assert.ok(Math.abs(contrast('#767676', '#ffffff') - 4.54) < 0.005);
  // Each Machado matrix keeps white white (rows sum to 1) and is not the identity.
  for (const [kind, m] of Object.entries(MACHADO)) {
    m.forEach((row) => assert.ok(Math.abs(row[0] + row[1] + row[2] - 1) < 1e-5, `${kind} row sums to 1`));
    assert.ok(Math.abs(m[0][0] - 1) > 0.1, `${kind} changes colours`);
  }
  // d3's red and green, far apart in normal vision, nearly merge for a deuteranope; a protanope
  // keeps mostly their lightness difference (the red darkens).
  const rg = (kind) => deltaE2000(seen('#d62728', kind), seen('#2ca02c', kind));
  assert.ok(rg(null) > 50 && rg('deuteranopia') < 10 && rg('protanopia') < rg(null) / 2, `red/green ${rg(null)} ${rg('protanopia')} ${rg('deuteranopia')}`);
  assert.deepEqual(simulate([0.2, 0.3, 0.4], null), [0.2, 0.3, 0.4]);
});

const STYLES = [...RUN_STYLES, NEUTRAL_STYLE];

test(`every two run colours are ΔE2000 >= ${MIN_DE2000} apart in normal vision and under each dichromacy`, () => {
  assert.equal(RUN_STYLES.length, 8, 'one style per run, for up to 8 runs');
  for (const kind of VISIONS) {
    for (let i = 0; i < STYLES.length; i++) {
      for (let j = i + 1; j < STYLES.length; j++) {
        const d = deltaE2000(seen(STYLES[i].color, kind), seen(STYLES[j].color, kind));
        assert.ok(d >= MIN_DE2000, `${STYLES[i].color} and ${STYLES[j].color}: ΔE2000 ${d.toFixed(1)} ${kind ?? 'normal vision'}`);
      }
    }
  }
});

test('the bound tells palettes apart: the old one (d3 category10) fails it', () => {
  const d3 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  let worst = Infinity;
  for (const kind of VISIONS) for (let i = 0; i < 8; i++) for (let j = i + 1; j < 8; j++) worst = Math.min(worst, deltaE2000(seen(d3[i], kind), seen(d3[j], kind)));
  assert.ok(worst < MIN_DE2000, `d3's worst pair ${worst.toFixed(1)}`);
});

test(`every run colour has >= ${MIN_CONTRAST}:1 contrast against the chart background`, () => {
  for (const { color } of STYLES) {
    const c = contrast(color, BACKGROUND);
    assert.ok(c >= MIN_CONTRAST, `${color}: ${c.toFixed(2)}:1`);
  }
});

test('the dash patterns are all different, even scaled, and each is visible', () => {
  // Canvas and SVG repeat an odd-length dash list twice; a pattern that is another scaled is the
  // same look at another size, so compare the patterns as shares of their period.
  const norm = (d) => {
    const full = d.length % 2 ? [...d, ...d] : d;
    const period = full.reduce((a, b) => a + b, 0);
    return full.length ? full.map((v) => (v / period).toFixed(3)).join(',') : 'solid';
  };
  const seenDash = new Map();
  for (const { color, dash } of STYLES) {
    const key = norm(dash);
    assert.ok(!seenDash.has(key), `${color} dashes like ${seenDash.get(key)}`);
    seenDash.set(key, color);
    for (const v of dash) assert.ok(v >= 2, `${color}: a dash or gap under 2 px is lost at 2 px line width`);
  }
  assert.equal(seenDash.size, 9);
});

test('each norm keeps one style, and no two norms share one', () => {
  const styles = Object.values(NORM_STYLES);
  assert.equal(new Set(styles).size, styles.length);
  assert.equal(NORM_STYLES.none, NEUTRAL_STYLE);
  for (const s of styles) assert.ok(STYLES.includes(s), 'a norm uses a tested style');
});
