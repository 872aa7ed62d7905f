/* conv_ref.c - the naive reference conv and transposed conv: one output element per work
 * unit, a direct sum over its definition in double precision. Slow and obviously right; the
 * oracle the fast kernels are tested against. */
#include "internal.h"

#include <math.h>

float dc_activate(const dc_conv_problem *p, float v) {
    switch (p->activation) {
    case DECONV_ACTIVATION_NONE: return v;
    case DECONV_ACTIVATION_RELU: return v > 0.0f ? v : 0.0f;
    case DECONV_ACTIVATION_RELU6: return v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f;
    case DECONV_ACTIVATION_LEAKY_RELU: return v >= 0.0f ? v : p->alpha * v;
    case DECONV_ACTIVATION_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case DECONV_ACTIVATION_TANH: return tanhf(v);
    case DECONV_ACTIVATION_CLAMP:
        return v < p->clamp_min ? p->clamp_min : v > p->clamp_max ? p->clamp_max : v;
    }
    return v;
}

/* Unit u -> (n, o0, o1, o2, co) in logical channels-last order; returns the y offset. */
static int64_t unit_to_output(const dc_conv_problem *p, int64_t u, int64_t *n, int64_t o[3],
                              int64_t *co) {
    *co = u % p->y.c;
    u /= p->y.c;
    o[2] = u % p->y.sp[2];
    u /= p->y.sp[2];
    o[1] = u % p->y.sp[1];
    u /= p->y.sp[1];
    o[0] = u % p->y.sp[0];
    *n = u / p->y.sp[0];
    return *n * p->y.stride_n + *co * p->y.stride_c + o[0] * p->y.stride_sp[0] +
           o[1] * p->y.stride_sp[1] + o[2] * p->y.stride_sp[2];
}

static float finish(const dc_conv_args *a, double acc, int64_t co) {
    float v = (float)acc;
    if (a->bias) v += a->bias[co];
    return dc_activate(a->p, v);
}

/* y[n, o, co] = sum_{a, ci in group} x[n, o*s + a*d - pb, ci] * w[a, ci - g*cin_g, co] */
static void ref_conv_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread) {
    const dc_conv_problem *p = a->p;
    (void)thread;
    for (int64_t u = begin; u < end; u++) {
        int64_t n, o[3], co;
        const int64_t yoff = unit_to_output(p, u, &n, o, &co);
        const int64_t g = co / p->cout_g;
        double acc = 0.0;
        for (int64_t a0 = 0; a0 < p->k[0]; a0++) {
            const int64_t i0 = o[0] * p->s[0] + a0 * p->d[0] - p->pb[0];
            if (i0 < 0 || i0 >= p->x.sp[0]) continue;
            for (int64_t a1 = 0; a1 < p->k[1]; a1++) {
                const int64_t i1 = o[1] * p->s[1] + a1 * p->d[1] - p->pb[1];
                if (i1 < 0 || i1 >= p->x.sp[1]) continue;
                for (int64_t a2 = 0; a2 < p->k[2]; a2++) {
                    const int64_t i2 = o[2] * p->s[2] + a2 * p->d[2] - p->pb[2];
                    if (i2 < 0 || i2 >= p->x.sp[2]) continue;
                    const int64_t xoff = n * p->x.stride_n + i0 * p->x.stride_sp[0] +
                                         i1 * p->x.stride_sp[1] + i2 * p->x.stride_sp[2];
                    const int64_t woff = a0 * p->w_stride_k[0] + a1 * p->w_stride_k[1] +
                                         a2 * p->w_stride_k[2];
                    for (int64_t ci = 0; ci < p->cin_g; ci++) {
                        const int64_t c = g * p->cin_g + ci;
                        acc += (double)a->x[xoff + c * p->x.stride_c] *
                               (double)a->w[woff + ci * p->y.c + co];
                    }
                }
            }
        }
        a->y[yoff] = finish(a, acc, co);
    }
}

/* y[n, o, co] = sum over (i, a, ci in group) with i*s + a*d - pb == o of
 *               x[n, i, ci] * w[a, co - g*cout_g, ci] */
static void ref_conv_transpose_run(const dc_conv_args *a, int64_t begin, int64_t end,
                                   int32_t thread) {
    const dc_conv_problem *p = a->p;
    (void)thread;
    for (int64_t u = begin; u < end; u++) {
        int64_t n, o[3], co, i[3];
        const int64_t yoff = unit_to_output(p, u, &n, o, &co);
        const int64_t g = co / p->cout_g, co_g = co % p->cout_g;
        double acc = 0.0;
        for (int64_t a0 = 0; a0 < p->k[0]; a0++) {
            const int64_t t0 = o[0] + p->pb[0] - a0 * p->d[0];
            if (t0 < 0 || t0 % p->s[0] != 0 || (i[0] = t0 / p->s[0]) >= p->x.sp[0]) continue;
            for (int64_t a1 = 0; a1 < p->k[1]; a1++) {
                const int64_t t1 = o[1] + p->pb[1] - a1 * p->d[1];
                if (t1 < 0 || t1 % p->s[1] != 0 || (i[1] = t1 / p->s[1]) >= p->x.sp[1]) continue;
                for (int64_t a2 = 0; a2 < p->k[2]; a2++) {
                    const int64_t t2 = o[2] + p->pb[2] - a2 * p->d[2];
                    if (t2 < 0 || t2 % p->s[2] != 0 || (i[2] = t2 / p->s[2]) >= p->x.sp[2])
                        continue;
                    const int64_t xoff = n * p->x.stride_n + i[0] * p->x.stride_sp[0] +
                                         i[1] * p->x.stride_sp[1] + i[2] * p->x.stride_sp[2];
                    const int64_t woff = a0 * p->w_stride_k[0] + a1 * p->w_stride_k[1] +
                                         a2 * p->w_stride_k[2] + co_g * p->x.c;
                    for (int64_t ci = 0; ci < p->cin_g; ci++) {
                        const int64_t c = g * p->cin_g + ci;
                        acc += (double)a->x[xoff + c * p->x.stride_c] * (double)a->w[woff + c];
                    }
                }
            }
        }
        a->y[yoff] = finish(a, acc, co);
    }
}

static int64_t output_units(const dc_conv_problem *p) {
    return p->y.n * p->y.sp[0] * p->y.sp[1] * p->y.sp[2] * p->y.c;
}

void dc_ref_conv_plan(const dc_conv_problem *p, dc_conv_plan *plan) {
    plan->name = "reference";
    plan->run = ref_conv_run;
    plan->units = output_units(p);
    plan->workspace_bytes = 0;
    plan->checks_weights = 0;
    plan->relayout = 0;
}

void dc_ref_conv_transpose_plan(const dc_conv_problem *p, dc_conv_plan *plan) {
    plan->name = "reference";
    plan->run = ref_conv_transpose_run;
    plan->units = output_units(p);
    plan->workspace_bytes = 0;
    plan->checks_weights = 0;
    plan->relayout = 0;
}
