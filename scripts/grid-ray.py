"""Runs a `spikeplay compare` grid on Ray: one task per shard (`compare --shard K/N`), then
`compare merge` into the OUT.csv and OUT.md one run of the whole grid would write.

    python scripts/grid-ray.py --shards 8 --out results/digits -- \
        --dataset digits --norms none,psp,bn --depths 2,8,32 --archs plain,residual --seeds 0,1,2

Everything after `--` goes to `spikeplay compare` as it is. Each task returns its shard file's
contents, so the workers need no shared disk. Here (no --address) Ray starts on this machine
with --cpus workers. On a cluster: `ray start --head` on one machine and
`ray start --address=HEAD:6379` on the others, the same spikeplay binary at the same path on
each (--spikeplay), then run this script on the head with `--address auto`; each shard is one
task on one core (`compare` trains every run on one thread, so results do not depend on where
a shard ran). scripts/test-interop.sh runs it on a small grid and holds its tables equal to a
single `compare`'s.
"""

import argparse
import pathlib
import subprocess
import sys

import ray


@ray.remote(num_cpus=1)
def shard(spikeplay, flags, k, n):
    """Runs shard k/n in a scratch directory; returns its OUT.shard.json and its log."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / f"shard-{k}"
        done = subprocess.run([spikeplay, "compare", *flags, "--shard", f"{k}/{n}", "--out", str(out), "--quiet"], capture_output=True, text=True)
        shard_file = out.with_suffix(".shard.json")
        return k, done.returncode, done.stderr, shard_file.read_text() if shard_file.exists() else None


def main():
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = pathlib.Path(__file__).resolve().parent.parent
    ap.add_argument("--spikeplay", default=str(root / "target/release/spikeplay"))
    ap.add_argument("--shards", type=int, required=True)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--address", default=None, help="a running Ray cluster (auto: the local one); none: start Ray here")
    ap.add_argument("--cpus", type=int, default=2, help="workers when Ray starts here")
    args = ap.parse_args(own)
    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    results = ray.get([shard.remote(args.spikeplay, flags, k, args.shards) for k in range(1, args.shards + 1)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files = []
    failed = False
    for k, code, log, text in sorted(results):
        if text is None:
            print(f"shard {k}/{args.shards} wrote nothing (exit {code}): {log.strip()}", file=sys.stderr)
            failed = True
            continue
        path = args.out.parent / f"{args.out.name}.shard-{k}-of-{args.shards}.json"
        path.write_text(text)
        files.append(str(path))
        if code != 0:
            print(f"shard {k}/{args.shards}: {log.strip()}", file=sys.stderr)
    if failed:
        return 1
    merged = subprocess.run([args.spikeplay, "compare", "merge", *files, "--out", str(args.out)])
    print(f"ray: {args.shards} shards on {int(ray.cluster_resources().get('CPU', 0))} CPUs, merged into {args.out}.csv and {args.out}.md", file=sys.stderr)
    return merged.returncode


if __name__ == "__main__":
    sys.exit(main())
