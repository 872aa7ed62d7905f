/* conv_api.c - public entry points of conv and transposed conv: every check happens in
 * dc_conv_prepare(), which turns the caller's arguments into a dc_conv_problem; the entry
 * points then only check buffers and run the plan dispatch.c picks. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Checks params (everything that does not depend on shapes). */
static deconv_status check_params(const deconv_conv_params *p, deconv_error *err) {
    if (!p) return dc_fail(err, DECONV_ERR_NULL_POINTER, "params is NULL");
    /* struct_size first, alone: a smaller struct may end right after it, so no other field
     * may be read before the size is known (the dummy arguments are never looked at). */
    if (p->struct_size != sizeof(deconv_conv_params))
        return dc_check_common(p, p->struct_size, sizeof(deconv_conv_params), 0, 1,
                               DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, "params", err);
    deconv_status st = dc_check_common(p, p->struct_size, sizeof(deconv_conv_params), p->flags,
                                       p->spatial_rank, p->layout, p->padding, "params", err);
    if (st) return st;
    const int32_t sr = p->spatial_rank;
    if ((st = dc_check_values(p->strides, sr, 1, "strides", err))) return st;
    if ((st = dc_check_values(p->dilations, sr, 1, "dilations", err))) return st;
    if (p->padding == DECONV_PADDING_EXPLICIT &&
        (st = dc_check_values(p->pads, 2 * sr, 0, "pads", err)))
        return st;
    switch ((int)p->activation) {
    case DECONV_ACTIVATION_NONE:
    case DECONV_ACTIVATION_RELU:
    case DECONV_ACTIVATION_RELU6:
    case DECONV_ACTIVATION_SIGMOID:
    case DECONV_ACTIVATION_TANH: break;
    case DECONV_ACTIVATION_LEAKY_RELU:
        if (!isfinite(p->alpha))
            return dc_fail(err, DECONV_ERR_INVALID_ARGUMENT, "alpha = %g must be finite",
                           (double)p->alpha);
        break;
    case DECONV_ACTIVATION_CLAMP:
        if (!isfinite(p->clamp_min) || !isfinite(p->clamp_max) || p->clamp_min > p->clamp_max)
            return dc_fail(err, DECONV_ERR_INVALID_ARGUMENT,
                           "clamp [%g, %g] must be finite with clamp_min <= clamp_max",
                           (double)p->clamp_min, (double)p->clamp_max);
        break;
    default:
        return dc_fail(err, DECONV_ERR_INVALID_ENUM,
                       "params.activation = %d is not a deconv_activation", (int)p->activation);
    }
    return DECONV_OK;
}

/* Validates shapes and resolves the geometry. output_shape is NULL for a forward conv. */
deconv_status dc_conv_prepare(const deconv_conv_params *params, const deconv_shape *input,
                                  const deconv_shape *filter, const deconv_shape *output_shape,
                                  int transposed, dc_conv_problem *pr, deconv_error *err) {
    deconv_status st = check_params(params, err);
    if (st) return st;
    const int32_t sr = params->spatial_rank, rank = sr + 2;
    const deconv_layout layout = params->layout;
    if ((st = dc_check_shape(input, rank, "input", err))) return st;
    if ((st = dc_check_shape(filter, rank, "filter", err))) return st;
    if (transposed && (st = dc_check_shape(output_shape, rank, "output_shape", err))) return st;
    for (int32_t i = 0; i < rank; i++)
        if (filter->dims[i] < 1)
            return dc_fail(err, DECONV_ERR_INVALID_SHAPE, "filter[%d] = %lld must be >= 1",
                           (int)i, (long long)filter->dims[i]);

    memset(pr, 0, sizeof *pr);
    pr->transposed = transposed;
    pr->spatial_rank = sr;
    pr->layout = layout;
    pr->activation = params->activation;
    pr->alpha = params->alpha;
    pr->clamp_min = params->clamp_min;
    pr->clamp_max = params->clamp_max;

    const int32_t cax = dc_channel_axis(sr, layout);
    const int64_t x_c = input->dims[cax];
    const int64_t f_in = filter->dims[sr], f_out = filter->dims[sr + 1];
    int64_t y_c;
    if (!transposed) {
        /* filter [k..., C / groups, OC] */
        if (x_c < f_in || x_c % f_in != 0)
            return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                           "input channels (input[%d] = %lld) must be a positive multiple of "
                           "the filter's in-channels (filter[%d] = %lld)",
                           (int)cax, (long long)x_c, (int)sr, (long long)f_in);
        pr->groups = x_c / f_in;
        y_c = f_out;
        if (y_c % pr->groups != 0)
            return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                           "output channels (filter[%d] = %lld) must be a multiple of groups = "
                           "%lld (input channels %lld / filter in-channels %lld)",
                           (int)(sr + 1), (long long)y_c, (long long)pr->groups,
                           (long long)x_c, (long long)f_in);
        pr->cin_g = f_in;
        pr->cout_g = y_c / pr->groups;
    } else {
        /* filter [k..., OC / groups, IC] */
        y_c = output_shape->dims[cax];
        if (x_c != f_out)
            return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                           "input channels (input[%d] = %lld) must equal the filter's "
                           "in-channels (filter[%d] = %lld)",
                           (int)cax, (long long)x_c, (int)(sr + 1), (long long)f_out);
        if (y_c < f_in || y_c % f_in != 0)
            return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                           "output_shape channels (output_shape[%d] = %lld) must be a positive "
                           "multiple of the filter's out-channels (filter[%d] = %lld)",
                           (int)cax, (long long)y_c, (int)sr, (long long)f_in);
        pr->groups = y_c / f_in;
        if (x_c % pr->groups != 0)
            return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                           "input channels %lld must be a multiple of groups = %lld "
                           "(output_shape channels %lld / filter out-channels %lld)",
                           (long long)x_c, (long long)pr->groups, (long long)y_c,
                           (long long)f_in);
        if (output_shape->dims[0] != input->dims[0])
            return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                           "output_shape[0] = %lld must equal the input batch %lld",
                           (long long)output_shape->dims[0], (long long)input->dims[0]);
        pr->cin_g = x_c / pr->groups;
        pr->cout_g = f_in;
    }

    /* Spatial dims, normalised to 3 with leading unit dims. */
    deconv_shape yshape = {0};
    yshape.rank = rank;
    yshape.dims[0] = input->dims[0];
    yshape.dims[cax] = y_c;
    const int32_t lead = DECONV_MAX_SPATIAL - sr;
    for (int j = 0; j < 3; j++) pr->k[j] = pr->s[j] = pr->d[j] = 1;
    for (int32_t i = 0; i < sr; i++) {
        const int32_t ax = dc_spatial_axis(sr, layout, i);
        const int32_t j = lead + i;
        dc_dim dim;
        dim.k = filter->dims[i];
        dim.s = params->strides[i];
        dim.d = params->dilations[i];
        dim.pb = params->padding == DECONV_PADDING_EXPLICIT ? params->pads[2 * i] : 0;
        dim.pa = params->padding == DECONV_PADDING_EXPLICIT ? params->pads[2 * i + 1] : 0;
        int64_t k_eff;
        if (!dc_mul(dim.k - 1, dim.d, &k_eff) || ++k_eff > DECONV_MAX_EXTENT)
            return dc_fail(err, DECONV_ERR_OVERFLOW,
                           "effective kernel (filter[%d] - 1) * dilations[%d] + 1 exceeds 2^40",
                           (int)i, (int)i);
        pr->k[j] = dim.k;
        pr->s[j] = dim.s;
        pr->d[j] = dim.d;
        if (!transposed) {
            dim.in = input->dims[ax];
            const int64_t out = dc_window_out(params->padding, &dim);
            if (out < 0)
                return dc_fail(err, DECONV_ERR_OUTPUT_SIZE,
                               "output size of spatial dim %d would be negative (%lld): input "
                               "%lld, effective kernel %lld, stride %lld, %s pads %lld+%lld",
                               (int)i, (long long)out, (long long)dim.in, (long long)k_eff,
                               (long long)dim.s, dc_padding_name(params->padding),
                               (long long)dim.pb, (long long)dim.pa);
            yshape.dims[ax] = out;
        } else {
            const int64_t in = input->dims[ax], want = output_shape->dims[ax];
            int64_t span;
            /* (in - 1) * s must stay far from int64's limit for the range arithmetic. */
            if (!dc_mul(in, dim.s, &span) || span > ((int64_t)1 << 62))
                return dc_fail(err, DECONV_ERR_OVERFLOW,
                               "input[%d] = %lld times stride %lld is too large", (int)ax,
                               (long long)in, (long long)dim.s);
            dim.in = want;
            const int64_t got = dc_window_out(params->padding, &dim);
            if (got != in) {
                int64_t lo, hi;
                dc_transpose_range(params->padding, in, dim.k, dim.s, dim.d, dim.pb, dim.pa,
                                   &lo, &hi);
                if (lo < 0) lo = 0;
                if (hi < lo)
                    return dc_fail(err, DECONV_ERR_INVALID_OUTPUT_SHAPE,
                                   "output_shape[%d] = %lld is not valid: input %lld, kernel "
                                   "%lld, stride %lld, dilation %lld, %s accept no size",
                                   (int)ax, (long long)want, (long long)in, (long long)dim.k,
                                   (long long)dim.s, (long long)dim.d,
                                   dc_padding_name(params->padding));
                return dc_fail(err, DECONV_ERR_INVALID_OUTPUT_SHAPE,
                               "output_shape[%d] = %lld is not valid: input %lld, kernel %lld, "
                               "stride %lld, dilation %lld, %s accept %lld..%lld",
                               (int)ax, (long long)want, (long long)in, (long long)dim.k,
                               (long long)dim.s, (long long)dim.d,
                               dc_padding_name(params->padding), (long long)lo, (long long)hi);
            }
            yshape.dims[ax] = want;
        }
        pr->pb[j] = dim.pb;
        pr->pa[j] = dim.pa;
    }
    /* The output's element count must be addressable too. */
    if ((st = dc_check_shape(&yshape, rank, transposed ? "output_shape" : "output", err)))
        return st;
    dc_layout_from_shape(input, sr, layout, &pr->x);
    dc_layout_from_shape(&yshape, sr, layout, &pr->y);

    int64_t kvol = pr->k[0] * pr->k[1] * pr->k[2];
    pr->w_stride_k[2] = (transposed ? pr->cout_g * x_c : pr->cin_g * y_c);
    pr->w_stride_k[1] = pr->w_stride_k[2] * pr->k[2];
    pr->w_stride_k[0] = pr->w_stride_k[1] * pr->k[1];
    pr->w_count = kvol * pr->w_stride_k[2];
    return DECONV_OK;
}

/* Output shape of a resolved problem in the caller's layout. */
static void problem_output_shape(const dc_conv_problem *pr, deconv_shape *out) {
    const int32_t sr = pr->spatial_rank, lead = DECONV_MAX_SPATIAL - sr;
    memset(out, 0, sizeof *out);
    out->rank = sr + 2;
    out->dims[0] = pr->y.n;
    out->dims[dc_channel_axis(sr, pr->layout)] = pr->y.c;
    for (int32_t i = 0; i < sr; i++)
        out->dims[dc_spatial_axis(sr, pr->layout, i)] = pr->y.sp[lead + i];
}

static void problem_pads(const dc_conv_problem *pr, int64_t pads[2 * DECONV_MAX_SPATIAL]) {
    const int32_t sr = pr->spatial_rank, lead = DECONV_MAX_SPATIAL - sr;
    for (int32_t i = 0; i < DECONV_MAX_SPATIAL; i++) {
        pads[2 * i] = i < sr ? pr->pb[lead + i] : 0;
        pads[2 * i + 1] = i < sr ? pr->pa[lead + i] : 0;
    }
}

deconv_status deconv_conv_output_shape(const deconv_conv_params *params,
                                       const deconv_shape *input, const deconv_shape *filter,
                                       deconv_shape *output, int64_t pads[2 * DECONV_MAX_SPATIAL],
                                       deconv_error *error) {
    dc_conv_problem pr;
    if (!output) return dc_fail(error, DECONV_ERR_NULL_POINTER, "output is NULL");
    deconv_status st = dc_conv_prepare(params, input, filter, NULL, 0, &pr, error);
    if (st) return st;
    problem_output_shape(&pr, output);
    if (pads) problem_pads(&pr, pads);
    return dc_ok(error);
}

deconv_status deconv_conv_transpose_output_range(const deconv_conv_params *params,
                                                 const deconv_shape *input,
                                                 const deconv_shape *filter,
                                                 int64_t min_size[DECONV_MAX_SPATIAL],
                                                 int64_t max_size[DECONV_MAX_SPATIAL],
                                                 deconv_error *error) {
    if (!min_size || !max_size)
        return dc_fail(error, DECONV_ERR_NULL_POINTER, "min_size or max_size is NULL");
    deconv_status st = check_params(params, error);
    if (st) return st;
    const int32_t sr = params->spatial_rank, rank = sr + 2;
    if ((st = dc_check_shape(input, rank, "input", error))) return st;
    if ((st = dc_check_shape(filter, rank, "filter", error))) return st;
    for (int32_t i = 0; i < rank; i++)
        if (filter->dims[i] < 1)
            return dc_fail(error, DECONV_ERR_INVALID_SHAPE, "filter[%d] = %lld must be >= 1",
                           (int)i, (long long)filter->dims[i]);
    int64_t lo[DECONV_MAX_SPATIAL] = {0}, hi[DECONV_MAX_SPATIAL] = {0};
    for (int32_t i = 0; i < sr; i++) {
        const int32_t ax = dc_spatial_axis(sr, params->layout, i);
        const int64_t in = input->dims[ax], k = filter->dims[i], s = params->strides[i],
                      d = params->dilations[i];
        int64_t k_eff, span;
        if (!dc_mul(k - 1, d, &k_eff) || ++k_eff > DECONV_MAX_EXTENT)
            return dc_fail(error, DECONV_ERR_OVERFLOW,
                           "effective kernel (filter[%d] - 1) * dilations[%d] + 1 exceeds 2^40",
                           (int)i, (int)i);
        if (!dc_mul(in, s, &span) || span > ((int64_t)1 << 62))
            return dc_fail(error, DECONV_ERR_OVERFLOW,
                           "input[%d] = %lld times stride %lld is too large", (int)ax,
                           (long long)in, (long long)s);
        const int explicit_pads = params->padding == DECONV_PADDING_EXPLICIT;
        dc_transpose_range(params->padding, in, k, s, d, explicit_pads ? params->pads[2 * i] : 0,
                           explicit_pads ? params->pads[2 * i + 1] : 0, &lo[i], &hi[i]);
    }
    for (int i = 0; i < DECONV_MAX_SPATIAL; i++) {
        min_size[i] = lo[i];
        max_size[i] = hi[i];
    }
    return dc_ok(error);
}

deconv_status deconv_conv_transpose_pads(const deconv_conv_params *params,
                                         const deconv_shape *input, const deconv_shape *filter,
                                         const deconv_shape *output_shape,
                                         int64_t pads[2 * DECONV_MAX_SPATIAL],
                                         deconv_error *error) {
    dc_conv_problem pr;
    if (!pads) return dc_fail(error, DECONV_ERR_NULL_POINTER, "pads is NULL");
    deconv_status st = dc_conv_prepare(params, input, filter, output_shape, 1, &pr, error);
    if (st) return st;
    problem_pads(&pr, pads);
    return dc_ok(error);
}

deconv_status deconv_keras_conv_transpose_size(int64_t input_size, int64_t kernel, int64_t stride,
                                               int64_t dilation, deconv_padding padding,
                                               int64_t output_padding, int64_t *output_size,
                                               deconv_error *error) {
    if (!output_size) return dc_fail(error, DECONV_ERR_NULL_POINTER, "output_size is NULL");
    const int64_t v[4] = {input_size, kernel, stride, dilation};
    static const char *const names[4] = {"input_size", "kernel", "stride", "dilation"};
    for (int i = 0; i < 4; i++) {
        deconv_status st = dc_check_values(&v[i], 1, i == 0 ? 0 : 1, names[i], error);
        if (st) return st;
    }
    if (output_padding >= stride)
        return dc_fail(error, DECONV_ERR_INVALID_ARGUMENT,
                       "output_padding = %lld must be less than stride %lld",
                       (long long)output_padding, (long long)stride);
    const int64_t k_eff = (kernel - 1) * dilation + 1; /* both <= 2^40: use checked math */
    int64_t k_chk;
    if (!dc_mul(kernel - 1, dilation, &k_chk) || k_chk + 1 > DECONV_MAX_EXTENT)
        return dc_fail(error, DECONV_ERR_OVERFLOW, "effective kernel exceeds 2^40");
    int64_t base;
    if (!dc_mul(input_size, stride, &base) || base > ((int64_t)1 << 62))
        return dc_fail(error, DECONV_ERR_OVERFLOW, "input_size * stride is too large");
    int64_t out;
    switch ((int)padding) {
    case DECONV_PADDING_SAME:
        out = output_padding < 0 ? base : base - stride + k_eff % 2 + output_padding;
        break;
    case DECONV_PADDING_VALID:
        out = output_padding < 0 ? base + (k_eff > stride ? k_eff - stride : 0)
                                 : base - stride + k_eff + output_padding;
        break;
    case DECONV_PADDING_EXPLICIT:
        return dc_fail(error, DECONV_ERR_INVALID_ENUM, "Keras has no EXPLICIT padding");
    default:
        return dc_fail(error, DECONV_ERR_INVALID_ENUM, "padding = %d is not a deconv_padding",
                       (int)padding);
    }
    *output_size = out < 0 ? 0 : out;
    return dc_ok(error);
}

deconv_status deconv_conv_workspace_size(const deconv_context *ctx,
                                         const deconv_conv_params *params,
                                         const deconv_shape *input, const deconv_shape *filter,
                                         size_t *bytes, deconv_error *error) {
    dc_conv_problem pr;
    dc_conv_plan plan;
    if (!bytes) return dc_fail(error, DECONV_ERR_NULL_POINTER, "bytes is NULL");
    deconv_status st = dc_conv_prepare(params, input, filter, NULL, 0, &pr, error);
    if (st) return st;
    dc_select_conv_plan(&pr, deconv_context_num_threads(ctx), &plan);
    *bytes = plan.workspace_bytes;
    return dc_ok(error);
}

deconv_status deconv_conv_transpose_workspace_size(const deconv_context *ctx,
                                                   const deconv_conv_params *params,
                                                   const deconv_shape *input,
                                                   const deconv_shape *filter,
                                                   const deconv_shape *output_shape,
                                                   size_t *bytes, deconv_error *error) {
    dc_conv_problem pr;
    dc_conv_plan plan;
    if (!bytes) return dc_fail(error, DECONV_ERR_NULL_POINTER, "bytes is NULL");
    deconv_status st = dc_conv_prepare(params, input, filter, output_shape, 1, &pr, error);
    if (st) return st;
    dc_select_conv_plan(&pr, deconv_context_num_threads(ctx), &plan);
    *bytes = plan.workspace_bytes;
    return dc_ok(error);
}

/* ---- running ---------------------------------------------------------------------------- */

/* 1 if *v is inf or NaN. */
static inline uint32_t exponent_all_ones(const float *v) {
    uint32_t bits;
    memcpy(&bits, v, sizeof bits);
    return (bits & 0x7f800000u) == 0x7f800000u;
}

/* Padding cells contribute nothing: they are never multiplied (deconv.h). Fast kernels read
 * padding as zeros and would turn an inf or NaN weight on a padding tap into NaN (0 * inf),
 * so a filter with a non-finite value runs on the reference, which skips padding taps. The
 * scan costs one pass over the weights, small beside the convolution. */
int dc_weights_finite(const float *w, int64_t n) {
    /* Values whose exponent field is all ones (inf or NaN) counted a chunk at a time, with
     * no branch per value and a fixed count per chunk, so that gcc -O2 vectorizes the loop
     * (a per-value isfinite test kept dcgan1's 52 MB scan at about one value per cycle). */
    enum { CHUNK = 4096 };
    int64_t i = 0;
    uint32_t bad = 0;
    for (; i + CHUNK <= n && !bad; i += CHUNK)
        for (int k = 0; k < CHUNK; k++) bad += exponent_all_ones(w + i + k);
    for (; i < n && !bad; i++) bad += exponent_all_ones(w + i);
    return !bad;
}

/* dc_weights_finite over the context's threads, SCAN_UNIT floats a unit: a stateless call
 * reads its weights from memory (vol3d 28 MB, dcgan1 52 MB), and one thread's scan of them
 * took 10% of vol3d's time at 1 thread, alone while the other threads waited. */
#define SCAN_UNIT ((int64_t)1 << 18)

typedef struct scan_job {
    const float *w;
    int64_t n;
    int bad;
} scan_job;

static void scan_range(void *arg, int64_t begin, int64_t end, int32_t thread) {
    scan_job *j = arg;
    (void)thread;
    const int64_t lo = begin * SCAN_UNIT, hi = end * SCAN_UNIT < j->n ? end * SCAN_UNIT : j->n;
    if (!__atomic_load_n(&j->bad, __ATOMIC_RELAXED) && !dc_weights_finite(j->w + lo, hi - lo))
        __atomic_store_n(&j->bad, 1, __ATOMIC_RELAXED);
}

int dc_weights_finite_on(deconv_context *ctx, const float *w, int64_t n) {
    scan_job j = {w, n, 0};
    if (dc_parallel_for(ctx, (n + SCAN_UNIT - 1) / SCAN_UNIT, scan_range, &j, NULL) != DECONV_OK)
        return dc_weights_finite(w, n);
    return !j.bad;
}

/* Checks the data buffers against a resolved problem, then runs it. */
static deconv_status conv_run(deconv_context *ctx, const dc_conv_problem *pr_in,
                              const float *x, int64_t x_count, const float *w, int64_t w_count,
                              const float *bias, int64_t bias_count, float *y, int64_t y_count,
                              deconv_error *err) {
    dc_conv_problem pr = *pr_in;
    deconv_status st;
    if ((st = dc_check_buffer(x, x_count, pr.x.count, "input", err))) return st;
    if ((st = dc_check_buffer(w, w_count, pr.w_count, "filter", err))) return st;
    if (bias_count < 0 || (bias_count != 0 && bias_count != pr.y.c))
        return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                       "bias_count = %lld must be 0 (no bias) or the output channels %lld",
                       (long long)bias_count, (long long)pr.y.c);
    if (bias_count > 0 && !bias)
        return dc_fail(err, DECONV_ERR_NULL_POINTER, "bias is NULL but bias_count is %lld",
                       (long long)bias_count);
    if ((st = dc_check_buffer(y, y_count, pr.y.count, "output", err))) return st;
    const size_t yb = (size_t)y_count * sizeof(float);
    if ((st = dc_check_overlap(y, yb, x, (size_t)x_count * sizeof(float), "output", "input", err)) ||
        (st = dc_check_overlap(y, yb, w, (size_t)w_count * sizeof(float), "output", "filter", err)) ||
        (st = dc_check_overlap(y, yb, bias, (size_t)bias_count * sizeof(float), "output", "bias",
                               err)))
        return st;
    pr.has_bias = bias_count > 0;

    /* the op holds the context (its threads scan the weights), then takes its workspace */
    void *ws, *to_free;
    if ((st = dc_context_begin(ctx, 0, &ws, &to_free, err))) return st;
    dc_conv_plan plan;
    dc_select_conv_plan(&pr, deconv_context_num_threads(ctx), &plan);
    /* A non-finite weight sends the call to the reference (see dc_weights_finite): found by
     * a scan of the filter first, or, by a plan that checks what it packs, during the run
     * (dc_run_conv_plan). */
    if (!plan.checks_weights && !dc_weights_finite_on(ctx, w, w_count))
        dc_ref_conv_any_plan(&pr, &plan);
    if ((st = dc_context_reserve(ctx, plan.workspace_bytes, &ws, &to_free, err))) {
        dc_context_end(ctx, to_free);
        return st;
    }
    dc_conv_args args;
    args.p = &pr;
    args.x = x;
    args.w = w;
    args.bias = pr.has_bias ? bias : NULL;
    args.y = y;
    args.workspace = ws;
    args.workspace_size = plan.workspace_bytes;
    args.num_threads = deconv_context_num_threads(ctx);
    st = dc_run_conv_plan(ctx, &plan, &args, 1, err);
    dc_context_end(ctx, to_free);
    return st ? st : dc_ok(err);
}

deconv_status deconv_conv(deconv_context *ctx, const deconv_conv_params *params,
                          const deconv_shape *input, const float *input_data, int64_t input_count,
                          const deconv_shape *filter, const float *filter_data,
                          int64_t filter_count, const float *bias, int64_t bias_count,
                          float *output, int64_t output_count, deconv_error *error) {
    dc_conv_problem pr;
    deconv_status st = dc_conv_prepare(params, input, filter, NULL, 0, &pr, error);
    if (st) return st;
    return conv_run(ctx, &pr, input_data, input_count, filter_data, filter_count, bias,
                    bias_count, output, output_count, error);
}

deconv_status deconv_conv_transpose(deconv_context *ctx, const deconv_conv_params *params,
                                    const deconv_shape *input, const float *input_data,
                                    int64_t input_count, const deconv_shape *filter,
                                    const float *filter_data, int64_t filter_count,
                                    const float *bias, int64_t bias_count,
                                    const deconv_shape *output_shape, float *output,
                                    int64_t output_count, deconv_error *error) {
    dc_conv_problem pr;
    deconv_status st = dc_conv_prepare(params, input, filter, output_shape, 1, &pr, error);
    if (st) return st;
    return conv_run(ctx, &pr, input_data, input_count, filter_data, filter_count, bias,
                    bias_count, output, output_count, error);
}
