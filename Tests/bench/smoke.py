#!/usr/bin/env python3
"""Smoke test of the benchmark binary (bench/bench.c), run by `make check`: every layer of the
suite runs in both layouts (`--layout nhwc|nchw`), each once (--min-time 0), with no failed
call (the benchmark exits 1 if any call returns an error), and its JSON lines carry what the
comparison script (bench/compare) reads. Timings are not judged here: speed is measured by
`make bench` and bench/compare, side by side with the peers.

usage: smoke.py BENCH_BINARY
"""
import json
import subprocess
import sys


def run(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=600)


def layers(binary, layout):
    r = run(binary, "--threads", "2", "--no-peak", "--min-time", "0", "--json",
            "--layout", layout)
    if r.returncode != 0:
        sys.exit(f"bench --layout {layout}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    out = {}
    for line in r.stdout.splitlines():
        row = json.loads(line)
        if row["name"] == "fma_peak":
            continue
        name = row["name"]
        if name in out:
            sys.exit(f"bench --layout {layout}: {name} reported twice")
        if row.get("layout") != layout:
            sys.exit(f"bench --layout {layout}: {name} ran as {row.get('layout')}")
        if not row["median_ms"] > 0:
            sys.exit(f"bench --layout {layout}: {name} median_ms {row['median_ms']}")
        if row["kind"] != "pool" and not row["prepared_median_ms"] > 0:
            sys.exit(f"bench --layout {layout}: {name} prepared_median_ms "
                     f"{row['prepared_median_ms']}")
        out[name] = row
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    nhwc, nchw = layers(binary, "nhwc"), layers(binary, "nchw")
    if sorted(nhwc) != sorted(nchw):
        sys.exit(f"the layouts ran different layers: {sorted(nhwc)} / {sorted(nchw)}")
    for name in ("dcgan1", "mnist_k3s2", "vol3d", "maxpool_argmax", "max_unpool"):
        if name not in nhwc:
            sys.exit(f"layer {name} missing from the benchmark")
    if len(nhwc) < 15:
        sys.exit(f"only {len(nhwc)} layers ran")
    for bad in (["--layout", "nhcw"], ["--layout"], ["--threads", "0"]):
        r = run(binary, *bad)
        if r.returncode != 2 or "usage" not in r.stderr and "--threads" not in r.stderr:
            sys.exit(f"bench {' '.join(bad)}: exit {r.returncode}, stderr {r.stderr!r}")
    print(f"bench smoke: {len(nhwc)} layers ran in nhwc and nchw, bad flags refused")


if __name__ == "__main__":
    main()
