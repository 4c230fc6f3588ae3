// Installs the config schema from the built wasm module (pkg/, scripts/build-wasm.sh), as
// web/app/boot.js does from the training worker's LOADED, so that the page's modules (which build
// their controls, link and checks from it) can be imported in Node. Import it before them.
// `checkConfig` is the core's own verdict on a config, for tests that hold the page's against it.
import { readFileSync } from 'node:fs';
import { checkConfig, initSync, schema } from '../pkg/spikeplay.js';
import { installSchema } from '../web/state/schema.js';

initSync({ module: readFileSync(new URL('../pkg/spikeplay_bg.wasm', import.meta.url)) });
export const SCHEMA = installSchema(schema());
export { checkConfig };
