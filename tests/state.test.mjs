// The control table must mirror `ExperimentConfig`: same fields, same enum names. This reads
// the Rust source so that a field added to the core without a control fails here, and checks
// that the URL hash round-trips every field including the seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONTROLS, PAGE_DEFAULTS, crossCheck, defaults, fromHash, parseValue, toHash } from '../web/state.js';

const source = readFileSync(new URL('../crate/src/config.rs', import.meta.url), 'utf8');
const snake = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function structFields(name) {
  const body = new RegExp(`pub struct ${name} \\{([\\s\\S]*?)\\n\\}`).exec(source)[1];
  return [...body.matchAll(/^\s*pub (\w+):\s*([\w<>]+)/gm)].map((m) => ({ name: m[1], type: m[2] }));
}

function enumVariants(name) {
  const body = new RegExp(`pub enum ${name} \\{([\\s\\S]*?)\\n\\}`).exec(source)[1];
  return [...body.matchAll(/^\s*([A-Z]\w*),/gm)].map((m) => snake(m[1]));
}

test('the control table has exactly the fields of ExperimentConfig', () => {
  const fields = structFields('ExperimentConfig').map((f) => f.name);
  assert.deepEqual(CONTROLS.map((c) => c.key).sort(), fields.sort());
});

test('enum controls offer exactly the serde names of their Rust enums', () => {
  for (const { name, type } of structFields('ExperimentConfig')) {
    if (!source.includes(`pub enum ${type} {`)) continue;
    const control = CONTROLS.find((c) => c.key === name);
    assert.equal(control.kind, 'enum', name);
    assert.deepEqual(control.options, enumVariants(type), `${name}: ${type}`);
  }
});

test('numeric and bool kinds follow the Rust types', () => {
  const kinds = { usize: 'int', u64: 'int', f32: 'float', f64: 'float', bool: 'bool' };
  for (const { name, type } of structFields('ExperimentConfig')) {
    if (kinds[type]) assert.equal(CONTROLS.find((c) => c.key === name).kind, kinds[type], name);
  }
});

/** `field: value,` lines of `impl Default for ExperimentConfig`, as JS values. */
function rustDefaults() {
  const body = /impl Default for ExperimentConfig \{[\s\S]*?Self \{([\s\S]*?)\n\s*\}\n\s*\}/.exec(source)[1];
  const parse = (v) => {
    if (/^\w+::\w+$/.test(v)) return snake(v.split('::')[1]);
    if (v === 'true' || v === 'false') return v === 'true';
    return Number(v);
  };
  return Object.fromEntries([...body.matchAll(/^\s*(\w+): ([^,]+),/gm)].map((m) => [m[1], parse(m[2].trim())]));
}

test('page defaults equal the Rust defaults but for the listed exceptions', () => {
  const rust = rustDefaults();
  const page = defaults();
  assert.equal(Object.keys(rust).length, CONTROLS.length, 'every field has a parsed Rust default');
  for (const key of Object.keys(rust)) {
    if (PAGE_DEFAULTS.includes(key)) assert.notEqual(page[key], rust[key], `${key} is listed as different`);
    else assert.equal(page[key], rust[key], `${key}: page ${page[key]} vs Rust ${rust[key]}`);
  }
});

test('the hash round-trips every field, the seed and the hidden list', () => {
  const config = { ...defaults(), dataset: 'moons', residual: true, lr: 0.0005, seed: 2 ** 53 - 1, psp_lambda: 0.25 };
  const back = fromHash(toHash(config, ['seed', 'psp_lambda']));
  assert.deepEqual(back.config, config);
  assert.deepEqual(back.hidden, ['seed', 'psp_lambda']);
  assert.deepEqual(back.errors, {});
});

test('bad values get a message naming the bound, and bad hash entries fall back', () => {
  assert.match(parseValue('beta', '1.5').error, /\[0, 1\]/);
  assert.match(parseValue('theta', '0').error, /\(0, 100\]/);
  assert.match(parseValue('depth', '2.5').error, /whole number/);
  assert.match(parseValue('norm', 'layer_norm').error, /one of none, psp, bn/);
  assert.match(parseValue('seed', String(2 ** 53)).error, /must be in/);
  assert.equal(parseValue('lr', '1e-3').value, 0.001);
  const { config, errors } = fromHash('#beta=7&width=16');
  assert.equal(config.beta, defaults().beta);
  assert.equal(config.width, 16);
  assert.ok(errors.beta);
  assert.equal(crossCheck({ ...defaults(), residual: true, depth: 1 }).key, 'depth');
});
