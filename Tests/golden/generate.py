#!/usr/bin/env python3
"""Regenerates Tests/golden/*.golden (format: Tests/golden/FORMAT.md).

    /opt/devvenv/bin/python Tests/golden/generate.py        (tensorflow-cpu 2.21 + numpy)

Expected values come from TensorFlow wherever TF can compute them, including by exact tricks
(channels_first = TF's channels_last result transposed; 1-D = TF's 2-D op on a height-1 image;
3-D EXPLICIT = tf.pad + VALID; transposed convs TF has no kernel for = the gradient, or failing
that the Jacobian, of TF's forward conv). Those cases say `source tf`. The rest say
`source numpy` and come from the float64 reference below, written straight from the rules in
tf-semantics.md / deconv.h. Every TF case is also recomputed with that reference and the two
must agree, which validates the reference. Every error case is checked to be rejected by TF.
Deterministic: fixed seeds, no dependence on the order of dict iteration or on time.
"""
import itertools
import math
import os
import subprocess
import sys

# TF's own (Eigen) CPU kernels are the oracle. On CPUs with AVX-512 VNNI/BF16 or AMX, TF
# routes conv and pooling through oneDNN by default, whose ops validate shapes differently
# (wrong shapes for empty outputs, aborts on grouped transposed convs): force them off.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
F32 = np.float32


class NotInTF(Exception):
    """TF has no way to compute this config."""


# ------------------------------------------------------------------------------------------
# Geometry (tf-semantics.md)
# ------------------------------------------------------------------------------------------

def tdiv(a, b):
    """C's integer division (truncates toward zero), as TF's GetWindowedOutputSize uses."""
    q = abs(a) // b
    return q if a >= 0 else -q


def window(padding, n, k, s, d=1, pb=0, pa=0):
    """Forward output size and (pb, pa) of one spatial dim; size may be negative."""
    ke = (k - 1) * d + 1
    if padding == "VALID":
        return tdiv(n - ke + s, s), 0, 0
    if padding == "EXPLICIT":
        return tdiv(n + pb + pa - ke + s, s), pb, pa
    out = -(-n // s)
    total = max(0, (out - 1) * s + ke - n)
    return out, total // 2, total - total // 2


def transpose_range(padding, n, k, s, d=1, pb=0, pa=0):
    """All output sizes a transposed conv with input size n accepts (exactly s of them)."""
    ke = (k - 1) * d + 1
    if padding == "SAME":
        lo = (n - 1) * s + 1
    else:
        lo = (n - 1) * s + ke - (pb + pa if padding == "EXPLICIT" else 0)
    sizes = list(range(lo, lo + s))
    assert all(window(padding, m, k, s, d, pb, pa)[0] == n for m in sizes if m >= 0)
    assert window(padding, lo - 1, k, s, d, pb, pa)[0] != n
    assert window(padding, lo + s, k, s, d, pb, pa)[0] != n
    return sizes


# ------------------------------------------------------------------------------------------
# Independent float64 NumPy reference, channels-last, any rank
# ------------------------------------------------------------------------------------------

def act64(y, act, alpha, cmin, cmax):
    if act == "none":
        return y
    if act == "relu":
        return np.maximum(y, 0)
    if act == "relu6":
        return np.minimum(np.maximum(y, 0), 6)
    if act == "leaky_relu":
        return np.where(y >= 0, y, alpha * y)
    if act == "sigmoid":
        return 1 / (1 + np.exp(-y))
    if act == "tanh":
        return np.tanh(y)
    if act == "clamp":
        return np.minimum(np.maximum(y, cmin), cmax)
    raise ValueError(act)


def ref_conv(x, w, strides, dil, padding, pads):
    """y[n, o, co] = sum over (a, ci in group) x[n, o*s + a*d - pb, ci] * w[a, ci_local, co]."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    r = x.ndim - 2
    ks = w.shape[:r]
    cin, cin_g, cout = x.shape[-1], w.shape[-2], w.shape[-1]
    g = cin // cin_g
    geo = [window(padding, x.shape[1 + i], ks[i], strides[i], dil[i], *pads[2 * i:2 * i + 2])
           for i in range(r)]
    outs = [o for o, _, _ in geo]
    assert min(outs) >= 0
    y = np.zeros((x.shape[0], *outs, cout))
    cout_g = cout // g
    for idx in itertools.product(*[range(o) for o in outs]):
        for a in itertools.product(*[range(k) for k in ks]):
            src = [idx[i] * strides[i] + a[i] * dil[i] - geo[i][1] for i in range(r)]
            if any(p < 0 or p >= x.shape[1 + i] for i, p in enumerate(src)):
                continue
            xv = x[(slice(None), *src)]  # [N, cin]
            for gi in range(g):
                y[(slice(None), *idx, slice(gi * cout_g, (gi + 1) * cout_g))] += \
                    xv[:, gi * cin_g:(gi + 1) * cin_g] @ w[a][:, gi * cout_g:(gi + 1) * cout_g]
    return y


def ref_conv_transpose(x, w, out_shape, strides, dil, padding, pads):
    """y[n, o, co] = sum over (i, a, ci) with i*s + a*d - pb == o of x[n, i, ci] * w[a, co, ci],
    pb = forward pad computed from the output size."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    r = x.ndim - 2
    ks = w.shape[:r]
    cin, cout_g = x.shape[-1], w.shape[-2]
    cout = out_shape[-1]
    g = cout // cout_g
    cin_g = cin // g
    pbs = []
    for i in range(r):
        o, pb, _ = window(padding, out_shape[1 + i], ks[i], strides[i], dil[i],
                          *pads[2 * i:2 * i + 2])
        assert o == x.shape[1 + i], "invalid output_shape in a non-error case"
        pbs.append(pb)
    y = np.zeros(out_shape)
    for idx in itertools.product(*[range(n) for n in x.shape[1:-1]]):
        for a in itertools.product(*[range(k) for k in ks]):
            dst = [idx[i] * strides[i] + a[i] * dil[i] - pbs[i] for i in range(r)]
            if any(p < 0 or p >= out_shape[1 + i] for i, p in enumerate(dst)):
                continue
            xv = x[(slice(None), *idx)]
            for gi in range(g):
                y[(slice(None), *dst, slice(gi * cout_g, (gi + 1) * cout_g))] += \
                    xv[:, gi * cin_g:(gi + 1) * cin_g] @ w[a][:, gi * cin_g:(gi + 1) * cin_g].T
    return y


def pool_windows(in_sp, ksize, strides, padding, pads):
    """Yields (output index, list of valid input positions in row-major window order, full
    window size)."""
    r = len(in_sp)
    geo = [window(padding, in_sp[i], ksize[i], strides[i], 1, *pads[2 * i:2 * i + 2])
           for i in range(r)]
    outs = [o for o, _, _ in geo]
    assert min(outs) >= 0
    for idx in itertools.product(*[range(o) for o in outs]):
        cells = []
        for a in itertools.product(*[range(k) for k in ksize]):
            p = [idx[i] * strides[i] + a[i] - geo[i][1] for i in range(r)]
            if all(0 <= p[i] < in_sp[i] for i in range(r)):
                cells.append(tuple(p))
        yield idx, cells, int(np.prod(ksize))
    return


def pool_out_shape(xshape, ksize, strides, padding, pads):
    r = len(xshape) - 2
    return (xshape[0], *[window(padding, xshape[1 + i], ksize[i], strides[i], 1,
                                *pads[2 * i:2 * i + 2])[0] for i in range(r)], xshape[-1])


def flat_index(pos, in_sp, c_count):
    """Flat channels-last index of spatial position pos, channel 0, without the batch term."""
    f = 0
    for p, n in zip(pos, in_sp):
        f = f * n + p
    return f * c_count


def ref_pool(x, ksize, strides, padding, pads, kind, cip=0, ibi=0):
    x = x.astype(np.float64)
    n_, c_ = x.shape[0], x.shape[-1]
    in_sp = x.shape[1:-1]
    oshape = pool_out_shape(x.shape, ksize, strides, padding, pads)
    y = np.zeros(oshape)
    am = np.zeros(oshape, np.int64)
    for idx, cells, full in pool_windows(in_sp, ksize, strides, padding, pads):
        assert cells, "window without a valid cell"
        vals = np.stack([x[(slice(None), *p)] for p in cells])  # [cells, N, C]
        if kind == "avg":
            y[(slice(None), *idx)] = vals.sum(0) / (full if cip else len(cells))
        else:
            best = np.argmax(vals, axis=0)  # first maximum wins
            y[(slice(None), *idx)] = np.take_along_axis(vals, best[None], 0)[0]
            base = np.array([flat_index(p, in_sp, c_) for p in cells])[best]  # [N, C]
            batch = np.arange(n_)[:, None] * (int(np.prod(in_sp)) * c_) if ibi else 0
            am[(slice(None), *idx)] = base + np.arange(c_)[None, :] + batch
    return y, am


def ref_max_unpool(y, argmax, out_shape, ibi):
    x = np.zeros(out_shape)
    per = int(np.prod(out_shape[1:]))
    flat = x.reshape(out_shape[0], per)
    for n in range(y.shape[0]):
        for v, i in zip(y[n].reshape(-1).astype(np.float64), argmax[n].reshape(-1)):
            if ibi:
                x.reshape(-1)[i] += v
            else:
                assert 0 <= i < per
                flat[n, i] += v
    return x


def ref_avg_unpool(y, out_shape, ksize, strides, padding, pads, normalize, cip):
    y = y.astype(np.float64)
    x = np.zeros(out_shape)
    for idx, cells, full in pool_windows(out_shape[1:-1], ksize, strides, padding, pads):
        v = y[(slice(None), *idx)]
        if normalize:
            v = v / (full if cip else len(cells))
        for p in cells:
            x[(slice(None), *p)] += v
    return x


# ------------------------------------------------------------------------------------------
# TensorFlow paths (all channels-last; channels_first is a transpose of these)
# ------------------------------------------------------------------------------------------

def tf_pads(r, pads):
    return [[0, 0]] + [[pads[2 * i], pads[2 * i + 1]] for i in range(r)] + [[0, 0]]


def tf_conv(x, w, strides, dil, padding, pads):
    """TF's forward conv (x may be a tf.Variable); raises NotInTF."""
    r = len(x.shape) - 2
    g = x.shape[-1] // w.shape[-2]
    if r == 2:
        p = tf_pads(2, pads) if padding == "EXPLICIT" else padding
        return tf.nn.conv2d(x, w, [1, *strides, 1], p, dilations=[1, *dil, 1])
    if r == 1:  # TF's own conv1d is conv2d on a height-1 image
        p = tf_pads(2, [0, 0, *pads[:2]]) if padding == "EXPLICIT" else padding
        y = tf.nn.conv2d(tf.expand_dims(x, 1), w[None], [1, 1, strides[0], 1], p,
                         dilations=[1, 1, dil[0], 1])
        return tf.squeeze(y, 1)
    if g != 1:
        raise NotInTF("conv3d groups")
    if padding == "EXPLICIT":
        x = tf.pad(x, tf_pads(3, pads))
        padding = "VALID"
    if max(dil) > 1:
        if max(strides) > 1:
            raise NotInTF("conv3d dilation with stride")
        return tf.nn.convolution(x, w, 1, padding, dilations=list(dil))
    return tf.nn.conv3d(x, w, [1, *strides, 1], padding)


def tf_conv_transpose(x, w, out_shape, strides, dil, padding, pads):
    """TF's transposed conv: its own op, else the gradient of its forward conv, else the
    Jacobian of its forward conv (built by TF from one-hot inputs, multiplied by tf.matmul)."""
    r = x.ndim - 2
    g = out_shape[-1] // w.shape[-2]
    if g == 1 and max(dil) == 1:
        if r == 2:
            p = tf_pads(2, pads) if padding == "EXPLICIT" else padding
            return tf.nn.conv2d_transpose(x, w, out_shape, [1, *strides, 1], p).numpy()
        if r == 1:
            p = tf_pads(2, [0, 0, *pads[:2]]) if padding == "EXPLICIT" else padding
            y = tf.nn.conv2d_transpose(x[:, None], w[None], [out_shape[0], 1, *out_shape[1:]],
                                       [1, 1, strides[0], 1], p)
            return tf.squeeze(y, 1).numpy()
        if padding != "EXPLICIT":
            return tf.nn.conv3d_transpose(x, w, out_shape, [1, *strides, 1], padding).numpy()
    # Forward filter: transposed [k..., out/g, in] is forward [k..., in_fwd/g, out_fwd].
    def fwd(v):
        return tf_conv(v, w, strides, dil, padding, pads)
    try:
        v = tf.Variable(np.zeros(out_shape, F32))
        with tf.GradientTape() as tape:
            y = fwd(v)
            assert tuple(y.shape) == x.shape
            loss = tf.reduce_sum(y * x)
        return tape.gradient(loss, v).numpy()
    except tf.errors.InvalidArgumentError:
        pass
    per = int(np.prod(out_shape[1:]))
    basis = np.eye(per, dtype=F32).reshape(per, *out_shape[1:])
    jac = tf.reshape(fwd(basis), [per, -1])  # row j = forward conv of one-hot j
    xf = tf.reshape(x, [x.shape[0], -1])
    return tf.reshape(tf.matmul(xf, jac, transpose_b=True), out_shape).numpy()


def tf_act(y, act, alpha, cmin, cmax):
    if act == "none":
        return y
    return {"relu": tf.nn.relu, "relu6": tf.nn.relu6, "sigmoid": tf.nn.sigmoid,
            "tanh": tf.nn.tanh,
            "leaky_relu": lambda v: tf.nn.leaky_relu(v, alpha),
            "clamp": lambda v: tf.clip_by_value(v, cmin, cmax)}[act](y)


def tf_pool(x, ksize, strides, padding, pads, kind, cip, ibi):
    r = x.ndim - 2
    if kind == "avg" and (padding == "EXPLICIT" or (cip and padding == "SAME")):
        raise NotInTF("avg pool with explicit pads or counting padding")
    if kind == "argmax":
        if r == 3 or padding == "EXPLICIT":
            raise NotInTF("argmax 3-D / explicit")
        if x.shape[0] == 0:
            raise NotInTF("TF rejects empty max_pool_with_argmax")
        xx = x if r == 2 else x[:, None]
        k2 = list(ksize) if r == 2 else [1, ksize[0]]
        s2 = list(strides) if r == 2 else [1, strides[0]]
        y, a = tf.nn.max_pool_with_argmax(xx, k2, s2, padding, include_batch_in_index=bool(ibi))
        y, a = y.numpy(), a.numpy()
        # A height-1 image: ((b*1 + 0)*W + x)*C + c is exactly the 1-D index.
        return (y, a) if r == 2 else (y[:, 0], a[:, 0])
    if kind == "max" and padding == "EXPLICIT":
        if r == 2:
            return tf.nn.max_pool2d(x, list(ksize), list(strides), tf_pads(2, pads)).numpy(), None
        if r == 1:
            y = tf.nn.max_pool2d(x[:, None], [1, ksize[0]], [1, strides[0]],
                                 tf_pads(2, [0, 0, *pads[:2]]))
            return y.numpy()[:, 0], None
        # Padding never wins a max: pad with -inf (inputs are finite) and pool VALID.
        xp = tf.pad(x, tf_pads(3, pads), constant_values=-np.inf)
        return tf.nn.max_pool3d(xp, list(ksize), list(strides), "VALID").numpy(), None
    f = {("max", 1): tf.nn.max_pool1d, ("max", 2): tf.nn.max_pool2d, ("max", 3): tf.nn.max_pool3d,
         ("avg", 1): tf.nn.avg_pool1d, ("avg", 2): tf.nn.avg_pool2d,
         ("avg", 3): tf.nn.avg_pool3d}[(kind, r)]
    return f(x, list(ksize), list(strides), padding).numpy(), None


def tf_max_unpool(y, argmax, out_shape, ksize, strides, padding, ibi):
    r = y.ndim - 2
    if r == 3 or padding == "EXPLICIT":
        raise NotInTF("MaxPoolGradWithArgmax is 2-D SAME/VALID")
    if r == 1:
        y, argmax, out_shape = y[:, None], argmax[:, None], (out_shape[0], 1, *out_shape[1:])
        ksize, strides = (1, *ksize), (1, *strides)
    g = tf.raw_ops.MaxPoolGradWithArgmax(
        input=np.zeros(out_shape, F32), grad=y, argmax=argmax, ksize=[1, *ksize, 1],
        strides=[1, *strides, 1], padding=padding, include_batch_in_index=bool(ibi)).numpy()
    return g if r == 2 else g[:, 0]


def tf_avg_unpool(y, out_shape, ksize, strides, padding, normalize, cip):
    r = y.ndim - 2
    if not normalize or padding == "EXPLICIT" or (cip and padding == "SAME"):
        raise NotInTF("AvgPoolGrad is the normalised, padding-excluded, SAME/VALID case")
    if r == 1:
        y, out_shape = y[:, None], (out_shape[0], 1, *out_shape[1:])
        ksize, strides = (1, *ksize), (1, *strides)
    op = tf.raw_ops.AvgPool3DGrad if r == 3 else tf.raw_ops.AvgPoolGrad
    g = op(orig_input_shape=list(out_shape), grad=y, ksize=[1, *ksize, 1],
           strides=[1, *strides, 1], padding=padding).numpy()
    return g if r != 1 else g[:, 0]


# ------------------------------------------------------------------------------------------
# Cases and writing
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(20240613)
NAMES = set()
FILES = {}
STATS = {"tf": 0, "numpy": 0, "expect": 0}


def rand(shape, ints=False):
    if ints:
        return RNG.integers(-3, 4, size=shape).astype(F32)
    return RNG.uniform(-1, 1, size=shape).astype(F32)


def distinct(shape):
    """Values without ties (for argmax): a random permutation of a grid, scaled."""
    n = int(np.prod(shape))
    return (RNG.permutation(n).astype(np.float64) / max(n, 1) * 2 - 1).astype(F32).reshape(shape)


def to_first(a):
    """Channels-last -> channels-first."""
    return np.moveaxis(a, -1, 1)


def fmt_f(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return "%.9g" % v


class Case:
    def __init__(self, file, name, op, source):
        assert name not in NAMES, name
        NAMES.add(name)
        self.file, self.lines = file, ["case " + name, "op " + op, "source " + source]
        STATS[source] += 1

    def kv(self, key, *vals):
        self.lines.append(" ".join([key] + [str(v) for v in vals]))

    def tensor(self, name, a, layout="channels_last", activation=True):
        a = np.asarray(a)
        if activation and layout == "channels_first":
            a = to_first(a)
        if a.dtype.kind in "iu":
            vals = " ".join(str(int(v)) for v in a.reshape(-1))
            kind = "itensor"
        else:
            vals = " ".join(fmt_f(v) for v in a.astype(F32).reshape(-1))
            kind = "tensor"
        self.lines.append("%s %s %d %s :%s" % (kind, name, a.ndim, " ".join(map(str, a.shape)),
                                               (" " + vals) if vals else ""))

    def shape(self, name, dims):
        self.lines.append("shape %s %d %s" % (name, len(dims), " ".join(map(str, dims))))

    def done(self):
        self.lines.append("end")
        FILES.setdefault(self.file, []).append("\n".join(self.lines))


def check_close(name, got, want, rtol=1e-4, atol=1e-4):
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        raise AssertionError("%s: TF and the NumPy reference disagree, max diff %g" %
                             (name, np.max(np.abs(got - want))))


LAYOUT_TAG = {"channels_last": "cl", "channels_first": "cf"}


def common_keys(c, r, layout, padding, pads, strides):
    c.kv("spatial_rank", r)
    c.kv("layout", layout)
    c.kv("padding", padding)
    if padding == "EXPLICIT":
        c.kv("pads", *pads[:2 * r])
    c.kv("strides", *strides)


# ---- conv / conv_transpose -------------------------------------------------------------------

def conv_case(file, name, layout, padding, x, w, strides, dil, pads=(0,) * 6, bias=None,
              act="none", alpha=0.2, cmin=0.0, cmax=6.0, tol=None):
    r = x.ndim - 2
    ref = ref_conv(x, w, strides, dil, padding, pads)
    if bias is not None:
        ref = ref + bias
    ref = act64(ref, act, alpha, cmin, cmax)
    try:
        y = tf_conv(tf.constant(x), w, strides, dil, padding, pads)
        if bias is not None:
            y = tf.nn.bias_add(y, bias)
        y = tf_act(y, act, alpha, cmin, cmax).numpy()
        check_close(name, y, ref)
        source = "tf"
    except NotInTF:
        y, source = ref, "numpy"
    c = Case(file, name, "conv", source)
    common_keys(c, r, layout, padding, pads, strides)
    conv_tail(c, dil, act, alpha, cmin, cmax, tol)
    c.tensor("input", x, layout)
    c.tensor("filter", w, activation=False)
    if bias is not None:
        c.tensor("bias", bias, activation=False)
    c.tensor("output", y, layout)
    c.done()


def conv_tail(c, dil, act, alpha, cmin, cmax, tol):
    c.kv("dilations", *dil)
    if act != "none":
        c.kv("activation", act)
    if act == "leaky_relu":
        c.kv("alpha", fmt_f(F32(alpha)))
    if act == "clamp":
        c.kv("clamp", fmt_f(F32(cmin)), fmt_f(F32(cmax)))
    if tol:
        c.kv("tolerance", *tol)


def convt_case(file, name, layout, padding, x, w, out_shape, strides, dil, pads=(0,) * 6,
               bias=None, act="none", alpha=0.2, cmin=0.0, cmax=6.0, tol=None):
    r = x.ndim - 2
    out_shape = tuple(out_shape)
    ref = ref_conv_transpose(x, w, out_shape, strides, dil, padding, pads)
    if bias is not None:
        ref = ref + bias
    ref = act64(ref, act, alpha, cmin, cmax)
    try:
        y = tf_conv_transpose(x, w, out_shape, strides, dil, padding, pads)
        if bias is not None:
            y = tf.nn.bias_add(y, bias)
        y = tf_act(tf.constant(y), act, alpha, cmin, cmax).numpy()
        check_close(name, y, ref)
        source = "tf"
    except NotInTF:
        y, source = ref, "numpy"
    c = Case(file, name, "conv_transpose", source)
    common_keys(c, r, layout, padding, pads, strides)
    conv_tail(c, dil, act, alpha, cmin, cmax, tol)
    c.tensor("input", x, layout)
    c.tensor("filter", w, activation=False)
    if bias is not None:
        c.tensor("bias", bias, activation=False)
    c.tensor("output", y, layout)
    c.done()
    return y


LAYOUTS = ("channels_last", "channels_first")
PADDINGS = ("VALID", "SAME", "EXPLICIT")
EXPLICIT_PADS = (1, 2, 0, 1, 2, 0)


def sp(r, *vals):
    return tuple(vals[:r])


def conv_configs(r):
    """(tag, N, in spatial, C, kernel, OC, groups, strides, dilations)."""
    return [
        ("basic", 2, sp(r, 5, 7, 6), 3, sp(r, 3, 2, 3), 4, 1, sp(r, 1, 2, 1), sp(r, 1, 1, 1)),
        ("stride_gt_kernel", 1, sp(r, 7, 8, 5), 2, sp(r, 2, 1, 2), 3, 1, sp(r, 3, 3, 4),
         sp(r, 1, 1, 1)),
        ("kernel_gt_input", 1, sp(r, 2, 3, 2), 2, sp(r, 3, 4, 3), 2, 1, sp(r, 1, 2, 1),
         sp(r, 1, 1, 1)),
        ("dilation", 1, sp(r, 7, 6, 5), 2, sp(r, 3, 2, 2), 3, 1, sp(r, 1, 1, 1), sp(r, 2, 3, 2)),
        ("dilation_stride", 1, sp(r, 9, 8, 7), 2, sp(r, 3, 2, 2), 2, 1, sp(r, 2, 3, 2),
         sp(r, 2, 2, 3)),
        ("groups", 2, sp(r, 5, 4, 3), 4, sp(r, 3, 2, 2), 6, 2, sp(r, 2, 1, 1), sp(r, 1, 1, 1)),
        ("depthwise", 1, sp(r, 6, 5, 4), 3, sp(r, 2, 3, 2), 3, 3, sp(r, 1, 1, 2), sp(r, 1, 1, 1)),
        ("empty_batch", 0, sp(r, 5, 4, 3), 2, sp(r, 3, 2, 2), 3, 1, sp(r, 2, 1, 1),
         sp(r, 1, 1, 1)),
        ("small_ints", 1, sp(r, 4, 5, 3), 2, sp(r, 2, 3, 2), 2, 1, sp(r, 1, 1, 1),
         sp(r, 1, 1, 1)),
    ]


def gen_conv():
    for r in (1, 2, 3):
        for tag, n, insp, cin, ks, cout, g, s, d in conv_configs(r):
            for layout in LAYOUTS:
                for padding in PADDINGS:
                    if tag == "kernel_gt_input" and padding == "VALID":
                        continue  # negative size: an error case in errors.golden
                    ints = tag == "small_ints"
                    x = rand((n, *insp, cin), ints)
                    w = rand((*ks, cin // g, cout), ints)
                    name = "conv_r%d_%s_%s_%s" % (r, LAYOUT_TAG[layout], padding.lower(), tag)
                    conv_case("conv", name, layout, padding, x, w, s, d, EXPLICIT_PADS)
    # VALID kernel == input + 1 with stride: output size 0, an empty result.
    conv_case("conv", "conv_r2_cl_valid_zero_output", "channels_last", "VALID",
              rand((1, 2, 5, 2)), rand((3, 2, 2, 2)), (1, 1), (1, 1))
    # TF computes (in - k_eff + s) / s in C++, truncating toward zero: a numerator in (-s, 0)
    # gives an EMPTY output, not an error (in 2, k 5, s 2: -1 / 2 == 0).
    conv_case("conv", "conv_r1_cl_valid_trunc_zero_output", "channels_last", "VALID",
              rand((2, 2, 3)), rand((5, 3, 2)), (2,), (1,))
    conv_case("conv", "conv_r2_cf_explicit_trunc_zero_output", "channels_first", "EXPLICIT",
              rand((1, 2, 4, 2)), rand((5, 2, 2, 2)), (2, 1), (1, 1), pads=(0, 0, 1, 0))
    conv_case("conv", "conv_r3_cl_valid_trunc_zero_output", "channels_last", "VALID",
              rand((1, 2, 3, 3, 1)), rand((7, 2, 2, 1, 2)), (3, 1, 1), (1, 1, 1))
    conv_case("conv", "conv_r2_cl_valid_dilated_trunc_zero_output", "channels_last", "VALID",
              rand((1, 2, 3, 1)), rand((3, 1, 1, 1)), (2, 1), (2, 1))
    # Bias and every activation.
    for act in ("none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "clamp"):
        for layout in LAYOUTS:
            x = rand((2, 5, 6, 3)) * F32(4)
            w = rand((3, 3, 3, 4))
            b = rand((4,))
            conv_case("conv", "conv_r2_%s_same_bias_%s" % (LAYOUT_TAG[layout], act), layout,
                      "SAME", x, w, (2, 1), (1, 1), bias=b, act=act, alpha=0.3, cmin=-0.5,
                      cmax=1.25)
    conv_case("conv", "conv_r3_cf_explicit_bias_relu6", "channels_first", "EXPLICIT",
              rand((1, 4, 3, 5, 2)) * F32(8), rand((2, 2, 3, 2, 3)), (1, 2, 1), (1, 1, 1),
              pads=EXPLICIT_PADS, bias=rand((3,)), act="relu6")
    conv_case("conv", "conv_r1_cl_valid_bias_leaky_relu", "channels_last", "VALID",
              rand((2, 9, 3)), rand((3, 3, 2)), (2,), (1,), bias=rand((2,)),
              act="leaky_relu", alpha=0.01)


def convt_configs(r):
    """(tag, N, in spatial, IC, kernel, OC, groups, strides, dilations)."""
    return [
        ("basic", 2, sp(r, 3, 4, 2), 3, sp(r, 3, 2, 3), 4, 1, sp(r, 2, 2, 1), sp(r, 1, 1, 1)),
        ("stride_gt_kernel", 1, sp(r, 3, 2, 2), 2, sp(r, 2, 1, 2), 3, 1, sp(r, 3, 3, 4),
         sp(r, 1, 1, 1)),
        ("kernel_gt_input", 1, sp(r, 2, 1, 2), 2, sp(r, 4, 3, 3), 2, 1, sp(r, 1, 2, 1),
         sp(r, 1, 1, 1)),
        ("dilation", 1, sp(r, 4, 3, 3), 2, sp(r, 3, 2, 2), 3, 1, sp(r, 1, 1, 1), sp(r, 2, 3, 2)),
        ("dilation_stride", 1, sp(r, 3, 4, 2), 2, sp(r, 3, 2, 2), 2, 1, sp(r, 2, 3, 2),
         sp(r, 2, 2, 3)),
        ("groups", 2, sp(r, 3, 2, 3), 4, sp(r, 3, 2, 2), 6, 2, sp(r, 2, 1, 2), sp(r, 1, 1, 1)),
        ("empty_batch", 0, sp(r, 3, 2, 2), 2, sp(r, 3, 2, 2), 3, 1, sp(r, 2, 1, 1),
         sp(r, 1, 1, 1)),
        ("small_ints", 1, sp(r, 3, 3, 2), 2, sp(r, 3, 2, 2), 2, 1, sp(r, 2, 2, 1),
         sp(r, 1, 1, 1)),
    ]


def gen_conv_transpose():
    for r in (1, 2, 3):
        for tag, n, insp, cin, ks, cout, g, s, d in convt_configs(r):
            for layout in LAYOUTS:
                for padding in PADDINGS:
                    ints = tag == "small_ints"
                    x = rand((n, *insp, cin), ints)
                    w = rand((*ks, cout // g, cin), ints)
                    pads = EXPLICIT_PADS
                    if padding == "EXPLICIT" and tag == "kernel_gt_input":
                        pads = (1, 1, 0, 1, 1, 0)
                    ranges = [transpose_range(padding, insp[i], ks[i], s[i], d[i],
                                              *pads[2 * i:2 * i + 2]) for i in range(r)]
                    # Smallest and largest accepted size (they differ when s > 1).
                    for pick in ("min", "max"):
                        size = [max(rg[0], 0) if pick == "min" else rg[-1] for rg in ranges]
                        if pick == "max" and all(len(rg) == 1 for rg in ranges):
                            continue
                        name = "convt_r%d_%s_%s_%s_%s" % (r, LAYOUT_TAG[layout],
                                                          padding.lower(), tag, pick)
                        convt_case("conv_transpose", name, layout, padding, x, w,
                                   (n, *size, cout), s, d, pads)
    # Every valid output size of ambiguous configs, mixed per-dim strides included.
    every = [
        ("same_k3_s2", "SAME", (1, 3, 3, 2), (3, 3), (2, 2), (1, 1), (0,) * 4),
        ("same_k2_s3x2", "SAME", (2, 2, 3, 1), (2, 2), (3, 2), (1, 1), (0,) * 4),
        ("valid_k3_s2x3", "VALID", (1, 2, 3, 2), (3, 2), (2, 3), (1, 1), (0,) * 4),
        ("explicit_k3_s3x2", "EXPLICIT", (1, 3, 2, 1), (3, 3), (3, 2), (1, 1), (1, 0, 2, 1)),
        ("same_dil2_s2", "SAME", (1, 3, 3, 1), (3, 2), (2, 2), (2, 3), (0,) * 4),
    ]
    for tag, padding, xs, ks, s, d, pads in every:
        x = rand(xs)
        w = rand((*ks, 2, xs[-1]))
        ranges = [transpose_range(padding, xs[1 + i], ks[i], s[i], d[i], *pads[2 * i:2 * i + 2])
                  for i in range(2)]
        assert [len(rg) for rg in ranges] == list(s)
        for size in itertools.product(*ranges):
            name = "convt_every_%s_%dx%d" % (tag, *size)
            convt_case("conv_transpose", name, "channels_last", padding, x, w,
                       (xs[0], *size, 2), s, d, pads)
            if tag == "same_k3_s2":
                convt_case("conv_transpose", name + "_cf", "channels_first", padding, x, w,
                           (xs[0], *size, 2), s, d, pads)
    for tag, padding, xs, k, s in [("same_k3_s3", "SAME", (1, 3, 2), 3, 3),
                                   ("valid_k2_s4", "VALID", (2, 2, 1), 2, 4)]:
        x = rand(xs)
        w = rand((k, 1, xs[-1]))
        for size in transpose_range(padding, xs[1], k, s):
            convt_case("conv_transpose", "convt_every_r1_%s_%d" % (tag, size), "channels_last",
                       padding, x, w, (xs[0], size, 1), (s,), (1,))
    x = rand((1, 2, 2, 2, 1))
    w = rand((2, 2, 2, 1, 1))
    for size in itertools.product(*[transpose_range("SAME", 2, 2, si) for si in (2, 1, 3)]):
        convt_case("conv_transpose", "convt_every_r3_same_s2x1x3_%dx%dx%d" % size,
                   "channels_last", "SAME", x, w, (1, *size, 1), (2, 1, 3), (1, 1, 1))
    # The worked example of tf-semantics.md.
    img = np.arange(1, 10, dtype=F32).reshape(1, 3, 3, 1)
    eye = np.eye(3, dtype=F32).reshape(3, 3, 1, 1)
    doc5 = [[1, 0, 2, 0, 3], [0, 6, 0, 8, 0], [4, 0, 5, 0, 6], [0, 12, 0, 14, 0],
            [7, 0, 8, 0, 9]]
    doc6 = [[1, 0, 2, 0, 3, 0], [0, 1, 0, 2, 0, 3], [4, 0, 6, 0, 8, 0], [0, 4, 0, 5, 0, 6],
            [7, 0, 12, 0, 14, 0], [0, 7, 0, 8, 0, 9]]
    for n, doc in ((5, doc5), (6, doc6)):
        y = convt_case("conv_transpose", "worked_example_%dx%d" % (n, n), "channels_last",
                       "SAME", img, eye, (1, n, n, 1), (2, 2), (1, 1))
        assert np.array_equal(y[0, :, :, 0], np.array(doc, F32)), "doc matrix %d" % n
    # k_eff < s under SAME: total pad 0, the extra cells are zeros at the END.
    for r in (1, 2):
        x = rand((1, *([3] * r), 2))
        w = rand((*([1] * r), 2, 2))
        y = convt_case("conv_transpose", "convt_r%d_keff_lt_s_zero_fill" % r, "channels_last",
                       "SAME", x, w, (1, *([6] * r), 2), (2,) * r, (1,) * r)
        assert np.all(y[(0, *([-1] * r))] == 0) and np.any(y[(0, *([0] * r))] != 0)
    # Bias and every activation.
    for act in ("none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "clamp"):
        for layout in LAYOUTS:
            x = rand((2, 3, 4, 3)) * F32(4)
            w = rand((3, 3, 2, 3))
            convt_case("conv_transpose", "convt_r2_%s_same_bias_%s" % (LAYOUT_TAG[layout], act),
                       layout, "SAME", x, w, (2, 6, 7, 2), (2, 2), (1, 1), bias=rand((2,)),
                       act=act, alpha=0.3, cmin=-0.5, cmax=1.25)
    convt_case("conv_transpose", "convt_r3_cf_valid_bias_tanh", "channels_first", "VALID",
               rand((1, 2, 2, 3, 2)), rand((2, 3, 2, 3, 2)), (1, 4, 5, 4, 3), (2, 2, 1),
               (1, 1, 1), bias=rand((3,)), act="tanh")
    convt_case("conv_transpose", "convt_r1_cl_explicit_bias_relu", "channels_last", "EXPLICIT",
               rand((2, 4, 3)), rand((3, 2, 3)), (2, 6, 2), (2,), (1,), pads=(1, 2),
               bias=rand((2,)), act="relu")
    # An empty spatial input: TF's truncating division accepts output size 2 here
    # ((2 - 5 + 2) / 2 == 0), which a floor rule would reject. Zeros plus bias.
    convt_case("conv_transpose", "convt_r2_cl_valid_empty_input_trunc", "channels_last",
               "VALID", rand((1, 0, 2, 1)), rand((5, 1, 2, 1)), (1, 2, 2, 2), (2, 1), (1, 1),
               bias=rand((2,)))
    convt_case("conv_transpose", "convt_r2_cl_empty_batch_bias", "channels_last", "SAME",
               rand((0, 2, 2, 2)), rand((3, 3, 3, 2)), (0, 4, 4, 3), (2, 2), (1, 1),
               bias=rand((3,)))


# ---- pooling ----------------------------------------------------------------------------------

def pool_configs(r):
    """(tag, N, in spatial, C, ksize, strides, explicit pads (< ksize))."""
    return [
        ("k3s2", 2, sp(r, 5, 6, 4), 3, sp(r, 3, 3, 2), sp(r, 2, 2, 2), (1, 2, 0, 1, 1, 0)),
        ("k2s2_even", 1, sp(r, 4, 6, 4), 2, sp(r, 2, 2, 2), sp(r, 2, 2, 2), (0, 1, 1, 1, 1, 0)),
        ("stride_gt_kernel", 1, sp(r, 7, 8, 5), 2, sp(r, 2, 1, 2), sp(r, 3, 3, 4),
         (1, 0, 0, 0, 1, 1)),
        ("kernel_gt_input", 1, sp(r, 2, 3, 2), 2, sp(r, 3, 4, 3), sp(r, 1, 2, 1),
         (1, 1, 2, 1, 1, 1)),
        ("overlap_k3s1", 1, sp(r, 4, 5, 3), 2, sp(r, 3, 3, 2), sp(r, 1, 1, 1),
         (1, 1, 2, 0, 0, 1)),
    ]


def pool_case(file, name, op, layout, padding, x, ksize, strides, pads, cip=0, ibi=0):
    r = x.ndim - 2
    kind = {"max_pool": "max", "avg_pool": "avg", "max_pool_with_argmax": "argmax"}[op]
    ref, ref_am = ref_pool(x, ksize, strides, padding, pads, kind, cip, ibi)
    try:
        y, am = tf_pool(x, ksize, strides, padding, pads, kind, cip, ibi)
        check_close(name, y, ref)
        if kind == "argmax":
            assert np.array_equal(am, ref_am), name + ": argmax disagrees"
        source = "tf"
    except NotInTF:
        y, am, source = ref, ref_am, "numpy"
    c = Case(file, name, op, source)
    common_keys(c, r, layout, padding, pads, strides)
    c.kv("ksize", *ksize)
    if cip:
        c.kv("count_include_pad", 1)
    if ibi:
        c.kv("include_batch_in_index", 1)
    c.tensor("input", x, layout)
    c.tensor("output", y, layout)
    if kind == "argmax":
        c.tensor("argmax", am.astype(np.int64), layout)
    c.done()
    return y, am


def gen_pool():
    for r in (1, 2, 3):
        for tag, n, insp, ch, ks, s, pads in pool_configs(r):
            for layout in LAYOUTS:
                for padding in PADDINGS:
                    if tag == "kernel_gt_input" and padding == "VALID":
                        continue
                    for op in ("max_pool", "avg_pool"):
                        x = rand((n, *insp, ch))
                        name = "%s_r%d_%s_%s_%s" % (op, r, LAYOUT_TAG[layout], padding.lower(),
                                                    tag)
                        pool_case("pool", name, op, layout, padding, x, ks, s, pads)
                    if padding != "VALID" and tag in ("k3s2", "kernel_gt_input"):
                        pool_case("pool", "avg_pool_r%d_%s_%s_%s_count_pad" %
                                  (r, LAYOUT_TAG[layout], padding.lower(), tag), "avg_pool",
                                  layout, padding, rand((n, *insp, ch)), ks, s, pads, cip=1)
    for op in ("max_pool", "avg_pool"):
        pool_case("pool", op + "_r2_cl_same_empty_batch", op, "channels_last", "SAME",
                  rand((0, 5, 4, 2)), (2, 2), (2, 2), (0,) * 4)
        pool_case("pool", op + "_r2_cl_valid_zero_output", op, "channels_last", "VALID",
                  rand((1, 2, 4, 2)), (3, 2), (1, 1), (0,) * 4)
        # TF truncates (2 - 5 + 2) / 2 to 0: an empty result, not an error.
        pool_case("pool", op + "_r2_cl_valid_trunc_zero_output", op, "channels_last", "VALID",
                  rand((1, 2, 3, 2)), (5, 1), (2, 1), (0,) * 4)
        pool_case("pool", op + "_r1_cf_valid_trunc_zero_output", op, "channels_first", "VALID",
                  rand((2, 2, 3)), (7,), (4,), (0,) * 2)
    pool_case("pool", "avg_pool_r2_cl_valid_count_pad", "avg_pool", "channels_last", "VALID",
              rand((1, 5, 5, 2)), (3, 3), (2, 2), (0,) * 4, cip=1)


def gen_argmax():
    for r in (1, 2, 3):
        for tag, n, insp, ch, ks, s, pads in pool_configs(r):
            if tag == "kernel_gt_input":
                continue
            for layout in LAYOUTS:
                for padding in PADDINGS:
                    for ibi in (0, 1):
                        nn = max(n, 2)
                        x = distinct((nn, *insp, ch))
                        name = "argmax_r%d_%s_%s_%s%s" % (r, LAYOUT_TAG[layout],
                                                          padding.lower(), tag,
                                                          "_batch_index" if ibi else "")
                        pool_case("argmax", name, "max_pool_with_argmax", layout, padding, x,
                                  ks, s, pads, ibi=ibi)
    # Ties: the first maximum in row-major window order wins (TF).
    for ibi in (0, 1):
        x = RNG.integers(0, 2, size=(2, 5, 5, 2)).astype(F32)
        pool_case("argmax", "argmax_r2_cl_same_ties%s" % ("_batch_index" if ibi else ""),
                  "max_pool_with_argmax", "channels_last", "SAME", x, (3, 3), (2, 2), (0,) * 4,
                  ibi=ibi)
    x = np.zeros((1, 4, 3), F32)
    pool_case("argmax", "argmax_r1_cl_valid_all_equal", "max_pool_with_argmax", "channels_last",
              "VALID", x, (2,), (1,), (0,) * 2)


# ---- unpooling --------------------------------------------------------------------------------

def gen_unpool():
    for r in (1, 2, 3):
        for tag, n, insp, ch, ks, s, pads in pool_configs(r):
            if tag == "kernel_gt_input":
                continue
            for layout in LAYOUTS:
                for padding in PADDINGS:
                    base = "r%d_%s_%s_%s" % (r, LAYOUT_TAG[layout], padding.lower(), tag)
                    out_shape = (max(n, 2), *insp, ch)
                    pooled = pool_out_shape(out_shape, ks, s, padding, pads)
                    for ibi in (0, 1):
                        # Indices as max_pool_with_argmax produces them; overlapping windows
                        # repeat indices, which must sum.
                        _, am = ref_pool(distinct(out_shape), ks, s, padding, pads, "argmax",
                                         0, ibi)
                        y = rand(pooled)
                        name = "max_unpool_" + base + ("_batch_index" if ibi else "")
                        unpool_case(name, "max_unpool", layout, padding, y, out_shape, ks, s,
                                    pads, am=am, ibi=ibi)
                    for norm in (0, 1):
                        y = rand(pooled)
                        name = "avg_unpool_%s_%s" % (base, "norm" if norm else "sum")
                        unpool_case(name, "avg_unpool", layout, padding, y, out_shape, ks, s,
                                    pads, normalize=norm)
                    if padding != "VALID" and tag == "k3s2":
                        unpool_case("avg_unpool_%s_norm_count_pad" % base, "avg_unpool", layout,
                                    padding, rand(pooled), out_shape, ks, s, pads, normalize=1,
                                    cip=1)
    # All-equal input: argmax points at the first cell of each window; k3 s1 repeats them.
    out_shape = (1, 4, 4, 1)
    _, am = ref_pool(np.zeros(out_shape, F32), (3, 3), (1, 1), "SAME", (0,) * 4, "argmax", 0, 0)
    unpool_case("max_unpool_r2_cl_same_repeated_index", "max_unpool", "channels_last", "SAME",
                rand((1, 4, 4, 1)), out_shape, (3, 3), (1, 1), (0,) * 4, am=am, ibi=0)
    unpool_case("avg_unpool_r2_cl_same_empty_batch_norm", "avg_unpool", "channels_last", "SAME",
                rand((0, 2, 2, 3)), (0, 4, 3, 3), (2, 2), (2, 2), (0,) * 4, normalize=1)


def unpool_case(name, op, layout, padding, y, out_shape, ks, s, pads, am=None, ibi=0,
                normalize=0, cip=0):
    r = y.ndim - 2
    if op == "max_unpool":
        ref = ref_max_unpool(y, am, out_shape, ibi)
    else:
        ref = ref_avg_unpool(y, out_shape, ks, s, padding, pads, normalize, cip)
    try:
        if op == "max_unpool":
            x = tf_max_unpool(y, am, out_shape, ks, s, padding, ibi)
        else:
            x = tf_avg_unpool(y, out_shape, ks, s, padding, normalize, cip)
        check_close(name, x, ref)
        source = "tf"
    except NotInTF:
        x, source = ref, "numpy"
    c = Case("unpool", name, op, source)
    common_keys(c, r, layout, padding, pads, s)
    c.kv("ksize", *ks)
    if cip:
        c.kv("count_include_pad", 1)
    if ibi:
        c.kv("include_batch_in_index", 1)
    if op == "avg_unpool":
        c.kv("normalize", normalize)
    c.tensor("input", y, layout)
    if am is not None:
        c.tensor("argmax", am.astype(np.int64), layout)
    c.tensor("output", x, layout)
    c.done()


# ---- error cases ------------------------------------------------------------------------------

def must_raise(name, f):
    try:
        f()
    except (tf.errors.InvalidArgumentError, ValueError):
        return
    raise AssertionError(name + ": TF accepted a case meant to be an error")


def err_case(name, op, status, keys, tensors, shapes=()):
    c = Case("errors", name, op, "tf")
    STATS["tf"] -= 1
    STATS["expect"] += 1
    for k, *v in keys:
        c.kv(k, *v)
    c.kv("expect", status)
    for tname, a in tensors:
        c.tensor(tname, a, activation=False)
    for sname, dims in shapes:
        c.shape(sname, dims)
    c.done()


def gen_errors():
    x = rand((1, 3, 3, 2))
    w = rand((3, 3, 2, 2))
    for size in ((1, 4, 6, 2), (1, 7, 5, 2), (1, 6, 7, 2)):  # SAME accepts 5..6
        must_raise("convt same", lambda: tf.nn.conv2d_transpose(x, w, size, 2, "SAME"))
        err_case("err_convt_r2_same_output_%dx%d" % size[1:3], "conv_transpose",
                 "INVALID_OUTPUT_SHAPE",
                 [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "SAME"),
                  ("strides", 2, 2)], [("input", x), ("filter", w)], [("output_shape", size)])
    for size in ((1, 6, 7, 2), (1, 9, 7, 2)):  # VALID accepts 7..8
        must_raise("convt valid", lambda: tf.nn.conv2d_transpose(x, w, size, 2, "VALID"))
        err_case("err_convt_r2_valid_output_%dx%d" % size[1:3], "conv_transpose",
                 "INVALID_OUTPUT_SHAPE",
                 [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "VALID"),
                  ("strides", 2, 2)], [("input", x), ("filter", w)], [("output_shape", size)])
    # EXPLICIT pads (1,2),(0,1): accepts 4..5 and 6..7.
    for size in ((1, 6, 6, 2), (1, 4, 8, 2)):
        must_raise("convt explicit", lambda: tf.nn.conv2d_transpose(
            x, w, size, 2, [[0, 0], [1, 2], [0, 1], [0, 0]]))
        err_case("err_convt_r2_explicit_output_%dx%d" % size[1:3], "conv_transpose",
                 "INVALID_OUTPUT_SHAPE",
                 [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "EXPLICIT"),
                  ("pads", 1, 2, 0, 1), ("strides", 2, 2)], [("input", x), ("filter", w)],
                 [("output_shape", size)])
    x1 = rand((2, 4, 3))
    w1 = rand((3, 2, 3))
    must_raise("convt1", lambda: tf.nn.conv1d_transpose(x1, w1, (2, 10, 2), 2, "SAME"))
    err_case("err_convt_r1_same_output_10", "conv_transpose", "INVALID_OUTPUT_SHAPE",
             [("spatial_rank", 1), ("layout", "channels_last"), ("padding", "SAME"),
              ("strides", 2)], [("input", x1), ("filter", w1)], [("output_shape", (2, 10, 2))])
    x3 = rand((1, 2, 2, 2, 1))
    w3 = rand((2, 2, 2, 1, 1))
    must_raise("convt3", lambda: tf.nn.conv3d_transpose(x3, w3, (1, 4, 4, 5, 1), 2, "SAME"))
    err_case("err_convt_r3_same_output_4x4x5", "conv_transpose", "INVALID_OUTPUT_SHAPE",
             [("spatial_rank", 3), ("layout", "channels_last"), ("padding", "SAME"),
              ("strides", 2, 2, 2)], [("input", x3), ("filter", w3)],
             [("output_shape", (1, 4, 4, 5, 1))])
    # Channels-first with the bad size on the last dim (dims in NCHW order).
    xc = rand((1, 2, 3, 3))
    must_raise("convt cf", lambda: tf.nn.conv2d_transpose(
        np.moveaxis(xc, 1, -1), w, (1, 5, 4, 2), 2, "SAME"))
    err_case("err_convt_r2_cf_same_output_5x4", "conv_transpose", "INVALID_OUTPUT_SHAPE",
             [("spatial_rank", 2), ("layout", "channels_first"), ("padding", "SAME"),
              ("strides", 2, 2)], [("input", xc), ("filter", w)],
             [("output_shape", (1, 2, 5, 4))])
    # Channel and batch mismatches.
    wbad = rand((3, 3, 2, 3))  # filter in-dim 3 != input channels 2
    must_raise("convt ic", lambda: tf.nn.conv2d_transpose(x, wbad, (1, 6, 6, 2), 2, "SAME"))
    err_case("err_convt_r2_input_channels", "conv_transpose", "SHAPE_MISMATCH",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "SAME"),
              ("strides", 2, 2)], [("input", x), ("filter", wbad)],
             [("output_shape", (1, 6, 6, 2))])
    wo = rand((3, 3, 3, 2))  # filter out-dim 3 does not divide output channels 2
    must_raise("convt oc", lambda: tf.nn.conv2d_transpose(x, wo, (1, 6, 6, 2), 2, "SAME"))
    err_case("err_convt_r2_output_channels", "conv_transpose", "SHAPE_MISMATCH",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "SAME"),
              ("strides", 2, 2)], [("input", x), ("filter", wo)],
             [("output_shape", (1, 6, 6, 2))])
    must_raise("convt batch", lambda: tf.nn.conv2d_transpose(x, w, (2, 6, 6, 2), 2, "SAME"))
    err_case("err_convt_r2_batch", "conv_transpose", "SHAPE_MISMATCH",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "SAME"),
              ("strides", 2, 2)], [("input", x), ("filter", w)],
             [("output_shape", (2, 6, 6, 2))])
    xi = rand((1, 4, 4, 3))
    wi = rand((3, 3, 2, 4))
    must_raise("conv ic", lambda: tf.nn.conv2d(xi, wi, 1, "SAME"))
    err_case("err_conv_r2_input_channels", "conv", "SHAPE_MISMATCH",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "SAME"),
              ("strides", 1, 1)], [("input", xi), ("filter", wi)])
    # Negative forward sizes.
    xs = rand((1, 2, 2, 1))
    ws = rand((4, 4, 1, 1))
    must_raise("conv neg", lambda: tf.nn.conv2d(xs, ws, 1, "VALID"))
    err_case("err_conv_r2_valid_kernel_gt_input", "conv", "OUTPUT_SIZE",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "VALID"),
              ("strides", 1, 1)], [("input", xs), ("filter", ws)])
    xd = rand((1, 3, 3, 1))
    wd = rand((3, 3, 1, 1))
    must_raise("conv neg dil", lambda: tf.nn.conv2d(xd, wd, 1, "VALID", dilations=2))
    err_case("err_conv_r2_valid_dilated_kernel_gt_input", "conv", "OUTPUT_SIZE",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "VALID"),
              ("strides", 1, 1), ("dilations", 2, 2)], [("input", xd), ("filter", wd)])
    x1n = rand((1, 2, 1))
    w1n = rand((7, 1, 1))  # (2 - 7 + 2) / 2 = -1.5: negative even truncated
    must_raise("conv1d neg", lambda: tf.nn.conv1d(x1n, w1n, 2, "VALID"))
    err_case("err_conv_r1_valid_kernel_gt_input_stride", "conv", "OUTPUT_SIZE",
             [("spatial_rank", 1), ("layout", "channels_last"), ("padding", "VALID"),
              ("strides", 2)], [("input", x1n), ("filter", w1n)])
    must_raise("pool neg", lambda: tf.nn.max_pool2d(xs, 4, 1, "VALID"))
    for op in ("max_pool", "avg_pool", "max_pool_with_argmax"):
        err_case("err_%s_r2_valid_kernel_gt_input" % op, op, "OUTPUT_SIZE",
                 [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "VALID"),
                  ("ksize", 4, 4), ("strides", 1, 1)], [("input", xs)])
    x3n = rand((1, 3, 3, 3, 1))
    must_raise("pool3d neg", lambda: tf.nn.max_pool3d(x3n, [1, 1, 5], 1, "VALID"))
    err_case("err_max_pool_r3_valid_kernel_gt_input", "max_pool", "OUTPUT_SIZE",
             [("spatial_rank", 3), ("layout", "channels_last"), ("padding", "VALID"),
              ("ksize", 1, 1, 5), ("strides", 1, 1, 1)], [("input", x3n)])
    # max_unpool whose output_shape does not pool back onto the input.
    xp = rand((1, 4, 4, 2))
    yp, ap = tf.nn.max_pool_with_argmax(xp, 2, 2, "SAME")
    must_raise("unpool shape", lambda: tf.raw_ops.MaxPoolGradWithArgmax(
        input=np.zeros((1, 6, 4, 2), F32), grad=yp, argmax=ap, ksize=[1, 2, 2, 1],
        strides=[1, 2, 2, 1], padding="SAME"))
    err_case("err_max_unpool_r2_output_shape", "max_unpool", "INVALID_OUTPUT_SHAPE",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "SAME"),
              ("ksize", 2, 2), ("strides", 2, 2)],
             [("input", yp.numpy()), ("argmax", ap.numpy())], [("output_shape", (1, 6, 4, 2))])
    # An argmax index outside the output: TF's MaxPoolGradWithArgmax CHECK-fails (aborts the
    # process); deconv must answer with a status. Verified in a child process.
    bad = ap.numpy().copy()
    bad[0, 1, 0, 1] = 4 * 4 * 2
    check_tf_aborts_on_bad_index(32)
    err_case("err_max_unpool_r2_index_out_of_range", "max_unpool", "INDEX_OUT_OF_RANGE",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "SAME"),
              ("ksize", 2, 2), ("strides", 2, 2)],
             [("input", yp.numpy()), ("argmax", bad)], [("output_shape", (1, 4, 4, 2))])
    bad = ap.numpy().copy()
    bad[0, 0, 1, 0] = -1
    check_tf_aborts_on_bad_index(-1)
    err_case("err_max_unpool_r2_negative_index", "max_unpool", "INDEX_OUT_OF_RANGE",
             [("spatial_rank", 2), ("layout", "channels_last"), ("padding", "SAME"),
              ("ksize", 2, 2), ("strides", 2, 2)],
             [("input", yp.numpy()), ("argmax", bad)], [("output_shape", (1, 4, 4, 2))])


def check_tf_aborts_on_bad_index(value):
    code = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'\n"
            "import numpy as np, tensorflow as tf\n"
            "x=np.arange(32,dtype=np.float32).reshape(1,4,4,2)\n"
            "y,a=tf.nn.max_pool_with_argmax(x,2,2,'SAME')\n"
            "a=a.numpy(); a[0,1,0,1]=%d\n"
            "tf.raw_ops.MaxPoolGradWithArgmax(input=x,grad=y,argmax=a,ksize=[1,2,2,1],"
            "strides=[1,2,2,1],padding='SAME')\n" % value)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert p.returncode != 0, "TF accepted argmax index %d" % value


# ---- Keras DCGAN generator --------------------------------------------------------------------

def gen_dcgan():
    import keras
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, 4, 4, 8)).astype(F32)
    model = keras.Sequential([
        keras.Input((4, 4, 8)),
        keras.layers.Conv2DTranspose(16, 5, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2DTranspose(8, 5, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2DTranspose(3, 5, strides=2, padding="same", activation="tanh"),
    ])
    weights = []
    for layer in model.layers:
        kshape = layer.kernel.shape  # [kh, kw, out, in]
        k = rng.uniform(-0.25, 0.25, kshape).astype(F32)
        b = rng.uniform(-0.1, 0.1, (kshape[2],)).astype(F32)
        layer.set_weights([k, b])
        weights += [k, b]
    y = model(x).numpy()
    assert y.shape == (2, 32, 32, 3)
    # Cross-check: the same chain through the NumPy reference.
    h = x
    for i, act in enumerate(("relu", "relu", "tanh")):
        k, b = weights[2 * i], weights[2 * i + 1]
        shape = (h.shape[0], h.shape[1] * 2, h.shape[2] * 2, k.shape[2])
        h = act64(ref_conv_transpose(h, k, shape, (2, 2), (1, 1), "SAME", (0,) * 4) + b, act,
                  0, 0, 0).astype(F32)
    check_close("dcgan", y, h)
    assert np.std(y) > 0.05, "degenerate generator output"
    c = Case("keras_dcgan", "keras_dcgan_generator", "dcgan_generator", "tf")
    c.kv("spatial_rank", 2)
    c.kv("layout", "channels_last")
    c.kv("padding", "SAME")
    c.kv("strides", 2, 2)
    c.tensor("input", x)
    for i in range(3):
        c.tensor("filter%d" % (i + 1), weights[2 * i], activation=False)
        c.tensor("bias%d" % (i + 1), weights[2 * i + 1], activation=False)
    c.tensor("output", y)
    c.done()


def main():
    tf.config.experimental.enable_op_determinism()
    gen_conv()
    gen_conv_transpose()
    gen_pool()
    gen_argmax()
    gen_unpool()
    gen_errors()
    gen_dcgan()
    for old in os.listdir(HERE):
        if old.endswith(".golden"):
            os.remove(os.path.join(HERE, old))
    total = 0
    for fname, cases in sorted(FILES.items()):
        path = os.path.join(HERE, fname + ".golden")
        with open(path, "w") as f:
            f.write("# Generated by Tests/golden/generate.py (TensorFlow %s, NumPy %s). "
                    "Do not edit.\n" % (tf.__version__, np.__version__))
            f.write("\n\n".join(cases) + "\n")
        total += os.path.getsize(path)
        print("%-22s %4d cases %8d bytes" % (fname + ".golden", len(cases), os.path.getsize(path)))
    print("total %d cases (%d from TF, %d from the NumPy reference, %d error cases), %d bytes" %
          (len(NAMES), STATS["tf"], STATS["numpy"], STATS["expect"], total))


if __name__ == "__main__":
    main()
