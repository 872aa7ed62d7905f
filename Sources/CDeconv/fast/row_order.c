/* fast/row_order.c - the order of the implicit GEMM's output rows within a phase.
 *
 * Images innermost (GEMM kernels): rows go (q0, q1, q2, n), so the images of one position
 * share a tile and its padding. But the columns of a line whose taps reach past its ends
 * (SAME padding's first and last columns) then share tiles with interior columns, and a tile
 * keeps every tap one of its rows needs: vgg3x3 multiplied 1.3% more zeros than its useful
 * products, down_s2 2.7%. So the interior columns [lo, hi) of every line come first, and the
 * edge columns after them, column by column (q2, q0, q1, n): a tile of one edge column leaves
 * out the taps past that edge. Without edge columns (VALID, or no room for an interior) the
 * order is the plain (q0, q1, q2, n). DOT kernels order rows (n, q0, q1, q2) unchanged. */
#include "fast/fast.h"

void dc_fast_row_order(const dc_conv_problem *p, int batch_outer, const int64_t r[3],
                       dc_row_order *o) {
    o->n = p->y.n;
    o->batch_outer = batch_outer;
    for (int j = 0; j < 3; j++) {
        const int64_t out = p->y.sp[j], s = p->s[j];
        o->nq[j] = !p->transposed ? out : r[j] < out ? (out - r[j] + s - 1) / s : 0;
    }
    const int64_t nq = o->nq[2];
    o->lo = 0;
    o->hi = nq;
    if (batch_outer) return;
    int64_t off[DC_FAST_MAX_TAPS];
    const int64_t nt = dc_fast_dim_taps(p, 2, r[2], NULL, off);
    const int64_t s = p->transposed ? 1 : p->s[2], in = p->x.sp[2];
    int64_t lo = 0, hi = nq;
    for (int64_t t = 0; t < nt; t++) {
        /* column q reads input q * s + off[t]: inside for ceil(-off / s) <= q < ceil((in -
         * off) / s) */
        const int64_t a = dc_ceil_div(-off[t], s), b = dc_ceil_div(in - off[t], s);
        if (a > lo) lo = a;
        if (b < hi) hi = b;
    }
    if (lo < hi) o->lo = lo, o->hi = hi;
}

void dc_fast_row_at(const dc_row_order *o, int64_t row, int64_t *n, int64_t q[3]) {
    const int64_t *nq = o->nq;
    if (o->batch_outer) {
        q[2] = row % nq[2];
        row /= nq[2];
        q[1] = row % nq[1];
        row /= nq[1];
        q[0] = row % nq[0];
        *n = row / nq[0];
        return;
    }
    const int64_t ni = o->hi - o->lo, first = o->n * nq[0] * nq[1] * ni;
    if (row < first) {
        *n = row % o->n;
        row /= o->n;
        q[2] = o->lo + row % ni;
        row /= ni;
        q[1] = row % nq[1];
        q[0] = row / nq[1];
        return;
    }
    row -= first;
    *n = row % o->n;
    row /= o->n;
    q[1] = row % nq[1];
    row /= nq[1];
    q[0] = row % nq[0];
    const int64_t e = row / nq[0]; /* the e-th edge column */
    q[2] = e < o->lo ? e : o->hi + (e - o->lo);
}
