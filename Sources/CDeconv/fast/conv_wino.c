/* fast/conv_wino.c - Winograd convolution for 2-D convs and transposed convs with many
 * channels, channels-last: vgg3x3 (3 x 3 at stride 1), down_s2 (3 x 3 at stride 2), lenet_c2
 * (5 x 5), and transposed convs by sub-pixel phase (dcgan's 5 x 5 and fcn_k4's 4 x 4 at
 * stride 2).
 *
 * Along each dim an output phase (the only one of a conv) is a sum of parts, each a dense
 * correlation of at most 3 taps: y[q] += sum over t < nt of x[s * (q + base + t) + p] * g[t].
 * A transposed conv's phase is one part (s = 1), or parts of 3 when it has more taps. A conv
 * at stride s has a part per input phase p (the taps k with k - pad = p mod s); a kernel
 * longer than 3 along a dim is cut into parts of 3 (lenet_c2's 5 taps: 3 + 2). Winograd
 * F(2, nt) computes a tile of 2 outputs of a part from alpha = nt + 1 inputs with alpha
 * multiplications (F(2, 3): 4 instead of 6; F(2, 2): 3 instead of 4; nt = 1 runs as alpha 2,
 * no saving). In 2-D, with V = B^T d B per
 * input channel (adds only, wino_xform.h), U = G g G^T per filter pair (packed once, or per
 * call and thread on the stateless path) and y = A^T M A, a part's 4 * nt1 * nt2
 * multiply-adds per tile and input channel become the alpha1 * alpha2 of
 * M[xi] = sum over ci of V[xi][ci] * U[xi][ci][co]: that many independent GEMMs (rows: image
 * x tile, columns: output channels, reduction: input channels) on the level's GEMM
 * micro-kernel. The parts of a phase share their points (merge_points): each point's GEMM
 * runs over all the parts' input channels at once, and one output transform gives the
 * phase's outputs. Multiply-adds: vgg3x3 2.25x fewer, lenet_c2 2.04x, dcgan's four phases
 * 100 -> 49 per 4 tiles, fcn_k4 1.78x, down_s2 1.44x. Rounding differs from a direct sum by
 * a few units in the last place of the largest partial sums (the tests hold it to 2e-6 of
 * the largest output), as with TF's own Winograd convolutions on GPUs.
 *
 * Where the transforms could change a result beyond rounding, a tile is summed directly
 * instead: when any value of its input patches is not finite (inf - inf in V would turn an
 * inf output into NaN) or above WINO_XMAX in magnitude (so no sum of the transforms can
 * overflow where the direct sum does not), and every tile of a phase with a weight above
 * WINO_WMAX. Direct tiles sum in double, padding taps left out, as the reference.
 *
 * A phase's GEMM rows are its (image, tile) pairs, image-major, so few tiles per image still
 * make long GEMMs for each packed U panel. Work units are (phase, block of rows). A tile's
 * values do not depend on the block it falls in (each GEMM row is its own sum), so neither
 * the thread count nor the split changes a bit. */
#include "fast/fast.h"

#include <math.h>
#include <string.h>

#define WINO_MIN_CH 32                   /* fewer channels: the transforms cost too much */
#define WINO_PARTS_MIN_CH 64             /* the same for parts saving less (see claims) */
#define WINO_MAX_S 8                     /* strides (phases per dim) */
#define WINO_MAX_PARTS 8                 /* parts per dim and phase */
#define WINO_MAX_COMBOS 64               /* 2-D parts over all phases */
#define WINO_MAX_K 24                    /* kernel extent per dim */
#define WINO_V_BUDGET 98304              /* floats of transformed input per unit (384 KiB) */
#define WINO_PARTS_V_BUDGET 32768        /* the same where a phase has several parts */
#define WINO_XMAX 1099511627776.0f       /* 2^40: inputs above go to the direct tiles */
#define WINO_WMAX 1099511627776.0f       /* 2^40: weights above send a phase there */
#define WINO_HDR WINO_MAX_COMBOS         /* packed: a header, a weight flag per 2-D part */
#define WINO_SMALL_MACS 200000
#define WINO_MIN_ROWS 128                /* GEMM rows (image, tile) per phase, at least */
#define WINO_TMP DC_WINO_PACK_TMP        /* pack_u's scratch: [tap][16 ci][16 co] */

/* One part along a dim: nt taps; tile input i of output q is x[s * (q + base + i) + p]. Its
 * point i is the phase's point gmap[i], its A^T column times gsign[i] (see merge_points). */
typedef struct wpart {
    int64_t nt, alpha, base, s, p;
    int64_t k[3]; /* kernel index of tap t */
    int gmap[4], gsign[4];
} wpart;

/* One output phase along a dim: nq outputs (2 per tile), its parts, and galpha: the points
 * its parts' products are summed at (the most any part has). */
typedef struct wdphase {
    int64_t nq, tiles, nparts, galpha;
    wpart part[WINO_MAX_PARTS];
} wdphase;

/* A 2-D phase's products merged by point: the ga1 x ga2 points, cnt[xi] 2-D parts summed at
 * point xi (pre: the counts before it), and each part's point j at point gpt[c][j], as the
 * seg[c][j]-th of the parts there, its U negated when sgn[c][j] < 0. */
typedef struct wmap {
    int ga1, ga2, ga;
    int64_t cnt[16], pre[17];
    signed char gpt[WINO_MAX_COMBOS][16], seg[WINO_MAX_COMBOS][16], sgn[WINO_MAX_COMBOS][16];
} wmap;

typedef struct wgeo {
    const dc_conv_problem *p;
    dc_ukr uk;
    int64_t nph[2];                      /* phases of dims 1 and 2 */
    wdphase ph[2][WINO_MAX_S];
    int64_t nphase, units;               /* phases; units, phase-major */
    int64_t tb[WINO_MAX_S * WINO_MAX_S];     /* a phase's GEMM rows per unit */
    int64_t unit0[WINO_MAX_S * WINO_MAX_S + 1]; /* a phase's first unit */
    int64_t vm_max, m_max, tb_max;       /* the most products x rows, points x rows, rows */
    int64_t combo0[WINO_MAX_S * WINO_MAX_S + 1]; /* a phase's first 2-D part (flat index) */
    int64_t u_off[WINO_MAX_S * WINO_MAX_S], u_floats; /* packed U of each phase, in all */
    int64_t u_phase_max;                         /* the most U floats of one phase */
    int64_t npanel;                      /* NR-wide panels of output channels */
    int small;
    size_t off_u, off_t, off_v, off_m, off_f, off_z, slice;
} wgeo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

/* Adds the taps (kernel index k[t], tile offset m[t], ascending and consecutive) of one input
 * phase p at input stride s to f as parts of at most 3 taps; 0 when they do not fit. */
static int add_parts(wdphase *f, const int64_t *k, const int64_t *m, int64_t n, int64_t s,
                     int64_t p) {
    for (int64_t t0 = 0; t0 < n; t0 += 3) {
        if (f->nparts == WINO_MAX_PARTS) return 0;
        wpart *w = &f->part[f->nparts++];
        w->nt = n - t0 < 3 ? n - t0 : 3;
        w->alpha = w->nt == 1 ? 2 : w->nt + 1;
        w->base = m[t0];
        w->s = s;
        w->p = p;
        for (int64_t t = 0; t < w->nt; t++) {
            if (m[t0 + t] != w->base + t) return 0; /* not consecutive (dilation) */
            w->k[t] = k[t0 + t];
        }
    }
    return 1;
}

/* The parts of one dim's phase share its output's points: A^T's columns are (1, 0), (1, 1),
 * (0, 1) for alpha 3 and (1, 0), (1, 1), (1, -1), (0, -1) for alpha 4 (wino_xform.h), and
 * alpha 2's (1, 0), (0, 1) are among both. So the parts' products at a shared point are
 * summed in one GEMM (their reductions laid end to end), and one output transform serves
 * them all: y = A^T (sum over parts of M) A. A column equal to minus one of galpha's takes
 * U negated (exact). */
static void merge_points(wdphase *f) {
    f->galpha = 0;
    for (int64_t i = 0; i < f->nparts; i++)
        if (f->part[i].alpha > f->galpha) f->galpha = f->part[i].alpha;
    for (int64_t i = 0; i < f->nparts; i++) {
        wpart *w = &f->part[i];
        for (int j = 0; j < 4; j++) w->gmap[j] = j, w->gsign[j] = 1;
        if (w->alpha == f->galpha) continue;
        /* (0, 1) is galpha's last column, negated at alpha 4 */
        w->gmap[w->alpha - 1] = (int)f->galpha - 1;
        w->gsign[w->alpha - 1] = f->galpha == 4 ? -1 : 1;
    }
}

/* Output phase r of dim j (1 or 2) and its parts; 0 when they do not fit. */
static int dim_phase(const dc_conv_problem *p, int j, int64_t r, wdphase *f) {
    int64_t ks[WINO_MAX_K], ms[WINO_MAX_K];
    if (p->k[j] > WINO_MAX_K) return 0;
    f->nparts = 0;
    const int64_t out = p->y.sp[j], s = p->s[j];
    if (p->transposed) {
        /* parts of at most 3 taps: input q + off for the taps of phase r (offsets fall as k
         * rises) */
        int64_t as[WINO_MAX_K], offs[WINO_MAX_K];
        const int64_t n = dc_fast_dim_taps(p, j, r, as, offs);
        for (int64_t t = 0; t < n; t++) ks[t] = as[n - 1 - t], ms[t] = offs[n - 1 - t];
        if (n < 1 || !add_parts(f, ks, ms, n, 1, 0)) return 0;
        f->nq = r < out ? (out - r + s - 1) / s : 0;
    } else {
        /* input o * s + k - pad = s * (o + m) + p: a part per input phase p */
        for (int64_t ph = 0; ph < s; ph++) {
            int64_t n = 0;
            for (int64_t k = 0; k < p->k[j]; k++) {
                const int64_t v = k - p->pb[j], pp = ((v % s) + s) % s;
                if (pp != ph) continue;
                ks[n] = k;
                ms[n++] = (v - pp) / s;
            }
            if (n && !add_parts(f, ks, ms, n, s, ph)) return 0;
        }
        if (f->nparts == 0) return 0;
        f->nq = out;
    }
    f->tiles = (f->nq + 1) / 2;
    merge_points(f);
    return 1;
}

/* Phases and parts of both dims; 0 when they do not fit. */
static int phases(const dc_conv_problem *p, wgeo *g) {
    for (int j = 0; j < 2; j++) {
        const int64_t n = p->transposed ? p->s[1 + j] : 1;
        if (n > WINO_MAX_S) return 0;
        g->nph[j] = n;
        for (int64_t r = 0; r < n; r++)
            if (!dim_phase(p, 1 + j, r, &g->ph[j][r])) return 0;
    }
    g->nphase = g->nph[0] * g->nph[1];
    g->combo0[0] = 0;
    for (int64_t ph = 0; ph < g->nphase; ph++) {
        const int64_t c = g->ph[0][ph / g->nph[1]].nparts * g->ph[1][ph % g->nph[1]].nparts;
        if (g->combo0[ph] + c > WINO_MAX_COMBOS) return 0;
        g->combo0[ph + 1] = g->combo0[ph] + c;
    }
    return 1;
}

/* The parts of 2-D part c of phase ph. */
static void combo_parts(const wgeo *g, int64_t ph, int64_t c, const wpart **a, const wpart **b) {
    const wdphase *f1 = &g->ph[0][ph / g->nph[1]], *f2 = &g->ph[1][ph % g->nph[1]];
    *a = &f1->part[c / f2->nparts];
    *b = &f2->part[c % f2->nparts];
}

/* Phase ph's points and where each 2-D part's products go (wmap). */
static void phase_map(const wgeo *g, int64_t ph, wmap *m) {
    const wdphase *f1 = &g->ph[0][ph / g->nph[1]], *f2 = &g->ph[1][ph % g->nph[1]];
    m->ga1 = (int)f1->galpha;
    m->ga2 = (int)f2->galpha;
    m->ga = m->ga1 * m->ga2;
    memset(m->cnt, 0, sizeof m->cnt);
    for (int64_t c = 0; c < g->combo0[ph + 1] - g->combo0[ph]; c++) {
        const wpart *a, *b;
        combo_parts(g, ph, c, &a, &b);
        for (int i = 0; i < a->alpha; i++)
            for (int k = 0; k < b->alpha; k++) {
                const int j = (int)b->alpha * i + k, x = m->ga2 * a->gmap[i] + b->gmap[k];
                m->gpt[c][j] = (signed char)x;
                m->seg[c][j] = (signed char)m->cnt[x]++;
                m->sgn[c][j] = (signed char)(a->gsign[i] * b->gsign[k]);
            }
    }
    m->pre[0] = 0;
    for (int x = 0; x < m->ga; x++) m->pre[x + 1] = m->pre[x] + m->cnt[x];
}

int dc_fast_wino_claims(const dc_conv_problem *p, const dc_ukr *gemm) {
    if (p->spatial_rank != 2 || p->groups != 1 || gemm->kind != DC_UKR_GEMM) return 0;
    if (p->d[1] != 1 || p->d[2] != 1) return 0;
    if (p->cin_g < WINO_MIN_CH || p->cout_g < WINO_MIN_CH) return 0;
    wgeo g;
    if (!phases(p, &g)) return 0;
    /* worth it: the transformed products at most 3/4 of the direct ones */
    double direct = 0, wino = 0;
    for (int64_t ph = 0; ph < g.nphase; ph++) {
        for (int64_t c = 0; c < g.combo0[ph + 1] - g.combo0[ph]; c++) {
            const wpart *a, *b;
            combo_parts(&g, ph, c, &a, &b);
            direct += 4.0 * (double)(a->nt * b->nt);
            wino += (double)(a->alpha * b->alpha);
        }
        /* Enough GEMM rows per phase to reuse each packed U panel: with few, streaming U
         * (about twice the filter's size) costs more than the products saved (dcgan1, 8 x 4
         * rows: 24.4 -> 27.5 ms prepared). dcgan2 (8 x 16 rows), against the implicit GEMM,
         * medians of alternating runs: prepared 0.68x the time at 1 thread and 0.70x at 2;
         * stateless, where U is packed per call, 0.91x and 0.98x (it lost at 2 threads
         * before the units were sized by work, wgeo_init). */
        const double rows = (double)p->x.n * (double)g.ph[0][ph / g.nph[1]].tiles *
                            (double)g.ph[1][ph % g.nph[1]].tiles;
        if (rows < WINO_MIN_ROWS) return 0;
    }
    if (wino > 0.75 * direct) return 0;
    /* A single part pays off from 32 channels (3 x 3, 56 x 56: 0.60 -> 0.55 ms; 64 channels
     * 2.21 -> 1.42). Several parts share one GEMM per point and one output transform
     * (merge_points), so they pay off from 32 channels too where they save more than 45% of
     * the products. 1 thread, prepared, against the implicit GEMM, best of 7: lenet_c2
     * (5 x 5, 32 -> 64) 9.55 -> 7.82 ms, 5 x 5 at 32 -> 32 4.95 -> 4.70, 5 x 5 at stride 2
     * (64 -> 128, 32 x 32) 6.76 -> 4.49, 7 x 7 (32 -> 32) 10.1 -> 8.86; transposed, 5 x 5
     * at stride 1 (32 -> 32) 1.66 -> 1.46, 6 x 6 1.15 -> 0.99, 7 x 7 at stride 2 (64 -> 32)
     * 3.35 -> 2.99; only 8 x 8 images were level (0.175 -> 0.177). 4 x 4 kernels (36
     * products for 64) were level at 32 channels (at stride 1 1.09 -> 1.11, transposed 1.11
     * -> 1.10, at stride 2 0.59 -> 0.60) and won from 64 (1.7 against 2.07 ms; at stride 2,
     * 64 -> 128, 4.42 -> 3.35). 3 x 3 at stride 2 saves least (25 products for 36): down_s2
     * (64 -> 128) 2.54 -> 2.23, 64 -> 64 1.27 -> 1.20, 256 -> 256 on 56 x 56 8.05 -> 6.43,
     * but 32 -> 32 0.35 -> 0.41, 64 -> 32 0.66 -> 0.70 and 4 x 4 outputs (2 tiles a dim,
     * most of them on the padding) 0.28 -> 0.31. */
    const int parts = g.combo0[g.nphase] > g.nphase; /* some phase has several */
    if (parts && wino > 0.55 * direct &&
        (p->cin_g < WINO_PARTS_MIN_CH || p->cout_g < WINO_PARTS_MIN_CH))
        return 0;
    if (parts && wino > 0.6 * direct) {
        for (int64_t r = 0; r < g.nph[0]; r++)
            if (g.ph[0][r].tiles < 4) return 0;
        for (int64_t r = 0; r < g.nph[1]; r++)
            if (g.ph[1][r].tiles < 4) return 0;
    }
    /* The packed U and a unit's buffers stay far below what size_t holds. */
    const double u = 16.0 * (double)g.combo0[g.nphase] * (double)p->cin_g *
                     (double)(p->cout_g + gemm->nr);
    return u * sizeof(float) < (double)(SIZE_MAX / 8) && u < (double)((int64_t)1 << 32);
}

static void wgeo_init(const dc_conv_problem *p, const dc_ukr *uk, int packed, wgeo *g) {
    g->p = p;
    g->uk = *uk;
    phases(p, g); /* claimed: everything fits */
    const int64_t mr = uk->mr, NR = uk->nr, cin = p->cin_g;
    g->npanel = (p->cout_g + NR - 1) / NR;
    g->u_floats = g->u_phase_max = 0;
    g->vm_max = g->m_max = g->tb_max = 0;
    g->units = 0;
    for (int64_t ph = 0; ph < g->nphase; ph++) {
        /* a phase's rows: (image, tile) pairs, image-major */
        const int64_t rows =
            p->x.n * g->ph[0][ph / g->nph[1]].tiles * g->ph[1][ph % g->nph[1]].tiles;
        wmap m;
        phase_map(g, ph, &m);
        const int64_t prods = m.pre[m.ga]; /* the 2-D parts' products per tile */
        g->u_off[ph] = g->u_floats;
        g->u_floats += prods * g->npanel * cin * NR;
        if (prods * g->npanel * cin * NR > g->u_phase_max)
            g->u_phase_max = prods * g->npanel * cin * NR;
        /* Rows per unit: a unit's V (products x rows x cin) within the budget, so a unit of
         * a phase with fewer products takes more rows and every unit is about the same work.
         * The threads' equal shares of units are then equal shares of work: with 16 rows
         * for every phase, dcgan's 4 x 4, 4 x 3, 3 x 4 and 3 x 3 phases left 28 of 49
         * shares to the first of 2 threads. */
        /* Several parts: a third of the rows, so down_s2's 512 rows make 29 units, not 9 (2
         * threads: 1.26-1.30 -> 1.13-1.18 ms; 1 thread level) */
        const int64_t budget = prods > m.ga ? WINO_PARTS_V_BUDGET : WINO_V_BUDGET;
        int64_t tb = budget / (prods * cin) / mr * mr;
        if (tb < mr) tb = mr;
        if (tb > rows) tb = (rows + mr - 1) / mr * mr;
        g->tb[ph] = tb;
        g->unit0[ph] = g->units;
        g->units += (rows + tb - 1) / tb;
        if (prods * tb > g->vm_max) g->vm_max = prods * tb;
        if (m.ga * tb > g->m_max) g->m_max = m.ga * tb;
        if (tb > g->tb_max) g->tb_max = tb;
    }
    g->unit0[g->nphase] = g->units;
    g->small = (double)p->y.count * (double)cin * 9.0 < WINO_SMALL_MACS;
    size_t off = 0;
    g->off_u = off;
    if (!packed) off += round64((size_t)(WINO_HDR + g->u_phase_max) * sizeof(float));
    g->off_t = off;
    if (!packed) off += round64((size_t)WINO_TMP * sizeof(float));
    g->off_v = off;
    off += round64((size_t)(g->vm_max * cin) * sizeof(float));
    g->off_m = off;
    off += round64((size_t)(g->m_max * NR) * sizeof(float));
    g->off_f = off;
    off += round64((size_t)g->tb_max);
    g->off_z = off;
    off += round64((size_t)cin * sizeof(float));
    g->slice = off;
}

/* U of 2-D part c (parts a, b) of the phase whose U is at u: G g G^T per (ci, co) (xf->u, in
 * float in a fixed order), columns past cout +0.0. The phase's U is [point xi][npanel]
 * [cnt[xi] * cin][NR]: a panel's rows at a point are its parts' in turn (wmap), so one GEMM
 * sums them. Returns 0 when a weight it reads is not finite or above WINO_WMAX. tmp:
 * WINO_TMP floats (a transposed filter's rows are transposed there so xf->u runs along the
 * output channels). */
static int pack_part(const wgeo *g, const dc_wino_xf *xf, const float *w, const wpart *a,
                     const wpart *b, const wmap *m, int64_t c, float *u, float *tmp) {
    const dc_conv_problem *p = g->p;
    const int64_t NR = g->uk.nr, cin = p->cin_g, cout = p->cout_g, npanel = g->npanel;
    const int64_t ws1 = p->w_stride_k[1], ws2 = p->w_stride_k[2];
    const int64_t A = a->alpha * b->alpha, n1 = a->nt, n2 = b->nt;
    const int64_t cob = NR < 16 ? NR : 16; /* NR is 8 or a multiple of 16 */
    float *up[16];
    const float *gp[9];
    int ok = 1;
    for (int64_t co0 = 0; co0 < npanel * NR; co0 += cob) {
        const int64_t pn = co0 / NR;
        const int64_t nco = cout - co0 < cob ? (cout > co0 ? cout - co0 : 0) : cob;
        for (int64_t c0 = 0; c0 < cin; c0 += 16) {
            const int64_t cb = cin - c0 < 16 ? cin - c0 : 16;
            /* the taps' values as [ci][co] rows: read in place for a conv ([.., cin, cout]);
             * a transposed filter's ([.., cout, cin]) transposed into tmp, 16 x 16 at a time
             * in registers (xf->t16; a store per value in C took a third of a stateless
             * dcgan2-shaped call) */
            for (int64_t t1 = 0; t1 < n1; t1++)
                for (int64_t t2 = 0; t2 < n2; t2++) {
                    const float *src = w + a->k[t1] * ws1 + b->k[t2] * ws2;
                    if (!p->transposed || !nco) continue;
                    /* the rows' lines 4 blocks on: 16 x 9 strided streams outrun the
                     * hardware prefetcher. Into L2 (a stateless dcgan2-shaped call 2-5%
                     * faster than into L1, whose fill buffers the loads need) */
                    if (c0 + 64 < cin)
                        for (int64_t jj = 0; jj < nco; jj++)
                            __builtin_prefetch(src + (co0 + jj) * cin + c0 + 64, 0, 2);
                    xf->t16(src + co0 * cin + c0, cin, nco, cb, tmp + (n2 * t1 + t2) * 256);
                }
            for (int64_t ci = 0; ci < cb; ci++) {
                for (int64_t t1 = 0; t1 < n1; t1++)
                    for (int64_t t2 = 0; t2 < n2; t2++)
                        gp[n2 * t1 + t2] =
                            p->transposed ? tmp + (n2 * t1 + t2) * 256 + ci * 16
                                          : w + a->k[t1] * ws1 + b->k[t2] * ws2 +
                                                (c0 + ci) * cout + co0;
                for (int64_t xi = 0; xi < A; xi++) {
                    const int x = m->gpt[c][xi];
                    const int64_t k = m->cnt[x] * cin; /* the point's reduction */
                    up[xi] = u + (m->pre[x] * npanel * cin + pn * k + m->seg[c][xi] * cin +
                                  c0 + ci) * NR + co0 % NR;
                }
                if (nco) ok &= xf->u(gp, (int)n1, (int)n2, nco, up);
                for (int64_t xi = 0; xi < A; xi++) {
                    if (m->sgn[c][xi] < 0)
                        for (int64_t j = 0; j < nco; j++) up[xi][j] = -up[xi][j];
                    if (nco < cob) memset(up[xi] + nco, 0, (size_t)(cob - nco) * sizeof(float));
                }
            }
        }
    }
    return ok;
}

/* Phase ph's U (its 2-D parts', pack_part) from u, and hdr[c] = 1 when part c's weights are
 * all finite and within WINO_WMAX (per part, so the flags do not depend on which thread
 * packs which phases). */
static void pack_phase(const wgeo *g, const dc_wino_xf *xf, const float *w, float *hdr,
                       float *u, float *tmp, int64_t ph) {
    wmap m;
    phase_map(g, ph, &m);
    for (int64_t c = g->combo0[ph]; c < g->combo0[ph + 1]; c++) {
        const wpart *a, *b;
        combo_parts(g, ph, c - g->combo0[ph], &a, &b);
        hdr[c] = pack_part(g, xf, w, a, b, &m, c - g->combo0[ph], u, tmp) ? 1.0f : 0.0f;
    }
}

/* Stateless calls that did not scan the filter first (dc_conv_args.weights_bad): whether the
 * weights of phase ph are all finite. pack_part's flags (hdr) already cleared every part
 * whose weights are; a flagged part may only hold weights above WINO_WMAX (its tiles then
 * run direct), so its raw taps are scanned. Every weight a call multiplies is packed by some
 * phase, so an inf or NaN one is found and the call re-runs on the reference. */
static int phase_finite(const wgeo *g, const float *w, const float *hdr, int64_t ph) {
    const dc_conv_problem *p = g->p;
    for (int64_t c = g->combo0[ph]; c < g->combo0[ph + 1]; c++) {
        if (hdr[c] == 1.0f) continue;
        const wpart *a, *b;
        combo_parts(g, ph, c - g->combo0[ph], &a, &b);
        for (int64_t t1 = 0; t1 < a->nt; t1++)
            for (int64_t t2 = 0; t2 < b->nt; t2++)
                if (!dc_weights_finite(w + a->k[t1] * p->w_stride_k[1] + b->k[t2] * p->w_stride_k[2],
                                       p->cin_g * p->cout_g))
                    return 0;
    }
    return 1;
}

void dc_fast_wino_pack_b(const dc_conv_problem *p, const dc_ukr *uk, const dc_wino_xf *xf,
                         const float *w, float *dst, float *tmp) {
    wgeo g;
    wgeo_init(p, uk, 1, &g);
    memset(dst, 0, WINO_HDR * sizeof(float));
    for (int64_t ph = 0; ph < g.nphase; ph++)
        pack_phase(&g, xf, w, dst, dst + WINO_HDR + g.u_off[ph], tmp, ph);
}

#define WX_TGT
#define WX_NAME(x) x##_portable
#include "fast/wino_xform.h"

static void t16_portable(const float *src, int64_t ld, int64_t rows, int64_t cols,
                         float *dst) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) dst[c * 16 + r] = src[r * ld + c];
}

const dc_wino_xf DC_WINO_XF_PORTABLE = {dc_wino_in_portable, dc_wino_out_portable,
                                        dc_wino_u_portable, t16_portable};

/* Output pointer of phase (r1, r2)'s output (q1, q2) in image yimg, channel co0; NULL
 * outside. */
static float *out_at(const wgeo *g, float *yimg, int64_t r1, int64_t r2, int64_t q1, int64_t q2,
                     int64_t co0) {
    const dc_conv_problem *p = g->p;
    if (q1 >= g->ph[0][r1].nq || q2 >= g->ph[1][r2].nq) return NULL;
    const int64_t s1 = p->transposed ? p->s[1] : 1, s2 = p->transposed ? p->s[2] : 1;
    return yimg + (q1 * s1 + r1) * p->y.stride_sp[1] + (q2 * s2 + r2) * p->y.stride_sp[2] + co0;
}

/* A tile the transforms must not take: its outputs computed by the reference kernel (a
 * double sum, padding left out, then bias and activation), with the raw filter. A tile's
 * output pixel is cout consecutive reference units (channels innermost). */
static void direct_tile(const wgeo *g, const dc_conv_args *a, const float *w, int64_t n,
                        int64_t ph, int64_t ti, int64_t tj) {
    const dc_conv_problem *p = g->p;
    const int64_t r1 = ph / g->nph[1], r2 = ph % g->nph[1];
    const int64_t s1 = p->transposed ? p->s[1] : 1, s2 = p->transposed ? p->s[2] : 1;
    dc_conv_plan ref;
    dc_conv_args ra = *a;
    ra.w = w;
    if (p->transposed)
        dc_ref_conv_transpose_plan(p, &ref);
    else
        dc_ref_conv_plan(p, &ref);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) {
            const int64_t q1 = 2 * ti + i, q2 = 2 * tj + k;
            if (q1 >= g->ph[0][r1].nq || q2 >= g->ph[1][r2].nq) continue;
            /* 2-D: the problem's spatial dim 0 has size 1 */
            const int64_t pix = (n * p->y.sp[1] + q1 * s1 + r1) * p->y.sp[2] + q2 * s2 + r2;
            ref.run(&ra, pix * p->y.c, (pix + 1) * p->y.c, 0);
        }
}

void dc_fast_wino_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                      const dc_ukr *uk, const dc_wino_xf *xf, const float *packed_b,
                      const float *raw_w) {
    const dc_conv_problem *p = a->p;
    wgeo g;
    wgeo_init(p, uk, packed_b != NULL, &g);
    char *base = (char *)(((uintptr_t)a->workspace + 63) & ~(uintptr_t)63);
    char *ws = base + (size_t)thread * g.slice;
    float *V = (float *)(ws + g.off_v), *M = (float *)(ws + g.off_m);
    unsigned char *ok = (unsigned char *)(ws + g.off_f);
    float *z = (float *)(ws + g.off_z);
    if (g.small) begin = 0, end = g.units;
    if (begin >= end) return;
    /* Stateless: each phase's U is packed when the thread's first unit of it comes (units
     * are phase-major), into one phase's room, so it is still in cache for the GEMMs. */
    const float *packed = packed_b ? packed_b : (const float *)(ws + g.off_u);
    int64_t packed_ph = -1;
    memset(z, 0, (size_t)p->cin_g * sizeof(float));
    const int need = a->bias || p->activation != DECONV_ACTIVATION_NONE;
    const int64_t cin = p->cin_g, NR = uk->nr, mr = uk->mr;
    int64_t ph = 0, map_ph = -1;
    const int32_t tap0 = 0;
    wmap m;
    for (int64_t unit = begin; unit < end; unit++) {
        while (unit >= g.unit0[ph + 1]) ph++;
        if (ph != map_ph) phase_map(&g, ph, &m), map_ph = ph;
        const int64_t r1 = ph / g.nph[1], r2 = ph % g.nph[1], tb = g.tb[ph];
        const int64_t mstride = tb * NR;
        const int64_t tw = g.ph[1][r2].tiles, tiles = g.ph[0][r1].tiles * tw;
        const int64_t t0 = (unit - g.unit0[ph]) * tb;
        const int64_t nt = p->x.n * tiles - t0 < tb ? p->x.n * tiles - t0 : tb;
        const int64_t ncombo = g.combo0[ph + 1] - g.combo0[ph];
        /* the phase's U: packed, or packed here into the thread's room */
        const float *U = packed + WINO_HDR + g.u_off[ph];
        if (!packed_b) {
            if (ph != packed_ph) {
                pack_phase(&g, xf, a->w, (float *)(ws + g.off_u),
                           (float *)(ws + g.off_u) + WINO_HDR, (float *)(ws + g.off_t), ph);
                if (a->weights_bad && !phase_finite(&g, a->w, (const float *)(ws + g.off_u), ph))
                    __atomic_store_n(a->weights_bad, 1, __ATOMIC_RELAXED);
            }
            packed_ph = ph;
            U = packed + WINO_HDR;
        }
        int w_ok = 1;
        for (int64_t c = g.combo0[ph]; c < g.combo0[ph + 1]; c++) w_ok &= packed[c] == 1.0f;
        memset(ok, w_ok, (size_t)nt);
        /* V: point xi's rows, each cnt[xi] * cin long (its parts' V in turn), from
         * V + pre[xi] * tb * cin */
        for (int64_t c = 0; c < ncombo; c++) {
            const wpart *f1, *f2;
            combo_parts(&g, ph, c, &f1, &f2);
            const int A1 = (int)f1->alpha, A2 = (int)f2->alpha, A = A1 * A2;
            float *vp[16];
            int64_t vk[16];
            for (int xi = 0; xi < A; xi++) {
                const int x = m.gpt[c][xi];
                vk[xi] = m.cnt[x] * cin;
                vp[xi] = V + m.pre[x] * tb * cin + m.seg[c][xi] * cin;
            }
            for (int64_t t = 0; t < nt; t++) {
                if (!ok[t]) continue;
                const int64_t n = (t0 + t) / tiles, ti = (t0 + t) % tiles / tw, tj = (t0 + t) % tw;
                const float *img = a->x + n * p->x.stride_n, *px[16];
                float *vt[16];
                for (int i = 0; i < A1; i++)
                    for (int k = 0; k < A2; k++) {
                        const int64_t h = f1->s * (2 * ti + f1->base + i) + f1->p;
                        const int64_t w = f2->s * (2 * tj + f2->base + k) + f2->p;
                        px[A2 * i + k] = h >= 0 && h < p->x.sp[1] && w >= 0 && w < p->x.sp[2]
                                             ? img + h * p->x.stride_sp[1] + w * p->x.stride_sp[2]
                                             : z;
                    }
                for (int xi = 0; xi < A; xi++) vt[xi] = vp[xi] + t * vk[xi];
                ok[t] = (unsigned char)xf->in(px, A1, A2, cin, vt);
            }
        }
        int any = 0;
        for (int64_t t = 0; t < nt; t++) any |= ok[t];
        for (int64_t pn = 0; any && pn < g.npanel; pn++) {
            const int64_t co0 = pn * NR, nr = p->cout_g - co0 < NR ? p->cout_g - co0 : NR;
            for (int xi = 0; xi < m.ga; xi++) {
                const int64_t k = m.cnt[xi] * cin;
                for (int64_t r0 = 0; r0 < nt; r0 += mr) {
                    const float *ap[1]; /* with a_stride set only a[0] is read */
                    float *cp[1];
                    ap[0] = V + m.pre[xi] * tb * cin + r0 * k;
                    cp[0] = M + xi * mstride + r0 * NR;
                    dc_ukr_args u;
                    memset(&u, 0, sizeof u);
                    u.a = ap;
                    u.a_stride = k;
                    u.tap = &tap0;
                    u.b = U + (m.pre[xi] * g.npanel * cin + pn * k) * NR;
                    u.btaps = 1;
                    u.c = cp;
                    u.kc = k;
                    u.ntaps = 1;
                    u.mr = (int32_t)(nt - r0 < mr ? nt - r0 : mr);
                    u.nr = (int32_t)nr;
                    u.first = 1;
                    u.c_stride = NR;
                    uk->fn(&u);
                }
            }
            for (int64_t t = 0; t < nt; t++) {
                if (!ok[t]) continue;
                const int64_t n = (t0 + t) / tiles, ti = (t0 + t) % tiles / tw;
                const int64_t tj = (t0 + t) % tw;
                float *yimg = a->y + n * p->y.stride_n, *y[4];
                for (int i = 0; i < 2; i++)
                    for (int k = 0; k < 2; k++)
                        y[2 * i + k] = out_at(&g, yimg, r1, r2, 2 * ti + i, 2 * tj + k, co0);
                xf->out(M + t * NR, mstride, m.ga1, m.ga2, nr, y);
                if (!need) continue;
                for (int i = 0; i < 4; i++)
                    if (y[i])
                        for (int64_t j = 0; j < nr; j++)
                            y[i][j] = dc_activate(p, a->bias ? y[i][j] + a->bias[co0 + j]
                                                             : y[i][j]);
            }
        }
        for (int64_t t = 0; t < nt; t++)
            if (!ok[t]) direct_tile(&g, a, raw_w, (t0 + t) / tiles, ph, (t0 + t) % tiles / tw,
                                    (t0 + t) % tw);
    }
}

void dc_fast_wino_sizes(const dc_conv_problem *p, const dc_ukr *uk, int packed,
                        int32_t num_threads, int64_t *units, size_t *workspace_bytes,
                        int64_t *packed_floats) {
    wgeo g;
    wgeo_init(p, uk, packed, &g);
    if (num_threads < 1) num_threads = 1;
    *units = g.small ? 1 : g.units;
    *workspace_bytes = g.slice * (size_t)num_threads + 64;
    /* U, then a raw copy of the filter for the direct tiles (a packed run has no a->w) */
    *packed_floats = WINO_HDR + g.u_floats + p->w_count;
}

int64_t dc_fast_wino_raw_offset(const dc_conv_problem *p, const dc_ukr *uk) {
    wgeo g;
    wgeo_init(p, uk, 1, &g);
    return WINO_HDR + g.u_floats;
}
