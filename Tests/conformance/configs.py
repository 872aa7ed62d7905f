"""Random configurations, their tensors, and the status the header's rules predict.

A config is a plain dict (picklable, printable). All shapes in it are channels-last
([N, spatial..., C]); `layout` says how the tensors are handed to libdeconv and TF.
Case i of seed s is drawn from its own generator, so any case can be rerun alone.
"""
import numpy as np

import numpy_ref as ref

OPS = ["conv", "conv_transpose", "max_pool", "avg_pool", "max_pool_with_argmax",
       "max_unpool", "avg_unpool"]
OP_WEIGHTS = [0.24, 0.26, 0.10, 0.10, 0.10, 0.10, 0.10]
ACTS = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "clamp"]
EXACT_ACTS = ["relu", "relu6", "leaky_relu", "clamp"]  # exact on small integers


def case_rng(seed, case):
    return np.random.default_rng([seed, case])


def _spatial(rng, rank, lo=0):
    top = {1: 12, 2: 8, 3: 5}[rank]
    return [int(lo if rng.random() < 0.03 else rng.integers(max(lo, 1), top + 1))
            for _ in range(rank)]


def _kernel(rng, rank):
    if rank == 3:
        return [int(rng.choice([1, 2, 3, 4, 5, 6], p=[.25, .3, .25, .1, .05, .05]))
                for _ in range(rank)]
    return [int(rng.integers(1, 7)) for _ in range(rank)]


def _strides(rng, rank):
    if rng.random() < 0.3:
        return [1] * rank
    return [int(rng.integers(1, 5)) for _ in range(rank)]


def _dilations(rng, rank):
    if rng.random() < 0.55:
        return [1] * rank
    return [int(rng.integers(1, 4)) for _ in range(rank)]


def _padding(rng):
    return str(rng.choice(["VALID", "SAME", "EXPLICIT"], p=[.35, .35, .30]))


def _act(rng, cfg):
    cfg["bias"] = bool(rng.random() < 0.5)
    cfg["activation"] = "none" if rng.random() < 0.45 else str(
        rng.choice(EXACT_ACTS if cfg["ints"] else ACTS))
    cfg["alpha"] = float(rng.choice([0.25, 0.5])) if cfg["ints"] else float(
        np.float32(rng.uniform(0.01, 0.5)))
    if cfg["ints"]:
        cfg["clamp_min"], cfg["clamp_max"] = float(rng.integers(-3, 1)), float(rng.integers(0, 4))
    else:
        cfg["clamp_min"] = float(np.float32(rng.uniform(-1, 0)))
        cfg["clamp_max"] = float(np.float32(rng.uniform(0, 1.5)))


def generate(seed, case):
    rng = case_rng(seed, case)
    op = str(rng.choice(OPS, p=OP_WEIGHTS))
    rank = int(rng.choice([1, 2, 3], p=[.28, .47, .25]))
    cfg = {"op": op, "rank": rank,
           "layout": "first" if rng.random() < 0.25 else "last",
           "padding": _padding(rng), "ints": bool(rng.random() < 0.4),
           "batch": int(0 if rng.random() < 0.05 else rng.integers(1, 4)),
           "fault": None}
    if op == "conv":
        _gen_conv(rng, cfg)
    elif op == "conv_transpose":
        _gen_conv_transpose(rng, cfg)
    elif op in ("max_pool", "avg_pool", "max_pool_with_argmax"):
        _gen_pool(rng, cfg)
    else:
        _gen_unpool(rng, cfg)
    return cfg


def _groups(rng):
    return 1 if rng.random() < 0.6 else int(rng.integers(2, 5))


def _gen_conv(rng, cfg):
    r = cfg["rank"]
    g = _groups(rng)
    cig = int(rng.integers(1, 10 // g + 1)) if g > 1 else int(rng.integers(1, 10))
    cog = int(rng.integers(1, 10 // g + 1)) if g > 1 else int(rng.integers(1, 10))
    cfg.update(groups=g, cin=g * cig, cout=g * cog, filter_in=cig,
               in_spatial=_spatial(rng, r), kernel=_kernel(rng, r), strides=_strides(rng, r),
               dilations=_dilations(rng, r))
    cfg["pads"] = [int(rng.integers(0, 4)) for _ in range(2 * r)]
    if rng.random() < 0.08:  # channels that do not divide
        if rng.random() < 0.5:
            cand = [f for f in range(2, g * cig + 2) if (g * cig) % f]
            cfg["filter_in"] = int(rng.choice(cand))
            cfg["fault"] = "cin_not_divisible"
        elif g > 1:
            cfg["cout"] = g * cog + 1
            cfg["fault"] = "cout_not_multiple_of_groups"
    _act(rng, cfg)


def _gen_conv_transpose(rng, cfg):
    r = cfg["rank"]
    g = 1 if rng.random() < 0.7 else int(rng.integers(2, 5))
    icg = int(rng.integers(1, 10 // g + 1)) if g > 1 else int(rng.integers(1, 10))
    ocg = int(rng.integers(1, 10 // g + 1)) if g > 1 else int(rng.integers(1, 10))
    cfg.update(groups=g, cin=g * icg, cout=g * ocg, filter_out=ocg, filter_in=g * icg,
               in_spatial=_spatial(rng, r, lo=0), kernel=_kernel(rng, r),
               strides=_strides(rng, r), dilations=_dilations(rng, r))
    cfg["pads"] = [int(rng.integers(0, 4)) for _ in range(2 * r)]
    out = []
    for i in range(r):
        rg = ref.transpose_range(cfg["padding"], cfg["in_spatial"][i], cfg["kernel"][i],
                                 cfg["strides"][i], cfg["dilations"][i],
                                 cfg["pads"][2 * i:2 * i + 2])
        if rg is None:
            out.append(int(rng.integers(0, 4)))
        else:
            out.append(int(rng.integers(rg[0], rg[1] + 1)))
    cfg["out_spatial"] = out
    cfg["out_batch"] = cfg["batch"]
    u = rng.random()
    if u < 0.10:
        i = int(rng.integers(0, r))
        rg = ref.transpose_range(cfg["padding"], cfg["in_spatial"][i], cfg["kernel"][i],
                                 cfg["strides"][i], cfg["dilations"][i],
                                 cfg["pads"][2 * i:2 * i + 2])
        if rg is not None:
            cand = [v for v in (rg[0] - 2, rg[0] - 1, rg[1] + 1, rg[1] + 2) if v >= 0]
            cfg["out_spatial"][i] = int(rng.choice(cand))
            cfg["fault"] = "output_size_out_of_range"
    elif u < 0.13:
        cfg["out_batch"] = cfg["batch"] + int(rng.integers(1, 3))
        cfg["fault"] = "batch_mismatch"
    elif u < 0.16:
        cfg["filter_in"] = cfg["cin"] + 1
        cfg["fault"] = "input_channels_mismatch"
    elif u < 0.19 and g == 1 and ocg > 1:
        cfg["cout"] = ocg + 1 if (ocg + 1) % ocg else ocg - 1
        cfg["fault"] = "output_channels_mismatch"
    _act(rng, cfg)


def _gen_pool(rng, cfg):
    r = cfg["rank"]
    cfg.update(channels=int(rng.integers(1, 10)), in_spatial=_spatial(rng, r),
               ksize=_kernel(rng, r), strides=_strides(rng, r),
               count_include_pad=int(cfg["op"] == "avg_pool" and rng.random() < 0.25),
               include_batch=int(rng.random() < 0.5))
    cfg["pads"] = [int(rng.integers(0, cfg["ksize"][i // 2])) for i in range(2 * r)]
    if cfg["padding"] == "EXPLICIT" and rng.random() < 0.08:
        j = int(rng.integers(0, 2 * r))
        cfg["pads"][j] = cfg["ksize"][j // 2] + int(rng.integers(0, 2))
        cfg["fault"] = "pad_not_below_ksize"


def _gen_unpool(rng, cfg):
    r = cfg["rank"]
    cfg.update(channels=int(rng.integers(1, 10)), out_spatial=_spatial(rng, r, lo=1),
               ksize=_kernel(rng, r), strides=_strides(rng, r),
               count_include_pad=int(cfg["op"] == "avg_unpool" and rng.random() < 0.25),
               include_batch=int(rng.random() < 0.5),
               normalize=int(cfg["op"] == "avg_unpool" and rng.random() < 0.6),
               argmax_mode="pool" if rng.random() < 0.6 else "random")
    cfg["pads"] = [int(rng.integers(0, cfg["ksize"][i // 2])) for i in range(2 * r)]
    ins = []
    for i in range(r):
        o = ref.window_out(cfg["padding"], cfg["out_spatial"][i], cfg["ksize"][i],
                           cfg["strides"][i], 1, cfg["pads"][2 * i:2 * i + 2])[0]
        ins.append(max(o, 0))
    cfg["in_spatial"] = ins
    cfg["in_batch"], cfg["in_channels"] = cfg["batch"], cfg["channels"]
    u = rng.random()
    if u < 0.08:
        i = int(rng.integers(0, r))
        cfg["in_spatial"][i] += int(rng.choice([-1, 1])) if ins[i] > 0 else 1
        cfg["fault"] = "output_shape_does_not_map"
    elif u < 0.11:
        cfg["in_batch"] = cfg["batch"] + 1
        cfg["fault"] = "batch_mismatch"
    elif u < 0.14:
        cfg["in_channels"] = cfg["channels"] + 1
        cfg["fault"] = "channels_mismatch"
    elif u < 0.17 and cfg["op"] == "max_unpool":
        cfg["fault"] = "index_out_of_range"


# ---- shapes (channels-last) ------------------------------------------------------------------

def shapes(cfg):
    """Channels-last shapes of every tensor the op takes (output = the buffer it is given)."""
    op, r = cfg["op"], cfg["rank"]
    n = cfg["batch"]
    if op == "conv":
        return {"x": [n, *cfg["in_spatial"], cfg["cin"]],
                "w": [*cfg["kernel"], cfg["filter_in"], cfg["cout"]],
                "b": [cfg["cout"]] if cfg["bias"] else None}
    if op == "conv_transpose":
        return {"x": [n, *cfg["in_spatial"], cfg["cin"]],
                "w": [*cfg["kernel"], cfg["filter_out"], cfg["filter_in"]],
                "b": [cfg["cout"]] if cfg["bias"] else None,
                "out": [cfg["out_batch"], *cfg["out_spatial"], cfg["cout"]]}
    if op in ("max_pool", "avg_pool", "max_pool_with_argmax"):
        return {"x": [n, *cfg["in_spatial"], cfg["channels"]]}
    del r
    return {"x": [cfg["in_batch"], *cfg["in_spatial"], cfg["in_channels"]],
            "out": [n, *cfg["out_spatial"], cfg["channels"]]}


def _values(rng, shape, ints):
    if ints:
        return rng.integers(-3, 4, size=shape).astype(np.float32)
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def tensors(cfg, seed, case):
    """The op's inputs, channels-last float32 (argmax int64), from the case's own stream."""
    rng = np.random.default_rng([seed, case, 1])
    sh = shapes(cfg)
    t = {"x": _values(rng, sh["x"], cfg["ints"])}
    if "w" in sh:
        t["w"] = _values(rng, sh["w"], cfg["ints"])
        if sh["b"] is not None:
            t["b"] = _values(rng, sh["b"], cfg["ints"])
    if cfg["op"] == "max_unpool":
        out = sh["out"]
        per_image = int(np.prod(out[1:]))
        limit = per_image * (out[0] if cfg["include_batch"] else 1)
        if cfg["argmax_mode"] == "pool" and cfg["fault"] is None and min(sh["x"]) > 0:
            orig = _values(rng, out, cfg["ints"])
            _, idx = ref.pool(orig, cfg["ksize"], cfg["strides"], cfg["padding"], cfg["pads"],
                              "argmax", include_batch=cfg["include_batch"])
            t["argmax"] = idx.astype(np.int64)
        else:
            # any in-range index is valid for unpooling, not only a window's own cells
            t["argmax"] = rng.integers(0, max(limit, 1), size=sh["x"]).astype(np.int64)
        if cfg["fault"] == "index_out_of_range" and t["argmax"].size:
            j = int(rng.integers(0, t["argmax"].size))
            bad = int(rng.choice([-1, limit, limit + 5, -(2 ** 33), 2 ** 33 + 3]))
            t["argmax"].reshape(-1)[j] = bad
    return t


# ---- predicted status ------------------------------------------------------------------------

def predict(cfg):
    """Channels-last output shape, or raises ref.Reject with the acceptable statuses."""
    op, r = cfg["op"], cfg["rank"]
    faults = set()
    if op == "conv":
        if cfg["cin"] % cfg["filter_in"] or cfg["cout"] % (cfg["cin"] // cfg["filter_in"] or 1):
            faults.add("SHAPE_MISMATCH")
        outs = [ref.window_out(cfg["padding"], cfg["in_spatial"][i], cfg["kernel"][i],
                               cfg["strides"][i], cfg["dilations"][i],
                               cfg["pads"][2 * i:2 * i + 2])[0] for i in range(r)]
        if min(outs) < 0:
            faults.add("OUTPUT_SIZE")
        if faults:
            raise ref.Reject(faults, "conv")
        return [cfg["batch"], *outs, cfg["cout"]]
    if op == "conv_transpose":
        g = cfg["cout"] // cfg["filter_out"] if cfg["cout"] % cfg["filter_out"] == 0 else None
        if g is None or cfg["filter_in"] != cfg["cin"] or cfg["cin"] % g:
            faults.add("SHAPE_MISMATCH")
        if cfg["out_batch"] != cfg["batch"]:
            faults.add("SHAPE_MISMATCH")
        for i in range(r):
            o = ref.window_out(cfg["padding"], cfg["out_spatial"][i], cfg["kernel"][i],
                               cfg["strides"][i], cfg["dilations"][i],
                               cfg["pads"][2 * i:2 * i + 2])[0]
            if o != cfg["in_spatial"][i]:
                faults.add("INVALID_OUTPUT_SHAPE")
            if o < 0:  # TF says "Computed output size would be negative" here
                faults.add("OUTPUT_SIZE")
        if faults:
            raise ref.Reject(faults, "conv_transpose")
        return [cfg["batch"], *cfg["out_spatial"], cfg["cout"]]
    if cfg["padding"] == "EXPLICIT" and any(
            cfg["pads"][j] >= cfg["ksize"][j // 2] for j in range(2 * r)):
        faults.add("INVALID_ARGUMENT")
    if op in ("max_pool", "avg_pool", "max_pool_with_argmax"):
        outs = [ref.window_out(cfg["padding"], cfg["in_spatial"][i], cfg["ksize"][i],
                               cfg["strides"][i], 1, cfg["pads"][2 * i:2 * i + 2])[0]
                for i in range(r)]
        if min(outs) < 0:
            faults.add("OUTPUT_SIZE")
        elif (op != "avg_pool" and min(outs) > 0 and min(cfg["in_spatial"]) == 0
              and cfg["batch"] > 0):
            faults.add("INVALID_ARGUMENT")  # a max window with no input cell has no maximum
        if faults:
            raise ref.Reject(faults, op)
        return [cfg["batch"], *outs, cfg["channels"]]
    # unpool: output_shape must map onto the input's shape
    if cfg["in_batch"] != cfg["batch"] or cfg["in_channels"] != cfg["channels"]:
        faults.add("SHAPE_MISMATCH")
    for i in range(r):
        o = ref.window_out(cfg["padding"], cfg["out_spatial"][i], cfg["ksize"][i],
                           cfg["strides"][i], 1, cfg["pads"][2 * i:2 * i + 2])[0]
        if o != cfg["in_spatial"][i]:
            faults.add("INVALID_OUTPUT_SHAPE")
        if o < 0:  # no pooled shape at all: either status names the fault
            faults.add("OUTPUT_SIZE")
    if faults:
        raise ref.Reject(faults, op)
    if cfg["fault"] == "index_out_of_range" and np.prod(shapes(cfg)["x"]) > 0:
        raise ref.Reject({"INDEX_OUT_OF_RANGE"}, op)
    return [cfg["batch"], *cfg["out_spatial"], cfg["channels"]]


def to_layout(arr, layout):
    """channels-last -> the config's layout."""
    if layout == "last" or arr is None:
        return arr
    return np.ascontiguousarray(np.moveaxis(arr, -1, 1))


def dims_to_layout(dims, layout):
    return list(dims) if layout == "last" else [dims[0], dims[-1], *dims[1:-1]]


def from_layout(arr, layout):
    if layout == "last":
        return arr
    return np.moveaxis(arr, 1, -1)


# ---- where TF 2.21 deliberately is not the oracle (README.md, "differences") ------------------

DIFFERENCES = {
    "empty_output_skips_checks": "TF skips the groups/channel check when the output is empty; "
                                 "libdeconv: SHAPE_MISMATCH",
    "empty_window": "TF max_pool returns -FLT_MAX for a window with no input cell (0-sized "
                    "input, EXPLICIT pads); libdeconv: INVALID_ARGUMENT",
    "avgpoolgrad_lax": "TF AvgPoolGrad does not check orig_input_shape against grad; "
                       "libdeconv: INVALID_OUTPUT_SHAPE / SHAPE_MISMATCH",
    "eigen3d_same_shift": "TF's 3-D forward ops (Conv3D, MaxPool3D, AvgPool3D) shift SAME windows "
                          "by a negative pad when (out-1)*s + k_eff < in - 1; libdeconv clamps "
                          "the pad at 0 as the 2-D ops and the 3-D gradients do",
    "avgpoolgrad_miscount": "TF AvgPoolGrad/AvgPool3DGrad miscount a window that overhangs both "
                            "edges (not the adjoint of AvgPool); libdeconv's normalised "
                            "avg_unpool is the exact adjoint",
}


def _tf_broadcast_size(index, in_size, k, s, pad):
    """TF's GetBroadcastSize (pooling_ops_common / avgpooling_op.cc), as it is, bug included."""
    b = index * s
    size = k
    if b < pad:
        size = k + b - pad
        b = 0
    else:
        b -= pad
    if b + k > in_size:
        size = min(in_size - b, k)
    return size


def known_differences(cfg):
    """Names (DIFFERENCES keys) of the deliberate differences this config can show."""
    op, r = cfg["op"], cfg["rank"]
    out = set()
    if op == "conv" and cfg["fault"] in ("cin_not_divisible", "cout_not_multiple_of_groups"):
        outs = [ref.window_out(cfg["padding"], cfg["in_spatial"][i], cfg["kernel"][i],
                               cfg["strides"][i], cfg["dilations"][i],
                               cfg["pads"][2 * i:2 * i + 2])[0] for i in range(r)]
        if cfg["batch"] == 0 or min(outs) <= 0:
            out.add("empty_output_skips_checks")
    if op == "avg_unpool":
        try:
            predict(cfg)
        except ref.Reject:
            out.add("avgpoolgrad_lax")
    if op in ("max_pool", "max_pool_with_argmax") and min(cfg["in_spatial"]) == 0:
        out.add("empty_window")
    if r == 3 and cfg["padding"] == "SAME" and op in ("conv", "max_pool", "avg_pool"):
        k = cfg.get("kernel") or cfg["ksize"]
        d = cfg.get("dilations") or [1] * r
        for i in range(r):
            n, s_ = cfg["in_spatial"][i], cfg["strides"][i]
            o = -(-n // s_)
            if (o - 1) * s_ + ref.keff(k[i], d[i]) - n <= -2:
                out.add("eigen3d_same_shift")
    if op == "avg_unpool" and cfg["normalize"] and not cfg["count_include_pad"]:
        for i in range(r):
            n, k, s_ = cfg["out_spatial"][i], cfg["ksize"][i], cfg["strides"][i]
            o, pb, _ = ref.window_out(cfg["padding"], n, k, s_, 1, cfg["pads"][2 * i:2 * i + 2])
            for j in range(max(o, 0)):
                true = min(j * s_ - pb + k, n) - max(j * s_ - pb, 0)
                if _tf_broadcast_size(j, n, k, s_, pb) != true:
                    out.add("avgpoolgrad_miscount")
    return out
