/* test_conv.c - conv and transposed conv through the public API: the worked example, shape
 * queries, Keras sizes, one error test per validation rule (outputs poisoned and checked
 * untouched), the adjoint identity <conv(x), y> == <x, conv_transpose(y)> on random configs,
 * and thread-count invariance. */
#include "harness.h"

#include "deconv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static deconv_shape shape4(int64_t a, int64_t b, int64_t c, int64_t d) {
    deconv_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 4;
    s.dims[0] = a, s.dims[1] = b, s.dims[2] = c, s.dims[3] = d;
    return s;
}

static void worked_example(void) {
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    static const float want5[25] = {1, 0, 2,  0, 3, 0, 6, 0, 8,  0, 4, 0, 5,
                                    0, 6, 0, 12, 0, 14, 0, 7, 0, 8, 0, 9};
    static const float want6[36] = {1, 0, 2, 0, 3, 0, 0, 1, 0, 2,  0, 3, 4, 0, 6,  0, 8, 0,
                                    0, 4, 0, 5, 0, 6, 7, 0, 12, 0, 14, 0, 0, 7, 0, 8, 0, 9};
    deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
    p.padding = DECONV_PADDING_SAME;
    p.strides[0] = p.strides[1] = 2;
    deconv_shape in = shape4(1, 3, 3, 1), f = shape4(3, 3, 1, 1);
    float y[36];
    deconv_error e;
    deconv_shape o5 = shape4(1, 5, 5, 1), o6 = shape4(1, 6, 6, 1);
    CHECK(deconv_conv_transpose(NULL, &p, &in, x, 9, &f, w, 9, NULL, 0, &o5, y, 25, &e) == 0,
          "%s", e.message);
    CHECK(memcmp(y, want5, sizeof want5) == 0, "5x5 differs from tf-semantics.md");
    CHECK(deconv_conv_transpose(NULL, &p, &in, x, 9, &f, w, 9, NULL, 0, &o6, y, 36, &e) == 0,
          "%s", e.message);
    CHECK(memcmp(y, want6, sizeof want6) == 0, "6x6 differs from tf-semantics.md");
    /* y(out=5) == y(out=6)[1:, 1:]: changing output_shape shifts, not only cuts. */
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            CHECK(want5[i * 5 + j] == want6[(i + 1) * 6 + j + 1], "shift at %d,%d", i, j);
    /* The message a TF user gets for output 7. */
    deconv_shape o7 = shape4(1, 7, 7, 1);
    th_poison(y, 36);
    CHECK(deconv_conv_transpose(NULL, &p, &in, x, 9, &f, w, 9, NULL, 0, &o7, y, 49, &e) ==
              DECONV_ERR_INVALID_OUTPUT_SHAPE, "status %d", e.status);
    CHECK(strcmp(e.message, "output_shape[1] = 7 is not valid: input 3, kernel 3, stride 2, "
                            "dilation 1, SAME accept 5..6") == 0, "message: %s", e.message);
    CHECK(th_is_poisoned(y, 36), "output written on error");
}

static void shape_queries(void) {
    deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
    deconv_error e;
    int64_t lo[3], hi[3], pads[6];
    deconv_shape out;
    /* SAME forward: in 5, k 4, s 2 -> out 3, total pad 3: 1 before, 2 after (extra at end). */
    p.padding = DECONV_PADDING_SAME;
    p.strides[0] = p.strides[1] = 2;
    deconv_shape in = shape4(2, 5, 5, 3), f = shape4(4, 4, 3, 7);
    CHECK(deconv_conv_output_shape(&p, &in, &f, &out, pads, &e) == 0, "%s", e.message);
    CHECK(out.rank == 4 && out.dims[0] == 2 && out.dims[1] == 3 && out.dims[2] == 3 &&
              out.dims[3] == 7, "shape [%lld %lld %lld %lld]", (long long)out.dims[0],
          (long long)out.dims[1], (long long)out.dims[2], (long long)out.dims[3]);
    CHECK(pads[0] == 1 && pads[1] == 2 && pads[2] == 1 && pads[3] == 2, "pads %lld %lld",
          (long long)pads[0], (long long)pads[1]);
    /* channels-first puts C at axis 1 */
    p.layout = DECONV_CHANNELS_FIRST;
    in = shape4(2, 3, 5, 5);
    CHECK(deconv_conv_output_shape(&p, &in, &f, &out, NULL, &e) == 0, "%s", e.message);
    CHECK(out.dims[1] == 7 && out.dims[2] == 3, "NCHW output");
    p.layout = DECONV_CHANNELS_LAST;
    /* Transposed ranges: exactly `stride` sizes per dim. */
    struct { deconv_padding pad; int64_t in, k, s, d, lo, hi; } cases[] = {
        {DECONV_PADDING_SAME, 3, 3, 2, 1, 5, 6},   {DECONV_PADDING_SAME, 4, 5, 3, 2, 10, 12},
        {DECONV_PADDING_VALID, 3, 3, 2, 1, 7, 8},  {DECONV_PADDING_VALID, 4, 2, 3, 2, 12, 14},
        {DECONV_PADDING_VALID, 1, 1, 1, 1, 1, 1},  {DECONV_PADDING_SAME, 3, 1, 4, 1, 9, 12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        p.padding = cases[i].pad;
        p.strides[0] = p.strides[1] = cases[i].s;
        p.dilations[0] = p.dilations[1] = cases[i].d;
        in = shape4(1, cases[i].in, cases[i].in, 2);
        f = shape4(cases[i].k, cases[i].k, 1, 2);
        CHECK(deconv_conv_transpose_output_range(&p, &in, &f, lo, hi, &e) == 0, "%s", e.message);
        CHECK(lo[0] == cases[i].lo && hi[0] == cases[i].hi && hi[0] - lo[0] + 1 == cases[i].s,
              "case %zu: range %lld..%lld", i, (long long)lo[0], (long long)hi[0]);
        /* Every size in the range is accepted by the op's own validation, the neighbours not. */
        for (int64_t o = lo[0] - 1; o <= hi[0] + 1; o++) {
            deconv_shape os = shape4(1, o, lo[1], 1);
            deconv_status st = deconv_conv_transpose_pads(&p, &in, &f, &os, pads, &e);
            CHECK((st == 0) == (o >= lo[0] && o <= hi[0]), "case %zu: size %lld status %d", i,
                  (long long)o, st);
        }
    }
    /* EXPLICIT: the VALID range shifted by -(pb + pa). */
    p.padding = DECONV_PADDING_EXPLICIT;
    p.strides[0] = p.strides[1] = 2;
    p.dilations[0] = p.dilations[1] = 1;
    p.pads[0] = 1, p.pads[1] = 2, p.pads[2] = 0, p.pads[3] = 0;
    in = shape4(1, 3, 3, 1);
    f = shape4(3, 3, 1, 1);
    CHECK(deconv_conv_transpose_output_range(&p, &in, &f, lo, hi, &e) == 0, "%s", e.message);
    CHECK(lo[0] == 4 && hi[0] == 5 && lo[1] == 7 && hi[1] == 8, "explicit range %lld..%lld",
          (long long)lo[0], (long long)hi[0]);
    /* The pads a SAME transposed conv uses come from the OUTPUT size. */
    p.padding = DECONV_PADDING_SAME;
    deconv_shape o5 = shape4(1, 5, 6, 1);
    CHECK(deconv_conv_transpose_pads(&p, &in, &f, &o5, pads, &e) == 0, "%s", e.message);
    CHECK(pads[0] == 1 && pads[1] == 1 && pads[2] == 0 && pads[3] == 1, "pads %lld %lld %lld %lld",
          (long long)pads[0], (long long)pads[1], (long long)pads[2], (long long)pads[3]);
}

static void keras_sizes(void) {
    struct { int64_t in, k, s, d; deconv_padding pad; int64_t op, want; } c[] = {
        {3, 3, 2, 1, DECONV_PADDING_SAME, -1, 6},  {3, 3, 2, 1, DECONV_PADDING_SAME, 0, 5},
        {3, 3, 2, 1, DECONV_PADDING_SAME, 1, 6},   {3, 4, 2, 1, DECONV_PADDING_SAME, 1, 5},
        {3, 3, 2, 1, DECONV_PADDING_VALID, -1, 7}, {3, 1, 2, 1, DECONV_PADDING_VALID, -1, 6},
        {3, 3, 2, 1, DECONV_PADDING_VALID, 1, 8},  {4, 3, 1, 2, DECONV_PADDING_VALID, -1, 8},
        {32, 2, 2, 1, DECONV_PADDING_VALID, -1, 64},
    };
    deconv_error e;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int64_t out = -5;
        CHECK(deconv_keras_conv_transpose_size(c[i].in, c[i].k, c[i].s, c[i].d, c[i].pad, c[i].op,
                                               &out, &e) == 0, "%s", e.message);
        CHECK(out == c[i].want, "keras case %zu: %lld != %lld", i, (long long)out,
              (long long)c[i].want);
    }
    int64_t out = 99;
    CHECK(deconv_keras_conv_transpose_size(3, 3, 2, 1, DECONV_PADDING_SAME, 2, &out, &e) ==
              DECONV_ERR_INVALID_ARGUMENT && out == 99, "output_padding >= stride");
    CHECK(deconv_keras_conv_transpose_size(3, 3, 2, 1, DECONV_PADDING_EXPLICIT, -1, &out, &e) ==
              DECONV_ERR_INVALID_ENUM, "explicit");
}

/* One row per validation rule: mutate a valid call, expect the status, outputs untouched. */
typedef struct conv_call {
    deconv_conv_params p;
    deconv_shape in, f, os;
    int64_t in_count, f_count, b_count, y_count;
    int transposed, null_x, null_y, null_b, alias;
} conv_call;

static deconv_status run_call(const conv_call *c, float *x, float *w, float *b, float *y,
                              deconv_error *e) {
    const float *xp = c->null_x ? NULL : (c->alias ? y : x);
    float *yp = c->null_y ? NULL : y;
    const float *bp = c->null_b ? NULL : b;
    return c->transposed
               ? deconv_conv_transpose(NULL, &c->p, &c->in, xp, c->in_count, &c->f, w, c->f_count,
                                       bp, c->b_count, &c->os, yp, c->y_count, e)
               : deconv_conv(NULL, &c->p, &c->in, xp, c->in_count, &c->f, w, c->f_count, bp,
                             c->b_count, yp, c->y_count, e);
}

static void error_rules(void) {
    enum { BIG = 4096 };
    static float x[BIG], w[BIG], b[64], y[BIG];
    for (int i = 0; i < BIG; i++) x[i] = w[i] = 0.5f;
    for (int i = 0; i < 64; i++) b[i] = 1.0f;
    conv_call base;
    memset(&base, 0, sizeof base);
    deconv_conv_params p0 = DECONV_CONV_PARAMS_INIT;
    base.p = p0;
    base.p.padding = DECONV_PADDING_SAME;
    base.p.strides[0] = base.p.strides[1] = 2;
    base.in = shape4(2, 3, 3, 4);
    base.f = shape4(3, 3, 2, 4); /* transposed: [k, k, OC/groups = 2, IC = 4] */
    base.os = shape4(2, 6, 5, 2);
    base.in_count = 72, base.f_count = 72, base.b_count = 2, base.y_count = 120;
    base.transposed = 1;
    deconv_error e;
    th_poison(y, BIG);
    CHECK(run_call(&base, x, w, b, y, &e) == 0, "the base call must be valid: %s", e.message);

#define RULE(label, expected, mutate)                                                     \
    do {                                                                                  \
        conv_call c = base;                                                               \
        mutate;                                                                           \
        th_poison(y, BIG);                                                                \
        memset(&e, 0, sizeof e);                                                          \
        deconv_status st = run_call(&c, x, w, b, y, &e);                                  \
        CHECK(st == (expected), "%s: status %d (%s), expected %d", label, st, e.message,  \
              expected);                                                                  \
        CHECK(e.status == st && e.message[0] != '\0', "%s: error report", label);        \
        CHECK(th_is_poisoned(y, BIG), "%s: output written on error", label);              \
    } while (0)

    RULE("struct_size", DECONV_ERR_STRUCT_SIZE, c.p.struct_size = 8);
    RULE("flags", DECONV_ERR_INVALID_ENUM, c.p.flags = 1);
    RULE("spatial_rank 0", DECONV_ERR_INVALID_ENUM, c.p.spatial_rank = 0);
    RULE("spatial_rank 4", DECONV_ERR_INVALID_ENUM, c.p.spatial_rank = 4);
    RULE("layout", DECONV_ERR_INVALID_ENUM, c.p.layout = (deconv_layout)7);
    RULE("padding", DECONV_ERR_INVALID_ENUM, c.p.padding = (deconv_padding)-1);
    RULE("activation", DECONV_ERR_INVALID_ENUM, c.p.activation = (deconv_activation)99);
    RULE("stride 0", DECONV_ERR_INVALID_ARGUMENT, c.p.strides[1] = 0);
    RULE("stride -3", DECONV_ERR_INVALID_ARGUMENT, c.p.strides[0] = -3);
    RULE("dilation 0", DECONV_ERR_INVALID_ARGUMENT, c.p.dilations[0] = 0);
    RULE("huge stride", DECONV_ERR_OVERFLOW, c.p.strides[0] = INT64_MAX);
    RULE("huge dilation", DECONV_ERR_OVERFLOW, c.p.dilations[0] = (int64_t)1 << 39);
    RULE("negative pad", DECONV_ERR_INVALID_ARGUMENT,
         (c.p.padding = DECONV_PADDING_EXPLICIT, c.p.pads[3] = -1));
    RULE("alpha nan", DECONV_ERR_INVALID_ARGUMENT,
         (c.p.activation = DECONV_ACTIVATION_LEAKY_RELU, c.p.alpha = NAN));
    RULE("clamp order", DECONV_ERR_INVALID_ARGUMENT,
         (c.p.activation = DECONV_ACTIVATION_CLAMP, c.p.clamp_min = 2, c.p.clamp_max = 1));
    RULE("input rank", DECONV_ERR_INVALID_SHAPE, c.in.rank = 3);
    RULE("filter rank", DECONV_ERR_INVALID_SHAPE, c.f.rank = 5);
    RULE("output_shape rank", DECONV_ERR_INVALID_SHAPE, c.os.rank = 2);
    RULE("negative dim", DECONV_ERR_INVALID_SHAPE, c.in.dims[1] = -1);
    RULE("zero kernel", DECONV_ERR_INVALID_SHAPE, c.f.dims[0] = 0);
    RULE("huge dim", DECONV_ERR_OVERFLOW, c.in.dims[2] = (int64_t)1 << 41);
    RULE("elements overflow", DECONV_ERR_OVERFLOW,
         (c.in.dims[0] = (int64_t)1 << 40, c.in.dims[1] = (int64_t)1 << 30));
    RULE("in-channel mismatch", DECONV_ERR_SHAPE_MISMATCH, c.in.dims[3] = 5);
    RULE("out-channel not multiple", DECONV_ERR_SHAPE_MISMATCH, c.os.dims[3] = 3);
    RULE("groups vs input channels", DECONV_ERR_SHAPE_MISMATCH,
         (c.os.dims[3] = 6, c.f.dims[3] = 4, c.in.dims[3] = 4, c.b_count = 6,
          c.y_count = 180)); /* groups 3 does not divide 4 */
    RULE("batch mismatch", DECONV_ERR_SHAPE_MISMATCH, c.os.dims[0] = 3);
    RULE("output_shape too small", DECONV_ERR_INVALID_OUTPUT_SHAPE, c.os.dims[1] = 4);
    RULE("output_shape too large", DECONV_ERR_INVALID_OUTPUT_SHAPE, c.os.dims[2] = 7);
    RULE("output_shape negative", DECONV_ERR_INVALID_SHAPE, c.os.dims[2] = -5);
    RULE("input count", DECONV_ERR_COUNT_MISMATCH, c.in_count = 71);
    RULE("filter count", DECONV_ERR_COUNT_MISMATCH, c.f_count = 73);
    RULE("output count", DECONV_ERR_COUNT_MISMATCH, c.y_count = 119);
    RULE("negative count", DECONV_ERR_COUNT_MISMATCH, c.in_count = -72);
    RULE("bias length", DECONV_ERR_SHAPE_MISMATCH, c.b_count = 3);
    RULE("null input", DECONV_ERR_NULL_POINTER, c.null_x = 1);
    RULE("null output", DECONV_ERR_NULL_POINTER, c.null_y = 1);
    RULE("null bias", DECONV_ERR_NULL_POINTER, c.null_b = 1);
    RULE("aliasing", DECONV_ERR_OVERLAP, (c.alias = 1, c.in_count = 72));
    /* Forward conv rules. */
    RULE("forward negative output", DECONV_ERR_OUTPUT_SIZE,
         (c.transposed = 0, c.p.padding = DECONV_PADDING_VALID, c.p.strides[0] = 1, c.in = shape4(1, 1, 9, 2),
          c.f = shape4(3, 3, 2, 2), c.in_count = 18, c.f_count = 36));
    RULE("forward channels", DECONV_ERR_SHAPE_MISMATCH,
         (c.transposed = 0, c.in = shape4(2, 3, 3, 5), c.in_count = 90,
          c.f = shape4(3, 3, 2, 4)));
    RULE("forward groups vs out", DECONV_ERR_SHAPE_MISMATCH,
         (c.transposed = 0, c.in = shape4(2, 3, 3, 4), c.f = shape4(3, 3, 2, 3),
          c.f_count = 54));
#undef RULE
    /* NULL params / shapes. */
    th_poison(y, BIG);
    CHECK(deconv_conv(NULL, NULL, &base.in, x, 72, &base.f, w, 72, NULL, 0, y, 8, &e) ==
              DECONV_ERR_NULL_POINTER, "null params");
    CHECK(deconv_conv(NULL, &base.p, NULL, x, 72, &base.f, w, 72, NULL, 0, y, 8, &e) ==
              DECONV_ERR_NULL_POINTER, "null input shape");
    CHECK(deconv_conv_transpose(NULL, &base.p, &base.in, x, 72, &base.f, w, 72, NULL, 0, NULL, y,
                                120, &e) == DECONV_ERR_NULL_POINTER, "null output_shape");
    CHECK(th_is_poisoned(y, BIG), "output written on error");
    /* A NULL error report is allowed everywhere. */
    CHECK(deconv_conv(NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, NULL, 0, NULL, 0, NULL) ==
              DECONV_ERR_NULL_POINTER, "NULL error report");
}

/* Random config for the adjoint test: conv (x -> y) and conv_transpose (y -> x) share
 * params, filter and shapes, so <conv(x), y> == <x, conv_transpose(y)>. */
static void adjoint_identity(void) {
    uint64_t rng = 12345;
    deconv_context *ctx = NULL;
    CHECK(deconv_context_create(2, &ctx, NULL) == 0, "context");
    for (int iter = 0; iter < 300; iter++) {
        deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
        p.spatial_rank = (int32_t)th_rand_int(&rng, 1, 3);
        p.layout = th_rand_int(&rng, 0, 1) ? DECONV_CHANNELS_FIRST : DECONV_CHANNELS_LAST;
        p.padding = (deconv_padding)th_rand_int(&rng, 0, 2);
        const int32_t sr = p.spatial_rank, rank = sr + 2;
        const int64_t groups = th_rand_int(&rng, 1, 3);
        const int64_t cin = groups * th_rand_int(&rng, 1, 3), cout = groups * th_rand_int(&rng, 1, 3);
        deconv_shape xs = {0}, fs = {0}, ys;
        xs.rank = fs.rank = rank;
        xs.dims[0] = th_rand_int(&rng, 0, 2);
        xs.dims[p.layout == DECONV_CHANNELS_LAST ? rank - 1 : 1] = cin;
        for (int32_t i = 0; i < sr; i++) {
            p.strides[i] = th_rand_int(&rng, 1, 3);
            p.dilations[i] = th_rand_int(&rng, 1, 2);
            p.pads[2 * i] = th_rand_int(&rng, 0, 2);
            p.pads[2 * i + 1] = th_rand_int(&rng, 0, 2);
            fs.dims[i] = th_rand_int(&rng, 1, 4);
            xs.dims[p.layout == DECONV_CHANNELS_LAST ? 1 + i : 2 + i] = th_rand_int(&rng, 1, 7);
        }
        fs.dims[sr] = cin / groups;
        fs.dims[sr + 1] = cout;
        deconv_error e;
        if (deconv_conv_output_shape(&p, &xs, &fs, &ys, NULL, &e) != 0) {
            CHECK(e.status == DECONV_ERR_OUTPUT_SIZE, "iter %d: %s", iter, e.message);
            continue;
        }
        int64_t nx = 1, ny = 1, nw = 1;
        for (int32_t i = 0; i < rank; i++) nx *= xs.dims[i], ny *= ys.dims[i], nw *= fs.dims[i];
        float *x = malloc(sizeof(float) * (size_t)(nx + 1)), *y = malloc(sizeof(float) * (size_t)(ny + 1));
        float *w = malloc(sizeof(float) * (size_t)nw), *wt = malloc(sizeof(float) * (size_t)nw);
        float *cx = malloc(sizeof(float) * (size_t)(ny + 1)), *ty = malloc(sizeof(float) * (size_t)(nx + 1));
        float *ty2 = malloc(sizeof(float) * (size_t)(nx + 1));
        for (int64_t i = 0; i < nx; i++) x[i] = th_rand_float(&rng);
        for (int64_t i = 0; i < ny; i++) y[i] = th_rand_float(&rng);
        for (int64_t i = 0; i < nw; i++) w[i] = th_rand_float(&rng);
        /* conv filter [k, cin/g, cout] -> transposed filter [k, cin/g (= OC/g), cout (= IC)]:
         * the same memory, the transposed op's output is conv's input. */
        memcpy(wt, w, sizeof(float) * (size_t)nw);
        CHECK(deconv_conv(NULL, &p, &xs, x, nx, &fs, w, nw, NULL, 0, cx, ny, &e) == 0,
              "iter %d conv: %s", iter, e.message);
        CHECK(deconv_conv_transpose(NULL, &p, &ys, y, ny, &fs, wt, nw, NULL, 0, &xs, ty, nx, &e) ==
                  0, "iter %d transpose: %s", iter, e.message);
        CHECK(deconv_conv_transpose(ctx, &p, &ys, y, ny, &fs, wt, nw, NULL, 0, &xs, ty2, nx, &e) ==
                  0, "iter %d transpose ctx: %s", iter, e.message);
        CHECK(memcmp(ty, ty2, sizeof(float) * (size_t)nx) == 0, "iter %d: threads changed bits",
              iter);
        double lhs = 0, rhs = 0, scale = 1e-30;
        for (int64_t i = 0; i < ny; i++) lhs += (double)cx[i] * y[i], scale += fabs((double)cx[i] * y[i]);
        for (int64_t i = 0; i < nx; i++) rhs += (double)x[i] * ty[i];
        CHECK(fabs(lhs - rhs) <= 1e-5 * scale, "iter %d: adjoint %g vs %g", iter, lhs, rhs);
        free(x), free(y), free(w), free(wt), free(cx), free(ty), free(ty2);
    }
    deconv_context_destroy(ctx);
}

static void activations_and_bias(void) {
    /* 1x1 conv with weight 1 passes values through: check bias + every activation. */
    const float x[6] = {-8, -1, -0.5f, 0, 0.5f, 7};
    const float w[1] = {1}, b[1] = {0.25f};
    float y[6];
    deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
    p.spatial_rank = 1;
    deconv_shape xs = {3, {1, 6, 1, 0, 0}}, fs = {3, {1, 1, 1, 0, 0}};
    deconv_error e;
    for (int act = 0; act <= 6; act++) {
        p.activation = (deconv_activation)act;
        p.alpha = 0.1f;
        p.clamp_min = -1.0f, p.clamp_max = 2.0f;
        CHECK(deconv_conv(NULL, &p, &xs, x, 6, &fs, w, 1, b, 1, y, 6, &e) == 0, "%s", e.message);
        for (int i = 0; i < 6; i++) {
            const float v = x[i] + 0.25f;
            float want = v;
            switch (act) {
            case 1: want = v > 0 ? v : 0; break;
            case 2: want = v > 0 ? (v < 6 ? v : 6) : 0; break;
            case 3: want = v >= 0 ? v : 0.1f * v; break;
            case 4: want = 1.0f / (1.0f + expf(-v)); break;
            case 5: want = tanhf(v); break;
            case 6: want = v < -1 ? -1 : v > 2 ? 2 : v; break;
            }
            CHECK(fabsf(y[i] - want) <= 1e-6f, "activation %d x=%g: %g != %g", act, (double)x[i],
                  (double)y[i], (double)want);
        }
    }
}

static void empty_and_zero_fill(void) {
    deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
    deconv_error e;
    /* Batch 0: valid, nothing written, count 0 with NULL buffers allowed. */
    p.padding = DECONV_PADDING_SAME;
    deconv_shape xs = shape4(0, 4, 4, 2), fs = shape4(3, 3, 2, 3);
    CHECK(deconv_conv(NULL, &p, &xs, NULL, 0, &fs, (const float[54]){0}, 54, NULL, 0, NULL, 0,
                      &e) == 0, "empty batch: %s", e.message);
    /* Transposed conv of an empty spatial input: zeros plus bias. */
    deconv_shape ts = shape4(1, 0, 0, 2), tf = shape4(2, 2, 1, 2), os = shape4(1, 0, 0, 1);
    CHECK(deconv_conv_transpose(NULL, &p, &ts, NULL, 0, &tf, (const float[8]){0}, 8, NULL, 0, &os,
                                NULL, 0, &e) == 0, "empty transposed: %s", e.message);
    /* k_eff < s under SAME: k=1, s=2, in=3, out=6: the extra cells are zeros at the END. */
    p.spatial_rank = 1;
    p.strides[0] = 2;
    deconv_shape x1 = {3, {1, 3, 1, 0, 0}}, f1 = {3, {1, 1, 1, 0, 0}}, o1 = {3, {1, 6, 1, 0, 0}};
    float y[6];
    CHECK(deconv_conv_transpose(NULL, &p, &x1, (const float[3]){1, 2, 3}, 3, &f1,
                                (const float[1]){1}, 1, NULL, 0, &o1, y, 6, &e) == 0, "%s",
          e.message);
    const float want[6] = {1, 0, 2, 0, 3, 0};
    CHECK(memcmp(y, want, sizeof want) == 0, "k<s zero fill: %g %g %g %g %g %g", (double)y[0],
          (double)y[1], (double)y[2], (double)y[3], (double)y[4], (double)y[5]);
}

/* Padding is skipped, never multiplied: an inf weight on a tap that only meets padding must
 * not make the output NaN (0 * inf), whichever kernel runs the problem. */
static void padding_never_multiplied(void) {
    enum { XN = 4 * 4 * 8, WN = 3 * 3 * 8 * 8, YN = 4 * 4 * 8 };
    static float x[XN], w[WN], y[YN];
    for (int i = 0; i < XN; i++) x[i] = 1.0f;
    for (int i = 0; i < WN; i++) w[i] = 0.01f;
    w[0] = -INFINITY; /* tap (0, 0), in-channel 0, out-channel 0 */
    deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
    p.padding = DECONV_PADDING_SAME;
    deconv_shape xs = shape4(1, 4, 4, 8), fs = shape4(3, 3, 8, 8);
    deconv_context *ctx = NULL;
    CHECK(deconv_context_create(2, &ctx, NULL) == 0, "context");
    for (int run = 0; run < 2; run++) {
        deconv_error e;
        CHECK(deconv_conv(run ? ctx : NULL, &p, &xs, x, XN, &fs, w, WN, NULL, 0, y, YN, &e) == 0,
              "%s", e.message);
        /* Output (0, 0): tap (0, 0) reads padding, so 4 taps * 8 channels * 0.01 remain. */
        CHECK(fabsf(y[0] - 0.32f) < 1e-5f, "run %d: y[0] = %g, expected 0.32", run, (double)y[0]);
        /* Output (1, 1): tap (0, 0) reads input (0, 0), a real -inf product. */
        CHECK(isinf(y[(1 * 4 + 1) * 8]) && y[(1 * 4 + 1) * 8] < 0, "run %d: y(1,1) = %g", run,
              (double)y[(1 * 4 + 1) * 8]);
        CHECK(fabsf(y[1] - 0.32f) < 1e-5f, "run %d: y[1] = %g (out-channel 1 has no inf)", run,
              (double)y[1]);
    }
    deconv_context_destroy(ctx);
}

/* A 4 x 4 SAME 3 x 3 conv of ci -> co channels, every input 1 and every weight 0.01 but one
 * -inf at weight index `at`: each output of its out-channel is -inf where its tap reads the
 * input and finite where it reads padding (the fast kernels' tiles mix such outputs). */
static void check_inf_weight(deconv_context *ctx, int ci, int co, int at, const char *what) {
    const int xn = 4 * 4 * ci, wn = 3 * 3 * ci * co, yn = 4 * 4 * co;
    float *x = malloc((size_t)xn * sizeof(float)), *w = malloc((size_t)wn * sizeof(float));
    float *y = malloc((size_t)yn * sizeof(float));
    for (int i = 0; i < xn; i++) x[i] = 1.0f;
    for (int i = 0; i < wn; i++) w[i] = 0.01f;
    w[at] = -INFINITY;
    const int tap = at / (ci * co), a = tap / 3, b = tap % 3, oc = at % co;
    deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
    p.padding = DECONV_PADDING_SAME;
    deconv_shape xs = shape4(1, 4, 4, ci), fs = shape4(3, 3, ci, co);
    deconv_error e;
    CHECK(deconv_conv(ctx, &p, &xs, x, xn, &fs, w, wn, NULL, 0, y, yn, &e) == 0, "%s: %s", what,
          e.message);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            const int inside = i + a - 1 >= 0 && i + a - 1 < 4 && j + b - 1 >= 0 && j + b - 1 < 4;
            const float v = y[(i * 4 + j) * co + oc];
            CHECK(inside ? isinf(v) && v < 0 : isfinite(v),
                  "%s, inf weight %d: y(%d, %d) = %g, tap (%d, %d) reads %s there", what, at, i, j,
                  (double)v, a, b, inside ? "the input" : "padding");
        }
    free(x);
    free(w);
    free(y);
}

/* The same with a filter of 18432 weights, which conv_api.c scans for non-finite values in
 * chunks of 4096: an inf as the last weight of a whole chunk (index 12287: tap (1, 2),
 * in-channel 31, out-channel 63) and as the first of the tail (16384: tap (2, 2), channels 0,
 * 0). */
static void padding_never_multiplied_chunks(void) {
    check_inf_weight(NULL, 32, 64, 12287, "chunks");
    check_inf_weight(NULL, 32, 64, 16384, "chunks");
}

/* And where the scan is shared out over a context's threads (1 << 18 floats a unit): a
 * filter of 589824 weights makes 3 units, one per thread of a 3-thread context. An inf as
 * the first weight of unit 2 (524288: tap (2, 2), channels 0, 0) and inside unit 1 (458752:
 * tap (2, 1)). */
static void padding_never_multiplied_threads(void) {
    deconv_context *ctx = NULL;
    CHECK(deconv_context_create(3, &ctx, NULL) == 0, "context");
    const int at[2] = {524288, 458752};
    for (int k = 0; k < 2; k++) {
        check_inf_weight(ctx, 256, 256, at[k], "3 threads");
        check_inf_weight(NULL, 256, 256, at[k], "no context");
    }
    deconv_context_destroy(ctx);
}

static void context_api(void) {
    deconv_context *ctx = NULL;
    deconv_error e;
    CHECK(deconv_context_create(-1, &ctx, &e) == DECONV_ERR_INVALID_ARGUMENT && !ctx, "threads -1");
    CHECK(deconv_context_create(2000, &ctx, &e) == DECONV_ERR_INVALID_ARGUMENT, "threads 2000");
    CHECK(deconv_context_create(2, NULL, &e) == DECONV_ERR_NULL_POINTER, "out NULL");
    CHECK(deconv_context_create(0, &ctx, &e) == 0 && deconv_context_num_threads(ctx) >= 1, "auto");
    deconv_context_destroy(ctx);
    CHECK(deconv_context_num_threads(NULL) == 1, "NULL context is serial");
    deconv_context_destroy(NULL);
    CHECK(deconv_context_create(3, &ctx, &e) == 0 && deconv_context_num_threads(ctx) == 3, "3");
    char ws[64];
    CHECK(deconv_context_set_workspace(ctx, NULL, 8, &e) == DECONV_ERR_NULL_POINTER, "ws NULL");
    CHECK(deconv_context_set_workspace(NULL, ws, 8, &e) == DECONV_ERR_NULL_POINTER, "ctx NULL");
    CHECK(deconv_context_set_workspace(ctx, ws, sizeof ws, &e) == 0, "set ws");
    CHECK(deconv_context_set_workspace(ctx, NULL, 0, &e) == 0, "unset ws");
    deconv_context_destroy(ctx);
}

static void status_strings(void) {
    for (int s = 0; s < DECONV_STATUS_COUNT; s++) {
        const char *m = deconv_status_string((deconv_status)s);
        CHECK(m && m[0] && strcmp(m, "unknown status") != 0, "status %d has a name", s);
    }
    CHECK(strcmp(deconv_status_string((deconv_status)DECONV_STATUS_COUNT), "unknown status") == 0,
          "unknown");
    CHECK(deconv_version() == DECONV_VERSION_NUMBER, "runtime version %d", deconv_version());
    CHECK(strcmp(deconv_version_string(), "1.1.0") == 0 || DECONV_VERSION_NUMBER != 10100,
          "version string %s", deconv_version_string());
}

void suite_conv(void) {
    worked_example();
    shape_queries();
    keras_sizes();
    error_rules();
    adjoint_identity();
    activations_and_bias();
    empty_and_zero_fill();
    padding_never_multiplied();
    padding_never_multiplied_chunks();
    padding_never_multiplied_threads();
    context_api();
    status_strings();
}
