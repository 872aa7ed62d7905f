/* conv_case.h - one conv or transposed-conv case as the suites that run convs through the
 * public API build it (test_fast, test_prepared, test_wino): params, shapes, data. */
#ifndef DECONV_TEST_CONV_CASE_H
#define DECONV_TEST_CONV_CASE_H

#include "deconv.h"

#include <stdint.h>

typedef struct th_conv {
    int transposed;
    deconv_conv_params prm;
    deconv_shape x, w, y;
    float *xd, *wd, *bd, *ref; /* ref: the reference output, where a suite keeps one */
    int64_t xn, wn, bn, yn;
} th_conv;

/** Elements of a shape. */
int64_t th_count(const deconv_shape *s);
/** n floats from th_rand_float (at least one allocated). */
float *th_rand_buf(uint64_t *rng, int64_t n);
/** Frees the case's buffers and zeroes it. */
void th_conv_free(th_conv *c);
/** Runs the case stateless: deconv_conv or deconv_conv_transpose into out. */
deconv_status th_conv_run(const th_conv *c, deconv_context *ctx, float *out);

#endif
