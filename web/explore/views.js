// Explore mode's charts: built once, fed the numbers of the run on screen (explore.js decides
// which run that is), redrawn in animation frames. Also marks them stale (stale.js) while the
// page names a run or a layer whose numbers have not arrived yet.
import { AccuracyCurves, LossCurves } from '../charts/curves.js';
import { DecisionBoundary } from '../charts/boundary.js';
import { EncodedInput } from '../charts/encoded-input.js';
import { NetworkView } from '../charts/network.js';
import { MembraneTraces, SpikeRaster } from '../charts/raster.js';
import { RateHeatmap, RateProfile } from '../charts/rates.js';
import { redrawer } from '../charts/redraw.js';
import { Staleness } from './stale.js';
import { DEAD_SHARE, OVERFIRING_SHARE, describeShares, neuronShares } from '../run/activity.js';
import { energyTitle, nanojoules } from '../run/format.js';

const $ = (id) => document.getElementById(id);

/** " (8×14×14)" for a conv layer, "" for a dense one (its width is in the network view). */
function shapeOf(layout, layer) {
  const s = layout.conv ? layout.shapes?.[layer] : null;
  return s ? ` (${s.join('×')})` : '';
}

export class ExploreViews {
  /** `onLayer(layer)`: a layer was picked in the network view. */
  constructor(onLayer) {
    this.charts = {
      loss: new LossCurves($('chart-loss')),
      accuracy: new AccuracyCurves($('chart-accuracy')),
      profile: new RateProfile($('chart-profile')),
      heatmap: new RateHeatmap($('chart-heatmap')),
      raster: new SpikeRaster($('chart-raster')),
      membrane: new MembraneTraces($('chart-membrane')),
      boundary: new DecisionBoundary($('chart-boundary')),
      network: new NetworkView($('chart-network'), onLayer),
      input: new EncodedInput($('chart-input')),
    };
    this.redraw = redrawer(this.charts);
    this.stale = new Staleness($('views'), $('stale-note'), [$('raster-card'), $('membrane-card')]);
    this.layout = null;
    this.at = null; // the history scrubber's step, or null: the views follow the run live
  }

  /**
   * The history scrubber: the rate profile, network, stats and their share strips show the
   * run's recorded probe at `step`, and the loss, accuracy and rate-history charts mark it;
   * null goes back to live (`rec`'s latest probe). The raster, membrane, input and decision
   * boundary have no per-step record: their cards say they show the live run.
   */
  scrub(rec, step) {
    const c = this.charts;
    this.at = step;
    c.loss.mark = c.accuracy.mark = c.heatmap.mark = step;
    const p = step === null ? rec.probes.at(-1) : rec.probeAt(step);
    if (p) this.showRates(p);
    $('views').classList.toggle('scrubbed', step !== null);
    this.redraw('loss', 'accuracy', 'heatmap', 'profile', 'network');
  }

  redrawAll() {
    this.redraw(...Object.keys(this.charts));
  }

  /** A new run is on screen: empty curves and histories, its network. */
  start(layout) {
    const c = this.charts;
    this.layout = layout;
    this.at = null; // a new run is watched live
    $('views').classList.remove('scrubbed');
    c.input.clear();
    c.loss.clear();
    c.accuracy.clear();
    c.heatmap.clear();
    c.accuracy.setClasses(layout.classes); // after clear(), which forgets the classes
    c.network.setLayout(layout);
    c.boundary.setLayout(layout);
    $('membrane-note').textContent = layout.norm_placement === 'membrane'
      ? 'normalized by MPBN; a spike where a line reaches θ' : 'a spike where a line reaches θ';
    $('boundary-card').hidden = layout.features !== 2;
    $('views').classList.toggle('no-boundary', layout.features !== 2);
    this.redrawAll();
  }

  /** Names the selected layer and sample; the raster and membrane wait for their probe. */
  select({ layer, sample }) {
    const r = this.charts.raster.r;
    this.stale.updating(!!r && (r.layer !== layer || r.sample !== sample));
    this.charts.network.selected = this.charts.profile.selected = layer;
    const shape = this.layout ? shapeOf(this.layout, layer) : '';
    $('raster-title').textContent = `layer ${layer + 1}${shape}, sample ${sample + 1}`;
    this.redraw('network', 'profile');
  }

  input(input) {
    this.charts.input.set(input);
    $('input-title').textContent = `sample ${input.sample + 1}, label ${input.label} · ${input.encoding} · T=${input.steps}`;
    this.redraw('input');
  }

  losses(losses) {
    this.charts.loss.push(losses);
    this.redraw('loss');
  }

  accuracy(step, ev) {
    this.charts.accuracy.push(step, ev.train_accuracy, ev.test_accuracy);
    this.redraw('accuracy');
  }

  /**
   * The stats' neuron-share view (activity.js): the worst layer's share of saturated and of
   * silent neurons, marked past its bound, the full words in the title.
   */
  shares(p) {
    const s = neuronShares(p.silent, p.saturated);
    const words = describeShares(p.silent, p.saturated);
    const show = (id, worst, bound) => {
      const el = $(id);
      el.textContent = worst ? `${Math.round(worst.share * 100)}%` : '–';
      el.dataset.share = worst ? String(worst.share) : '';
      el.dataset.layer = worst ? String(worst.layer + 1) : '';
      el.classList.toggle('flagged', !!worst && worst.share >= bound);
      el.title = worst ? `L${worst.layer + 1}; ${words}` : words;
    };
    show('most-saturated', s.worstSaturated, OVERFIRING_SHARE);
    show('most-silent', s.worstSilent, DEAD_SHARE);
    $('most-saturated').dataset.layers = String(s.overFiring);
    $('most-silent').dataset.layers = String(s.dead);
  }

  /**
   * A probe of run `gen`; `view` is the selection the page names. The worker answers every
   * selection in order, so after quick clicks the answers to earlier ones arrive after the
   * page names a newer one: they update the rates, but the raster and membrane keep what
   * they show (the newest selection's data, or "updating…" until it comes).
   */
  probe(p, gen, view) {
    const c = this.charts;
    const answers = p.raster.layer === view.layer && p.raster.sample === view.sample;
    c.heatmap.push(p.step, p.rates);
    if (answers || !c.raster.r) {
      const shape = this.layout?.shapes?.[p.raster.layer];
      c.raster.set(p.raster, shape ? shape[0] * shape[1] * shape[2] : this.layout?.width ?? p.raster.neurons);
      c.membrane.set(p.raster);
      // 1-based, like the title: tests check that the data shown is the layer the title names.
      c.raster.canvas.dataset.layer = c.membrane.canvas.dataset.layer = String(p.raster.layer + 1);
      this.stale.updating(!answers);
    }
    if (p.grid_size) c.boundary.set(p.grid, p.grid_size);
    // Scrubbed back, the rate views stay at that step while the run trains on.
    if (this.at === null) this.showRates(p);
    $('mean-rate').dataset.gen = String(gen);
    this.redraw('profile', 'network', 'heatmap', 'raster', 'membrane', 'boundary');
  }

  /** The rate profile, the network and the stats from one probe (live or recorded). */
  showRates(p) {
    const c = this.charts;
    c.profile.set(p.rates, p.silent, p.saturated, p.step);
    c.network.setRates(p.rates, p.silent, p.saturated);
    const mean = p.rates.reduce((a, b) => a + b, 0) / Math.max(1, p.rates.length);
    $('mean-rate').textContent = mean.toFixed(3);
    $('mean-rate').dataset.step = String(p.step);
    this.shares(p);
    $('synops').textContent = p.synops >= 1000 ? `${(p.synops / 1000).toFixed(1)}k` : p.synops.toFixed(0);
    const fp32 = p.energy?.costs?.[0];
    $('energy-snn').textContent = fp32 ? nanojoules(fp32.snn_nj) : '–';
    $('energy-ann').textContent = fp32 ? `ANN ${nanojoules(fp32.ann_nj)}` : '';
    $('energy').title = energyTitle(p.energy);
    $('energy').dataset.snn = fp32 ? String(fp32.snn_nj) : '';
  }
}
