/* fast/conv_im2col.c - forward conv whose whole reduction (taps x input channels) is short,
 * e.g. lenet_c1: one input channel, 5x5 taps, K = 25.
 *
 * The implicit GEMM of conv_gemm.c walks the reduction tap by tap through row pointers; with
 * one input channel per tap that bookkeeping costs more than the multiply-adds. Here a block
 * of output rows is first copied into an explicit [rows][K] matrix (im2col; a tap row of k2
 * taps is one contiguous copy when it lies inside the input), then the GEMM micro-kernel runs
 * over it with one long reduction. Output rows are output pixels in memory order, so the
 * micro-kernel stores straight into the output.
 *
 * Work units are blocks of output rows; every output element is one dot product over K in a
 * fixed order, so the thread count never changes a bit of the result. */
#include "fast/fast.h"

#include <string.h>

#define IM_MAX_K 64        /* longer reductions go to the implicit GEMM */
#define IM_BLOCK_ROWS 240  /* output rows per unit: 240 x 64 floats = 60 KiB of im2col */
#define IM_SMALL_MACS 200000
#define WIDE 16            /* a tap row of <= WIDE floats is copied as WIDE (see im2col) */

typedef struct imgeo {
    const dc_conv_problem *p;
    dc_ukr uk;
    int64_t K, lda, rows, block, units, ntiles; /* lda: im2col row stride, K + slack */
    int small;
    size_t off_b, off_a, off_ap, off_cp, slice;
} imgeo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

int dc_fast_im2col_claims(const dc_conv_problem *p, const dc_ukr *gemm) {
    if (p->transposed || p->groups != 1 || gemm->kind != DC_UKR_GEMM) return 0;
    return p->k[0] * p->k[1] * p->k[2] * p->cin_g <= IM_MAX_K;
}

static void imgeo_init(const dc_conv_problem *p, const dc_ukr *uk, int packed, imgeo *g) {
    g->p = p;
    g->uk = *uk;
    g->K = p->k[0] * p->k[1] * p->k[2] * p->cin_g;
    g->lda = g->K + WIDE;
    g->rows = p->y.n * p->y.sp[0] * p->y.sp[1] * p->y.sp[2];
    g->block = IM_BLOCK_ROWS - IM_BLOCK_ROWS % uk->mr;
    g->units = (g->rows + g->block - 1) / g->block;
    g->ntiles = (p->cout_g + uk->nr - 1) / uk->nr;
    g->small = (double)g->rows * (double)g->K * (double)p->cout_g < IM_SMALL_MACS;
    size_t off = 0;
    g->off_b = off;
    if (!packed) off += round64((size_t)(g->ntiles * g->K * uk->nr) * sizeof(float));
    g->off_a = off;
    off += round64((size_t)(g->block * g->lda) * sizeof(float));
    g->off_ap = off;
    off += round64((size_t)uk->mr * sizeof(float *));
    g->off_cp = off;
    off += round64((size_t)uk->mr * sizeof(float *));
    g->slice = off;
}

/* The filter [k..., cin, cout] is already a [K][cout] matrix: tile nt holds [K][NR]. */
void dc_fast_im2col_pack_b(const dc_conv_problem *p, const dc_ukr *uk, const float *w,
                           float *dst) {
    const int64_t NR = uk->nr, K = p->k[0] * p->k[1] * p->k[2] * p->cin_g, cout = p->cout_g;
    const int64_t ntiles = (cout + NR - 1) / NR;
    for (int64_t nt = 0; nt < ntiles; nt++)
        for (int64_t k = 0; k < K; k++) {
            float *d = dst + (nt * K + k) * NR;
            for (int64_t j = 0; j < NR; j++) {
                const int64_t co = nt * NR + j;
                d[j] = co < cout ? w[k * cout + co] : 0.0f;
            }
        }
}

/* Copies of a few floats, the common case here (k2 x cin is often 3..32 floats): fixed-size
 * memcpy calls compile to plain moves, where a variable-size one is a library call that
 * costs more than the copy. */
static inline void copy_floats(float *d, const float *s, int64_t n) {
    for (; n >= 8; n -= 8, d += 8, s += 8) memcpy(d, s, 8 * sizeof(float));
    if (n >= 4) memcpy(d, s, 4 * sizeof(float)), d += 4, s += 4, n -= 4;
    if (n >= 2) memcpy(d, s, 2 * sizeof(float)), d += 2, s += 2, n -= 2;
    if (n) *d = *s;
}

static inline void zero_floats(float *d, int64_t n) {
    static const float z[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (; n >= 8; n -= 8, d += 8) memcpy(d, z, 8 * sizeof(float));
    for (; n > 0; n--) *d++ = 0.0f;
}

/* im2col of output rows [r0, r0 + m): row r gets, tap by tap, the cin values it reads.
 * Rows come in segments of one output row of dim 2 (same n, o0, o1); per segment each tap
 * row (a0, a1) is checked once, and inside the input its k2 taps are one contiguous copy
 * per output position (dilation 1) or one copy per tap. */
static void im2col(const imgeo *g, const float *x, int64_t r0, int64_t m, float *A) {
    const dc_conv_problem *p = g->p;
    const int64_t cin = p->cin_g, K = g->lda, k2 = p->k[2], k2c = k2 * cin;
    /* Short tap rows are copied as WIDE floats when the source has them: the extra floats
     * land in the next tap row (written after) or the row's slack, never in another row. */
    const float *x_end = x + p->x.count;
    const int wide = k2c <= WIDE && p->d[2] == 1;
    const int64_t out2 = p->y.sp[2], in2 = p->x.sp[2], s2 = p->s[2], d2 = p->d[2];
    const int64_t pb2 = p->pb[2];
    int64_t rest = r0 / out2, o2a = r0 % out2;
    const int64_t o1 = rest % p->y.sp[1];
    rest /= p->y.sp[1];
    int64_t o[2] = {rest % p->y.sp[0], o1}, n = rest / p->y.sp[0];
    int64_t r = 0;
    while (r < m) {
        const int64_t seg = out2 - o2a < m - r ? out2 - o2a : m - r; /* rows o2a.. */
        const float *xn = x + n * p->x.stride_n;
        float *row0 = A + r * K;
        int64_t tapoff = 0;
        for (int64_t a0 = 0; a0 < p->k[0]; a0++) {
            const int64_t i0 = o[0] * p->s[0] + a0 * p->d[0] - p->pb[0];
            for (int64_t a1 = 0; a1 < p->k[1]; a1++, tapoff += k2c) {
                const int64_t i1 = o[1] * p->s[1] + a1 * p->d[1] - p->pb[1];
                float *dst = row0 + tapoff;
                if ((uint64_t)i0 >= (uint64_t)p->x.sp[0] || (uint64_t)i1 >= (uint64_t)p->x.sp[1]) {
                    for (int64_t q = 0; q < seg; q++) zero_floats(dst + q * K, k2c);
                    continue;
                }
                const float *src = xn + i0 * p->x.stride_sp[0] + i1 * p->x.stride_sp[1];
                int64_t q = 0, b2 = o2a * s2 - pb2;
                while (q < seg) {
                    if (d2 == 1 && b2 >= 0 && b2 + k2 <= in2) {
                        /* the interior run: every tap of the row inside, one copy per row */
                        for (; q < seg && b2 + k2 <= in2; q++, b2 += s2, dst += K) {
                            const float *s0 = src + b2 * cin;
                            if (wide && x_end - s0 >= WIDE)
                                memcpy(dst, s0, WIDE * sizeof(float));
                            else
                                copy_floats(dst, s0, k2c);
                        }
                        continue;
                    }
                    if (d2 == 1) {
                        /* taps [lo, hi) of the row inside: one copy, zeros around it */
                        const int64_t lo = b2 < 0 ? (-b2 < k2 ? -b2 : k2) : 0;
                        const int64_t hi = in2 - b2 < k2 ? (in2 - b2 > lo ? in2 - b2 : lo) : k2;
                        zero_floats(dst, lo * cin);
                        if (hi > lo)
                            copy_floats(dst + lo * cin, src + (b2 + lo) * cin, (hi - lo) * cin);
                        zero_floats(dst + hi * cin, (k2 - hi) * cin);
                    } else {
                        for (int64_t a2 = 0; a2 < k2; a2++) {
                            const int64_t i2 = b2 + a2 * d2;
                            if ((uint64_t)i2 >= (uint64_t)in2)
                                zero_floats(dst + a2 * cin, cin);
                            else
                                copy_floats(dst + a2 * cin, src + i2 * cin, cin);
                        }
                    }
                    q++;
                    b2 += s2;
                    dst += K;
                }
            }
        }
        r += seg;
        o2a = 0;
        if (++o[1] == p->y.sp[1]) {
            o[1] = 0;
            if (++o[0] == p->y.sp[0]) o[0] = 0, n++;
        }
    }
}

void dc_fast_im2col_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                        const dc_ukr *uk, const float *packed_b) {
    const dc_conv_problem *p = a->p;
    imgeo g;
    imgeo_init(p, uk, packed_b != NULL, &g);
    char *base = (char *)(((uintptr_t)a->workspace + 63) & ~(uintptr_t)63);
    char *ws = base + (size_t)thread * g.slice;
    float *A = (float *)(ws + g.off_a);
    const float **ap = (const float **)(ws + g.off_ap);
    float **cp = (float **)(ws + g.off_cp);
    if (g.small) begin = 0, end = g.units;
    const float *b = packed_b;
    if (!b && begin < end) {
        dc_fast_im2col_pack_b(p, uk, a->w, (float *)(ws + g.off_b));
        b = (const float *)(ws + g.off_b);
    }
    const int mr = uk->mr;
    const int64_t NR = uk->nr, cout = p->cout_g;
    const int32_t tap0 = 0;
    const float *bias = a->bias;
    const int act = p->activation != DECONV_ACTIVATION_NONE;
    for (int64_t u = begin; u < end; u++) {
        const int64_t r0 = u * g.block;
        const int64_t m = g.rows - r0 < g.block ? g.rows - r0 : g.block;
        im2col(&g, a->x, r0, m, A);
        for (int64_t t = 0; t < m; t += mr) {
            const int64_t mm = m - t < mr ? m - t : mr;
            for (int rr = 0; rr < mr; rr++) {
                ap[rr] = A + (t + (rr < mm ? rr : 0)) * g.lda; /* rows past mm: read only */
                cp[rr] = a->y + (r0 + t + (rr < mm ? rr : 0)) * cout;
            }
            for (int64_t nt = 0; nt < g.ntiles; nt++) {
                dc_ukr_args ua;
                ua.a = ap;
                ua.tap = &tap0;
                ua.b = b + nt * g.K * NR;
                ua.btaps = 1;
                ua.c = cp;
                ua.a_off = 0;
                ua.c_off = nt * NR;
                ua.kc = g.K;
                ua.ntaps = 1;
                ua.mr = (int32_t)mm;
                ua.nr = (int32_t)(cout - nt * NR < NR ? cout - nt * NR : NR);
                ua.first = 1;
                uk->fn(&ua);
            }
        }
        if (bias || act) {
            float *y = a->y + r0 * cout;
            for (int64_t r = 0; r < m; r++, y += cout)
                for (int64_t co = 0; co < cout; co++) {
                    if (act)
                        y[co] = dc_activate(p, bias ? y[co] + bias[co] : y[co]);
                    else
                        y[co] += bias[co];
                }
        }
    }
}

void dc_fast_im2col_sizes(const dc_conv_problem *p, const dc_ukr *uk, int packed,
                          int32_t num_threads, int64_t *units, size_t *workspace_bytes,
                          int64_t *packed_floats) {
    imgeo g;
    imgeo_init(p, uk, packed, &g);
    if (num_threads < 1) num_threads = 1;
    *units = g.small ? 1 : g.units;
    *workspace_bytes = g.slice * (size_t)num_threads + 64;
    *packed_floats = g.ntiles * g.K * uk->nr;
}
