/* fast/conv_im2col.c - forward conv whose whole reduction (taps x input channels) is short,
 * e.g. lenet_c1: one input channel, 5x5 taps, K = 25.
 *
 * The implicit GEMM of conv_gemm.c walks the reduction tap by tap through row pointers; with
 * one input channel per tap that bookkeeping costs more than the multiply-adds. Here the
 * reduction is walked by tap rows instead: the k2 taps x cin channels of one kernel row are
 * contiguous in a channels-last input, so each output pixel reads every tap row (a0, a1)
 * straight from the input, kc = k2 * cin floats through one pointer, and the GEMM micro-kernel
 * sees k0 * k1 "taps" of kc channels. An image that fits IM_PAD_MAX_FLOATS is first copied
 * into a zero-padded buffer (padded mode): a tile of pixels then reads each tap row at equal
 * spacing, one pointer per tap plus a_stride, with no test per pixel (a tile that runs on
 * into the next output line gets a pointer per pixel instead, so no tile row is wasted).
 * Larger images (or dilation along dim 2) read the input in place per pixel; only tap rows
 * that overhang the input along dim 2 or are dilated get an explicit copy (zeros for the
 * padding) in a small per-tile scratch, and tap rows outside the input along dims 0 and 1
 * point at zeros. Output rows are output pixels in memory order, so the micro-kernel stores
 * straight into the output.
 *
 * Work units are blocks of output rows; every output element is one dot product over K in a
 * fixed order (taps, then channels), so the thread count never changes a bit of the result. */
#include "fast/fast.h"

#include <string.h>

#define IM_MAX_K 64        /* longer reductions go to the implicit GEMM */
#define IM_BLOCK_ROWS 240  /* output rows per unit */
#define IM_SMALL_MACS 200000
#define IM_PAD_MAX_FLOATS ((int64_t)1 << 16) /* a zero-padded image copy up to 256 KiB */

/* What a tap row outside the input reads (kc <= K <= IM_MAX_K floats). */
static const float ZEROS[IM_MAX_K] = {0};

typedef struct imgeo {
    const dc_conv_problem *p;
    dc_ukr uk;
    int64_t K, kc, ntaps, rows, block, units, ntiles; /* kc = k2 * cin, ntaps = k0 * k1 */
    int small;
    /* padded mode: each image is first copied into a zero-padded [P0][P1][P2 * cin] buffer,
     * so every tap row of every pixel is read in place, with no test per pixel */
    int padded;
    int64_t P[3], pad_floats;
    size_t off_b, off_s, off_ap, off_cp, off_tap, off_pad, slice;
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
    g->kc = p->k[2] * p->cin_g;
    g->ntaps = p->k[0] * p->k[1];
    g->rows = p->y.n * p->y.sp[0] * p->y.sp[1] * p->y.sp[2];
    /* Blocks of whole output lines when lines are whole tiles (no tile then crosses a
     * line: every tile reads its tap rows at equal spacing), else of whole tiles. */
    const int64_t out2 = p->y.sp[2];
    if (out2 % uk->mr == 0 && out2 <= IM_BLOCK_ROWS)
        g->block = IM_BLOCK_ROWS - IM_BLOCK_ROWS % out2;
    else
        g->block = IM_BLOCK_ROWS - IM_BLOCK_ROWS % uk->mr;
    g->units = (g->rows + g->block - 1) / g->block;
    g->ntiles = (p->cout_g + uk->nr - 1) / uk->nr;
    g->small = (double)g->rows * (double)g->K * (double)p->cout_g < IM_SMALL_MACS;
    /* Padded extents: the input plus the pads before, and after it as far as the last
     * window reaches (never negative; all small when the image is). */
    double pf = (double)p->cin_g;
    for (int j = 0; j < 3; j++) {
        const int64_t reach = (p->y.sp[j] - 1) * p->s[j] + (p->k[j] - 1) * p->d[j] + 1;
        const int64_t need = reach - p->pb[j];
        g->P[j] = p->pb[j] + (need > p->x.sp[j] ? need : p->x.sp[j]);
        pf *= (double)g->P[j];
    }
    /* + slack: a tile's rows past its last pixel are read (never stored) mr pixels on. The
     * slack counts against the budget too: a huge stride made it terabytes (fuzz_conv). */
    const double slack = (double)uk->mr * (double)p->s[2] * (double)p->cin_g + (double)g->K;
    g->padded = p->d[2] == 1 && pf + slack <= (double)IM_PAD_MAX_FLOATS;
    g->pad_floats = g->padded ? (int64_t)(pf + slack) : 0;
    size_t off = 0;
    g->off_b = off;
    if (!packed) off += round64((size_t)(g->ntiles * g->K * uk->nr) * sizeof(float));
    g->off_s = off; /* scratch: one K-float row per tile row */
    off += round64((size_t)(uk->mr * g->K) * sizeof(float));
    g->off_ap = off;
    off += round64((size_t)(g->ntaps * uk->mr) * sizeof(float *));
    g->off_cp = off; /* the tile's first output row (the kernel runs with c_stride) */
    off += round64(sizeof(float *));
    g->off_tap = off; /* the identity tap list, then a tile's list of taps that read input */
    off += round64((size_t)(2 * g->ntaps) * sizeof(int32_t));
    g->off_pad = off;
    off += round64((size_t)g->pad_floats * sizeof(float));
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

/* Copies of a few floats (a tap row is at most IM_MAX_K): fixed-size memcpy calls compile to
 * plain moves, where a variable-size one is a library call that costs more than the copy. */
static inline void copy_floats(float *d, const float *s, int64_t n) {
    for (; n >= 8; n -= 8, d += 8, s += 8) memcpy(d, s, 8 * sizeof(float));
    if (n >= 4) memcpy(d, s, 4 * sizeof(float)), d += 4, s += 4, n -= 4;
    if (n >= 2) memcpy(d, s, 2 * sizeof(float)), d += 2, s += 2, n -= 2;
    if (n) *d = *s;
}

/* Row pointers of a tile of mm (<= mr) output pixels o2 = o2_0.. of one output line
 * (n, o0, o1) for every tap row t = (a0, a1), as ap[t * mr + rr] (rows past mm repeat row 0):
 * into the input when the pixel's k2 taps lie inside it with dilation 1 along dim 2, into
 * scratch row rr (S + rr * K + t * kc: the taps, zeros for padding) when not, and at ZEROS
 * when the tap row lies outside the input along dim 0 or 1. */
static void tile_pointers(const imgeo *g, const float *x, const int64_t line[4], int64_t mm,
                          int mr, const float **ap, float *S) {
    const dc_conv_problem *p = g->p;
    const int64_t cin = p->cin_g, kc = g->kc, k2 = p->k[2], in2 = p->x.sp[2], d2 = p->d[2];
    const int64_t s2 = p->s[2], b2_0 = line[3] * s2 - p->pb[2];
    const float *xn = x + line[0] * p->x.stride_n;
    int64_t t = 0;
    for (int64_t a0 = 0; a0 < p->k[0]; a0++) {
        const int64_t i0 = line[1] * p->s[0] + a0 * p->d[0] - p->pb[0];
        for (int64_t a1 = 0; a1 < p->k[1]; a1++, t++) {
            const int64_t i1 = line[2] * p->s[1] + a1 * p->d[1] - p->pb[1];
            const float **slot = &ap[t * mr];
            if ((uint64_t)i0 >= (uint64_t)p->x.sp[0] || (uint64_t)i1 >= (uint64_t)p->x.sp[1]) {
                for (int rr = 0; rr < mr; rr++) slot[rr] = ZEROS;
                continue;
            }
            const float *src = xn + i0 * p->x.stride_sp[0] + i1 * p->x.stride_sp[1];
            for (int rr = 0; rr < mr; rr++) {
                const int64_t b2 = b2_0 + (rr < mm ? rr : 0) * s2;
                if (d2 == 1 && b2 >= 0 && b2 + k2 <= in2) {
                    slot[rr] = src + b2 * cin;
                    continue;
                }
                float *dst = S + rr * g->K + t * kc;
                for (int64_t a2 = 0; a2 < k2; a2++) {
                    const int64_t i2 = b2 + a2 * d2;
                    if ((uint64_t)i2 >= (uint64_t)in2)
                        for (int64_t c = 0; c < cin; c++) dst[a2 * cin + c] = 0.0f;
                    else
                        copy_floats(dst + a2 * cin, src + i2 * cin, cin);
                }
                slot[rr] = dst;
            }
        }
    }
}

/* Copies image n of x into the zero-padded buffer D (padded mode). Every image writes the
 * same floats of D, so the padding around them is zeroed only when `fresh` (D's first image
 * in this call: lenet_c1 spent 0.5% of its time zeroing D per image). */
static void pad_image(const imgeo *g, const float *x, int64_t n, float *D, int fresh) {
    const dc_conv_problem *p = g->p;
    const int64_t cin = p->cin_g, line = g->P[2] * cin, len = p->x.sp[2] * cin;
    if (fresh) memset(D, 0, (size_t)g->pad_floats * sizeof(float));
    const float *xn = x + n * p->x.stride_n;
    for (int64_t i0 = 0; i0 < p->x.sp[0]; i0++)
        for (int64_t i1 = 0; i1 < p->x.sp[1]; i1++) {
            float *d = D + ((i0 + p->pb[0]) * g->P[1] + i1 + p->pb[1]) * line + p->pb[2] * cin;
            const float *s = xn + i0 * p->x.stride_sp[0] + i1 * p->x.stride_sp[1];
            if (len <= IM_MAX_K)
                copy_floats(d, s, len);
            else
                memcpy(d, s, (size_t)len * sizeof(float));
        }
}

/* tile_pointers for padded mode: tap row t of tile row rr is D at padded position
 * (o0 * s0 + a0 * d0, o1 * s1 + a1 * d1, (o2 + rr) * s2), so the rows of a tap are equally
 * spaced: only row 0's pointer is stored and the kernel runs with a_stride = s2 * cin. Tap
 * rows that lie wholly in the padding rows of dims 0 and 1 would only multiply zeros and are
 * left out (lenet_c1: 6 of 140 tap rows per image): the kept ones are listed in sel[], their
 * pointers at ap[n * mr]. Returns their count. */
static int32_t tile_pointers_padded(const imgeo *g, const float *D, const int64_t line[4],
                                    int mr, const float **ap, int32_t *sel) {
    const dc_conv_problem *p = g->p;
    const int64_t cin = p->cin_g, row = g->P[2] * cin, step = p->s[2] * cin;
    const float *base = D + line[3] * step;
    int32_t n = 0, t = 0;
    for (int64_t a0 = 0; a0 < p->k[0]; a0++) {
        const int64_t j0 = line[1] * p->s[0] + a0 * p->d[0];
        const int in0 = (uint64_t)(j0 - p->pb[0]) < (uint64_t)p->x.sp[0];
        for (int64_t a1 = 0; a1 < p->k[1]; a1++, t++) {
            const int64_t j1 = line[2] * p->s[1] + a1 * p->d[1];
            if (!in0 || (uint64_t)(j1 - p->pb[1]) >= (uint64_t)p->x.sp[1]) continue;
            ap[n * mr] = base + (j0 * g->P[1] + j1) * row;
            sel[n++] = t;
        }
    }
    return n;
}

/* 1 when every tap row of output line (line[1], line[2]) lies inside the input along dims 0
 * and 1 (tile_pointers_padded then keeps all k0 * k1 of them, in order). */
static int line_inner(const imgeo *g, const int64_t line[4]) {
    const dc_conv_problem *p = g->p;
    for (int j = 0; j < 2; j++) {
        const int64_t first = line[1 + j] * p->s[j] - p->pb[j];
        if (first < 0 || first + (p->k[j] - 1) * p->d[j] >= p->x.sp[j]) return 0;
    }
    return 1;
}

/* Padded mode, a tile of mm pixels that crosses output lines (never images): each row gets its
 * own pointer per tap, ap[t * mr + rr], and the kernel runs with a_stride 0; rows past mm
 * repeat row 0. Lines no multiple of mr wide (lenet_c1: 28 of 8-row tiles) then waste no
 * tile rows. */
static void tile_pointers_padded_rows(const imgeo *g, const float *D, const int64_t line[4],
                                      int64_t mm, int mr, const float **ap) {
    const dc_conv_problem *p = g->p;
    const int64_t cin = p->cin_g, row = g->P[2] * cin, step = p->s[2] * cin;
    int64_t o0 = line[1], o1 = line[2], o2 = line[3];
    for (int rr = 0; rr < mr; rr++) {
        if (rr >= mm) {
            for (int64_t t = 0; t < g->ntaps; t++) ap[t * mr + rr] = ap[t * mr];
            continue;
        }
        const float *base = D + o2 * step;
        int64_t t = 0;
        for (int64_t a0 = 0; a0 < p->k[0]; a0++) {
            const int64_t j0 = o0 * p->s[0] + a0 * p->d[0];
            for (int64_t a1 = 0; a1 < p->k[1]; a1++, t++)
                ap[t * mr + rr] = base + (j0 * g->P[1] + o1 * p->s[1] + a1 * p->d[1]) * row;
        }
        if (++o2 == p->y.sp[2]) {
            o2 = 0;
            if (++o1 == p->y.sp[1]) o1 = 0, o0++;
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
    float *S = (float *)(ws + g.off_s);
    const float **ap = (const float **)(ws + g.off_ap);
    float **cp = (float **)(ws + g.off_cp);
    int32_t *taps = (int32_t *)(ws + g.off_tap), *sel = taps + g.ntaps;
    float *D = (float *)(ws + g.off_pad);
    int64_t padded_n = -1; /* the image D holds */
    int64_t ptr_line = -1; /* padded mode: the output line (o0, o1) of D whose tap pointers ap
                            * holds, with line_taps of them */
    int32_t line_taps = 0;
    int64_t ptr_o0 = 0, ptr_o1 = 0; /* ptr_line's (o0, o1), and whether its taps are all in */
    int ptr_inner = 0;
    if (g.small) begin = 0, end = g.units;
    const float *b = packed_b;
    if (!b && begin < end) {
        dc_fast_im2col_pack_b(p, uk, a->w, (float *)(ws + g.off_b));
        b = (const float *)(ws + g.off_b);
    }
    for (int64_t t = 0; t < g.ntaps; t++) taps[t] = (int32_t)t;
    const int mr = uk->mr;
    const int64_t NR = uk->nr, cout = p->cout_g;
    const float *bias = a->bias;
    const int act = p->activation != DECONV_ACTIVATION_NONE;
    /* The kernel arguments that hold for every tile, set once; a tile sets the few that change
     * (lenet_c1 spends 11-13% of its time in this driver, most of it per tile) */
    dc_ukr_args ua;
    ua.a = ap;
    ua.btaps = g.ntaps;
    ua.c = cp;
    ua.kc = g.kc;
    ua.first = 1;
    ua.c_stride = cout;
    ua.pf = NULL, ua.pf_lines = 0;
    ua.a_line = p->s[1] * g.P[2] * p->cin_g; /* padded mode's lines (dc_ukr_args.line_tiles) */
    ua.c_line = p->y.sp[2] * cout;
    /* padded mode: the input's floats in a padded row, [in0, in1) */
    const int64_t in0 = p->pb[2] * p->cin_g, in1 = in0 + p->x.sp[2] * p->cin_g;
    for (int64_t u = begin; u < end; u++) {
        const int64_t r0 = u * g.block;
        const int64_t m = g.rows - r0 < g.block ? g.rows - r0 : g.block;
        /* (n, o0, o1, o2) of row r0. Tiles never cross an image (the padded buffer holds
         * one); in padded mode they may cross output lines, else not (the pixels of a tile
         * then share their tap rows). */
        const int64_t out2 = p->y.sp[2], per_image = p->y.sp[0] * p->y.sp[1] * out2;
        int64_t line[4], rest = r0 / out2;
        line[3] = r0 % out2;
        line[2] = rest % p->y.sp[1];
        rest /= p->y.sp[1];
        line[1] = rest % p->y.sp[0];
        line[0] = rest / p->y.sp[0];
        for (int64_t t = 0, mm; t < m; t += mm) {
            mm = m - t < mr ? m - t : mr;
            int64_t a_stride = 0;
            int32_t ntaps = (int32_t)g.ntaps;
            const int32_t *tap = taps;
            int64_t a_off = 0, run = 1; /* run: whole tiles issued with these pointers */
            int64_t line_tiles = 0;     /* ... in lines of this many (0: one line) */
            if (g.padded) {
                const int64_t in_image = (line[1] * p->y.sp[1] + line[2]) * out2 + line[3];
                if (mm > per_image - in_image) mm = per_image - in_image;
                if (padded_n != line[0]) {
                    pad_image(&g, a->x, line[0], D, padded_n < 0);
                    padded_n = line[0];
                    ptr_line = -1;
                }
                if (mm <= out2 - line[3]) {
                    /* the tap rows of a line's tiles differ only by their first pixel: the
                     * pointers are made once per line, a tile starts a_off floats on */
                    const int64_t key = line[1] * p->y.sp[1] + line[2];
                    if (key != ptr_line) {
                        /* a line whose tap rows all lie inside the input, after another in
                         * the same plane: the same taps, the pointers shifted by whole
                         * rows (lenet_c1: this driver's share of its time 9.3% -> 8.4%) */
                        const int inner = line_inner(&g, line);
                        if (inner && ptr_inner && ptr_line >= 0 && line[1] == ptr_o0) {
                            const int64_t shift = (line[2] - ptr_o1) * p->s[1] * g.P[2] * p->cin_g;
                            for (int32_t n = 0; n < line_taps; n++) ap[n * mr] += shift;
                        } else {
                            const int64_t start[4] = {line[0], line[1], line[2], 0};
                            line_taps = tile_pointers_padded(&g, D, start, mr, ap, sel);
                        }
                        ptr_line = key;
                        ptr_o0 = line[1];
                        ptr_o1 = line[2];
                        ptr_inner = inner;
                    }
                    ntaps = line_taps;
                    tap = sel;
                    a_stride = p->s[2] * p->cin_g;
                    a_off = line[3] * a_stride;
                    /* and the whole tiles after it in the line, unit and image go out in one
                     * run (per tile then: a_off, the output pointer and the call; lenet_c1
                     * +2-3%) */
                    if (mm == mr) {
                        int64_t rows = m - t < out2 - line[3] ? m - t : out2 - line[3];
                        if (rows > per_image - in_image) rows = per_image - in_image;
                        run = rows / mr;
                        /* a run of a whole line whose tap rows all lie inside the input:
                         * the unit's next lines of the plane that are so too go out in the
                         * same call, a_line apart (lenet_c1: 24 of an image's 28 lines) */
                        if (uk->runs && line[3] == 0 && run * mr == out2 && ptr_inner) {
                            int64_t next[4] = {line[0], line[1], line[2] + 1, 0}, lines = 1;
                            while (t + (lines + 1) * out2 <= m && next[2] < p->y.sp[1] &&
                                   line_inner(&g, next))
                                lines++, next[2]++;
                            if (lines > 1) {
                                line_tiles = run;
                                run *= lines;
                            }
                        }
                    }
                } else {
                    ptr_line = -1;
                    tile_pointers_padded_rows(&g, D, line, mm, mr, ap);
                }
            } else {
                if (mm > out2 - line[3]) mm = out2 - line[3];
                tile_pointers(&g, a->x, line, mm, mr, ap, S);
            }
            /* the tile's output rows are consecutive pixels: one pointer and a stride (per-row
             * pointers cost a burst of stores per tile, which waited behind the previous
             * tile's output stores: lenet_c1's medians were 3% slower at 1 thread, 9% at 2) */
            ua.a_stride = a_stride;
            ua.tap = tap;
            ua.ntaps = ntaps;
            ua.mr = (int32_t)mm;
            ua.line_tiles = line_tiles;
            /* a kernel with a runs entry walks the whole run in one call */
            const int64_t per_call = run > 1 && uk->runs ? run : 1;
            for (int64_t j = 0; j < run; j += per_call) {
                cp[0] = a->y + (r0 + t + j * mm) * cout;
                ua.a_off = a_off + j * mm * a_stride;
                /* tap rows equally spaced: the padding floats before the first tile's
                 * windows and after the last one's (dc_ukr_args.zl, zr) */
                ua.zl = ua.zr = 0;
                if (a_stride && ua.first && mm == mr) {
                    const int64_t per_line = line_tiles ? line_tiles : per_call;
                    const int64_t lo = ua.a_off, hi = lo + (per_line * mm - 1) * a_stride + g.kc;
                    ua.zl = (int32_t)(lo < in0 ? (in0 - lo < g.kc ? in0 - lo : g.kc) : 0);
                    ua.zr = (int32_t)(hi > in1 ? (hi - in1 < g.kc ? hi - in1 : g.kc) : 0);
                }
                for (int64_t nt = 0; nt < g.ntiles; nt++) {
                    ua.b = b + nt * g.K * NR;
                    ua.c_off = nt * NR;
                    ua.nr = (int32_t)(cout - nt * NR < NR ? cout - nt * NR : NR);
                    if (per_call > 1)
                        uk->runs(&ua, per_call);
                    else
                        uk->fn(&ua);
                }
            }
            mm *= run;
            for (line[3] += mm; line[3] >= out2;) { /* a padded-mode tile may span lines */
                line[3] -= out2;
                if (++line[2] == p->y.sp[1]) {
                    line[2] = 0;
                    if (++line[1] == p->y.sp[0]) line[1] = 0, line[0]++;
                }
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
