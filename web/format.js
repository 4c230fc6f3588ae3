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
