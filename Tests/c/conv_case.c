/* conv_case.c - the shared conv case of conv_case.h. */
#include "conv_case.h"

#include "harness.h"

#include <stdlib.h>
#include <string.h>

int64_t th_count(const deconv_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

float *th_rand_buf(uint64_t *rng, int64_t n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = th_rand_float(rng);
    return p;
}

void th_conv_free(th_conv *c) {
    free(c->xd);
    free(c->wd);
    free(c->bd);
    free(c->ref);
    memset(c, 0, sizeof *c);
}

deconv_status th_conv_run(const th_conv *c, deconv_context *ctx, float *out) {
    if (c->transposed)
        return deconv_conv_transpose(ctx, &c->prm, &c->x, c->xd, c->xn, &c->w, c->wd, c->wn,
                                     c->bd, c->bn, &c->y, out, c->yn, NULL);
    return deconv_conv(ctx, &c->prm, &c->x, c->xd, c->xn, &c->w, c->wd, c->wn, c->bd, c->bn,
                       out, c->yn, NULL);
}
