// The entry module (index.html): it builds the two modes, explore (explore/explore.js) and
// compare (compare/compare.js), and the router that switches between them (router.js), and
// wires what both share to whichever is on screen: the settings panel, the transport buttons
// and the Space key, the header's menus, the upload and the data files in memory. The main
// thread never trains; each mode drives its own workers (boot.js starts the first one at load).
import { Compare } from '../compare/compare.js';
import { Explore } from '../explore/explore.js';
import { DataFiles, showDownload } from '../files/datasets.js';
import { Upload, previewIn } from '../files/upload.js';
import { ClassLink } from '../lessons/class-link.js';
import { Guide } from '../lessons/guide.js';
import { ToWorker } from '../run/protocol.js';
import { ControlPanel } from '../state/controls.js';
import { DEBUG, newWorker } from './workers.js';
import { paintTransport, showAccuracy, showMemory, showSpeed, showStatus } from './header.js';
import { initMenus } from './menus.js';
import { initPaceMenu } from './pace-menu.js';
import { HistoryBar } from './history.js';
import { Presenter } from './present.js';
import { Router } from './router.js';

const $ = (id) => document.getElementById(id);

const panel = new ControlPanel($('controls'), (key, text) => router.active.edit(key, text));
// MNIST files and the user's upload, in memory for every later run (both modes).
const data = new DataFiles(showDownload);
const upload = new Upload(panel.rows.dataset, {
  // Explore mode's worker parses between training ticks; compare mode borrows a fresh one.
  parse: (files) => (explore.worker ? previewIn(explore.worker, files) : previewOnce(files)),
  accept: (got) => {
    data.upload = got;
    router.onUpload(got);
  },
  model: (file) => router.onModel(file),
});
const header = { paint: paintTransport, status: showStatus, memory: showMemory, speed: showSpeed, accuracy: showAccuracy };
const hidden = () => router.hidden;
const explore = new Explore({ panel, newWorker, hidden, data, upload, header });
const compare = new Compare({
  panel, newWorker, paint: paintTransport, status: showStatus, hidden, files: (config) => data.filesFor(config),
});
const router = new Router({ panel, explore, compare, upload });
const guide = new Guide({ router, status: showStatus });
router.onRoute = () => guide.sync();
new ClassLink({ guide, router }); // it wires the dialog and its buttons

async function previewOnce(files) {
  const w = newWorker();
  try {
    return await previewIn(w, files);
  } finally {
    w.terminate();
  }
}

// A mouse click leaves focus on the button, where Space would press it again; the page's
// Space shortcut (play/pause) should act instead. Keyboard presses keep focus (detail 0).
const click = (id, fn) => $(id).addEventListener('click', (e) => {
  if (e.detail > 0) e.currentTarget.blur();
  fn();
});
click('play', () => router.active.togglePlay());
click('step', () => router.active.step());
click('reset', () => router.active.reset());
click('sample-next', () => explore.nextSample());
// Space plays or pauses, unless focus is on something Space already operates.
document.addEventListener('keydown', (e) => {
  if (e.key !== ' ' || e.target.closest('input, select, button, textarea, summary')) return;
  e.preventDefault();
  if (!$('play').disabled) $('play').click();
});

initMenus({
  onMode: (next) => router.onMode(next),
  onPreset: (p) => router.onPreset(p),
  onDownload: (kind) => (kind === 'json' ? router.active.downloadJson() : kind === 'csv' ? router.active.downloadCsv() : router.active.downloadModel(kind)),
  pngContext: (card, canvas) => router.active.pngContext(canvas),
});

if (DEBUG) {
  window.spikeplayDebug = {
    // `kind`: 'trap' (default), 'panic' or 'throw' (ToWorker.DEBUG_TRAP).
    trap: (at, kind = 'trap') => explore.send(ToWorker.DEBUG_TRAP, { at, kind }),
    trapRun: (i, at, kind = 'trap') => compare.runs[i]?.send(ToWorker.DEBUG_TRAP, { at, kind }),
  };
}
initPaceMenu($('pace'));
new HistoryBar(() => router.active);
const firstVisit = location.hash.replace(/^#/, '') === '';
new Presenter(); // before start(): it reads `present` from the link before the first run rewrites the hash
router.start();
if (firstVisit) guide.offer();
