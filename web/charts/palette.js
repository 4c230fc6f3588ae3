// The compare runs' styles: a colour and a line dash per run, so 8 runs stay apart for a reader
// with any of the three colour-vision deficiencies, in greyscale print, and on a washed-out
// projector (the dash says which run a line is where the colour cannot). The colours were found
// by a search over colours at 3:1 contrast or more against the chart's white (WCAG's bound for
// graphics) for the largest smallest CIEDE2000 difference between any two, in normal vision and
// under deuteranopia, protanopia and tritanopia simulated with Machado et al. (2009) at severity
// 1.0; Okabe-Ito and Paul Tol's "bright" and "muted" fail the contrast bound with 2 to 3 of their
// colours. tests/palette.test.mjs checks every bound: ΔE2000 >= 10 for every pair (with the grey
// too) in each vision, contrast >= 3:1, the dashes all different.
// It imports nothing, so the compare spec (and node tests) can use it.

/** One style per run index: [{ color, dash }], dash in CSS px for a 2 px line ([] = solid). */
export const RUN_STYLES = [
  { color: '#0420fd', dash: [] }, // blue, solid
  { color: '#db500b', dash: [10, 4] }, // orange, long dashes
  { color: '#019e60', dash: [2, 3] }, // green, dots
  { color: '#c277ae', dash: [10, 3, 2, 3] }, // pink, dash-dot
  { color: '#76348e', dash: [5, 5] }, // purple, short dashes
  { color: '#9d0000', dash: [10, 3, 2, 3, 2, 3] }, // dark red, dash-dot-dot
  { color: '#7671ff', dash: [16, 3, 5, 3] }, // lavender, long-short
  { color: '#8c2350', dash: [2, 7] }, // wine, sparse dots
];

/** A ninth style for the comparison's baseline (no normalization): grey, dense dashes. */
export const NEUTRAL_STYLE = { color: '#7b7b7b', dash: [7, 2] };

/**
 * Comparing norms, each norm keeps one style in every comparison and preset (PSP norm, the
 * paper's, always the green dots; no norm the grey), so a reader never has to relearn the legend.
 * There are 9 norms and at most 8 runs, so no comparison shows two norms in one style.
 */
export const NORM_STYLES = {
  none: NEUTRAL_STYLE, psp: RUN_STYLES[2], bn: RUN_STYLES[0], tdbn: RUN_STYLES[6], tebn: RUN_STYLES[5],
  bntt: RUN_STYLES[4], mpbn: RUN_STYLES[7], layer: RUN_STYLES[3], rms: RUN_STYLES[1],
};

/** An SVG line sample of a style, for legends and table swatches (the colour and the dash). */
export function swatchSvg(doc, { color, dash }, width = 24, height = 8) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = doc.createElementNS(ns, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('aria-hidden', 'true');
  svg.classList.add('swatch-line');
  const line = doc.createElementNS(ns, 'line');
  Object.entries({ x1: 0, y1: height / 2, x2: width, y2: height / 2, stroke: color, 'stroke-width': 2.5 })
    .forEach(([k, v]) => line.setAttribute(k, String(v)));
  if (dash.length) line.setAttribute('stroke-dasharray', dash.join(' '));
  svg.append(line);
  return svg;
}
