/* fast/conv_col.c - transposed conv with few output channels (dcgan4: 3) as one GEMM per
 * input pixel plus a gather. (One output channel goes to conv_dot1.c when its padded image
 * copy fits; larger images come here.)
 *
 * With few output channels the implicit GEMM of conv_gemm.c has almost no columns: each
 * input value loaded feeds only cout multiply-adds. Here every input pixel is multiplied once
 * by the whole filter seen as a [cin, taps * cout] matrix (the transposed filter
 * [k..., cout, cin] is that matrix's transpose already), giving a column row of
 * taps * cout partial results; each output element is then the sum of the column entries
 * that land on it, gathered in kernel order. Every input value now feeds taps * cout
 * multiply-adds and the wide GEMM micro-kernel runs at full width.
 *
 * Work units are (image, band of output rows along spatial dim 1). A unit computes the column
 * rows of every input pixel its band reads (neighbouring bands recompute a halo) into its
 * thread's scratch, then gathers. A column entry is a dot product over cin in a fixed order
 * whatever unit computes it, and the gather order is fixed, so the thread count never
 * changes a bit of the result. */
#include "fast/fast.h"

#include <stdlib.h>
#include <string.h>

#define COL_MAX_COUT 4       /* more output channels go to the implicit GEMM */
#define COL_MAX_K 16         /* per dim: the gather's tap lists live on the stack */
#define COL_MAX_S 8
#define COL_BUDGET 65536     /* column floats per unit we aim for (256 KiB) */
#define COL_KC 1024          /* input channels per packed block */
#define COL_SMALL_MACS 200000
#define COL_L1_A 24576       /* bytes of input rows a row block keeps in L1 */

typedef struct colgeo {
    const dc_conv_problem *p;
    dc_ukr uk;
    int64_t ldc, ntiles, kc;     /* column row stride (whole tiles), tiles, channel block */
    int64_t band, nbands, units; /* output rows of dim 1 per unit, per image; units */
    int64_t rows_max;            /* input rows of dim 1 a band reads, at most */
    int64_t row_block;           /* column rows per pass over the filter's tiles */
    int small;
    size_t off_b, off_col, off_a, off_c, off_s, slice;
} colgeo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

/* Input rows of dim 1 read by output rows [oa, ob): [*lo, *hi] (empty when lo > hi). */
static void band_inputs(const dc_conv_problem *p, int64_t oa, int64_t ob, int64_t *lo,
                        int64_t *hi) {
    const int64_t s = p->s[1], reach = (p->k[1] - 1) * p->d[1], pb = p->pb[1];
    const int64_t t = oa + pb - reach; /* i >= ceil(t / s) */
    int64_t l = t >= 0 ? (t + s - 1) / s : -((-t) / s);
    int64_t h = (ob - 1 + pb) / s; /* ob - 1 + pb >= 0 here: pb >= 0 */
    if (l < 0) l = 0;
    if (h > p->x.sp[1] - 1) h = p->x.sp[1] - 1;
    *lo = l;
    *hi = h;
}

static void colgeo_init(const dc_conv_problem *p, const dc_ukr *uk, int packed, colgeo *g) {
    g->p = p;
    g->uk = *uk;
    const int64_t kvol = p->k[0] * p->k[1] * p->k[2];
    /* Column rows are padded to whole NR tiles (the padding columns multiply zero weights):
     * every store of the micro-kernel is then a whole vector. */
    g->ntiles = (kvol * p->cout_g + uk->nr - 1) / uk->nr;
    g->ldc = g->ntiles * uk->nr;
    g->kc = p->cin_g < COL_KC ? p->cin_g : COL_KC;
    const int64_t plane = p->x.sp[0] * p->x.sp[2] * g->ldc; /* column floats per input row */
    const int64_t out1 = p->y.sp[1];
    /* The largest band whose input rows fit the budget (at least one output row). */
    int64_t band = out1;
    for (;;) {
        const int64_t rows = (band - 1 + (p->k[1] - 1) * p->d[1]) / p->s[1] + 2;
        if (band == 1 || rows * plane <= COL_BUDGET) break;
        band = (band + 1) / 2;
    }
    g->band = band;
    g->nbands = (out1 + band - 1) / band;
    g->units = p->y.n * g->nbands;
    /* Input rows a band reads, bounded in O(1) (walking every band cost O(output rows): a
     * huge dilation makes 2^37 one-row bands): band_inputs gives hi - lo <= floor((band - 1 +
     * reach) / s), and never more than the image has. */
    int64_t most = (band - 1 + (p->k[1] - 1) * p->d[1]) / p->s[1] + 1;
    if (most > p->x.sp[1]) most = p->x.sp[1];
    g->rows_max = most;
    const double macs = (double)p->x.count * (double)g->ldc;
    g->small = macs < COL_SMALL_MACS;
    size_t off = 0;
    g->off_b = off;
    if (!packed) off += round64((size_t)(g->ntiles * p->cin_g * uk->nr) * sizeof(float));
    g->off_col = off;
    off += round64((size_t)(p->x.sp[0] * (most > 0 ? most : 1) * p->x.sp[2] * g->ldc) *
                   sizeof(float));
    /* Row block: as many whole tiles of rows as keep their kc input channels in COL_L1_A,
     * and no more than a band has. */
    const int64_t band_rows = p->x.sp[0] * (most > 0 ? most : 1) * p->x.sp[2];
    int64_t rb = COL_L1_A / (g->kc * (int64_t)sizeof(float)) / uk->mr * uk->mr;
    if (rb < uk->mr) rb = uk->mr;
    if (rb > band_rows) rb = (band_rows + uk->mr - 1) / uk->mr * uk->mr;
    g->row_block = rb;
    g->off_a = off;
    off += round64((size_t)rb * sizeof(float *));
    g->off_c = off;
    off += round64((size_t)rb * sizeof(float *));
    g->off_s = off;
    off += round64((size_t)(rb / uk->mr) * sizeof(int64_t));
    g->slice = off;
}

int dc_fast_col_claims(const dc_conv_problem *p, const dc_ukr *gemm) {
    if (!p->transposed || p->groups != 1 || p->cout_g > COL_MAX_COUT) return 0;
    if (gemm->kind != DC_UKR_GEMM) return 0;
    for (int j = 0; j < 3; j++)
        if (p->k[j] > COL_MAX_K || p->s[j] > COL_MAX_S) return 0;
    /* The column buffer of one image must stay far below what size_t and the workspace can
     * hold (a band is at most the whole image). */
    const double image_cols = (double)p->x.sp[0] * (double)p->x.sp[1] * (double)p->x.sp[2] *
                              (double)(p->k[0] * p->k[1] * p->k[2] * p->cout_g);
    return image_cols * sizeof(float) < (double)(SIZE_MAX / 8) && image_cols < (double)(1 << 28);
}

/* The weights as B[cin][taps * cout], NR columns per tile: tile nt holds [cin][NR]. */
void dc_fast_col_pack_b(const dc_conv_problem *p, const dc_ukr *uk, const float *w, float *dst) {
    const int64_t NR = uk->nr, ldc = p->k[0] * p->k[1] * p->k[2] * p->cout_g;
    const int64_t ntiles = (ldc + NR - 1) / NR, cin = p->cin_g;
    for (int64_t nt = 0; nt < ntiles; nt++) {
        float *d = dst + nt * cin * NR;
        for (int64_t j = 0; j < NR; j++) {
            const int64_t col = nt * NR + j;
            if (col >= ldc) {
                for (int64_t c = 0; c < cin; c++) d[c * NR + j] = 0.0f;
                continue;
            }
            const float *s = w + col * cin; /* filter row (tap, co): cin contiguous values */
            for (int64_t c = 0; c < cin; c++) d[c * NR + j] = s[c];
        }
    }
}

/* Column rows of image n, input rows [lo, hi] of dim 1 (all of dims 0 and 2), a block of
 * row_block rows at a time: within a block the loop runs over column tiles, then tiles of
 * rows, so the block's input rows stay in L1 while one NR-wide panel of the filter at a time
 * is swept over them (rows outermost made the whole filter, 40 KiB for dcgan4, and the column
 * stores fight over L1). A tile of rows that lies in one input row of dim 0 reads equally
 * spaced pixels: one pointer and a stride; a tile that does not gets a pointer per row. */
static void columns(const colgeo *g, const dc_conv_args *a, const float *b, int64_t n,
                    int64_t lo, int64_t hi, float *col, const float **aptr, float **cptr,
                    int64_t *astride) {
    const dc_conv_problem *p = g->p;
    const int mr = g->uk.mr;
    const int64_t NR = g->uk.nr, in0 = p->x.sp[0], in2 = p->x.sp[2], r1 = hi - lo + 1;
    const int64_t rows = in0 * r1 * in2, slab = r1 * in2;
    const int32_t tap0 = 0;
    const float *img = a->x + n * p->x.stride_n + lo * p->x.stride_sp[1];
    for (int64_t rb0 = 0; rb0 < rows; rb0 += g->row_block) {
        const int64_t rb1 = rows - rb0 < g->row_block ? rows : rb0 + g->row_block;
        const int64_t tiles = (rb1 - rb0 + mr - 1) / mr;
        for (int64_t ti = 0; ti < tiles; ti++) {
            const int64_t row0 = rb0 + ti * mr;
            const int64_t m = rb1 - row0 < mr ? rb1 - row0 : mr;
            const float **ap = aptr + ti * mr;
            for (int rr = 0; rr < mr; rr++) cptr[ti * mr + rr] = col + (row0 + rr) * g->ldc;
            if (m == mr && row0 / slab == (row0 + mr - 1) / slab) {
                const int64_t i0 = row0 / slab, i12 = row0 % slab;
                ap[0] = img + i0 * p->x.stride_sp[0] + (i12 / in2) * p->x.stride_sp[1] +
                        (i12 % in2) * p->x.stride_sp[2];
                astride[ti] = p->x.stride_sp[2];
                continue;
            }
            for (int rr = 0; rr < mr; rr++) {
                const int64_t row = row0 + (rr < m ? rr : 0); /* rows past m: read, never stored */
                const int64_t i0 = row / slab, i12 = row % slab;
                ap[rr] = img + i0 * p->x.stride_sp[0] + (i12 / in2) * p->x.stride_sp[1] +
                         (i12 % in2) * p->x.stride_sp[2];
            }
            astride[ti] = 0;
        }
        for (int64_t nt = 0; nt < g->ntiles; nt++) {
            for (int64_t c0 = 0; c0 < p->cin_g; c0 += g->kc) {
                dc_ukr_args ua;
                ua.tap = &tap0;
                ua.b = b + nt * p->cin_g * NR + c0 * NR;
                ua.btaps = 1;
                ua.a_off = c0;
                ua.c_off = nt * NR;
                ua.kc = p->cin_g - c0 < g->kc ? p->cin_g - c0 : g->kc;
                ua.ntaps = 1;
                ua.nr = (int32_t)NR;
                ua.first = c0 == 0;
                ua.c_stride = 0;
                ua.pf = NULL, ua.pf_lines = 0;
                ua.zl = ua.zr = 0;
                for (int64_t ti = 0; ti < tiles; ti++) {
                    const int64_t left = rb1 - rb0 - ti * mr;
                    ua.a = aptr + ti * mr;
                    ua.a_stride = astride[ti];
                    ua.c = cptr + ti * mr;
                    ua.mr = (int32_t)(left < mr ? left : mr);
                    g->uk.fn(&ua);
                }
            }
        }
    }
}

/* Kernel positions of dim j that reach output residue r, with their input offsets: output
 * o = r + q * s reads input q + off. Returns the count. */
static int dim_list(const dc_conv_problem *p, int j, int64_t r, int64_t *as, int64_t *offs) {
    int n = 0;
    for (int64_t a = 0; a < p->k[j]; a++) {
        const int64_t t = r + p->pb[j] - a * p->d[j];
        if (t % p->s[j] != 0) continue;
        as[n] = a;
        offs[n] = t / p->s[j];
        n++;
    }
    return n;
}

/* Output rows [oa, ob) of dim 1 of image n from the column rows of input rows [lo, hi].
 * Each output row is zeroed, then every tap adds its shifted plane of column entries, taps
 * in kernel order, so every output element is the sum of its taps in that order. */
static void gather(const colgeo *g, const dc_conv_args *a, const float *col, int64_t n,
                   int64_t oa, int64_t ob, int64_t lo, int64_t hi) {
    const dc_conv_problem *p = g->p;
    int64_t as[3][COL_MAX_S][COL_MAX_K], offs[3][COL_MAX_S][COL_MAX_K];
    int cnt[3][COL_MAX_S];
    for (int j = 0; j < 3; j++)
        for (int64_t r = 0; r < p->s[j]; r++) cnt[j][r] = dim_list(p, j, r, as[j][r], offs[j][r]);
    const int64_t cout = p->cout_g, r1 = hi >= lo ? hi - lo + 1 : 0, in2 = p->x.sp[2];
    const int64_t out2 = p->y.sp[2], s2 = p->s[2], ldc = g->ldc;
    const int64_t k12 = p->k[1] * p->k[2];
    const float *bias = a->bias;
    const int act = p->activation != DECONV_ACTIVATION_NONE;
    for (int64_t o0 = 0; o0 < p->y.sp[0]; o0++) {
        const int64_t rr0 = o0 % p->s[0], q0 = o0 / p->s[0];
        for (int64_t o1 = oa; o1 < ob; o1++) {
            const int64_t rr1 = o1 % p->s[1], q1 = o1 / p->s[1];
            float *y = a->y + n * p->y.stride_n + o0 * p->y.stride_sp[0] +
                       o1 * p->y.stride_sp[1];
            const int64_t ys = p->y.stride_sp[2];
            /* channels-last, one group: the row is out2 * cout contiguous floats */
            memset(y, 0, (size_t)(out2 * cout) * sizeof(float));
            for (int t0 = 0; t0 < cnt[0][rr0]; t0++) {
                const int64_t i0 = q0 + offs[0][rr0][t0];
                if ((uint64_t)i0 >= (uint64_t)p->x.sp[0]) continue;
                for (int t1 = 0; t1 < cnt[1][rr1]; t1++) {
                    const int64_t i1 = q1 + offs[1][rr1][t1] - lo;
                    if ((uint64_t)i1 >= (uint64_t)r1) continue;
                    const float *crow = col + (i0 * r1 + i1) * in2 * ldc;
                    const int64_t tbase = as[0][rr0][t0] * k12 + as[1][rr1][t1] * p->k[2];
                    for (int64_t rr2 = 0; rr2 < s2 && rr2 < out2; rr2++) {
                        const int64_t nq = (out2 - rr2 + s2 - 1) / s2;
                        for (int t2 = 0; t2 < cnt[2][rr2]; t2++) {
                            const int64_t off = offs[2][rr2][t2];
                            /* q in [qa, qb): output rr2 + q * s2 and input q + off exist */
                            const int64_t qa = off < 0 ? -off : 0;
                            const int64_t qb = in2 - off < nq ? in2 - off : nq;
                            const float *c = crow + (tbase + as[2][rr2][t2]) * cout + off * ldc;
                            float *yo = y + rr2 * ys;
                            const int64_t ystep = s2 * ys;
                            if (cout == 1) {
                                for (int64_t q = qa; q < qb; q++) yo[q * ystep] += c[q * ldc];
                            } else if (cout == 3) {
                                for (int64_t q = qa; q < qb; q++) {
                                    yo[q * ystep] += c[q * ldc];
                                    yo[q * ystep + 1] += c[q * ldc + 1];
                                    yo[q * ystep + 2] += c[q * ldc + 2];
                                }
                            } else {
                                for (int64_t q = qa; q < qb; q++)
                                    for (int64_t co = 0; co < cout; co++)
                                        yo[q * ystep + co] += c[q * ldc + co];
                            }
                        }
                    }
                }
            }
            if (bias || act)
                for (int64_t o2 = 0; o2 < out2; o2++)
                    for (int64_t co = 0; co < cout; co++) {
                        float *v = &y[o2 * ys + co];
                        if (act)
                            *v = dc_activate(p, bias ? *v + bias[co] : *v);
                        else
                            *v += bias[co];
                    }
        }
    }
}

void dc_fast_col_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                     const dc_ukr *uk, const float *packed_b) {
    const dc_conv_problem *p = a->p;
    colgeo g;
    colgeo_init(p, uk, packed_b != NULL, &g);
    char *base = (char *)(((uintptr_t)a->workspace + 63) & ~(uintptr_t)63);
    char *ws = base + (size_t)thread * g.slice;
    float *col = (float *)(ws + g.off_col);
    const float **aptr = (const float **)(ws + g.off_a);
    float **cptr = (float **)(ws + g.off_c);
    int64_t *astride = (int64_t *)(ws + g.off_s);
    if (g.small) begin = 0, end = g.units;
    const float *b = packed_b;
    if (!b && begin < end) {
        /* The whole packed filter is small (cin x taps*cout): once per call and thread. */
        dc_fast_col_pack_b(p, uk, a->w, (float *)(ws + g.off_b));
        b = (const float *)(ws + g.off_b);
    }
    for (int64_t u = begin; u < end; u++) {
        const int64_t n = u / g.nbands, bi = u % g.nbands;
        const int64_t oa = bi * g.band;
        const int64_t ob = oa + g.band < p->y.sp[1] ? oa + g.band : p->y.sp[1];
        int64_t lo, hi;
        band_inputs(p, oa, ob, &lo, &hi);
        if (lo <= hi) columns(&g, a, b, n, lo, hi, col, aptr, cptr, astride);
        gather(&g, a, col, n, oa, ob, lo, hi);
    }
}

void dc_fast_col_sizes(const dc_conv_problem *p, const dc_ukr *uk, int packed,
                       int32_t num_threads, int64_t *units, size_t *workspace_bytes,
                       int64_t *packed_floats) {
    colgeo g;
    colgeo_init(p, uk, packed, &g);
    if (num_threads < 1) num_threads = 1;
    *units = g.small ? 1 : g.units;
    *workspace_bytes = g.slice * (size_t)num_threads + 64;
    *packed_floats = g.ntiles * p->cin_g * uk->nr;
}
