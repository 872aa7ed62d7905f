/* test_prepared.c - the prepared-weights API (deconv_prepared_conv_*): bitwise equal to the
 * stateless deconv_conv / deconv_conv_transpose at every ISA level, with 1, 3 and no threads,
 * after the caller's filter buffer is gone; the raw-weight paths (channels-first, non-finite
 * weights, empty tensors); every error path with outputs left untouched; concurrent runs of
 * one object from several threads. */
#include "harness.h"
#include "conv_case.h"

#include "deconv.h"
#include "fast/fast.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef th_conv pcase;

/* th_conv_make with this suite's sizes: spatial dim i of the input `in + i`, the same k, s
 * and d on every dim, random explicit pads (used when pad is EXPLICIT), outputs up to 300000
 * values, empty ones included. 0 when the configuration is not valid. */
static int make_case(pcase *c, uint64_t *rng, int transposed, int sr, deconv_layout layout,
                     int64_t n, int64_t in, int64_t cin_g, int64_t cout_g, int64_t groups,
                     int64_t k, int64_t s, int64_t d, deconv_padding pad, int bias,
                     deconv_activation act) {
    int64_t in_sp[3], kk[3], ss[3], dd[3], pads[6];
    for (int i = 0; i < sr; i++) {
        in_sp[i] = in + i;
        kk[i] = k;
        ss[i] = s;
        dd[i] = d;
        pads[2 * i] = th_rand_int(rng, 0, 2);
        pads[2 * i + 1] = th_rand_int(rng, 0, 2);
    }
    return th_conv_make(c, rng, transposed, sr, layout, n, in_sp, cin_g, cout_g, groups, kk, ss,
                        dd, pad, pads, bias, act, 300000, 1);
}

static deconv_status stateless(const pcase *c, deconv_context *ctx, const float *w, float *out) {
    if (c->transposed)
        return deconv_conv_transpose(ctx, &c->prm, &c->x, c->xd, c->xn, &c->w, w, c->wn, c->bd,
                                     c->bn, &c->y, out, c->yn, NULL);
    return deconv_conv(ctx, &c->prm, &c->x, c->xd, c->xn, &c->w, w, c->wn, c->bd, c->bn, out,
                       c->yn, NULL);
}

static deconv_status prepare(const pcase *c, const float *w, deconv_prepared_conv **pc,
                             deconv_error *err) {
    if (c->transposed)
        return deconv_prepared_conv_transpose_create(&c->prm, &c->x, &c->w, w, c->wn, &c->y, pc,
                                                     err);
    return deconv_prepared_conv_create(&c->prm, &c->x, &c->w, w, c->wn, pc, err);
}

static int g_compared;

/* At every supported ISA level (and with the fast path off): the prepared object, created
 * from a copy of the weights that is then overwritten and freed, run with 1, 3 and no
 * threads, gives exactly the bits of the stateless call. */
static void check_equal(const pcase *c, deconv_context *ctx1, deconv_context *ctx3,
                        const char *what) {
    float *want = malloc((size_t)(c->yn > 0 ? c->yn : 1) * sizeof(float));
    float *got = malloc((size_t)(c->yn > 0 ? c->yn : 1) * sizeof(float));
    for (int isa = DC_FAST_OFF; isa < DC_ISA_COUNT; isa++) {
        if (isa == -1 || (isa >= 0 && !dc_fast_isa_supported(isa))) continue;
        dc_fast_force_isa(isa);
        th_poison(want, c->yn);
        if (!CHECK(stateless(c, ctx1, c->wd, want) == DECONV_OK, "%s: stateless failed", what))
            break;
        /* the stateless call with 3 threads too (its packing differs: see the next cases) */
        th_poison(got, c->yn);
        CHECK(stateless(c, ctx3, c->wd, got) == DECONV_OK &&
                  memcmp(want, got, (size_t)c->yn * sizeof(float)) == 0,
              "%s [isa %d]: stateless with 1 and 3 threads differ", what, isa);
        float *wcopy = malloc((size_t)(c->wn > 0 ? c->wn : 1) * sizeof(float));
        memcpy(wcopy, c->wd, (size_t)c->wn * sizeof(float));
        deconv_prepared_conv *pc = NULL;
        deconv_error err;
        const deconv_status st = prepare(c, wcopy, &pc, &err);
        for (int64_t i = 0; i < c->wn; i++) wcopy[i] = 1e30f; /* the object must not look */
        free(wcopy);
        if (!CHECK(st == DECONV_OK && pc, "%s: create failed: %s", what, err.message)) break;
        deconv_context *ctxs[3] = {ctx1, ctx3, NULL};
        for (int t = 0; t < 3; t++) {
            th_poison(got, c->yn);
            CHECK(deconv_prepared_conv_run(ctxs[t], pc, c->xd, c->xn, c->bd, c->bn, got, c->yn,
                                           &err) == DECONV_OK,
                  "%s: run failed: %s", what, err.message);
            CHECK(memcmp(want, got, (size_t)c->yn * sizeof(float)) == 0,
                  "%s [isa %d, ctx %d]: prepared and stateless differ", what, isa, t);
            g_compared++;
        }
        deconv_prepared_conv_destroy(pc);
    }
    dc_fast_force_isa(-1);
    free(want);
    free(got);
}

static void random_cases(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0x9e9a4edull;
    int done = 0, tries = 0;
    while (done < 80 && tries < 5000) {
        tries++;
        pcase c;
        const int transposed = (int)th_rand_int(&rng, 0, 1);
        const int sr = (int)(th_rand_int(&rng, 0, 3) ? 2 : th_rand_int(&rng, 1, 3));
        const deconv_layout layout =
            th_rand_int(&rng, 0, 5) == 0 ? DECONV_CHANNELS_FIRST : DECONV_CHANNELS_LAST;
        const int big = th_rand_int(&rng, 0, 3) == 0;
        const int ok = make_case(
            &c, &rng, transposed, sr, layout, th_rand_int(&rng, 1, 3),
            th_rand_int(&rng, 1, sr == 3 ? 4 : 8),
            big ? th_rand_int(&rng, 30, 300) : th_rand_int(&rng, 1, 20),
            th_rand_int(&rng, 0, 2) ? th_rand_int(&rng, 1, 40) : th_rand_int(&rng, 1, 3),
            th_rand_int(&rng, 0, 3) ? 1 : 2, th_rand_int(&rng, 1, sr == 3 ? 3 : 5),
            th_rand_int(&rng, 1, 3), th_rand_int(&rng, 0, 3) ? 1 : 2,
            (deconv_padding)th_rand_int(&rng, 0, 2), (int)th_rand_int(&rng, 0, 1),
            th_rand_int(&rng, 0, 1) ? DECONV_ACTIVATION_NONE : DECONV_ACTIVATION_TANH);
        if (ok) {
            char what[96];
            snprintf(what, sizeof what, "prepared random #%d (%s, rank %d, %s)", done,
                     transposed ? "transpose" : "conv", sr,
                     layout == DECONV_CHANNELS_LAST ? "NHWC" : "NCHW");
            check_equal(&c, ctx1, ctx3, what);
            done++;
        }
        th_conv_free(&c);
    }
    CHECK(done == 80, "only %d prepared cases were valid in %d tries", done, tries);
}

/* Suite-like layers scaled down, non-finite weights, and empty tensors. */
static void special_cases(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0x51ull;
    pcase c;
    if (CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 2, 6, 200, 37, 1, 5, 2, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_RELU), "case valid"))
        check_equal(&c, ctx1, ctx3, "dcgan-like, channel blocks");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 3, 7, 32, 1, 1, 3, 2, 1,
                        DECONV_PADDING_SAME, 0, DECONV_ACTIVATION_NONE), "case valid"))
        check_equal(&c, ctx1, ctx3, "mnist-like, one output channel");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 1, 9, 20, 1, 1, 3, 2, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_TANH), "case valid"))
        check_equal(&c, ctx1, ctx3, "conv to one output channel, padded channels, bands");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 1, 11, 24, 1, 1, 3, 1, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_SIGMOID), "case valid"))
        check_equal(&c, ctx1, ctx3, "stride-1 conv to one output channel (planes), bands");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 2, 7, 20, 1, 1, 4, 2, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_NONE), "case valid"))
        check_equal(&c, ctx1, ctx3, "k4 s2 transposed to one channel (planes), 2 tap passes");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 2, 9, 1, 32, 1, 5, 1, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_NONE), "case valid"))
        check_equal(&c, ctx1, ctx3, "lenet-like, one input channel");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 1, 40, 8, 3, 1, 5, 2, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_NONE), "case valid"))
        check_equal(&c, ctx1, ctx3, "dcgan4-like, several column bands");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 2, 8, 64, 3, 1, 5, 2, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_RELU), "case valid"))
        check_equal(&c, ctx1, ctx3, "dcgan4-like, 64 input channels (dotn)");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 1, 9, 24, 4, 1, 3, 2, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_TANH), "case valid"))
        check_equal(&c, ctx1, ctx3, "conv to four output channels, padded channels (dotn)");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 3, 20, 2, 20, 1, 5, 2, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_RELU), "case valid"))
        check_equal(&c, ctx1, ctx3, "im2col, several row blocks");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 2, 7, 48, 120, 1, 3, 1, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_RELU), "case valid"))
        check_equal(&c, ctx1, ctx3, "vgg-like, 64-column tiles with a partial one (AVX-512)");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 1, 5, 300, 64, 1, 4, 2, 1,
                        DECONV_PADDING_SAME, 0, DECONV_ACTIVATION_NONE), "case valid"))
        check_equal(&c, ctx1, ctx3, "fcn-like transposed, 64-column tiles, channel blocks");
    th_conv_free(&c);
    /* Enough row blocks per thread that a stateless thread keeps the packed panels it made
     * (conv_gemm.c, cache_slot), with two groups (the panels are per group) and 4 phases. */
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 2, 30, 96, 40, 2, 3, 1, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_RELU),
              "panel cache case 1 is valid"))
        check_equal(&c, ctx1, ctx3, "stateless panel cache, two groups");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 4, 18, 64, 40, 1, 4, 2, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_NONE),
              "panel cache case 2 is valid"))
        check_equal(&c, ctx1, ctx3, "stateless panel cache, 4 phases, several tiles");
    th_conv_free(&c);
    /* An inf weight: both paths must take the reference (padding never multiplied). */
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 1, 5, 3, 4, 1, 3, 1, 1,
                        DECONV_PADDING_SAME, 0, DECONV_ACTIVATION_NONE), "case valid")) {
        c.wd[0] = INFINITY;
        check_equal(&c, ctx1, ctx3, "inf weight");
    }
    th_conv_free(&c);
    /* A NaN weight on a tap no output uses (fuzz_diff found it): SAME crops the output to 1
     * column, so tap 1 of the 2-wide kernel at stride 2 meets only padding (its phase has no
     * outputs). The stateless implicit GEMM checks the weights it multiplies as it packs them
     * and never sees it; the prepared object must run the fast kernel too, not the reference.
     * Then a NaN weight on a used tap of a problem conv_wino takes (k4 s2, 32 channels, 128
     * tiles per phase), which it finds while packing: both paths run the reference. */
    for (int wino = 0; wino < 2; wino++) {
        pcase u;
        memset(&u, 0, sizeof u);
        deconv_conv_params init = DECONV_CONV_PARAMS_INIT;
        u.transposed = 1;
        u.prm = init;
        u.prm.spatial_rank = 2;
        u.prm.layout = DECONV_CHANNELS_LAST;
        u.prm.padding = DECONV_PADDING_SAME;
        u.prm.strides[0] = u.prm.strides[1] = 2;
        u.prm.dilations[0] = wino ? 1 : 2;
        u.prm.dilations[1] = 1;
        const int64_t n = wino ? 8 : 1, h = wino ? 8 : 9, w = wino ? 8 : 1, ch = wino ? 32 : 7;
        u.x.rank = u.w.rank = u.y.rank = 4;
        u.x.dims[0] = n, u.x.dims[1] = h, u.x.dims[2] = w, u.x.dims[3] = ch;
        u.w.dims[0] = wino ? 4 : 1, u.w.dims[1] = wino ? 4 : 2, u.w.dims[2] = ch, u.w.dims[3] = ch;
        u.y.dims[0] = n, u.y.dims[1] = wino ? 2 * h : 2 * h - 1, u.y.dims[2] = wino ? 2 * w : 1;
        u.y.dims[3] = ch;
        u.xn = th_count(&u.x), u.wn = th_count(&u.w), u.yn = th_count(&u.y);
        u.xd = th_rand_buf(&rng, u.xn);
        u.wd = th_rand_buf(&rng, u.wn);
        /* [kh][kw][cout][cin]: kernel row 0 (wino: 2), column 1, output 5, input 1 */
        u.wd[((wino ? 2 : 0) * u.w.dims[1] + 1) * ch * ch + 5 * ch + 1] = NAN;
        check_equal(&u, ctx1, ctx3,
                    wino ? "NaN weight, Winograd-sized" : "NaN weight on an unused tap");
        th_conv_free(&u);
    }
    /* Empty batch: conv gives an empty output, a transposed conv of an empty input zeros
     * plus bias. */
    if (CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 0, 5, 3, 4, 1, 3, 1, 1,
                        DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_NONE), "case valid"))
        check_equal(&c, ctx1, ctx3, "empty batch conv");
    th_conv_free(&c);
    if (CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 1, 0, 3, 4, 1, 3, 2, 1,
                        DECONV_PADDING_VALID, 1, DECONV_ACTIVATION_NONE), "case valid"))
        check_equal(&c, ctx1, ctx3, "empty spatial input transpose");
    th_conv_free(&c);
}

/* The shapes query, the workspace query (smaller than the stateless one for a packed
 * problem), and that the queried workspace is enough and one byte less is refused. */
static void query_cases(deconv_context *ctx3) {
    uint64_t rng = 0x77ull;
    pcase c;
    if (!CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 2, 6, 40, 24, 1, 3, 2, 1,
                         DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_NONE),
               "query case invalid")) {
        th_conv_free(&c);
        return;
    }
    deconv_prepared_conv *pc = NULL;
    CHECK(prepare(&c, c.wd, &pc, NULL) == DECONV_OK, "create");
    deconv_shape in, out;
    memset(&in, 0x5a, sizeof in);
    memset(&out, 0x5a, sizeof out);
    CHECK(deconv_prepared_conv_shapes(pc, &in, &out, NULL) == DECONV_OK, "shapes");
    CHECK(in.rank == c.x.rank && memcmp(in.dims, c.x.dims, sizeof(int64_t) * 4) == 0,
          "input shape");
    CHECK(out.rank == c.y.rank && memcmp(out.dims, c.y.dims, sizeof(int64_t) * 4) == 0,
          "output shape");
    CHECK(deconv_prepared_conv_shapes(pc, NULL, NULL, NULL) == DECONV_OK, "shapes, no outs");
    size_t ws = 0, ws_stateless = 0;
    CHECK(deconv_prepared_conv_workspace_size(ctx3, pc, &ws, NULL) == DECONV_OK, "ws query");
    CHECK(deconv_conv_transpose_workspace_size(ctx3, &c.prm, &c.x, &c.w, &c.y, &ws_stateless,
                                               NULL) == DECONV_OK,
          "stateless ws query");
    CHECK(ws > 0 && ws < ws_stateless, "prepared workspace %zu should be below the stateless %zu",
          ws, ws_stateless);
    float *want = malloc((size_t)c.yn * sizeof(float)), *got = malloc((size_t)c.yn * sizeof(float));
    stateless(&c, ctx3, c.wd, want);
    void *mem = malloc(ws);
    CHECK(deconv_context_set_workspace(ctx3, mem, ws - 1, NULL) == DECONV_OK, "set ws");
    th_poison(got, c.yn);
    CHECK(deconv_prepared_conv_run(ctx3, pc, c.xd, c.xn, c.bd, c.bn, got, c.yn, NULL) ==
              DECONV_ERR_WORKSPACE_TOO_SMALL,
          "one byte short must be refused");
    CHECK(th_is_poisoned(got, c.yn), "output written although the workspace was too small");
    CHECK(deconv_context_set_workspace(ctx3, mem, ws, NULL) == DECONV_OK, "set ws");
    CHECK(deconv_prepared_conv_run(ctx3, pc, c.xd, c.xn, c.bd, c.bn, got, c.yn, NULL) ==
              DECONV_OK,
          "the queried workspace must be enough");
    CHECK(memcmp(want, got, (size_t)c.yn * sizeof(float)) == 0, "caller workspace: differs");
    deconv_context_set_workspace(ctx3, NULL, 0, NULL);
    free(mem);
    free(want);
    free(got);
    deconv_prepared_conv_destroy(pc);
    th_conv_free(&c);
}

/* Every error path: the status, the message, and nothing written. */
static void error_cases(void) {
    uint64_t rng = 0xe7ull;
    pcase c;
    if (!CHECK(make_case(&c, &rng, 0, 2, DECONV_CHANNELS_LAST, 1, 5, 3, 4, 1, 3, 1, 1,
                         DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_NONE),
               "error case invalid")) {
        th_conv_free(&c);
        return;
    }
    deconv_error err;
    deconv_prepared_conv *const sentinel = (deconv_prepared_conv *)&c;
    deconv_prepared_conv *pc = sentinel;
#define CREATE_FAILS(expr, want, what)                                                  \
    do {                                                                                \
        pc = sentinel;                                                                  \
        const deconv_status st_ = (expr);                                               \
        CHECK(st_ == (want) && err.status == (want) && err.message[0] != '\0',           \
              "create %s: got %d (%s), want %d", what, (int)st_, err.message, (int)(want)); \
        CHECK(pc == sentinel, "create %s wrote *out", what);                            \
    } while (0)
    CREATE_FAILS(deconv_prepared_conv_create(&c.prm, &c.x, &c.w, c.wd, c.wn, NULL, &err),
                 DECONV_ERR_NULL_POINTER, "out NULL");
    CREATE_FAILS(deconv_prepared_conv_create(NULL, &c.x, &c.w, c.wd, c.wn, &pc, &err),
                 DECONV_ERR_NULL_POINTER, "params NULL");
    CREATE_FAILS(deconv_prepared_conv_create(&c.prm, NULL, &c.w, c.wd, c.wn, &pc, &err),
                 DECONV_ERR_NULL_POINTER, "input NULL");
    CREATE_FAILS(deconv_prepared_conv_create(&c.prm, &c.x, &c.w, NULL, c.wn, &pc, &err),
                 DECONV_ERR_NULL_POINTER, "filter data NULL");
    CREATE_FAILS(deconv_prepared_conv_create(&c.prm, &c.x, &c.w, c.wd, c.wn - 1, &pc, &err),
                 DECONV_ERR_COUNT_MISMATCH, "filter count");
    {
        deconv_conv_params bad = c.prm;
        bad.struct_size = 8;
        CREATE_FAILS(deconv_prepared_conv_create(&bad, &c.x, &c.w, c.wd, c.wn, &pc, &err),
                     DECONV_ERR_STRUCT_SIZE, "struct_size");
        bad = c.prm;
        bad.strides[0] = 0;
        CREATE_FAILS(deconv_prepared_conv_create(&bad, &c.x, &c.w, c.wd, c.wn, &pc, &err),
                     DECONV_ERR_INVALID_ARGUMENT, "stride 0");
        deconv_shape w = c.w;
        w.dims[2] = 2; /* 3 input channels are not a multiple of 2 */
        CREATE_FAILS(deconv_prepared_conv_create(&c.prm, &c.x, &w, c.wd, c.wn, &pc, &err),
                     DECONV_ERR_SHAPE_MISMATCH, "channels");
    }
    /* Transposed: an output_shape TF rejects, and a NULL one. */
    {
        deconv_shape y = c.y, tw = c.w;
        tw.dims[2] = c.w.dims[3];
        tw.dims[3] = c.w.dims[2];
        deconv_conv_params sp = c.prm;
        sp.strides[0] = sp.strides[1] = 2;
        deconv_shape tin = c.x; /* 5 x 6 x 3 input, SAME stride 2: sizes 9..10 x 11..12 */
        y.dims[1] = 8;
        y.dims[2] = 11;
        y.dims[3] = tw.dims[2];
        CREATE_FAILS(deconv_prepared_conv_transpose_create(&sp, &tin, &tw, c.wd, c.wn, &y, &pc,
                                                           &err),
                     DECONV_ERR_INVALID_OUTPUT_SHAPE, "output_shape");
        CHECK(strstr(err.message, "9..10") != NULL, "range named in '%s'", err.message);
        CREATE_FAILS(deconv_prepared_conv_transpose_create(&sp, &tin, &tw, c.wd, c.wn, NULL,
                                                           &pc, &err),
                     DECONV_ERR_NULL_POINTER, "output_shape NULL");
    }
#undef CREATE_FAILS

    CHECK(deconv_prepared_conv_create(&c.prm, &c.x, &c.w, c.wd, c.wn, &pc, &err) == DECONV_OK,
          "create: %s", err.message);
    float *out = malloc((size_t)c.yn * sizeof(float));
    float *big = malloc((size_t)(c.yn + c.xn) * sizeof(float));
#define RUN_FAILS(expr, want, buf, n, what)                                               \
    do {                                                                                  \
        th_poison((buf), (n));                                                            \
        const deconv_status st_ = (expr);                                                 \
        CHECK(st_ == (want) && err.status == (want) && err.message[0] != '\0',             \
              "run %s: got %d (%s), want %d", what, (int)st_, err.message, (int)(want));  \
        CHECK(th_is_poisoned((buf), (n)), "run %s wrote the output", what);               \
    } while (0)
    RUN_FAILS(deconv_prepared_conv_run(NULL, NULL, c.xd, c.xn, c.bd, c.bn, out, c.yn, &err),
              DECONV_ERR_NULL_POINTER, out, c.yn, "prepared NULL");
    RUN_FAILS(deconv_prepared_conv_run(NULL, pc, NULL, c.xn, c.bd, c.bn, out, c.yn, &err),
              DECONV_ERR_NULL_POINTER, out, c.yn, "input NULL");
    RUN_FAILS(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn + 1, c.bd, c.bn, out, c.yn, &err),
              DECONV_ERR_COUNT_MISMATCH, out, c.yn, "input count");
    RUN_FAILS(deconv_prepared_conv_run(NULL, pc, c.xd, -1, c.bd, c.bn, out, c.yn, &err),
              DECONV_ERR_COUNT_MISMATCH, out, c.yn, "negative input count");
    RUN_FAILS(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn, c.bd, c.bn - 1, out, c.yn, &err),
              DECONV_ERR_SHAPE_MISMATCH, out, c.yn, "bias count");
    RUN_FAILS(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn, c.bd, -1, out, c.yn, &err),
              DECONV_ERR_SHAPE_MISMATCH, out, c.yn, "negative bias count");
    RUN_FAILS(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn, NULL, c.bn, out, c.yn, &err),
              DECONV_ERR_NULL_POINTER, out, c.yn, "bias NULL");
    RUN_FAILS(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn, c.bd, c.bn, out, c.yn - 1, &err),
              DECONV_ERR_COUNT_MISMATCH, out, c.yn, "output count");
    RUN_FAILS(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn, c.bd, c.bn, NULL, c.yn, &err),
              DECONV_ERR_NULL_POINTER, out, c.yn, "output NULL");
    /* Output overlapping the input, or the bias. */
    memcpy(big + c.yn / 2, c.xd, (size_t)c.xn * sizeof(float));
    {
        float *in_alias = big + c.yn / 2;
        float keep = in_alias[0];
        const deconv_status st =
            deconv_prepared_conv_run(NULL, pc, in_alias, c.xn, c.bd, c.bn, big, c.yn, &err);
        CHECK(st == DECONV_ERR_OVERLAP, "overlap with input: got %d", (int)st);
        CHECK(in_alias[0] == keep, "overlap with input wrote");
        float *b2 = malloc((size_t)(c.yn + c.bn) * sizeof(float));
        th_poison(b2, c.yn);
        memcpy(b2 + c.yn - 1, c.bd, (size_t)c.bn * sizeof(float));
        CHECK(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn, b2 + c.yn - 1, c.bn, b2, c.yn,
                                       &err) == DECONV_ERR_OVERLAP,
              "overlap with bias: %s", err.message);
        CHECK(th_is_poisoned(b2, c.yn - 1), "overlap with bias wrote");
        free(b2);
    }
#undef RUN_FAILS
    size_t bytes = 7;
    CHECK(deconv_prepared_conv_workspace_size(NULL, NULL, &bytes, &err) ==
              DECONV_ERR_NULL_POINTER && bytes == 7,
          "workspace query with NULL prepared");
    CHECK(deconv_prepared_conv_workspace_size(NULL, pc, NULL, &err) == DECONV_ERR_NULL_POINTER,
          "workspace query with NULL bytes");
    CHECK(deconv_prepared_conv_shapes(NULL, NULL, NULL, &err) == DECONV_ERR_NULL_POINTER,
          "shapes of NULL");
    /* Success clears a previous error. */
    CHECK(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn, c.bd, c.bn, out, c.yn, &err) ==
              DECONV_OK && err.status == DECONV_OK && err.message[0] == '\0',
          "a good run after failures");
    deconv_prepared_conv_destroy(pc);
    deconv_prepared_conv_destroy(NULL);
    free(out);
    free(big);
    th_conv_free(&c);
}

/* One object, several threads running it at once (own contexts and NULL): all bitwise
 * equal to a serial run. */
typedef struct conc_arg {
    const pcase *c;
    const deconv_prepared_conv *pc;
    const float *want;
    int threads, ok;
} conc_arg;

static void *conc_main(void *p) {
    conc_arg *a = p;
    deconv_context *ctx = NULL;
    if (a->threads > 0 && deconv_context_create(a->threads, &ctx, NULL) != DECONV_OK) return NULL;
    float *got = malloc((size_t)a->c->yn * sizeof(float));
    a->ok = 1;
    for (int rep = 0; rep < 8; rep++) {
        if (deconv_prepared_conv_run(ctx, a->pc, a->c->xd, a->c->xn, a->c->bd, a->c->bn, got,
                                     a->c->yn, NULL) != DECONV_OK ||
            memcmp(got, a->want, (size_t)a->c->yn * sizeof(float)) != 0)
            a->ok = 0;
    }
    free(got);
    deconv_context_destroy(ctx);
    return NULL;
}

static void concurrent_cases(void) {
    uint64_t rng = 0xc0ull;
    pcase c;
    if (!CHECK(make_case(&c, &rng, 1, 2, DECONV_CHANNELS_LAST, 2, 8, 48, 20, 1, 3, 2, 1,
                         DECONV_PADDING_SAME, 1, DECONV_ACTIVATION_NONE),
               "concurrency case invalid")) {
        th_conv_free(&c);
        return;
    }
    deconv_prepared_conv *pc = NULL;
    CHECK(prepare(&c, c.wd, &pc, NULL) == DECONV_OK, "create");
    float *want = malloc((size_t)c.yn * sizeof(float));
    CHECK(deconv_prepared_conv_run(NULL, pc, c.xd, c.xn, c.bd, c.bn, want, c.yn, NULL) ==
              DECONV_OK,
          "serial run");
    enum { NT = 6 };
    pthread_t tid[NT];
    conc_arg args[NT];
    int started[NT];
    for (int t = 0; t < NT; t++) {
        args[t].c = &c;
        args[t].pc = pc;
        args[t].want = want;
        args[t].threads = t % 3; /* NULL, 1 and 2 threads */
        args[t].ok = 0;
        started[t] = pthread_create(&tid[t], NULL, conc_main, &args[t]) == 0;
        CHECK(started[t], "thread %d did not start", t);
    }
    for (int t = 0; t < NT; t++) {
        if (!started[t]) continue;
        pthread_join(tid[t], NULL);
        CHECK(args[t].ok, "concurrent runner %d differed or failed", t);
    }
    free(want);
    deconv_prepared_conv_destroy(pc);
    th_conv_free(&c);
}

/* A channels-first prepared conv on the largest tensors a 32-bit build admits (the count check
 * allows fewer than 2^28 elements): input and output of 2 x 8191 x 16385 floats, about 1 GiB
 * each. The workspace query must count room for both moved copies. (Its DECONV_ERR_OVERFLOW
 * branch would need a kernel workspace above 2 GiB on top on a 32-bit build; the size helper's
 * own wrap test in suite_relayout covers the sum.) */
static void huge_workspace_case(deconv_context *ctx3) {
    deconv_conv_params prm = DECONV_CONV_PARAMS_INIT;
    prm.layout = DECONV_CHANNELS_FIRST;
    const deconv_shape x = {4, {1, 2, 8191, 16385}}, w = {4, {1, 1, 2, 2}};
    const uint64_t count = (uint64_t)2 * 8191 * 16385;
    const float wd[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    deconv_prepared_conv *pc = NULL;
    deconv_error err;
    if (!CHECK(deconv_prepared_conv_create(&prm, &x, &w, wd, 4, &pc, &err) == DECONV_OK,
               "huge create: %s", err.message))
        return;
    size_t ws = 0;
    const deconv_status st = deconv_prepared_conv_workspace_size(ctx3, pc, &ws, &err);
    CHECK(st == DECONV_OK && (uint64_t)ws >= 8 * count,
          "huge workspace query: %d, %zu bytes for two copies of %llu floats (%s)", (int)st, ws,
          (unsigned long long)count, err.message);
    deconv_prepared_conv_destroy(pc);
}

void suite_prepared(void) {
    deconv_context *ctx1 = NULL, *ctx3 = NULL;
    CHECK(deconv_context_create(1, &ctx1, NULL) == DECONV_OK, "context 1");
    CHECK(deconv_context_create(3, &ctx3, NULL) == DECONV_OK, "context 3");
    g_compared = 0;
    special_cases(ctx1, ctx3);
    random_cases(ctx1, ctx3);
    CHECK(g_compared >= 80 * 3 * 2, "only %d prepared runs were compared", g_compared);
    query_cases(ctx3);
    huge_workspace_case(ctx3);
    error_cases();
    concurrent_cases();
    deconv_context_destroy(ctx1);
    deconv_context_destroy(ctx3);
}
