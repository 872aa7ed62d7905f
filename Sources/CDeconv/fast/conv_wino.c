/* fast/conv_wino.c - Winograd convolution for 2-D convs with 3 x 3 kernels at stride 1
 * (vgg3x3) and transposed convs whose sub-pixel phases have 2 or 3 taps per dim (dcgan1-3's
 * 5 x 5 at stride 2, fcn_k4's 4 x 4), with many channels, channels-last.
 *
 * Every phase (the only one of a conv) is a dense stride-1 correlation along each dim,
 * y[q] = sum over t < nt of x[q + base + t] * g[t]. Winograd F(2, nt) computes a tile of 2
 * outputs from alpha = nt + 1 inputs with alpha multiplications (F(2, 3): 4 instead of 6;
 * F(2, 2): 3 instead of 4; nt = 1 runs as alpha 2, no saving). In 2-D, with V = B^T d B per
 * input channel (adds only, wino_xform.h), U = G g G^T per filter pair (packed once, or per
 * call and thread on the stateless path) and y = A^T M A, a tile's 4 * nt1 * nt2
 * multiply-adds per input channel become the alpha1 * alpha2 of
 * M[xi] = sum over ci of V[xi][ci] * U[xi][ci][co]: that many independent GEMMs (rows: tiles,
 * columns: output channels, reduction: input channels) on the level's GEMM micro-kernel.
 * vgg3x3: 2.25x fewer multiply-adds; dcgan's four phases 100 -> 49 per 4 tiles; fcn_k4 1.78x.
 * Rounding differs from a direct sum by a few units in the last place of the largest partial
 * sums (the tests hold every fast path to 1e-4 of the reference, the conformance run to 1e-5
 * of TF's scale), as with TF's own Winograd convolutions on GPUs.
 *
 * Where the transforms could change a result beyond rounding, a tile is summed directly
 * instead: when any value of its patch is not finite (inf - inf in V would turn an inf output
 * into NaN) or above WINO_XMAX in magnitude (so no sum of the transforms can overflow where
 * the direct sum does not), and every tile when a weight is above WINO_WMAX. Direct tiles sum
 * in double, padding taps left out, as the reference.
 *
 * A phase's GEMM rows are its (image, tile) pairs, image-major, so few tiles per image still
 * make long GEMMs for each packed U panel. Work units are (phase, block of rows). A tile's
 * values do not depend on the block it falls in (each GEMM row is its own sum), so neither
 * the thread count nor the split changes a bit. */
#include "fast/fast.h"

#include <math.h>
#include <string.h>

#define WINO_MIN_CH 32                   /* fewer channels: the transforms cost too much */
#define WINO_MAX_S 8                     /* phases per dim */
#define WINO_V_BUDGET 98304              /* floats of transformed input per unit (384 KiB) */
#define WINO_XMAX 1099511627776.0f       /* 2^40: inputs above go to the direct tiles */
#define WINO_WMAX 1099511627776.0f       /* 2^40: weights above send every tile there */
#define WINO_HDR (WINO_MAX_S * WINO_MAX_S) /* packed: a header, a weight flag per phase */
#define WINO_SMALL_MACS 200000
#define WINO_MIN_ROWS 192                /* GEMM rows (image, tile) per phase, at least */
#define WINO_TMP DC_WINO_PACK_TMP        /* pack_u's scratch: [tap][16 ci][16 co] */

/* One phase of one dim: nt taps, at inputs q + base + t, kernel index k[t]; nq outputs. */
typedef struct wphase {
    int64_t nt, alpha, base, nq, tiles;
    int64_t k[3];
} wphase;

typedef struct wgeo {
    const dc_conv_problem *p;
    dc_ukr uk;
    int64_t nph[2];              /* phases of dims 1 and 2 */
    wphase ph[2][WINO_MAX_S];
    int64_t nphase, tb, nblk, units; /* phases, rows per unit, units per phase, units */
    int64_t npanel;              /* NR-wide panels of output channels */
    int64_t u_off[WINO_MAX_S * WINO_MAX_S], u_floats; /* packed U of each phase, in all */
    int small;
    size_t off_u, off_t, off_v, off_m, off_f, off_z, slice;
} wgeo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

/* Phase r of dim j (1 or 2); 0 when its taps are not 1 to 3 consecutive inputs. */
static int dim_phase(const dc_conv_problem *p, int j, int64_t r, wphase *f) {
    int64_t as[WINO_MAX_S * 3 + 1], offs[WINO_MAX_S * 3 + 1];
    if (p->k[j] > WINO_MAX_S * 3) return 0;
    const int64_t n = dc_fast_dim_taps(p, j, r, as, offs);
    if (n < 1 || n > 3) return 0;
    int64_t lo = offs[0];
    for (int64_t t = 1; t < n; t++) lo = offs[t] < lo ? offs[t] : lo;
    f->nt = n;
    f->alpha = n == 1 ? 2 : n + 1;
    f->base = lo;
    for (int64_t t = 0; t < n; t++) {
        if (offs[t] - lo >= n) return 0; /* not consecutive (dilation) */
        f->k[offs[t] - lo] = as[t];
    }
    const int64_t out = p->y.sp[j], s = p->transposed ? p->s[j] : 1;
    f->nq = r < out ? (out - r + s - 1) / s : 0;
    f->tiles = (f->nq + 1) / 2;
    return 1;
}

/* Phases of both dims; 0 when a phase does not fit the transforms. */
static int phases(const dc_conv_problem *p, wgeo *g) {
    for (int j = 0; j < 2; j++) {
        const int64_t s = p->transposed ? p->s[1 + j] : 1;
        if (s > WINO_MAX_S) return 0;
        g->nph[j] = s;
        for (int64_t r = 0; r < s; r++)
            if (!dim_phase(p, 1 + j, r, &g->ph[j][r])) return 0;
    }
    return 1;
}

int dc_fast_wino_claims(const dc_conv_problem *p, const dc_ukr *gemm) {
    if (p->spatial_rank != 2 || p->groups != 1 || gemm->kind != DC_UKR_GEMM) return 0;
    if (p->d[1] != 1 || p->d[2] != 1) return 0;
    if (!p->transposed && (p->k[1] != 3 || p->k[2] != 3 || p->s[1] != 1 || p->s[2] != 1))
        return 0;
    if (p->cin_g < WINO_MIN_CH || p->cout_g < WINO_MIN_CH) return 0;
    wgeo g;
    if (!phases(p, &g)) return 0;
    /* worth it: the transformed products at most 3/4 of the direct ones */
    double direct = 0, wino = 0;
    for (int64_t r1 = 0; r1 < g.nph[0]; r1++)
        for (int64_t r2 = 0; r2 < g.nph[1]; r2++) {
            const wphase *a = &g.ph[0][r1], *b = &g.ph[1][r2];
            direct += 4.0 * (double)(a->nt * b->nt);
            wino += (double)(a->alpha * b->alpha);
        }
    if (wino > 0.75 * direct) return 0;
    /* Enough GEMM rows per phase to reuse each packed U panel: with few, streaming U (about
     * twice the filter's size) costs more than the products saved (dcgan1, 8 x 4 rows: 24.4 ->
     * 27.5 ms prepared), and the stateless call's packing of U, about 10 cycles a value,
     * as much as the GEMMs (dcgan2, 8 x 16 rows: 18.8 ms prepared, but 29.7 -> 34 ms
     * stateless). */
    for (int64_t r1 = 0; r1 < g.nph[0]; r1++)
        for (int64_t r2 = 0; r2 < g.nph[1]; r2++)
            if ((double)p->x.n * (double)(g.ph[0][r1].tiles * g.ph[1][r2].tiles) < WINO_MIN_ROWS)
                return 0;
    /* The packed U and a unit's buffers stay far below what size_t holds. */
    const double u = 16.0 * (double)(g.nph[0] * g.nph[1]) * (double)p->cin_g *
                     (double)(p->cout_g + gemm->nr);
    return u * sizeof(float) < (double)(SIZE_MAX / 8) && u < (double)((int64_t)1 << 32);
}

static void wgeo_init(const dc_conv_problem *p, const dc_ukr *uk, int packed, wgeo *g) {
    g->p = p;
    g->uk = *uk;
    phases(p, g); /* claimed: every phase fits */
    const int64_t mr = uk->mr, NR = uk->nr, cin = p->cin_g;
    g->nphase = g->nph[0] * g->nph[1];
    g->npanel = (p->cout_g + NR - 1) / NR;
    int64_t rows_max = 1; /* a phase's rows: (image, tile) pairs, image-major */
    g->u_floats = 0;
    for (int64_t ph = 0; ph < g->nphase; ph++) {
        const wphase *a = &g->ph[0][ph / g->nph[1]], *b = &g->ph[1][ph % g->nph[1]];
        const int64_t t = p->x.n * a->tiles * b->tiles;
        rows_max = t > rows_max ? t : rows_max;
        g->u_off[ph] = g->u_floats;
        g->u_floats += a->alpha * b->alpha * g->npanel * cin * NR;
    }
    int64_t tb = WINO_V_BUDGET / (16 * cin) / mr * mr;
    if (tb < mr) tb = mr;
    if (tb > rows_max) tb = (rows_max + mr - 1) / mr * mr;
    g->tb = tb;
    g->nblk = (rows_max + tb - 1) / tb;
    g->units = g->nphase * g->nblk;
    g->small = (double)p->y.count * (double)cin * 9.0 < WINO_SMALL_MACS;
    size_t off = 0;
    g->off_u = off;
    if (!packed) off += round64((size_t)(WINO_HDR + g->u_floats) * sizeof(float));
    g->off_t = off;
    if (!packed) off += round64((size_t)WINO_TMP * sizeof(float));
    g->off_v = off;
    off += round64((size_t)(16 * tb * cin) * sizeof(float));
    g->off_m = off;
    off += round64((size_t)(16 * tb * NR) * sizeof(float));
    g->off_f = off;
    off += round64((size_t)tb);
    g->off_z = off;
    off += round64((size_t)cin * sizeof(float));
    g->slice = off;
}

/* Filter value of kernel position (k1, k2), input channel ci, output channel co (TF layouts:
 * conv [1, k1, k2, cin, cout], transposed [1, k1, k2, cout, cin]). */
static float wval(const dc_conv_problem *p, const float *w, int64_t k1, int64_t k2, int64_t ci,
                  int64_t co) {
    const int64_t at = k1 * p->w_stride_k[1] + k2 * p->w_stride_k[2];
    return p->transposed ? w[at + co * p->cin_g + ci] : w[at + ci * p->cout_g + co];
}

/* dst: [WINO_HDR], then per phase [alpha1 * alpha2][npanel][cin][NR] = U = G g G^T per
 * (ci, co) (xf->u, in float in a fixed order), columns past cout +0.0, for phases
 * [ph0, ph1); dst[ph] = 1 when every weight phase ph reads is finite and within WINO_WMAX
 * (else its tiles run direct: per phase, so the flags do not depend on which thread packs).
 * tmp: WINO_TMP floats (a transposed filter's rows are transformed there, then spread into
 * the panels). */
static void pack_u(const wgeo *g, const dc_wino_xf *xf, const float *w, float *dst, float *tmp,
                   int64_t ph0, int64_t ph1) {
    const dc_conv_problem *p = g->p;
    const int64_t NR = g->uk.nr, cin = p->cin_g, cout = p->cout_g, npanel = g->npanel;
    const int64_t ws1 = p->w_stride_k[1], ws2 = p->w_stride_k[2];
    for (int64_t ph = ph0; ph < ph1; ph++) {
        int ok = 1;
        const wphase *a = &g->ph[0][ph / g->nph[1]], *b = &g->ph[1][ph % g->nph[1]];
        const int64_t A = a->alpha * b->alpha, n1 = a->nt, n2 = b->nt;
        float *u = dst + WINO_HDR + g->u_off[ph], *up[16];
        const float *gp[9];
        if (!p->transposed) {
            for (int64_t pn = 0; pn < npanel; pn++) {
                const int64_t co0 = pn * NR, nr = cout - co0 < NR ? cout - co0 : NR;
                for (int64_t ci = 0; ci < cin; ci++) {
                    for (int64_t t1 = 0; t1 < n1; t1++)
                        for (int64_t t2 = 0; t2 < n2; t2++)
                            gp[n2 * t1 + t2] = w + a->k[t1] * ws1 + b->k[t2] * ws2 + ci * cout + co0;
                    for (int64_t xi = 0; xi < A; xi++) up[xi] = u + ((xi * npanel + pn) * cin + ci) * NR;
                    ok &= xf->u(gp, (int)n1, (int)n2, nr, up);
                    for (int64_t xi = 0; xi < A && nr < NR; xi++)
                        memset(up[xi] + nr, 0, (size_t)(NR - nr) * sizeof(float));
                }
            }
            dst[ph] = ok ? 1.0f : 0.0f;
            continue;
        }
        /* Blocks of 16 input x 16 output channels: the taps' filter values are transposed
         * into tmp ([tap][ci][16 co], in L1), so xf->u runs along the output channels as for
         * a conv and stores whole panel rows (scalar stores into the panels, one per value,
         * kept too few cache misses in flight: 2 ns a value). */
        const int64_t cob = NR < 16 ? NR : 16; /* NR is 8 or a multiple of 16 */
        for (int64_t co0 = 0; co0 < npanel * NR; co0 += cob) {
            const int64_t pn = co0 / NR;
            const int64_t nco = cout - co0 < cob ? (cout > co0 ? cout - co0 : 0) : cob;
            for (int64_t c0 = 0; c0 < cin; c0 += 16) {
                const int64_t cb = cin - c0 < 16 ? cin - c0 : 16;
                    for (int64_t t1 = 0; t1 < n1; t1++)
                        for (int64_t t2 = 0; t2 < n2; t2++) {
                            const float *src = w + a->k[t1] * ws1 + b->k[t2] * ws2 + co0 * cin + c0;
                            float *tt = tmp + (n2 * t1 + t2) * 256;
                            for (int64_t jj = 0; jj < nco; jj++)
                                for (int64_t ci = 0; ci < cb; ci++) tt[ci * 16 + jj] = src[jj * cin + ci];
                        }
                    for (int64_t ci = 0; ci < cb; ci++) {
                        for (int64_t t = 0; t < n1 * n2; t++) gp[t] = tmp + t * 256 + ci * 16;
                        for (int64_t xi = 0; xi < A; xi++)
                            up[xi] = u + ((xi * npanel + pn) * cin + c0 + ci) * NR + co0 % NR;
                        if (nco) ok &= xf->u(gp, (int)n1, (int)n2, nco, up);
                        for (int64_t xi = 0; xi < A && nco < cob; xi++)
                            memset(up[xi] + nco, 0, (size_t)(cob - nco) * sizeof(float));
                    }
                }
            }
        dst[ph] = ok ? 1.0f : 0.0f;
    }
}

void dc_fast_wino_pack_b(const dc_conv_problem *p, const dc_ukr *uk, const dc_wino_xf *xf,
                         const float *w, float *dst, float *tmp) {
    wgeo g;
    wgeo_init(p, uk, 1, &g);
    pack_u(&g, xf, w, dst, tmp, 0, g.nphase);
}

#define WX_TGT
#define WX_NAME(x) x##_portable
#include "fast/wino_xform.h"

const dc_wino_xf DC_WINO_XF_PORTABLE = {dc_wino_in_portable, dc_wino_out_portable,
                                        dc_wino_u_portable};

/* Output pointer of phase output (q1, q2) of image yimg, channel co0; NULL outside. */
static float *out_at(const dc_conv_problem *p, float *yimg, const wphase *a, const wphase *b,
                     int64_t r1, int64_t r2, int64_t q1, int64_t q2, int64_t co0) {
    if (q1 >= a->nq || q2 >= b->nq) return NULL;
    const int64_t s1 = p->transposed ? p->s[1] : 1, s2 = p->transposed ? p->s[2] : 1;
    return yimg + (q1 * s1 + r1) * p->y.stride_sp[1] + (q2 * s2 + r2) * p->y.stride_sp[2] + co0;
}

/* A tile the transforms must not take: its outputs summed directly in double, padding taps
 * left out (as the reference), then bias and activation. */
static void direct_tile(const dc_conv_problem *p, const dc_conv_args *a, const float *w,
                        const float *img, float *yimg, const wphase *f1, const wphase *f2,
                        int64_t r1, int64_t r2, int64_t ti, int64_t tj) {
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) {
            const int64_t q1 = 2 * ti + i, q2 = 2 * tj + k;
            float *y = out_at(p, yimg, f1, f2, r1, r2, q1, q2, 0);
            if (!y) continue;
            for (int64_t co = 0; co < p->cout_g; co++) {
                double acc = 0.0;
                for (int64_t t1 = 0; t1 < f1->nt; t1++)
                    for (int64_t t2 = 0; t2 < f2->nt; t2++) {
                        const int64_t h = q1 + f1->base + t1, x = q2 + f2->base + t2;
                        if (h < 0 || h >= p->x.sp[1] || x < 0 || x >= p->x.sp[2]) continue;
                        const float *xp = img + h * p->x.stride_sp[1] + x * p->x.stride_sp[2];
                        for (int64_t ci = 0; ci < p->cin_g; ci++)
                            acc += (double)xp[ci] * (double)wval(p, w, f1->k[t1], f2->k[t2], ci, co);
                    }
                const float v = (float)acc;
                y[co] = a->bias || p->activation != DECONV_ACTIVATION_NONE
                            ? dc_activate(p, a->bias ? v + a->bias[co] : v)
                            : v;
            }
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
    const float *packed = packed_b;
    if (!packed) {
        /* only the phases of this thread's units (they are phase-major) */
        pack_u(&g, xf, a->w, (float *)(ws + g.off_u), (float *)(ws + g.off_t), begin / g.nblk,
               (end - 1) / g.nblk + 1);
        packed = (const float *)(ws + g.off_u);
    }
    memset(z, 0, (size_t)p->cin_g * sizeof(float));
    const int need = a->bias || p->activation != DECONV_ACTIVATION_NONE;
    const int64_t cin = p->cin_g, NR = uk->nr, mr = uk->mr, tb = g.tb;
    const int64_t vstride = tb * cin, mstride = tb * NR;
    const int32_t tap0 = 0;
    for (int64_t unit = begin; unit < end; unit++) {
        const int64_t ph = unit / g.nblk, r1 = ph / g.nph[1], r2 = ph % g.nph[1];
        const wphase *f1 = &g.ph[0][r1], *f2 = &g.ph[1][r2];
        const int64_t tiles = f1->tiles * f2->tiles, t0 = (unit % g.nblk) * tb;
        if (t0 >= p->x.n * tiles) continue;
        const int64_t nt = p->x.n * tiles - t0 < tb ? p->x.n * tiles - t0 : tb;
        const int A1 = (int)f1->alpha, A2 = (int)f2->alpha, A = A1 * A2;
        const int w_ok = packed[ph] == 1.0f;
        int any = 0;
        for (int64_t t = 0; t < nt; t++) {
            const int64_t n = (t0 + t) / tiles, ti = (t0 + t) % tiles / f2->tiles;
            const int64_t tj = (t0 + t) % f2->tiles;
            const float *img = a->x + n * p->x.stride_n;
            const float *px[16];
            for (int i = 0; i < A1; i++)
                for (int k = 0; k < A2; k++) {
                    const int64_t h = 2 * ti + f1->base + i, w = 2 * tj + f2->base + k;
                    px[A2 * i + k] = h >= 0 && h < p->x.sp[1] && w >= 0 && w < p->x.sp[2]
                                         ? img + h * p->x.stride_sp[1] + w * p->x.stride_sp[2]
                                         : z;
                }
            ok[t] = (unsigned char)(w_ok && xf->in(px, A1, A2, cin, V + t * cin, vstride));
            any |= ok[t];
        }
        const float *U = packed + WINO_HDR + g.u_off[ph];
        for (int64_t pn = 0; any && pn < g.npanel; pn++) {
            const int64_t co0 = pn * NR, nr = p->cout_g - co0 < NR ? p->cout_g - co0 : NR;
            for (int xi = 0; xi < A; xi++)
                for (int64_t r0 = 0; r0 < nt; r0 += mr) {
                    const float *ap[1]; /* with a_stride set only a[0] is read */
                    float *cp[1];
                    ap[0] = V + xi * vstride + r0 * cin;
                    cp[0] = M + xi * mstride + r0 * NR;
                    dc_ukr_args u;
                    memset(&u, 0, sizeof u);
                    u.a = ap;
                    u.a_stride = cin;
                    u.tap = &tap0;
                    u.b = U + (xi * g.npanel + pn) * cin * NR;
                    u.btaps = 1;
                    u.c = cp;
                    u.kc = cin;
                    u.ntaps = 1;
                    u.mr = (int32_t)(nt - r0 < mr ? nt - r0 : mr);
                    u.nr = (int32_t)nr;
                    u.first = 1;
                    u.c_stride = NR;
                    uk->fn(&u);
                }
            for (int64_t t = 0; t < nt; t++) {
                if (!ok[t]) continue;
                const int64_t n = (t0 + t) / tiles, ti = (t0 + t) % tiles / f2->tiles;
                const int64_t tj = (t0 + t) % f2->tiles;
                float *yimg = a->y + n * p->y.stride_n, *y[4];
                for (int i = 0; i < 2; i++)
                    for (int k = 0; k < 2; k++)
                        y[2 * i + k] = out_at(p, yimg, f1, f2, r1, r2, 2 * ti + i, 2 * tj + k, co0);
                xf->out(M + t * NR, mstride, A1, A2, nr, y);
                if (!need) continue;
                for (int i = 0; i < 4; i++)
                    if (y[i])
                        for (int64_t j = 0; j < nr; j++)
                            y[i][j] = dc_activate(p, a->bias ? y[i][j] + a->bias[co0 + j] : y[i][j]);
            }
        }
        for (int64_t t = 0; t < nt; t++) {
            if (ok[t]) continue;
            const int64_t n = (t0 + t) / tiles;
            direct_tile(p, a, raw_w, a->x + n * p->x.stride_n, a->y + n * p->y.stride_n, f1, f2,
                        r1, r2, (t0 + t) % tiles / f2->tiles, (t0 + t) % f2->tiles);
        }
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
