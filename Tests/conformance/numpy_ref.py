"""Independent float64 NumPy reference for every libdeconv op, and the shape/status rules.

Written from the definitions in include/deconv.h and tf-semantics.md, not from the C code:
conv gathers one strided slice of the padded input per kernel tap; the transposed conv scatters
each tap into the full-length result and then shifts it by the forward pad; pooling walks the
window taps in row-major order over a padded copy with a validity mask.

Every tensor here is channels-last ([N, spatial..., C]); callers convert layouts.
"""
import itertools

import numpy as np


class Reject(Exception):
    """The config is invalid; `statuses` is the set of acceptable libdeconv status names."""

    def __init__(self, statuses, why):
        super().__init__(why)
        self.statuses = frozenset(statuses)
        self.why = why


# ---- geometry ---------------------------------------------------------------------------------

def keff(k, d):
    return (k - 1) * d + 1


def window_out(padding, n, k, s, d, pads):
    """Forward output size and (pb, pa) of one dim. The division truncates toward zero, as
    C's and TF's (kernel_shape_util.cc): a window less than a stride too large gives 0."""
    ke = keff(k, d)
    if padding == "SAME":
        out = -(-n // s)
        total = max(0, (out - 1) * s + ke - n)
        return out, total // 2, total - total // 2
    pb, pa = (0, 0) if padding == "VALID" else pads
    num = n + pb + pa - ke + s
    return (num // s if num >= 0 else -((-num) // s)), pb, pa


def transpose_range(padding, n, k, s, d, pads):
    """Valid transposed-conv output sizes [lo, hi] for input size n, by brute force over the
    forward rule (an independent check of the closed forms the library uses)."""
    top = n * s + keff(k, d) + s + 2
    ok = [o for o in range(0, top) if window_out(padding, o, k, s, d, pads)[0] == n]
    return (ok[0], ok[-1]) if ok else None


# ---- activations ------------------------------------------------------------------------------

def activate(y, act, alpha, cmin, cmax):
    if act == "none":
        return y
    if act == "relu":
        return np.maximum(y, 0.0)
    if act == "relu6":
        return np.minimum(np.maximum(y, 0.0), 6.0)
    if act == "leaky_relu":
        return np.where(y >= 0, y, float(np.float32(alpha)) * y)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-y))
    if act == "tanh":
        return np.tanh(y)
    if act == "clamp":
        return np.minimum(np.maximum(y, float(np.float32(cmin))), float(np.float32(cmax)))
    raise ValueError(act)


# ---- convolution ------------------------------------------------------------------------------

def _tap_slice(start, count, step):
    return slice(start, start + (count - 1) * step + 1, step)


def conv(x, w, strides, dils, padding, pads, groups):
    """x [N, sp..., C], w [k..., C/groups, OC] -> [N, out..., OC], float64."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    r = x.ndim - 2
    n, c = x.shape[0], x.shape[-1]
    ks = w.shape[:r]
    oc = w.shape[-1]
    geo = [window_out(padding, x.shape[1 + i], ks[i], strides[i], dils[i],
                      pads[2 * i:2 * i + 2]) for i in range(r)]
    outs = [g[0] for g in geo]
    y = np.zeros((n, *outs, oc))
    if n == 0 or min(outs) <= 0:
        return y
    pad_w = [(0, 0)]
    for i in range(r):
        need = (outs[i] - 1) * strides[i] + keff(ks[i], dils[i])
        pad_w.append((geo[i][1], max(0, need - x.shape[1 + i] - geo[i][1])))
    pad_w.append((0, 0))
    xp = np.pad(x, pad_w)
    cg, ocg = c // groups, oc // groups
    for tap in itertools.product(*[range(k) for k in ks]):
        sl = (slice(None),) + tuple(_tap_slice(tap[i] * dils[i], outs[i], strides[i])
                                    for i in range(r)) + (slice(None),)
        patch = xp[sl].reshape(n, *outs, groups, cg)
        wt = w[tap].reshape(cg, groups, ocg)
        y += np.einsum("...gc,cgo->...go", patch, wt).reshape(n, *outs, oc)
    return y


def conv_transpose(x, w, out_spatial, strides, dils, padding, pads, groups):
    """x [N, in..., IC], w [k..., OC/groups, IC] -> [N, out_spatial..., OC], float64.
    y[o] = full[o + pb] where full[i*s + a*d] += x[i] . w[a] (the definition in deconv.h)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    r = x.ndim - 2
    n, ic = x.shape[0], x.shape[-1]
    ks = w.shape[:r]
    ocg = w.shape[r]
    oc = ocg * groups
    icg = ic // groups
    ins = x.shape[1:1 + r]
    y = np.zeros((n, *out_spatial, oc))
    if n == 0 or min(ins) == 0 or min(out_spatial) == 0:
        return y
    pbs = [window_out(padding, out_spatial[i], ks[i], strides[i], dils[i],
                      pads[2 * i:2 * i + 2])[1] for i in range(r)]
    full_len = [(ins[i] - 1) * strides[i] + keff(ks[i], dils[i]) for i in range(r)]
    full = np.zeros((n, *full_len, oc))
    xg = x.reshape(n, *ins, groups, icg)
    for tap in itertools.product(*[range(k) for k in ks]):
        wt = w[tap].reshape(ocg, groups, icg)
        contrib = np.einsum("...gc,ogc->...go", xg, wt).reshape(n, *ins, oc)
        sl = (slice(None),) + tuple(_tap_slice(tap[i] * dils[i], ins[i], strides[i])
                                    for i in range(r)) + (slice(None),)
        full[sl] += contrib
    # y[o] = full[o + pb]: crop pb at the start, then cut or zero-extend to out.
    src = [slice(None)]
    dst = [slice(None)]
    for i in range(r):
        lo = pbs[i]
        hi = min(full_len[i], pbs[i] + out_spatial[i])
        if hi <= lo:
            return y
        src.append(slice(lo, hi))
        dst.append(slice(0, hi - lo))
    y[tuple(dst)] = full[tuple(src)]
    return y


# ---- pooling ----------------------------------------------------------------------------------

def _pool_geometry(x_spatial, ksize, strides, padding, pads):
    r = len(x_spatial)
    geo = [window_out(padding, x_spatial[i], ksize[i], strides[i], 1, pads[2 * i:2 * i + 2])
           for i in range(r)]
    return [g[0] for g in geo], [g[1] for g in geo]


def _padded(arr, outs, pbs, ksize, strides, fill):
    r = len(outs)
    pad_w = [(0, 0)]
    for i in range(r):
        need = (outs[i] - 1) * strides[i] + ksize[i]
        pad_w.append((pbs[i], max(0, need - arr.shape[1 + i] - pbs[i])))
    pad_w.append((0, 0))
    return np.pad(arr, pad_w, constant_values=fill)


def _taps(outs, ksize, strides):
    r = len(outs)
    for tap in itertools.product(*[range(k) for k in ksize]):
        yield (slice(None),) + tuple(_tap_slice(tap[i], outs[i], strides[i])
                                     for i in range(r)) + (slice(None),)


def flat_index(shape_cl, include_batch):
    """TF's argmax index of every element of a channels-last tensor."""
    n = shape_cl[0]
    per_image = int(np.prod(shape_cl[1:], dtype=np.int64))
    idx = np.arange(n * per_image, dtype=np.int64).reshape(shape_cl)
    if not include_batch:
        batch_term = np.arange(n, dtype=np.int64) * per_image
        idx = idx - batch_term.reshape((n,) + (1,) * (len(shape_cl) - 1))
    return idx


def pool(x, ksize, strides, padding, pads, kind, count_include_pad=0, include_batch=0):
    """kind: 'max', 'avg' or 'argmax' (returns (max, indices))."""
    x = np.asarray(x, np.float64)
    r = x.ndim - 2
    n, c = x.shape[0], x.shape[-1]
    outs, pbs = _pool_geometry(x.shape[1:1 + r], ksize, strides, padding, pads)
    shape = (n, *[max(o, 0) for o in outs], c)
    if n == 0 or c == 0 or min(outs) <= 0:
        z = np.zeros(shape)
        return (z, np.zeros(shape, np.int64)) if kind == "argmax" else z
    valid = _padded(np.ones(x.shape, bool), outs, pbs, ksize, strides, False)
    xp = _padded(x, outs, pbs, ksize, strides, 0.0)
    if kind == "avg":
        total = np.zeros(shape)
        count = np.zeros(shape)
        for sl in _taps(outs, ksize, strides):
            total += np.where(valid[sl], xp[sl], 0.0)
            count += valid[sl]
        if count_include_pad:
            count = np.full(shape, float(np.prod(ksize)))
        return np.where(count > 0, total / np.maximum(count, 1), 0.0)
    idxp = _padded(flat_index(x.shape, include_batch), outs, pbs, ksize, strides, -1)
    best = np.full(shape, -np.inf)
    best_i = np.full(shape, -1, np.int64)
    for sl in _taps(outs, ksize, strides):
        take = valid[sl] & ((best_i < 0) | (xp[sl] > best))
        best = np.where(take, xp[sl], best)
        best_i = np.where(take, idxp[sl], best_i)
    return (best, best_i) if kind == "argmax" else best


def max_unpool(values, argmax, out_shape_cl, include_batch):
    """Zero output; each value added at its argmax position (duplicates sum)."""
    values = np.asarray(values, np.float64)
    n = out_shape_cl[0]
    per_image = int(np.prod(out_shape_cl[1:], dtype=np.int64))
    out = np.zeros(n * per_image)
    if values.size == 0:
        return out.reshape(out_shape_cl)
    idx = np.asarray(argmax, np.int64).reshape(values.shape[0], -1)
    if not include_batch:
        idx = idx + (np.arange(values.shape[0], dtype=np.int64) * per_image)[:, None]
    np.add.at(out, idx.ravel(), values.reshape(-1))
    return out.reshape(out_shape_cl)


def avg_unpool(values, out_shape_cl, ksize, strides, padding, pads, normalize, count_include_pad):
    """Each pooled value spread over its window's valid cells (divided by the count if
    normalize); the adjoint of avg pooling when normalised."""
    values = np.asarray(values, np.float64)
    r = len(out_shape_cl) - 2
    out = np.zeros(out_shape_cl)
    outs, pbs = _pool_geometry(out_shape_cl[1:1 + r], ksize, strides, padding, pads)
    if out.size == 0 or values.size == 0:
        return out
    valid = _padded(np.ones(out_shape_cl, bool), outs, pbs, ksize, strides, False)
    count = np.zeros(values.shape)
    for sl in _taps(outs, ksize, strides):
        count += valid[sl]
    if count_include_pad:
        count = np.full(values.shape, float(np.prod(ksize)))
    share = values / count if normalize else values
    acc = np.zeros(valid.shape)
    for sl in _taps(outs, ksize, strides):
        acc[sl] += np.where(valid[sl], share, 0.0)
    crop = (slice(None),) + tuple(slice(pbs[i], pbs[i] + out_shape_cl[1 + i])
                                  for i in range(r)) + (slice(None),)
    return acc[crop]
