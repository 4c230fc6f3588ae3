// Bring your own data: a file picker and drag-and-drop anywhere on the page take one CSV
// (label column first) or an IDX images + labels pair. The files are parsed by the core in
// a worker (`previewFiles`), never on the page; the preview shows what the core read, and a
// malformed file becomes a dismissable message naming the file and the byte or line, while
// the run on screen keeps training and the settings stay as they were.
import { COLORS, drawPixels, fit, label } from '../charts/canvas.js';
import { formatBytes } from './datasets.js';
import { elide } from '../run/format.js';
import { FromWorker, ToWorker, ask } from '../run/protocol.js';
import { isModelFile } from './model.js';

const $ = (id) => document.getElementById(id);

/**
 * The largest file the page reads: `upload::MAX_FILE_BYTES` in crate/src/upload.rs (2^26 f64
 * values plus a header, 512 MiB), the most any file the core accepts can hold. Checked before
 * reading, so a huge file is a message, not a tab that runs out of memory.
 */
export const MAX_FILE_BYTES = 8 * 2 ** 26 + 64;

/** Asks `worker` to parse `files`; resolves with the preview, rejects with the core's message. */
export const previewIn = (worker, files) => ask(worker, ToWorker.PREVIEW, FromWorker.PREVIEW, { files }).then((d) => d.preview);

export class Upload {
  /**
   * `after`: the element the box goes after (the data set control). `parse(files)` ->
   * Promise<preview>; `accept({ files, preview })` is called once an upload parsed.
   */
  constructor(after, { parse, accept, model = null }) {
    this.parse = parse;
    this.accept = accept;
    this.model = model; // model({ name, bytes }): a dropped NIR graph, a network rather than data
    this.box = document.createElement('div');
    this.box.className = 'upload';
    this.box.id = 'upload';
    this.box.innerHTML = `
      <p class="upload-hint"><b>Your own data</b>: a CSV (label column first) or an IDX images + labels pair
        (.gz is fine), or a trained network as a <b>NIR</b> file (.nir, from spikeplay, snnTorch and others).
        Drop the files anywhere on the page, or</p>
      <button type="button" id="upload-choose" class="mini">Choose files…</button>
      <input type="file" id="upload-input" multiple hidden>
      <span id="upload-state" class="upload-state" aria-live="polite"></span>
      <p id="upload-note" class="upload-note" role="status" hidden></p>
      <div id="upload-error" class="alert" role="alert" hidden><span id="upload-error-text"></span>
        <button type="button" id="upload-dismiss" class="mini" aria-label="Dismiss the message">×</button></div>
      <div id="upload-preview" hidden>
        <p id="upload-files" class="upload-files"></p>
        <p id="upload-summary" class="upload-summary"></p>
        <p id="upload-warning" class="upload-warning" hidden></p>
        <canvas id="upload-counts" role="img" aria-label="Samples per class"></canvas>
        <div id="upload-samples" class="upload-samples" aria-label="The first samples and their labels"></div>
      </div>`;
    after.after(this.box);
    const input = $('upload-input');
    $('upload-choose').addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      const files = [...input.files];
      input.value = ''; // choosing the same files again still counts
      if (files.length) this.take(files);
    });
    $('upload-dismiss').addEventListener('click', () => this.error(''));
    this.dropAnywhere();
  }

  /** Drag-and-drop on the whole page; while files hover, the page says where they go. */
  dropAnywhere() {
    let depth = 0;
    const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
    const setDragging = (on) => (document.body.dataset.dragging = String(on));
    document.addEventListener('dragenter', (e) => {
      if (!hasFiles(e)) return;
      depth += 1;
      setDragging(true);
    });
    document.addEventListener('dragleave', (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) setDragging(false);
    });
    document.addEventListener('dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    document.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setDragging(false);
      const files = [...e.dataTransfer.files];
      if (files.length) this.take(files);
    });
  }

  /** Reads, parses and (if the core accepts them) hands on `files` (File objects). */
  async take(fileList) {
    this.error('');
    this.note('');
    const names = fileList.map((f) => f.name).join(' + ');
    const huge = fileList.find((f) => f.size > MAX_FILE_BYTES);
    if (huge) {
      this.error(`${huge.name}: ${formatBytes(huge.size)} is larger than the ${formatBytes(MAX_FILE_BYTES)} a file may have `
        + '(2^26 values, 256 MiB as 32-bit floats); nothing was read and the run goes on');
      return;
    }
    this.state(`reading ${names}…`);
    try {
      if (this.model && fileList.length === 1 && await isModelFile(fileList[0])) {
        const [f] = fileList;
        this.state('');
        return this.model({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
      }
      const files = await Promise.all(fileList.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
      const preview = await this.parse(files);
      this.show(preview, files);
      this.state('');
      this.accept({ files, preview });
    } catch (e) {
      this.state('');
      this.error(e.message ?? String(e));
    }
  }

  state(text) {
    $('upload-state').textContent = text;
  }

  /** Shows (or, with '', dismisses) the message about a file the core could not read. */
  error(text) {
    $('upload-error-text').textContent = text ? `Could not use these files: ${elide(text)}` : '';
    $('upload-error').hidden = !text;
  }

  /** A change the page made to fit the upload (such as unticking Convolutional); '' hides it. */
  note(text) {
    $('upload-note').textContent = text;
    $('upload-note').hidden = !text;
  }

  /** Highlights the box when a run waits for a file (a `custom` link, or custom chosen). */
  ask(on) {
    this.box.classList.toggle('asking', on);
  }

  /** The preview of what the core read: names, counts and the first samples with labels. */
  show(p, files) {
    $('upload-preview').hidden = false;
    this.ask(false);
    const size = files.reduce((a, f) => a + f.bytes.length, 0);
    $('upload-files').textContent = `${p.files.join(' + ')} (${p.format.toUpperCase()}, ${formatBytes(size)})`;
    const shape = p.image.length === 2 ? ` (${p.image[0]}×${p.image[1]} images)` : '';
    const header = headerOf(p, files);
    $('upload-summary').textContent = `${p.samples.toLocaleString('en')} samples · ${p.features} features${shape} · `
      + `${p.classes} classes · values ${fmt(p.extent[0])} to ${fmt(p.extent[1])}, scaled to [0, 1] with one global scale for all features`
      + (header ? ` · first row (${header}) skipped as a header` : '');
    // Labels are class indices: a gap among them still gets an output that is never the answer.
    const empty = p.empty_classes ?? 0;
    $('upload-warning').textContent = empty > 0
      ? `labels run 0..${p.classes - 1} but ${p.classes - empty} values are used; the readout gets ${p.classes} outputs` : '';
    $('upload-warning').hidden = !(empty > 0);
    const box = $('upload-preview');
    box.dataset.samples = String(p.samples);
    box.dataset.features = String(p.features);
    box.dataset.classes = String(p.classes);
    this.counts(p.counts);
    this.samples(p);
  }

  counts(counts) {
    const canvas = $('upload-counts');
    const { ctx, w, h } = fit(canvas);
    const top = Math.max(1, ...counts);
    const bw = (w - 4) / counts.length;
    // Each bar's count sits on it where it fits (the tooltip lists them all).
    const numbers = counts.every((c) => ctx.measureText(String(c)).width <= bw - 1);
    counts.forEach((c, i) => {
      const bh = ((h - 24) * c) / top;
      ctx.fillStyle = COLORS.ok;
      ctx.fillRect(2 + i * bw + 1, h - 12 - bh, Math.max(1, bw - 2), bh);
      if (counts.length <= 20) label(ctx, String(i), 2 + (i + 0.5) * bw, h - 2, { align: 'center' });
      if (numbers) label(ctx, String(c), 2 + (i + 0.5) * bw, h - 14 - bh, { align: 'center', color: COLORS.ink });
    });
    const text = `Samples per class: ${counts.map((c, i) => `${i}: ${c}`).join(', ')}`;
    canvas.setAttribute('aria-label', text);
    canvas.title = text;
  }

  /** Images as thumbnails; feature vectors as a strip of shaded cells, one per feature. */
  samples(p) {
    const root = $('upload-samples');
    root.replaceChildren();
    const image = p.image.length === 2;
    const per = p.values.length / Math.max(1, p.labels.length);
    p.labels.forEach((lab, k) => {
      const vals = p.values.slice(k * per, (k + 1) * per);
      const fig = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.className = image ? 'thumb' : 'strip';
      fig.append(canvas);
      const cap = document.createElement('figcaption');
      cap.textContent = image ? String(lab) : `label ${lab}`;
      fig.append(cap);
      fig.classList.toggle('row', !image);
      root.append(fig);
      const { ctx, w, h } = fit(canvas);
      const [ih, iw] = image ? p.image : [1, vals.length];
      // Ink on paper: 1 is dark, 0 is white, whatever the file's own polarity.
      drawPixels(ctx, iw, ih, (data) => {
        for (let i = 0; i < vals.length; i++) {
          const g = Math.round(255 * (1 - vals[i]));
          data.set([g, g, g, 255], 4 * i);
        }
      }, 0, 0, w, h);
      canvas.title = image ? `sample ${k + 1}, label ${lab}` : `sample ${k + 1}, label ${lab}: ${[...vals.slice(0, 8)].map(fmt).join(', ')}${vals.length > 8 ? ', …' : ''}`;
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', canvas.title);
    });
    root.dataset.count = String(p.labels.length);
  }
}

const fmt = (v) => Number(v.toPrecision(3)).toString();

/** The first row of an uncompressed CSV when the core skips it as a header, else ''. */
function headerOf(p, files) {
  if (p.format !== 'csv' || files.length !== 1 || /\.gz$/i.test(files[0].name)) return '';
  const first = new TextDecoder().decode(files[0].bytes.subarray(0, 512)).split(/\r?\n/)[0];
  // As `parse_csv` in crate/src/upload.rs: row 0 is a header when its first field is no f32.
  const cell = first.split(',')[0].trim();
  if (!cell || /^[-+]?((\d+\.?\d*|\.\d+)(e[-+]?\d+)?|inf|infinity|nan)$/i.test(cell)) return '';
  return first.length > 40 ? `${first.slice(0, 40)}…` : first;
}
