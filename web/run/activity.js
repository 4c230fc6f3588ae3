// What "silent" and "saturated" mean, once for every chart and table on the page. The core
// defines them in crate/src/metrics.rs (docs/METHOD.md, "Metrics"), and this mirrors it:
// - per neuron, the fractions each probe reports (`LayerStats::silent`, `::saturated`): a neuron
//   is silent when it never fired on the probe batch (rate 0) and saturated at a rate of
//   SATURATED or more;
// - per layer (`metrics::silent_layers`, `saturated_layers`: the CLI's `compare` table,
//   docs/RESULTS.md and the page's summary table): a hidden layer is silent when its mean rate
//   is below SILENT_LAYER and saturated when its mean rate is SATURATED or more;
// - per layer, from its neurons (the page only; the core reports the shares, the CLI shows no
//   count of these): a layer "has over-firing neurons" when OVERFIRING_SHARE (10 %) or more of
//   its neurons are saturated, and "has dead neurons" when DEAD_SHARE (50 %) or more never fired.
//   A mean rate hides both: a layer with 44 % of its neurons saturated and 47 % silent has a mean
//   rate of about 0.43, inside the useful band, yet half of it passes nothing on and the rest
//   fires at nearly every step (the paper's "excessive firing"). The bounds are a reading
//   choice, not the core's: one neuron in ten firing at almost every step is no longer a
//   straggler but a part of the layer that carries little information; half the neurons silent
//   on the whole probe batch means most of the layer's width is unused.
// The per-layer (mean-rate) rule stays the one for "silent layer" and "saturated layer"; the
// neuron-share view is shown beside it (rate charts, network view, stats, summary table,
// downloads), never instead of it.

/** `metrics::SATURATED`: a neuron, or a layer's mean rate, at this rate or more is saturated. */
export const SATURATED = 0.9;
/** `metrics::SILENT_LAYER`: a layer whose mean rate is below this (about one spike per thousand
 * neuron-steps) passes almost nothing on. */
export const SILENT_LAYER = 1e-3;

/** 'silent', 'saturated' or 'ok': what a hidden layer with mean rate `rate` is. */
export function layerActivity(rate) {
  if (rate < SILENT_LAYER) return 'silent';
  if (rate >= SATURATED) return 'saturated';
  return 'ok';
}

/** How many of the layers with mean rates `rates` are silent and how many saturated. */
export function countLayers(rates) {
  const count = { silent: 0, saturated: 0 };
  for (const r of rates) {
    const a = layerActivity(r);
    if (a !== 'ok') count[a] += 1;
  }
  return count;
}

/** A layer with this share of its neurons saturated or more "has over-firing neurons". */
export const OVERFIRING_SHARE = 0.1;
/** A layer with this share of its neurons silent or more "has dead neurons". */
export const DEAD_SHARE = 0.5;

/** What a layer's neuron shares say: { overFiring, dead } (booleans), by the bounds above. */
export function neuronActivity(silent, saturated) {
  return { overFiring: saturated >= OVERFIRING_SHARE, dead: silent >= DEAD_SHARE };
}

/**
 * The neuron-share view of a probe's layers (`silent[i]`, `saturated[i]`: the shares of layer
 * i's neurons): how many layers have over-firing and dead neurons, and the layer (0-based) with
 * the largest share of each, or null with no layers. Missing shares (an older recording) count
 * as none.
 */
export function neuronShares(silent = [], saturated = []) {
  const n = Math.max(silent?.length ?? 0, saturated?.length ?? 0);
  const out = { overFiring: 0, dead: 0, worstSaturated: null, worstSilent: null };
  for (let i = 0; i < n; i++) {
    const si = silent?.[i] ?? 0, sa = saturated?.[i] ?? 0;
    const a = neuronActivity(si, sa);
    out.overFiring += a.overFiring;
    out.dead += a.dead;
    if (!out.worstSaturated || sa > out.worstSaturated.share) out.worstSaturated = { layer: i, share: sa };
    if (!out.worstSilent || si > out.worstSilent.share) out.worstSilent = { layer: i, share: si };
  }
  return out;
}

const pct = (v) => `${Math.round(v * 100)} %`;

/**
 * The neuron-share view in words, for the stats line and the charts' descriptions: e.g.
 * "3 layers with ≥ 10 % saturated neurons (worst L5: 44 %); 2 with ≥ 50 % silent (worst L9:
 * 61 %)", or "no layer with ≥ 10 % saturated or ≥ 50 % silent neurons".
 */
export function describeShares(silent, saturated) {
  const s = neuronShares(silent, saturated);
  const parts = [];
  const layers = (k) => `${k} layer${k === 1 ? '' : 's'}`;
  if (s.overFiring) parts.push(`${layers(s.overFiring)} with ≥ ${pct(OVERFIRING_SHARE)} saturated neurons (worst L${s.worstSaturated.layer + 1}: ${pct(s.worstSaturated.share)})`);
  if (s.dead) parts.push(`${layers(s.dead)} with ≥ ${pct(DEAD_SHARE)} silent neurons (worst L${s.worstSilent.layer + 1}: ${pct(s.worstSilent.share)})`);
  return parts.length ? parts.join('; ') : `no layer with ≥ ${pct(OVERFIRING_SHARE)} saturated or ≥ ${pct(DEAD_SHARE)} silent neurons`;
}
