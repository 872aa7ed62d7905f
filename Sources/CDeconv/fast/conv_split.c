/* fast/conv_split.c - where the implicit GEMM's threads split the output rows: at equal
 * estimated work, not at equal row counts.
 *
 * Why: rows near the input's edges have taps that fall outside it, and the implicit GEMM skips
 * those. In its row order (row_order.c) the bottom-edge rows and the edge columns come last,
 * so an even split gave the last thread less work (down_s2 at 2 threads, before the edge
 * columns moved: its two halves took 1592 and 1511 thousand cycles). The split never changes
 * a result: every row is computed in one unit, in the same order, whichever thread runs it.
 *
 * The estimate of rows [0, R) of a phase is the number of (row, tap) pairs whose input is
 * inside, counted per dim in closed form (each tap reaches the input for one interval of q),
 * so it costs O(taps) per phase and dim, not O(rows). */
#include "fast/fast.h"

/* One dim of one phase: the taps' input offsets at q = 0 (dc_fast_dim_taps). */
typedef struct dim_taps {
    int64_t n, in, s, nq;
    int64_t off[DC_FAST_MAX_TAPS];
} dim_taps;

/* Pairs (q, tap) with q < x whose input q * s + off is inside [0, in). */
static int64_t dim_pairs(const dim_taps *d, int64_t x) {
    if (x > d->nq) x = d->nq;
    int64_t sum = 0;
    for (int64_t t = 0; t < d->n; t++) {
        int64_t lo = dc_ceil_div(-d->off[t], d->s), hi = dc_ceil_div(d->in - d->off[t], d->s);
        if (lo < 0) lo = 0;
        if (hi > x) hi = x;
        if (hi > lo) sum += hi - lo;
    }
    return sum;
}

/* In-bound (row, tap) pairs of one image's positions [0, pos), flattened (q0, q1, q2), of
 * columns [lo, lo + w) (dim 2's positions; all[2] is their pairs). */
static int64_t positions_pairs(const dim_taps d[3], const int64_t all[3], int64_t lo,
                               int64_t w, int64_t pos) {
    if (w == 0) return 0;
    const int64_t q0 = pos / (d[1].nq * w), q1 = pos / w % d[1].nq, q2 = pos % w;
    const int64_t c0 = dim_pairs(&d[0], q0), n0 = dim_pairs(&d[0], q0 + 1) - c0;
    const int64_t c1 = dim_pairs(&d[1], q1), n1 = dim_pairs(&d[1], q1 + 1) - c1;
    return c0 * all[1] * all[2] +
           n0 * (c1 * all[2] + n1 * (dim_pairs(&d[2], lo + q2) - dim_pairs(&d[2], lo)));
}

/* Pairs of the first e edge columns (those outside [lo, hi), in order). */
static int64_t edge_pairs(const dim_taps *d, int64_t lo, int64_t hi, int64_t e) {
    if (e <= lo) return dim_pairs(d, e);
    return dim_pairs(d, lo) + dim_pairs(d, hi + (e - lo)) - dim_pairs(d, hi);
}

/* In-bound pairs of one image's edge positions [0, pos), flattened (e, q0, q1). */
static int64_t edge_positions_pairs(const dim_taps d[3], const int64_t all[3], int64_t lo,
                                    int64_t hi, int64_t pos) {
    const int64_t per = d[0].nq * d[1].nq, e = pos / per, q0 = pos % per / d[1].nq,
                  q1 = pos % d[1].nq;
    const int64_t ce = edge_pairs(&d[2], lo, hi, e), ne = edge_pairs(&d[2], lo, hi, e + 1) - ce;
    const int64_t c0 = dim_pairs(&d[0], q0), n0 = dim_pairs(&d[0], q0 + 1) - c0;
    return ce * all[0] * all[1] + ne * (c0 * all[1] + n0 * dim_pairs(&d[1], q1));
}

/* Pairs of the first `rows` rows when each position's N images are consecutive rows, the
 * positions' pairs counted by f(pos) (one image). */
#define IMAGES_INNERMOST(N, rows, f)                                                          \
    ((rows) % (N) == 0 ? (N) * f((rows) / (N))                                               \
                       : (N) * f((rows) / (N)) +                                              \
                             (rows) % (N) * (f((rows) / (N) + 1) - f((rows) / (N))))

/* In-bound (row, tap) pairs of the first `rows` rows of phase r, in dc_row_order's order. */
static int64_t phase_pairs(const dc_conv_problem *p, const dim_taps d[3], const int64_t r[3],
                           int batch_outer, int64_t rows) {
    const int64_t N = p->y.n, P = d[0].nq * d[1].nq * d[2].nq;
    if (P == 0 || rows <= 0) return 0;
    if (rows > N * P) rows = N * P;
    dc_row_order o;
    dc_fast_row_order(p, batch_outer, r, &o);
    int64_t all[3];
    for (int j = 0; j < 3; j++) all[j] = dim_pairs(&d[j], d[j].nq);
    if (batch_outer)
        return rows / P * all[0] * all[1] * all[2] +
               positions_pairs(d, all, 0, d[2].nq, rows % P);
    /* the interior columns' rows, then the edge columns' */
    const int64_t w = o.hi - o.lo, first = N * d[0].nq * d[1].nq * w;
    int64_t in[3] = {all[0], all[1], dim_pairs(&d[2], o.hi) - dim_pairs(&d[2], o.lo)};
#define INNER(pos) positions_pairs(d, in, o.lo, w, pos)
#define EDGE(pos) edge_positions_pairs(d, all, o.lo, o.hi, pos)
    if (rows <= first) return IMAGES_INNERMOST(N, rows, INNER);
    return N * INNER(first / N) + IMAGES_INNERMOST(N, rows - first, EDGE);
#undef INNER
#undef EDGE
}

int64_t dc_fast_rows_cost(const dc_conv_problem *p, int batch_outer, int64_t rows) {
    int64_t ps[3], nphase = 1, sum = 0;
    for (int j = 0; j < 3; j++) {
        ps[j] = p->transposed ? p->s[j] : 1;
        nphase *= ps[j];
    }
    for (int64_t ph = 0; ph < nphase; ph++) {
        int64_t r[3];
        r[2] = ph % ps[2];
        r[1] = (ph / ps[2]) % ps[1];
        r[0] = ph / (ps[2] * ps[1]);
        dim_taps d[3];
        for (int j = 0; j < 3; j++) {
            const int64_t out = p->y.sp[j], s = p->s[j];
            d[j].nq = !p->transposed ? out : r[j] < out ? (out - r[j] + s - 1) / s : 0;
            d[j].n = dc_fast_dim_taps(p, j, r[j], NULL, d[j].off);
            d[j].in = p->x.sp[j];
            d[j].s = p->transposed ? 1 : s;
        }
        sum += phase_pairs(p, d, r, batch_outer, rows);
    }
    return sum;
}

int64_t dc_fast_split_row(const dc_conv_problem *p, int batch_outer, int64_t rows, int64_t mr,
                          int64_t t, int64_t T) {
    if (t <= 0) return 0;
    if (t >= T) return rows;
    /* the even split's row, and how far the weighted one may move from it (which bounds the
     * rows one thread gets: the workspace is sized by that bound) */
    const int64_t even = rows / T * t + rows % T * t / T, slack = rows / (4 * T);
    const int64_t lo_row = even - slack, hi_row = even + slack;
    const int64_t target = dc_fast_rows_cost(p, batch_outer, rows) / T * t;
    /* the first multiple of mr whose rows before it cost at least target */
    int64_t lo = (lo_row + mr - 1) / mr, hi = hi_row / mr;
    if (hi < lo) return lo * mr < rows ? lo * mr : rows;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (dc_fast_rows_cost(p, batch_outer, mid * mr) >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo * mr < rows ? lo * mr : rows;
}
