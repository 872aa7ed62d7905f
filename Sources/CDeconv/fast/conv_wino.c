/* fast/conv_wino.c - 2-D 3 x 3 convs at stride 1 with many channels (vgg3x3), channels-last,
 * as Winograd F(2 x 2, 3 x 3) on the GEMM micro-kernels.
 *
 * Each 2 x 2 block of outputs (a tile) reads a 4 x 4 patch d of the input. With the
 * transforms V = B^T d B (per input channel, adds only), U = G g G^T (per filter pair, done
 * when the weights are packed) and y = A^T M A, the 36 multiply-adds per input channel of a
 * tile become the 16 of M[xi] = sum over ci of V[xi][ci] * U[xi][ci][co]: 16 independent GEMMs
 * (rows: tiles, columns: output channels, reduction: input channels), 2.25 times fewer
 * multiply-adds than the implicit GEMM. The micro-kernel runs them with packed U panels.
 * Rounding differs from a direct sum by a few units in the last place of the largest
 * partial sums (the tests hold every fast path to 1e-4 of the reference, the conformance run
 * to 1e-5 of TF's scale), as with TF's own Winograd convolutions on GPUs.
 *
 * Where the transforms could change a result beyond rounding, a tile is computed directly
 * instead: when any value of its patch is not finite (inf - inf in V would turn an inf output
 * into NaN) or above WINO_XMAX in magnitude (so no sum of the transforms can overflow where
 * the direct sum does not), or when any weight is above WINO_WMAX (then every tile). The
 * direct tiles sum taps and channels in the reference's order in double.
 *
 * Work units are (image, block of tiles in row-major tile order). A tile's values do not
 * depend on the block it falls in (each GEMM row is its own sum), so neither the thread
 * count nor the split changes a bit. */
#include "fast/fast.h"

#include <math.h>
#include <string.h>

#define WINO_MIN_CH 32                   /* fewer channels: the transforms cost too much */
#define WINO_V_BUDGET 98304              /* floats of transformed input per unit (384 KiB) */
#define WINO_XMAX 1099511627776.0f       /* 2^40: inputs above go to the direct tiles */
#define WINO_WMAX 1099511627776.0f       /* 2^40: weights above send every tile there */
#define WINO_HDR 16                      /* packed: a header of 16 floats (the weight flag) */
#define WINO_SMALL_MACS 200000

typedef struct wgeo {
    const dc_conv_problem *p;
    dc_ukr uk;
    int64_t th, tw, tiles;       /* tile rows, tile columns, tiles per image */
    int64_t tb, nblk, units;     /* tiles per unit, units per image, units */
    int64_t npanel;              /* NR-wide panels of output channels */
    int64_t u_floats;            /* the packed U: 16 * npanel * cin * NR */
    int small;
    size_t off_u, off_v, off_m, off_f, off_z, slice;
} wgeo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

int dc_fast_wino_claims(const dc_conv_problem *p, const dc_ukr *gemm) {
    if (p->transposed || p->spatial_rank != 2 || p->groups != 1 || gemm->kind != DC_UKR_GEMM)
        return 0;
    if (p->k[1] != 3 || p->k[2] != 3 || p->s[1] != 1 || p->s[2] != 1 || p->d[1] != 1 ||
        p->d[2] != 1)
        return 0;
    if (p->cin_g < WINO_MIN_CH || p->cout_g < WINO_MIN_CH || p->y.sp[1] < 2 || p->y.sp[2] < 2)
        return 0;
    /* The packed U (16 / 9 of the filter) and a unit's V stay far below what size_t holds. */
    const double u = 16.0 * (double)p->cin_g * (double)(p->cout_g + gemm->nr);
    return u * sizeof(float) < (double)(SIZE_MAX / 8) && u < (double)((int64_t)1 << 32);
}

static void wgeo_init(const dc_conv_problem *p, const dc_ukr *uk, int packed, wgeo *g) {
    g->p = p;
    g->uk = *uk;
    const int64_t mr = uk->mr, NR = uk->nr, cin = p->cin_g;
    g->th = (p->y.sp[1] + 1) / 2;
    g->tw = (p->y.sp[2] + 1) / 2;
    g->tiles = g->th * g->tw;
    int64_t tb = WINO_V_BUDGET / (16 * cin) / mr * mr;
    if (tb < mr) tb = mr;
    if (tb > g->tiles) tb = (g->tiles + mr - 1) / mr * mr;
    g->tb = tb;
    g->nblk = (g->tiles + tb - 1) / tb;
    g->units = p->x.n * g->nblk;
    g->npanel = (p->cout_g + NR - 1) / NR;
    g->u_floats = 16 * g->npanel * cin * NR;
    g->small = (double)p->y.count * (double)cin * 9.0 < WINO_SMALL_MACS;
    size_t off = 0;
    g->off_u = off;
    if (!packed) off += round64((size_t)(WINO_HDR + g->u_floats) * sizeof(float));
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

/* Filter value g[kh][kw] of (ci, co), TF layout [1, 3, 3, cin, cout]. */
static float wval(const dc_conv_problem *p, const float *w, int64_t kh, int64_t kw, int64_t ci,
                  int64_t co) {
    return w[kh * p->w_stride_k[1] + kw * p->w_stride_k[2] + ci * p->cout_g + co];
}

/* dst: [WINO_HDR][16][npanel][cin][NR] = U = G g G^T per (ci, co), columns past cout +0.0;
 * dst[0] = 1 when every weight is within WINO_WMAX (else every tile runs direct). Computed
 * in double and rounded once, so U does not depend on anything but the weights. */
void dc_fast_wino_pack_b(const dc_conv_problem *p, const dc_ukr *uk, const float *w, float *dst) {
    const int64_t NR = uk->nr, cin = p->cin_g, cout = p->cout_g;
    const int64_t npanel = (cout + NR - 1) / NR;
    float *u = dst + WINO_HDR;
    int ok = 1;
    memset(dst, 0, WINO_HDR * sizeof(float));
    for (int64_t ci = 0; ci < cin; ci++)
        for (int64_t col = 0; col < npanel * NR; col++) {
            const int64_t pn = col / NR, j = col % NR;
            double r[4][4] = {{0}};
            if (col < cout) {
                double gm[3][3], t[4][3];
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) {
                        const float v = wval(p, w, a, b, ci, col);
                        if (!(fabsf(v) <= WINO_WMAX)) ok = 0;
                        gm[a][b] = v;
                    }
                for (int b = 0; b < 3; b++) {
                    t[0][b] = gm[0][b];
                    t[1][b] = (gm[0][b] + gm[1][b] + gm[2][b]) * 0.5;
                    t[2][b] = (gm[0][b] - gm[1][b] + gm[2][b]) * 0.5;
                    t[3][b] = gm[2][b];
                }
                for (int a = 0; a < 4; a++) {
                    r[a][0] = t[a][0];
                    r[a][1] = (t[a][0] + t[a][1] + t[a][2]) * 0.5;
                    r[a][2] = (t[a][0] - t[a][1] + t[a][2]) * 0.5;
                    r[a][3] = t[a][2];
                }
            }
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    u[(((4 * a + b) * npanel + pn) * cin + ci) * NR + j] = (float)r[a][b];
        }
    dst[0] = ok ? 1.0f : 0.0f;
}

/* Input patch of tile (ti, tj) of image img: pointers to its 16 pixels (padding: z, a row of
 * zeros). */
static void patch(const dc_conv_problem *p, const float *img, const float *z, int64_t ti,
                  int64_t tj, const float *px[16]) {
    const int64_t h0 = 2 * ti - p->pb[1], w0 = 2 * tj - p->pb[2];
    for (int r = 0; r < 4; r++)
        for (int s = 0; s < 4; s++) {
            const int64_t h = h0 + r, w = w0 + s;
            px[4 * r + s] = h >= 0 && h < p->x.sp[1] && w >= 0 && w < p->x.sp[2]
                                ? img + h * p->x.stride_sp[1] + w * p->x.stride_sp[2]
                                : z;
        }
}

#define WX_TGT
#define WX_NAME(x) x##_portable
#include "fast/wino_xform.h"

const dc_wino_xf DC_WINO_XF_PORTABLE = {dc_wino_in_portable, dc_wino_out_portable};

/* y of tile (ti, tj) for output channels [co0, co0 + nr) from M[xi][t][NR] (stride mstride
 * between the xi), then bias and activation as the reference: act(v + bias). */
static void out_tile(const dc_conv_problem *p, const dc_conv_args *a, const dc_wino_xf *xf,
                     const float *m, int64_t mstride, float *yimg, int64_t ti, int64_t tj,
                     int64_t co0, int64_t nr) {
    float *y[4];
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) {
            const int64_t h = 2 * ti + i, w = 2 * tj + k;
            y[2 * i + k] = h < p->y.sp[1] && w < p->y.sp[2]
                               ? yimg + h * p->y.stride_sp[1] + w * p->y.stride_sp[2] + co0
                               : NULL;
        }
    xf->out(m, mstride, nr, y);
    if (!a->bias && p->activation == DECONV_ACTIVATION_NONE) return;
    for (int i = 0; i < 4; i++)
        if (y[i])
            for (int64_t j = 0; j < nr; j++)
                y[i][j] = dc_activate(p, a->bias ? y[i][j] + a->bias[co0 + j] : y[i][j]);
}

/* A tile the transforms must not take: its outputs summed directly in double, taps then
 * channels in order, padding taps left out (as the reference). */
static void direct_tile(const dc_conv_problem *p, const dc_conv_args *a, const float *w,
                        const float *img, float *yimg, int64_t ti, int64_t tj) {
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) {
            const int64_t oh = 2 * ti + i, ow = 2 * tj + k;
            if (oh >= p->y.sp[1] || ow >= p->y.sp[2]) continue;
            float *y = yimg + oh * p->y.stride_sp[1] + ow * p->y.stride_sp[2];
            for (int64_t co = 0; co < p->cout_g; co++) {
                double acc = 0.0;
                for (int64_t kh = 0; kh < 3; kh++)
                    for (int64_t kw = 0; kw < 3; kw++) {
                        const int64_t h = oh - p->pb[1] + kh, x = ow - p->pb[2] + kw;
                        if (h < 0 || h >= p->x.sp[1] || x < 0 || x >= p->x.sp[2]) continue;
                        const float *xp = img + h * p->x.stride_sp[1] + x * p->x.stride_sp[2];
                        for (int64_t ci = 0; ci < p->cin_g; ci++)
                            acc += (double)xp[ci] * (double)wval(p, w, kh, kw, ci, co);
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
    const float *packed = packed_b;
    if (!packed && begin < end) {
        dc_fast_wino_pack_b(p, uk, a->w, (float *)(ws + g.off_u));
        packed = (const float *)(ws + g.off_u);
    }
    const int w_ok = begin < end && packed[0] == 1.0f;
    if (begin < end) memset(z, 0, (size_t)p->cin_g * sizeof(float));
    const float *U = packed + WINO_HDR;
    const int64_t cin = p->cin_g, NR = uk->nr, mr = uk->mr, tb = g.tb;
    const int64_t vstride = tb * cin, mstride = tb * NR;
    const int32_t tap0 = 0;
    for (int64_t unit = begin; unit < end; unit++) {
        const int64_t n = unit / g.nblk, t0 = (unit % g.nblk) * tb;
        const int64_t nt = g.tiles - t0 < tb ? g.tiles - t0 : tb;
        const float *img = a->x + n * p->x.stride_n;
        float *yimg = a->y + n * p->y.stride_n;
        int any = 0;
        for (int64_t t = 0; t < nt; t++) {
            const float *px[16];
            patch(p, img, z, (t0 + t) / g.tw, (t0 + t) % g.tw, px);
            ok[t] = (unsigned char)(w_ok && xf->in(px, cin, V + t * cin, vstride));
            any |= ok[t];
        }
        for (int64_t pn = 0; any && pn < g.npanel; pn++) {
            const int64_t co0 = pn * NR, nr = p->cout_g - co0 < NR ? p->cout_g - co0 : NR;
            for (int xi = 0; xi < 16; xi++)
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
            for (int64_t t = 0; t < nt; t++)
                if (ok[t])
                    out_tile(p, a, xf, M + t * NR, mstride, yimg, (t0 + t) / g.tw,
                             (t0 + t) % g.tw, co0, nr);
        }
        for (int64_t t = 0; t < nt; t++)
            if (!ok[t]) direct_tile(p, a, raw_w, img, yimg, (t0 + t) / g.tw, (t0 + t) % g.tw);
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
    *packed_floats = WINO_HDR + g.u_floats + 9 * p->cin_g * p->cout_g;
}

int64_t dc_fast_wino_raw_offset(const dc_conv_problem *p, const dc_ukr *uk) {
    const int64_t npanel = (p->cout_g + uk->nr - 1) / uk->nr;
    return WINO_HDR + 16 * npanel * p->cin_g * uk->nr;
}
