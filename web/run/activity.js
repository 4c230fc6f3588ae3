// What "silent" and "saturated" mean, once for every chart and table on the page. The core
// defines them in crate/src/metrics.rs (docs/METHOD.md, "Metrics"), and this mirrors it:
// - per neuron, the fractions each probe reports (`LayerStats::silent`, `::saturated`): a neuron
//   is silent when it never fired on the probe batch (rate 0) and saturated at a rate of
//   SATURATED or more;
// - per layer (`metrics::silent_layers`, `saturated_layers`: the CLI's `compare` table,
//   docs/RESULTS.md and the page's summary table): a hidden layer is silent when its mean rate
//   is below SILENT_LAYER and saturated when its mean rate is SATURATED or more.
// The explore charts used to flag a layer also when 90 % of its neurons were silent or half of
// them saturated; they now use the per-layer rule above, the summary table's and the core's.

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
