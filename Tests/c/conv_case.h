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
/** Every activation, for the suites' random cases. */
#define TH_NACTS 7
extern const deconv_activation TH_ACTS[TH_NACTS];
/** A case from explicit sizes (channels per group, TF filter layouts, a transposed conv's
 *  output size drawn from its valid range), random data, and room for a reference output;
 *  0 when the configuration is not valid, its output is above max_out, or it is empty and
 *  allow_empty is 0. */
int th_conv_make(th_conv *c, uint64_t *rng, int transposed, int sr, deconv_layout layout,
                 int64_t n, const int64_t *in_sp, int64_t cin_g, int64_t cout_g, int64_t groups,
                 const int64_t *k, const int64_t *s, const int64_t *d, deconv_padding pad,
                 const int64_t *pads, int bias, deconv_activation act, int64_t max_out,
                 int allow_empty);
/** Runs the case stateless: deconv_conv or deconv_conv_transpose into out. */
deconv_status th_conv_run(const th_conv *c, deconv_context *ctx, float *out);

#endif
