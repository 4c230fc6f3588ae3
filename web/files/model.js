// The run's network as a file: the NIR graph (HDF5, the norms folded into weights and
// thresholds, crate/src/nir.rs) or every tensor as safetensors (crate/src/weights.rs, which
// `spikeplay train --init-from` reads). The worker writes the bytes between training ticks;
// a norm NIR cannot hold is a refusal that names it, and the run trains on.
import { FromWorker, ToWorker, ask } from '../run/protocol.js';
import { save } from './download.js';

/** What each format is called, and its file. */
export const MODEL_FORMATS = Object.freeze({
  nir: { label: 'Model as NIR', ext: 'nir', type: 'application/x-hdf5' },
  weights: { label: 'Weights (safetensors)', ext: 'safetensors', type: 'application/octet-stream' },
});

/** Asks `worker` for its network as `format`; resolves with the bytes, rejects with the core's message. */
export const exportIn = (worker, format) => ask(worker, ToWorker.EXPORT, FromWorker.EXPORT, { format }).then((d) => d.bytes);

/** Exports and saves as `${stem}.${ext}`; resolves with the file name. */
export async function saveModel(worker, format, stem) {
  const { ext, type } = MODEL_FORMATS[format];
  const bytes = await exportIn(worker, format);
  const name = `${stem}.${ext}`;
  save(name, new Blob([bytes], { type }));
  return name;
}

/** The deployability mark of a run: `nir` is READY's (null: deployable). */
export function nirMark(nir) {
  // The mark sits under the norm control, which names the norm: the reason alone.
  const why = (nir?.reason ?? nir?.message ?? '').replace(/^.*? cannot be folded into the graph: /, '');
  return nir ? { ok: false, text: `✗ not deployable as NIR: ${why}` } : { ok: true, text: '✓ deployable as NIR (Download → Model as NIR)' };
}

/**
 * The settings a NIR graph fixes (crate/src/nir/import.rs `Imported::apply`) and the data
 * set, whose features and classes it must have: changing one sets an imported network aside.
 */
export const MODEL_KEYS = Object.freeze(['dataset', 'depth', 'width', 'beta', 'theta', 'norm', 'residual', 'conv', 'reset', 'psp_lambda', 'readout']);

/** A dropped file is a network (not data) when it is a NIR graph (HDF5). */
export async function isModelFile(file) {
  if (/\.nir$/i.test(file.name)) return true;
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  return [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => head[i] === b);
}
