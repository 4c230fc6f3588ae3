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
