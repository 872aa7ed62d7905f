/* geometry.c - TensorFlow's windowed output size rule (kernel_shape_util.cc) for one spatial
 * dim, and its inverse: the range of transposed-conv output sizes that map back onto an input.
 * Callers bound every operand by DECONV_MAX_EXTENT (2^40) first, so plain int64 arithmetic
 * cannot overflow here. */
#include "internal.h"

const char *dc_padding_name(deconv_padding padding) {
    switch (padding) {
    case DECONV_PADDING_VALID: return "VALID";
    case DECONV_PADDING_SAME: return "SAME";
    case DECONV_PADDING_EXPLICIT: return "EXPLICIT";
    }
    return "?";
}

int64_t dc_window_out(deconv_padding padding, dc_dim *dim) {
    const int64_t k_eff = (dim->k - 1) * dim->d + 1;
    if (padding == DECONV_PADDING_SAME) {
        const int64_t out = (dim->in + dim->s - 1) / dim->s;
        int64_t total = (out - 1) * dim->s + k_eff - dim->in;
        if (total < 0) total = 0;
        dim->pb = total / 2; /* the odd extra pad goes at the end */
        dim->pa = total - dim->pb;
        return out;
    }
    if (padding == DECONV_PADDING_VALID) dim->pb = dim->pa = 0;
    /* C's truncating division, exactly as TF (kernel_shape_util.cc): a numerator in (-s, 0)
     * gives size 0, not -1, so only a window more than a stride larger than the padded input
     * is an error. */
    return (dim->in + dim->pb + dim->pa - k_eff + dim->s) / dim->s;
}

void dc_transpose_range(deconv_padding padding, int64_t in, int64_t k, int64_t s, int64_t d,
                        int64_t pb, int64_t pa, int64_t *lo, int64_t *hi) {
    const int64_t k_eff = (k - 1) * d + 1;
    if (padding == DECONV_PADDING_SAME) {
        /* ceil(out / s) == in  <=>  (in - 1) * s < out <= in * s */
        *lo = (in - 1) * s + 1;
        *hi = in * s;
        if (in == 0) *lo = *hi = 0; /* only out == 0 gives ceil(out / s) == 0 */
        return;
    }
    if (padding == DECONV_PADDING_VALID) pb = pa = 0;
    if (in == 0) {
        /* trunc((out + pb + pa - k_eff + s) / s) == 0  <=>  the numerator is in (-s, s):
         * 2s - 1 sizes, TF's truncating division at work. */
        *lo = k_eff - 2 * s + 1 - pb - pa;
        *hi = k_eff - 1 - pb - pa;
        return;
    }
    /* (out + pb + pa - k_eff) / s + 1 == in, with a non-negative numerator for in >= 1 */
    *lo = (in - 1) * s + k_eff - pb - pa;
    *hi = *lo + s - 1;
}
