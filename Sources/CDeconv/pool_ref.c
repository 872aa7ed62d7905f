/*
 * pool_ref.c - naive reference pooling and unpooling kernels: one pooled element at a time,
 * every window walked cell by cell. They are the oracle for anything faster, so they favour
 * being obviously right over speed. Problems arrive validated and normalised to 3 spatial dims
 * (leading dims of extent 1, kernel 1, stride 1, no pads).
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* The window of pooled position o along normalised dim i, as [start, end) in input
 * coordinates (it may reach into the padding). */
static void window(const dc_pool_problem *p, int i, int64_t o, int64_t *start, int64_t *end) {
    *start = o * p->s[i] - p->pb[i];
    *end = *start + p->k[i];
}

/* Cells of [start, end) that lie inside [lo, hi); never negative. */
static int64_t clipped(int64_t start, int64_t end, int64_t lo, int64_t hi) {
    int64_t a = start > lo ? start : lo;
    int64_t b = end < hi ? end : hi;
    return b > a ? b - a : 0;
}

/* Clips the window [st, en) to the input; returns 0 when it holds no input cell. A window can
 * span 2^40 cells along one dim and none along another (a zero-extent dim with padding): its
 * cell loops must not even start, or the outer one walks 2^40 empty rows (fuzz_pool). */
static int clip_window(const dc_pool_problem *p, int64_t st[3], int64_t en[3]) {
    int nonempty = 1;
    for (int i = 0; i < 3; i++) {
        if (st[i] < 0) st[i] = 0;
        if (en[i] > p->x.sp[i]) en[i] = p->x.sp[i];
        nonempty &= en[i] > st[i];
    }
    return nonempty;
}

/* Avg divisor of one window.
 * count_include_pad = 0: the number of valid (non-padding) cells (TF, Keras, ONNX).
 * count_include_pad = 1: PyTorch's rule, the cells of the window inside the PADDED input
 * [-pb, in + pa): padding cells count, anything past the padding would not. With TF's floor
 * size rule every window lies inside the padded input, so this is always the full window
 * k0 * k1 * k2; clipping anyway keeps the definition honest if a ceil mode is ever added.
 * 0 means the window has no cell to average. */
static double divisor(const dc_pool_problem *p, const int64_t start[3], const int64_t end[3]) {
    /* double: with count_include_pad three window extents of up to 2^40 each would overflow
     * int64 (found by fuzz_pool); every real count is far below 2^53, so it stays exact. */
    double n = 1;
    for (int i = 0; i < 3; i++) {
        int64_t lo = p->count_include_pad ? -p->pb[i] : 0;
        int64_t hi = p->count_include_pad ? p->x.sp[i] + p->pa[i] : p->x.sp[i];
        n *= (double)clipped(start[i], end[i], lo, hi);
    }
    return n;
}

/* Element offset in a tensor of either layout. */
static int64_t offset(const dc_layout3 *x, int64_t b, int64_t c, int64_t i0, int64_t i1,
                        int64_t i2) {
    return b * x->stride_n + c * x->stride_c + i0 * x->stride_sp[0] + i1 * x->stride_sp[1] +
           i2 * x->stride_sp[2];
}

/* TF's argmax index: flat over the channels-last pre-pool tensor, batch term optional. */
static int64_t tf_index(const dc_pool_problem *p, int64_t b, int64_t c, int64_t i0, int64_t i1,
                        int64_t i2) {
    const dc_layout3 *x = &p->x;
    int64_t b_term = p->include_batch_in_index ? b : 0;
    return (((b_term * x->sp[0] + i0) * x->sp[1] + i1) * x->sp[2] + i2) * x->c + c;
}

/* Max-pool ordering: a NaN beats every number and the first NaN stays; otherwise strictly
 * greater wins, so the first maximum in window order keeps ties. */
static int beats(float v, float best) {
    return isnan(v) ? !isnan(best) : v > best;
}

void dc_ref_max_pool(const dc_pool_problem *p, const float *x, float *y, int64_t *argmax) {
    const dc_layout3 *X = &p->x, *Y = &p->y;
    if (Y->count == 0) return;
    for (int64_t b = 0; b < Y->n; b++)
    for (int64_t c = 0; c < Y->c; c++)
    for (int64_t o0 = 0; o0 < Y->sp[0]; o0++)
    for (int64_t o1 = 0; o1 < Y->sp[1]; o1++)
    for (int64_t o2 = 0; o2 < Y->sp[2]; o2++) {
        int64_t st[3], en[3], o[3] = {o0, o1, o2};
        for (int i = 0; i < 3; i++) window(p, i, o[i], &st[i], &en[i]);
        const int cells = clip_window(p, st, en);
        /* Start from the first valid cell, never from -FLT_MAX or index -1. */
        int found = 0;
        float best = 0.0f;
        int64_t best_index = 0;
        if (cells)
        for (int64_t i0 = st[0]; i0 < en[0]; i0++)
        for (int64_t i1 = st[1]; i1 < en[1]; i1++)
        for (int64_t i2 = st[2]; i2 < en[2]; i2++) {
            float v = x[offset(X, b, c, i0, i1, i2)];
            if (!found || beats(v, best)) {
                found = 1;
                best = v;
                best_index = tf_index(p, b, c, i0, i1, i2);
            }
        }
        /* An empty window is rejected by validation; should one ever get here its result is
         * -inf (the identity of max) and its index -1, which max_unpool rejects. */
        int64_t yo = offset(Y, b, c, o0, o1, o2);
        y[yo] = found ? best : -INFINITY;
        if (argmax) argmax[yo] = found ? best_index : -1;
    }
}

void dc_ref_avg_pool(const dc_pool_problem *p, const float *x, float *y) {
    const dc_layout3 *X = &p->x, *Y = &p->y;
    if (Y->count == 0) return;
    for (int64_t b = 0; b < Y->n; b++)
    for (int64_t c = 0; c < Y->c; c++)
    for (int64_t o0 = 0; o0 < Y->sp[0]; o0++)
    for (int64_t o1 = 0; o1 < Y->sp[1]; o1++)
    for (int64_t o2 = 0; o2 < Y->sp[2]; o2++) {
        int64_t st[3], en[3], o[3] = {o0, o1, o2};
        for (int i = 0; i < 3; i++) window(p, i, o[i], &st[i], &en[i]);
        const double count = divisor(p, st, en);
        const int cells = clip_window(p, st, en);
        /* double keeps the sum exact enough to be the oracle; +inf with -inf gives NaN. */
        double sum = 0.0;
        if (cells)
        for (int64_t i0 = st[0]; i0 < en[0]; i0++)
        for (int64_t i1 = st[1]; i1 < en[1]; i1++)
        for (int64_t i2 = st[2]; i2 < en[2]; i2++) sum += x[offset(X, b, c, i0, i1, i2)];
        int64_t yo = offset(Y, b, c, o0, o1, o2);
        y[yo] = count > 0 ? (float)(sum / (double)count) : 0.0f;
    }
}

void dc_ref_max_unpool(const dc_pool_problem *p, const float *y, const int64_t *argmax,
                       float *x) {
    const dc_layout3 *X = &p->x, *Y = &p->y;
    if (X->count > 0) memset(x, 0, (size_t)X->count * sizeof *x);
    /* Validation has put every index inside the output, so X->count > 0 whenever an index
     * exists and none of the divisions below is by zero. */
    if (Y->count == 0 || X->count == 0) return;
    int64_t image = X->sp[0] * X->sp[1] * X->sp[2] * X->c;
    for (int64_t b = 0; b < Y->n; b++)
    for (int64_t c = 0; c < Y->c; c++)
    for (int64_t o0 = 0; o0 < Y->sp[0]; o0++)
    for (int64_t o1 = 0; o1 < Y->sp[1]; o1++)
    for (int64_t o2 = 0; o2 < Y->sp[2]; o2++) {
        int64_t yo = offset(Y, b, c, o0, o1, o2);
        int64_t r = argmax[yo], tb = b;
        if (p->include_batch_in_index) {
            tb = r / image; /* TF scatters across images when the batch term is in */
            r %= image;
        }
        int64_t tc = r % X->c;
        r /= X->c;
        int64_t i2 = r % X->sp[2];
        r /= X->sp[2];
        int64_t i1 = r % X->sp[1];
        int64_t i0 = r / X->sp[1];
        x[offset(X, tb, tc, i0, i1, i2)] += y[yo]; /* duplicates sum, as TF's gradient */
    }
}

void dc_ref_avg_unpool(const dc_pool_problem *p, const float *y, float *x) {
    const dc_layout3 *X = &p->x, *Y = &p->y;
    if (X->count > 0) memset(x, 0, (size_t)X->count * sizeof *x);
    if (Y->count == 0 || X->count == 0) return;
    for (int64_t b = 0; b < Y->n; b++)
    for (int64_t c = 0; c < Y->c; c++)
    for (int64_t o0 = 0; o0 < Y->sp[0]; o0++)
    for (int64_t o1 = 0; o1 < Y->sp[1]; o1++)
    for (int64_t o2 = 0; o2 < Y->sp[2]; o2++) {
        int64_t st[3], en[3], o[3] = {o0, o1, o2};
        for (int i = 0; i < 3; i++) window(p, i, o[i], &st[i], &en[i]);
        const double count = divisor(p, st, en);
        /* no valid cell: nothing to spread (count may still count padding cells) */
        if (count == 0 || !clip_window(p, st, en)) continue;
        int64_t yo = offset(Y, b, c, o0, o1, o2);
        /* As TF's AvgPoolGrad: divide once per pooled value, then add to every cell. */
        float v = p->normalize ? y[yo] / (float)count : y[yo];
        for (int64_t i0 = st[0]; i0 < en[0]; i0++)
        for (int64_t i1 = st[1]; i1 < en[1]; i1++)
        for (int64_t i2 = st[2]; i2 < en[2]; i2++) x[offset(X, b, c, i0, i1, i2)] += v;
    }
}
