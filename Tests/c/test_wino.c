/* test_wino.c - conv_wino.c (Winograd F(2, 3) / F(2, 2) per dim and part: convs at any
 * stride as parts per input phase, kernels longer than 3 cut into parts, transposed convs by
 * sub-pixel phase) through the public API at every supported ISA level: the plan really is
 * Winograd; results within the fast paths' 1e-4 of the reference and, without a squashing
 * activation, within 2e-6 of the largest output; 1 and 3 threads and the prepared run
 * bitwise equal; partial tiles (odd output sizes), parts of 1, 2 and 3 taps, output-channel
 * tails, GEMM rows across images, every padding mode, bias and activation; and the tiles it
 * must compute directly: non-finite or huge inputs (same non-finite pattern as the
 * reference) and huge weights. */
#include "harness.h"
#include "conv_case.h"
#include "fast/fast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct wcase {
    int transposed;
    int64_t n, h, w, cin, cout, k, s;
    deconv_padding pad;
    int64_t pads[4]; /* EXPLICIT: top, bottom, left, right */
    deconv_activation act;
} wcase;

static int setup(th_conv *r, const wcase *c, uint64_t *rng) {
    memset(r, 0, sizeof *r);
    deconv_conv_params prm = DECONV_CONV_PARAMS_INIT;
    prm.padding = c->pad;
    for (int i = 0; i < 4; i++) prm.pads[i] = c->pads[i];
    prm.activation = c->act;
    prm.strides[0] = prm.strides[1] = c->s;
    r->prm = prm;
    r->transposed = c->transposed;
    r->x = (deconv_shape){4, {c->n, c->h, c->w, c->cin}};
    r->w = c->transposed ? (deconv_shape){4, {c->k, c->k, c->cout, c->cin}}
                         : (deconv_shape){4, {c->k, c->k, c->cin, c->cout}};
    int64_t pads[6];
    if (c->transposed) {
        const int same = c->pad == DECONV_PADDING_SAME;
        r->y = (deconv_shape){4, {c->n, same ? c->h * c->s : (c->h - 1) * c->s + c->k,
                                  same ? c->w * c->s : (c->w - 1) * c->s + c->k, c->cout}};
    } else if (deconv_conv_output_shape(&r->prm, &r->x, &r->w, &r->y, pads, NULL) != DECONV_OK) {
        return 0;
    }
    r->xn = th_count(&r->x);
    r->wn = th_count(&r->w);
    r->bn = c->act != DECONV_ACTIVATION_NONE ? c->cout : 0;
    r->yn = th_count(&r->y);
    r->xd = th_rand_buf(rng, r->xn);
    r->wd = th_rand_buf(rng, r->wn);
    r->bd = r->bn ? th_rand_buf(rng, r->bn) : NULL;
    return 1;
}

/* The plan the current level picks for r. */
static const char *plan_name(const th_conv *r) {
    dc_conv_problem pr;
    dc_conv_plan plan;
    if (dc_conv_prepare(&r->prm, &r->x, &r->w, r->transposed ? &r->y : NULL, r->transposed, &pr,
                        NULL) != DECONV_OK)
        return "";
    return dc_fast_conv_plan(&pr, 1, &plan) ? plan.name : "";
}

/* got matches ref: the same NaN / infinity, or within 1e-4 (relative above 1). */
static int matches(float ref, float got) {
    if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got);
    if (isinf(ref) || isinf(got)) return ref == got;
    return fabs((double)ref - got) <= 1e-4 * (fabs(ref) > 1.0 ? fabs(ref) : 1.0);
}

/* Runs r at every level (or at level `only` alone, if >= 0), which must plan it on a driver
 * whose name starts with `prefix`: close to the reference, 1 and 3 threads and the prepared
 * run bitwise equal. Returns the number of levels that ran it. */
static int check_levels(const th_conv *r, deconv_context *ctx1, deconv_context *ctx3,
                        const char *what, const char *prefix, int only) {
    float *ref = malloc((size_t)r->yn * sizeof(float)), *o1 = malloc((size_t)r->yn * sizeof(float));
    float *o3 = malloc((size_t)r->yn * sizeof(float)), *op = malloc((size_t)r->yn * sizeof(float));
    int levels = 0;
    dc_fast_force_isa(DC_FAST_OFF);
    CHECK(th_conv_run(r, NULL, ref) == DECONV_OK, "%s: reference failed", what);
    for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
        if (!dc_fast_isa_supported(isa) || (only >= 0 && isa != only)) continue;
        dc_fast_force_isa(isa);
        const char *name = plan_name(r);
        if (!CHECK(strncmp(name, prefix, strlen(prefix)) == 0, "%s [%s]: planned %s, not %s*",
                   what, dc_fast_isa_name(isa), name, prefix))
            continue;
        levels++;
        th_poison(o1, r->yn);
        th_poison(o3, r->yn);
        th_poison(op, r->yn);
        CHECK(th_conv_run(r, ctx1, o1) == DECONV_OK, "%s: 1 thread failed", what);
        CHECK(th_conv_run(r, ctx3, o3) == DECONV_OK, "%s: 3 threads failed", what);
        deconv_prepared_conv *pc = NULL;
        const deconv_status pst =
            r->transposed ? deconv_prepared_conv_transpose_create(&r->prm, &r->x, &r->w, r->wd,
                                                                  r->wn, &r->y, &pc, NULL)
                          : deconv_prepared_conv_create(&r->prm, &r->x, &r->w, r->wd, r->wn,
                                                        &pc, NULL);
        CHECK(pst == DECONV_OK, "%s: prepare failed", what);
        CHECK(deconv_prepared_conv_run(ctx3, pc, r->xd, r->xn, r->bd, r->bn, op, r->yn, NULL) ==
                  DECONV_OK,
              "%s: prepared run failed", what);
        deconv_prepared_conv_destroy(pc);
        int64_t bad = -1;
        for (int64_t i = 0; i < r->yn && bad < 0; i++)
            if (!matches(ref[i], o1[i])) bad = i;
        /* Winograd's rounding, against the largest finite output (without a squashing
         * activation, which shrinks the outputs but not the sums' rounding): TF conformance
         * allows 1e-5 of it; these cases measured at most 3.7e-7 */
        double scale = 0, err = 0;
        for (int64_t i = 0; i < r->yn; i++)
            if (isfinite(ref[i]) && isfinite(o1[i])) {
                scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
                err = fabs((double)ref[i] - o1[i]) > err ? fabs((double)ref[i] - o1[i]) : err;
            }
        const int squash = r->prm.activation != DECONV_ACTIVATION_NONE &&
                           r->prm.activation != DECONV_ACTIVATION_RELU;
        CHECK(squash || err <= 2e-6 * scale, "%s [%s]: error %.3g of the largest output %.3g",
              what, dc_fast_isa_name(isa), err, scale);
        CHECK(bad < 0, "%s [%s]: y[%lld] = %.9g, reference %.9g", what, dc_fast_isa_name(isa),
              (long long)bad, bad < 0 ? 0.0 : (double)o1[bad], bad < 0 ? 0.0 : (double)ref[bad]);
        CHECK(memcmp(o1, o3, (size_t)r->yn * sizeof(float)) == 0, "%s [%s]: 1 and 3 threads differ",
              what, dc_fast_isa_name(isa));
        CHECK(memcmp(o1, op, (size_t)r->yn * sizeof(float)) == 0,
              "%s [%s]: prepared and stateless differ", what, dc_fast_isa_name(isa));
    }
    dc_fast_force_isa(-1);
    free(ref);
    free(o1);
    free(o3);
    free(op);
    return levels;
}

/* Cases no level may plan on a driver whose name starts with `prefix`. */
static void check_not_planned(const wcase *cases, size_t n, const char *prefix, const char *what,
                              uint64_t *rng) {
    th_conv r;
    for (size_t i = 0; i < n; i++) {
        if (!CHECK(setup(&r, &cases[i], rng), "%s case %d is not valid", what, (int)i)) continue;
        for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
            if (!dc_fast_isa_supported(isa)) continue;
            dc_fast_force_isa(isa);
            CHECK(strncmp(plan_name(&r), prefix, strlen(prefix)) != 0,
                  "%s case %d [%s] planned %s*", what, (int)i, dc_fast_isa_name(isa), prefix);
        }
        dc_fast_force_isa(-1);
        th_conv_free(&r);
    }
}

/* conv_wino_few.c (3 output channels, 5 x 5 at stride 2, AVX-512 level only): odd sizes
 * (partial tiles and blocks), two blocks of 16 tiles, bands of tile rows (fewer than 4
 * images), both windows of the 2-tap phase (SAME: the same start; VALID: one later), bias
 * and activations; the inputs the transforms must not take (from their tile row on, the
 * reference) and a huge weight (the reference, whole); and what it leaves to others. */
static void few_cases(deconv_context *ctx1, deconv_context *ctx3, uint64_t *rng) {
    const int avx512 = dc_fast_isa_supported(DC_ISA_AVX512);
    const wcase cases[] = {
        {1, 8, 32, 32, 128, 3, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE}, /* dcgan4 */
        {1, 2, 7, 32, 32, 3, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 5, 6, 31, 48, 3, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_RELU},
        {1, 1, 9, 60, 32, 3, 5, 2, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_NONE},
        {1, 3, 5, 64, 64, 3, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_TANH},
        {1, 4, 3, 25, 32, 3, 5, 2, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_CLAMP},
    };
    int ran = 0;
    th_conv r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!CHECK(setup(&r, &cases[i], rng), "few case %d is not valid", (int)i)) continue;
        char what[32];
        snprintf(what, sizeof what, "few case %d", (int)i);
        ran += check_levels(&r, ctx1, ctx3, what, "fast-wino-few-", DC_ISA_AVX512);
        th_conv_free(&r);
    }
    CHECK(!avx512 || ran == (int)(sizeof cases / sizeof cases[0]),
          "few-channel Winograd ran only %d cases", ran);
    /* inf and NaN inputs and a huge finite one, in different images, bands and columns (the
     * last column's inf: only the lane past the block reads it; a NaN would give the
     * reference's NaN pattern anyway), then a huge weight */
    const wcase sc = {1, 3, 16, 32, 32, 3, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE};
    if (CHECK(setup(&r, &sc, rng), "few special case is not valid")) {
        const int64_t C = sc.cin, W = sc.w, img = sc.h * W * C;
        r.xd[(1 * W + 1) * C + 3] = INFINITY;
        r.xd[img + (4 * W + 30) * C + 0] = NAN;
        r.xd[(12 * W + 31) * C + 31] = INFINITY; /* the last column, image 0's second band */
        r.xd[2 * img + (5 * W + 31) * C + 7] = 3e30f;
        CHECK(!avx512 || check_levels(&r, ctx1, ctx3, "few: non-finite and huge inputs",
                                      "fast-wino-few-", DC_ISA_AVX512) == 1,
              "few special inputs not run");
        r.xd[(1 * W + 1) * C + 3] = 0.5f;
        r.xd[img + (4 * W + 30) * C + 0] = 0.5f;
        r.xd[(12 * W + 31) * C + 31] = 0.5f;
        r.xd[2 * img + (5 * W + 31) * C + 7] = 0.5f;
        r.wd[(3 * 5 + 1) * 3 * 32 + 40] = 1e15f; /* kernel position (3, 1), channel 1 */
        CHECK(!avx512 || check_levels(&r, ctx1, ctx3, "few: huge weight", "fast-wino-few-",
                                      DC_ISA_AVX512) == 1,
              "few huge weight not run");
        th_conv_free(&r);
    }
    /* left to others: 4 output channels, a 4 x 4 kernel, 24 input channels (not 16s), rows
     * of 8 tiles (half the lanes idle), stride 1 */
    const wcase no[] = {
        {1, 8, 32, 32, 128, 4, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 8, 32, 32, 128, 3, 4, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 8, 32, 32, 24, 3, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 8, 32, 16, 128, 3, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 8, 32, 32, 128, 3, 5, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
    };
    check_not_planned(no, sizeof no / sizeof no[0], "fast-wino-few-", "no-few", rng);
}

void suite_wino(void) {
    deconv_context *ctx1 = NULL, *ctx3 = NULL;
    CHECK(deconv_context_create(1, &ctx1, NULL) == DECONV_OK, "context 1");
    CHECK(deconv_context_create(3, &ctx3, NULL) == DECONV_OK, "context 3");
    /* {transposed, n, h, w, cin, cout, k, s, padding, pads, activation}; every phase needs
     * 128 GEMM rows (image x tile) to be claimed */
    const wcase cases[] = {
        {0, 10, 7, 9, 32, 32, 3, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},  /* odd */
        {0, 10, 10, 11, 48, 70, 3, 1, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_RELU},
        {0, 16, 6, 6, 40, 33, 3, 1, DECONV_PADDING_EXPLICIT, {2, 0, 1, 3}, DECONV_ACTIVATION_NONE},
        {0, 3, 16, 15, 64, 130, 3, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_TANH},
        {0, 7, 4, 62, 200, 32, 3, 1, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_CLAMP},
        {1, 12, 8, 8, 32, 40, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE}, /* dcgan */
        {1, 3, 15, 17, 48, 64, 4, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_RELU}, /* fcn */
        {1, 10, 9, 7, 32, 36, 3, 2, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_NONE}, /* 2, 1 */
        {1, 6, 12, 11, 33, 32, 3, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE}, /* s 1 */
        {1, 22, 5, 6, 32, 32, 7, 3, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE}, /* s 3 */
        {0, 10, 9, 10, 32, 32, 2, 1, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_NONE}, /* 2x2 */
        /* convs as several parts, summed per point (merge_points): 5 x 5 as 3 + 2 taps per
         * dim (points of alpha 4 and 3, the last negated), 4 x 4 as 3 + 1 (4 and 2), 5 x 5
         * at stride 2 as input phases of 2 and 3 taps, 7 x 7 as 3 + 3 + 1 (two parts on the
         * same points), and 3 x 3 at stride 2 as phases of 2 and 1 taps (3 and 2) */
        {0, 12, 8, 8, 128, 128, 5, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_RELU},
        {0, 5, 12, 13, 128, 130, 4, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {0, 12, 16, 15, 128, 128, 5, 2, DECONV_PADDING_EXPLICIT, {2, 1, 0, 3}, DECONV_ACTIVATION_NONE},
        {0, 9, 11, 13, 33, 40, 5, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {0, 7, 15, 13, 32, 47, 7, 1, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_RELU},
        {0, 6, 19, 17, 64, 70, 3, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {0, 6, 20, 18, 72, 64, 3, 2, DECONV_PADDING_EXPLICIT, {1, 0, 0, 1}, DECONV_ACTIVATION_TANH},
        {0, 7, 17, 16, 64, 66, 4, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        /* transposed phases of more than 3 taps, as parts: 5 taps at stride 1 (3 + 2), 4 and
         * 3 at stride 2 (7 x 7), 4 at stride 1 (3 + 1) */
        {1, 6, 9, 11, 32, 40, 5, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 12, 6, 7, 48, 33, 7, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_RELU},
        {1, 5, 8, 9, 64, 64, 4, 1, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_NONE},
    };
    uint64_t rng = 0x3141ull;
    int ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        th_conv r;
        if (!CHECK(setup(&r, &cases[i], &rng), "case %d is not valid", (int)i)) continue;
        char what[32];
        snprintf(what, sizeof what, "wino case %d", (int)i);
        ran += check_levels(&r, ctx1, ctx3, what, "fast-wino-", -1);
        th_conv_free(&r);
    }
    CHECK(ran >= (int)(sizeof cases / sizeof cases[0]), "Winograd ran only %d (case, level) pairs",
          ran);

    /* Tiles run directly: inf, -inf and NaN inputs (the reference's non-finite pattern, which
     * the transforms would turn into NaN where it has inf), a huge finite input (its products
     * fit a float only as direct sums), then a huge weight (every tile direct). */
    const wcase sc = {0, 10, 9, 8, 32, 36, 3, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE};
    th_conv r;
    if (CHECK(setup(&r, &sc, &rng), "special case is not valid")) {
        const int64_t C = sc.cin, W = sc.w;
        r.xd[(1 * W + 1) * C + 3] = INFINITY;
        r.xd[(4 * W + 6) * C + 0] = -INFINITY;
        r.xd[(7 * W + 2) * C + 31] = NAN;
        r.xd[(9 * 8 + 3 * W + 4) * C + 7] = 3e30f; /* image 1 */
        CHECK(check_levels(&r, ctx1, ctx3, "non-finite and huge inputs", "fast-wino-", -1) > 0,
              "special inputs not run");
        float *y = malloc((size_t)r.yn * sizeof(float));
        th_conv_run(&r, ctx1, y);
        int64_t infs = 0, nans = 0;
        for (int64_t i = 0; i < r.yn; i++) infs += isinf(y[i]) != 0, nans += isnan(y[i]) != 0;
        /* the inf and -inf reach 9 pixels x 36 channels each, as +-inf or NaN; the NaN 9 x 36 */
        CHECK(infs > 0 && nans >= 9 * 36, "special inputs: %lld inf, %lld NaN outputs",
              (long long)infs, (long long)nans);
        free(y);
        r.xd[(1 * W + 1) * C + 3] = 0.5f;
        r.xd[(4 * W + 6) * C + 0] = 0.5f;
        r.xd[(7 * W + 2) * C + 31] = 0.5f;
        r.xd[(9 * 8 + 3 * W + 4) * C + 7] = 0.5f;
        r.wd[5] = 1e15f;
        CHECK(check_levels(&r, ctx1, ctx3, "huge weight", "fast-wino-", -1) > 0,
              "huge weight not run");
        th_conv_free(&r);
    }
    /* A conv of several parts (5 x 5 at stride 2) with non-finite inputs: every part's patch
     * is checked before the parts' sums are added. */
    const wcase pc = {0, 10, 17, 15, 128, 128, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE};
    if (CHECK(setup(&r, &pc, &rng), "parts special case is not valid")) {
        r.xd[(2 * 15 + 4) * 128 + 5] = INFINITY;
        r.xd[(17 * 15 + 9 * 15 + 14) * 128 + 30] = NAN; /* image 1, last column */
        CHECK(check_levels(&r, ctx1, ctx3, "non-finite inputs, parts", "fast-wino-", -1) > 0,
              "parts special inputs not run");
        th_conv_free(&r);
    }
    /* A transposed conv with a huge weight in one kernel position: only the phases that read
     * it run direct (the flag is per phase, so it is the same whichever thread packs). */
    const wcase tc = {1, 12, 8, 8, 32, 40, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE};
    if (CHECK(setup(&r, &tc, &rng), "transposed special case is not valid")) {
        r.wd[(1 * 5 + 2) * 40 * 32 + 7] = 1e15f; /* kernel position (1, 2) */
        CHECK(check_levels(&r, ctx1, ctx3, "huge weight, transposed", "fast-wino-", -1) > 0,
              "transposed huge weight not run");
        th_conv_free(&r);
    }
    /* Where the rules leave the implicit GEMM (see dc_fast_wino_claims): 3 x 3 at stride 2
     * with 32 input or output channels, or with 2 tiles a dim (4 x 4 outputs), 4 x 4 kernels
     * with 32 channels (conv and transposed), too few rows per phase (dcgan1's 8 images x 4
     * tiles), 1-tap phases (unet_up's 2 x 2 at stride 2), a 1 x 1 conv. */
    const wcase no[] = {
        {0, 16, 16, 16, 32, 32, 4, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 16, 16, 16, 32, 64, 4, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {0, 8, 32, 32, 32, 128, 3, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {0, 8, 32, 32, 64, 32, 3, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {0, 32, 8, 8, 64, 64, 3, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 8, 4, 4, 64, 64, 5, 2, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
        {1, 1, 32, 32, 64, 64, 2, 2, DECONV_PADDING_VALID, {0}, DECONV_ACTIVATION_NONE},
        {0, 4, 16, 16, 64, 64, 1, 1, DECONV_PADDING_SAME, {0}, DECONV_ACTIVATION_NONE},
    };
    check_not_planned(no, sizeof no / sizeof no[0], "fast-wino-", "no-Winograd", &rng);
    few_cases(ctx1, ctx3, &rng);
    deconv_context_destroy(ctx1);
    deconv_context_destroy(ctx3);
}
