"""Timing shared by the Python peer runners: median of repeated calls after a warm-up."""
import json
import sys
import time


def median_ms(fn, min_time):
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < 2000 and (len(times) < 5 or time.perf_counter() - start < min_time):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    n = len(times)
    med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    return med * 1e3


def args():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--filter", default=None)
    ap.add_argument("--min-time", type=float, default=0.5)
    return ap.parse_args()


def emit(peer, name, ms, threads):
    print(json.dumps({"peer": peer, "name": name, "median_ms": round(ms, 6), "threads": threads}))
    sys.stdout.flush()
