// The DOM of compare mode that is not a chart: the setup line (which field, which values),
// the run legend, the preset's "what to watch", and the summary table. It shows what it is
// given and reports the user's edits; the comparison itself lives in compare.js.
import { BY_KEY, CONTROLS } from '../state/state.js';
import { energyTitle, nanojoules } from '../run/format.js';
import { USEFUL_BAND } from '../charts/rate-profiles.js';
import { DEAD_SHARE, OVERFIRING_SHARE, SATURATED } from '../run/activity.js';
import { swatchSvg } from '../charts/palette.js';
import { nirMark } from '../files/model.js';

const $ = (id) => document.getElementById(id);

const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);
const num = (v, d = 3) => (v === null || v === undefined ? '–' : v.toFixed(d));
const kilo = (v) => (v === null || v === undefined ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0));

const STATE_TEXT = { building: 'building…', ready: 'ready', training: 'training', paused: 'paused', finished: 'finished', error: 'error' };

export class CompareView {
  /**
   * `onSpec(field, valuesText)` fires when the user changes what is compared; `onFocus(index
   * or null)` when the pointer enters or leaves a run's legend entry or table row; `onRestart(index)`
   * when the user restarts a run whose worker stopped.
   */
  constructor(onSpec, onFocus, onRestart) {
    this.onFocus = onFocus;
    this.onRestart = onRestart;
    this.field = $('compare-field');
    this.values = $('compare-values');
    for (const c of CONTROLS) this.field.add(new Option(c.label, c.key));
    const commit = () => onSpec(this.field.value, this.values.value);
    this.field.addEventListener('change', () => {
      // A new field: offer its options (enum, bool) or keep the typed numbers to edit.
      const c = BY_KEY[this.field.value];
      if (c.kind === 'enum') this.values.value = c.options.slice(0, 3).join(', ');
      else if (c.kind === 'bool') this.values.value = 'true, false';
      else this.values.value = '';
      this.showOptions();
      if (this.values.value) commit();
      else {
        this.values.focus();
        const shown = this.rows.length ? '; the runs below still show the last comparison' : '';
        this.message(`type 2 to 8 values of ${c.label}, then Enter or Apply${shown}`);
      }
    });
    this.values.addEventListener('keydown', (e) => e.key === 'Enter' && commit());
    $('compare-apply').addEventListener('click', commit);
    this.onSpec = onSpec;
    this.rows = [];
    $('compare-band').textContent = `${USEFUL_BAND[0]}–${USEFUL_BAND[1]}`;
  }

  /** Shows `spec` in the setup line, and the preset's story (or how the runs relate). */
  showSpec(spec, preset) {
    this.field.value = spec.field;
    this.values.value = spec.values.join(', ');
    this.showOptions();
    this.message('');
    const what = BY_KEY[spec.field].label;
    $('compare-watch').innerHTML = '';
    const head = document.createElement('b');
    const body = document.createElement('span');
    if (preset) {
      head.textContent = `${preset.title}. `;
      body.textContent = preset.what_to_watch;
    } else {
      head.textContent = `Only ${what} differs. `;
      body.textContent = spec.field === 'seed'
        ? 'Every other setting is the one on the left; each seed draws its own initial weights and order of training ' +
          'samples, so the spread between the runs is what chance alone does.'
        : 'Every other setting is the one on the left, and all runs share its seed: the same initial weights ' +
          '(for the same architecture) and the same order of training samples.';
    }
    $('compare-watch').append(head, body);
  }

  /** For an enum field, one toggle per option: the quickest way to add or drop a run. */
  showOptions() {
    const c = BY_KEY[this.field.value];
    const box = $('compare-options');
    box.innerHTML = '';
    if (c.kind !== 'enum') {
      const lo = c.exclusiveMin !== undefined ? `above ${c.exclusiveMin}` : `from ${c.min}`;
      const hi = c.exclusiveMax !== undefined ? `below ${c.exclusiveMax}` : `to ${c.max}`;
      box.textContent = c.kind === 'bool' ? 'true, false' : `${c.kind === 'int' ? 'whole numbers' : 'numbers'} ${lo} ${hi}, comma-separated`;
      return;
    }
    const chosen = this.values.value.split(',').map((s) => s.trim());
    for (const o of c.options) {
      const b = document.createElement('button');
      b.className = 'mini option';
      b.textContent = o.replace(/_/g, ' ');
      b.setAttribute('aria-pressed', String(chosen.includes(o)));
      b.title = chosen.includes(o) ? `Drop the ${o} run` : `Add a ${o} run`;
      b.addEventListener('click', () => {
        const now = this.values.value.split(',').map((s) => s.trim()).filter(Boolean);
        const next = now.includes(o) ? now.filter((v) => v !== o) : [...now, o];
        this.values.value = next.join(', ');
        this.onSpec(this.field.value, this.values.value);
      });
      box.append(b);
    }
  }

  message(text) {
    $('compare-message').textContent = text;
  }

  /** Rebuilds the legend and the table for a new set of runs. */
  showRuns(runs) {
    const legend = $('compare-legend');
    const body = $('compare-table').tBodies[0];
    legend.innerHTML = body.innerHTML = '';
    $('compare-table').dataset.runs = String(runs.length);
    this.rows = runs.map((run) => {
      const chip = document.createElement('li');
      chip.style.setProperty('--run', run.color);
      chip.innerHTML = '<span class="swatch"></span><span class="name"></span> <small class="state"></small>';
      chip.querySelector('.name').textContent = run.label;
      // A line sample, not a square: the run's dash tells it apart where its colour does not.
      chip.querySelector('.swatch').replaceWith(swatchSvg(document, run));
      legend.append(chip);
      const tr = body.insertRow();
      tr.style.setProperty('--run', run.color);
      tr.dataset.run = String(run.index);
      tr.innerHTML = '<th scope="row"><span class="swatch"></span><span class="name"></span></th>' +
        '<td class="state"></td><td class="acc"></td><td class="rate"></td><td class="silent"></td>' +
        '<td class="saturated"></td><td class="most-saturated"></td><td class="most-silent"></td><td class="synops"></td>' +
        '<td class="steps"></td><td class="speed"></td><td class="energy"></td><td class="nir"></td><td class="error" colspan="11" hidden></td>';
      tr.querySelector('.name').textContent = run.label;
      tr.querySelector('.swatch').replaceWith(swatchSvg(document, run));
      // A run whose worker stopped: its message, then a button to start it again.
      const err = tr.querySelector('.error');
      const text = document.createElement('span');
      text.className = 'error-text';
      const restart = document.createElement('button');
      restart.className = 'mini restart';
      restart.textContent = 'Restart';
      restart.title = `Start ${run.label} again from step 0 in a new worker`;
      restart.hidden = true;
      restart.addEventListener('click', () => this.onRestart(run.index));
      err.append(text, restart);
      for (const el of [chip, tr]) {
        el.addEventListener('mouseenter', () => this.onFocus(run.index));
        el.addEventListener('mouseleave', () => this.onFocus(null));
      }
      return { chip, tr };
    });
    runs.forEach((r) => this.updateRun(r));
  }

  /** Refreshes one run's chip and row; data attributes carry the raw numbers for tests. */
  updateRun(run) {
    const row = this.rows[run.index];
    if (!row) return;
    const { chip, tr } = row;
    const s = run.summary();
    const state = run.fault ? 'stopped' : STATE_TEXT[run.state] ?? run.state;
    chip.querySelector('.state').textContent = state;
    chip.classList.toggle('failed', !!run.error);
    chip.title = run.error ?? `${run.label}: ${state}`;
    Object.assign(tr.dataset, { state: run.state, step: String(s.steps), firstLosses: JSON.stringify(run.firstLosses) });
    if (run.latest.loss !== null) tr.dataset.loss = String(run.latest.loss);
    tr.classList.toggle('failed', !!run.error);
    const cell = (cls, text) => (tr.querySelector(`.${cls}`).textContent = text);
    cell('state', state);
    const err = tr.querySelector('.error');
    err.hidden = !run.error;
    err.querySelector('.error-text').textContent = run.error ?? '';
    err.querySelector('.restart').hidden = !run.fault;
    for (const cls of ['acc', 'rate', 'silent', 'saturated', 'most-saturated', 'most-silent', 'synops', 'steps', 'speed', 'energy', 'nir']) tr.querySelector(`.${cls}`).hidden = !!run.error;
    if (run.error) return;
    cell('acc', pct(s.test_accuracy));
    cell('rate', num(s.mean_rate));
    cell('silent', s.layers === null ? '–' : `${s.silent_layers}/${s.layers}`);
    cell('saturated', s.layers === null ? '–' : `${s.saturated_layers}/${s.layers}`);
    // Per neuron, for the curious: a layer can over-fire without its mean rate reaching SATURATED.
    const share = (xs) => (xs ? `${((100 * xs.reduce((a, b) => a + b, 0)) / Math.max(1, xs.length)).toFixed(1)}%` : '–');
    tr.querySelector('.silent').title = `${share(run.latest.probe?.silent)} of the neurons never fired (mean over layers)`;
    tr.querySelector('.saturated').title = `${share(run.latest.probe?.saturated)} of the neurons fire at ${SATURATED} or more (mean over layers)`;
    // The neuron-share view (activity.js): the worst layer's shares, flagged past its bounds.
    const worst = (cls, share, layer, bound, what) => {
      const td = tr.querySelector(`.${cls}`);
      td.textContent = share === null ? '–' : `${Math.round(share * 100)}%`; // the layer is in the title
      td.dataset.share = share === null ? '' : String(share);
      td.classList.toggle('flagged', share !== null && share >= bound);
      td.title = share === null ? '' : `L${layer}: ${(share * 100).toFixed(1)}% of its neurons ${what}; ` +
        `${cls === 'most-saturated' ? s.overfiring_layers : s.dead_layers} of ${s.layers} layers at ${Math.round(bound * 100)}% or more`;
    };
    worst('most-saturated', s.worst_saturated_share, s.worst_saturated_layer, OVERFIRING_SHARE, `fire at ${SATURATED} or more`);
    worst('most-silent', s.worst_silent_share, s.worst_silent_layer, DEAD_SHARE, 'never fired');
    cell('synops', kilo(s.synops));
    cell('steps', String(s.steps));
    tr.querySelector('.steps').title = run.latest.speed ? `${run.latest.speed.toFixed(1)} steps/s on the clock (lock-step and the Speed menu included)` : '';
    // Its own speed, what its norm and size cost: in lock-step the faster runs wait for the slowest.
    cell('speed', run.latest.own ? String(Math.round(run.latest.own)) : '–');
    tr.querySelector('.speed').dataset.speed = String(run.latest.own ?? 0);
    cell('energy', s.energy_nj === null ? '–' : nanojoules(s.energy_nj).replace(/ nJ$/, ''));
    tr.querySelector('.energy').title = energyTitle(run.latest.probe?.energy);
    tr.querySelector('.energy').dataset.nj = String(s.energy_nj ?? '');
    // Deployable as NIR (the core's answer with the run's READY), the reason on hover.
    const nir = tr.querySelector('.nir');
    nir.textContent = run.nir === undefined ? '–' : run.nir ? '✗' : '✓';
    nir.dataset.deployable = run.nir === undefined ? '' : String(!run.nir);
    nir.title = run.nir === undefined ? '' : nirMark(run.nir).text;
    tr.classList.toggle('flagged-silent', !!s.silent_layers);
    tr.classList.toggle('flagged-saturated', !!s.saturated_layers);
  }
}
