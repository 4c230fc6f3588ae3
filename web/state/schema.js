// The config schema, as the wasm module states it (crate/src/schema.rs, `schema()`): every
// field's name, kind, default, bounds or values, unit, group and help, and the rules that span
// fields, as expressions. The training worker sends it with its LOADED message; boot.js installs
// it before the page's other modules load, so state.js builds the controls, the link and the
// messages from it and keeps no copy of a bound or a rule. (Node tests install it from the
// module directly: tests/schema.mjs.)
//
// `evaluate` walks the rules' expressions with the semantics of crate/src/schema/expr.rs; a test
// (tests/schema.test.mjs) holds its verdicts against the core's own `checkConfig` on random
// configs.

let installed = null;

const freeze = (v) => {
  if (v && typeof v === 'object') {
    Object.values(v).forEach(freeze);
    Object.freeze(v);
  }
  return v;
};

/** Installs the schema the wasm module returned (once; later calls must bring the same). */
export function installSchema(schema) {
  if (!Array.isArray(schema?.fields) || !Array.isArray(schema?.rules)) throw new Error('the config schema is malformed: expected { fields, rules }');
  installed ??= freeze(structuredClone(schema));
  return installed;
}

/** The installed schema; a page module that reads it before boot.js installed it is a bug. */
export function getSchema() {
  if (!installed) throw new Error('the config schema has not arrived from the wasm module yet (boot.js installs it before the page loads)');
  return installed;
}

const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

function read(name, scope) {
  if (!has(scope, name)) throw new Error(`unknown field "${name}"`);
  const v = scope[name];
  return v === null ? NaN : v;
}

const num = (e, scope) => {
  const v = evaluate(e, scope);
  if (typeof v !== 'number') throw new Error(`${JSON.stringify(e)}: expected a number`);
  return v;
};
const truth = (e, scope) => {
  const v = evaluate(e, scope);
  if (typeof v !== 'boolean') throw new Error(`${JSON.stringify(e)}: expected a bool`);
  return v;
};

/** The value of expression `e` over `scope` (a config, plus a rule's named values). */
export function evaluate(e, scope) {
  if (typeof e === 'string') return read(e, scope);
  if (typeof e === 'number' || typeof e === 'boolean') return e;
  if (!Array.isArray(e) || typeof e[0] !== 'string') throw new Error(`${JSON.stringify(e)}: not an expression`);
  const [op, ...args] = e;
  const two = () => {
    if (args.length !== 2) throw new Error(`${op}: takes two arguments`);
    return [num(args[0], scope), num(args[1], scope)];
  };
  switch (op) {
    case '+': return args.reduce((s, a) => s + num(a, scope), 0);
    case '*': return args.reduce((p, a) => p * num(a, scope), 1);
    case 'max': return args.reduce((m, a) => Math.max(m, num(a, scope)), -Infinity);
    case '<': { const [a, b] = two(); return a < b; }
    case '<=': { const [a, b] = two(); return a <= b; }
    case '>': { const [a, b] = two(); return a > b; }
    case '>=': { const [a, b] = two(); return a >= b; }
    case '==': {
      if (args.length !== 2) throw new Error('==: takes two arguments');
      return evaluate(args[0], scope) === evaluate(args[1], scope);
    }
    case 'and': return args.map((a) => truth(a, scope)).every(Boolean);
    case 'or': return args.map((a) => truth(a, scope)).some(Boolean);
    case 'not':
      if (args.length !== 1) throw new Error('not: takes one argument');
      return !truth(args[0], scope);
    case 'if':
      if (args.length !== 3) throw new Error('if: takes a condition, then, else');
      return evaluate(truth(args[0], scope) ? args[1] : args[2], scope);
    case 'in': {
      const [field, names] = args;
      if (args.length !== 2 || !Array.isArray(names)) throw new Error('in: takes a field and a list of names');
      const text = evaluate(field, scope);
      if (typeof text !== 'string') throw new Error(`in: ${JSON.stringify(field)} is not a text field`);
      return names.includes(text);
    }
    default: throw new Error(`unknown operation "${op}"`);
  }
}

/** A value as the core's messages write it (`Val::show`; the rules' figures are whole numbers). */
export const show = (v) => String(v);

/** `text` with each `{name}` replaced by that value of `scope`. */
export function fill(text, scope) {
  if (/\{[^}]*$/.test(text)) throw new Error(`${JSON.stringify(text)}: unclosed {`);
  return text.replace(/\{([^}]*)\}/g, (_, name) => show(read(name, scope)));
}

/**
 * The first cross-field rule `config` breaks, in the core's order, or null: { field, reads,
 * bound, got, message }, as the core's error would carry them. (Each field's own bound is
 * checked by state.js `parseValue` as a value is read.)
 */
export function breaks(config) {
  for (const rule of getSchema().rules) {
    const scope = { ...config };
    for (const [name, e] of rule.values) scope[name] = evaluate(e, scope);
    if (!evaluate(rule.when, scope) || evaluate(rule.require, scope)) continue;
    return { field: rule.field, reads: rule.reads, bound: fill(rule.bound, scope), got: fill(rule.got, scope), message: fill(rule.message, scope) };
  }
  return null;
}
