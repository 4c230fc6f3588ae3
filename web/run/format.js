// Small number and word formats shared by the page's status figures and charts.

/** Steps per second: one decimal below 10 (a 101-layer conv net does ~0.4), whole above. */
export const formatRate = (r) => (r < 10 ? r.toFixed(1) : r.toFixed(0));

/** `v` to `digits` decimals, never "-0.0" (a tiny negative rounds to plain zero). */
export function fixed(v, digits = 1) {
  const s = v.toFixed(digits);
  return Number(s) === 0 ? (0).toFixed(digits) : s;
}

/** "1 step", "2 steps". */
export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** How long a message the page shows may be before its middle is left out. */
export const MAX_MESSAGE = 600;

/**
 * `text` with its middle left out when it is longer than `max` characters ("… (N characters
 * left out) …"): a message that echoes a huge value (one 50,000-digit CSV cell) keeps its start,
 * which names the file and where, and its end, which says why.
 */
export function elide(text, max = MAX_MESSAGE) {
  const s = String(text);
  if (s.length <= max) return s;
  const head = Math.ceil(max * 0.6);
  const tail = max - head;
  return `${s.slice(0, head)} … (${s.length - head - tail} characters left out) … ${s.slice(s.length - tail)}`;
}

/** nJ as people read them: 0.42 nJ, 3.1 nJ, 12 nJ, 1.2 µJ. */
export function nanojoules(nj) {
  if (!Number.isFinite(nj)) return '–';
  if (nj >= 1000) return `${(nj / 1000).toPrecision(2)} µJ`;
  return nj >= 10 ? `${nj.toFixed(0)} nJ` : `${nj.toPrecision(2)} nJ`;
}

/**
 * What an energy estimate (crate/src/energy.rs) says, for a title: SNN and ANN per precision,
 * the break-even rate, each layer's share, and that it is an estimate.
 */
export function energyTitle(e) {
  if (!e?.costs?.length) return '';
  const lines = e.costs.map((c) => `${c.precision.toUpperCase()}: SNN ${nanojoules(c.snn_nj)}, ANN ${nanojoules(c.ann_nj)}, `
    + (c.break_even_rate === null ? 'the SNN costs more even silent' : `the SNN pays off below a mean rate of ${c.break_even_rate.toFixed(3)}`));
  const layers = e.layers.map((l, i) => `${i === e.layers.length - 1 ? 'readout' : `L${i + 1}`} ${nanojoules(l.nj)}`).join(', ');
  return `An estimate per sample (Horowitz 2014, 45 nm; memory traffic not counted):\n${lines.join('\n')}\nFP32 per layer: ${layers}`;
}
