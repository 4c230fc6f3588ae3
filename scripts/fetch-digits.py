#!/usr/bin/env python3
"""Regenerate data/digits/digits.csv: the UCI optdigits 8x8 set as scikit-learn bundles it.

The file is taken from the scikit-learn wheel on PyPI (pinned below), not from the UCI
site, so it needs only pip. It writes 1,797 rows of 64 pixel counts (0..16) and a label
(0..9), exactly as `sklearn.datasets.load_digits` reads them, and checks the counts.

    python3 scripts/fetch-digits.py
"""
import csv, gzip, io, os, subprocess, sys, tempfile, zipfile

SKLEARN = "scikit-learn==1.9.1"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "digits")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", tmp, SKLEARN], check=True)
        wheel = next(os.path.join(tmp, n) for n in os.listdir(tmp) if n.endswith(".whl"))
        with zipfile.ZipFile(wheel) as z:
            raw = gzip.decompress(z.read("sklearn/datasets/data/digits.csv.gz")).decode()
            descr = z.read("sklearn/datasets/descr/digits.rst").decode()
    rows = [r for r in csv.reader(io.StringIO(raw)) if r]
    assert len(rows) == 1797, f"expected 1797 samples, got {len(rows)}"
    out = []
    for i, r in enumerate(rows):
        vals = [int(float(v)) for v in r]
        assert len(vals) == 65, f"row {i}: expected 65 columns, got {len(vals)}"
        assert all(0 <= v <= 16 for v in vals[:64]) and 0 <= vals[64] <= 9, f"row {i} out of range"
        out.append(",".join(map(str, vals)))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "digits.csv"), "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(OUT, "DESCR.rst"), "w") as f:
        f.write(descr)
    print(f"wrote {len(out)} samples to data/digits/digits.csv")


if __name__ == "__main__":
    main()
