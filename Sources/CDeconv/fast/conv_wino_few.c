/* fast/conv_wino_few.c - Winograd for transposed convs with 3 output channels and 5 x 5
 * kernels at stride 2 (dcgan4: a DCGAN generator's RGB output layer), 2-D, channels-last,
 * at the AVX-512 level.
 *
 * conv_wino.c runs Winograd as GEMMs over output channels, which 3 channels cannot fill;
 * conv_planes.c makes every product of such a layer (100 per 2 x 2 tile of each of the 4
 * phases, output channel and input channel) at about 85% of the FMA peak. Here a tile's 4
 * phases take 49: along each dim the phase with 3 taps runs F(2, 3) and the one with 2 taps
 * F(2, 2), and both read one window of 4 inputs per tile (the 2-tap window starts 0 or 1
 * later), so a dim has 7 transformed rows (wino_xform.h's B^T rows), a tile 7 x 7 points.
 * The vectors run along 16 tiles of a row. Each input row is transposed once per unit, per
 * channel, into lanes of its even and of its odd columns with zero lanes around them (a ring
 * of 4 rows), so a tile's 4 inputs are loads at lane offsets of -1 to 2. The kernel makes 7
 * passes per block of 16 tiles, one per dim-1 row: it combines 2 input rows (the transform
 * is linear), runs the dim-2 transform in registers and keeps 7 points x 3 channels of M in
 * registers over all input channels; nothing is stored between the transforms and the
 * products. Measured in BENCHMARKS.md.
 *
 * Exactness is handled as in conv_wino.c: a unit whose input rows hold a value that is not
 * finite or above WF_XMAX runs the reference from its first tile row with such a value (the
 * transforms would turn an inf output into NaN, or overflow where the direct sum does not),
 * and a filter with a weight above 2^40 runs the reference whole. Rounding differs from a
 * direct sum by a few units in the last place of the largest partial sums, as conv_wino's.
 *
 * Work units are (image, band of tile rows); every output is one fixed sum whatever the band
 * or thread, so the thread count changes no bit. */
#include "fast/fast.h"

#include <math.h>
#include <string.h>

#define WF_NC 3                          /* output channels */
#define WF_MIN_CIN 32
#define WF_MAX_CIN 4096
#define WF_XMAX 1099511627776.0f         /* 2^40, as conv_wino.c (and its filter transform's
                                          * bound on the weights) */
#define WF_MIN_UNITS 4                   /* small batches are split into bands of tile rows */
#define WF_U_FLOATS(cin) (7 * (cin) * 7 * WF_NC)
#define WF_M_FLOATS (7 * 7 * WF_NC * 16)

/* Along one dim: the 3-tap phase and the 2-tap phase, their kernel positions by input
 * offset (ascending), the 3-tap window's first offset and the 2-tap window's shift. */
typedef struct wfdim {
    int64_t r[2];     /* phase of type 0 (3 taps) and 1 (2 taps) */
    int64_t a3[3], a2[2];
    int64_t o3, delta;
    int64_t nq[2];    /* positions of each type's phase */
    int64_t tiles;    /* 2 positions per tile */
} wfdim;

typedef struct wfgeo {
    wfdim d[2];       /* dims 1 and 2 of the problem */
    int64_t H, W, cin;
    int64_t nb;       /* blocks of 16 tiles along a row */
    int64_t nbw[2];   /* blocks of 16 columns of each parity that the row holds */
    int64_t half, rs; /* floats per channel: one parity's lanes and a block of zeros after
                       * them (lane -1 is the zero before: the last of the zeros of the
                       * previous parity or channel, or of the slot's first block), and
                       * both */
    int64_t doff[4];  /* tile l's window input j: lane l at a channel's row + doff[j] */
    int64_t band, nbands, units;
    size_t off_u, off_ring, off_zero, off_m, slice;
} wfgeo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

static int64_t phase_positions(const dc_conv_problem *p, int j, int64_t r) {
    const int64_t out = p->y.sp[j];
    return r < out ? (out - r + 1) / 2 : 0;
}

/* Dim j's two phases, or 0 when they are not one of 3 taps and one of 2, each at consecutive
 * offsets, with the 2-tap window inside the 3-tap one's 4 inputs. */
static int dim_init(const dc_conv_problem *p, int j, wfdim *d) {
    int64_t as[2][5], offs[2][5], n[2];
    for (int64_t r = 0; r < 2; r++) {
        n[r] = dc_fast_dim_taps(p, j, r, NULL, NULL);
        if (n[r] < 2 || n[r] > 3) return 0;
        dc_fast_dim_taps(p, j, r, as[r], offs[r]);
    }
    if (n[0] + n[1] != 5) return 0;
    for (int64_t r = 0; r < 2; r++) {
        const int type = n[r] == 3 ? 0 : 1;
        d->r[type] = r;
        int64_t lo = offs[r][0];
        for (int64_t t = 1; t < n[r]; t++) lo = offs[r][t] < lo ? offs[r][t] : lo;
        int64_t *a = type == 0 ? d->a3 : d->a2;
        int64_t seen = 0;
        for (int64_t t = 0; t < n[r]; t++) {
            const int64_t k = offs[r][t] - lo;
            if (k < 0 || k >= n[r] || (seen >> k & 1)) return 0;
            seen |= (int64_t)1 << k;
            a[k] = as[r][t];
        }
        if (type == 0) d->o3 = lo;
        else d->delta = lo;
    }
    d->delta -= d->o3;
    if (d->delta < 0 || d->delta > 1) return 0;
    d->nq[0] = phase_positions(p, j, d->r[0]);
    d->nq[1] = phase_positions(p, j, d->r[1]);
    const int64_t nq = d->nq[0] > d->nq[1] ? d->nq[0] : d->nq[1];
    d->tiles = (nq + 1) / 2;
    return 1;
}

static int geo_init(const dc_conv_problem *p, int packed, wfgeo *g) {
    if (!dim_init(p, 1, &g->d[0]) || !dim_init(p, 2, &g->d[1])) return 0;
    g->H = p->x.sp[1];
    g->W = p->x.sp[2];
    g->cin = p->cin_g;
    g->nb = (g->d[1].tiles + 15) / 16;
    g->nbw[0] = (g->W + 31) / 32;
    g->nbw[1] = (g->W + 30) / 32;
    g->half = 16 * ((g->nb > g->nbw[0] ? g->nb : g->nbw[0]) + 1);
    g->rs = 2 * g->half;
    for (int j = 0; j < 4; j++) { /* column o3 + j + 2 l: parity and lane shift */
        const int64_t col = g->d[1].o3 + j, sh = dc_ceil_div(col - 1, 2); /* floor(col / 2) */
        g->doff[j] = (col - 2 * sh) * g->half + sh;
    }
    const int64_t t1 = g->d[0].tiles;
    int64_t nb = p->y.n >= WF_MIN_UNITS ? 1 : (WF_MIN_UNITS + p->y.n - 1) / p->y.n;
    if (nb > t1) nb = t1;
    g->band = (t1 + nb - 1) / nb;
    g->nbands = (t1 + g->band - 1) / g->band;
    g->units = p->y.n * g->nbands;
    size_t off = 0;
    g->off_u = off;
    if (!packed) off += round64((size_t)WF_U_FLOATS(g->cin) * sizeof(float));
    g->off_ring = off;
    off += 4 * round64((size_t)(16 + g->cin * g->rs) * sizeof(float));
    g->off_zero = off;
    off += round64((size_t)(16 + g->cin * g->rs) * sizeof(float));
    g->off_m = off;
    off += round64((size_t)WF_M_FLOATS * sizeof(float));
    g->slice = off;
    return 1;
}

int dc_fast_wino_few_claims(const dc_conv_problem *p) {
    if (!p->transposed || p->layout != DECONV_CHANNELS_LAST || p->groups != 1) return 0;
    if (p->cout_g != WF_NC || p->cin_g < WF_MIN_CIN || p->cin_g > WF_MAX_CIN ||
        p->cin_g % 16 != 0)
        return 0;
    /* 2-D: dim 0 is one position that reads input 0 */
    int64_t as0[1], offs0[1];
    if (p->k[0] != 1 || p->x.sp[0] != 1 || p->y.sp[0] != 1) return 0;
    if (dc_fast_dim_taps(p, 0, 0, as0, offs0) != 1 || offs0[0] != 0) return 0;
    for (int j = 1; j < 3; j++)
        if (p->k[j] != 5 || p->s[j] != 2 || p->d[j] != 1) return 0;
    /* pixels of cin floats back to back, outputs of 3 */
    if (p->x.stride_sp[2] != p->cin_g || p->x.stride_sp[1] != p->x.sp[2] * p->cin_g) return 0;
    if (p->y.stride_sp[2] != WF_NC || p->y.stride_c != 1) return 0;
    wfgeo g;
    if (!geo_init(p, 1, &g)) return 0;
    /* windows from 2 columns left of a tile's first position to 5 right of it: lane shifts of
     * -1 to 2, inside the zero blocks around a row */
    if (g.d[1].o3 < -2 || g.d[1].o3 > 2) return 0;
    /* lanes: at least 3 in 4 of the blocks' 16 hold a tile */
    return 4 * g.d[1].tiles >= 3 * 16 * g.nb;
}

void dc_fast_wino_few_sizes(const dc_conv_problem *p, int packed, int32_t num_threads,
                            int64_t *units, size_t *workspace_bytes, int64_t *packed_floats) {
    wfgeo g;
    geo_init(p, packed, &g);
    if (num_threads < 1) num_threads = 1;
    *units = g.units;
    *workspace_bytes = g.slice * (size_t)num_threads + 64;
    /* U, a flag (1: a weight too large, the reference runs), the raw filter */
    *packed_floats = WF_U_FLOATS(g.cin) + 16 + p->w_count;
}

#define WF_PACK_CB 32 /* channels per call of the filter transform */

/* conv_wino.c's filter transforms (adds only: the same bits at every level). */
static const dc_wino_xf *few_xf(void) {
#if defined(__x86_64__) || defined(__i386__)
    return &DC_WINO_XF_AVX512;
#else
    return &DC_WINO_XF_PORTABLE;
#endif
}

/* U[pass][c][j][co] = G1 g G2^T of each phase pair (wino_xform.h's filter transform: pass and
 * j count F(2, 3)'s 4 rows, then F(2, 2)'s 3), a block of channels at a time. Returns 0 when
 * a weight is not finite or above 2^40 (U is then unused). */
static int pack_u(const dc_conv_problem *p, const wfgeo *g, const float *w, float *u) {
    const int64_t cin = g->cin;
    const dc_wino_xf *xf = few_xf();
    int ok = 1;
    float t[16][WF_PACK_CB];
    float *tp[16];
    for (int i = 0; i < 16; i++) tp[i] = t[i];
    for (int64_t c0 = 0; c0 < cin; c0 += WF_PACK_CB) {
        const int64_t n = cin - c0 < WF_PACK_CB ? cin - c0 : WF_PACK_CB;
        for (int A = 0; A < 2; A++)     /* dim-1 type: 3 taps, then 2 */
            for (int B = 0; B < 2; B++) /* dim-2 type */
                for (int64_t co = 0; co < WF_NC; co++) {
                    const int n1 = A ? 2 : 3, n2 = B ? 2 : 3;
                    const int64_t *k1 = A ? g->d[0].a2 : g->d[0].a3;
                    const int64_t *k2 = B ? g->d[1].a2 : g->d[1].a3;
                    const float *taps[9];
                    for (int t1 = 0; t1 < n1; t1++)
                        for (int t2 = 0; t2 < n2; t2++)
                            taps[n2 * t1 + t2] = w + k1[t1] * p->w_stride_k[1] +
                                                 k2[t2] * p->w_stride_k[2] + co * cin + c0;
                    ok &= xf->u(taps, n1, n2, n, tp);
                    for (int i = 0; i <= n1; i++)
                        for (int j = 0; j <= n2; j++) {
                            float *d = u + ((int64_t)(A ? 4 + i : i) * cin + c0) * 7 * WF_NC +
                                       (B ? 4 + j : j) * WF_NC + co;
                            const float *v = t[(n2 + 1) * i + j];
                            for (int64_t c = 0; c < n; c++) d[c * 7 * WF_NC] = v[c];
                        }
                }
    }
    return ok;
}

void dc_fast_wino_few_pack_b(const dc_conv_problem *p, const float *w, float *dst) {
    wfgeo g;
    geo_init(p, 1, &g);
    const int64_t nu = WF_U_FLOATS(g.cin);
    dst[nu] = pack_u(p, &g, w, dst) ? 0.0f : 1.0f;
    memcpy(dst + nu + 16, w, (size_t)p->w_count * sizeof(float));
}

#if defined(__x86_64__) || defined(__i386__)
/* Output rows [oa, ob) of image n by the reference (its units: pixels x channels, channels
 * innermost), bias and activation included. */
static void reference_rows(const dc_conv_args *a, const float *w, int64_t n, int64_t oa,
                           int64_t ob) {
    const dc_conv_problem *p = a->p;
    if (oa >= ob) return;
    dc_conv_plan ref;
    dc_ref_conv_transpose_plan(p, &ref);
    dc_conv_args ra = *a;
    ra.w = w;
    const int64_t row = p->y.sp[2] * p->y.c;
    ref.run(&ra, (n * p->y.sp[1] + oa) * row, (n * p->y.sp[1] + ob) * row, 0);
}

/* The dim-1 passes (fast.h, dc_wino_few_args): F(2, 3)'s rows over the window's 4 input
 * rows, then F(2, 2)'s over the 3 from delta on. */
static void make_passes(int64_t delta, signed char pass[7][3]) {
    static const signed char f3[4][3] = {{0, 2, -1}, {1, 2, 1}, {2, 1, -1}, {1, 3, -1}};
    memcpy(pass, f3, sizeof f3);
    const signed char d = (signed char)delta;
    const signed char f2[3][3] = {{d, (signed char)(d + 1), -1},
                                  {(signed char)(d + 1), 0, 0},
                                  {(signed char)(d + 2), (signed char)(d + 1), -1}};
    memcpy(pass[4], f2, sizeof f2);
}

/* Transposes input row `row` of image x into slot s (dc_wino_few_row; lane 0 after the
 * slot's zero block). Returns 0 when a value is not finite or above WF_XMAX. */
static int fill_row(const wfgeo *g, const float *ximg, int64_t row, float *s) {
    dc_wino_few_row r;
    r.x = ximg + row * g->W * g->cin;
    r.d = s;
    r.w = g->W;
    r.cin = g->cin;
    r.row_stride = g->rs;
    r.half_stride = g->half;
    r.xmax = WF_XMAX;
    return dc_wino_few_row_avx512(&r);
}

/* The lanes of a slot (s: lane 0 of channel 0) that fill_row never writes: zeros, for the
 * windows past the row, and the block before. */
static void zero_margins(const wfgeo *g, float *s) {
    memset(s - 16, 0, 16 * sizeof(float));
    for (int64_t c = 0; c < g->cin; c++)
        for (int64_t par = 0; par < 2; par++) {
            float *h = s + c * g->rs + par * g->half;
            const int64_t w = 16 * g->nbw[par];
            memset(h + w, 0, (size_t)(g->half - w) * sizeof(float));
        }
}

void dc_fast_wino_few_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                          const float *packed_b) {
    const dc_conv_problem *p = a->p;
    wfgeo g;
    geo_init(p, packed_b != NULL, &g);
    if (begin >= end) return;
    char *base = (char *)(((uintptr_t)a->workspace + 63) & ~(uintptr_t)63);
    char *ws = base + (size_t)thread * g.slice;
    const int64_t nu = WF_U_FLOATS(g.cin);
    const float *u = packed_b, *raw = packed_b ? packed_b + nu + 16 : a->w;
    int wok;
    if (packed_b)
        wok = packed_b[nu] == 0.0f;
    else {
        float *uw = (float *)(ws + g.off_u);
        wok = pack_u(p, &g, a->w, uw);
        u = uw;
    }
    const int64_t OH = p->y.sp[1];
    if (!wok) { /* a weight too large for the transforms: the reference, whole */
        for (int64_t un = begin; un < end; un++) {
            const int64_t n = un / g.nbands, ta = (un % g.nbands) * g.band;
            const int64_t tb = ta + g.band < g.d[0].tiles ? ta + g.band : g.d[0].tiles;
            reference_rows(a, raw, n, 4 * ta, 4 * tb < OH ? 4 * tb : OH);
        }
        return;
    }
    float *ring = (float *)(ws + g.off_ring), *zero = (float *)(ws + g.off_zero);
    /* each slot: a block of zeros, then lane 0 of channel 0 */
    const size_t slot = round64((size_t)(16 + g.cin * g.rs) * sizeof(float)) / sizeof(float);
    memset(zero, 0, (size_t)(16 + g.cin * g.rs) * sizeof(float));
    zero += 16;
    ring += 16;
    for (int i = 0; i < 4; i++) zero_margins(&g, ring + (size_t)i * slot);
    signed char pass[7][3];
    make_passes(g.d[0].delta, pass);
    dc_wino_few_args ka;
    ka.row_stride = g.rs;
    for (int j = 0; j < 4; j++) ka.doff[j] = g.doff[j];
    ka.cin = g.cin;
    ka.u = u;
    ka.pass = (const signed char(*)[3])pass;
    ka.delta2 = (int)g.d[1].delta;
    ka.m = (float *)(ws + g.off_m);
    dc_wino_few_out oa;
    oa.m = ka.m;
    oa.y_row = p->y.stride_sp[1];
    oa.ow = p->y.sp[2];
    for (int j = 0; j < 2; j++)
        for (int t = 0; t < 2; t++) oa.r[j][t] = g.d[j].r[t], oa.nq[j][t] = g.d[j].nq[t];
    const int epilogue = a->bias || p->activation != DECONV_ACTIVATION_NONE;
    for (int64_t un = begin; un < end; un++) {
        const int64_t n = un / g.nbands, ta = (un % g.nbands) * g.band;
        const int64_t tb = ta + g.band < g.d[0].tiles ? ta + g.band : g.d[0].tiles;
        const float *ximg = a->x + n * p->x.stride_n;
        oa.y = a->y + n * p->y.stride_n;
        int64_t held[4] = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN}; /* each slot's row */
        int64_t t = ta;
        for (; t < tb; t++) {
            int ok = 1;
            for (int i = 0; i < 4; i++) {
                const int64_t row = 2 * t + g.d[0].o3 + i;
                if (row < 0 || row >= g.H) {
                    ka.rows[i] = zero;
                    continue;
                }
                float *s = ring + (size_t)(row & 3) * slot;
                if (held[row & 3] != row) {
                    held[row & 3] = INT64_MIN; /* a bad row is not kept */
                    if (!fill_row(&g, ximg, row, s)) ok = 0;
                    else held[row & 3] = row;
                }
                ka.rows[i] = s;
            }
            if (!ok) break;
            /* the next tile row's two new input rows, asked for into L2 while this one
             * computes, spread over its blocks' passes (a row is read in 16-pixel strides,
             * too scattered for the hardware prefetcher) */
            int64_t pa = 2 * t + g.d[0].o3 + 4, pb = pa + 2;
            pa = pa < 0 ? 0 : pa;
            pb = pb > g.H ? g.H : pb;
            const int64_t lines = t + 1 < tb && pb > pa ? (pb - pa) * g.W * g.cin / 16 : 0;
            const int64_t per = (lines + g.nb - 1) / g.nb;
            const char *pf = lines ? (const char *)(ximg + pa * g.W * g.cin) : NULL;
            oa.q1 = 2 * t;
            for (int64_t b = 0; b < g.nb; b++) {
                dc_wino_few_args kb = ka;
                for (int i = 0; i < 4; i++) kb.rows[i] = ka.rows[i] + 16 * b;
                kb.pf_lines = lines - per * b < per ? lines - per * b : per;
                kb.pf = kb.pf_lines > 0 ? pf + 64 * per * b : NULL;
                dc_wino_few_block_avx512(&kb);
                oa.q2 = 32 * b;
                dc_wino_few_out_avx512(&oa);
            }
        }
        const int64_t ob = 4 * t < OH ? 4 * t : OH;
        /* from a tile row whose inputs the transforms must not take: the reference */
        if (t < tb) reference_rows(a, raw, n, ob, 4 * tb < OH ? 4 * tb : OH);
        if (!epilogue) continue;
        for (int64_t o1 = 4 * ta; o1 < ob; o1++) {
            float *v = oa.y + o1 * p->y.stride_sp[1];
            for (int64_t i = 0; i < p->y.sp[2] * WF_NC; i++) {
                const float bv = a->bias ? a->bias[i % WF_NC] : 0.0f;
                v[i] = p->activation != DECONV_ACTIVATION_NONE
                           ? dc_activate(p, a->bias ? v[i] + bv : v[i])
                           : v[i] + bv;
            }
        }
    }
}
#else
void dc_fast_wino_few_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                          const float *packed_b) {
    /* never planned: only the AVX-512 level claims problems for this driver */
    (void)a, (void)begin, (void)end, (void)thread, (void)packed_b;
}
#endif
