"""A grid beyond one process (issue 20): scripts/grid-ray.py runs `spikeplay compare` as
Ray tasks, one per shard, and merges them; its OUT.csv and OUT.md must be the ones a single
`compare` of the whole grid writes (the CSV's `seconds` column aside: those are timings).
Also the refusals of `compare merge`: a missing shard, a shard of another grid.

Prints TAP-style totals (`# pass N`, `# fail M`) for scripts/test.sh.
"""

import argparse
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
GRID = ["--dataset", "moons", "--samples", "200", "--depth", "2", "--width", "8", "--timesteps", "2", "--epochs", "2",
        "--norms", "none,psp,bn", "--depths", "2,3", "--archs", "plain,residual", "--seeds", "0,1"]
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'FAIL'} - {name}{': ' + detail if detail else ''}", flush=True)


def without_seconds(csv_text):
    lines = csv_text.splitlines()
    at = lines[0].split(",").index("seconds")
    return [",".join(c for i, c in enumerate(line.split(",")) if i != at) for line in lines]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spikeplay", required=True)
    ap.add_argument("--work", required=True, type=pathlib.Path)
    args = ap.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    one = subprocess.run([args.spikeplay, "compare", *GRID, "--quiet", "--out", str(work / "whole")], capture_output=True, text=True)
    check("one compare of the whole grid", one.returncode == 0, one.stderr.strip())
    ray = subprocess.run([sys.executable, str(ROOT / "scripts/grid-ray.py"), "--spikeplay", args.spikeplay, "--shards", "5", "--out", str(work / "ray"), "--", *GRID],
                         capture_output=True, text=True)
    said = [l for l in ray.stderr.splitlines() if l.startswith(("ray:", "merged", "shard"))]
    check("Ray runs 5 shards and merges them", ray.returncode == 0, " / ".join(said) or ray.stderr.strip()[-400:])
    if ray.returncode == 0 and one.returncode == 0:
        a, b = (work / "whole.csv").read_text(), (work / "ray.csv").read_text()
        check("the merged OUT.csv is the single run's", without_seconds(a) == without_seconds(b), f"{len(a.splitlines()) - 1} runs")
        check("the merged OUT.md is the single run's", (work / "whole.md").read_text() == (work / "ray.md").read_text())
    shards = sorted(str(p) for p in work.glob("ray.shard-*-of-5.json"))
    gone = subprocess.run([args.spikeplay, "compare", "merge", *shards[:-1], "--out", str(work / "partial")], capture_output=True, text=True)
    check("merge refuses a missing shard", gone.returncode != 0 and "shard 5/5 is missing" in gone.stderr, gone.stderr.strip())
    other = subprocess.run([args.spikeplay, "compare", *GRID[:-1], "0", "--shard", "1/5", "--quiet", "--out", str(work / "other")], capture_output=True, text=True)
    mixed = subprocess.run([args.spikeplay, "compare", "merge", *shards[1:], str(work / "other.shard.json"), "--out", str(work / "mixed")], capture_output=True, text=True)
    check("merge refuses a shard of another grid by name", other.returncode == 0 and mixed.returncode != 0 and "other.shard.json: is a shard of another grid" in mixed.stderr, mixed.stderr.strip())
    passed = sum(results)
    print(f"# pass {passed}\n# fail {len(results) - passed}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
