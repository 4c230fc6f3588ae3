// The one control table. It mirrors `ExperimentConfig` in crate/src/config.rs (serde names,
// kinds, defaults, bounds) and round-trips through the URL hash, seed included, so a link
// reproduces a run. The page's defaults differ from the Rust defaults in two places
// (PAGE_DEFAULTS, checked by tests/state.test.mjs), both so a first visit shows learning
// within seconds: moons (fits in ~100 steps; spiral takes thousands) and lr 0.003.
//
// Hash format: #dataset=spiral&timesteps=8&...&hide=seed,lr  (camelCase keys; `hide` lists
// controls to hide for classroom use).

const MAX_SEED = 2 ** 53 - 1;

/** The data sets generated from the seed (the others come from files or are built in). */
export const GENERATED = ['spiral', 'circles', 'xor', 'gaussians', 'moons'];
export const isGenerated = (dataset) => GENERATED.includes(dataset);

/**
 * kind: 'enum' | 'int' | 'float' | 'bool'. `group` orders the control panel. `unusedWhen(cfg)`
 * marks a field the core ignores for that config (the data module reads samples and noise only
 * for the generated 2-D sets).
 */
export const CONTROLS = [
  { key: 'dataset', label: 'Data set', group: 'Data', kind: 'enum', default: 'moons',
    options: ['spiral', 'circles', 'xor', 'gaussians', 'moons', 'digits', 'mnist14', 'mnist28', 'custom'],
    help: 'The 2-D sets are points in a plane; digits are 8x8 handwritten digits (10 classes); mnist14 / mnist28 are '
      + '10,000 MNIST digits at 14x14 / 28x28 (downloaded when first used); custom is a file of your own (drop it on the page).' },
  { key: 'samples', label: 'Samples', group: 'Data', kind: 'int', default: 1000, min: 8, max: 100000,
    help: 'Points generated for the 2-D sets (the image sets and files have their own count).',
    unusedWhen: (cfg) => !isGenerated(cfg.dataset), unusedNote: 'set by the data set (digits 1797, mnist 10,000)' },
  { key: 'noise', label: 'Noise', group: 'Data', kind: 'float', default: 0.05, min: 0, max: 1, step: 0.01,
    help: 'Standard deviation of the noise added to the 2-D points.',
    unusedWhen: (cfg) => !isGenerated(cfg.dataset), unusedNote: 'only the 2-D sets get noise' },
  { key: 'test_fraction', label: 'Test fraction', group: 'Data', kind: 'float', default: 0.2, min: 0.05, max: 0.9, step: 0.05 },
  { key: 'encoding', label: 'Input encoding', group: 'Data', kind: 'enum', default: 'direct',
    options: ['direct', 'poisson', 'latency'],
    help: 'direct: the value is a constant current; poisson: random spikes at a rate set by the value; latency: one spike each, the brighter the earlier.' },
  { key: 'timesteps', label: 'Time steps T', group: 'Network', kind: 'int', default: 8, min: 1, max: 256,
    help: 'How many steps each sample is shown for.' },
  { key: 'depth', label: 'Depth (layers)', group: 'Network', kind: 'int', default: 4, min: 1, max: 256 },
  { key: 'width', label: 'Width (neurons)', group: 'Network', kind: 'int', default: 64, min: 1, max: 4096 },
  { key: 'residual', label: 'Residual blocks', group: 'Network', kind: 'bool', default: false,
    help: 'Pre-activation residual blocks (needs depth >= 2).' },
  { key: 'conv', label: 'Convolutional', group: 'Network', kind: 'bool', default: false,
    help: '3x3 convolutions with width channels instead of dense layers (image data only: digits, mnist, an IDX upload).' },
  { key: 'pools', label: 'Pooling stages', group: 'Network', kind: 'int', default: 2, min: 0, max: 6,
    help: '2x2 pooling stages spread over the depth; each halves the feature maps.',
    unusedWhen: (cfg) => !cfg.conv, unusedNote: 'only conv nets pool' },
  { key: 'zero_init_residual', label: 'Zero-init residual', group: 'Network', kind: 'bool', default: true,
    help: 'Start each residual block as the identity (its last gain or weight at zero).' },
  { key: 'norm', label: 'Normalization', group: 'Network', kind: 'enum', default: 'psp',
    options: ['none', 'psp', 'bn', 'tdbn', 'tebn', 'bntt', 'mpbn', 'layer', 'rms'],
    help: 'psp: the paper\'s PSP normalization of the spike trace before each weight. On the current after the weight: '
      + 'bn (batch norm), tdbn (BN scaled by the threshold), tebn (BN with a learned scale per time step), bntt (one BN per '
      + 'time step), layer and rms (per sample). mpbn: batch norm of the membrane just before it fires.' },
  { key: 'psp_eps', label: 'PSP eps', group: 'Network', kind: 'float', default: 0.01, min: 1e-8, max: 1, step: 0.001,
    help: 'eps in a / sqrt(mean(a^2) + eps): the firing rate below which the PSP norm stops amplifying a synapse.',
    unusedWhen: (cfg) => cfg.norm !== 'psp', unusedNote: 'only PSP normalization uses it' },
  { key: 'psp_stats', label: 'PSP statistics', group: 'Network', kind: 'enum', default: 'shared', options: ['shared', 'per_step'],
    help: 'shared: one mean(a^2) per neuron over all time steps and the batch (our reading of the paper); per_step: one per time step.',
    unusedWhen: (cfg) => cfg.norm !== 'psp', unusedNote: 'only PSP normalization uses it' },
  { key: 'psp_shift', label: 'PSP shift (beta)', group: 'Network', kind: 'bool', default: false,
    help: 'Add a learned shift after the division (the paper\'s optional beta).',
    unusedWhen: (cfg) => cfg.norm !== 'psp', unusedNote: 'only PSP normalization uses it' },
  { key: 'psp_placement', label: 'PSP acts on', group: 'Network', kind: 'enum', default: 'trace', options: ['trace', 'current'],
    help: 'trace: the incoming spike trace, before the weight (the paper); current: the synaptic current, after it.',
    unusedWhen: (cfg) => cfg.norm !== 'psp', unusedNote: 'only PSP normalization uses it' },
  { key: 'readout', label: 'Readout', group: 'Network', kind: 'enum', default: 'rate', options: ['rate', 'membrane'] },
  { key: 'init_scale', label: 'Init scale', group: 'Network', kind: 'float', default: 1.0, min: 0.001, max: 100, step: 0.1, exclusiveMin: 0 },
  { key: 'beta', label: 'Leak beta', group: 'Neuron', kind: 'float', default: 0.9, min: 0, max: 1, step: 0.05,
    help: 'How much membrane potential is kept each step (1 = no leak).' },
  { key: 'theta', label: 'Threshold theta', group: 'Neuron', kind: 'float', default: 1.0, min: 0.001, max: 100, step: 0.1, exclusiveMin: 0 },
  { key: 'reset', label: 'Reset', group: 'Neuron', kind: 'enum', default: 'hard', options: ['hard', 'soft'] },
  { key: 'detach_reset', label: 'Detach reset', group: 'Neuron', kind: 'bool', default: true },
  { key: 'psp_lambda', label: 'PSP decay lambda', group: 'Neuron', kind: 'float', default: 0, min: 0, max: 0.999, step: 0.05, exclusiveMax: 1,
    help: 'How long a spike keeps acting on the next layer (0 = one step).' },
  { key: 'surrogate', label: 'Surrogate', group: 'Neuron', kind: 'enum', default: 'atan',
    options: ['sigmoid', 'fast_sigmoid', 'atan', 'triangle', 'rectangular'] },
  { key: 'surrogate_width', label: 'Surrogate width', group: 'Neuron', kind: 'float', default: 2.0, min: 0.01, max: 100, step: 0.1 },
  { key: 'optimizer', label: 'Optimizer', group: 'Training', kind: 'enum', default: 'adam', options: ['adam', 'sgd'] },
  { key: 'lr', label: 'Learning rate', group: 'Training', kind: 'float', default: 0.003, min: 1e-9, max: 10, step: 0.001, exclusiveMin: 0,
    help: 'How big each learning step is.' },
  { key: 'lr_schedule', label: 'LR schedule', group: 'Training', kind: 'enum', default: 'constant', options: ['constant', 'cosine'] },
  { key: 'weight_decay', label: 'Weight decay', group: 'Training', kind: 'float', default: 0, min: 0, max: 1, step: 0.0001,
    help: 'Decoupled weight decay (AdamW\'s, or w *= 1 - lr * wd before each SGD step).' },
  { key: 'batch', label: 'Batch size', group: 'Training', kind: 'int', default: 32, min: 1, max: 4096 },
  { key: 'epochs', label: 'Epochs (schedule)', group: 'Training', kind: 'int', default: 10, min: 1, max: 100000,
    help: 'Length of the cosine schedule; the page keeps training until you pause.' },
  { key: 'probe_samples', label: 'Probe samples', group: 'Training', kind: 'int', default: 128, min: 1, max: 1024 },
  { key: 'seed', label: 'Seed', group: 'Training', kind: 'int', default: 0, min: 0, max: MAX_SEED,
    help: 'Same seed and settings = the same run, step for step.' },
];

/** The fields whose page default deliberately differs from `ExperimentConfig::default()`. */
export const PAGE_DEFAULTS = ['dataset', 'lr'];

/** Lookup tables without a prototype: a link's `toString=` or `__proto__=` names no control. */
const table = (pairs) => Object.freeze(Object.assign(Object.create(null), Object.fromEntries(pairs)));

export const BY_KEY = table(CONTROLS.map((c) => [c.key, c]));

export const camel = (key) => key.replace(/_([a-z])/g, (_, ch) => ch.toUpperCase());
const FROM_CAMEL = table(CONTROLS.map((c) => [camel(c.key), c.key]));

export function defaults() {
  return Object.fromEntries(CONTROLS.map((c) => [c.key, c.default]));
}

/** Parses one control's text; returns { value } or { error } with a readable message. */
export function parseValue(key, text) {
  const c = BY_KEY[key];
  const s = String(text).trim();
  if (c.kind === 'bool') {
    if (s === 'true' || s === '1') return { value: true };
    if (s === 'false' || s === '0') return { value: false };
    return { error: 'must be true or false' };
  }
  if (c.kind === 'enum') {
    return c.options.includes(s) ? { value: s } : { error: `must be one of ${c.options.join(', ')}` };
  }
  // One way to match each text (`\d+\.?\d*` had two, and took seconds on a link of 30,000 digits).
  if (s === '' || !/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(s)) return { error: 'must be a number' };
  const v = Number(s) + 0; // -0 becomes 0, which a link writes and reads back the same
  // A whole number too long for a double (1e999, 400 nines) reads as Infinity: out of bounds.
  if (c.kind === 'int' && Number.isFinite(v) && !Number.isInteger(v)) return { error: 'must be a whole number' };
  const lo = c.exclusiveMin !== undefined ? `(${c.exclusiveMin}` : `[${c.min}`;
  const hi = c.exclusiveMax !== undefined ? `${c.exclusiveMax})` : `${c.max}]`;
  const below = c.exclusiveMin !== undefined ? v <= c.exclusiveMin : v < c.min;
  const above = c.exclusiveMax !== undefined ? v >= c.exclusiveMax : v > c.max;
  if (below || above) return { error: `must be in ${lo}, ${hi}` };
  return { value: v };
}

/** `limits::MAX_WEIGHTS` and `limits::MAX_ACTIVATIONS` in crate/src/config.rs. */
export const MAX_WEIGHTS = 2 ** 23;
export const MAX_ACTIVATIONS = 2 ** 24;

/**
 * The rules that span fields, in the order `validate()` applies them in Rust, with the same
 * messages. Returns null or { key, keys, error }: `key` is the field Rust names, `keys` every
 * field the rule reads (so the page can put the message on the one the user just changed).
 */
export function crossCheck(cfg) {
  if (cfg.residual && cfg.depth < 2) {
    return { key: 'depth', keys: ['depth', 'residual'], error: 'a residual net needs depth >= 2 (a stem and at least one block layer)' };
  }
  if (cfg.conv && cfg.pools > cfg.depth) {
    return { key: 'pools', keys: ['pools', 'depth', 'conv'], error: `a conv net pools after its layers: at most depth = ${cfg.depth}, got ${cfg.pools}` };
  }
  const weights = cfg.depth * cfg.width * cfg.width * (cfg.conv ? 9 : 1);
  if (weights > MAX_WEIGHTS) {
    const what = cfg.conv ? 'depth x width^2 x 9' : 'depth x width^2';
    return { key: 'width', keys: ['width', 'depth', 'conv'], error: `${what} = ${weights} weights exceeds ${MAX_WEIGHTS}; lower width or depth` };
  }
  // Training batches, the probe batch and evaluation chunks (`forward_samples()` in Rust).
  // Conv nets are bounded by their feature maps, which need the image size (checked below).
  const cells = (cfg.depth + 2) * cfg.timesteps * Math.max(cfg.batch, cfg.probe_samples) * cfg.width;
  if (!cfg.conv && cells > MAX_ACTIVATIONS) {
    return {
      key: cfg.probe_samples > cfg.batch ? 'probe_samples' : 'batch',
      keys: ['batch', 'probe_samples', 'timesteps', 'width', 'depth'],
      error: `(depth + 2) x timesteps x max(batch, probe_samples) x width = ${cells} activations exceeds ${MAX_ACTIVATIONS}; ` +
        'lower batch, probe_samples, timesteps, width or depth',
    };
  }
  // `validate_for_data()`: a conv net needs images. An upload's shape is known only to the
  // core, which checks it (and the pools and maps of every image) when the run is built.
  if (cfg.conv && isGenerated(cfg.dataset)) {
    return { key: 'conv', keys: ['conv', 'dataset'], error: 'a conv net needs image data (digits, mnist14, mnist28 or an IDX image upload); this data set has plain feature vectors' };
  }
  return null;
}

/** True when `key` has no effect on a run of `cfg` (its control is then disabled). */
export const isUnused = (key, cfg) => !!BY_KEY[key].unusedWhen?.(cfg);

const short = (text) => (text.length > 24 ? `${text.slice(0, 24)}…` : text);
const linkMessage = (text, why, used) => `link value '${short(text)}' ignored (${why}); using ${used}`;

/**
 * Hash keys the page reads that are not settings: `hide` (here), `compare` and `preset`
 * (compare-spec.js readCompare), `debug` (boot.js, worker.js), `simd` (wasm-build.js), `mode` (kept for old links).
 */
export const PAGE_KEYS = ['hide', 'compare', 'preset', 'debug', 'simd', 'mode'];
/** The most unknown keys `fromHash` lists (a link of 10,000 keys is not worth more). */
export const MAX_UNKNOWN = 20;
/** How many unknown keys the notice names before "and N more". */
const NAMED_UNKNOWN = 5;

/**
 * The status line's notice for a link's keys that are not settings (a typo such as `depht`
 * would otherwise go unnoticed), or null when there are none.
 */
export function unknownNotice(unknown) {
  if (!unknown?.length) return null;
  const named = unknown.slice(0, NAMED_UNKNOWN).map((k) => `'${k}'`).join(', ');
  const rest = unknown.length - NAMED_UNKNOWN;
  const more = rest > 0 ? ` and ${rest}${unknown.length >= MAX_UNKNOWN ? '+' : ''} more` : '';
  const verb = unknown.length === 1 ? 'is not a setting and was' : 'are not settings and were';
  return `The link's ${named}${more} ${verb} ignored.`;
}

/**
 * Reads the hash into { config, hidden, errors, unknown }. A bad entry falls back to its default; so
 * does an entry that breaks a cross-field rule (the field Rust names first, then the rule's
 * other fields from the link), one field at a time, so every other valid entry is kept.
 * `errors[key]` is a message for the control: what the link said and what is used instead.
 * `unknown`: the link's keys that are neither a control nor one of PAGE_KEYS, each shortened
 * to 24 characters, at most MAX_UNKNOWN of them.
 */
export function fromHash(hash) {
  const config = defaults();
  const errors = {};
  const given = {};
  let hidden = [];
  const unknown = new Set();
  for (const [k, v] of new URLSearchParams(hash.replace(/^#/, ''))) {
    if (k === 'hide') {
      hidden = [...new Set(v.split(',').map((s) => FROM_CAMEL[s.trim()] ?? s.trim()).filter((s) => s in BY_KEY))];
      continue;
    }
    const key = FROM_CAMEL[k] ?? (k in BY_KEY ? k : null);
    if (!key) {
      if (!PAGE_KEYS.includes(k) && unknown.size < MAX_UNKNOWN) unknown.add(short(k));
      continue;
    }
    const r = parseValue(key, v);
    if ('value' in r) {
      config[key] = r.value;
      given[key] = v;
      delete errors[key];
    } else errors[key] = linkMessage(v, r.error, config[key]); // the default, or an earlier entry's value
  }
  for (let cross = crossCheck(config); cross; cross = crossCheck(config)) {
    // Every rule passes on the defaults, so some field of the rule came from the link.
    const key = [cross.key, ...cross.keys].find((k) => k in given && config[k] !== BY_KEY[k].default);
    if (!key) return { config: defaults(), hidden, errors, unknown: [...unknown] };
    config[key] = BY_KEY[key].default;
    errors[key] = linkMessage(given[key], cross.error, config[key]);
    delete given[key];
  }
  return { config, hidden, errors, unknown: [...unknown] };
}

/**
 * Writes the whole config (every field, so links survive default changes), `hide`, and
 * `simd` if the `current` address has it.
 */
export function toHash(config, hidden = [], current = globalThis.location?.hash ?? '') {
  const p = new URLSearchParams();
  for (const c of CONTROLS) p.set(camel(c.key), String(config[c.key]));
  if (hidden.length) p.set('hide', hidden.map(camel).join(','));
  // Read once at load, but kept in the address so that a reload or a copied link asks for
  // the same wasm module (web/wasm-build.js).
  const simd = new URLSearchParams(current.replace(/^#/, '')).get('simd');
  if (simd !== null) p.set('simd', simd);
  return '#' + p.toString().replace(/%2C/g, ',');
}

/** f32 fields come back from the core widened to f64 (0.05 -> 0.0500000007); show what was typed. */
export function tidyConfig(config) {
  const out = { ...config };
  for (const [k, v] of Object.entries(out)) if (BY_KEY[k]?.kind === 'float') out[k] = Number(v.toPrecision(7));
  return out;
}

/**
 * How many refusals of the page's first run are each answered by resetting the one field the
 * core named (a conv link may be refused for its batch, then its probe batch, then its pools)
 * before the page gives up on the link and uses every default.
 */
export const MAX_FIELD_FALLBACKS = 4;

/**
 * What to try after the core refused `config` as the page's first run (a link, so there is
 * no run to fall back to): `field`, the one the core named, back to its default; after
 * MAX_FIELD_FALLBACKS such resets (`attempt` counts the refusals so far), or when the field
 * is already at its default or its default breaks a rule of its own, every default.
 * Returns { config, field }: `field` is null when the whole config was replaced.
 */
export function firstRunFallback(config, field, attempt) {
  if (attempt < MAX_FIELD_FALLBACKS && Object.hasOwn(BY_KEY, field ?? '')) {
    const at = config[field] === BY_KEY[field].default ? relief(config, field) : field;
    const next = at && { ...config, [at]: BY_KEY[at].default };
    if (next && !crossCheck(next)) return { config: next, field: at };
  }
  return { config: defaults(), field: null };
}

/**
 * The core's activation bound (config.rs `validate_for_data`) names batch or probe_samples,
 * whichever is larger, even when both are at their defaults and the link's cost is elsewhere
 * (a conv net on mnist28 with pools=0). Then the first other field of that bound whose default
 * costs less than the link's value is the one to reset; null when there is none.
 */
const ACTIVATION_FIELDS = ['pools', 'width', 'depth', 'timesteps', 'batch', 'probe_samples'];
function relief(config, field) {
  if (field !== 'batch' && field !== 'probe_samples') return null;
  const cheaper = (k) => (k === 'pools' ? config.conv && config.pools < BY_KEY.pools.default : config[k] > BY_KEY[k].default);
  return ACTIVATION_FIELDS.find((k) => k !== field && cheaper(k)) ?? null;
}
