"""TensorFlow as the oracle: runs a config through TF's own public ops, eagerly, in a worker
process (a TF CHECK-failure aborts the whole process, so it must not be the harness), and
classifies TF's errors as "TF's CPU kernel lacks support" or "a shape TF rejects".

Messages were collected from tensorflow-cpu 2.21.0 by running the generator's configs; an
error matching no pattern is reported as a failure so new TF behaviour cannot slip by."""
import multiprocessing as mp
import os
import re

import numpy as np

import configs

FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}

# TF rejects these only because its CPU kernels (or Python API) lack the feature.
UNSUPPORTED = [
    (r"only supports (the )?NHWC|only supports NDHWC|only supports NHWC on device|"
     r"Conv2DCustomBackpropInputOp only supports NHWC|only supports NDHWC on the CPU|"
     r"values other\s+than 'NHWC' are not supported", "channels-first on CPU"),
    (r"do(es)? not yet support dilation|only supports dilated rates of 1", "dilation"),
    (r"Gradients for grouped convolutions are not supported on CPU", "groups in transposed conv"),
    (r"Expected string for argument 'padding'|Value for attr 'padding' of \"EXPLICIT\" is not "
     r"in the list of allowed values", "explicit padding"),
    (r"tensor_in must not be empty", "empty input to max_pool_with_argmax"),
]
# TF rejects these for a shape reason; the libdeconv statuses that correspond.
SHAPE = [
    (r"Computed output size would be negative", {"OUTPUT_SIZE"}),
    (r"Size of out_backprop doesn't match computed", {"INVALID_OUTPUT_SHAPE"}),
    (r"must have the same batch size", {"SHAPE_MISMATCH"}),
    (r"must have the same out_depth|must have the same number of channels|"
     r"input depth must be evenly divisible by filter depth|"
     r"Number of channels in filter .* must match last dimension of input|"
     r"must be a multiple of|Depth of output .* is not a multiple of the number of groups|"
     r"output depth must be evenly divisible by number of groups|"
     r"must match|filter and out_backprop", {"SHAPE_MISMATCH"}),
    (r"padding \d+ needs to be smaller than the window size", {"INVALID_ARGUMENT"}),
    (r"Expected grad shape to be", {"INVALID_OUTPUT_SHAPE", "SHAPE_MISMATCH"}),
]


CHANNEL_FAULTS = ("cin_not_divisible", "cout_not_multiple_of_groups", "input_channels_mismatch",
                  "output_channels_mismatch")


def classify(cfg, message):
    """('unsupported', reason) | ('shape', statuses) | ('unknown', message)."""
    # Conv3D and Conv3DBackpropInputV2 have no groups on CPU and say so as a channel mismatch.
    if (cfg["op"] in ("conv", "conv_transpose") and cfg["rank"] == 3 and cfg["groups"] > 1
            and cfg["fault"] not in CHANNEL_FAULTS and re.search(
                r"Number of channels in filter .* must match|"
                r"input and filter_sizes must have the same number of channels", message)):
        return ("unsupported", "groups in 3-D conv ops")
    for pat, reason in UNSUPPORTED:
        if re.search(pat, message, re.I):
            return ("unsupported", reason)
    for pat, statuses in SHAPE:
        if re.search(pat, message, re.I):
            return ("shape", statuses)
    return ("unknown", message)


def no_tf_equivalent(cfg):
    """Why TF has no op for this config at all (None when it has one to try)."""
    op, r = cfg["op"], cfg["rank"]
    if op == "avg_pool" and cfg["count_include_pad"]:
        return "count_include_pad (PyTorch style) has no TF op"
    if op == "max_pool_with_argmax" and r != 2:
        return "max_pool_with_argmax exists only for 2-D"
    if op == "max_unpool":
        if r != 2:
            return "MaxPoolGradWithArgmax exists only for 2-D"
        if cfg["layout"] != "last":
            return "MaxPoolGradWithArgmax has no data_format (NHWC only)"
    if op == "avg_unpool":
        if not cfg["normalize"]:
            return "un-normalised avg_unpool has no TF op"
        if cfg["count_include_pad"]:
            return "count_include_pad has no TF op"
        if r == 1:
            return "AvgPoolGrad exists only for 2-D and 3-D"
    return None


def _rejected(cfg):
    try:
        configs.predict(cfg)
        return False
    except Exception:  # numpy_ref.Reject
        return True


def known_abort(cfg):
    """Configs TF 2.21 does not survive: it aborts the process (CHECK failure) or, not
    validating shapes, reads and writes out of bounds. They run in a throwaway worker, once
    per reason per run, to show the claim still holds; the main worker never sees them."""
    if cfg["op"] == "max_unpool" and cfg["fault"] == "index_out_of_range":
        return "MaxPoolGradWithArgmax CHECK-fails (aborts) on an out-of-range argmax"
    runnable = cfg["layout"] == "last" and cfg["padding"] != "EXPLICIT"
    if (cfg["op"] == "conv_transpose" and cfg["rank"] == 3 and runnable
            and any(n == 0 and s > 1 for n, s in zip(cfg["in_spatial"], cfg["strides"]))
            and cfg["out_batch"] > 0 and min(cfg["out_spatial"]) > 0
            and max(cfg["dilations"]) == 1 and cfg["groups"] == 1):
        return ("Conv3DBackpropInputV2 segfaults when a spatial dim of its input (out_backprop) "
                "is 0 with stride > 1 and the output is not empty")
    if (cfg["op"] == "avg_unpool" and _rejected(cfg) and no_tf_equivalent(cfg) is None
            and runnable):
        return ("AvgPoolGrad does not check orig_input_shape against grad: it runs out of "
                "bounds (heap corruption abort, or garbage)")
    return None


# ---- running TF (inside the worker) ----------------------------------------------------------

def _explicit(cfg, layout):
    pairs = [[cfg["pads"][2 * i], cfg["pads"][2 * i + 1]] for i in range(cfg["rank"])]
    return [[0, 0]] + pairs + [[0, 0]] if layout == "last" else [[0, 0], [0, 0]] + pairs


def _attr(vals, layout, fill=1):
    return [fill] + list(vals) + [fill] if layout == "last" else [fill, fill] + list(vals)


def run(tf, cfg, t):
    """Runs the config in TF; returns {name: channels-last numpy array}."""
    op, r, lay = cfg["op"], cfg["rank"], cfg["layout"]
    fmt = FORMATS[r][0 if lay == "last" else 1]
    x = tf.constant(configs.to_layout(t["x"], lay))
    pad = _explicit(cfg, lay) if cfg["padding"] == "EXPLICIT" else cfg["padding"]
    back = (lambda a: configs.from_layout(np.asarray(a), lay))
    if op in ("conv", "conv_transpose"):
        w = tf.constant(t["w"])
        s, d = cfg["strides"], cfg["dilations"]
        if op == "conv":
            if r == 1:
                y = tf.nn.conv1d(x, w, s[0], pad, data_format=fmt, dilations=d[0])
            elif r == 2:
                y = tf.nn.conv2d(x, w, s, pad, data_format=fmt, dilations=d)
            else:
                y = tf.nn.conv3d(x, w, _attr(s, lay), pad, data_format=fmt,
                                 dilations=_attr(d, lay))
        else:
            oshape = configs.dims_to_layout(configs.shapes(cfg)["out"], lay)
            f = {1: tf.nn.conv1d_transpose, 2: tf.nn.conv2d_transpose,
                 3: tf.nn.conv3d_transpose}[r]
            y = f(x, w, oshape, s, pad, data_format=fmt, dilations=d)
        if "b" in t:
            y = tf.nn.bias_add(y, tf.constant(t["b"]), data_format="NC..." if lay == "first"
                               else "N...C")
        act = cfg["activation"]
        if act == "relu":
            y = tf.nn.relu(y)
        elif act == "relu6":
            y = tf.nn.relu6(y)
        elif act == "leaky_relu":
            y = tf.nn.leaky_relu(y, alpha=cfg["alpha"])
        elif act == "sigmoid":
            y = tf.math.sigmoid(y)
        elif act == "tanh":
            y = tf.math.tanh(y)
        elif act == "clamp":
            y = tf.clip_by_value(y, cfg["clamp_min"], cfg["clamp_max"])
        return {"y": back(y)}
    k, s = cfg["ksize"], cfg["strides"]
    if op in ("max_pool", "avg_pool"):
        f = {("max_pool", 1): tf.nn.max_pool1d, ("max_pool", 2): tf.nn.max_pool2d,
             ("max_pool", 3): tf.nn.max_pool3d, ("avg_pool", 1): tf.nn.avg_pool1d,
             ("avg_pool", 2): tf.nn.avg_pool2d, ("avg_pool", 3): tf.nn.avg_pool3d}[(op, r)]
        return {"y": back(f(x, k, s, pad, data_format=fmt))}
    if op == "max_pool_with_argmax":
        y, am = tf.nn.max_pool_with_argmax(x, k, s, pad, data_format=fmt,
                                           include_batch_in_index=bool(cfg["include_batch"]))
        return {"y": back(y), "argmax": back(am)}
    oshape = configs.dims_to_layout(configs.shapes(cfg)["out"], lay)
    if op == "max_unpool":
        y = tf.raw_ops.MaxPoolGradWithArgmax(
            input=tf.zeros(oshape), grad=x, argmax=tf.constant(t["argmax"]),
            ksize=_attr(k, lay), strides=_attr(s, lay), padding=pad,
            include_batch_in_index=bool(cfg["include_batch"]))
        return {"y": back(y)}
    f = tf.raw_ops.AvgPoolGrad if r == 2 else tf.raw_ops.AvgPool3DGrad
    y = f(orig_input_shape=oshape, grad=x, ksize=_attr(k, lay), strides=_attr(s, lay),
          padding=pad, data_format=fmt)
    return {"y": back(y)}


def _serve(conn):
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # Eigen kernels, the oracle (see run.py)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    conn.send(("ready", tf.__version__))
    while True:
        batch = conn.recv()
        if batch is None:
            return
        for cid, cfg, t in batch:
            try:
                out = ("ok", run(tf, cfg, t))
            except Exception as e:  # every TF error is data for the classifier
                out = ("error", type(e).__name__, " ".join(str(e).split()))
            conn.send((cid, out))


# A case's answer normally takes well under a second. An abort in TF can also hang instead of
# ending the process: absl's failure handler, printing the stack trace, was seen blocked on a
# lock (a CI run waited on it for 15 minutes). A worker that stays silent this long is killed
# and the case reported as a crash.
CASE_TIMEOUT_S = 120
# Importing TF takes seconds; a worker that has not said "ready" by then is not going to.
START_TIMEOUT_S = 600


class Worker:
    """A TF process that survives being killed by TF: on death (or silence past
    CASE_TIMEOUT_S) the case it was running is reported as a crash and a fresh process takes
    the rest."""

    def __init__(self):
        self.ctx = mp.get_context("spawn")
        self.proc = None
        self.version = None
        self.restarts = 0

    def _start(self):
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_serve, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        if not self.conn.poll(START_TIMEOUT_S):  # every wait on the worker is bounded
            self.proc.kill()
            self.proc.join()
            self.proc = None
            raise RuntimeError(f"the TF worker did not start within {START_TIMEOUT_S} s")
        tag, self.version = self.conn.recv()
        assert tag == "ready"

    def run(self, items):
        """items: [(cid, cfg, tensors)] -> {cid: outcome}; never raises on a TF crash."""
        results = {}
        pending = list(items)
        while pending:
            if self.proc is None:
                self._start()
            self.conn.send(pending)
            try:
                for _ in range(len(pending)):
                    if not self.conn.poll(CASE_TIMEOUT_S):
                        raise TimeoutError
                    cid, out = self.conn.recv()
                    results[cid] = out
            except (EOFError, ConnectionResetError, BrokenPipeError, TimeoutError) as e:
                hung = isinstance(e, TimeoutError)
                if hung:
                    self.proc.kill()
                self.proc.join()
                code = self.proc.exitcode
                self.proc = None
                self.restarts += 1
                done = {c for c, _, _ in pending if c in results}
                rest = [p for p in pending if p[0] not in done]
                why = (f"TF process silent for {CASE_TIMEOUT_S} s, killed" if hung
                       else f"TF process died (exit code {code})")
                results[rest[0][0]] = ("crash", why)
                pending = rest[1:]
                continue
            pending = []
        return results

    def close(self):
        if self.proc is not None:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self.proc.join(timeout=10)
            if self.proc.is_alive():
                self.proc.kill()
            self.proc = None
