/* test_pool.c - pooling, argmax and unpooling: hand-checked cases, properties on random
 * configs against an independent brute-force oracle, and one error test per validation rule
 * (right status, a message, outputs untouched). */
#include "deconv.h"
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE(r, ...) ((deconv_shape){(r), {__VA_ARGS__}})
#define NELEM(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

/* ---- helpers ------------------------------------------------------------------------------ */

static deconv_pool_params pool_params(int32_t rank, deconv_layout layout, deconv_padding padding,
                                      int64_t k, int64_t s) {
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    pp.spatial_rank = rank;
    pp.layout = layout;
    pp.padding = padding;
    for (int i = 0; i < 3; i++) {
        pp.ksize[i] = k;
        pp.strides[i] = s;
    }
    return pp;
}

/* Same bits, or both NaN. */
static int same_float(float a, float b) {
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* One CHECK per array: reports the first element off by more than tol (NaN must match NaN). */
static void check_floats(const char *what, const float *got, const float *want, int64_t n,
                         float tol) {
    int64_t bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++) {
        if (isnan(want[i]) || isnan(got[i]) || isinf(want[i])) {
            if (!same_float(got[i], want[i])) bad = i;
        } else if (!(fabsf(got[i] - want[i]) <= tol * (1.0f + fabsf(want[i])))) {
            bad = i;
        }
    }
    CHECK(bad < 0, "%s: element %lld is %.9g, expected %.9g", what, (long long)bad,
          bad < 0 ? 0.0 : (double)got[bad], bad < 0 ? 0.0 : (double)want[bad]);
}

static void check_indices(const char *what, const int64_t *got, const int64_t *want, int64_t n) {
    int64_t bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++)
        if (got[i] != want[i]) bad = i;
    CHECK(bad < 0, "%s: index %lld is %lld, expected %lld", what, (long long)bad,
          bad < 0 ? 0LL : (long long)got[bad], bad < 0 ? 0LL : (long long)want[bad]);
}

/* Runs max_pool, avg_pool and max_pool_with_argmax on one input and checks each against the
 * expected values (NULL = not checked). max_pool must equal the argmax op's values. */
static void run_forward(const char *what, const deconv_pool_params *pp, deconv_shape in,
                        const float *x, int64_t xn, const float *want_max,
                        const int64_t *want_arg, const float *want_avg, int64_t yn) {
    float y[64], y2[64];
    int64_t arg[64];
    char label[128];
    deconv_error e;
    if (yn > 64) {
        CHECK(0, "%s: test buffer too small", what);
        return;
    }
    if (want_max || want_arg) {
        th_poison(y, 64);
        th_poison(y2, 64);
        th_poison_i64(arg, 64);
        deconv_status st = deconv_max_pool(NULL, pp, &in, x, xn, y, yn, &e);
        CHECK(st == DECONV_OK, "%s: max_pool status %d: %s", what, (int)st, e.message);
        st = deconv_max_pool_with_argmax(NULL, pp, &in, x, xn, y2, yn, arg, yn, &e);
        CHECK(st == DECONV_OK, "%s: max_pool_with_argmax status %d: %s", what, (int)st,
              e.message);
        snprintf(label, sizeof label, "%s max_pool", what);
        if (want_max) check_floats(label, y, want_max, yn, 0.0f);
        snprintf(label, sizeof label, "%s max_pool_with_argmax values", what);
        check_floats(label, y2, y, yn, 0.0f);
        snprintf(label, sizeof label, "%s argmax", what);
        if (want_arg) check_indices(label, arg, want_arg, yn);
        CHECK(th_is_poisoned(y + yn, 64 - yn) && th_is_poisoned_i64(arg + yn, 64 - yn),
              "%s: wrote past the output", what);
    }
    if (want_avg) {
        th_poison(y, 64);
        deconv_status st = deconv_avg_pool(NULL, pp, &in, x, xn, y, yn, &e);
        CHECK(st == DECONV_OK, "%s: avg_pool status %d: %s", what, (int)st, e.message);
        snprintf(label, sizeof label, "%s avg_pool", what);
        check_floats(label, y, want_avg, yn, 1e-6f);
        CHECK(th_is_poisoned(y + yn, 64 - yn), "%s: avg_pool wrote past the output", what);
    }
}

/* ---- hand-checked cases ------------------------------------------------------------------- */

static void test_basic_2d(void) {
    /* 4x4 NHWC, 2x2 windows, stride 2: each window's bottom-right is its maximum. */
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
    deconv_pool_params pp = pool_params(2, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 2, 2);
    const float mx[4] = {6, 8, 14, 16}, av[4] = {3.5f, 5.5f, 11.5f, 13.5f};
    const int64_t am[4] = {5, 7, 13, 15};
    run_forward("2d valid", &pp, SHAPE(4, 1, 4, 4, 1), x, 16, mx, am, av, 4);

    deconv_shape out;
    int64_t pads[6];
    deconv_error e;
    CHECK(deconv_pool_output_shape(&pp, &SHAPE(4, 1, 4, 4, 1), &out, pads, &e) == DECONV_OK,
          "output_shape: %s", e.message);
    CHECK(out.rank == 4 && out.dims[0] == 1 && out.dims[1] == 2 && out.dims[2] == 2 &&
              out.dims[3] == 1 && e.status == DECONV_OK && e.message[0] == '\0',
          "pooled shape of [1,4,4,1] k2 s2 VALID");
}

static void test_same_odd_pads(void) {
    const float x[5] = {1, 2, 3, 4, 5};
    /* W=5, k=4, s=2 SAME: out 3, total pad 3 -> 1 before, 2 after (the extra at the END).
     * Windows [-1,2], [1,4], [3,6]. Reversed pads would give avg 1.5, 2.5, 4. */
    deconv_pool_params pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_SAME, 4, 2);
    const float mx[3] = {3, 5, 5}, av[3] = {2, 3.5f, 4.5f}, av_pad[3] = {1.5f, 3.5f, 2.25f};
    const int64_t am[3] = {2, 4, 4};
    run_forward("1d same k4 s2", &pp, SHAPE(3, 1, 5, 1), x, 5, mx, am, av, 3);
    pp.count_include_pad = 1;
    run_forward("1d same k4 s2 count_include_pad", &pp, SHAPE(3, 1, 5, 1), x, 5, NULL, NULL,
                av_pad, 3);

    deconv_shape out;
    int64_t pads[6];
    deconv_error e;
    th_poison_i64(pads, 6);
    CHECK(deconv_pool_output_shape(&pp, &SHAPE(3, 1, 5, 1), &out, pads, &e) == DECONV_OK,
          "output_shape: %s", e.message);
    CHECK(out.rank == 3 && out.dims[1] == 3 && pads[0] == 1 && pads[1] == 2 && pads[2] == 0 &&
              pads[5] == 0,
          "SAME k4 s2 on 5: got size %lld pads %lld %lld", (long long)out.dims[1],
          (long long)pads[0], (long long)pads[1]);

    /* k=3, s=2: total 2 -> 1 and 1. */
    pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_SAME, 3, 2);
    const float mx3[3] = {2, 4, 5}, av3[3] = {1.5f, 3, 4.5f}, av3_pad[3] = {1, 3, 3};
    const int64_t am3[3] = {1, 3, 4};
    run_forward("1d same k3 s2", &pp, SHAPE(3, 1, 5, 1), x, 5, mx3, am3, av3, 3);
    pp.count_include_pad = 1;
    run_forward("1d same k3 s2 count_include_pad", &pp, SHAPE(3, 1, 5, 1), x, 5, NULL, NULL,
                av3_pad, 3);
}

static void test_explicit_pads(void) {
    /* 3x3 input 1..9, k2 s1, one pad row on top and one column on the left. */
    float x[9];
    for (int i = 0; i < 9; i++) x[i] = (float)(i + 1);
    deconv_pool_params pp = pool_params(2, DECONV_CHANNELS_LAST, DECONV_PADDING_EXPLICIT, 2, 1);
    const int64_t pads[6] = {1, 0, 1, 0, 0, 0};
    memcpy(pp.pads, pads, sizeof pads);
    const float mx[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const int64_t am[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    const float av[9] = {1, 1.5f, 2.5f, 2.5f, 3, 4, 5.5f, 6, 7};
    const float av_pad[9] = {0.25f, 0.75f, 1.25f, 1.25f, 3, 4, 2.75f, 6, 7};
    run_forward("2d explicit", &pp, SHAPE(4, 1, 3, 3, 1), x, 9, mx, am, av, 9);
    pp.count_include_pad = 1;
    run_forward("2d explicit count_include_pad", &pp, SHAPE(4, 1, 3, 3, 1), x, 9, NULL, NULL,
                av_pad, 9);

    /* Negative inputs: the padding (if it counted as 0) would win every window; it never does. */
    for (int i = 0; i < 9; i++) x[i] = -(float)(i + 1);
    const float mxn[9] = {-1, -1, -2, -1, -1, -2, -4, -4, -5};
    const int64_t amn[9] = {0, 0, 1, 0, 0, 1, 3, 3, 4};
    pp.count_include_pad = 0;
    run_forward("2d explicit negative", &pp, SHAPE(4, 1, 3, 3, 1), x, 9, mxn, amn, NULL, 9);
}

static void test_3d_and_batch_index(void) {
    /* 2x2x2, C=2, one 2x2x2 window. Channel 0 ties at spatial 1 and 3 (first wins: 1*2+0);
     * channel 1's maximum is at spatial 6 (6*2+1). The second image is the first + 100 with
     * its maxima elsewhere. */
    float x[32];
    const float c0[8] = {3, 9, 1, 9, 2, 0, 5, 4}, c1[8] = {-1, -1, -1, -1, -1, -1, 7, -1};
    const float c0b[8] = {0, 0, 0, 0, 0, 0, 0, 1}, c1b[8] = {5, 0, 0, 0, 0, 0, 0, 0};
    for (int s = 0; s < 8; s++) {
        x[s * 2] = c0[s];
        x[s * 2 + 1] = c1[s];
        x[16 + s * 2] = c0b[s] + 100;
        x[16 + s * 2 + 1] = c1b[s] + 100;
    }
    deconv_pool_params pp = pool_params(3, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 2, 2);
    const float mx[4] = {9, 7, 101, 105};
    const int64_t am[4] = {2, 13, 14, 1}, am_b[4] = {2, 13, 16 + 14, 16 + 1};
    const float av[4] = {33.0f / 8, 0, 100.125f, 100.625f};
    run_forward("3d", &pp, SHAPE(5, 2, 2, 2, 2, 2), x, 32, mx, am, av, 4);
    pp.include_batch_in_index = 1;
    run_forward("3d include_batch_in_index", &pp, SHAPE(5, 2, 2, 2, 2, 2), x, 32, mx, am_b,
                NULL, 4);

    /* Channels-first 3-D: the same data transposed gives the same values and the SAME
     * channels-last indices, in NCDHW output order (which here is also n, c). */
    float xf[32];
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 2; c++)
            for (int s = 0; s < 8; s++) xf[(b * 2 + c) * 8 + s] = x[(b * 8 + s) * 2 + c];
    pp.layout = DECONV_CHANNELS_FIRST;
    run_forward("3d channels_first include_batch_in_index", &pp, SHAPE(5, 2, 2, 2, 2, 2), xf, 32,
                mx, am_b, av, 4);
}

static void test_channels_first_2d(void) {
    /* NCHW [1,2,2,2]; index is (y*W + x)*C + c over the NHWC view. */
    const float x[8] = {1, 5, 3, 2, 4, 0, 8, 8};
    deconv_pool_params pp = pool_params(2, DECONV_CHANNELS_FIRST, DECONV_PADDING_VALID, 2, 2);
    const float mx[2] = {5, 8}, av[2] = {2.75f, 5};
    const int64_t am[2] = {2, 5};
    run_forward("2d channels_first", &pp, SHAPE(4, 1, 2, 2, 2), x, 8, mx, am, av, 2);

    /* NCW 1-D with SAME: [1,2,3] per channel, k2 s1 -> windows [0,1],[1,2],[2,pad]. */
    const float x1[6] = {1, 2, 3, 30, 20, 10};
    pp = pool_params(1, DECONV_CHANNELS_FIRST, DECONV_PADDING_SAME, 2, 1);
    const float mx1[6] = {2, 3, 3, 30, 20, 10}, av1[6] = {1.5f, 2.5f, 3, 25, 15, 10};
    const int64_t am1[6] = {2, 4, 4, 1, 3, 5};
    run_forward("1d channels_first same", &pp, SHAPE(3, 1, 2, 3), x1, 6, mx1, am1, av1, 6);
}

static void test_nan_inf_ties(void) {
    const float nan = NAN, inf = INFINITY;
    deconv_pool_params pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 4, 4);
    /* C=2: channel 0 has NaN at 1 and 3 (first NaN wins), channel 1 a NaN first. */
    const float x[8] = {1, nan, nan, 5, 3, 1, nan, 2};
    const float mx[2] = {nan, nan};
    const int64_t am[2] = {2, 1};
    run_forward("nan window", &pp, SHAPE(3, 1, 4, 2), x, 8, mx, am, NULL, 2);

    /* All NaN: the first cell. */
    const float xn[4] = {nan, nan, nan, nan};
    const int64_t am0[1] = {0};
    run_forward("all-nan window", &pp, SHAPE(3, 1, 4, 1), xn, 4, mx, am0, mx, 1);

    /* All -inf: -inf at the first cell; with SAME padding the padding still never wins. */
    const float xi[4] = {-inf, -inf, -inf, -inf}, mi[1] = {-inf};
    run_forward("all -inf window", &pp, SHAPE(3, 1, 4, 1), xi, 4, mi, am0, mi, 1);
    pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_SAME, 3, 1);
    const float mi2[2] = {-inf, -inf};
    const int64_t am2[2] = {0, 0};
    run_forward("all -inf window with padding", &pp, SHAPE(3, 1, 2, 1), xi, 2, mi2, am2, mi2, 2);

    /* Ties: the first in window order. +inf with -inf averages to NaN. */
    pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 2, 1);
    const float xt[4] = {2, 2, 2, 2}, mt[3] = {2, 2, 2};
    const int64_t amt[3] = {0, 1, 2};
    run_forward("ties", &pp, SHAPE(3, 1, 4, 1), xt, 4, mt, amt, mt, 3);
    const float xinf[3] = {inf, -inf, 1}, mxinf[2] = {inf, 1}, avinf[2] = {nan, -inf};
    const int64_t aminf[2] = {0, 2};
    run_forward("inf", &pp, SHAPE(3, 1, 3, 1), xinf, 3, mxinf, aminf, avinf, 2);

    /* 2-D tie in row-major order: (0,1) before (1,0). */
    pp = pool_params(2, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 2, 2);
    const float x2[4] = {0, 7, 7, 1}, m2[1] = {7};
    const int64_t a2[1] = {1};
    run_forward("2d tie", &pp, SHAPE(4, 1, 2, 2, 1), x2, 4, m2, a2, NULL, 1);
}

static void test_max_unpool_hand(void) {
    deconv_error e;
    float out[16];
    /* 1-D W=4, k2 s2: pooled [6, 8] at 1 and 2. */
    deconv_pool_params pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 2, 2);
    const float y[2] = {6, 8};
    const int64_t a[2] = {1, 2}, dup[2] = {1, 1};
    const float want[4] = {0, 6, 8, 0}, want_dup[4] = {0, 14, 0, 0};
    th_poison(out, 16);
    deconv_status st = deconv_max_unpool(NULL, &pp, &SHAPE(3, 1, 2, 1), y, 2, a, 2,
                                         &SHAPE(3, 1, 4, 1), out, 4, &e);
    CHECK(st == DECONV_OK, "max_unpool: %s", e.message);
    check_floats("max_unpool 1d", out, want, 4, 0.0f);
    CHECK(th_is_poisoned(out + 4, 12), "max_unpool wrote past its output");
    st = deconv_max_unpool(NULL, &pp, &SHAPE(3, 1, 2, 1), y, 2, dup, 2, &SHAPE(3, 1, 4, 1), out,
                           4, &e);
    CHECK(st == DECONV_OK, "max_unpool dup: %s", e.message);
    check_floats("max_unpool duplicates sum", out, want_dup, 4, 0.0f);

    /* N=2, W=2: both values to image 0 cell 1 with the batch term, each to its own image
     * without it. */
    const float yb[2] = {3, 4};
    const int64_t ab[2] = {1, 1};
    const float want_b[4] = {0, 7, 0, 0}, want_nb[4] = {0, 3, 0, 4};
    pp.include_batch_in_index = 1;
    st = deconv_max_unpool(NULL, &pp, &SHAPE(3, 2, 1, 1), yb, 2, ab, 2, &SHAPE(3, 2, 2, 1), out,
                           4, &e);
    CHECK(st == DECONV_OK, "max_unpool batch: %s", e.message);
    check_floats("max_unpool include_batch_in_index", out, want_b, 4, 0.0f);
    const int64_t ab3[2] = {3, 2}; /* image 1 cell 1, image 1 cell 0 */
    const float want_b3[4] = {0, 0, 4, 3};
    st = deconv_max_unpool(NULL, &pp, &SHAPE(3, 2, 1, 1), yb, 2, ab3, 2, &SHAPE(3, 2, 2, 1), out,
                           4, &e);
    CHECK(st == DECONV_OK, "max_unpool batch 2: %s", e.message);
    check_floats("max_unpool include_batch_in_index across images", out, want_b3, 4, 0.0f);
    pp.include_batch_in_index = 0;
    st = deconv_max_unpool(NULL, &pp, &SHAPE(3, 2, 1, 1), yb, 2, ab, 2, &SHAPE(3, 2, 2, 1), out,
                           4, &e);
    CHECK(st == DECONV_OK, "max_unpool no batch: %s", e.message);
    check_floats("max_unpool per image", out, want_nb, 4, 0.0f);

    /* Channels-first 2-D, C=2: indices are channels-last ((y*W+x)*C+c), the output NCHW. */
    pp = pool_params(2, DECONV_CHANNELS_FIRST, DECONV_PADDING_VALID, 2, 2);
    const float y2[2] = {5, 8};
    const int64_t a2[2] = {2, 5}; /* c0 at (0,1), c1 at (1,0) */
    const float want2[8] = {0, 5, 0, 0, 0, 0, 8, 0};
    th_poison(out, 16);
    st = deconv_max_unpool(NULL, &pp, &SHAPE(4, 1, 2, 1, 1), y2, 2, a2, 2,
                           &SHAPE(4, 1, 2, 2, 2), out, 8, &e);
    CHECK(st == DECONV_OK, "max_unpool nchw: %s", e.message);
    check_floats("max_unpool channels_first", out, want2, 8, 0.0f);

    /* SAME, odd size: pooled 3 unpools to 5 or 6 (k3 s2). */
    pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_SAME, 3, 2);
    const float y3[3] = {1, 2, 3};
    const int64_t a3[3] = {0, 3, 4};
    const float want5[5] = {1, 0, 0, 2, 3}, want6[6] = {1, 0, 0, 2, 3, 0};
    st = deconv_max_unpool(NULL, &pp, &SHAPE(3, 1, 3, 1), y3, 3, a3, 3, &SHAPE(3, 1, 5, 1), out,
                           5, &e);
    CHECK(st == DECONV_OK, "max_unpool same 5: %s", e.message);
    check_floats("max_unpool same 5", out, want5, 5, 0.0f);
    st = deconv_max_unpool(NULL, &pp, &SHAPE(3, 1, 3, 1), y3, 3, a3, 3, &SHAPE(3, 1, 6, 1), out,
                           6, &e);
    CHECK(st == DECONV_OK, "max_unpool same 6: %s", e.message);
    check_floats("max_unpool same 6", out, want6, 6, 0.0f);
}

static void test_avg_unpool_hand(void) {
    deconv_error e;
    float out[16];
    /* W=5, k3 s2 SAME (pads 1, 1): windows cover {0,1}, {1,2,3}, {3,4}. */
    deconv_pool_params pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_SAME, 3, 2);
    const float y[3] = {3, 6, 9};
    const float copy[5] = {3, 9, 6, 15, 9};
    const float norm[5] = {1.5f, 3.5f, 2, 6.5f, 4.5f};
    const float norm_pad[5] = {1, 3, 2, 5, 3};
    struct {
        int count_include_pad, normalize;
        const float *want;
        const char *what;
    } cases[4] = {{0, 0, copy, "avg_unpool copy"},
                  {1, 0, copy, "avg_unpool copy (count_include_pad ignored)"},
                  {0, 1, norm, "avg_unpool normalised"},
                  {1, 1, norm_pad, "avg_unpool normalised count_include_pad"}};
    for (int i = 0; i < 4; i++) {
        pp.count_include_pad = cases[i].count_include_pad;
        pp.normalize = cases[i].normalize;
        th_poison(out, 16);
        deconv_status st = deconv_avg_unpool(NULL, &pp, &SHAPE(3, 1, 3, 1), y, 3,
                                             &SHAPE(3, 1, 5, 1), out, 5, &e);
        CHECK(st == DECONV_OK, "%s: %s", cases[i].what, e.message);
        check_floats(cases[i].what, out, cases[i].want, 5, 1e-6f);
        CHECK(th_is_poisoned(out + 5, 11), "%s wrote past its output", cases[i].what);
    }

    /* 2-D NCHW, k2 s2 VALID, pooled 1x1 onto 3x3 (2..3 accepted): the last row and column
     * are in no window and stay 0. */
    pp = pool_params(2, DECONV_CHANNELS_FIRST, DECONV_PADDING_VALID, 2, 2);
    pp.normalize = 1;
    const float y2[1] = {8};
    const float want2[9] = {2, 2, 0, 2, 2, 0, 0, 0, 0};
    th_poison(out, 16);
    deconv_status st = deconv_avg_unpool(NULL, &pp, &SHAPE(4, 1, 1, 1, 1), y2, 1,
                                         &SHAPE(4, 1, 1, 3, 3), out, 9, &e);
    CHECK(st == DECONV_OK, "avg_unpool 2d: %s", e.message);
    check_floats("avg_unpool 2d channels_first", out, want2, 9, 0.0f);
}

static void test_empty(void) {
    deconv_error e;
    float out[8], y[8];
    int64_t arg[8];
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    deconv_pool_params pp = pool_params(2, DECONV_CHANNELS_LAST, DECONV_PADDING_SAME, 3, 2);
    /* N = 0, C = 0, a 0 spatial dim: OK, nothing written, NULL buffers allowed. */
    const deconv_shape empties[3] = {SHAPE(4, 0, 3, 3, 2), SHAPE(4, 1, 3, 3, 0),
                                     SHAPE(4, 1, 0, 3, 2)};
    for (int i = 0; i < 3; i++) {
        CHECK(deconv_max_pool(NULL, &pp, &empties[i], NULL, 0, NULL, 0, &e) == DECONV_OK,
              "max_pool empty %d: %s", i, e.message);
        CHECK(deconv_avg_pool(NULL, &pp, &empties[i], NULL, 0, NULL, 0, &e) == DECONV_OK,
              "avg_pool empty %d: %s", i, e.message);
        CHECK(deconv_max_pool_with_argmax(NULL, &pp, &empties[i], NULL, 0, NULL, 0, NULL, 0,
                                          &e) == DECONV_OK,
              "argmax empty %d: %s", i, e.message);
    }
    /* Empty pooled input, non-empty output_shape: unpool writes zeros. VALID k3 s2 maps 1 and
     * 2 onto a pooled size 0. */
    pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 3, 2);
    const float zeros[4] = {0, 0, 0, 0};
    th_poison(out, 8);
    CHECK(deconv_avg_unpool(NULL, &pp, &SHAPE(3, 1, 0, 2), NULL, 0, &SHAPE(3, 1, 2, 2), out, 4,
                            &e) == DECONV_OK,
          "avg_unpool of an empty input: %s", e.message);
    check_floats("avg_unpool of an empty input", out, zeros, 4, 0.0f);
    th_poison(out, 8);
    CHECK(deconv_max_unpool(NULL, &pp, &SHAPE(3, 1, 0, 2), NULL, 0, NULL, 0, &SHAPE(3, 1, 1, 2),
                            out, 2, &e) == DECONV_OK,
          "max_unpool of an empty input: %s", e.message);
    check_floats("max_unpool of an empty input", out, zeros, 2, 0.0f);
    CHECK(th_is_poisoned(out + 2, 6), "max_unpool wrote past its output");
    CHECK(deconv_max_unpool(NULL, &pp, &SHAPE(3, 0, 2, 2), NULL, 0, NULL, 0, &SHAPE(3, 0, 6, 2),
                            NULL, 0, &e) == DECONV_OK,
          "max_unpool batch 0: %s", e.message);

    /* A 0-sized spatial input with EXPLICIT pads: out 2, every window all padding. avg gives 0
     * (either divisor); max has no maximum and is rejected. */
    pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_EXPLICIT, 3, 1);
    pp.pads[0] = pp.pads[1] = 2;
    th_poison(y, 8);
    CHECK(deconv_avg_pool(NULL, &pp, &SHAPE(3, 1, 0, 1), NULL, 0, y, 2, &e) == DECONV_OK,
          "avg_pool all-padding windows: %s", e.message);
    check_floats("avg_pool all-padding windows", y, zeros, 2, 0.0f);
    pp.count_include_pad = 1;
    th_poison(y, 8);
    CHECK(deconv_avg_pool(NULL, &pp, &SHAPE(3, 1, 0, 1), NULL, 0, y, 2, &e) == DECONV_OK,
          "avg_pool all-padding windows count_include_pad: %s", e.message);
    check_floats("avg_pool all-padding windows count_include_pad", y, zeros, 2, 0.0f);
    th_poison(y, 8);
    th_poison_i64(arg, 8);
    CHECK(deconv_max_pool(NULL, &pp, &SHAPE(3, 1, 0, 1), NULL, 0, y, 2, &e) ==
                  DECONV_ERR_INVALID_ARGUMENT &&
              e.message[0] && th_is_poisoned(y, 8),
          "max_pool of all-padding windows must be INVALID_ARGUMENT, got %s",
          deconv_status_string(e.status));
    CHECK(deconv_max_pool_with_argmax(NULL, &pp, &SHAPE(3, 1, 0, 1), NULL, 0, y, 2, arg, 2,
                                      &e) == DECONV_ERR_INVALID_ARGUMENT &&
              th_is_poisoned(y, 8) && th_is_poisoned_i64(arg, 8),
          "argmax of all-padding windows must be INVALID_ARGUMENT");
    /* ... but the same pads with N = 0 have no window at all. */
    CHECK(deconv_max_pool(NULL, &pp, &SHAPE(3, 0, 0, 1), NULL, 0, NULL, 0, &e) == DECONV_OK,
          "max_pool N=0 with explicit pads: %s", e.message);
    /* avg_unpool of those windows spreads nothing. */
    pp.normalize = 1;
    th_poison(out, 8);
    CHECK(deconv_avg_unpool(NULL, &pp, &SHAPE(3, 1, 2, 1), x, 2, &SHAPE(3, 1, 0, 1), out, 0,
                            &e) == DECONV_OK &&
              th_is_poisoned(out, 8),
          "avg_unpool onto an empty output: %s", e.message);
}

/* ---- error tests -------------------------------------------------------------------------- */

/* Buffers for the error tests, poisoned before every call. The unions give the float
 * buffers int64 alignment so that overlap tests may point an argmax into them. */
#define GB 160
static union { float f[GB]; int64_t i[GB / 2]; } g_xu, g_yu, g_outu;
static int64_t g_arg[GB];
#define g_x (g_xu.f)
#define g_y (g_yu.f)
#define g_out (g_outu.f)

static void poison_all(void) {
    th_poison(g_y, GB);
    th_poison(g_out, GB);
    th_poison_i64(g_arg, GB);
}

static int untouched(void) {
    return th_is_poisoned(g_y, GB) && th_is_poisoned(g_out, GB) && th_is_poisoned_i64(g_arg, GB);
}

/* The result of one failing call: right status, a message, status mirrored, outputs intact. */
static void expect(const char *what, deconv_status got, const deconv_error *e,
                   deconv_status want) {
    CHECK(got == want && e->status == want && e->message[0] != '\0' && untouched(),
          "%s: got %s (%s), expected %s%s", what, deconv_status_string(got), e->message,
          deconv_status_string(want), untouched() ? "" : "; an output was written");
}

/* Runs the three forward ops (and the shape query) with a 2-D-default call shaped by the
 * arguments and expects `want` from each. */
static void expect_forward(const char *what, const deconv_pool_params *pp,
                           const deconv_shape *in, const float *x, int64_t xn, float *y,
                           int64_t yn, int64_t *arg, int64_t an, deconv_status want,
                           int query_too) {
    deconv_error e;
    char label[160];
    poison_all();
    snprintf(label, sizeof label, "%s (max_pool)", what);
    expect(label, deconv_max_pool(NULL, pp, in, x, xn, y, yn, &e), &e, want);
    poison_all();
    snprintf(label, sizeof label, "%s (avg_pool)", what);
    expect(label, deconv_avg_pool(NULL, pp, in, x, xn, y, yn, &e), &e, want);
    poison_all();
    snprintf(label, sizeof label, "%s (max_pool_with_argmax)", what);
    expect(label, deconv_max_pool_with_argmax(NULL, pp, in, x, xn, y, yn, arg, an, &e), &e,
           want);
    if (query_too) {
        deconv_shape out = SHAPE(1, 77);
        int64_t pads[6] = {55, 55, 55, 55, 55, 55};
        deconv_status st = deconv_pool_output_shape(pp, in, &out, pads, &e);
        CHECK(st == want && e.message[0] && out.rank == 1 && out.dims[0] == 77 && pads[0] == 55 &&
                  pads[5] == 55,
              "%s (pool_output_shape): got %s, expected %s, or it wrote its outputs", what,
              deconv_status_string(st), deconv_status_string(want));
    }
}

static void test_param_errors(void) {
    const deconv_shape in = SHAPE(4, 1, 4, 4, 1);
    deconv_pool_params pp;
#define BASE() (pp = pool_params(2, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 2, 2))
#define FWD(what, want) expect_forward(what, &pp, &in, g_x, 16, g_y, 4, g_arg, 4, want, 1)
    BASE();
    expect_forward("params NULL", NULL, &in, g_x, 16, g_y, 4, g_arg, 4, DECONV_ERR_NULL_POINTER,
                   1);
    BASE(); pp.struct_size = sizeof pp - 4; FWD("struct_size too small", DECONV_ERR_STRUCT_SIZE);
    BASE(); pp.struct_size = sizeof pp + 8; FWD("struct_size too large", DECONV_ERR_STRUCT_SIZE);
    BASE(); pp.struct_size = 0; FWD("struct_size 0", DECONV_ERR_STRUCT_SIZE);
    BASE(); pp.flags = 1; FWD("flags set", DECONV_ERR_INVALID_ENUM);
    BASE(); pp.spatial_rank = 0; FWD("spatial_rank 0", DECONV_ERR_INVALID_ENUM);
    BASE(); pp.spatial_rank = 4; FWD("spatial_rank 4", DECONV_ERR_INVALID_ENUM);
    BASE(); pp.layout = (deconv_layout)2; FWD("layout 2", DECONV_ERR_INVALID_ENUM);
    BASE(); pp.layout = (deconv_layout)-1; FWD("layout -1", DECONV_ERR_INVALID_ENUM);
    BASE(); pp.padding = (deconv_padding)3; FWD("padding 3", DECONV_ERR_INVALID_ENUM);
    BASE(); pp.padding = (deconv_padding)-7; FWD("padding -7", DECONV_ERR_INVALID_ENUM);
    BASE(); pp.ksize[1] = 0; FWD("ksize 0", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.ksize[0] = -3; FWD("ksize negative", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.ksize[1] = DECONV_MAX_EXTENT + 1; FWD("ksize huge", DECONV_ERR_OVERFLOW);
    BASE(); pp.ksize[0] = INT64_MIN; FWD("ksize INT64_MIN", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.strides[1] = 0; FWD("stride 0", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.strides[0] = INT64_MAX; FWD("stride huge", DECONV_ERR_OVERFLOW);
    BASE(); pp.padding = DECONV_PADDING_EXPLICIT; pp.pads[2] = -1;
    FWD("negative pad", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.padding = DECONV_PADDING_EXPLICIT; pp.pads[3] = 2;
    FWD("pad == ksize", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.padding = DECONV_PADDING_EXPLICIT; pp.pads[0] = INT64_MAX;
    FWD("pad huge", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.count_include_pad = 2; FWD("count_include_pad 2", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.include_batch_in_index = -1;
    FWD("include_batch_in_index -1", DECONV_ERR_INVALID_ARGUMENT);
    BASE(); pp.normalize = 5; FWD("normalize 5", DECONV_ERR_INVALID_ARGUMENT);

    /* Ignored fields: pads without EXPLICIT and entries past spatial_rank. */
    BASE(); pp.pads[0] = -100; pp.ksize[2] = 0; pp.strides[2] = -1;
    poison_all();
    deconv_error e;
    CHECK(deconv_max_pool(NULL, &pp, &in, g_x, 16, g_y, 4, &e) == DECONV_OK,
          "ignored fields must stay ignored: %s", e.message);

    /* The message names the argument and dim. */
    BASE(); pp.ksize[1] = 0;
    deconv_max_pool(NULL, &pp, &in, g_x, 16, g_y, 4, &e);
    CHECK(strstr(e.message, "ksize[1]") != NULL, "message names ksize[1]: %s", e.message);
    BASE(); pp.padding = DECONV_PADDING_EXPLICIT; pp.pads[3] = 2;
    deconv_max_pool(NULL, &pp, &in, g_x, 16, g_y, 4, &e);
    CHECK(strstr(e.message, "pads[3]") != NULL, "message names pads[3]: %s", e.message);
    /* The error report is optional. */
    poison_all();
    CHECK(deconv_max_pool(NULL, &pp, &in, g_x, 16, g_y, 4, NULL) ==
                  DECONV_ERR_INVALID_ARGUMENT && untouched(),
          "NULL error report");
#undef FWD
#undef BASE
}

static void test_shape_and_buffer_errors(void) {
    deconv_pool_params pp = pool_params(2, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 2, 2);
    const deconv_shape in = SHAPE(4, 1, 4, 4, 1);
    deconv_error e;
#define FWDS(what, shp, want) \
    expect_forward(what, &pp, &(shp), g_x, 16, g_y, 4, g_arg, 4, want, 1)
    expect_forward("input shape NULL", &pp, NULL, g_x, 16, g_y, 4, g_arg, 4,
                   DECONV_ERR_NULL_POINTER, 1);
    FWDS("input rank 3", SHAPE(3, 1, 16, 1), DECONV_ERR_INVALID_SHAPE);
    FWDS("input rank 5", SHAPE(5, 1, 4, 4, 1, 1), DECONV_ERR_INVALID_SHAPE);
    FWDS("input rank -1", SHAPE(-1, 1), DECONV_ERR_INVALID_SHAPE);
    FWDS("negative dim", SHAPE(4, 1, -4, 4, 1), DECONV_ERR_INVALID_SHAPE);
    FWDS("negative batch", SHAPE(4, -1, 4, 4, 1), DECONV_ERR_INVALID_SHAPE);
    FWDS("dim > 2^40", SHAPE(4, 1, DECONV_MAX_EXTENT + 1, 4, 1), DECONV_ERR_OVERFLOW);
    FWDS("element count overflow",
         SHAPE(4, DECONV_MAX_EXTENT, DECONV_MAX_EXTENT, 4, 1), DECONV_ERR_OVERFLOW);
    /* A window larger than the (unpadded) input. */
    pp.ksize[0] = 8; /* (4 - 8 + 2) / 2 = -1 */
    FWDS("window > input by a stride", in, DECONV_ERR_OUTPUT_SIZE);
    /* TF's truncating division: a window less than a stride too large gives an empty output. */
    pp.ksize[0] = 7; /* (4 - 7 + 2) / 2 = 0 */
    deconv_shape empty_out;
    CHECK(deconv_pool_output_shape(&pp, &in, &empty_out, NULL, &e) == DECONV_OK &&
              empty_out.dims[1] == 0 && empty_out.dims[2] == 2,
          "k7 s2 on 4 pools to 0 rows: %s", e.message);
    CHECK(deconv_max_pool(NULL, &pp, &in, g_x, 16, NULL, 0, &e) == DECONV_OK,
          "max_pool to an empty output: %s", e.message);
    pp.ksize[0] = 2;
    deconv_max_pool(NULL, &pp, &SHAPE(3, 1, 4, 1), g_x, 4, g_y, 4, &e);
    CHECK(strstr(e.message, "input has rank 3, expected 4 (spatial_rank 2 + 2)") != NULL,
          "rank message: %s", e.message);
    /* EXPLICIT pads (< ksize) that push the pooled size past the limit. */
    pp.padding = DECONV_PADDING_EXPLICIT;
    pp.strides[0] = pp.strides[1] = 1; /* 2 + 2 * (2^40 - 1) - 2^40 + 1 = 2^40 + 1 */
    pp.ksize[0] = pp.ksize[1] = DECONV_MAX_EXTENT;
    pp.pads[0] = pp.pads[1] = pp.pads[2] = pp.pads[3] = DECONV_MAX_EXTENT - 1;
    FWDS("pooled size past the limit", SHAPE(4, 1, 2, 2, 1), DECONV_ERR_OVERFLOW);
    pp = pool_params(2, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 2, 2);

    /* Counts, then NULL data. */
    expect_forward("input_count short", &pp, &in, g_x, 15, g_y, 4, g_arg, 4,
                   DECONV_ERR_COUNT_MISMATCH, 0);
    expect_forward("input_count negative", &pp, &in, g_x, -16, g_y, 4, g_arg, 4,
                   DECONV_ERR_COUNT_MISMATCH, 0);
    expect_forward("output_count long", &pp, &in, g_x, 16, g_y, 5, g_arg, 4,
                   DECONV_ERR_COUNT_MISMATCH, 0);
    poison_all();
    expect("argmax_count short",
           deconv_max_pool_with_argmax(NULL, &pp, &in, g_x, 16, g_y, 4, g_arg, 3, &e), &e,
           DECONV_ERR_COUNT_MISMATCH);
    expect_forward("input NULL", &pp, &in, NULL, 16, g_y, 4, g_arg, 4, DECONV_ERR_NULL_POINTER,
                   0);
    expect_forward("output NULL", &pp, &in, g_x, 16, NULL, 4, g_arg, 4,
                   DECONV_ERR_NULL_POINTER, 0);
    poison_all();
    expect("argmax NULL", deconv_max_pool_with_argmax(NULL, &pp, &in, g_x, 16, g_y, 4, NULL, 4, &e),
           &e, DECONV_ERR_NULL_POINTER);
    poison_all();
    deconv_status st = deconv_pool_output_shape(&pp, &in, NULL, NULL, &e);
    CHECK(st == DECONV_ERR_NULL_POINTER && e.message[0], "pool_output_shape output NULL: %s",
          deconv_status_string(st));

    /* Overlaps: in place, off by one, argmax over input or output. The poisoned input buffer
     * doubles as the output, so "untouched" covers it. */
    th_poison(g_x, GB);
    poison_all();
    expect("output == input", deconv_max_pool(NULL, &pp, &in, g_y, 16, g_y, 4, &e), &e,
           DECONV_ERR_OVERLAP);
    expect("output inside input", deconv_avg_pool(NULL, &pp, &in, g_y, 16, g_y + 12, 4, &e), &e,
           DECONV_ERR_OVERLAP);
    expect("output = input + 1", deconv_avg_pool(NULL, &pp, &in, g_y + 1, 16, g_y, 4, &e), &e,
           DECONV_ERR_OVERLAP);
    expect("argmax over input",
           deconv_max_pool_with_argmax(NULL, &pp, &in, g_x, 16, g_y, 4,
                                       (int64_t *)(void *)(g_x + 8), 4, &e),
           &e, DECONV_ERR_OVERLAP);
    CHECK(th_is_poisoned(g_x, GB), "argmax over input: the input was written");
    /* g_arg stands in for the output floats here; argmax overlaps it. */
    expect("argmax over output",
           deconv_max_pool_with_argmax(NULL, &pp, &in, g_x, 16, (float *)(void *)g_arg, 4,
                                       g_arg + 1, 4, &e),
           &e, DECONV_ERR_OVERLAP);
    /* Adjacent is fine. */
    for (int i = 0; i < 16; i++) g_x[i] = (float)i;
    CHECK(deconv_max_pool(NULL, &pp, &in, g_x, 16, g_x + 16, 4, &e) == DECONV_OK,
          "adjacent buffers do not overlap: %s", e.message);
#undef FWDS
}

/* Unpool errors: both ops unless `max_only`; the baseline is a valid call. */
typedef struct unpool_call {
    const deconv_pool_params *pp;
    const deconv_shape *in;
    const float *y;
    int64_t yn;
    const int64_t *arg;
    int64_t an;
    const deconv_shape *out_shape;
    float *out;
    int64_t outn;
} unpool_call;

static void expect_unpool(const char *what, unpool_call c, deconv_status want, int max_only,
                          const char *needle) {
    deconv_error e;
    char label[160];
    poison_all();
    snprintf(label, sizeof label, "%s (max_unpool)", what);
    expect(label,
           deconv_max_unpool(NULL, c.pp, c.in, c.y, c.yn, c.arg, c.an, c.out_shape, c.out, c.outn,
                             &e),
           &e, want);
    if (needle)
        CHECK(strstr(e.message, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
              e.message, needle);
    if (max_only) return;
    poison_all();
    snprintf(label, sizeof label, "%s (avg_unpool)", what);
    expect(label, deconv_avg_unpool(NULL, c.pp, c.in, c.y, c.yn, c.out_shape, c.out, c.outn, &e),
           &e, want);
    if (needle)
        CHECK(strstr(e.message, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
              e.message, needle);
}

static void test_unpool_errors(void) {
    /* Baseline: 2-D NHWC, N=2, C=2, pooled 3x2 from 5x4 with k3 s2 SAME. */
    deconv_pool_params pp = pool_params(2, DECONV_CHANNELS_LAST, DECONV_PADDING_SAME, 3, 2);
    const deconv_shape in = SHAPE(4, 2, 3, 2, 2), out = SHAPE(4, 2, 5, 4, 2);
    static float y[24];
    static int64_t arg[24];
    for (int i = 0; i < 24; i++) {
        y[i] = (float)i;
        arg[i] = (i * 7) % 40; /* all within one image: spatial * C = 40 */
    }
    const unpool_call base = {&pp, &in, y, 24, arg, 24, &out, g_out, 40 * 2};
    unpool_call c = base;
    deconv_error e;

    poison_all();
    CHECK(deconv_max_unpool(NULL, &pp, &in, y, 24, arg, 24, &out, g_out, 80, &e) == DECONV_OK &&
              deconv_avg_unpool(NULL, &pp, &in, y, 24, &out, g_out, 80, &e) == DECONV_OK,
          "baseline unpool call fails: %s", e.message);

    c.pp = NULL; expect_unpool("params NULL", c, DECONV_ERR_NULL_POINTER, 0, NULL);
    deconv_pool_params bad = pp;
    c = base; c.pp = &bad;
    bad.struct_size = 8; expect_unpool("struct_size", c, DECONV_ERR_STRUCT_SIZE, 0, NULL);
    bad = pp; bad.flags = 0x80000000u; expect_unpool("flags", c, DECONV_ERR_INVALID_ENUM, 0, NULL);
    bad = pp; bad.layout = (deconv_layout)9;
    expect_unpool("layout", c, DECONV_ERR_INVALID_ENUM, 0, NULL);
    bad = pp; bad.strides[1] = 0;
    expect_unpool("stride 0", c, DECONV_ERR_INVALID_ARGUMENT, 0, "strides[1]");
    bad = pp; bad.normalize = 2;
    expect_unpool("normalize 2", c, DECONV_ERR_INVALID_ARGUMENT, 0, "normalize");

    c = base; c.in = NULL; expect_unpool("input shape NULL", c, DECONV_ERR_NULL_POINTER, 0, NULL);
    c = base; c.out_shape = NULL;
    expect_unpool("output_shape NULL", c, DECONV_ERR_NULL_POINTER, 0, "output_shape");
    const deconv_shape r3 = SHAPE(3, 2, 5, 8);
    c = base; c.out_shape = &r3;
    expect_unpool("output_shape rank", c, DECONV_ERR_INVALID_SHAPE, 0, "output_shape");
    const deconv_shape neg = SHAPE(4, 2, 5, -4, 2);
    c = base; c.out_shape = &neg;
    expect_unpool("output_shape negative", c, DECONV_ERR_INVALID_SHAPE, 0, "output_shape[2]");
    const deconv_shape batch = SHAPE(4, 1, 5, 4, 2);
    c = base; c.out_shape = &batch; c.outn = 40;
    expect_unpool("batch mismatch", c, DECONV_ERR_SHAPE_MISMATCH, 0, "output_shape[0]");
    const deconv_shape chan = SHAPE(4, 2, 5, 4, 3);
    c = base; c.out_shape = &chan; c.outn = 120;
    expect_unpool("channel mismatch", c, DECONV_ERR_SHAPE_MISMATCH, 0, "output_shape[3]");

    /* Spatial sizes that do not pool onto the input. */
    const deconv_shape h7 = SHAPE(4, 2, 7, 4, 2), w5 = SHAPE(4, 2, 5, 5, 2);
    c = base; c.out_shape = &h7; c.outn = 112;
    expect_unpool("output_shape H 7", c, DECONV_ERR_INVALID_OUTPUT_SHAPE, 0,
                  "output_shape[1] = 7 is not valid: pooled input 3, ksize 3, stride 2, SAME "
                  "accept 5..6");
    c = base; c.out_shape = &w5; c.outn = 100;
    expect_unpool("output_shape W 5", c, DECONV_ERR_INVALID_OUTPUT_SHAPE, 0,
                  "output_shape[2] = 5 is not valid: pooled input 2, ksize 3, stride 2, SAME "
                  "accept 3..4");
    /* VALID k3 s2, pooled 2 accepts 5..6; EXPLICIT shifts by the pads. */
    deconv_pool_params pv = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, 3, 2);
    const deconv_shape p2 = SHAPE(3, 1, 2, 1), o7 = SHAPE(3, 1, 7, 1);
    c = base; c.pp = &pv; c.in = &p2; c.yn = 2; c.an = 2; c.out_shape = &o7; c.outn = 7;
    expect_unpool("VALID output_shape", c, DECONV_ERR_INVALID_OUTPUT_SHAPE, 0, "accept 5..6");
    pv.padding = DECONV_PADDING_EXPLICIT;
    pv.pads[0] = 1;
    pv.pads[1] = 2;
    const deconv_shape o1 = SHAPE(3, 1, 1, 1);
    c.out_shape = &o1; c.outn = 1;
    expect_unpool("EXPLICIT output_shape", c, DECONV_ERR_INVALID_OUTPUT_SHAPE, 0, "accept 2..3");

    /* Counts, NULLs, overlaps. */
    c = base; c.yn = 23; expect_unpool("input_count", c, DECONV_ERR_COUNT_MISMATCH, 0, "input");
    c = base; c.outn = 81;
    expect_unpool("output_count", c, DECONV_ERR_COUNT_MISMATCH, 0, "output");
    c = base; c.an = 23;
    expect_unpool("argmax_count", c, DECONV_ERR_COUNT_MISMATCH, 1, "argmax");
    c = base; c.y = NULL; expect_unpool("input NULL", c, DECONV_ERR_NULL_POINTER, 0, NULL);
    c = base; c.arg = NULL; expect_unpool("argmax NULL", c, DECONV_ERR_NULL_POINTER, 1, NULL);
    c = base; c.out = NULL; expect_unpool("output NULL", c, DECONV_ERR_NULL_POINTER, 0, NULL);
    /* The output buffer (poisoned, so still checked) also serves as input or argmax. */
    c = base; c.y = g_out + 40;
    expect_unpool("output overlaps input", c, DECONV_ERR_OVERLAP, 0, NULL);
    c = base; c.arg = (const int64_t *)(const void *)(g_out + 2);
    expect_unpool("output overlaps argmax", c, DECONV_ERR_OVERLAP, 1, NULL);

    /* Indices: each bad one is found before anything is written, even the last. */
    static int64_t a2[24];
    c = base; c.arg = a2;
    struct {
        int64_t pos, value;
        int include_batch;
        const char *needle;
    } idx[] = {{0, -1, 0, "argmax[0] = -1"},
               {23, 40, 0, "argmax[23] = 40"},
               {5, INT64_MIN, 0, "argmax[5]"},
               {7, ((int64_t)1 << 32) + 3, 0, "argmax[7] = 4294967299"},
               {23, 79, 0, "argmax[23] = 79"}, /* inside N*spatial*C but not one image */
               {23, 80, 1, "argmax[23] = 80"},
               {11, -1, 1, "argmax[11] = -1"},
               {11, INT64_MAX, 1, "argmax[11]"}};
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
        memcpy(a2, arg, sizeof a2);
        a2[idx[i].pos] = idx[i].value;
        pp.include_batch_in_index = idx[i].include_batch;
        char what[64];
        snprintf(what, sizeof what, "bad index %d", (int)i);
        expect_unpool(what, c, DECONV_ERR_INDEX_OUT_OF_RANGE, 1, idx[i].needle);
    }
    /* With the batch term, indices into the other image are fine (TF scatters them there). */
    memcpy(a2, arg, sizeof a2);
    a2[5] = 79;
    pp.include_batch_in_index = 1;
    poison_all();
    CHECK(deconv_max_unpool(NULL, &pp, &in, y, 24, a2, 24, &out, g_out, 80, &e) == DECONV_OK,
          "index 79 with include_batch_in_index: %s", e.message);
    CHECK(g_out[79] == y[5], "index 79 lands at the last cell of image 1: %g", (double)g_out[79]);
    /* An empty output cannot hold any index. */
    pp = pool_params(1, DECONV_CHANNELS_LAST, DECONV_PADDING_EXPLICIT, 3, 1);
    pp.pads[0] = pp.pads[1] = 2;
    const deconv_shape pin = SHAPE(3, 1, 2, 1), pout = SHAPE(3, 1, 0, 1);
    const int64_t zero_idx[2] = {0, 0};
    c = base; c.pp = &pp; c.in = &pin; c.yn = 2; c.arg = zero_idx; c.an = 2; c.out_shape = &pout;
    c.outn = 0;
    expect_unpool("index into an empty output", c, DECONV_ERR_INDEX_OUT_OF_RANGE, 1, "[0, 0)");
}

/* ---- properties on random configs --------------------------------------------------------- */

typedef struct rcfg {
    deconv_pool_params pp;
    int32_t r;
    int64_t n, c, sp[3], osp[3]; /* pre-pool and pooled spatial, normalised to 3 dims */
    int64_t pb[3], pa[3];
    int64_t xn, yn;
} rcfg;

static deconv_shape make_shape(const rcfg *g, const int64_t sp[3]) {
    deconv_shape s = SHAPE(g->r + 2, 0);
    const int lead = 3 - g->r;
    s.dims[0] = g->n;
    for (int i = 0; i < g->r; i++)
        s.dims[g->pp.layout == DECONV_CHANNELS_LAST ? 1 + i : 2 + i] = sp[lead + i];
    s.dims[g->pp.layout == DECONV_CHANNELS_LAST ? g->r + 1 : 1] = g->c;
    return s;
}

/* Draws a config whose pooled output is non-empty; pads come from deconv_pool_output_shape. */
static int random_config(uint64_t *rng, rcfg *g) {
    memset(g, 0, sizeof *g);
    /* One draw per statement: argument evaluation order would differ between compilers. */
    g->r = (int32_t)th_rand_int(rng, 1, 3);
    const deconv_layout layout = (deconv_layout)th_rand_int(rng, 0, 1);
    const deconv_padding padding = (deconv_padding)th_rand_int(rng, 0, 2);
    g->pp = pool_params(g->r, layout, padding, 1, 1);
    g->n = th_rand_int(rng, 1, 2);
    g->c = th_rand_int(rng, 1, 3);
    const int lead = 3 - g->r;
    for (int i = 0; i < 3; i++) g->sp[i] = g->osp[i] = 1;
    for (int i = 0; i < g->r; i++) {
        const int64_t k = th_rand_int(rng, 1, 3 + (g->r == 1 ? 2 : 0));
        g->pp.ksize[i] = k;
        g->pp.strides[i] = th_rand_int(rng, 1, 3);
        g->pp.pads[2 * i] = th_rand_int(rng, 0, k - 1);
        g->pp.pads[2 * i + 1] = th_rand_int(rng, 0, k - 1);
        g->sp[lead + i] = th_rand_int(rng, 1, g->r == 3 ? 5 : 7);
    }
    g->pp.count_include_pad = (int32_t)th_rand_int(rng, 0, 1);
    g->pp.include_batch_in_index = (int32_t)th_rand_int(rng, 0, 1);
    const deconv_shape in = make_shape(g, g->sp);
    deconv_shape out;
    int64_t pads[6];
    deconv_error e;
    const deconv_status st = deconv_pool_output_shape(&g->pp, &in, &out, pads, &e);
    if (st == DECONV_ERR_OUTPUT_SIZE) return 0; /* window > input under VALID/EXPLICIT */
    CHECK(st == DECONV_OK, "random config rejected: %s", e.message);
    if (st != DECONV_OK) return 0;
    for (int i = 0; i < g->r; i++) {
        g->osp[lead + i] = out.dims[g->pp.layout == DECONV_CHANNELS_LAST ? 1 + i : 2 + i];
        g->pb[lead + i] = pads[2 * i];
        g->pa[lead + i] = pads[2 * i + 1];
    }
    g->xn = g->n * g->c * g->sp[0] * g->sp[1] * g->sp[2];
    g->yn = g->n * g->c * g->osp[0] * g->osp[1] * g->osp[2];
    return g->yn > 0;
}

/* Channels-last <-> the config's layout (identity for channels-last). */
static void to_layout(const rcfg *g, const int64_t sp[3], const float *cl, float *dst) {
    const int64_t S = sp[0] * sp[1] * sp[2];
    for (int64_t b = 0; b < g->n; b++)
        for (int64_t s = 0; s < S; s++)
            for (int64_t c = 0; c < g->c; c++) {
                const int64_t from = (b * S + s) * g->c + c;
                dst[g->pp.layout == DECONV_CHANNELS_LAST ? from : (b * g->c + c) * S + s] =
                    cl[from];
            }
}
static void from_layout(const rcfg *g, const int64_t sp[3], const void *src, void *cl,
                        size_t elem) {
    const int64_t S = sp[0] * sp[1] * sp[2];
    for (int64_t b = 0; b < g->n; b++)
        for (int64_t s = 0; s < S; s++)
            for (int64_t c = 0; c < g->c; c++) {
                const int64_t to = (b * S + s) * g->c + c;
                const int64_t from =
                    g->pp.layout == DECONV_CHANNELS_LAST ? to : (b * g->c + c) * S + s;
                memcpy((char *)cl + (size_t)to * elem, (const char *)src + (size_t)from * elem,
                       elem);
            }
}

/* Brute-force oracle over channels-last data: every input cell is tested for membership of
 * every window, instead of walking windows. Max: first strictly greater in row-major order
 * (inputs are NaN-free here). Avg divisor: valid cells, or the full k0*k1*k2 (the claim that
 * with TF's floor rule no window passes the padded input). */
static void oracle(const rcfg *g, const float *x, float *mx, int64_t *am, float *av) {
    const int64_t *sp = g->sp, *os = g->osp;
    int64_t k[3] = {1, 1, 1}, s[3] = {1, 1, 1};
    const int lead = 3 - g->r;
    for (int i = 0; i < g->r; i++) {
        k[lead + i] = g->pp.ksize[i];
        s[lead + i] = g->pp.strides[i];
    }
    const int64_t S = sp[0] * sp[1] * sp[2];
    for (int64_t b = 0; b < g->n; b++)
    for (int64_t o = 0; o < os[0] * os[1] * os[2]; o++)
    for (int64_t c = 0; c < g->c; c++) {
        const int64_t oc[3] = {o / (os[1] * os[2]), (o / os[2]) % os[1], o % os[2]};
        double sum = 0;
        int64_t cnt = 0, best = -1;
        for (int64_t cell = 0; cell < S; cell++) {
            const int64_t ic[3] = {cell / (sp[1] * sp[2]), (cell / sp[2]) % sp[1], cell % sp[2]};
            int inside = 1;
            for (int i = 0; i < 3; i++) {
                const int64_t lo = oc[i] * s[i] - g->pb[i];
                if (ic[i] < lo || ic[i] >= lo + k[i]) inside = 0;
            }
            if (!inside) continue;
            const float v = x[(b * S + cell) * g->c + c];
            sum += v;
            cnt++;
            if (best < 0 || v > x[(b * S + best) * g->c + c]) best = cell;
        }
        const int64_t yo = (b * os[0] * os[1] * os[2] + o) * g->c + c;
        mx[yo] = best >= 0 ? x[(b * S + best) * g->c + c] : NAN;
        am[yo] = best * g->c + c + (g->pp.include_batch_in_index ? b * S * g->c : 0);
        const int64_t div = g->pp.count_include_pad ? k[0] * k[1] * k[2] : cnt;
        av[yo] = (float)(sum / (double)div);
    }
}

static void test_random_properties(void) {
    uint64_t rng = 0x5eed0f9001ull;
    enum { MAXN = 2 * 3 * 7 * 7 * 7 + 64 };
    static float x_cl[MAXN], x_l[MAXN], y_l[MAXN], y2_l[MAXN], y_cl[MAXN], av_cl[MAXN];
    static float want_mx[MAXN], want_av[MAXN], u_l[MAXN], u_cl[MAXN], g_cl[MAXN], g_l[MAXN];
    static int64_t a_l[MAXN], a_cl[MAXN], want_am[MAXN];
    static double sums[MAXN];
    int configs = 0, overlapping = 0;
    for (int iter = 0; iter < 400; iter++) {
        rcfg g;
        if (!random_config(&rng, &g)) continue;
        configs++;
        if (g.xn > MAXN - 64 || g.yn > MAXN - 64) {
            CHECK(0, "random config too large for the test buffers");
            continue;
        }
        const deconv_shape in = make_shape(&g, g.sp), pooled = make_shape(&g, g.osp);
        for (int64_t i = 0; i < g.xn; i++) x_cl[i] = th_rand_float(&rng);
        to_layout(&g, g.sp, x_cl, x_l);
        deconv_error e;
        char what[160];
        snprintf(what, sizeof what,
                 "config %d (rank %d, %s, %s, k %lld %lld %lld, s %lld %lld %lld, "
                 "count_include_pad %d, batch index %d)",
                 iter, (int)g.r, g.pp.layout ? "channels_first" : "channels_last",
                 g.pp.padding == 0 ? "VALID" : g.pp.padding == 1 ? "SAME" : "EXPLICIT",
                 (long long)g.pp.ksize[0], (long long)g.pp.ksize[1], (long long)g.pp.ksize[2],
                 (long long)g.pp.strides[0], (long long)g.pp.strides[1],
                 (long long)g.pp.strides[2], (int)g.pp.count_include_pad,
                 (int)g.pp.include_batch_in_index);

        /* Forward ops against the oracle. */
        th_poison(y_l, MAXN);
        th_poison(y2_l, MAXN);
        th_poison_i64(a_l, MAXN);
        const int ok =
            deconv_max_pool(NULL, &g.pp, &in, x_l, g.xn, y_l, g.yn, &e) == DECONV_OK &&
            deconv_max_pool_with_argmax(NULL, &g.pp, &in, x_l, g.xn, y2_l, g.yn, a_l, g.yn, &e) ==
                DECONV_OK;
        CHECK(ok, "%s: %s", what, e.message);
        if (!ok) continue;
        CHECK(th_is_poisoned(y_l + g.yn, MAXN - g.yn) && th_is_poisoned_i64(a_l + g.yn, 64),
              "%s: wrote past the output", what);
        check_floats(what, y2_l, y_l, g.yn, 0.0f);
        oracle(&g, x_cl, want_mx, want_am, want_av);
        from_layout(&g, g.osp, y_l, y_cl, sizeof(float));
        from_layout(&g, g.osp, a_l, a_cl, sizeof(int64_t));
        check_floats(what, y_cl, want_mx, g.yn, 0.0f);
        check_indices(what, a_cl, want_am, g.yn);
        th_poison(y2_l, MAXN);
        CHECK(deconv_avg_pool(NULL, &g.pp, &in, x_l, g.xn, y2_l, g.yn, &e) == DECONV_OK, "%s: %s",
              what, e.message);
        from_layout(&g, g.osp, y2_l, av_cl, sizeof(float));
        check_floats(what, av_cl, want_av, g.yn, 1e-6f);

        /* max_unpool(max_pool_with_argmax(x)): each cell holds the sum of the maxima that
         * point at it (just the maximum when windows do not overlap), every other cell 0. */
        const int64_t S = g.sp[0] * g.sp[1] * g.sp[2];
        int disjoint = 1;
        for (int i = 0; i < g.r; i++)
            if (g.pp.ksize[i] > g.pp.strides[i]) disjoint = 0;
        overlapping += !disjoint;
        th_poison(u_l, MAXN);
        CHECK(deconv_max_unpool(NULL, &g.pp, &pooled, y_l, g.yn, a_l, g.yn, &in, u_l, g.xn, &e) ==
                  DECONV_OK,
              "%s: max_unpool: %s", what, e.message);
        from_layout(&g, g.sp, u_l, u_cl, sizeof(float));
        for (int64_t i = 0; i < g.xn; i++) sums[i] = 0;
        for (int64_t j = 0; j < g.yn; j++) {
            const int64_t b = j / (g.yn / g.n);
            sums[a_cl[j] + (g.pp.include_batch_in_index ? 0 : b * S * g.c)] += y_cl[j];
        }
        int64_t bad = -1;
        for (int64_t i = 0; i < g.xn && bad < 0; i++)
            if (fabs((double)u_cl[i] - sums[i]) > 1e-5 * (1 + fabs(sums[i]))) bad = i;
        CHECK(bad < 0, "%s: max_unpool cell %lld is %g, expected %g", what, (long long)bad,
              bad < 0 ? 0.0 : (double)u_cl[bad], bad < 0 ? 0.0 : sums[bad]);
        if (disjoint) {
            bad = -1;
            for (int64_t j = 0; j < g.yn && bad < 0; j++) {
                const int64_t b = j / (g.yn / g.n);
                const int64_t at = a_cl[j] + (g.pp.include_batch_in_index ? 0 : b * S * g.c);
                if (!same_float(u_cl[at], y_cl[j])) bad = j;
            }
            CHECK(bad < 0, "%s: disjoint windows: maximum %lld not restored at its argmax", what,
                  (long long)bad);
        }

        /* Normalised avg_unpool is the adjoint of avg_pool: <P x, g> == <x, U g>. */
        for (int64_t j = 0; j < g.yn; j++) g_cl[j] = th_rand_float(&rng);
        to_layout(&g, g.osp, g_cl, g_l);
        g.pp.normalize = 1;
        th_poison(u_l, MAXN);
        CHECK(deconv_avg_unpool(NULL, &g.pp, &pooled, g_l, g.yn, &in, u_l, g.xn, &e) == DECONV_OK,
              "%s: avg_unpool: %s", what, e.message);
        from_layout(&g, g.sp, u_l, u_cl, sizeof(float));
        double lhs = 0, rhs = 0, mag = 0;
        for (int64_t j = 0; j < g.yn; j++) {
            lhs += (double)av_cl[j] * g_cl[j];
            mag += fabs((double)av_cl[j] * g_cl[j]);
        }
        for (int64_t i = 0; i < g.xn; i++) rhs += (double)x_cl[i] * u_cl[i];
        CHECK(fabs(lhs - rhs) <= 1e-4 * (mag + 1e-6), "%s: <avg_pool x, g> = %.9g but "
              "<x, avg_unpool g> = %.9g", what, lhs, rhs);
        g.pp.normalize = 0;
    }
    CHECK(configs >= 200 && overlapping >= 50, "only %d random configs (%d overlapping)",
          configs, overlapping);
}

/* A context serialises the op and changes nothing in the result. */
static void test_context(void) {
    deconv_context *ctx = NULL;
    deconv_error e;
    if (!CHECK(deconv_context_create(2, &ctx, &e) == DECONV_OK, "context: %s", e.message))
        return;
    uint64_t rng = 7;
    static float x[2 * 9 * 9 * 3], y1[2 * 5 * 5 * 3], y2[2 * 5 * 5 * 3];
    static int64_t a1[2 * 5 * 5 * 3], a2[2 * 5 * 5 * 3];
    for (int i = 0; i < NELEM(x); i++) x[i] = th_rand_float(&rng);
    deconv_pool_params pp = pool_params(2, DECONV_CHANNELS_FIRST, DECONV_PADDING_SAME, 3, 2);
    const deconv_shape in = SHAPE(4, 2, 3, 9, 9);
    CHECK(deconv_max_pool_with_argmax(NULL, &pp, &in, x, NELEM(x), y1, NELEM(y1), a1, NELEM(a1),
                                      &e) == DECONV_OK &&
              deconv_max_pool_with_argmax(ctx, &pp, &in, x, NELEM(x), y2, NELEM(y2), a2,
                                          NELEM(a2), &e) == DECONV_OK,
          "argmax with a context: %s", e.message);
    CHECK(memcmp(y1, y2, sizeof y1) == 0 && memcmp(a1, a2, sizeof a1) == 0,
          "a context changed the result");
    CHECK(deconv_avg_pool(ctx, &pp, &in, x, NELEM(x), y2, NELEM(y2), &e) == DECONV_OK &&
              deconv_avg_unpool(ctx, &pp, &SHAPE(4, 2, 3, 5, 5), y2, NELEM(y2), &in, x, NELEM(x),
                                &e) == DECONV_OK &&
              deconv_max_unpool(ctx, &pp, &SHAPE(4, 2, 3, 5, 5), y1, NELEM(y1), a1, NELEM(a1),
                                &in, x, NELEM(x), &e) == DECONV_OK,
          "ops through a context: %s", e.message);
    deconv_context_destroy(ctx);
}

void suite_pool(void) {
    test_basic_2d();
    test_same_odd_pads();
    test_explicit_pads();
    test_3d_and_batch_index();
    test_channels_first_2d();
    test_nan_inf_ties();
    test_max_unpool_hand();
    test_avg_unpool_hand();
    test_empty();
    test_param_errors();
    test_shape_and_buffer_errors();
    test_unpool_errors();
    test_random_properties();
    test_context();
}
