/* test_fast.c - the fast conv kernels against the reference (the oracle), through the public
 * API: every supported ISA level (the lower ones forced), 1 and N threads (bitwise equal),
 * randomized shapes that hit every vector-width tail, all paddings, groups, dilations, both
 * layouts, bias and activations, and channel blocking. */
#include "harness.h"
#include "conv_case.h"

#include "deconv.h"
#include "fast/fast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef th_conv fcase;

static size_t case_workspace(const fcase *c, deconv_context *ctx) {
    size_t b = 0;
    deconv_status st =
        c->transposed
            ? deconv_conv_transpose_workspace_size(ctx, &c->prm, &c->x, &c->w, &c->y, &b, NULL)
            : deconv_conv_workspace_size(ctx, &c->prm, &c->x, &c->w, &b, NULL);
    return st == DECONV_OK ? b : (size_t)-1;
}

/* th_conv_make with this suite's output limit. */
static int make_case(fcase *c, uint64_t *rng, int transposed, int sr, deconv_layout layout,
                     int64_t n, const int64_t *in_sp, int64_t cin_g, int64_t cout_g,
                     int64_t groups, const int64_t *k, const int64_t *s, const int64_t *d,
                     deconv_padding pad, const int64_t *pads, int bias, deconv_activation act) {
    return th_conv_make(c, rng, transposed, sr, layout, n, in_sp, cin_g, cout_g, groups, k, s, d,
                        pad, pads, bias, act, 400000, 0);
}

/* Compares one fast run against the reference: relative 1e-4 (float vs double sums). */
static int close_to_ref(const fcase *c, const float *got, int64_t *where) {
    for (int64_t i = 0; i < c->yn; i++) {
        const double r = c->ref[i], g = got[i];
        if (!(fabs(r - g) <= 1e-4 * (fabs(r) > 1.0 ? fabs(r) : 1.0))) {
            *where = i;
            return 0;
        }
    }
    return 1;
}

static int g_cases, g_fast_claimed;

/* Cases a level's own GEMM kernel ran under each driver, and those with a partial last column
 * tile (the masked or lane-by-lane loads and stores): the AVX-512 level on x86, NEON on
 * AArch64. Both levels hand some problems to other kernels, so the suite checks the kernel
 * really ran. */
typedef struct kernel_tally {
    int gemm, col, im2col, tail;
    int im2col_lines; /* im2col cases whose output lines are whole tiles (line-sized blocks) */
    int wide, wide_tail; /* implicit GEMM cases on the AVX-512 6 x 64 tile; with a partial one */
    int batched; /* implicit GEMM cases with at least 8 images: tiles of one spatial position */
    int im2col_unrolled; /* im2col cases whose tap rows are short enough (k2 * cin <= 9) for
                          * the AVX-512 short kernel's unrolled bodies; the others take its loop */
} kernel_tally;
static kernel_tally g_level_tally;

/* The fast plan the current ISA level picks for c (0 if none), and its problem. */
static int fast_plan(const fcase *c, dc_conv_problem *pr, dc_conv_plan *plan) {
    return dc_conv_prepare(&c->prm, &c->x, &c->w, c->transposed ? &c->y : NULL, c->transposed,
                           pr, NULL) == DECONV_OK &&
           dc_fast_conv_plan(pr, 1, plan);
}

#define DN_TALLY 5
/* Cases each level ran through conv_dot1.c (one output channel), with a partial last group
 * of 8 pixels, and split into row bands (fewer than 4 images). */
static int g_dot1[DC_ISA_COUNT], g_dot1_tail[DC_ISA_COUNT], g_dot1_bands[DC_ISA_COUNT];
/* The same for the dotn kernels (2..4 output channels), per level and channel count; a
 * partial group is one of the level's kernel. */
static int g_dotn[DC_ISA_COUNT][DN_TALLY], g_dotn_tail[DC_ISA_COUNT], g_dotn_bands[DC_ISA_COUNT];

/* Cases the AVX-512 level ran through conv_planes.c: transposed with two line phases, convs,
 * a partial last 16-pixel block in a band, input channels no multiple of 16, more planes than
 * one pass holds (12), row bands, 2..4 output channels, and images whose last block takes
 * the next image's first pixels. */
typedef struct planes_tally {
    int cases, pairs, convs, pixel_tail, chan_tail, passes, bands, multi, streams;
} planes_tally;
static planes_tally g_planes[DC_ISA_COUNT];

static int64_t dotn_group_rows(int isa, int64_t nc) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == DC_ISA_AVX512) return DC_DOTN_AVX512_R(nc);
    if (isa == DC_ISA_AVX2) return DC_DOTN_AVX2_R(nc);
#endif
    (void)isa;
    return DC_DOTN_PORTABLE_R(nc);
}

static void tally_dot1(const fcase *c, int isa) {
    dc_conv_problem pr;
    dc_conv_plan plan;
    if (!fast_plan(c, &pr, &plan)) return;
    if (strncmp(plan.name, "fast-dotn-", 10) == 0) {
        const int64_t nq2 = pr.transposed ? pr.y.sp[2] / pr.s[2] : pr.y.sp[2];
        g_dotn[isa][pr.cout_g >= 2 && pr.cout_g < DN_TALLY ? pr.cout_g : 0]++;
        g_dotn_tail[isa] += nq2 % dotn_group_rows(isa, pr.cout_g) != 0;
        g_dotn_bands[isa] += pr.y.n < 4 && pr.y.sp[1] > 1;
        return;
    }
    if (strncmp(plan.name, "fast-planes-", 12) == 0) {
        planes_tally *pl = &g_planes[isa];
        pl->cases++;
        pl->pairs += pr.transposed && pr.s[2] == 2;
        pl->convs += !pr.transposed;
        pl->pixel_tail += pr.x.sp[1] * pr.x.sp[2] % 16 != 0;
        pl->chan_tail += pr.cin_g % 16 != 0;
        pl->passes += pr.k[1] * pr.k[2] * pr.cout_g > 12;
        pl->multi += pr.cout_g > 1;
        pl->bands += pr.y.n < 4 && pr.y.sp[1] > 1;
        pl->streams += dc_fast_planes_streams(&pr);
        return;
    }
    if (strncmp(plan.name, "fast-dot1-", 10) != 0) return;
    g_dot1[isa]++;
    const int64_t nq2 = pr.transposed ? pr.y.sp[2] / pr.s[2] : pr.y.sp[2];
    g_dot1_tail[isa] += nq2 % DC_DOT1_MR != 0;
    g_dot1_bands[isa] += pr.y.n < 4 && pr.y.sp[1] > 1;
}

/* Tallies which of the level's kernels (plan names ending in `suffix`, column tile nr,
 * im2col's tile height im2col_mr, and the implicit GEMM's wider tile wide_nr, 0 if none) the
 * current ISA level picks for c. */
static void tally_level(const fcase *c, const char *suffix, int64_t nr, int64_t im2col_mr,
                        int64_t wide_nr) {
    dc_conv_problem pr;
    dc_conv_plan plan;
    if (!fast_plan(c, &pr, &plan)) return;
    char gemm[40], col[40], im2col[40];
    snprintf(gemm, sizeof gemm, "fast-gemm-%s", suffix);
    snprintf(col, sizeof col, "fast-col-%s", suffix);
    snprintf(im2col, sizeof im2col, "fast-im2col-%s", suffix);
    char wide[48];
    snprintf(wide, sizeof wide, "fast-gemm-%s-wide", suffix);
    g_level_tally.batched += (strcmp(plan.name, gemm) == 0 || strcmp(plan.name, wide) == 0) &&
                             pr.y.n >= 8;
    if (wide_nr && strcmp(plan.name, wide) == 0) {
        g_level_tally.wide++;
        g_level_tally.wide_tail += pr.cout_g % wide_nr != 0;
        return;
    }
    const int is_col = strcmp(plan.name, col) == 0;
    const int is_gemm = strcmp(plan.name, gemm) == 0, is_im2col = strcmp(plan.name, im2col) == 0;
    if (!is_col && !is_gemm && !is_im2col) return;
    g_level_tally.gemm += is_gemm;
    g_level_tally.col += is_col;
    g_level_tally.im2col += is_im2col;
    g_level_tally.im2col_lines += is_im2col && pr.y.sp[2] % im2col_mr == 0;
    g_level_tally.im2col_unrolled += is_im2col && pr.k[2] * pr.cin_g <= 9;
    const int64_t cols = is_col ? pr.k[0] * pr.k[1] * pr.k[2] * pr.cout_g : pr.cout_g;
    g_level_tally.tail += cols % nr != 0;
}

/* ---- the threads' split of the implicit GEMM's rows (conv_split.c) ----------------------- */

/* Positions q of dim j in phase r (phase 0 has the most). */
static int64_t split_dim_rows(const dc_conv_problem *p, int j, int64_t r) {
    const int64_t out = p->y.sp[j], s = p->s[j];
    if (!p->transposed) return out;
    return r < out ? (out - r + s - 1) / s : 0;
}

/* dc_fast_rows_cost counted row by row and tap by tap. */
static int64_t brute_rows_cost(const dc_conv_problem *p, int batch_outer, int64_t rows) {
    int64_t ps[3], nphase = 1, sum = 0;
    for (int j = 0; j < 3; j++) nphase *= ps[j] = p->transposed ? p->s[j] : 1;
    for (int64_t ph = 0; ph < nphase; ph++) {
        const int64_t r[3] = {ph / (ps[1] * ps[2]), ph / ps[2] % ps[1], ph % ps[2]};
        int64_t nq[3], n[3], offs[3][DC_FAST_MAX_TAPS];
        for (int j = 0; j < 3; j++) {
            nq[j] = split_dim_rows(p, j, r[j]);
            n[j] = dc_fast_dim_taps(p, j, r[j], NULL, offs[j]);
        }
        const int64_t P = nq[0] * nq[1] * nq[2], N = p->y.n;
        dc_row_order o;
        dc_fast_row_order(p, batch_outer, r, &o);
        for (int64_t row = 0; row < rows && row < N * P; row++) {
            int64_t q[3], img;
            dc_fast_row_at(&o, row, &img, q);
            int64_t prod = 1;
            for (int j = 0; j < 3; j++) {
                int64_t cnt = 0;
                for (int64_t t = 0; t < n[j]; t++) {
                    const int64_t i = (p->transposed ? q[j] : q[j] * p->s[j]) + offs[j][t];
                    cnt += i >= 0 && i < p->x.sp[j];
                }
                prod *= cnt;
            }
            sum += prod;
        }
    }
    return sum;
}

static int g_order_edges; /* phases whose rows put edge columns last */

/* dc_row_order: every (image, position) exactly once; dc_row_next steps as dc_row_at counts;
 * GEMM order (not batch_outer): the columns [lo, hi) first, each with all its taps inside,
 * then the others column by column in increasing order, images innermost throughout. */
static void check_row_order(const fcase *c, const char *what) {
    dc_conv_problem pr;
    if (dc_conv_prepare(&c->prm, &c->x, &c->w, c->transposed ? &c->y : NULL, c->transposed, &pr,
                        NULL) != DECONV_OK)
        return;
    if (pr.k[0] * pr.k[1] * pr.k[2] > DC_FAST_MAX_TAPS) return;
    int64_t ps[3], nphase = 1;
    for (int j = 0; j < 3; j++) nphase *= ps[j] = pr.transposed ? pr.s[j] : 1;
    for (int64_t ph = 0; ph < nphase; ph++)
        for (int bo = 0; bo < 2; bo++) {
            const int64_t r[3] = {ph / (ps[1] * ps[2]), ph / ps[2] % ps[1], ph % ps[2]};
            dc_row_order o;
            dc_fast_row_order(&pr, bo, r, &o);
            const int64_t P = o.nq[0] * o.nq[1] * o.nq[2], N = pr.y.n, rows = N * P;
            if (rows == 0 || rows > 200000) continue;
            int64_t offs[DC_FAST_MAX_TAPS];
            const int64_t nt = dc_fast_dim_taps(&pr, 2, r[2], NULL, offs);
            int ok = o.lo >= 0 && o.lo < o.hi && o.hi <= o.nq[2];
            ok &= !bo || (o.lo == 0 && o.hi == o.nq[2]);
            /* [lo, hi): all taps inside; or every column when some column has one outside */
            int64_t inner = 0;
            for (int64_t q2 = 0; q2 < o.nq[2]; q2++) {
                int all_in = 1;
                for (int64_t t = 0; t < nt; t++) {
                    const int64_t i = (pr.transposed ? q2 : q2 * pr.s[2]) + offs[t];
                    all_in &= i >= 0 && i < pr.x.sp[2];
                }
                inner += all_in;
                if (!bo && inner > 0) ok &= all_in == (q2 >= o.lo && q2 < o.hi);
            }
            if (!bo && inner == 0) ok &= o.lo == 0 && o.hi == o.nq[2];
            g_order_edges += !bo && (o.hi - o.lo < o.nq[2]) && o.nq[0] * o.nq[1] * N > 1;
            unsigned char *seen = calloc((size_t)rows, 1);
            int64_t wn = 0, wq[3] = {0, 0, 0}, prev_e = -1;
            for (int64_t row = 0; ok && row < rows; row++) {
                int64_t n, q[3];
                dc_fast_row_at(&o, row, &n, q);
                ok &= n >= 0 && n < N && q[0] >= 0 && q[0] < o.nq[0] && q[1] >= 0 &&
                      q[1] < o.nq[1] && q[2] >= 0 && q[2] < o.nq[2];
                if (!ok) break;
                const int64_t idx = ((n * o.nq[0] + q[0]) * o.nq[1] + q[1]) * o.nq[2] + q[2];
                ok &= !seen[idx];
                seen[idx] = 1;
                if (row > 0) {
                    const int moved = dc_row_next(&o, &wn, wq);
                    ok &= wn == n && wq[0] == q[0] && wq[1] == q[1] && wq[2] == q[2];
                    if (!bo) ok &= moved == (n == 0); /* images innermost */
                } else {
                    wn = n;
                    memcpy(wq, q, sizeof wq);
                }
                if (!bo) {
                    ok &= (n == row % N);
                    const int edge = q[2] < o.lo || q[2] >= o.hi;
                    const int64_t first = N * o.nq[0] * o.nq[1] * (o.hi - o.lo);
                    ok &= edge == (row >= first);
                    if (edge) ok &= q[2] >= prev_e, prev_e = q[2];
                }
            }
            free(seen);
            CHECK(ok, "%s: row order of phase %lld (batch outer %d, columns [%lld, %lld) of %lld)",
                  what, (long long)ph, bo, (long long)o.lo, (long long)o.hi, (long long)o.nq[2]);
        }
}

static int g_split_moved; /* cases whose weighted split is not the even one */
static int g_split_driver; /* level runs of the implicit GEMM whose 3-thread plan splits rows */

/* The implicit GEMM cuts its rows per thread where each thread gets blocks of its own: its
 * 3-thread plan then has 3 x (blocks per thread) row blocks, other units than 1 thread's. */
static void tally_split(const fcase *c) {
    dc_conv_problem pr;
    dc_conv_plan p1, p3;
    if (dc_conv_prepare(&c->prm, &c->x, &c->w, c->transposed ? &c->y : NULL, c->transposed, &pr,
                        NULL) != DECONV_OK ||
        !dc_fast_conv_plan(&pr, 1, &p1) || !dc_fast_conv_plan(&pr, 3, &p3))
        return;
    const int implicit =
        strncmp(p3.name, "fast-gemm", 9) == 0 || strncmp(p3.name, "fast-dot-", 9) == 0;
    g_split_driver += implicit && p3.units != p1.units && p3.units % 3 == 0;
}

/* A stateless implicit GEMM whose panels the threads cannot keep, with two row blocks: on
 * the 6 x 64 tile (AVX-512), one block per (phase, tile) at 1 and 3 threads, 4 phases x 2
 * tiles = 8 units (check_case has checked its results). */
static void check_merged(const fcase *c) {
    dc_conv_problem pr;
    dc_conv_plan p1, p3;
    if (!dc_fast_isa_supported(DC_ISA_AVX512)) {
        printf("suite_fast: no AVX-512 here; the merged row blocks are not tested\n");
        return;
    }
    dc_fast_force_isa(DC_ISA_AVX512);
    const int ok = dc_conv_prepare(&c->prm, &c->x, &c->w, &c->y, 1, &pr, NULL) == DECONV_OK &&
                   dc_fast_conv_plan(&pr, 1, &p1) && dc_fast_conv_plan(&pr, 3, &p3);
    dc_fast_force_isa(-1);
    if (!CHECK(ok, "merged case: no fast plan")) return;
    CHECK(strncmp(p1.name, "fast-gemm", 9) == 0 && p1.units == 8 && p3.units == 8,
          "merged case: plan %s has %lld units at 1 thread and %lld at 3, want 8 (one row block "
          "per phase and tile)", p1.name, (long long)p1.units, (long long)p3.units);
}

/* The work estimate against the brute count, and the split rows' promises (fast.h). */
static void check_split(const fcase *c, uint64_t *rng, const char *what) {
    dc_conv_problem pr;
    if (dc_conv_prepare(&c->prm, &c->x, &c->w, c->transposed ? &c->y : NULL, c->transposed, &pr,
                        NULL) != DECONV_OK)
        return;
    if (pr.k[0] * pr.k[1] * pr.k[2] > DC_FAST_MAX_TAPS) return;
    const int64_t rows = pr.y.n * split_dim_rows(&pr, 0, 0) * split_dim_rows(&pr, 1, 0) *
                         split_dim_rows(&pr, 2, 0);
    for (int bo = 0; bo < 2; bo++) {
        const int64_t at[5] = {0, 1, th_rand_int(rng, 0, rows), rows, rows + 7};
        for (int i = 0; i < 5; i++) {
            const int64_t want = brute_rows_cost(&pr, bo, at[i]);
            const int64_t got = dc_fast_rows_cost(&pr, bo, at[i]);
            CHECK(got == want, "%s: cost of %lld rows (batch outer %d) is %lld, counted %lld",
                  what, (long long)at[i], bo, (long long)got, (long long)want);
        }
        const int64_t T = th_rand_int(rng, 2, 7), mr = th_rand_int(rng, 1, 8);
        const int64_t total = dc_fast_rows_cost(&pr, bo, rows), slack = rows / (4 * T);
        int64_t prev = 0;
        for (int64_t t = 0; t <= T; t++) {
            const int64_t R = dc_fast_split_row(&pr, bo, rows, mr, t, T);
            const int64_t even = rows / T * t + rows % T * t / T, target = total / T * t;
            int ok = R >= prev && R <= rows && (R % mr == 0 || R == rows);
            ok &= t == 0   ? R == 0
                  : t == T ? R == rows
                           : R - even <= slack + mr && even - R <= slack + mr;
            if (t > 0 && t < T) {
                /* the first tile boundary at target, unless the slack stopped it */
                ok &= dc_fast_rows_cost(&pr, bo, R) >= target || R + mr > even + slack || R == rows;
                ok &= R < mr || dc_fast_rows_cost(&pr, bo, R - mr) < target ||
                      R - mr < even - slack;
                g_split_moved += bo == 0 && R != (even + mr - 1) / mr * mr;
            }
            CHECK(ok, "%s: split row %lld of %lld (rows %lld, mr %lld, batch outer %d) = %lld",
                  what, (long long)t, (long long)T, (long long)rows, (long long)mr, bo,
                  (long long)R);
            prev = R;
        }
    }
}

/* Reference, then every supported ISA level with contexts of 1 and 3 threads and NULL. */
static void check_case(fcase *c, deconv_context *ctx1, deconv_context *ctx3, const char *what) {
    dc_fast_force_isa(DC_FAST_OFF);
    deconv_status st = th_conv_run(c, NULL, c->ref);
    CHECK(st == DECONV_OK, "%s: reference failed with %d", what, (int)st);
    CHECK(case_workspace(c, ctx3) == 0, "%s: reference plan should need no workspace", what);
    float *o1 = malloc((size_t)c->yn * sizeof(float));
    float *o3 = malloc((size_t)c->yn * sizeof(float));
    float *o0 = malloc((size_t)c->yn * sizeof(float));
    g_cases++;
    uint64_t split_rng = (uint64_t)g_cases * 0x9E3779B97F4A7C15ull;
    check_split(c, &split_rng, what);
    check_row_order(c, what);
    for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
        if (!dc_fast_isa_supported(isa)) continue;
        CHECK(dc_fast_force_isa(isa), "cannot force supported isa %d", isa);
#if defined(__x86_64__) || defined(__i386__)
        if (isa == DC_ISA_AVX512)
            tally_level(c, "avx512", DC_AVX512_GEMM_NR, DC_AVX512_SHORT_MR, DC_AVX512_WIDE_NR);
#endif
#if defined(__aarch64__)
        if (isa == DC_ISA_NEON) tally_level(c, "neon", DC_NEON_GEMM_NR, DC_NEON_GEMM_MR, 0);
#endif
        tally_dot1(c, isa);
        tally_split(c);
        const size_t ws = case_workspace(c, ctx3);
        const int claimed = ws > 0 && ws != (size_t)-1;
        /* channels-first runs as its channels-last twin (relayout.c, suite_relayout) */
        CHECK(claimed, "%s [%s]: fast path did not claim the problem", what,
              dc_fast_isa_name(isa));
        g_fast_claimed += claimed;
        th_poison(o1, c->yn);
        th_poison(o3, c->yn);
        th_poison(o0, c->yn);
        CHECK(th_conv_run(c, ctx1, o1) == DECONV_OK, "%s: 1 thread failed", what);
        CHECK(th_conv_run(c, ctx3, o3) == DECONV_OK, "%s: 3 threads failed", what);
        CHECK(th_conv_run(c, NULL, o0) == DECONV_OK, "%s: NULL context failed", what);
        int64_t at = 0;
        /* apart from the CHECK: its arguments (at) may be read before its condition runs */
        const int close = close_to_ref(c, o1, &at);
        if (!CHECK(close, "%s [%s]: y[%lld] = %.9g, reference %.9g", what,
                   dc_fast_isa_name(isa), (long long)at, (double)o1[at], (double)c->ref[at]))
            break;
        CHECK(memcmp(o1, o3, (size_t)c->yn * sizeof(float)) == 0,
              "%s [%s]: 1 and 3 threads differ", what, dc_fast_isa_name(isa));
        CHECK(memcmp(o1, o0, (size_t)c->yn * sizeof(float)) == 0,
              "%s [%s]: context and NULL context differ", what, dc_fast_isa_name(isa));
    }
    dc_fast_force_isa(-1);
    free(o0);
    free(o1);
    free(o3);
}

static void random_cases(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0x5eedfa57ull;
    int done = 0, tries = 0;
    while (done < 300 && tries < 20000) {
        tries++;
        fcase c;
        const int transposed = (int)th_rand_int(&rng, 0, 1);
        const int sr = (int)(th_rand_int(&rng, 0, 5) < 4 ? 2 : th_rand_int(&rng, 1, 3));
        const deconv_layout layout =
            th_rand_int(&rng, 0, 7) == 0 ? DECONV_CHANNELS_FIRST : DECONV_CHANNELS_LAST;
        const deconv_padding pad = (deconv_padding)th_rand_int(&rng, 0, 2);
        int64_t in_sp[3], k[3], s[3], d[3], pads[6];
        for (int i = 0; i < sr; i++) {
            in_sp[i] = th_rand_int(&rng, 1, sr == 3 ? 5 : 9);
            k[i] = th_rand_int(&rng, 1, sr == 3 ? 3 : 5);
            s[i] = th_rand_int(&rng, 1, 3);
            d[i] = th_rand_int(&rng, 0, 3) == 0 ? 2 : 1;
            pads[2 * i] = th_rand_int(&rng, 0, 2);
            pads[2 * i + 1] = th_rand_int(&rng, 0, 2);
        }
        const int64_t groups = th_rand_int(&rng, 0, 3) == 0 ? th_rand_int(&rng, 2, 3) : 1;
        /* Channel counts around every tail of 8 and 16 lanes and the 1..3-channel kernels. */
        /* A third of the cases is large enough to be split over threads (tiny problems run
         * as one unit on the calling thread). */
        const int big = th_rand_int(&rng, 0, 2) == 0;
        const int64_t cin_g = big ? th_rand_int(&rng, 17, 48) : th_rand_int(&rng, 1, 20);
        const int64_t cout_g = th_rand_int(&rng, 0, 2) == 0 ? th_rand_int(&rng, 1, 4)
                                                            : th_rand_int(&rng, 1, 40);
        const int bias = (int)th_rand_int(&rng, 0, 1);
        const deconv_activation act =
            th_rand_int(&rng, 0, 2) == 0 ? TH_ACTS[th_rand_int(&rng, 0, TH_NACTS - 1)] : DECONV_ACTIVATION_NONE;
        const int64_t n = th_rand_int(&rng, 1, big ? 4 : 3);
        if (!make_case(&c, &rng, transposed, sr, layout, n, in_sp, cin_g, cout_g, groups, k, s, d,
                       pad, pads, bias, act)) {
            th_conv_free(&c);
            continue;
        }
        char what[160];
        snprintf(what, sizeof what,
                 "random #%d %s rank %d %s pad %d n %lld cin_g %lld cout_g %lld groups %lld",
                 done, transposed ? "transpose" : "conv", sr,
                 layout == DECONV_CHANNELS_LAST ? "NHWC" : "NCHW", (int)pad, (long long)n,
                 (long long)cin_g, (long long)cout_g, (long long)groups);
        check_case(&c, ctx1, ctx3, what);
        th_conv_free(&c);
        done++;
    }
    CHECK(done == 300, "only %d random cases were valid in %d tries", done, tries);
}

/* Larger channel counts: channel blocking (several kc blocks, with a tail) for both kernel
 * kinds, suite-like shapes scaled down. */
static void fixed_cases(deconv_context *ctx1, deconv_context *ctx3) {
    static const struct {
        int transposed;
        int64_t n, h, w, cin, cout, k, s;
        deconv_padding pad;
    } cases[] = {
        {0, 1, 6, 7, 300, 37, 3, 1, DECONV_PADDING_SAME},   /* gemm, kc blocks + tail */
        {1, 2, 4, 4, 300, 20, 5, 2, DECONV_PADDING_SAME},   /* transposed gemm, blocks */
        {1, 2, 5, 5, 700, 3, 3, 2, DECONV_PADDING_SAME},    /* dot, kc blocks */
        {0, 2, 6, 5, 700, 2, 3, 2, DECONV_PADDING_VALID},   /* conv dot, kc blocks */
        {1, 2, 8, 8, 128, 3, 5, 2, DECONV_PADDING_SAME},    /* dcgan4-like */
        {1, 4, 7, 7, 32, 1, 3, 2, DECONV_PADDING_SAME},     /* mnist_k3s2-like */
        {1, 1, 3, 3, 4, 2, 3, 2, DECONV_PADDING_SAME},      /* seed_small */
        {1, 1, 8, 8, 64, 48, 2, 2, DECONV_PADDING_VALID},   /* unet_up-like */
        {0, 2, 9, 9, 1, 32, 5, 1, DECONV_PADDING_SAME},     /* lenet_c1-like */
        {0, 2, 8, 8, 24, 40, 3, 2, DECONV_PADDING_SAME},    /* down_s2-like */
        {1, 1, 2, 2, 16, 16, 1, 3, DECONV_PADDING_VALID},   /* phases with no taps */
        {1, 1, 40, 40, 8, 3, 5, 2, DECONV_PADDING_SAME},    /* conv_col: several row bands */
        {1, 1, 60, 64, 5, 4, 4, 3, DECONV_PADDING_VALID},   /* conv_col: bands, stride 3 */
        {0, 3, 30, 20, 2, 20, 5, 2, DECONV_PADDING_SAME},   /* im2col, stride 2, blocks */
        {0, 1, 300, 260, 1, 5, 3, 1, DECONV_PADDING_SAME},  /* im2col, image too big to pad */
        {0, 3, 28, 28, 1, 32, 5, 1, DECONV_PADDING_SAME},   /* im2col: lenet_c1 lines of 4x7 */
        {0, 2, 14, 14, 2, 56, 3, 1, DECONV_PADDING_SAME},   /* im2col: 14-pixel lines, nr tail */
        {0, 1, 10, 44, 1, 20, 3, 1, DECONV_PADDING_VALID},  /* im2col: 42-pixel lines */
        {1, 1, 6, 5, 20, 1, 3, 2, DECONV_PADDING_SAME},     /* dot1: padded channels, bands */
        {0, 2, 9, 8, 24, 1, 3, 2, DECONV_PADDING_VALID},    /* dot1: conv, stride 2 */
        {1, 2, 5, 7, 9, 1, 4, 3, DECONV_PADDING_SAME},      /* dot1: stride 3, unequal phases */
        {1, 3, 11, 9, 16, 1, 5, 1, DECONV_PADDING_VALID},   /* dot1: stride 1, 25 taps */
        {1, 2, 5, 7, 12, 1, 3, 2, DECONV_PADDING_VALID},    /* dot1 pairs, odd width 15 */
        {1, 2, 4, 12, 8, 1, 3, 2, DECONV_PADDING_SAME},     /* dot1 pairs, groups of 7 */
        {1, 2, 4, 11, 8, 1, 3, 2, DECONV_PADDING_SAME},     /* pairs, 7-row groups, last 8 wide */
        {1, 1, 3, 36, 8, 1, 3, 2, DECONV_PADDING_SAME},     /* pairs, 8-row groups, last 8 wide */
        {1, 1, 70, 70, 16, 1, 3, 2, DECONV_PADDING_SAME},   /* one channel, too big to pad */
        {0, 2, 9, 8, 24, 2, 3, 2, DECONV_PADDING_VALID},    /* dotn: conv, padded channels */
        {1, 2, 5, 7, 16, 4, 4, 3, DECONV_PADDING_SAME},     /* dotn: 4 channels, stride 3 */
        {1, 3, 11, 9, 32, 3, 5, 1, DECONV_PADDING_VALID},   /* dotn: stride 1, 25 taps */
        {1, 1, 9, 13, 48, 2, 3, 2, DECONV_PADDING_SAME},    /* dotn: bands, partial groups */
        {1, 1, 70, 70, 64, 2, 3, 2, DECONV_PADDING_SAME},   /* 2 channels, too big to pad */
        {0, 2, 9, 11, 24, 1, 3, 1, DECONV_PADDING_SAME},    /* planes: conv, 9 taps */     
        {0, 1, 20, 37, 40, 1, 5, 1, DECONV_PADDING_VALID},  /* planes: conv, 25 taps, bands */
        {0, 3, 6, 30, 17, 1, 4, 1, DECONV_PADDING_SAME},    /* planes: conv, even kernel */
        {1, 2, 7, 7, 32, 1, 4, 2, DECONV_PADDING_SAME},     /* planes: 16 taps, 2 passes */
        {1, 2, 6, 9, 20, 1, 3, 1, DECONV_PADDING_SAME},     /* planes: one line phase */
        {1, 1, 9, 21, 33, 1, 5, 2, DECONV_PADDING_VALID},   /* planes: 41-wide lines, bands */
        {1, 2, 8, 8, 64, 3, 5, 2, DECONV_PADDING_SAME},     /* planes: dcgan4-like, 75 planes */
        {0, 1, 12, 10, 16, 4, 3, 1, DECONV_PADDING_SAME},   /* planes: conv, 4 channels */
        {1, 5, 14, 14, 32, 1, 3, 2, DECONV_PADDING_SAME},   /* planes: mnist_k3s2, streamed */
        {0, 4, 7, 9, 16, 1, 3, 1, DECONV_PADDING_SAME},     /* planes: conv, streamed */
        {1, 6, 5, 7, 24, 3, 3, 2, DECONV_PADDING_SAME},     /* planes: 3 channels, streamed */
        {0, 2, 10, 9, 20, 2, 3, 2, DECONV_PADDING_SAME},    /* dotn (every level): conv s2 */
        {1, 1, 6, 5, 17, 2, 3, 3, DECONV_PADDING_SAME},     /* dotn (every level): stride 3 */
        {0, 1, 7, 9, 20, 64, 3, 1, DECONV_PADDING_SAME},    /* 6x64 tile: conv, whole tiles */
        {0, 2, 5, 6, 40, 120, 3, 2, DECONV_PADDING_SAME},   /* 6x64: partial last tile */
        {0, 1, 6, 6, 16, 60, 3, 1, DECONV_PADDING_VALID},   /* 6x64: one partial tile */
        {0, 1, 5, 7, 8, 184, 1, 1, DECONV_PADDING_SAME},    /* 6x64: 3 tiles, 1x1 kernel */
        {1, 1, 4, 5, 24, 64, 4, 2, DECONV_PADDING_SAME},    /* 6x64: transposed, phases */
        {1, 2, 3, 3, 600, 128, 3, 2, DECONV_PADDING_SAME},  /* 6x64: kc blocks */
        /* 6x64 conv, 9 taps: 9 x 64 x 300 floats of weights are past the one-block limit
         * (128 K), so channel blocks; 9 x 64 x 128 are within it, so one block (vgg3x3) */
        {0, 1, 5, 6, 300, 64, 3, 1, DECONV_PADDING_SAME},
        {0, 1, 6, 7, 128, 64, 3, 1, DECONV_PADDING_SAME},
        {0, 8, 5, 5, 16, 64, 3, 1, DECONV_PADDING_SAME},    /* tiles of one position, 6x64 */
        {0, 13, 4, 3, 8, 40, 3, 1, DECONV_PADDING_VALID},   /* one position, 8x32 */
        {1, 9, 3, 3, 16, 64, 3, 2, DECONV_PADDING_SAME},    /* one position, transposed */
        {0, 20, 5, 5, 16, 64, 3, 1, DECONV_PADDING_SAME},   /* 3 one-position tiles share */
        {1, 14, 3, 3, 16, 64, 3, 2, DECONV_PADDING_SAME},   /* 2 share, transposed */
        /* rows enough for a block per thread (3 threads: > 2 x 576): the rows are split at
         * equal work (conv_split.c), conv and transposed, images innermost (outermost: the
         * grouped cases after this table) */
        {0, 4, 40, 36, 8, 24, 3, 2, DECONV_PADDING_SAME},
        {1, 3, 22, 22, 8, 16, 4, 2, DECONV_PADDING_SAME},
        /* MERGED_CASE: 676 rows per phase (two row blocks) whose 16 x 56 x 64-float panels
         * are past the stateless cache, so one block per (phase, tile) (geo.merged); 4 taps
         * per phase and dim with 56 input channels, so not Winograd (conv_wino.c takes such
         * parts from 64) */
        {1, 4, 13, 13, 56, 128, 8, 2, DECONV_PADDING_SAME},
    };
    enum { MERGED_CASE = sizeof cases / sizeof cases[0] - 1 };
    uint64_t rng = 0xf1edull;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int bias = 0; bias <= 1; bias++) {
            fcase c;
            const int64_t sp[2] = {cases[i].h, cases[i].w}, k[2] = {cases[i].k, cases[i].k};
            const int64_t s[2] = {cases[i].s, cases[i].s}, d[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
            const int ok = make_case(&c, &rng, cases[i].transposed, 2, DECONV_CHANNELS_LAST,
                                     cases[i].n, sp, cases[i].cin, cases[i].cout, 1, k, s, d,
                                     cases[i].pad, pads, bias,
                                     bias ? DECONV_ACTIVATION_RELU : DECONV_ACTIVATION_NONE);
            CHECK(ok, "fixed case %d is not valid", (int)i);
            if (ok) {
                char what[64];
                snprintf(what, sizeof what, "fixed case %d bias %d", (int)i, bias);
                check_case(&c, ctx1, ctx3, what);
                if (i == MERGED_CASE && !bias) check_merged(&c);
            }
            th_conv_free(&c);
        }
    }
    /* The same with the images outermost (few output channels per group: the dot kernels),
     * conv and transposed */
    for (int transposed = 0; transposed <= 1; transposed++) {
        fcase c;
        const int64_t sp[2] = {transposed ? 26 : 30, transposed ? 25 : 29}, k[2] = {3, 3};
        const int64_t s[2] = {1 + transposed, 1 + transposed}, d[2] = {1, 1}, pads[4] = {0};
        const int ok = make_case(&c, &rng, transposed, 2, DECONV_CHANNELS_LAST, 2, sp, 8, 2, 2,
                                 k, s, d, DECONV_PADDING_SAME, pads, 1, DECONV_ACTIVATION_NONE);
        CHECK(ok, "grouped dot case %d is not valid", transposed);
        if (ok) check_case(&c, ctx1, ctx3, transposed ? "grouped dot, transposed" : "grouped dot");
        th_conv_free(&c);
    }
}

/* The fast path takes its scratch from the context: a caller workspace of exactly the queried
 * size is enough, one byte less is refused before anything is written. */
static void workspace_cases(deconv_context *ctx3) {
    uint64_t rng = 0x3a3a;
    fcase c;
    const int64_t sp[2] = {6, 6}, k[2] = {3, 3}, s[2] = {2, 2}, d[2] = {1, 1}, pads[4] = {0};
    if (!CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 2, sp, 20, 24, 1, k, s, d,
                         DECONV_PADDING_SAME, pads, 1, DECONV_ACTIVATION_NONE),
               "workspace case invalid")) {
        th_conv_free(&c);
        return;
    }
    const size_t ws = case_workspace(&c, ctx3);
    CHECK(ws > 0 && ws != (size_t)-1, "fast path should report workspace, got %zu", ws);
    void *mem = malloc(ws);
    float *out = malloc((size_t)c.yn * sizeof(float));
    dc_fast_force_isa(DC_FAST_OFF);
    th_conv_run(&c, NULL, c.ref);
    dc_fast_force_isa(-1);
    CHECK(deconv_context_set_workspace(ctx3, mem, ws - 1, NULL) == DECONV_OK, "set workspace");
    th_poison(out, c.yn);
    CHECK(th_conv_run(&c, ctx3, out) == DECONV_ERR_WORKSPACE_TOO_SMALL,
          "a workspace one byte short must be refused");
    CHECK(th_is_poisoned(out, c.yn), "output written although the workspace was too small");
    CHECK(deconv_context_set_workspace(ctx3, mem, ws, NULL) == DECONV_OK, "set workspace");
    CHECK(th_conv_run(&c, ctx3, out) == DECONV_OK, "exact workspace must be enough");
    int64_t at = 0;
    CHECK(close_to_ref(&c, out, &at), "caller workspace: y[%lld] = %g, reference %g",
          (long long)at, (double)out[at], (double)c.ref[at]);
    CHECK(deconv_context_set_workspace(ctx3, NULL, 0, NULL) == DECONV_OK, "unset workspace");
    free(out);
    free(mem);
    th_conv_free(&c);
}

/* An inf or NaN weight makes a stateless call run the reference (the fast kernels would
 * multiply it by padding's zeros: NaN). The implicit GEMM and Winograd (the last two cases)
 * check the weights as they pack them (plan.checks_weights), and the call then runs again on
 * the reference; the other drivers' calls scan the filter first. Either way the output must be the reference's, bit for bit,
 * at every level and thread count. The bad weight sits on a tap that meets padding, so a
 * fast result would differ. */
static void nonfinite_weight_cases(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0x1f1f;
    const int64_t d[3] = {1, 1, 1}, pads[6] = {0};
    static const struct {
        int transposed, sr;
        int64_t n, sp, cin, cout, groups, k, s;
    } C[] = {
        {0, 2, 2, 6, 16, 40, 1, 3, 1},  {1, 2, 2, 5, 20, 24, 1, 3, 2},
        {0, 2, 2, 7, 12, 20, 2, 3, 2},  {1, 1, 2, 9, 24, 70, 1, 4, 2},
        {0, 3, 2, 4, 8, 33, 1, 3, 1},   {1, 2, 2, 6, 16, 3, 1, 3, 2},
        {0, 2, 2, 8, 24, 1, 1, 3, 1},   {0, 2, 2, 16, 32, 32, 1, 3, 1},
        {1, 2, 8, 8, 32, 40, 1, 4, 2},
    };
    int checked = 0, total = 0, wino = 0;
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++)
        for (int v = 0; v < 2; v++) {
            fcase c;
            const int64_t sp[3] = {C[i].sp, C[i].sp, C[i].sp}, k[3] = {C[i].k, C[i].k, C[i].k};
            const int64_t s[3] = {C[i].s, C[i].s, C[i].s};
            if (!CHECK(make_case(&c, &rng, C[i].transposed, C[i].sr, DECONV_CHANNELS_LAST, C[i].n,
                                 sp, C[i].cin, C[i].cout, C[i].groups, k, s, d,
                                 DECONV_PADDING_SAME, pads, v, DECONV_ACTIVATION_NONE),
                       "non-finite case %zu invalid", i)) {
                th_conv_free(&c);
                continue;
            }
            /* a conv's first tap reads padding at the first output row; a transposed conv's
             * last tap at its first (SAME puts the odd pad at its start) */
            int64_t taps = 1;
            for (int j = 0; j < C[i].sr; j++) taps *= C[i].k;
            const int64_t per_tap = c.wn / taps;
            const int64_t tap = C[i].transposed ? taps - 1 : 0;
            c.wd[tap * per_tap + th_rand_int(&rng, 0, per_tap - 1)] = v ? NAN : -INFINITY;
            dc_fast_force_isa(DC_FAST_OFF);
            CHECK(th_conv_run(&c, NULL, c.ref) == DECONV_OK, "non-finite %zu: reference", i);
            float *o = malloc((size_t)c.yn * sizeof(float));
            for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
                if (!dc_fast_isa_supported(isa)) continue;
                dc_fast_force_isa(isa);
                dc_conv_problem pr;
                dc_conv_plan plan;
                total++;
                const int fast = fast_plan(&c, &pr, &plan);
                checked += fast && plan.checks_weights;
                wino += fast && strstr(plan.name, "wino") != NULL;
                deconv_context *ctxs[3] = {ctx1, ctx3, NULL};
                for (int t = 0; t < 3; t++) {
                    th_poison(o, c.yn);
                    CHECK(th_conv_run(&c, ctxs[t], o) == DECONV_OK, "non-finite %zu: run", i);
                    CHECK(memcmp(o, c.ref, (size_t)c.yn * sizeof(float)) == 0,
                          "non-finite case %zu (%s weight) [%s], context %d: not the "
                          "reference's output",
                          i, v ? "NaN" : "-inf", dc_fast_isa_name(isa), t);
                }
            }
            dc_fast_force_isa(-1);
            free(o);
            th_conv_free(&c);
        }
    /* both ways ran: the implicit GEMM's check during the run, and the scan first */
    CHECK(checked >= 8 && checked < total, "non-finite weights: %d of %d level runs on a plan "
          "that checks as it packs", checked, total);
    CHECK(wino >= 4, "non-finite weights: only %d level runs on Winograd", wino);
}

void suite_fast(void) {
    deconv_context *ctx1 = NULL, *ctx3 = NULL;
    CHECK(deconv_context_create(1, &ctx1, NULL) == DECONV_OK, "context 1");
    CHECK(deconv_context_create(3, &ctx3, NULL) == DECONV_OK, "context 3");
    CHECK(dc_fast_isa_supported(DC_ISA_PORTABLE), "the portable level always exists");
    CHECK(!dc_fast_force_isa(DC_ISA_COUNT), "forcing an unknown level must be refused");
    g_cases = g_fast_claimed = g_split_moved = g_split_driver = g_order_edges = 0;
    memset(g_dotn, 0, sizeof g_dotn);
    memset(g_dotn_tail, 0, sizeof g_dotn_tail);
    memset(g_dotn_bands, 0, sizeof g_dotn_bands);
    memset(g_planes, 0, sizeof g_planes);
    fixed_cases(ctx1, ctx3);
    random_cases(ctx1, ctx3);
    workspace_cases(ctx3);
    nonfinite_weight_cases(ctx1, ctx3);
    CHECK(g_fast_claimed >= g_cases / 2, "fast paths claimed only %d of %d cases", g_fast_claimed,
          g_cases);
    CHECK(g_order_edges >= 20, "only %d phases put edge columns last", g_order_edges);
    CHECK(g_split_moved >= 20, "the weighted split moved a thread boundary in only %d cases",
          g_split_moved);
    CHECK(g_split_driver >= 6, "the implicit GEMM split its rows per thread in only %d level "
          "runs", g_split_driver);
    for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
        if (!dc_fast_isa_supported(isa)) continue;
        CHECK(g_dot1[isa] >= 10 && g_dot1_tail[isa] >= 3 && g_dot1_bands[isa] >= 2,
              "[%s] conv_dot1 too little exercised: %d cases, %d with a partial group, %d in bands",
              dc_fast_isa_name(isa), g_dot1[isa], g_dot1_tail[isa], g_dot1_bands[isa]);
        const int *n = g_dotn[isa];
        CHECK(n[2] >= 8 && n[3] >= 8 && n[4] >= 8 && g_dotn_tail[isa] >= 10 &&
                  g_dotn_bands[isa] >= 5 && n[0] == 0 && n[1] == 0,
              "[%s] dotn too little exercised: %d, %d, %d cases with 2, 3, 4 output channels, "
              "%d with a partial group, %d in bands, %d with other counts",
              dc_fast_isa_name(isa), n[2], n[3], n[4], g_dotn_tail[isa], g_dotn_bands[isa],
              n[0] + n[1]);
#if defined(__x86_64__) || defined(__i386__)
        if (isa != DC_ISA_AVX2 && isa != DC_ISA_AVX512) continue; /* the levels with planes */
        const planes_tally *pl = &g_planes[isa];
        /* 2..4 output channels: where the level's planes kernels take them (AVX-512) */
        const int multi_want =
            (isa == DC_ISA_AVX512 ? DC_PLANES_AVX512.max_nc : DC_PLANES_AVX2.max_nc) > 1 ? 10 : 0;
        CHECK(pl->cases >= 25 && pl->pairs >= 12 && pl->convs >= 6 &&
                  pl->cases - pl->pairs - pl->convs >= 2 && pl->pixel_tail >= 10 &&
                  pl->chan_tail >= 10 && pl->passes >= 6 && pl->bands >= 10 &&
                  pl->multi >= multi_want && (multi_want > 0 || pl->multi == 0) &&
                  pl->streams >= 4,
              "[%s] conv_planes too little exercised: %d cases, %d with two line phases, %d "
              "convs, %d with a partial pixel block, %d with a channel tail, %d with several "
              "plane passes, %d in bands, %d with 2..4 output channels, %d streamed",
              dc_fast_isa_name(isa), pl->cases, pl->pairs, pl->convs, pl->pixel_tail,
              pl->chan_tail, pl->passes, pl->bands, pl->multi, pl->streams);
#endif
    }
    const kernel_tally *t = &g_level_tally;
#if defined(__x86_64__) || defined(__i386__)
    /* Not a skip: on a CPU without AVX-512 the level does not exist, and the runner says so. */
    if (dc_fast_isa_supported(DC_ISA_AVX512)) {
        CHECK(t->gemm >= 20 && t->col >= 1 && t->im2col >= 5 && t->tail >= 10 &&
                  t->im2col_lines >= 5 && t->im2col - t->im2col_lines >= 2 &&
                  t->im2col_unrolled >= 5 && t->im2col - t->im2col_unrolled >= 2 &&
                  t->wide >= 10 && t->wide_tail >= 3 && t->batched >= 4,
              "AVX-512 kernels too little exercised: gemm %d, col %d, im2col %d (%d with lines "
              "of whole 7-row tiles, %d with tap rows of at most 9 floats), partial tiles %d, "
              "6x64 %d (%d with a partial tile), implicit GEMM with 8+ images %d",
              t->gemm, t->col, t->im2col, t->im2col_lines, t->im2col_unrolled, t->tail, t->wide,
              t->wide_tail, t->batched);
    } else {
        printf("suite_fast: this CPU has no AVX-512F; the avx512 level is not tested here\n");
    }
#endif
#if defined(__aarch64__)
    CHECK(dc_fast_isa_supported(DC_ISA_NEON), "every AArch64 CPU has the NEON level");
    CHECK(t->gemm >= 20 && t->col >= 1 && t->im2col >= 1 && t->tail >= 10,
          "NEON kernel too little exercised: gemm %d, col %d, im2col %d, partial tiles %d",
          t->gemm, t->col, t->im2col, t->tail);
#endif
    deconv_context_destroy(ctx1);
    deconv_context_destroy(ctx3);
}
