/* test_bad_inputs.c - every class of /work/shared/reference/bad-inputs.md that applies to the
 * API, tried on every op: the right status, a message naming the fault, no output (or argmax)
 * byte written, no crash. Buffers are malloc'd at exactly their declared size so that the
 * sanitizer and valgrind builds catch any read or write past them.
 *
 * Each op starts from a valid call (checked to succeed first, so a rejection is the fault's
 * doing), then one thing is broken. */
#include "harness.h"

#include <deconv.h>

#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { CONV, CONVT, MAXP, AVGP, ARGMAX, MAXUNP, AVGUNP, NOPS };
static const char *const op_names[NOPS] = {"conv",   "conv_transpose", "max_pool", "avg_pool",
                                           "max_pool_with_argmax", "max_unpool", "avg_unpool"};

static long g_cases; /* bad-input cases tried, printed at the end of the suite */

/* One call of any op: parameters, shapes, buffers (owned) and what is actually passed
 * (pointers that a case may redirect or NULL). */
typedef struct call {
    int op;
    deconv_conv_params cp;
    deconv_pool_params pp;
    deconv_shape in, filter, oshape;
    float *x, *w, *b, *y;
    int64_t *idx;
    int64_t xn, wn, bn, yn, idxn;
    int64_t ycap, idxcap; /* what y and idx really hold (a case may lie in yn, idxn) */
    /* what goes to the library */
    const void *params;
    const deconv_shape *inp, *fp, *osp;
    const float *xp, *wp, *bp;
    float *yp;
    int64_t *idxp;
    deconv_context *ctx;
} call;

static int is_conv(int op) { return op == CONV || op == CONVT; }
static int is_unpool(int op) { return op == MAXUNP || op == AVGUNP; }

static deconv_shape shape4(int64_t a, int64_t b, int64_t c, int64_t d) {
    deconv_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 4;
    s.dims[0] = a;
    s.dims[1] = b;
    s.dims[2] = c;
    s.dims[3] = d;
    return s;
}

static float *alloc_f(int64_t n, uint64_t seed) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    for (int64_t i = 0; i < n; i++) p[i] = th_rand_float(&seed);
    return p;
}

/* A valid call of `op` (2-D, channels-last, groups 2 for the convs, odd sizes). */
static void setup(call *c, int op) {
    const deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
    const deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    memset(c, 0, sizeof *c);
    c->op = op;
    c->cp = cp;
    c->pp = pp;
    c->pp.ksize[0] = c->pp.ksize[1] = 3;
    c->pp.strides[0] = c->pp.strides[1] = 2;
    switch (op) {
    case CONV: /* [2,5,5,4] * [3,3,2,6] (groups 2) -> [2,3,3,6] */
        c->in = shape4(2, 5, 5, 4);
        c->filter = shape4(3, 3, 2, 6);
        c->oshape = shape4(2, 3, 3, 6);
        c->bn = 6;
        break;
    case CONVT: /* [2,3,3,6] with [3,3,2,6] (groups 2) -> [2,5,5,4] */
        c->in = shape4(2, 3, 3, 6);
        c->filter = shape4(3, 3, 2, 6);
        c->oshape = shape4(2, 5, 5, 4);
        c->bn = 4;
        break;
    case MAXP: case AVGP: case ARGMAX: /* [2,5,5,3] k3 s2 VALID -> [2,2,2,3] */
        c->in = shape4(2, 5, 5, 3);
        c->oshape = shape4(2, 2, 2, 3);
        break;
    default: /* unpool [2,2,2,3] -> [2,5,5,3] */
        c->in = shape4(2, 2, 2, 3);
        c->oshape = shape4(2, 5, 5, 3);
        break;
    }
    c->xn = c->in.dims[0] * c->in.dims[1] * c->in.dims[2] * c->in.dims[3];
    c->yn = c->oshape.dims[0] * c->oshape.dims[1] * c->oshape.dims[2] * c->oshape.dims[3];
    c->x = alloc_f(c->xn, 1);
    if (is_conv(op)) {
        c->wn = 3 * 3 * 2 * 6;
        c->w = alloc_f(c->wn, 2);
        c->b = alloc_f(c->bn, 3);
    }
    c->ycap = c->yn;
    c->y = malloc((size_t)c->yn * sizeof *c->y);
    th_poison(c->y, c->yn);
    if (op == ARGMAX || op == MAXUNP) {
        c->idxn = c->idxcap = op == ARGMAX ? c->yn : c->xn;
        c->idx = malloc((size_t)c->idxn * sizeof *c->idx);
        if (op == ARGMAX)
            th_poison_i64(c->idx, c->idxn);
        else /* in range of one image [0, 75) */
            for (int64_t j = 0; j < c->idxn; j++) c->idx[j] = (j * 7) % 75;
    }
    c->params = is_conv(op) ? (const void *)&c->cp : (const void *)&c->pp;
    c->inp = &c->in;
    c->fp = &c->filter;
    c->osp = &c->oshape;
    c->xp = c->x;
    c->wp = c->w;
    c->bp = c->b;
    c->yp = c->y;
    c->idxp = c->idx;
}

static void teardown(call *c) {
    free(c->x);
    free(c->w);
    free(c->b);
    free(c->y);
    free(c->idx);
}

static deconv_status invoke(const call *c, deconv_error *e) {
    switch (c->op) {
    case CONV:
        return deconv_conv(c->ctx, c->params, c->inp, c->xp, c->xn, c->fp, c->wp, c->wn, c->bp,
                           c->bn, c->yp, c->yn, e);
    case CONVT:
        return deconv_conv_transpose(c->ctx, c->params, c->inp, c->xp, c->xn, c->fp, c->wp,
                                     c->wn, c->bp, c->bn, c->osp, c->yp, c->yn, e);
    case MAXP: return deconv_max_pool(c->ctx, c->params, c->inp, c->xp, c->xn, c->yp, c->yn, e);
    case AVGP: return deconv_avg_pool(c->ctx, c->params, c->inp, c->xp, c->xn, c->yp, c->yn, e);
    case ARGMAX:
        return deconv_max_pool_with_argmax(c->ctx, c->params, c->inp, c->xp, c->xn, c->yp,
                                           c->yn, c->idxp, c->idxn, e);
    case MAXUNP:
        return deconv_max_unpool(c->ctx, c->params, c->inp, c->xp, c->xn, c->idxp, c->idxn,
                                 c->osp, c->yp, c->yn, e);
    default:
        return deconv_avg_unpool(c->ctx, c->params, c->inp, c->xp, c->xn, c->osp, c->yp, c->yn,
                                 e);
    }
}

/* Outputs untouched: y (and argmax when it is an output) still poisoned. */
static int untouched(const call *c) {
    if (!th_is_poisoned(c->y, c->ycap)) return 0;
    if (c->op == ARGMAX && !th_is_poisoned_i64(c->idx, c->idxcap)) return 0;
    return 1;
}

/* Runs the (broken) call and checks status, message and untouched outputs. `needle` must
 * appear in the message (it names the argument at fault). Also re-runs it with error NULL. */
static void expect_fail(const call *c, deconv_status want, const char *needle, const char *what) {
    deconv_error e;
    memset(&e, 0x5a, sizeof e);
    g_cases++;
    const deconv_status got = invoke(c, &e);
    CHECK(got == want, "%s / %s: status %d (%s), want %d (%s): \"%.*s\"", op_names[c->op], what,
          (int)got, deconv_status_string(got), (int)want, deconv_status_string(want),
          DECONV_MESSAGE_SIZE, e.message);
    CHECK(e.status == got, "%s / %s: error.status %d != returned %d", op_names[c->op], what,
          (int)e.status, (int)got);
    CHECK(memchr(e.message, '\0', sizeof e.message) != NULL, "%s / %s: message not terminated",
          op_names[c->op], what);
    if (memchr(e.message, '\0', sizeof e.message)) {
        CHECK(e.message[0] != '\0', "%s / %s: empty message", op_names[c->op], what);
        CHECK(!needle || strstr(e.message, needle), "%s / %s: message \"%s\" does not name \"%s\"",
              op_names[c->op], what, e.message, needle);
    }
    CHECK(untouched(c), "%s / %s: an output was written on error", op_names[c->op], what);
    const deconv_status again = invoke(c, NULL);
    CHECK(again == want, "%s / %s with error NULL: status %d", op_names[c->op], what, (int)again);
    CHECK(untouched(c), "%s / %s with error NULL: an output was written", op_names[c->op], what);
}

/* A call that must succeed; the outputs are poisoned again afterwards for the next case. */
static void expect_ok(const call *c, const char *what) {
    deconv_error e;
    const deconv_status got = invoke(c, &e);
    CHECK(got == DECONV_OK && e.status == DECONV_OK && e.message[0] == '\0',
          "%s / %s: baseline call failed: %d %s", op_names[c->op], what, (int)got, e.message);
    th_poison(c->y, c->ycap);
    if (c->op == ARGMAX) th_poison_i64(c->idx, c->idxcap);
}

/* Pointers to the per-dim parameter arrays of whichever struct the op takes. */
static int64_t *strides_of(call *c) { return is_conv(c->op) ? c->cp.strides : c->pp.strides; }

/* What a shape of `count` elements (with a 1-element buffer) must give on this platform:
 * addressable -> the count check fires; beyond size_t -> OVERFLOW. */
static deconv_status huge_status(double count) {
    /* the library's addressable limit: PTRDIFF_MAX bytes of int64 (argmax) elements */
    return count > (double)(PTRDIFF_MAX / (ptrdiff_t)sizeof(int64_t)) ? DECONV_ERR_OVERFLOW
                                                                       : DECONV_ERR_COUNT_MISMATCH;
}

/* ---- classes 1, 2, 15: zero / negative / huge strides, kernels, dilations ----------------- */

static void test_window_params(void) {
    static const int64_t bad[] = {0, -1, -2, INT64_MIN};
    for (int op = 0; op < NOPS; op++) {
        call c;
        setup(&c, op);
        expect_ok(&c, "valid");
        for (int d = 0; d < 2; d++) {
            for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                int64_t *s = strides_of(&c), keep = s[d];
                s[d] = bad[i];
                expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "strides[", "stride < 1");
                s[d] = DECONV_MAX_EXTENT + 1;
                expect_fail(&c, DECONV_ERR_OVERFLOW, "strides[", "stride > 2^40");
                s[d] = INT64_MAX;
                expect_fail(&c, DECONV_ERR_OVERFLOW, "strides[", "stride INT64_MAX");
                s[d] = keep;
                if (is_conv(op)) {
                    int64_t kd = c.cp.dilations[d];
                    c.cp.dilations[d] = bad[i];
                    expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "dilations[", "dilation < 1");
                    c.cp.dilations[d] = DECONV_MAX_EXTENT + 1;
                    expect_fail(&c, DECONV_ERR_OVERFLOW, "dilations[", "dilation > 2^40");
                    /* within the bound, but (k - 1) * d + 1 is not */
                    c.cp.dilations[d] = DECONV_MAX_EXTENT;
                    expect_fail(&c, DECONV_ERR_OVERFLOW, "effective kernel", "k_eff > 2^40");
                    c.cp.dilations[d] = kd;
                    int64_t kf = c.filter.dims[d];
                    c.filter.dims[d] = bad[i];
                    expect_fail(&c, DECONV_ERR_INVALID_SHAPE, "filter[", "kernel < 1");
                    c.filter.dims[d] = kf;
                } else {
                    int64_t kk = c.pp.ksize[d];
                    c.pp.ksize[d] = bad[i];
                    expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "ksize[", "ksize < 1");
                    c.pp.ksize[d] = DECONV_MAX_EXTENT + 1;
                    expect_fail(&c, DECONV_ERR_OVERFLOW, "ksize[", "ksize > 2^40");
                    c.pp.ksize[d] = kk;
                }
            }
        }
        if (is_conv(op)) { /* the filter's channel dims too (row 6: empty filter) */
            for (int ax = 2; ax < 4; ax++) {
                int64_t keep = c.filter.dims[ax];
                c.filter.dims[ax] = 0;
                expect_fail(&c, DECONV_ERR_INVALID_SHAPE, "filter[", "filter channel dim 0");
                c.filter.dims[ax] = keep;
            }
        }
        expect_ok(&c, "restored");
        teardown(&c);
    }
}

/* ---- class 16: explicit pads negative, huge; pool pads >= ksize -------------------------- */

static void test_pads(void) {
    for (int op = 0; op < NOPS; op++) {
        call c;
        setup(&c, op);
        int64_t *pads = is_conv(op) ? c.cp.pads : c.pp.pads;
        if (is_conv(op))
            c.cp.padding = DECONV_PADDING_EXPLICIT;
        else
            c.pp.padding = DECONV_PADDING_EXPLICIT;
        expect_ok(&c, "explicit zero pads");
        for (int j = 0; j < 4; j++) {
            pads[j] = -1;
            expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "pads[", "negative pad");
            pads[j] = INT64_MIN;
            expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "pads[", "pad INT64_MIN");
            if (is_conv(op)) {
                pads[j] = DECONV_MAX_EXTENT + 1;
                expect_fail(&c, DECONV_ERR_OVERFLOW, "pads[", "pad > 2^40");
                /* in range, but the output (conv) or output_shape (transposed) can't match */
                /* in range, but the output (conv) or output_shape (transposed) can't match:
                 * conv's output dim passes 2^40 itself; with 2^39 its ~2 * 2^39 * 3 * 6
                 * elements are addressable on 64-bit only */
                pads[j] = DECONV_MAX_EXTENT;
                expect_fail(&c, op == CONVT ? DECONV_ERR_INVALID_OUTPUT_SHAPE : DECONV_ERR_OVERFLOW,
                            op == CONVT ? "output_shape[" : "output[", "pad 2^40");
                pads[j] = DECONV_MAX_EXTENT / 2;
                const deconv_status want = op == CONVT ? DECONV_ERR_INVALID_OUTPUT_SHAPE
                                           : huge_status((double)DECONV_MAX_EXTENT * 18.0);
                expect_fail(&c, want,
                            op == CONVT ? "output_shape[" : want == DECONV_ERR_OVERFLOW
                                                                ? "output" : "output_count",
                            "pad 2^39");
            } else {
                pads[j] = 3; /* == ksize: a window could lie entirely in padding */
                expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "pads[", "pad >= ksize");
                pads[j] = INT64_MAX;
                expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "pads[", "pad INT64_MAX");
            }
            pads[j] = 0;
        }
        teardown(&c);
    }
}

/* ---- classes 9, 10, 18 and >2^31: negative dims, wrong ranks, overflowing products -------- */

static void test_dims(void) {
    for (int op = 0; op < NOPS; op++) {
        call c;
        setup(&c, op);
        for (int ax = 0; ax < 4; ax++) {
            int64_t keep = c.in.dims[ax];
            c.in.dims[ax] = -1;
            expect_fail(&c, DECONV_ERR_INVALID_SHAPE, "input[", "negative input dim");
            c.in.dims[ax] = INT64_MIN;
            expect_fail(&c, DECONV_ERR_INVALID_SHAPE, "input[", "input dim INT64_MIN");
            c.in.dims[ax] = DECONV_MAX_EXTENT + 1;
            expect_fail(&c, DECONV_ERR_OVERFLOW, "input[", "input dim > 2^40");
            c.in.dims[ax] = INT64_MAX;
            expect_fail(&c, DECONV_ERR_OVERFLOW, "input[", "input dim INT64_MAX");
            c.in.dims[ax] = keep;
            if (is_conv(op) || is_unpool(op)) {
                const char *nm = op == CONV ? "filter[" : "output_shape[";
                deconv_shape *s = op == CONV ? &c.filter : &c.oshape;
                keep = s->dims[ax];
                s->dims[ax] = -2;
                expect_fail(&c, DECONV_ERR_INVALID_SHAPE, nm, "negative dim");
                s->dims[ax] = DECONV_MAX_EXTENT * 2;
                expect_fail(&c, DECONV_ERR_OVERFLOW, nm, "dim > 2^40");
                s->dims[ax] = keep;
            }
        }
        /* Products that overflow int64 although every dim is <= 2^40. */
        deconv_shape keep_in = c.in;
        c.in = shape4(DECONV_MAX_EXTENT, DECONV_MAX_EXTENT, 1, 3);
        if (op == CONV) c.in.dims[3] = 4;
        if (op == CONVT) c.in.dims[3] = 6;
        expect_fail(&c, DECONV_ERR_OVERFLOW, "input", "input count > int64");
        c.in = keep_in;
        /* The same when another dim is 0: the element count is 0, but strides multiply the
         * other dims (found by fuzz_pool: signed overflow in dc_layout_from_shape). */
        c.in = shape4(0, ((int64_t)1 << 32) + 1, ((int64_t)1 << 32) + 1, keep_in.dims[3]);
        c.xn = 0;
        expect_fail(&c, DECONV_ERR_OVERFLOW, "input", "batch 0, spatial product > int64");
        c.in = keep_in;
        c.xn = keep_in.dims[0] * keep_in.dims[1] * keep_in.dims[2] * keep_in.dims[3];
        if (op == CONVT || is_unpool(op)) {
            const deconv_shape keep_os = c.oshape;
            c.oshape = shape4(2, ((int64_t)1 << 32) + 1, ((int64_t)1 << 32) + 1, 0);
            const int64_t keep_yn = c.yn;
            c.yn = 0;
            expect_fail(&c, DECONV_ERR_OVERFLOW, "output_shape",
                        "0 channels, spatial product > int64");
            c.oshape = keep_os;
            c.yn = keep_yn;
        }
        /* Ranks: 3 and 5 for a 2-D op, garbage. */
        static const int32_t ranks[] = {0, -1, 3, 5, 6, INT32_MAX};
        for (size_t i = 0; i < sizeof ranks / sizeof *ranks; i++) {
            c.in.rank = ranks[i];
            expect_fail(&c, DECONV_ERR_INVALID_SHAPE, "input", "wrong input rank");
            c.in.rank = 4;
            if (is_conv(op)) {
                c.filter.rank = ranks[i];
                expect_fail(&c, DECONV_ERR_INVALID_SHAPE, "filter", "wrong filter rank");
                c.filter.rank = 4;
            }
            if (op == CONVT || is_unpool(op)) {
                c.oshape.rank = ranks[i];
                expect_fail(&c, DECONV_ERR_INVALID_SHAPE, "output_shape", "wrong output rank");
                c.oshape.rank = 4;
            }
        }
        expect_ok(&c, "restored");
        teardown(&c);
    }
}

/* Shapes far above 2^31 elements with 1-element buffers: validation must reject them from the
 * counts alone and never touch (or allocate for) the declared extent. */
static void test_huge_shapes(void) {
    static const int64_t sides[] = {((int64_t)1 << 16) + 1, (int64_t)1 << 20, 3037000499LL};
    for (int op = 0; op < NOPS; op++) {
        for (size_t i = 0; i < sizeof sides / sizeof *sides; i++) {
            call c;
            setup(&c, op);
            const int64_t s = sides[i];
            const int64_t ch = c.in.dims[3];
            c.in = shape4(1, s, s, ch);
            double n = (double)s * (double)s * (double)ch;
            if (op == CONVT || is_unpool(op)) {
                /* a huge input needs a matching huge output_shape first */
                c.in = shape4(1, 1, 1, ch);
                c.xn = ch;
                if (op == CONVT) {
                    /* VALID, k = 3, stride s: output sizes [3 + 0, 3 + s - 1] are valid */
                    c.cp.strides[0] = c.cp.strides[1] = s;
                    c.oshape = shape4(1, s, s, 4);
                } else {
                    c.pp.ksize[0] = c.pp.ksize[1] = s;
                    c.pp.strides[0] = c.pp.strides[1] = s;
                    c.oshape = shape4(1, s, s, 3);
                }
                if (op == MAXUNP) c.idxn = c.xn;
                n = (double)s * (double)s * (double)c.oshape.dims[3];
                c.yn = 1;
                expect_fail(&c, huge_status(n),
                            huge_status(n) == DECONV_ERR_OVERFLOW ? "output" : "output_count",
                            "huge output_shape, 1-element output");
            } else {
                c.xn = 1;
                expect_fail(&c, huge_status(n),
                            huge_status(n) == DECONV_ERR_OVERFLOW ? "input" : "input_count",
                            "huge input, 1-element buffer");
            }
            teardown(&c);
        }
    }
    /* Near the 2^31 / 2^32 boundaries on one dim: the input count claims the declared size
     * (the buffer holds 150 floats), the output count is wrong, so the call must fail before
     * reading anything. */
    static const int64_t edge[] = {((int64_t)1 << 31) - 1, (int64_t)1 << 31, ((int64_t)1 << 31) + 1,
                                   ((int64_t)1 << 32) + 3};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        call c;
        setup(&c, MAXP);
        c.in = shape4(1, edge[i], 1, 1);
        c.pp.ksize[1] = 1;
        c.pp.strides[1] = 1;
        c.xn = edge[i]; /* claims the right count... */
        expect_fail(&c, huge_status((double)edge[i]),
                    huge_status((double)edge[i]) == DECONV_ERR_OVERFLOW ? "input"
                                                                         : "output_count",
                    "count right, output count wrong, 2^31 edge");
        teardown(&c);
    }
}

/* ---- class 12: wrong element counts ------------------------------------------------------- */

static void test_counts(void) {
    for (int op = 0; op < NOPS; op++) {
        call c;
        setup(&c, op);
        const int64_t deltas[] = {-1, 1, 0};
        for (int k = 0; k < 3; k++) {
            int64_t keep;
            const int64_t dlt = deltas[k];
            keep = c.xn;
            c.xn = dlt ? keep + dlt : -1;
            expect_fail(&c, DECONV_ERR_COUNT_MISMATCH, "input_count", "input count off");
            c.xn = keep;
            keep = c.yn;
            c.yn = dlt ? keep + dlt : INT64_MIN;
            expect_fail(&c, DECONV_ERR_COUNT_MISMATCH, "output_count", "output count off");
            c.yn = keep;
            if (is_conv(op)) {
                keep = c.wn;
                c.wn = dlt ? keep + dlt : 0;
                expect_fail(&c, DECONV_ERR_COUNT_MISMATCH, "filter_count", "filter count off");
                c.wn = keep;
                keep = c.bn;
                c.bn = dlt ? keep + dlt : -1;
                expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "bias_count", "bias count off");
                c.bn = keep;
            }
            if (op == ARGMAX || op == MAXUNP) {
                keep = c.idxn;
                c.idxn = dlt ? keep + dlt : 0;
                expect_fail(&c, DECONV_ERR_COUNT_MISMATCH, "argmax_count", "argmax count off");
                c.idxn = keep;
            }
        }
        teardown(&c);
    }
}

/* ---- class 24: NULL pointers -------------------------------------------------------------- */

static void test_nulls(void) {
    for (int op = 0; op < NOPS; op++) {
        call c;
        setup(&c, op);
        c.params = NULL;
        expect_fail(&c, DECONV_ERR_NULL_POINTER, "params", "params NULL");
        c.params = is_conv(op) ? (const void *)&c.cp : (const void *)&c.pp;
        c.inp = NULL;
        expect_fail(&c, DECONV_ERR_NULL_POINTER, "input", "input shape NULL");
        c.inp = &c.in;
        c.xp = NULL;
        expect_fail(&c, DECONV_ERR_NULL_POINTER, "input", "input data NULL");
        c.xp = c.x;
        c.yp = NULL;
        expect_fail(&c, DECONV_ERR_NULL_POINTER, "output", "output NULL");
        c.yp = c.y;
        if (is_conv(op)) {
            c.fp = NULL;
            expect_fail(&c, DECONV_ERR_NULL_POINTER, "filter", "filter shape NULL");
            c.fp = &c.filter;
            c.wp = NULL;
            expect_fail(&c, DECONV_ERR_NULL_POINTER, "filter", "filter data NULL");
            c.wp = c.w;
            c.bp = NULL;
            expect_fail(&c, DECONV_ERR_NULL_POINTER, "bias", "bias NULL with count");
            c.bn = 0; /* NULL bias with count 0 is "no bias": valid */
            expect_ok(&c, "no bias");
            c.bn = c.op == CONV ? 6 : 4;
            c.bp = c.b;
        }
        if (op == CONVT || is_unpool(op)) {
            c.osp = NULL;
            expect_fail(&c, DECONV_ERR_NULL_POINTER, "output_shape", "output_shape NULL");
            c.osp = &c.oshape;
        }
        if (op == ARGMAX || op == MAXUNP) {
            c.idxp = NULL;
            expect_fail(&c, DECONV_ERR_NULL_POINTER, "argmax", "argmax NULL");
            c.idxp = c.idx;
        }
        teardown(&c);
    }
}

/* ---- class 23 and the params header: enums, spatial_rank, flags, struct_size -------------- */

static void test_enums(void) {
    static const int bad_enum[] = {3, 7, -1, 1000, INT32_MIN, INT32_MAX};
    static const int32_t bad_rank[] = {0, 4, -1, INT32_MIN, INT32_MAX};
    static const uint32_t bad_flags[] = {1, 2, 0x80000000u, 0xffffffffu};
    for (int op = 0; op < NOPS; op++) {
        call c;
        setup(&c, op);
        for (size_t i = 0; i < sizeof bad_enum / sizeof *bad_enum; i++) {
            const int v = bad_enum[i];
            if (is_conv(op)) {
                c.cp.layout = (deconv_layout)v;
                expect_fail(&c, DECONV_ERR_INVALID_ENUM, "layout", "layout out of range");
                c.cp.layout = DECONV_CHANNELS_LAST;
                c.cp.padding = (deconv_padding)v;
                expect_fail(&c, DECONV_ERR_INVALID_ENUM, "padding", "padding out of range");
                c.cp.padding = DECONV_PADDING_VALID;
                if (v != 3) { /* 3 is DECONV_ACTIVATION_LEAKY_RELU, a valid activation */
                    c.cp.activation = (deconv_activation)v;
                    expect_fail(&c, DECONV_ERR_INVALID_ENUM, "activation",
                                "activation out of range");
                    c.cp.activation = DECONV_ACTIVATION_NONE;
                }
            } else {
                c.pp.layout = (deconv_layout)v;
                expect_fail(&c, DECONV_ERR_INVALID_ENUM, "layout", "layout out of range");
                c.pp.layout = DECONV_CHANNELS_LAST;
                c.pp.padding = (deconv_padding)v;
                expect_fail(&c, DECONV_ERR_INVALID_ENUM, "padding", "padding out of range");
                c.pp.padding = DECONV_PADDING_VALID;
                /* the 0/1 switches */
                c.pp.count_include_pad = v;
                expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "count_include_pad", "switch");
                c.pp.count_include_pad = 0;
                c.pp.include_batch_in_index = v;
                expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "include_batch_in_index", "switch");
                c.pp.include_batch_in_index = 0;
                c.pp.normalize = v;
                expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "normalize", "switch");
                c.pp.normalize = 0;
            }
        }
        if (is_conv(op)) {
            c.cp.activation = (deconv_activation)7;
            expect_fail(&c, DECONV_ERR_INVALID_ENUM, "activation", "activation 7");
            c.cp.activation = DECONV_ACTIVATION_NONE;
        }
        for (size_t i = 0; i < sizeof bad_rank / sizeof *bad_rank; i++) {
            if (is_conv(op)) c.cp.spatial_rank = bad_rank[i];
            else c.pp.spatial_rank = bad_rank[i];
            expect_fail(&c, DECONV_ERR_INVALID_ENUM, "spatial_rank", "spatial_rank");
            if (is_conv(op)) c.cp.spatial_rank = 2;
            else c.pp.spatial_rank = 2;
        }
        for (size_t i = 0; i < sizeof bad_flags / sizeof *bad_flags; i++) {
            if (is_conv(op)) c.cp.flags = bad_flags[i];
            else c.pp.flags = bad_flags[i];
            expect_fail(&c, DECONV_ERR_INVALID_ENUM, "flags", "flags != 0");
            c.cp.flags = 0;
            c.pp.flags = 0;
        }
        const size_t known = is_conv(op) ? sizeof(deconv_conv_params) : sizeof(deconv_pool_params);
        const size_t sizes[] = {0, 1, sizeof(size_t), known - 1, known + 1, known + 8, SIZE_MAX};
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            if (is_conv(op)) c.cp.struct_size = sizes[i];
            else c.pp.struct_size = sizes[i];
            expect_fail(&c, DECONV_ERR_STRUCT_SIZE, "struct_size", "struct_size");
        }
        c.cp.struct_size = sizeof c.cp;
        c.pp.struct_size = sizeof c.pp;
        /* A struct that really is only as large as it says (an older, smaller caller): the
         * library may read struct_size and nothing past it. Exact-size heap block, so ASan
         * and valgrind flag any read beyond it. */
        size_t *tiny = malloc(sizeof(size_t));
        *tiny = sizeof(size_t);
        c.params = tiny;
        expect_fail(&c, DECONV_ERR_STRUCT_SIZE, "struct_size", "struct of 8 bytes");
        free(tiny);
        c.params = is_conv(op) ? (const void *)&c.cp : (const void *)&c.pp;
        expect_ok(&c, "restored");
        teardown(&c);
    }
}

/* ---- class 25: float parameters (activation) ---------------------------------------------- */

static void test_activation_params(void) {
    for (int op = CONV; op <= CONVT; op++) {
        call c;
        setup(&c, op);
        const float bad[] = {NAN, INFINITY, -INFINITY};
        for (int i = 0; i < 3; i++) {
            c.cp.activation = DECONV_ACTIVATION_LEAKY_RELU;
            c.cp.alpha = bad[i];
            expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "alpha", "alpha non-finite");
            c.cp.alpha = 0.2f;
            c.cp.activation = DECONV_ACTIVATION_CLAMP;
            c.cp.clamp_min = bad[i];
            expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "clamp", "clamp_min non-finite");
            c.cp.clamp_min = 0.0f;
            c.cp.clamp_max = bad[i];
            expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "clamp", "clamp_max non-finite");
            c.cp.clamp_max = 6.0f;
        }
        c.cp.clamp_min = 1.0f;
        c.cp.clamp_max = 0.5f;
        expect_fail(&c, DECONV_ERR_INVALID_ARGUMENT, "clamp", "clamp_min > clamp_max");
        /* alpha NaN is irrelevant (and allowed) when the activation is not leaky ReLU */
        c.cp.activation = DECONV_ACTIVATION_RELU;
        c.cp.alpha = NAN;
        expect_ok(&c, "NaN alpha unused");
        teardown(&c);
    }
}

/* ---- classes 11, 13, 21, 30: shapes that disagree ---------------------------------------- */

static void test_mismatch(void) {
    call c;
    /* conv: channels not a multiple of the filter's in-channels; out channels vs groups */
    setup(&c, CONV);
    c.in.dims[3] = 5;
    c.xn = 2 * 5 * 5 * 5;
    expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "input channels", "C % filter C");
    c.in.dims[3] = 1; /* fewer input channels than the filter's */
    expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "input channels", "C < filter C");
    c.in.dims[3] = 4;
    c.xn = 2 * 5 * 5 * 4;
    c.filter.dims[3] = 5; /* 5 output channels, 2 groups */
    c.wn = 3 * 3 * 2 * 5;
    expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "groups", "OC % groups");
    c.filter.dims[3] = 6;
    c.wn = 3 * 3 * 2 * 6;
    c.filter.dims[0] = 7; /* window larger than the input: (5 - 7 + 1) < 0 */
    expect_fail(&c, DECONV_ERR_OUTPUT_SIZE, "negative", "kernel > input (VALID)");
    teardown(&c);

    /* conv_transpose: output_shape sizes outside TF's accepted range, batch, channels */
    setup(&c, CONVT);
    static const int64_t bad_sizes[] = {4, 6, 0, 1, 100};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++)
        for (int ax = 1; ax <= 2; ax++) {
            c.oshape.dims[ax] = bad_sizes[i];
            expect_fail(&c, DECONV_ERR_INVALID_OUTPUT_SHAPE, "output_shape[", "out of range");
            c.oshape.dims[ax] = 5;
        }
    c.cp.strides[0] = c.cp.strides[1] = 2; /* valid sizes now 7..8 */
    c.oshape.dims[1] = c.oshape.dims[2] = 9;
    expect_fail(&c, DECONV_ERR_INVALID_OUTPUT_SHAPE, "7..8", "adjustment >= stride");
    c.cp.padding = DECONV_PADDING_SAME; /* valid 5..6 */
    expect_fail(&c, DECONV_ERR_INVALID_OUTPUT_SHAPE, "5..6", "SAME out of range");
    c.cp.strides[0] = c.cp.strides[1] = 1;
    c.cp.padding = DECONV_PADDING_VALID;
    c.oshape = shape4(3, 5, 5, 4);
    expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "output_shape[0]", "batch");
    c.oshape = shape4(2, 5, 5, 5);
    expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "output_shape channels", "OC % filter");
    c.oshape = shape4(2, 5, 5, 4);
    c.in.dims[3] = 5;
    expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "input channels", "IC != filter IC");
    c.in.dims[3] = 6;
    expect_ok(&c, "restored");
    teardown(&c);

    /* pools: window larger than the input */
    for (int op = MAXP; op <= ARGMAX; op++) {
        setup(&c, op);
        c.pp.ksize[1] = 9; /* (5 - 9 + 2) / 2 = -1, negative with floor or truncation */
        expect_fail(&c, DECONV_ERR_OUTPUT_SIZE, "ksize[1]", "window > input");
        teardown(&c);
    }

    /* unpools: output_shape must pool back onto the input exactly */
    for (int op = MAXUNP; op <= AVGUNP; op++) {
        setup(&c, op);
        expect_ok(&c, "valid");
        static const int64_t sizes[] = {4, 7, 0, 3};
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            c.oshape.dims[1] = sizes[i];
            expect_fail(&c, DECONV_ERR_INVALID_OUTPUT_SHAPE, "output_shape[1]", "spatial");
            c.oshape.dims[1] = 5;
        }
        c.oshape.dims[0] = 1;
        expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "output_shape[0]", "batch");
        c.oshape.dims[0] = 2;
        c.oshape.dims[3] = 4;
        expect_fail(&c, DECONV_ERR_SHAPE_MISMATCH, "output_shape[3]", "channels");
        c.oshape.dims[3] = 3;
        teardown(&c);
    }
}

/* ---- classes 20, 22: argmax indices ------------------------------------------------------- */

static void test_indices(void) {
    call c;
    setup(&c, MAXUNP);
    expect_ok(&c, "valid indices");
    const int64_t image = 5 * 5 * 3, whole = 2 * image;
    const int64_t bad[] = {-1, INT64_MIN, image, image + 1, ((int64_t)1 << 32) + 3,
                           ((int64_t)1 << 31), INT64_MAX, -(((int64_t)1 << 32) - 3)};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (int64_t pos = 0; pos < c.idxn; pos += c.idxn - 1) {
            const int64_t keep = c.idx[pos];
            c.idx[pos] = bad[i];
            char needle[32];
            snprintf(needle, sizeof needle, "argmax[%lld]", (long long)pos);
            expect_fail(&c, DECONV_ERR_INDEX_OUT_OF_RANGE, needle, "bad index");
            c.idx[pos] = keep;
        }
    }
    /* The first bad index is the one named. */
    c.idx[3] = -5;
    c.idx[9] = image;
    expect_fail(&c, DECONV_ERR_INDEX_OUT_OF_RANGE, "argmax[3]", "first bad index named");
    c.idx[3] = 0;
    c.idx[9] = 0;
    /* With the batch term the whole output is the range: image..whole-1 becomes valid. */
    c.pp.include_batch_in_index = 1;
    c.idx[4] = whole - 1;
    expect_ok(&c, "batch index in range");
    c.idx[4] = whole;
    expect_fail(&c, DECONV_ERR_INDEX_OUT_OF_RANGE, "argmax[4]", "batch index = N*spatial*C");
    c.idx[4] = whole + ((int64_t)1 << 32);
    expect_fail(&c, DECONV_ERR_INDEX_OUT_OF_RANGE, "argmax[4]", "batch index 2^32 + k");
    c.idx[4] = -1;
    expect_fail(&c, DECONV_ERR_INDEX_OUT_OF_RANGE, "argmax[4]", "batch index -1");
    c.idx[4] = 0;
    c.pp.include_batch_in_index = 0;
    c.idx[4] = image; /* ...but not without it */
    expect_fail(&c, DECONV_ERR_INDEX_OUT_OF_RANGE, "argmax[4]", "per-image index = spatial*C");
    teardown(&c);
}

/* INT64_MIN with the batch term in the scalar tail of the vectorised prescan (C a power of
 * two, a pooled row of 6 indices: 4 in a vector, 2 in the tail). The prescan computed
 * index - base in int64 there (UBSan under make sanitize; found by fuzz_pool, seed
 * Tests/fuzz/corpus/pool/regress-scan-index-overflow). */
static void test_index_tail_overflow(void) {
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    pp.ksize[0] = pp.ksize[1] = 2;
    pp.strides[0] = pp.strides[1] = 2;
    pp.include_batch_in_index = 1;
    const deconv_shape in = shape4(2, 2, 6, 2), pooled = shape4(2, 1, 3, 2);
    float x[48], y[12], out[48];
    int64_t am[12];
    for (int i = 0; i < 48; i++) x[i] = (float)((i * 7) % 11);
    deconv_error e;
    CHECK(deconv_max_pool_with_argmax(NULL, &pp, &in, x, 48, y, 12, am, 12, &e) == DECONV_OK,
          "tail overflow setup: %s", e.message);
    for (int last = 0; last < 2; last++) {
        const int pos = last ? 11 : 10; /* image 1's tail: base 24 */
        const int64_t keep = am[pos];
        am[pos] = INT64_MIN;
        th_poison(out, 48);
        g_cases++;
        const deconv_status st =
            deconv_max_unpool(NULL, &pp, &pooled, y, 12, am, 12, &in, out, 48, &e);
        char needle[32];
        snprintf(needle, sizeof needle, "argmax[%d]", pos);
        CHECK(st == DECONV_ERR_INDEX_OUT_OF_RANGE && strstr(e.message, needle),
              "INT64_MIN in the prescan tail: %d %s", (int)st, e.message);
        CHECK(th_is_poisoned(out, 48), "INT64_MIN in the prescan tail: output written");
        am[pos] = keep;
    }
    CHECK(deconv_max_unpool(NULL, &pp, &pooled, y, 12, am, 12, &in, out, 48, &e) == DECONV_OK,
          "tail overflow: valid indices refused: %s", e.message);
}

/* A workspace query must cost O(1)-ish whatever the extents. A transposed conv with one output
 * channel, a 3x3 filter and stride 2 goes to the column kernel (conv_col.c); with a dilation
 * of 2^36 its output has ~2^37 rows and the kernel's planner walked every one-row band to size
 * the column buffer (a fuzz_conv timeout in CI). The query only sizes things: it must answer. */
static void test_huge_dilation_query(void) {
    deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
    cp.strides[0] = cp.strides[1] = 2;
    cp.dilations[0] = (int64_t)1 << 36; /* along H */
    const deconv_shape in = shape4(1, 2, 2, 8), f = shape4(3, 3, 1, 8);
    int64_t lo[3], hi[3];
    deconv_error e;
    g_cases++;
    CHECK(deconv_conv_transpose_output_range(&cp, &in, &f, lo, hi, &e) == DECONV_OK,
          "huge dilation range: %s", e.message);
    const deconv_shape out = shape4(1, lo[0], lo[1], 1);
    size_t bytes = 0;
    const deconv_status st = deconv_conv_transpose_workspace_size(NULL, &cp, &in, &f, &out,
                                                                  &bytes, &e);
    CHECK(st == DECONV_OK || st == DECONV_ERR_OVERFLOW, "huge dilation workspace query: %d %s",
          (int)st, e.message);
}

/* A tiny conv with a huge stride must run: 1x8 input, 1x1 filter, stride 2^40 along W gives
 * one output pixel. The im2col driver's padded image reserved mr * stride floats of slack
 * past the image, and the workspace query said 48 TB (fuzz_conv, allocation-size-too-big). */
static void test_huge_stride_workspace(void) {
    deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
    cp.strides[1] = DECONV_MAX_EXTENT;
    const deconv_shape in = shape4(2, 1, 8, 1), f = shape4(1, 1, 1, 2);
    const float x[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, w[2] = {2, -1};
    float y[4] = {0};
    size_t bytes = 0;
    deconv_error e;
    g_cases++;
    CHECK(deconv_conv_workspace_size(NULL, &cp, &in, &f, &bytes, &e) == DECONV_OK,
          "huge stride workspace query: %s", e.message);
    CHECK(bytes < ((size_t)1 << 20), "huge stride: workspace %zu bytes for a 4-float output",
          bytes);
    CHECK(deconv_conv(NULL, &cp, &in, x, 16, &f, w, 2, NULL, 0, y, 4, &e) == DECONV_OK,
          "huge stride conv: %s", e.message);
    CHECK(y[0] == 2 && y[1] == -1 && y[2] == 18 && y[3] == -9, "huge stride conv: %g %g %g %g",
          y[0], y[1], y[2], y[3]);
}

/* avg_pool of an input with a zero-extent dim, whose pads still give a non-empty output: every
 * window is empty, so every output is 0. The windows also span 2^40 cells along another dim;
 * the reference walked those 2^40 rows (each holding no cell) for every output before it
 * noticed (fuzz_pool timeout). NCDHW [1, 1, 2^40, 0, 6], ksize {2^40, 4, 3}, pads on dim 1. */
static void test_empty_dim_huge_window(void) {
    /* a 32-bit platform addresses at most 2^28 non-zero-dim elements: 2^25 rows there */
    const int64_t big = sizeof(void *) >= 8 ? DECONV_MAX_EXTENT : (int64_t)1 << 25;
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    pp.spatial_rank = 3;
    pp.layout = DECONV_CHANNELS_FIRST;
    pp.padding = DECONV_PADDING_EXPLICIT;
    pp.ksize[0] = big;
    pp.ksize[1] = 4;
    pp.ksize[2] = 3;
    pp.pads[2] = pp.pads[3] = 2; /* dim 1: 0 + 2 + 2 - 4 + 1 = 1 output */
    deconv_shape in;
    memset(&in, 0, sizeof in);
    in.rank = 5;
    in.dims[0] = in.dims[1] = 1;
    in.dims[2] = big;
    in.dims[3] = 0;
    in.dims[4] = 6;
    deconv_shape out;
    int64_t pads[6];
    deconv_error e;
    g_cases++;
    CHECK(deconv_pool_output_shape(&pp, &in, &out, pads, &e) == DECONV_OK,
          "empty-dim avg_pool shape: %s", e.message);
    CHECK(out.dims[2] == 1 && out.dims[3] == 1 && out.dims[4] == 4,
          "empty-dim avg_pool output %lld x %lld x %lld", (long long)out.dims[2],
          (long long)out.dims[3], (long long)out.dims[4]);
    float y[4];
    th_poison(y, 4);
    CHECK(deconv_avg_pool(NULL, &pp, &in, NULL, 0, y, 4, &e) == DECONV_OK,
          "empty-dim avg_pool: %s", e.message);
    CHECK(y[0] == 0.0f && y[1] == 0.0f && y[2] == 0.0f && y[3] == 0.0f,
          "empty-dim avg_pool: %g %g %g %g, want zeros", y[0], y[1], y[2], y[3]);
}

/* ---- overlapping buffers ------------------------------------------------------------------ */

/* Runs c with output (and argmax) redirected into `arena` at the given offsets; the arena's
 * bytes must not change. */
static void expect_overlap(call *c, unsigned char *arena, size_t arena_bytes, const char *needle,
                           const char *what) {
    unsigned char *copy = malloc(arena_bytes);
    memcpy(copy, arena, arena_bytes);
    deconv_error e;
    g_cases++;
    const deconv_status got = invoke(c, &e);
    CHECK(got == DECONV_ERR_OVERLAP && e.status == got,
          "%s / %s: status %d, want OVERLAP: %s", op_names[c->op], what, (int)got, e.message);
    CHECK(strstr(e.message, needle) != NULL, "%s / %s: message \"%s\" lacks \"%s\"",
          op_names[c->op], what, e.message, needle);
    CHECK(memcmp(copy, arena, arena_bytes) == 0, "%s / %s: memory changed on error",
          op_names[c->op], what);
    CHECK(untouched(c), "%s / %s: an output was written", op_names[c->op], what);
    free(copy);
}

static void test_overlap(void) {
    for (int op = 0; op < NOPS; op++) {
        call c;
        setup(&c, op);
        /* an arena that can hold any two of the op's buffers with any offset */
        const int64_t nmax = c.xn + c.yn + c.wn + c.bn + 2 * c.idxn + 8;
        const size_t bytes = (size_t)nmax * sizeof(int64_t);
        unsigned char *arena = malloc(bytes);
        float *af = (float *)(void *)arena;
        for (int64_t i = 0; i < nmax * 2; i++) af[i] = (float)(i % 13) - 6.0f;
        int64_t *ai = (int64_t *)(void *)arena;
        if (op == MAXUNP)
            for (int64_t i = 0; i < nmax; i++) ai[i] = i % 50;

        /* output == input, output = input + 1, input = output + 1, input starting at the
         * output's last element, output starting at the input's last element */
        const int64_t offs[5][2] = {{0, 0}, {0, 1}, {1, 0}, {c.yn - 1, 0}, {0, c.xn - 1}};
        for (int k = 0; k < 5; k++) {
            int64_t ox = offs[k][0], oy = offs[k][1];
            if (op == MAXUNP) { ox += nmax; oy += nmax; } /* keep clear of index data */
            c.xp = af + ox;
            c.yp = af + oy;
            expect_overlap(&c, arena, bytes, "input", "output overlaps input");
        }
        c.xp = c.x;
        c.yp = af;
        if (is_conv(op)) {
            c.wp = af + c.yn - 1; /* last output element = first filter element */
            expect_overlap(&c, arena, bytes, "filter", "output overlaps filter");
            c.wp = af + c.yn / 2;
            expect_overlap(&c, arena, bytes, "filter", "filter inside output");
            c.wp = c.w;
            c.bp = af + c.yn - 2;
            expect_overlap(&c, arena, bytes, "bias", "output overlaps bias");
            c.bp = c.b;
        }
        if (op == ARGMAX) {
            /* argmax overlapping the output, and the input */
            c.yp = c.y;
            c.idxp = ai;
            c.yp = (float *)(void *)(ai + c.idxn - 1);
            expect_overlap(&c, arena, bytes, "output", "argmax overlaps output");
            c.yp = c.y;
            c.xp = (const float *)(const void *)(ai + 1);
            expect_overlap(&c, arena, bytes, "input", "argmax overlaps input");
            c.xp = c.x;
            c.idxp = c.idx;
        }
        if (op == MAXUNP) {
            /* output overlapping the index input: indices valid, so only overlap is wrong */
            c.idxp = ai;
            c.yp = (float *)(void *)(ai + c.idxn - 1);
            expect_overlap(&c, arena, bytes, "argmax", "output overlaps argmax");
            c.idxp = c.idx;
        }
        c.yp = c.y;
        expect_ok(&c, "restored");
        free(arena);
        teardown(&c);
    }
}

/* ---- empty tensors (rows 5, 7, 8): defined results, never a division by zero -------------- */

static void test_empty(void) {
    deconv_error e;
    /* Row 5: conv of an empty input whose EXPLICIT pads make the output non-empty: bias only. */
    deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
    cp.padding = DECONV_PADDING_EXPLICIT;
    cp.pads[0] = cp.pads[1] = cp.pads[2] = cp.pads[3] = 1;
    deconv_shape in = shape4(1, 0, 2, 1), f = shape4(1, 1, 1, 2), out;
    float w[2] = {1.0f, 2.0f}, bias[2] = {0.5f, -0.25f}, y[2 * 4 * 2];
    CHECK(deconv_conv_output_shape(&cp, &in, &f, &out, NULL, &e) == DECONV_OK,
          "empty conv shape: %s", e.message);
    CHECK(out.dims[1] == 2 && out.dims[2] == 4, "empty conv out %lld x %lld",
          (long long)out.dims[1], (long long)out.dims[2]);
    th_poison(y, 16);
    float dummy = 0.0f;
    CHECK(deconv_conv(NULL, &cp, &in, &dummy, 0, &f, w, 2, bias, 2, y, 16, &e) == DECONV_OK,
          "empty conv: %s", e.message);
    int good = 1;
    for (int i = 0; i < 16; i++) good &= y[i] == bias[i % 2];
    CHECK(good, "empty conv output is not the bias");
    /* Row 7: transposed conv of an empty input: zeros + bias. */
    deconv_conv_params tp = DECONV_CONV_PARAMS_INIT;
    deconv_shape tin = shape4(1, 0, 3, 2), tf = shape4(3, 3, 2, 2), tout = shape4(1, 2, 5, 2);
    float tw[36] = {0}, ty[20];
    th_poison(ty, 20);
    CHECK(deconv_conv_transpose(NULL, &tp, &tin, NULL, 0, &tf, tw, 36, bias, 2, &tout, ty, 20,
                                &e) == DECONV_OK,
          "empty conv_transpose: %s", e.message);
    good = 1;
    for (int i = 0; i < 20; i++) good &= ty[i] == bias[i % 2];
    CHECK(good, "empty conv_transpose output is not the bias");
    /* Row 8: batch 0 through argmax and unpool. */
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    pp.ksize[0] = pp.ksize[1] = 2;
    pp.strides[0] = pp.strides[1] = 2;
    deconv_shape pin = shape4(0, 4, 4, 3), pout = shape4(0, 2, 2, 3);
    CHECK(deconv_max_pool_with_argmax(NULL, &pp, &pin, NULL, 0, NULL, 0, NULL, 0, &e) ==
              DECONV_OK, "batch-0 argmax: %s", e.message);
    CHECK(deconv_max_unpool(NULL, &pp, &pout, NULL, 0, NULL, 0, &pin, NULL, 0, &e) == DECONV_OK,
          "batch-0 max_unpool: %s", e.message);
    CHECK(deconv_avg_unpool(NULL, &pp, &pout, NULL, 0, &pin, NULL, 0, &e) == DECONV_OK,
          "batch-0 avg_unpool: %s", e.message);
    /* Empty tensors with 2^39 rows of zero length (0 channels): every op returns at once.
     * Walking the rows would take hours (fuzz_pool found max_unpool's index scan doing so;
     * seed Tests/fuzz/corpus/pool/regress-unpool-empty-rows). Buffers are non-NULL with
     * count 0, as a caller holding an empty array passes them. */
    {
        deconv_pool_params vp = DECONV_POOL_PARAMS_INIT; /* VALID, k1 s1: output = input */
        /* 2^39 rows where pointers are 64-bit; 32-bit builds reject shapes whose non-zero
         * dims multiply past what they can address, so they get 2^27 rows */
        const int64_t h = sizeof(void *) >= 8 ? (int64_t)1 << 20 : (int64_t)1 << 14;
        const deconv_shape big = shape4(1, h, h / 2, 0);
        float fx[1] = {0}, fy[1] = {0};
        int64_t ix[1] = {0};
        CHECK(deconv_max_pool(NULL, &vp, &big, fx, 0, fy, 0, &e) == DECONV_OK,
              "empty-rows max_pool: %s", e.message);
        CHECK(deconv_avg_pool(NULL, &vp, &big, fx, 0, fy, 0, &e) == DECONV_OK,
              "empty-rows avg_pool: %s", e.message);
        CHECK(deconv_max_pool_with_argmax(NULL, &vp, &big, fx, 0, fy, 0, ix, 0, &e) ==
                  DECONV_OK, "empty-rows argmax: %s", e.message);
        CHECK(deconv_max_unpool(NULL, &vp, &big, fx, 0, ix, 0, &big, fy, 0, &e) == DECONV_OK,
              "empty-rows max_unpool: %s", e.message);
        CHECK(deconv_avg_unpool(NULL, &vp, &big, fx, 0, &big, fy, 0, &e) == DECONV_OK,
              "empty-rows avg_unpool: %s", e.message);
        deconv_conv_params ep = DECONV_CONV_PARAMS_INIT;
        const deconv_shape ein = shape4(1, (int64_t)1 << 20, 0, 1), ef = shape4(1, 1, 1, 1);
        float w1 = 1.0f;
        CHECK(deconv_conv(NULL, &ep, &ein, fx, 0, &ef, &w1, 1, NULL, 0, fy, 0, &e) == DECONV_OK,
              "empty-rows conv: %s", e.message);
        CHECK(deconv_conv_transpose(NULL, &ep, &ein, fx, 0, &ef, &w1, 1, NULL, 0, &ein, fy, 0,
                                    &e) == DECONV_OK, "empty-rows conv_transpose: %s",
              e.message);
    }
    /* A max pool window with no valid cell (0-sized input, EXPLICIT pads) is an error. */
    pp.padding = DECONV_PADDING_EXPLICIT;
    pp.pads[0] = pp.pads[1] = 1;
    deconv_shape zin = shape4(1, 0, 4, 1);
    float zy[4];
    th_poison(zy, 4);
    g_cases++;
    const deconv_status st = deconv_max_pool(NULL, &pp, &zin, NULL, 0, zy, 2, &e);
    CHECK(st == DECONV_ERR_INVALID_ARGUMENT && strstr(e.message, "input[1] = 0"),
          "max_pool window in padding only: %d %s", (int)st, e.message);
    CHECK(th_is_poisoned(zy, 4), "max_pool window in padding only wrote output");
}

/* ---- class 26: all-NaN, all -inf windows; NaN policy -------------------------------------- */

static void test_nan_inf_windows(void) {
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    pp.padding = DECONV_PADDING_SAME; /* border windows include padding, which must never win */
    pp.ksize[0] = pp.ksize[1] = 3;
    pp.strides[0] = pp.strides[1] = 2;
    deconv_shape in = shape4(1, 5, 5, 2); /* -> [1,3,3,2] */
    float x[50], y[18], ya[18];
    int64_t am[18];
    deconv_error e;
    for (int fill = 0; fill < 2; fill++) {
        const float v = fill == 0 ? NAN : -INFINITY;
        for (int i = 0; i < 50; i++) x[i] = v;
        th_poison(y, 18);
        th_poison(ya, 18);
        th_poison_i64(am, 18);
        CHECK(deconv_max_pool(NULL, &pp, &in, x, 50, y, 18, &e) == DECONV_OK, "%s", e.message);
        CHECK(deconv_max_pool_with_argmax(NULL, &pp, &in, x, 50, ya, 18, am, 18, &e) == DECONV_OK,
              "%s", e.message);
        int ok_v = 1, ok_i = 1;
        for (int o = 0; o < 18; o++) {
            const int c = o % 2, oy = o / 6, ox = (o / 2) % 3;
            /* first valid cell of the SAME window (total pad 2: one before) */
            const int y0 = oy * 2 - 1 < 0 ? 0 : oy * 2 - 1, x0 = ox * 2 - 1 < 0 ? 0 : ox * 2 - 1;
            const int64_t first = ((int64_t)y0 * 5 + x0) * 2 + c;
            if (fill == 0) ok_v &= isnan(y[o]) && isnan(ya[o]);
            else ok_v &= y[o] == -INFINITY && ya[o] == -INFINITY;
            ok_i &= am[o] == first;
        }
        CHECK(ok_v, "%s window: max is not %s", fill ? "all -inf" : "all-NaN",
              fill ? "-inf" : "NaN");
        CHECK(ok_i, "%s window: argmax is not the window's first valid cell",
              fill ? "all -inf" : "all-NaN");
        th_poison(y, 18);
        CHECK(deconv_avg_pool(NULL, &pp, &in, x, 50, y, 18, &e) == DECONV_OK, "%s", e.message);
        ok_v = 1;
        for (int o = 0; o < 18; o++) ok_v &= fill == 0 ? isnan(y[o]) : y[o] == -INFINITY;
        CHECK(ok_v, "avg of an all-%s window", fill ? "-inf" : "NaN");
        /* The argmax feeds max_unpool without any index complaint. */
        float back[50];
        th_poison(back, 50);
        CHECK(deconv_max_unpool(NULL, &pp, &(deconv_shape){4, {1, 3, 3, 2}}, ya, 18, am, 18, &in,
                                back, 50, &e) == DECONV_OK,
              "unpool of all-%s argmax: %s", fill ? "-inf" : "NaN", e.message);
    }
    /* One NaN in a window of numbers wins (first NaN in window order). */
    for (int i = 0; i < 50; i++) x[i] = (float)i;
    x[2 * (1 * 5 + 1)] = NAN; /* cell (1,1) channel 0: inside window (0,0) and (1,0)/(0,1)... */
    th_poison_i64(am, 18);
    CHECK(deconv_max_pool_with_argmax(NULL, &pp, &in, x, 50, ya, 18, am, 18, &e) == DECONV_OK,
          "%s", e.message);
    CHECK(isnan(ya[0]) && am[0] == 2 * (1 * 5 + 1), "NaN in window: value %g index %lld",
          (double)ya[0], (long long)am[0]);
    CHECK(!isnan(ya[1]), "NaN leaked into another channel");
    /* +inf and -inf in one avg window give NaN. */
    for (int i = 0; i < 50; i++) x[i] = 1.0f;
    x[0] = INFINITY;
    x[2] = -INFINITY;
    CHECK(deconv_avg_pool(NULL, &pp, &in, x, 50, y, 18, &e) == DECONV_OK, "%s", e.message);
    CHECK(isnan(y[0]), "avg(+inf, -inf) = %g, want NaN", (double)y[0]);
}

/* ---- subnormals and the FP environment ---------------------------------------------------- */

/* The parts of the FP environment a library could change: rounding mode, and the FTZ/DAZ,
 * exception-mask and precision-control bits of the FPU control registers. Status flags are
 * legitimately raised by arithmetic and are not compared. */
static unsigned long long fp_control(void) {
    unsigned long long v = (unsigned long long)fegetround() << 48;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    v ^= (unsigned long long)cw << 32;
#if defined(__SSE__) || defined(__x86_64__)
    unsigned int csr;
    __asm__ volatile("stmxcsr %0" : "=m"(csr));
    v ^= csr & ~0x3fu; /* drop the sticky exception flags */
#endif
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    unsigned long long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    v ^= fpcr;
#endif
    return v;
}

static void test_fp_env(void) {
    /* Every op, on success and on error, leaves the control state as it found it, also under
     * a non-default rounding mode the caller chose. */
    static const int modes[] = {FE_TONEAREST,
#ifdef FE_UPWARD
                                FE_UPWARD,
#endif
#ifdef FE_TOWARDZERO
                                FE_TOWARDZERO,
#endif
    };
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        CHECK(fesetround(modes[m]) == 0, "fesetround");
        for (int op = 0; op < NOPS; op++) {
            call c;
            setup(&c, op);
            deconv_context *ctx = NULL;
            for (int pass = 0; pass < 3; pass++) {
                if (pass == 2) { /* through a 3-thread context: the workers' env counts too */
                    CHECK(deconv_context_create(3, &ctx, NULL) == DECONV_OK, "ctx");
                    c.ctx = ctx;
                }
                const unsigned long long before = fp_control();
                if (pass == 1) c.xn++;
                deconv_error e;
                const deconv_status st = invoke(&c, &e);
                if (pass == 1) c.xn--;
                CHECK((pass == 1) == (st != DECONV_OK), "%s pass %d: %s", op_names[op], pass,
                      e.message);
                CHECK(fp_control() == before, "%s (pass %d, mode %d) changed the FP environment",
                      op_names[op], pass, (int)m);
            }
            deconv_context_destroy(ctx);
            teardown(&c);
        }
    }
    fesetround(FE_TONEAREST);

    /* Subnormals stay subnormal (no FTZ/DAZ): 1x1 conv with weight 1, max pool, avg of equal
     * values, and a transposed conv, all exact. */
    const float sub = 1.0e-40f, sub2 = -3.0e-42f;
    CHECK(sub > 0.0f && sub < 1.17549435e-38f, "test constant is not subnormal");
    deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
    deconv_shape in = shape4(1, 2, 2, 1), f = shape4(1, 1, 1, 1);
    float x[4] = {sub, sub2, sub, sub2}, w[1] = {1.0f}, y[4];
    deconv_error e;
    CHECK(deconv_conv(NULL, &cp, &in, x, 4, &f, w, 1, NULL, 0, y, 4, &e) == DECONV_OK, "%s",
          e.message);
    CHECK(memcmp(x, y, sizeof x) == 0, "conv flushed subnormals: %g %g", (double)y[0],
          (double)y[1]);
    CHECK(deconv_conv_transpose(NULL, &cp, &in, x, 4, &f, w, 1, NULL, 0, &in, y, 4, &e) ==
              DECONV_OK, "%s", e.message);
    CHECK(memcmp(x, y, sizeof x) == 0, "conv_transpose flushed subnormals");
    /* subnormal weights times normal inputs: 3x3 conv, compared with a double reference */
    float xs[25], ws[9], ys[9];
    uint64_t seed = 99;
    for (int i = 0; i < 25; i++) xs[i] = th_rand_float(&seed);
    for (int i = 0; i < 9; i++) ws[i] = th_rand_float(&seed) * 1.0e-39f;
    deconv_shape xin = shape4(1, 5, 5, 1), wf = shape4(3, 3, 1, 1);
    CHECK(deconv_conv(NULL, &cp, &xin, xs, 25, &wf, ws, 9, NULL, 0, ys, 9, &e) == DECONV_OK, "%s",
          e.message);
    int close = 1;
    for (int oy = 0; oy < 3; oy++)
        for (int ox = 0; ox < 3; ox++) {
            double ref = 0.0;
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) ref += (double)xs[(oy + a) * 5 + ox + b] * ws[a * 3 + b];
            const float got = ys[oy * 3 + ox];
            close &= isfinite(got) && fabs((double)got - ref) <= 32 * 1.4e-45 + 1e-5 * fabs(ref);
        }
    CHECK(close, "conv with subnormal weights is not within tolerance");
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    pp.ksize[0] = pp.ksize[1] = 2;
    float py[1];
    const float same[4] = {sub, sub, sub, sub};
    deconv_shape pin = shape4(1, 2, 2, 1);
    CHECK(deconv_max_pool(NULL, &pp, &pin, x, 4, py, 1, &e) == DECONV_OK && py[0] == sub,
          "max_pool of subnormals = %g", (double)py[0]);
    CHECK(deconv_avg_pool(NULL, &pp, &pin, same, 4, py, 1, &e) == DECONV_OK && py[0] == sub,
          "avg_pool of equal subnormals = %g", (double)py[0]);
}

/* ---- queries and contexts ------------------------------------------------------------------ */

static void expect_status_e(deconv_status got, deconv_status want, const deconv_error *e,
                            const char *needle, const char *what) {
    g_cases++;
    CHECK(got == want && e->status == want, "%s: status %d, want %d (%s)", what, (int)got,
          (int)want, e->message);
    CHECK(e->message[0] != '\0' && (!needle || strstr(e->message, needle)),
          "%s: message \"%s\" lacks \"%s\"", what, e->message, needle ? needle : "");
}

/* The query tests all report into a local `deconv_error e`. */
#define expect_status(got, want, needle, what) expect_status_e(got, want, &e, needle, what)

static void test_queries(void) {
    deconv_error e;
    deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    deconv_shape in = shape4(1, 5, 5, 2), f = shape4(3, 3, 2, 2), out = shape4(1, 3, 3, 2);
    int64_t pads[6], lo[3], hi[3], sz;
    size_t bytes;
    deconv_shape res;

    expect_status(deconv_conv_output_shape(&cp, &in, &f, NULL, pads, &e), DECONV_ERR_NULL_POINTER,
                  "output", "conv_output_shape output NULL");
    expect_status(deconv_conv_output_shape(NULL, &in, &f, &res, pads, &e),
                  DECONV_ERR_NULL_POINTER, "params", "conv_output_shape params NULL");
    cp.strides[1] = 0;
    expect_status(deconv_conv_output_shape(&cp, &in, &f, &res, pads, &e),
                  DECONV_ERR_INVALID_ARGUMENT, "strides[1]", "conv_output_shape stride 0");
    expect_status(deconv_conv_transpose_output_range(&cp, &out, &f, lo, hi, &e),
                  DECONV_ERR_INVALID_ARGUMENT, "strides[1]", "output_range stride 0");
    cp.strides[1] = 1;
    expect_status(deconv_conv_transpose_output_range(&cp, &out, &f, NULL, hi, &e),
                  DECONV_ERR_NULL_POINTER, "min_size", "output_range NULL");
    f.dims[0] = 0;
    expect_status(deconv_conv_transpose_output_range(&cp, &out, &f, lo, hi, &e),
                  DECONV_ERR_INVALID_SHAPE, "filter[0]", "output_range kernel 0");
    f.dims[0] = 3;
    cp.strides[0] = DECONV_MAX_EXTENT;
    deconv_shape big = shape4(1, DECONV_MAX_EXTENT, 1, 2);
    expect_status(deconv_conv_transpose_output_range(&cp, &big, &f, lo, hi, &e),
                  DECONV_ERR_OVERFLOW, "input", "output_range in * stride > 2^62");
    cp.strides[0] = 1;
    expect_status(deconv_conv_transpose_pads(&cp, &out, &f, &in, NULL, &e),
                  DECONV_ERR_NULL_POINTER, "pads", "transpose_pads NULL");
    deconv_shape wrong = shape4(1, 8, 5, 2);
    expect_status(deconv_conv_transpose_pads(&cp, &out, &f, &wrong, pads, &e),
                  DECONV_ERR_INVALID_OUTPUT_SHAPE, "output_shape[1]", "transpose_pads size");
    expect_status(deconv_conv_workspace_size(NULL, &cp, &in, &f, NULL, &e),
                  DECONV_ERR_NULL_POINTER, "bytes", "workspace_size NULL");
    expect_status(deconv_conv_transpose_workspace_size(NULL, &cp, &out, &f, &wrong, &bytes, &e),
                  DECONV_ERR_INVALID_OUTPUT_SHAPE, "output_shape[1]", "t workspace_size shape");
    cp.layout = (deconv_layout)-1;
    expect_status(deconv_conv_workspace_size(NULL, &cp, &in, &f, &bytes, &e),
                  DECONV_ERR_INVALID_ENUM, "layout", "workspace_size layout");
    cp.layout = DECONV_CHANNELS_LAST;

    /* Keras sizes */
    expect_status(deconv_keras_conv_transpose_size(4, 3, 0, 1, DECONV_PADDING_SAME, -1, &sz, &e),
                  DECONV_ERR_INVALID_ARGUMENT, "stride", "keras stride 0");
    expect_status(deconv_keras_conv_transpose_size(4, 0, 2, 1, DECONV_PADDING_SAME, -1, &sz, &e),
                  DECONV_ERR_INVALID_ARGUMENT, "kernel", "keras kernel 0");
    expect_status(deconv_keras_conv_transpose_size(-1, 3, 2, 1, DECONV_PADDING_SAME, -1, &sz, &e),
                  DECONV_ERR_INVALID_ARGUMENT, "input_size", "keras input -1");
    expect_status(deconv_keras_conv_transpose_size(4, 3, 2, 0, DECONV_PADDING_SAME, -1, &sz, &e),
                  DECONV_ERR_INVALID_ARGUMENT, "dilation", "keras dilation 0");
    expect_status(deconv_keras_conv_transpose_size(4, 3, 2, 1, DECONV_PADDING_SAME, 2, &sz, &e),
                  DECONV_ERR_INVALID_ARGUMENT, "output_padding", "keras output_padding = stride");
    expect_status(deconv_keras_conv_transpose_size(4, 3, 2, 1, DECONV_PADDING_EXPLICIT, -1, &sz,
                                                   &e),
                  DECONV_ERR_INVALID_ENUM, "EXPLICIT", "keras EXPLICIT");
    expect_status(deconv_keras_conv_transpose_size(4, 3, 2, 1, (deconv_padding)9, -1, &sz, &e),
                  DECONV_ERR_INVALID_ENUM, "padding", "keras padding 9");
    expect_status(deconv_keras_conv_transpose_size(4, 3, 2, 1, DECONV_PADDING_SAME, -1, NULL, &e),
                  DECONV_ERR_NULL_POINTER, "output_size", "keras NULL");
    expect_status(deconv_keras_conv_transpose_size(DECONV_MAX_EXTENT, 3, DECONV_MAX_EXTENT, 1,
                                                   DECONV_PADDING_SAME, -1, &sz, &e),
                  DECONV_ERR_OVERFLOW, "too large", "keras in * stride");
    expect_status(deconv_keras_conv_transpose_size(4, INT64_MAX, 2, 1, DECONV_PADDING_SAME, -1,
                                                   &sz, &e),
                  DECONV_ERR_OVERFLOW, "kernel", "keras kernel INT64_MAX");

    /* pool_output_shape */
    expect_status(deconv_pool_output_shape(&pp, &in, NULL, pads, &e), DECONV_ERR_NULL_POINTER,
                  "output", "pool_output_shape NULL");
    pp.ksize[0] = -3;
    expect_status(deconv_pool_output_shape(&pp, &in, &res, pads, &e),
                  DECONV_ERR_INVALID_ARGUMENT, "ksize[0]", "pool_output_shape ksize");
    pp.ksize[0] = 1;
    pp.struct_size = 3;
    expect_status(deconv_pool_output_shape(&pp, &in, &res, pads, &e), DECONV_ERR_STRUCT_SIZE,
                  "struct_size", "pool_output_shape struct_size");

    /* contexts */
    deconv_context *ctx = (deconv_context *)&e; /* must stay untouched on error */
    expect_status(deconv_context_create(-1, &ctx, &e), DECONV_ERR_INVALID_ARGUMENT,
                  "num_threads", "context -1");
    expect_status(deconv_context_create(1025, &ctx, &e), DECONV_ERR_INVALID_ARGUMENT,
                  "num_threads", "context 1025");
    expect_status(deconv_context_create(INT32_MIN, &ctx, &e), DECONV_ERR_INVALID_ARGUMENT,
                  "num_threads", "context INT32_MIN");
    CHECK(ctx == (deconv_context *)&e, "context_create wrote *out on error");
    expect_status(deconv_context_create(2, NULL, &e), DECONV_ERR_NULL_POINTER, "out",
                  "context out NULL");
    expect_status(deconv_context_set_workspace(NULL, NULL, 0, &e), DECONV_ERR_NULL_POINTER, "ctx",
                  "set_workspace ctx NULL");
    CHECK(deconv_context_create(2, &ctx, &e) == DECONV_OK, "%s", e.message);
    expect_status(deconv_context_set_workspace(ctx, NULL, 64, &e), DECONV_ERR_NULL_POINTER,
                  "workspace", "set_workspace NULL with size");
    CHECK(deconv_context_num_threads(NULL) == 1 && deconv_context_num_threads(ctx) == 2,
          "num_threads");
    deconv_context_destroy(NULL); /* a no-op */

    /* A 1-byte caller workspace: an op that needs more fails cleanly, one that needs none
     * runs. Whichever applies to the kernel dispatch picks, both outcomes are checked. */
    unsigned char ws1[1];
    CHECK(deconv_context_set_workspace(ctx, ws1, 1, &e) == DECONV_OK, "%s", e.message);
    for (int op = CONV; op <= CONVT; op++) {
        call c;
        setup(&c, op);
        c.ctx = ctx;
        size_t need = 0;
        const deconv_status qs =
            op == CONV ? deconv_conv_workspace_size(ctx, &c.cp, &c.in, &c.filter, &need, &e)
                       : deconv_conv_transpose_workspace_size(ctx, &c.cp, &c.in, &c.filter,
                                                              &c.oshape, &need, &e);
        CHECK(qs == DECONV_OK, "workspace query: %s", e.message);
        if (need > 1) {
            expect_fail(&c, DECONV_ERR_WORKSPACE_TOO_SMALL, "workspace", "1-byte workspace");
        } else {
            expect_ok(&c, "1-byte workspace, none needed");
        }
        teardown(&c);
    }
    deconv_context_destroy(ctx);

    /* status strings */
    for (int s = 0; s < DECONV_STATUS_COUNT; s++)
        CHECK(strcmp(deconv_status_string((deconv_status)s), "unknown status") != 0,
              "status %d has no name", s);
    CHECK(strcmp(deconv_status_string((deconv_status)DECONV_STATUS_COUNT), "unknown status") == 0 &&
              strcmp(deconv_status_string((deconv_status)-1), "unknown status") == 0,
          "out-of-range status names");
}

/* ---- every layout and rank reject the same way (a 1-D and 3-D, channels-first sweep) ------ */

static void test_ranks_layouts(void) {
    deconv_error e;
    for (int sr = 1; sr <= 3; sr++) {
        for (int lay = 0; lay < 2; lay++) {
            deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
            cp.spatial_rank = sr;
            cp.layout = (deconv_layout)lay;
            deconv_shape in = {sr + 2, {0}}, f = {sr + 2, {0}};
            in.dims[0] = 1;
            for (int i = 0; i < sr; i++) {
                in.dims[lay ? 2 + i : 1 + i] = 4;
                f.dims[i] = 3;
            }
            in.dims[lay ? 1 : sr + 1] = 2;
            f.dims[sr] = 2;
            f.dims[sr + 1] = 3;
            deconv_shape out;
            CHECK(deconv_conv_output_shape(&cp, &in, &f, &out, NULL, &e) == DECONV_OK, "%s",
                  e.message);
            for (int i = 0; i < sr; i++) {
                cp.strides[i] = 0;
                expect_status(deconv_conv_output_shape(&cp, &in, &f, &out, NULL, &e),
                              DECONV_ERR_INVALID_ARGUMENT, "strides[", "rank sweep stride");
                cp.strides[i] = 1;
                const int ax = lay ? 2 + i : 1 + i;
                in.dims[ax] = 1; /* window larger than the input */
                expect_status(deconv_conv_output_shape(&cp, &in, &f, &out, NULL, &e),
                              DECONV_ERR_OUTPUT_SIZE, "negative", "rank sweep output size");
                in.dims[ax] = 4;
            }
            /* entries past spatial_rank are ignored, whatever they hold */
            for (int i = sr; i < 3; i++) cp.strides[i] = cp.dilations[i] = -7;
            CHECK(deconv_conv_output_shape(&cp, &in, &f, &out, NULL, &e) == DECONV_OK,
                  "entries past spatial_rank were read: %s", e.message);
        }
    }
}

void suite_bad_inputs(void) {
    test_window_params();
    test_pads();
    test_dims();
    test_huge_shapes();
    test_counts();
    test_nulls();
    test_enums();
    test_activation_params();
    test_mismatch();
    test_indices();
    test_overlap();
    test_index_tail_overflow();
    test_huge_dilation_query();
    test_huge_stride_workspace();
    test_empty_dim_huge_window();
    test_empty();
    test_nan_inf_windows();
    test_fp_env();
    test_queries();
    test_ranks_layouts();
    fprintf(stderr, "bad_inputs: %ld bad-input cases tried\n", g_cases);
}
