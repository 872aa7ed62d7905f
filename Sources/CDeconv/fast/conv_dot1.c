/* fast/conv_dot1.c - conv and transposed conv with ONE to FOUR output channels (mnist_k3s2's
 * last layer, dcgan4's RGB output, a U-Net or autoencoder head), channels-last, as direct dot
 * products on a zero-padded copy of each image.
 *
 * With one output channel a GEMM has one column: conv_col.c makes it taps columns wide (9 for
 * a 3x3 kernel, padded to a 16-wide tile, so 7 of 16 lanes multiply zeros) and then gathers
 * the column entries into the output; the implicit GEMM of conv_gemm.c spends more on its row
 * pointer tables than on the multiply-adds. Here each output pixel is a dot product over its
 * taps x input channels, vectorised along the channels; 7 or 8 pixels of one output line at
 * a time share each weight vector. A transposed conv is split into sub-pixel phases as in
 * conv_gemm.c, so no inserted zero is multiplied. Each image is first copied into a
 * zero-padded buffer (channels padded to a multiple of 8): every tap of every pixel then reads
 * memory at a fixed stride, with no test per pixel and no pointer table.
 *
 * Two to four output channels (dotn kernels) work the same way with channels padded to 16: a
 * group of pixels (8 with AVX-512) x nc accumulators, each x vector feeding nc FMAs. Against
 * conv_col this computes no halo rows, wastes no tile columns and has no gather (dcgan4 at 1
 * thread, fastest call: AVX-512 1.97 -> 1.67 ms, AVX2 2.95 -> 2.22 ms, portable 12.0 ->
 * 10.8 ms); against the implicit GEMM's dot kernel (convs) it has no pointer tables (2-4x).
 * Its padded image may take up to 1 MiB (dcgan4: 592 KiB).
 *
 * Work units are (image, band of output rows along dim 1). Every output element is one dot
 * product in an order fixed by the problem alone, so the thread count never changes a bit. */
#include "fast/fast.h"

#include <string.h>

#define D1_MR DC_DOT1_MR
#define D1_MIN_CIN 8                          /* fewer channels: 8-lane vectors waste too much */
#define D1_PAD_MAX_FLOATS ((int64_t)1 << 16)  /* the padded image copy: at most 256 KiB */
#define DN_MAX_NC 4                           /* dotn: 2..4 output channels */
#define DN_MIN_CIN 16                         /* one 16-lane vector */
#define DN_PAD_MAX_FLOATS ((int64_t)1 << 18)  /* dotn's padded image: 1 MiB (dcgan4: 592 KiB) */
#define D1_MIN_UNITS 4                        /* small batches are split into row bands */
#define D1_SMALL_MACS 200000
#define MAX_PHASE_STRIDE_D1 16                /* as conv_gemm.c's select_kernel allows */
#define D1_MAX_K 16                           /* per dim: tap lists live on the stack */
#define D1_MAX_TAPS 512                       /* per kernel, as conv_gemm.c allows */

typedef struct d1geo {
    const dc_conv_problem *p;
    int64_t nc;                /* output channels: 1 (dot1 kernels) or 2..4 (dotn kernels) */
    int64_t cinp;              /* channels padded to a multiple of 8 (dot1) or 16 (dotn) */
    int64_t ps[3], nphase;     /* phases per dim (the strides of a transposed conv, or 1s) */
    int64_t kvol;
    int64_t lo[3], P[3];       /* input index i of dim j sits at i + lo[j] of P[j] padded */
    int64_t astride;           /* floats between the inputs of neighbouring output pixels */
    int64_t pad_floats;        /* the padded image plus read slack */
    int64_t band, nbands, units;
    int small;
    size_t off_w, off_tap, off_tstart, off_ptr, off_pad, slice;
} d1geo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

/* Output positions q of dim j in phase r. */
static int64_t phase_rows(const dc_conv_problem *p, int j, int64_t r) {
    if (!p->transposed) return p->y.sp[j];
    const int64_t out = p->y.sp[j], s = p->s[j];
    return r < out ? (out - r + s - 1) / s : 0;
}

/* Padded extents of dim j: the lowest and highest input index any (phase, q, tap) reads.
 * Returns the padded extent as a double (the caller checks it is small). */
static double pad_dim(const dc_conv_problem *p, int j, int64_t *lo) {
    int64_t as[D1_MAX_K], offs[D1_MAX_K];
    double mn = 0, mx = (double)p->x.sp[j] - 1;
    const int64_t nph = p->transposed ? p->s[j] : 1;
    for (int64_t r = 0; r < nph; r++) {
        const int64_t nq = phase_rows(p, j, r);
        const int64_t n = dc_fast_dim_taps(p, j, r, as, offs);
        if (nq <= 0) continue;
        for (int64_t t = 0; t < n; t++) {
            const double first = (double)offs[t];
            const double last =
                (double)(nq - 1) * (p->transposed ? 1.0 : (double)p->s[j]) + (double)offs[t];
            if (first < mn) mn = first;
            if (last > mx) mx = last;
        }
    }
    *lo = (int64_t)-mn;
    return mx - mn + 1;
}

/* Input channels padded to the kernels' vector: 8 lanes for dot1, 16 for dotn. */
static int64_t cin_padded(const dc_conv_problem *p) {
    return p->cout_g == 1 ? (p->cin_g + 7) & ~(int64_t)7 : (p->cin_g + 15) & ~(int64_t)15;
}

int dc_fast_dot1_claims(const dc_conv_problem *p) {
    if (p->layout != DECONV_CHANNELS_LAST || p->groups != 1) return 0;
    if (p->cout_g != 1 && !(p->cout_g <= DN_MAX_NC && p->cin_g >= DN_MIN_CIN)) return 0;
    const int64_t budget = p->cout_g == 1 ? D1_PAD_MAX_FLOATS : DN_PAD_MAX_FLOATS;
    if (p->cin_g < D1_MIN_CIN || p->cin_g > budget) return 0;
    for (int j = 0; j < 3; j++)
        if (p->k[j] > D1_MAX_K) return 0;
    if (p->k[0] * p->k[1] * p->k[2] > D1_MAX_TAPS) return 0;
    /* the padded image and its slack must fit the budget (all in double: pads, strides and
     * dilations can be huge) */
    double floats = (double)cin_padded(p);
    for (int j = 0; j < 3; j++) {
        int64_t lo;
        floats *= pad_dim(p, j, &lo);
    }
    const double astride = (double)cin_padded(p) * (p->transposed ? 1.0 : (double)p->s[2]);
    return floats + (double)D1_MR * astride + (double)cin_padded(p) <= (double)budget;
}

static void d1geo_init(const dc_conv_problem *p, int packed, d1geo *g) {
    g->p = p;
    g->nc = p->cout_g;
    g->cinp = cin_padded(p);
    g->nphase = 1;
    g->kvol = p->k[0] * p->k[1] * p->k[2];
    int64_t floats = g->cinp;
    for (int j = 0; j < 3; j++) {
        g->ps[j] = p->transposed ? p->s[j] : 1;
        g->nphase *= g->ps[j];
        g->P[j] = (int64_t)pad_dim(p, j, &g->lo[j]);
        floats *= g->P[j];
    }
    g->astride = g->cinp * (p->transposed ? 1 : p->s[2]);
    g->pad_floats = floats + D1_MR * g->astride + g->cinp;
    const int64_t out1 = p->y.sp[1];
    int64_t nb = p->y.n >= D1_MIN_UNITS ? 1 : (D1_MIN_UNITS + p->y.n - 1) / p->y.n;
    if (nb > out1) nb = out1;
    g->band = (out1 + nb - 1) / nb;
    g->nbands = (out1 + g->band - 1) / g->band;
    g->units = p->y.n * g->nbands;
    g->small = (double)p->y.count * (double)g->kvol * (double)p->cin_g /
                   (double)g->nphase < D1_SMALL_MACS;
    size_t off = 0;
    g->off_w = off;
    if (!packed) off += round64((size_t)(g->kvol * g->nc * g->cinp) * sizeof(float));
    g->off_tap = off;
    off += round64((size_t)g->kvol * sizeof(int64_t));
    g->off_tstart = off;
    off += round64((size_t)(g->nphase + 1) * sizeof(int64_t));
    g->off_ptr = off;
    off += round64((size_t)g->kvol * sizeof(float *));
    g->off_pad = off;
    off += round64((size_t)g->pad_floats * sizeof(float));
    g->slice = off;
}

/* The taps of phase ph in the order the run reads them (dim 2 innermost), written from
 * index n on: the weight offset of each tap's kernel position (wofs) and the offset in the
 * padded image from a line's first input pixel (at its q0, q1) to the pixel the tap reads for
 * the line's first output (rel); either may be NULL. Returns the index after the last. */
static int64_t phase_list(const d1geo *g, int64_t ph, int64_t n, int64_t *wofs, int64_t *rel) {
    const dc_conv_problem *p = g->p;
    int64_t as[3][D1_MAX_K], offs[3][D1_MAX_K], cnt[3];
    const int64_t row2 = g->P[2] * g->cinp, plane = g->P[1] * row2;
    const int64_t r[3] = {ph / (g->ps[1] * g->ps[2]), (ph / g->ps[2]) % g->ps[1],
                          ph % g->ps[2]};
    for (int j = 0; j < 3; j++) cnt[j] = dc_fast_dim_taps(p, j, r[j], as[j], offs[j]);
    for (int64_t t0 = 0; t0 < cnt[0]; t0++)
        for (int64_t t1 = 0; t1 < cnt[1]; t1++)
            for (int64_t t2 = 0; t2 < cnt[2]; t2++, n++) {
                if (wofs)
                    wofs[n] = as[0][t0] * p->w_stride_k[0] + as[1][t1] * p->w_stride_k[1] +
                              as[2][t2] * p->w_stride_k[2];
                if (rel)
                    rel[n] = offs[0][t0] * plane + offs[1][t1] * row2 +
                             (offs[2][t2] + g->lo[2]) * g->cinp;
            }
    return n;
}

/* Every phase's taps, phase after phase: rel[tstart[ph] .. tstart[ph + 1]). */
static void phase_tap_lists(const d1geo *g, int64_t *rel, int64_t *tstart) {
    int64_t n = 0;
    for (int64_t ph = 0; ph < g->nphase; ph++) {
        tstart[ph] = n;
        n = phase_list(g, ph, n, NULL, rel);
    }
    tstart[g->nphase] = n;
}

void dc_fast_dot1_pack_b(const dc_conv_problem *p, const float *w, float *dst) {
    d1geo g;
    d1geo_init(p, 1, &g);
    /* phase by phase, in the order the run reads them: [phase][tap][nc][cinp]. Input
     * channel ci of output channel co is at co * cin + ci in a transposed conv's filter
     * [k..., cout, cin] and at ci * cout + co in a conv's [k..., cin, cout]. */
    int64_t wofs[D1_MAX_TAPS]; /* a phase has at most all the kernel's taps */
    const int64_t cin = p->cin_g, nc = g.nc;
    const int64_t sci = p->transposed ? 1 : nc, sco = p->transposed ? cin : 1;
    int64_t n = 0;
    for (int64_t ph = 0; ph < g.nphase; ph++) {
        const int64_t n1 = phase_list(&g, ph, 0, wofs, NULL);
        for (int64_t t = 0; t < n1; t++, n++)
            for (int64_t co = 0; co < nc; co++) {
                float *d = dst + (n * nc + co) * g.cinp;
                for (int64_t c = 0; c < g.cinp; c++)
                    d[c] = c < cin ? w[wofs[t] + co * sco + c * sci] : 0.0f;
            }
    }
}

void dc_fast_dot1_sizes(const dc_conv_problem *p, int packed, int32_t num_threads,
                        int64_t *units, size_t *workspace_bytes, int64_t *packed_floats) {
    d1geo g;
    d1geo_init(p, packed, &g);
    if (num_threads < 1) num_threads = 1;
    *units = g.small ? 1 : g.units;
    *workspace_bytes = g.slice * (size_t)num_threads + 64;
    *packed_floats = g.kvol * g.nc * g.cinp;
}

/* Image n into the padded buffer's interior (its borders and padding channels stay zero). */
static void copy_image(const d1geo *g, const float *x, int64_t n, float *pad) {
    const dc_conv_problem *p = g->p;
    const int64_t cin = p->cin_g, in2 = p->x.sp[2];
    for (int64_t i0 = 0; i0 < p->x.sp[0]; i0++)
        for (int64_t i1 = 0; i1 < p->x.sp[1]; i1++) {
            const float *s = x + n * p->x.stride_n + i0 * p->x.stride_sp[0] +
                             i1 * p->x.stride_sp[1];
            float *d = pad + (((i0 + g->lo[0]) * g->P[1] + i1 + g->lo[1]) * g->P[2] + g->lo[2]) *
                                 g->cinp;
            if (g->cinp == cin && p->x.stride_sp[2] == cin)
                memcpy(d, s, (size_t)(in2 * cin) * sizeof(float));
            else
                for (int64_t i2 = 0; i2 < in2; i2++)
                    memcpy(d + i2 * g->cinp, s + i2 * p->x.stride_sp[2],
                           (size_t)cin * sizeof(float));
        }
}

void dc_fast_dot1_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                      dc_dot1_fn fn, const float *packed_b) {
    const dc_conv_problem *p = a->p;
    d1geo g;
    d1geo_init(p, packed_b != NULL, &g);
    if (g.small) begin = 0, end = g.units;
    if (begin >= end) return;
    char *base = (char *)(((uintptr_t)a->workspace + 63) & ~(uintptr_t)63);
    char *ws = base + (size_t)thread * g.slice;
    int64_t *rel = (int64_t *)(ws + g.off_tap);
    int64_t *tstart = (int64_t *)(ws + g.off_tstart);
    const float **tp = (const float **)(ws + g.off_ptr);
    float *pad = (float *)(ws + g.off_pad);
    const float *w = packed_b;
    if (!w) {
        dc_fast_dot1_pack_b(p, a->w, (float *)(ws + g.off_w));
        w = (const float *)(ws + g.off_w);
    }
    phase_tap_lists(&g, rel, tstart);
    memset(pad, 0, (size_t)g.pad_floats * sizeof(float));
    const int64_t row2 = g.P[2] * g.cinp, plane = g.P[1] * row2;
    const int epilogue = a->bias || p->activation != DECONV_ACTIVATION_NONE;
    int64_t nq2[MAX_PHASE_STRIDE_D1];
    for (int64_t r2 = 0; r2 < g.ps[2]; r2++) nq2[r2] = phase_rows(p, 2, r2);
    dc_dot1_args da;
    da.a = tp;
    da.a_stride = g.astride;
    da.c_stride = g.ps[2] * p->y.stride_sp[2];
    da.kc = g.cinp;
    da.nc = (int32_t)g.nc;
    const int64_t wtap = g.nc * g.cinp; /* packed floats per tap */
    int64_t copied = -1;
    for (int64_t u = begin; u < end; u++) {
        const int64_t n = u / g.nbands, bi = u % g.nbands;
        const int64_t oa = bi * g.band;
        const int64_t ob = oa + g.band < p->y.sp[1] ? oa + g.band : p->y.sp[1];
        if (n != copied) copy_image(&g, a->x, n, pad), copied = n;
        float *yimg = a->y + n * p->y.stride_n;
        for (int64_t o0 = 0, r0 = 0, q0 = 0; o0 < p->y.sp[0]; o0++) {
            const int64_t in0 = p->transposed ? q0 : q0 * p->s[0];
            for (int64_t o1 = oa, r1 = oa % g.ps[1], q1 = oa / g.ps[1]; o1 < ob; o1++) {
                const int64_t in1 = p->transposed ? q1 : q1 * p->s[1];
                const float *line = pad + (in0 + g.lo[0]) * plane + (in1 + g.lo[1]) * row2;
                float *yl = yimg + o0 * p->y.stride_sp[0] + o1 * p->y.stride_sp[1];
                const int64_t ph01 = (r0 * g.ps[1] + r1) * g.ps[2];
                /* With a stride of 2 along dim 2 (and one channel: outputs contiguous), both
                 * phases of the line go in one call that stores them interleaved. */
                const int pair = g.ps[2] == 2 && p->y.stride_sp[2] == 1 && g.nc == 1;
                da.a2 = NULL;
                for (int64_t r2 = 0; r2 < g.ps[2]; r2 += pair ? 2 : 1) {
                    if (nq2[r2] <= 0) continue;
                    /* the taps of this phase (and, paired, of the next one, listed after) */
                    const int64_t t0 = tstart[ph01 + r2], nt = tstart[ph01 + r2 + 1] - t0;
                    const int64_t all = tstart[ph01 + r2 + (pair ? 2 : 1)] - t0;
                    for (int64_t t = 0; t < all; t++) tp[t] = line + rel[t0 + t];
                    da.w = w + t0 * wtap;
                    da.ntaps = (int32_t)nt;
                    da.a_off = 0;
                    da.rows = nq2[r2];
                    da.c = yl + r2 * p->y.stride_sp[2];
                    if (pair) {
                        da.a2 = tp + nt;
                        da.w2 = w + (t0 + nt) * wtap;
                        da.ntaps2 = (int32_t)(all - nt);
                        da.rows2 = nq2[1];
                    }
                    fn(&da);
                    if (!epilogue) continue;
                    const int64_t n_out = pair ? da.rows + da.rows2 : da.rows;
                    const int64_t cs = pair ? 1 : da.c_stride;
                    for (int64_t r = 0; r < n_out; r++)
                        for (int64_t j = 0; j < g.nc; j++) {
                            float *v = da.c + r * cs + j;
                            const float b = a->bias ? a->bias[j] : 0.0f;
                            *v = p->activation != DECONV_ACTIVATION_NONE
                                     ? dc_activate(p, a->bias ? *v + b : *v)
                                     : *v + b;
                        }
                }
                if (++r1 == g.ps[1]) r1 = 0, q1++;
            }
            if (++r0 == g.ps[0]) r0 = 0, q0++;
        }
    }
}
