// Downloads: a run's recording as JSON or CSV, and any chart as a PNG. The PNG is the chart's
// canvas at its device-pixel size under a band with the card's title and, in a comparison,
// the run legend, so an image pasted elsewhere still says what it shows.

/** Saves `blob` as `name` through a temporary link (no server round trip). */
export function save(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const saveJson = (name, value) => save(name, new Blob([JSON.stringify(value, null, 1)], { type: 'application/json' }));
export const saveCsv = (name, text) => save(name, new Blob([text], { type: 'text/csv' }));

/** Splits `text` into lines no wider than `max` at the spaces after '·', '—' and ','. */
function wrap(ctx, text, max) {
  const lines = [];
  for (const part of text ? text.split(/(?<=[·—,]) /) : []) {
    const last = lines[lines.length - 1];
    if (last !== undefined && ctx.measureText(`${last} ${part}`).width <= max) lines[lines.length - 1] = `${last} ${part}`;
    else lines.push(part);
  }
  return lines;
}

/**
 * The chart in `canvas` under a head: `title`, then `caption` (which run or comparison it is)
 * and `legend` ([{ label, color, dash? }]: a square, or with a dash a line sample as on the chart), all wrapped to the canvas's device-pixel width; a PNG blob.
 */
export function chartPng(canvas, title, legend = [], caption = '') {
  const dpr = canvas.width / Math.max(1, canvas.clientWidth) || 1;
  const pad = 8 * dpr, line = 16 * dpr, max = canvas.width - 2 * pad;
  const bold = `600 ${13 * dpr}px system-ui, sans-serif`, plain = `${12 * dpr}px system-ui, sans-serif`;
  const out = document.createElement('canvas');
  const ctx = out.getContext('2d');
  ctx.font = bold;
  const titleLines = wrap(ctx, title, max);
  ctx.font = plain;
  const captionLines = wrap(ctx, caption, max);
  // The legend in rows that fit the width.
  const rows = [[]];
  let x = pad;
  for (const item of legend) {
    const w = (item.dash ? 26 : 14) * dpr + ctx.measureText(item.label).width + 12 * dpr;
    if (x + w > canvas.width - pad && rows[rows.length - 1].length) {
      rows.push([]);
      x = pad;
    }
    rows[rows.length - 1].push({ ...item, x });
    x += w;
  }
  const text = [...titleLines.map((t) => [t, bold, '#1f2933']), ...captionLines.map((t) => [t, plain, '#7b8794'])];
  const head = pad + line * (text.length + (legend.length ? rows.length : 0)) + pad / 2;
  out.width = canvas.width; // resizing resets the context: everything above was measuring only
  out.height = canvas.height + head;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.textBaseline = 'middle';
  text.forEach(([t, font, color], i) => {
    ctx.font = font;
    ctx.fillStyle = color;
    ctx.fillText(t, pad, pad + line * (i + 0.5));
  });
  ctx.font = plain;
  rows.forEach((row, r) => {
    const y = pad + line * (text.length + r + 0.5);
    for (const item of row) {
      if (item.dash) {
        ctx.strokeStyle = item.color;
        ctx.lineWidth = 2.5 * dpr;
        ctx.setLineDash(item.dash.map((v) => v * dpr));
        ctx.beginPath();
        ctx.moveTo(item.x, y);
        ctx.lineTo(item.x + 22 * dpr, y);
        ctx.stroke();
        ctx.setLineDash([]);
      } else {
        ctx.fillStyle = item.color;
        ctx.fillRect(item.x, y - 5 * dpr, 10 * dpr, 10 * dpr);
      }
      ctx.fillStyle = '#1f2933';
      ctx.fillText(item.label, item.x + (item.dash ? 26 : 14) * dpr, y);
    }
  });
  ctx.drawImage(canvas, 0, head);
  return new Promise((ok) => out.toBlob(ok, 'image/png'));
}

/** The text of a card's heading without its buttons, "Title — its note": what the chart is. */
export function cardTitle(card) {
  const h = card.querySelector('h2');
  if (!h) return '';
  const copy = h.cloneNode(true);
  copy.querySelectorAll('button').forEach((b) => b.remove());
  copy.querySelectorAll('small').forEach((s) => s.prepend(' — '));
  return copy.textContent.replace(/\s+/g, ' ').trim();
}

/**
 * Adds a small PNG button to the heading of every card under `root` that holds a canvas.
 * `context(card, canvas)` returns { name, legend, caption } at click time (file name, run
 * legend, a line saying which run or comparison this is).
 */
export function addPngButtons(root, context) {
  for (const card of root.querySelectorAll('.card')) {
    const canvas = card.querySelector('canvas');
    const h = card.querySelector('h2');
    if (!canvas || !h || h.querySelector('.png')) continue;
    const b = document.createElement('button');
    b.className = 'mini png';
    b.textContent = 'PNG';
    b.title = 'Download this chart as a PNG image';
    b.setAttribute('aria-label', `Download the chart ${cardTitle(card).split(' — ')[0]} as PNG`);
    b.addEventListener('click', async (e) => {
      if (e.detail > 0) b.blur();
      const { name, legend, caption } = context(card, canvas);
      save(name, await chartPng(canvas, cardTitle(card), legend, caption));
    });
    h.append(b);
  }
}
