#!/usr/bin/env python3
"""Randomized differential conformance test of libdeconv against TensorFlow, through the C ABI.

Each case: draw a config (configs.py), run it through libdeconv (abi.py, ctypes), through TF
(tf_oracle.py, in a crash-safe worker process) and through the float64 NumPy reference
(numpy_ref.py), then judge:
  - TF accepts:            libdeconv must accept; values agree with TF and with NumPy.
  - TF rejects, shape:     libdeconv must reject with a matching status, outputs untouched.
  - TF lacks CPU support,  libdeconv must run it (or reject exactly as the header's rules
    crashes, or has no op: predict) and agree with NumPy.
  - A few documented deliberate differences (README.md) are checked as such.
The NumPy reference is itself checked against TF wherever TF runs.

  python Tests/conformance/run.py [--seed S] [--cases N] [--start I] [--case I] [--lib PATH]
"""
import argparse
import json
import os
import sys
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
# TF's own (Eigen) CPU kernels are the oracle. On CPUs with AVX-512 VNNI/BF16 or AMX, TF
# routes conv and pooling through oneDNN by default, whose ops validate shapes differently
# (wrong shapes for empty outputs, aborts on grouped transposed convs): force them off.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ctypes as C  # noqa: E402

import numpy as np  # noqa: E402

import abi  # noqa: E402
import configs  # noqa: E402
import numpy_ref as ref  # noqa: E402
import tf_oracle  # noqa: E402

RTOL = 1e-5
ATOL = 1e-5
POISON = np.array([0x7FA5A5A5], np.uint32).view(np.float32)[0]  # a NaN payload never computed
IPOISON = -0x5A5A5A5A5A5A


# ---- libdeconv calls -------------------------------------------------------------------------

def _conv_params(cfg):
    p = abi.ConvParams()
    p.struct_size = C.sizeof(abi.ConvParams)
    p.spatial_rank = cfg["rank"]
    p.layout = abi.LAYOUT[cfg["layout"]]
    p.padding = abi.PADDING[cfg["padding"]]
    for i in range(cfg["rank"]):
        p.strides[i] = cfg["strides"][i]
        p.dilations[i] = cfg["dilations"][i]
        p.pads[2 * i], p.pads[2 * i + 1] = cfg["pads"][2 * i], cfg["pads"][2 * i + 1]
    for i in range(cfg["rank"], abi.MAX_SPATIAL):
        p.strides[i] = p.dilations[i] = 1
    p.activation = abi.ACTIVATION[cfg["activation"]]
    p.alpha, p.clamp_min, p.clamp_max = cfg["alpha"], cfg["clamp_min"], cfg["clamp_max"]
    return p


def _pool_params(cfg):
    p = abi.PoolParams()
    p.struct_size = C.sizeof(abi.PoolParams)
    p.spatial_rank = cfg["rank"]
    p.layout = abi.LAYOUT[cfg["layout"]]
    p.padding = abi.PADDING[cfg["padding"]]
    for i in range(abi.MAX_SPATIAL):
        p.ksize[i] = cfg["ksize"][i] if i < cfg["rank"] else 1
        p.strides[i] = cfg["strides"][i] if i < cfg["rank"] else 1
    for j in range(2 * cfg["rank"]):
        p.pads[j] = cfg["pads"][j]
    p.count_include_pad = cfg.get("count_include_pad", 0)
    p.include_batch_in_index = cfg.get("include_batch", 0)
    p.normalize = cfg.get("normalize", 0)
    return p


def _guess_out_dims(cfg):
    """The output buffer a caller would allocate: the predicted shape, clamped at 0."""
    op, r = cfg["op"], cfg["rank"]
    sh = configs.shapes(cfg)
    if "out" in sh:
        return sh["out"]
    k = cfg.get("kernel") or cfg["ksize"]
    d = cfg.get("dilations") or [1] * r
    outs = [max(0, ref.window_out(cfg["padding"], cfg["in_spatial"][i], k[i], cfg["strides"][i],
                                  d[i], cfg["pads"][2 * i:2 * i + 2])[0]) for i in range(r)]
    c = cfg["cout"] if op == "conv" else cfg["channels"]
    return [cfg["batch"], *outs, c]


def run_lib(lib, cfg, t, ctx=None):
    """Calls the op; returns dict(status, message, y (channels-last), argmax, untouched, query)."""
    lay = cfg["layout"]
    L = configs.to_layout
    x = L(t["x"], lay)
    xs = abi.make_shape(configs.dims_to_layout(list(t["x"].shape), lay))
    out_dims = _guess_out_dims(cfg)
    out_l = configs.dims_to_layout(out_dims, lay)
    os_ = abi.make_shape(out_l)
    y = np.full(int(np.prod(out_l)), POISON, np.float32)
    err = abi.Error()
    res = {"query": None}
    op = cfg["op"]
    lib_ = lib.lib
    if op in ("conv", "conv_transpose"):
        p = _conv_params(cfg)
        w = np.ascontiguousarray(t["w"])
        ws = abi.make_shape(list(w.shape))
        b = t.get("b")
        nb = 0 if b is None else b.size
        if op == "conv":
            qs, qpads, qerr = abi.Shape(), (C.c_int64 * 6)(), abi.Error()
            q = lib_.deconv_conv_output_shape(C.byref(p), C.byref(xs), C.byref(ws),
                                              C.byref(qs), qpads, C.byref(qerr))
            res["query"] = (q, [qs.dims[i] for i in range(qs.rank)] if q == 0 else None)
            st = lib_.deconv_conv(ctx, C.byref(p), C.byref(xs), abi.ptr(x), x.size, C.byref(ws),
                                  abi.ptr(w), w.size, abi.ptr(b), nb, abi.ptr(y), y.size,
                                  C.byref(err))
        else:
            lo, hi, rerr = (C.c_int64 * 3)(), (C.c_int64 * 3)(), abi.Error()
            q = lib_.deconv_conv_transpose_output_range(C.byref(p), C.byref(xs), C.byref(ws),
                                                        lo, hi, C.byref(rerr))
            res["range"] = (q, list(lo)[:cfg["rank"]], list(hi)[:cfg["rank"]])
            st = lib_.deconv_conv_transpose(ctx, C.byref(p), C.byref(xs), abi.ptr(x), x.size,
                                            C.byref(ws), abi.ptr(w), w.size, abi.ptr(b), nb,
                                            C.byref(os_), abi.ptr(y), y.size, C.byref(err))
    else:
        p = _pool_params(cfg)
        if op in ("max_pool", "avg_pool", "max_pool_with_argmax"):
            qs, qpads, qerr = abi.Shape(), (C.c_int64 * 6)(), abi.Error()
            q = lib_.deconv_pool_output_shape(C.byref(p), C.byref(xs), C.byref(qs), qpads,
                                              C.byref(qerr))
            res["query"] = (q, [qs.dims[i] for i in range(qs.rank)] if q == 0 else None)
        if op == "max_pool":
            st = lib_.deconv_max_pool(ctx, C.byref(p), C.byref(xs), abi.ptr(x), x.size,
                                      abi.ptr(y), y.size, C.byref(err))
        elif op == "avg_pool":
            st = lib_.deconv_avg_pool(ctx, C.byref(p), C.byref(xs), abi.ptr(x), x.size,
                                      abi.ptr(y), y.size, C.byref(err))
        elif op == "max_pool_with_argmax":
            am = np.full(y.size, IPOISON, np.int64)
            st = lib_.deconv_max_pool_with_argmax(ctx, C.byref(p), C.byref(xs), abi.ptr(x),
                                                  x.size, abi.ptr(y), y.size, abi.ptr(am),
                                                  am.size, C.byref(err))
            res["argmax_raw"] = am
        elif op == "max_unpool":
            am = np.ascontiguousarray(configs.to_layout(t["argmax"], lay))
            st = lib_.deconv_max_unpool(ctx, C.byref(p), C.byref(xs), abi.ptr(x), x.size,
                                        abi.ptr(am), am.size, C.byref(os_), abi.ptr(y), y.size,
                                        C.byref(err))
        else:
            st = lib_.deconv_avg_unpool(ctx, C.byref(p), C.byref(xs), abi.ptr(x), x.size,
                                        C.byref(os_), abi.ptr(y), y.size, C.byref(err))
    res["status"] = abi.status_name(st)
    res["message"] = err.message.decode(errors="replace")
    res["err_status"] = abi.status_name(err.status)
    res["untouched"] = bool(np.all(y.view(np.uint32) == POISON.view(np.uint32)))
    if "argmax_raw" in res:
        res["untouched"] = res["untouched"] and bool(np.all(res["argmax_raw"] == IPOISON))
        res["argmax"] = configs.from_layout(res["argmax_raw"].reshape(out_l), lay)
    res["y"] = configs.from_layout(y.reshape(out_l), lay)
    res["raw"] = y
    return res


# ---- the NumPy side ---------------------------------------------------------------------------

def run_ref(cfg, t):
    op = cfg["op"]
    if op == "conv":
        y = ref.conv(t["x"], t["w"], cfg["strides"], cfg["dilations"], cfg["padding"],
                     cfg["pads"], cfg["cin"] // cfg["filter_in"])
    elif op == "conv_transpose":
        y = ref.conv_transpose(t["x"], t["w"], cfg["out_spatial"], cfg["strides"],
                               cfg["dilations"], cfg["padding"], cfg["pads"],
                               cfg["cout"] // cfg["filter_out"])
    elif op in ("max_pool", "avg_pool"):
        return {"y": ref.pool(t["x"], cfg["ksize"], cfg["strides"], cfg["padding"], cfg["pads"],
                              op[:3], cfg["count_include_pad"])}
    elif op == "max_pool_with_argmax":
        y, am = ref.pool(t["x"], cfg["ksize"], cfg["strides"], cfg["padding"], cfg["pads"],
                         "argmax", include_batch=cfg["include_batch"])
        return {"y": y, "argmax": am}
    elif op == "max_unpool":
        return {"y": ref.max_unpool(t["x"], t["argmax"], configs.shapes(cfg)["out"],
                                    cfg["include_batch"])}
    else:
        return {"y": ref.avg_unpool(t["x"], configs.shapes(cfg)["out"], cfg["ksize"],
                                    cfg["strides"], cfg["padding"], cfg["pads"],
                                    cfg["normalize"], cfg["count_include_pad"])}
    if "b" in t:
        y = y + t["b"].astype(np.float64)
    return {"y": ref.activate(y, cfg["activation"], cfg["alpha"], cfg["clamp_min"],
                              cfg["clamp_max"])}


def exact_expected(cfg):
    """Whether float32 results must agree bit for bit (every partial sum exact)."""
    op = cfg["op"]
    if op in ("max_pool", "max_pool_with_argmax"):
        return True
    if not cfg["ints"]:
        return False
    if op in ("conv", "conv_transpose"):
        return cfg["activation"] in ("none", *configs.EXACT_ACTS)
    if op == "avg_unpool":
        return not cfg["normalize"]
    return True  # avg_pool: exact sum, one correctly rounded division; max_unpool: int sums


def compare(got, want, exact, what):
    """None when they agree, else a one-line description."""
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"{what}: shape {list(got.shape)} != {list(want.shape)}"
    if got.size == 0:
        return None
    if got.dtype == np.int64 or want.dtype == np.int64:
        bad = np.argwhere(got != want)
        if len(bad):
            i = tuple(bad[0])
            return f"{what}: {len(bad)} indices differ, first at {list(i)}: {got[i]} != {want[i]}"
        return None
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    if exact:
        w = want.astype(np.float32).astype(np.float64)
        bad = np.argwhere(~((g == w) | (np.isnan(g) & np.isnan(w))))
        if len(bad):
            i = tuple(bad[0])
            return (f"{what}: {len(bad)} values not bit-exact, first at {list(i)}: "
                    f"{got[i]!r} != {want[i]!r}")
        return None
    scale = float(np.max(np.abs(w))) or 1.0
    tol = RTOL * np.abs(w) + ATOL * scale
    diff = np.abs(g - w)
    bad = np.argwhere(~(diff <= tol))
    if len(bad):
        i = tuple(bad[0])
        return (f"{what}: {len(bad)} values outside rtol {RTOL} atol {ATOL}*{scale:.3g}, "
                f"first at {list(i)}: {got[i]!r} vs {want[i]!r}")
    return None


# ---- judging one case -------------------------------------------------------------------------

def judge(cfg, t, lib, tf_out, ctx2):
    """Returns (failures, category)."""
    fails = []
    try:
        want_shape = configs.predict(cfg)
        rej = None
    except ref.Reject as e:
        want_shape, rej = None, e.statuses
    diffs = configs.known_differences(cfg)

    # What TF says, and whether it agrees with the reference's prediction.
    cat = "tf: compared"
    tf_vals = None
    if tf_out is None or tf_out[0] == "skip":
        cat = "TF not run: " + (tf_out[1] if tf_out else "?")
    elif tf_out[0] == "crash":
        cat = "TF crashes: " + (tf_oracle.known_abort(cfg) or tf_out[1])
        if not tf_oracle.known_abort(cfg):
            fails.append(f"TF crashed unexpectedly ({tf_out[1]})")
    elif (tf_out[0] == "error" and tf_out[1] == "UnicodeDecodeError"
          and tf_oracle.known_abort(cfg)):
        # A known out-of-bounds run (its throwaway probe) that left bytes which are not text
        # in TF's error message, so TF's Python wrapper failed to decode it (seed 1, case
        # 199, AvgPoolGrad, in one CI run of many): the garbage the known abort names.
        cat = "TF crashes: " + tf_oracle.known_abort(cfg) + " (an error message that is not text)"
    elif tf_out[0] == "error":
        kind, info = tf_oracle.classify(cfg, tf_out[2])
        if kind == "unknown":
            fails.append(f"unclassified TF error {tf_out[1]}: {tf_out[2][:300]}")
            cat = "TF error: unclassified"
        elif kind == "unsupported":
            cat = f"TF lacks CPU support: {info}"
        else:
            cat = "TF rejects (shape)"
            if rej is None:
                fails.append(f"TF rejects ({tf_out[2][:200]}) but the reference accepts")
            elif not (info & rej):
                fails.append(f"TF rejects as {sorted(info)} ({tf_out[2][:160]}), "
                             f"reference predicts {sorted(rej)}")
    else:
        tf_vals = tf_out[1]
        if rej is not None:
            tf_vals = None
            rejecting = diffs & {"empty_output_skips_checks", "avgpoolgrad_lax", "empty_window"}
            if rejecting:
                cat = "difference: " + ", ".join(sorted(rejecting)) + " (TF accepts)"
            else:
                fails.append(f"TF accepts but the reference predicts {sorted(rej)}")
        else:
            valued = diffs & {"eigen3d_same_shift", "avgpoolgrad_miscount"}
            if valued:
                want = run_ref(cfg, t)
                differs = any(compare(arr, want[k], exact_expected(cfg) or k == "argmax", k)
                              for k, arr in tf_vals.items())
                cat = ("difference: " + ", ".join(sorted(valued)) +
                       (" (TF output differs)" if differs else " (TF output agrees here)"))
                tf_vals = None  # TF is not the oracle here; NumPy is

    if lib is None:  # --ref-only: check the reference against TF, no library needed
        if rej is None and tf_vals is not None:
            want = run_ref(cfg, t)
            for name, arr in tf_vals.items():
                f = compare(arr, want[name], exact_expected(cfg) or name == "argmax",
                            f"{name} TF vs numpy reference")
                if f:
                    fails.append(f)
        return fails, cat

    # libdeconv.
    got = run_lib(lib, cfg, t)
    if got["err_status"] != got["status"]:
        fails.append(f"deconv_error.status {got['err_status']} != returned {got['status']}")
    if rej is not None:
        if got["status"] not in rej:
            fails.append(f"libdeconv returns {got['status']} ({got['message']}), "
                         f"expected {' or '.join(sorted(rej))}")
        if got["status"] != "OK" and not got["untouched"]:
            fails.append("libdeconv wrote the output on error")
        if not got["message"] and got["status"] != "OK":
            fails.append("error without a message")
        _check_query(cfg, got, rej, None, fails)
        return fails, cat
    if got["status"] != "OK":
        fails.append(f"libdeconv returns {got['status']}: {got['message']}")
        return fails, cat
    _check_query(cfg, got, None, want_shape, fails)
    want = run_ref(cfg, t)
    exact = exact_expected(cfg)
    f = compare(got["y"], want["y"], exact, "libdeconv vs numpy")
    if f:
        fails.append(f)
    if "argmax" in want:
        f = compare(got["argmax"], want["argmax"], True, "argmax libdeconv vs numpy")
        if f:
            fails.append(f)
    if tf_vals is not None:
        for name, arr in tf_vals.items():
            ex = exact or name == "argmax"
            f = compare(got[name], arr, ex, f"{name} libdeconv vs TF")
            if f:
                fails.append(f)
            f = compare(arr, want[name], ex, f"{name} TF vs numpy reference")
            if f:
                fails.append(f)
    # Same bits with a 2-thread context.
    got2 = run_lib(lib, cfg, t, ctx2)
    if got2["status"] != "OK" or not np.array_equal(got2["raw"].view(np.uint32),
                                                    got["raw"].view(np.uint32)):
        fails.append("result with a 2-thread context differs from the serial one")
    return fails, cat


def _check_query(cfg, got, rej, want_shape, fails):
    if got["query"] is not None:
        q, dims = got["query"]
        if rej is None and (q != 0 or dims != configs.dims_to_layout(want_shape, cfg["layout"])):
            fails.append(f"output-shape query gives {abi.status_name(q)} {dims}")
        if rej is not None and abi.status_name(q) not in rej | {"OK"}:
            fails.append(f"output-shape query gives {abi.status_name(q)}, op expected "
                         f"{sorted(rej)}")
    if "range" in got and cfg["fault"] in (None, "output_size_out_of_range"):
        q, lo, hi = got["range"]
        if q != 0:
            fails.append(f"deconv_conv_transpose_output_range gives {abi.status_name(q)}")
            return
        for i in range(cfg["rank"]):
            rg = ref.transpose_range(cfg["padding"], cfg["in_spatial"][i], cfg["kernel"][i],
                                     cfg["strides"][i], cfg["dilations"][i],
                                     cfg["pads"][2 * i:2 * i + 2])
            n, st = cfg["in_spatial"][i], cfg["strides"][i]
            if n >= 1:
                width = st
            else:
                width = 1 if cfg["padding"] == "SAME" else 2 * st - 1
            ok = hi[i] - lo[i] + 1 == width
            if rg is None:
                ok = ok and hi[i] < 0
            else:
                ok = ok and (max(lo[i], 0), hi[i]) == rg
            if not ok:
                fails.append(f"output range dim {i}: [{lo[i]}, {hi[i]}], reference {rg}")


# ---- driver ------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CONFORMANCE_SEED", 1)))
    ap.add_argument("--cases", type=int,
                    default=int(os.environ.get("CONFORMANCE_CASES", 10000)))
    ap.add_argument("--start", type=int, default=int(os.environ.get("CONFORMANCE_START", 0)))
    ap.add_argument("--case", type=int, help="run only this case (same as --start I --cases 1)")
    ap.add_argument("--lib", default=os.environ.get("CONFORMANCE_LIB", "build/libdeconv.so"))
    ap.add_argument("--layout-json", help="output of layout_check.c, compared with abi.py")
    ap.add_argument("--no-tf", action="store_true", help="NumPy reference only")
    ap.add_argument("--ref-only", action="store_true",
                    help="no library: check the NumPy reference against TF")
    ap.add_argument("--show", action="store_true", help="print every case's config")
    ap.add_argument("--chunk", type=int, default=100)
    a = ap.parse_args()
    if a.case is not None:
        a.start, a.cases = a.case, 1
    t0 = time.time()
    failed_total = 0
    if a.layout_json:
        with open(a.layout_json) as fh:
            diffs = abi.check_layout(fh.read())
        for d in diffs:
            print("ABI layout mismatch:", d)
        failed_total += len(diffs)
    lib = None if a.ref_only else abi.Lib(os.path.abspath(a.lib))
    ctx2 = None if a.ref_only else lib.context(2)
    worker = None if a.no_tf else tf_oracle.Worker()
    print(f"conformance: libdeconv {lib.version() if lib else '(none)'}, seed {a.seed}, cases "
          f"{a.start}..{a.start + a.cases - 1}", flush=True)
    passed = 0
    cats = {}
    ops = {}
    abort_checked = set()
    for c0 in range(a.start, a.start + a.cases, a.chunk):
        ids = range(c0, min(c0 + a.chunk, a.start + a.cases))
        cases = {i: configs.generate(a.seed, i) for i in ids}
        data = {i: configs.tensors(cases[i], a.seed, i) for i in ids}
        tf_res = {}
        items = []
        for i in ids:
            why = tf_oracle.no_tf_equivalent(cases[i])
            abort = tf_oracle.known_abort(cases[i])
            if worker is None:
                tf_res[i] = ("skip", "TF not run (--no-tf)")
            elif why:
                tf_res[i] = ("skip", why)
            elif abort:
                if abort in abort_checked:
                    tf_res[i] = ("skip", "known abort: " + abort)
                else:  # show once per run that it still happens, in a throwaway process
                    abort_checked.add(abort)
                    probe = tf_oracle.Worker()
                    tf_res.update(probe.run([(i, cases[i], data[i])]))
                    probe.close()
            else:
                items.append((i, cases[i], data[i]))
        if worker is not None and items:
            if worker.version is None:
                worker._start()
                print(f"TensorFlow {worker.version} (worker pid {worker.proc.pid})", flush=True)
            tf_res.update(worker.run(items))
        for i in ids:
            cfg = cases[i]
            try:
                fails, cat = judge(cfg, data[i], lib, tf_res.get(i), ctx2)
            except Exception as e:  # a harness bug must show as a failing case, not stop the run
                fails, cat = [f"harness exception {type(e).__name__}: {e}"], "harness error"
            cats[cat] = cats.get(cat, 0) + 1
            ops.setdefault(cfg["op"], [0, 0])[bool(fails)] += 1
            if a.show:
                print(f"case {i}: {json.dumps(cfg)} -> {cat}")
            if fails:
                failed_total += 1
                print(f"FAIL case {i} [{cfg['op']}, {cat}]: {fails[0]}")
                for f in fails[1:3]:
                    print(f"     also: {f}")
                print(f"     config: {json.dumps(cfg, separators=(',', ':'))}")
                print(f"     repro: CONFORMANCE_SEED={a.seed} CONFORMANCE_START={i} "
                      f"CONFORMANCE_CASES=1 make conformance   "
                      f"(or python Tests/conformance/run.py --seed {a.seed} --case {i})",
                      flush=True)
            else:
                passed += 1
    if worker is not None:
        worker.close()
    if lib is not None:
        lib.destroy(ctx2)
    print("\nby op (passed/failed): " + ", ".join(
        f"{op} {p}/{f}" for op, (p, f) in sorted(ops.items())))
    print("by oracle category:")
    for cat, n in sorted(cats.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6d}  {cat}")
    if worker is not None:
        print(f"TF worker restarts after crashes: {worker.restarts}")
    print(f"time {time.time() - t0:.1f}s")
    print(f"{passed} passed, {failed_total} failed")
    return 1 if failed_total else 0


if __name__ == "__main__":
    sys.exit(main())
