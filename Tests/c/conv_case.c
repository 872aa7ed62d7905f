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

const deconv_activation TH_ACTS[TH_NACTS] = {
    DECONV_ACTIVATION_NONE,       DECONV_ACTIVATION_RELU,    DECONV_ACTIVATION_RELU6,
    DECONV_ACTIVATION_LEAKY_RELU, DECONV_ACTIVATION_SIGMOID, DECONV_ACTIVATION_TANH,
    DECONV_ACTIVATION_CLAMP};

int th_conv_make(th_conv *c, uint64_t *rng, int transposed, int sr, deconv_layout layout,
                     int64_t n, const int64_t *in_sp, int64_t cin_g, int64_t cout_g,
                     int64_t groups, const int64_t *k, const int64_t *s, const int64_t *d,
                 deconv_padding pad, const int64_t *pads, int bias, deconv_activation act,
                 int64_t max_out, int allow_empty) {
    deconv_conv_params init = DECONV_CONV_PARAMS_INIT;
    memset(c, 0, sizeof *c);
    c->transposed = transposed;
    c->prm = init;
    c->prm.spatial_rank = sr;
    c->prm.layout = layout;
    c->prm.padding = pad;
    c->prm.activation = act;
    c->prm.alpha = 0.1f;
    c->prm.clamp_min = -0.5f;
    c->prm.clamp_max = 0.75f;
    for (int i = 0; i < sr; i++) {
        c->prm.strides[i] = s[i];
        c->prm.dilations[i] = d[i];
        c->prm.pads[2 * i] = pads[2 * i];
        c->prm.pads[2 * i + 1] = pads[2 * i + 1];
    }
    const int rank = sr + 2, cax = layout == DECONV_CHANNELS_LAST ? rank - 1 : 1;
    const int sp0 = layout == DECONV_CHANNELS_LAST ? 1 : 2;
    c->x.rank = c->w.rank = c->y.rank = rank;
    c->x.dims[0] = n;
    for (int i = 0; i < sr; i++) {
        c->x.dims[sp0 + i] = in_sp[i];
        c->w.dims[i] = k[i];
    }
    if (!transposed) {
        c->x.dims[cax] = cin_g * groups;
        c->w.dims[sr] = cin_g;
        c->w.dims[sr + 1] = cout_g * groups;
        if (deconv_conv_output_shape(&c->prm, &c->x, &c->w, &c->y, NULL, NULL) != DECONV_OK)
            return 0;
    } else {
        int64_t lo[3], hi[3];
        c->x.dims[cax] = cin_g * groups;
        c->w.dims[sr] = cout_g;
        c->w.dims[sr + 1] = cin_g * groups;
        if (deconv_conv_transpose_output_range(&c->prm, &c->x, &c->w, lo, hi, NULL) != DECONV_OK)
            return 0;
        c->y = c->x;
        c->y.dims[cax] = cout_g * groups;
        for (int i = 0; i < sr; i++) {
            if (lo[i] < 0) lo[i] = 0;
            if (hi[i] < lo[i]) return 0;
            c->y.dims[sp0 + i] = th_rand_int(rng, lo[i], hi[i]);
        }
    }
    c->xn = th_count(&c->x);
    c->wn = th_count(&c->w);
    c->yn = th_count(&c->y);
    c->bn = bias ? cout_g * groups : 0;
    if ((c->yn == 0 && !allow_empty) || c->yn > max_out) return 0;
    c->xd = th_rand_buf(rng, c->xn);
    c->wd = th_rand_buf(rng, c->wn);
    c->bd = bias ? th_rand_buf(rng, c->bn) : NULL;
    c->ref = malloc((size_t)(c->yn > 0 ? c->yn : 1) * sizeof(float));
    return 1;
}
