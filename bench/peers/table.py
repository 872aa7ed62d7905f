"""Turns bench/compare's JSON lines into the markdown ratio table.

ratio = best peer's median / libdeconv's median: > 1 means libdeconv is faster. libdeconv is
reported twice: the stateless call (repacks the weights every call) and a prepared conv
(weights packed once, like the peers' prepacked weights)."""
import json
import platform
import statistics
import subprocess
import sys
from datetime import date

PEERS = ["onednn", "tensorflow", "onnxruntime"]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    by = {}
    runs = {}  # (threads, name, tool) -> every round's median, for the median-of-rounds column
    peak = {}
    load_start = "?"
    layout = "nhwc"
    order = []
    for r in rows:
        if r["name"] == "load_start":
            load_start = r["load"]
            continue
        if r["name"] == "layout":
            layout = r["layout"]
            continue
        if r["name"] == "fma_peak":
            peak[r["threads"]] = max(peak.get(r["threads"], 0), r["gflops"])
            continue
        if r.get("kind") == "pool":
            continue
        key = (r["threads"], r["name"])
        runs.setdefault(key + (r["peer"],), []).append(r["median_ms"])
        if "prepared_median_ms" in r:
            runs.setdefault(key + ("prepared",), []).append(r["prepared_median_ms"])
        d = by.setdefault(key, {})
        # --repeat: keep each tool's best median (and libdeconv's best prepared median)
        if r["peer"] in d:
            old = d[r["peer"]]
            best = dict(old if old["median_ms"] <= r["median_ms"] else r)
            if "prepared_median_ms" in r:
                best["prepared_median_ms"] = min(old["prepared_median_ms"], r["prepared_median_ms"])
                best["prepared_gflops"] = max(old["prepared_gflops"], r["prepared_gflops"])
            d[r["peer"]] = best
        else:
            d[r["peer"]] = r
        if r["name"] not in order:
            order.append(r["name"])
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    fl = line.split()
                    flags = " ".join(x for x in ("avx2", "fma", "avx512f") if x in fl)
                    break
    except OSError:
        pass
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = ["?"]
    print(f"Measured {date.today().isoformat()} on {cpu_model()} ({flags}), "
          f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} CPUs, "
          f"load average at the start {load_start}, at the end {' '.join(load)}.\n")
    if layout == "nchw":
        print("Channels-first (NCHW / NCDHW) activations: libdeconv on its channels-last kernels "
              "between transposes, oneDNN with plain nchw / ncdhw memory, ONNX Runtime in its "
              "own layout; TensorFlow has no CPU kernel for channels-first convs.\n")
    rounds = sum(1 for r in rows if r["name"] == "fma_peak") // max(1, len(peak))
    if rounds > 1:
        print(f"Best median of {rounds} interleaved rounds per tool and layer.\n")
    for t in sorted({k[0] for k in by}):
        pin = " (pinned to CPU 0)" if t == 1 else ""
        pk = f"; measured FMA peak {peak[t]:.0f} GFLOP/s" if t in peak else ""
        print(f"### {t} thread{'s' if t > 1 else ''}{pin}{pk}\n")
        # With several rounds, a last column from each tool's median over the rounds instead of
        # its best round: a peer whose speed jumps between rounds (oneDNN's did, by up to 15%,
        # on the shared Intel machine) then does not set the ratio with one lucky round.
        med_col = rounds > 1
        print("| layer | stateless ms | prepared ms | prepared GFLOP/s | oneDNN ms | TF ms | ORT ms "
              "| best peer | ratio stateless | ratio prepared |" +
              (" ratio prepared, median of rounds |" if med_col else ""))
        print("|---|---|---|---|---|---|---|---|---|---|" + ("---|" if med_col else ""))
        for name in order:
            d = by.get((t, name), {})
            ours = d.get("libdeconv")
            peers = {p: d[p]["median_ms"] for p in PEERS if p in d}
            cell = lambda p: f"{peers[p]:.4g}" if p in peers else "-"
            if ours is None:
                continue
            prep = ours.get("prepared_median_ms")
            best = min(peers, key=peers.get) if peers else None
            ratio = f"{peers[best] / ours['median_ms']:.2f}x" if best else "-"
            ratio_p = f"{peers[best] / prep:.2f}x" if best and prep else "-"
            prep_cell = f"{prep:.4g}" if prep else "-"
            extra = ""
            if med_col:
                mp = {p: statistics.median(runs[(t, name, p)]) for p in PEERS
                      if (t, name, p) in runs}
                mo = runs.get((t, name, "prepared"))
                extra = (f" {min(mp.values()) / statistics.median(mo):.2f}x |"
                         if mp and mo else " - |")
            print(f"| {name} | {ours['median_ms']:.4g} | {prep_cell} | "
                  f"{ours.get('prepared_gflops', 0):.1f} | "
                  f"{cell('onednn')} | {cell('tensorflow')} | {cell('onnxruntime')} | "
                  f"{best or '-'} | {ratio} | {ratio_p} |" + extra)
        print()
    # Pooling: the best round's ms; % of memcpy is measured within a round (op and memcpy
    # call for call), so its median over the rounds, with the range.
    best_pool, pcts = {}, {}
    for r in rows:
        if r.get("kind") == "pool":
            k = (r["name"], r["threads"])
            pcts.setdefault(k, []).append(r["pct_memcpy"])
            if k not in best_pool or r["median_ms"] < best_pool[k]["median_ms"]:
                best_pool[k] = r
    if best_pool:
        print("### Pooling (libdeconv only): bandwidth vs memcpy of the same bytes\n")
        print("| layer | threads | ms | GB/s | % of memcpy (median of rounds, range) |")
        print("|---|---|---|---|---|")
        for k, r in best_pool.items():
            v = pcts[k]
            rng = f" ({min(v):.0f}-{max(v):.0f}%)" if len(v) > 1 else ""
            print(f"| {r['name']} | {r['threads']} | {r['median_ms']:.4g} | "
                  f"{r['gbytes_per_s']:.1f} | {statistics.median(v):.0f}%{rng} |")
        print()


if __name__ == "__main__":
    main()
