/* prepared.c - prepared convolutions (deconv.h): validate and pack the weights once, run many
 * times. Validation is dc_conv_prepare's, the same as the stateless calls'. When a fast kernel
 * claims the problem the weights are stored exactly as that kernel's stateless run packs them
 * per call (fast/conv_gemm.c), so both paths give the same bits; a channels-first problem's
 * weights are packed for its channels-last twin and run between the same transposes as the
 * stateless call's (relayout.c). Otherwise (huge kernels, non-finite weights, ...) a raw copy
 * runs through the same plan, and the same checks of the weights, as the stateless call. */
#include "internal.h"
#include "fast/fast.h"

#include <stdlib.h>
#include <string.h>

struct deconv_prepared_conv {
    dc_conv_problem pr;
    int relayout;      /* packed for pr's channels-last twin: run between two transposes */
    deconv_shape in_shape, out_shape;
    int packed;        /* 1: fp holds the packed weights; 0: w is a raw copy */
    int finite;        /* raw copy only: every weight is finite (else checked as the stateless
                        * call checks them: raw_plan) */
    dc_fast_packed fp;
    float *w;
};

static deconv_status create(const deconv_conv_params *params, const deconv_shape *input,
                            const deconv_shape *filter, const float *filter_data,
                            int64_t filter_count, const deconv_shape *output_shape,
                            int transposed, deconv_prepared_conv **out, deconv_error *err) {
    if (!out) return dc_fail(err, DECONV_ERR_NULL_POINTER, "out is NULL");
    dc_conv_problem pr;
    deconv_status st = dc_conv_prepare(params, input, filter, output_shape, transposed, &pr, err);
    if (st) return st;
    if ((st = dc_check_buffer(filter_data, filter_count, pr.w_count, "filter", err))) return st;
    deconv_shape oshape;
    if (transposed)
        oshape = *output_shape;
    else if ((st = deconv_conv_output_shape(params, input, filter, &oshape, NULL, err)))
        return st;
    /* Normalise the dims past rank so the shapes we hand back are clean. */
    for (int32_t i = oshape.rank; i < DECONV_MAX_RANK; i++) oshape.dims[i] = 0;

    deconv_prepared_conv *pc = calloc(1, sizeof *pc);
    if (!pc) return dc_fail(err, DECONV_ERR_NO_MEMORY, "cannot allocate the prepared conv");
    pc->pr = pr;
    pc->in_shape = *input;
    for (int32_t i = pc->in_shape.rank; i < DECONV_MAX_RANK; i++) pc->in_shape.dims[i] = 0;
    pc->out_shape = oshape;
    const int finite = dc_weights_finite(filter_data, filter_count);
    /* channels-first: the twin's packing, as dc_select_conv_plan runs the stateless call */
    dc_conv_problem kpr = pr;
    size_t fits;
    pc->relayout = pr.layout == DECONV_CHANNELS_FIRST && dc_relayout_bytes(&pr, 0, &fits);
    if (pc->relayout) dc_channels_last_twin(&pr, &kpr);
    const int got = finite ? dc_fast_pack(&kpr, filter_data, &pc->fp) : 0;
    if (got < 0) {
        free(pc);
        return dc_fail(err, DECONV_ERR_NO_MEMORY, "cannot allocate the packed weights");
    }
    pc->packed = got;
    if (!got) {
        pc->relayout = 0; /* the raw copy runs dc_select_conv_plan's plan */
        pc->finite = finite;
        const size_t bytes = (size_t)filter_count * sizeof(float);
        pc->w = malloc(bytes > 0 ? bytes : 1);
        if (!pc->w) {
            free(pc);
            return dc_fail(err, DECONV_ERR_NO_MEMORY, "cannot allocate a copy of the weights");
        }
        if (bytes) memcpy(pc->w, filter_data, bytes);
    }
    *out = pc;
    return dc_ok(err);
}

deconv_status deconv_prepared_conv_create(const deconv_conv_params *params,
                                          const deconv_shape *input, const deconv_shape *filter,
                                          const float *filter_data, int64_t filter_count,
                                          deconv_prepared_conv **out, deconv_error *error) {
    return create(params, input, filter, filter_data, filter_count, NULL, 0, out, error);
}

deconv_status deconv_prepared_conv_transpose_create(const deconv_conv_params *params,
                                                    const deconv_shape *input,
                                                    const deconv_shape *filter,
                                                    const float *filter_data,
                                                    int64_t filter_count,
                                                    const deconv_shape *output_shape,
                                                    deconv_prepared_conv **out,
                                                    deconv_error *error) {
    return create(params, input, filter, filter_data, filter_count, output_shape, 1, out, error);
}

void deconv_prepared_conv_destroy(deconv_prepared_conv *pc) {
    if (!pc) return;
    if (pc->packed) dc_fast_packed_free(&pc->fp);
    free(pc->w);
    free(pc);
}

deconv_status deconv_prepared_conv_shapes(const deconv_prepared_conv *pc, deconv_shape *input,
                                          deconv_shape *output, deconv_error *error) {
    if (!pc) return dc_fail(error, DECONV_ERR_NULL_POINTER, "prepared is NULL");
    if (input) *input = pc->in_shape;
    if (output) *output = pc->out_shape;
    return dc_ok(error);
}

/* The kernel plan of a raw (unpacked) prepared conv: what conv_api.c's stateless run picks.
 * With a non-finite weight that is the reference, unless the plan checks the weights it
 * multiplies as it packs them (checks_weights): then the run finds out, as the stateless
 * call's does, and only a bad weight that some output uses sends it to the reference (a bad
 * weight on a tap no output uses leaves the fast kernel's bits). */
static void raw_plan(const deconv_prepared_conv *pc, const dc_conv_problem *pr,
                     int32_t num_threads, dc_conv_plan *plan) {
    dc_select_conv_plan(pr, num_threads, plan);
    if (!pc->finite && !plan->checks_weights) dc_ref_conv_any_plan(pr, plan);
}

/* The problem the packed kernels run: pr's channels-last twin when relayout. */
static dc_conv_problem kernel_problem(const deconv_prepared_conv *pc) {
    dc_conv_problem k = pc->pr;
    if (pc->relayout) dc_channels_last_twin(&pc->pr, &k);
    return k;
}

/* 0 when a relaid run's workspace does not fit size_t: a 32-bit build whose kernel workspace
 * is above 2 GiB besides the two moved copies (validated counts keep each below 1 GiB). */
static int workspace_bytes(const deconv_prepared_conv *pc, int32_t num_threads,
                           int64_t *units, dc_conv_plan *plan, size_t *bytes) {
    if (pc->packed) {
        const dc_conv_problem kpr = kernel_problem(pc);
        dc_fast_packed_plan(&pc->fp, &kpr, num_threads, units, bytes);
        return !pc->relayout || dc_relayout_bytes(&pc->pr, *bytes, bytes);
    }
    raw_plan(pc, &pc->pr, num_threads, plan);
    *units = plan->units;
    *bytes = plan->workspace_bytes;
    return 1;
}

deconv_status deconv_prepared_conv_workspace_size(const deconv_context *ctx,
                                                  const deconv_prepared_conv *pc, size_t *bytes,
                                                  deconv_error *error) {
    if (!pc) return dc_fail(error, DECONV_ERR_NULL_POINTER, "prepared is NULL");
    if (!bytes) return dc_fail(error, DECONV_ERR_NULL_POINTER, "bytes is NULL");
    int64_t units;
    dc_conv_plan plan;
    if (!workspace_bytes(pc, deconv_context_num_threads(ctx), &units, &plan, bytes))
        return dc_fail(error, DECONV_ERR_OVERFLOW, "the workspace size does not fit size_t");
    return dc_ok(error);
}

typedef struct packed_job {
    const deconv_prepared_conv *pc;
    dc_conv_args args;
} packed_job;

static void packed_range(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const packed_job *job = arg;
    dc_fast_run_packed(&job->pc->fp, &job->args, begin, end, thread);
}

/* The packed kernels on a channels-first problem's twin (dc_relayout_run's run). */
typedef struct twin_job {
    const deconv_prepared_conv *pc;
    int64_t units;
} twin_job;

static deconv_status packed_twin(deconv_context *ctx, dc_conv_args *twin, void *arg,
                                 deconv_error *err) {
    const twin_job *t = arg;
    packed_job job;
    job.pc = t->pc;
    job.args = *twin;
    return dc_parallel_for(ctx, t->units, packed_range, &job, err);
}

deconv_status deconv_prepared_conv_run(deconv_context *ctx, const deconv_prepared_conv *pc,
                                       const float *x, int64_t x_count, const float *bias,
                                       int64_t bias_count, float *y, int64_t y_count,
                                       deconv_error *err) {
    if (!pc) return dc_fail(err, DECONV_ERR_NULL_POINTER, "prepared is NULL");
    dc_conv_problem pr = pc->pr;
    deconv_status st;
    if ((st = dc_check_buffer(x, x_count, pr.x.count, "input", err))) return st;
    if (bias_count < 0 || (bias_count != 0 && bias_count != pr.y.c))
        return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                       "bias_count = %lld must be 0 (no bias) or the output channels %lld",
                       (long long)bias_count, (long long)pr.y.c);
    if (bias_count > 0 && !bias)
        return dc_fail(err, DECONV_ERR_NULL_POINTER, "bias is NULL but bias_count is %lld",
                       (long long)bias_count);
    if ((st = dc_check_buffer(y, y_count, pr.y.count, "output", err))) return st;
    const size_t yb = (size_t)y_count * sizeof(float);
    if ((st = dc_check_overlap(y, yb, x, (size_t)x_count * sizeof(float), "output", "input",
                               err)) ||
        (st = dc_check_overlap(y, yb, bias, (size_t)bias_count * sizeof(float), "output", "bias",
                               err)))
        return st;
    pr.has_bias = bias_count > 0;

    const int32_t threads = deconv_context_num_threads(ctx);
    dc_conv_plan plan;
    int64_t units;
    size_t ws_bytes;
    if (!workspace_bytes(pc, threads, &units, &plan, &ws_bytes))
        return dc_fail(err, DECONV_ERR_OVERFLOW, "the workspace size does not fit size_t");
    void *ws, *to_free;
    if ((st = dc_context_begin(ctx, ws_bytes, &ws, &to_free, err))) return st;
    packed_job job;
    job.pc = pc;
    job.args.p = &pr;
    job.args.x = x;
    job.args.w = pc->w; /* NULL when packed: the packed kernels never read it */
    job.args.bias = pr.has_bias ? bias : NULL;
    job.args.y = y;
    job.args.workspace = ws;
    job.args.workspace_size = ws_bytes;
    job.args.num_threads = threads;
    job.args.weights_bad = NULL;
    /* Weights were checked when prepared. A raw copy with a non-finite weight whose plan
     * checks what it packs runs as conv_api.c's stateless call does: the reference again
     * only if a weight it multiplies is bad. */
    if (!pc->packed) {
        st = dc_run_conv_plan(ctx, &plan, &job.args, !pc->finite, err);
    } else if (!pc->relayout) {
        st = dc_parallel_for(ctx, units, packed_range, &job, err);
    } else {
        twin_job t = {pc, units};
        st = dc_relayout_run(ctx, &job.args, packed_twin, &t, err);
    }
    dc_context_end(ctx, to_free);
    return st ? st : dc_ok(err);
}
