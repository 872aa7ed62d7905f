/* dispatch.c - picks the kernel that runs a validated problem, and runs it. Fast paths
 * (fast/) claim the channels-last problems they handle, and channels-first ones run as their
 * channels-last twins (relayout.c); everything else runs the reference. Validation is
 * already done, so a kernel may rely on every invariant of dc_conv_problem. The choice never
 * depends on the thread count, so neither does any result. */
#include "internal.h"
#include "fast/fast.h"

void dc_ref_conv_any_plan(const dc_conv_problem *p, dc_conv_plan *plan) {
    if (p->transposed)
        dc_ref_conv_transpose_plan(p, plan);
    else
        dc_ref_conv_plan(p, plan);
}

void dc_select_conv_plan(const dc_conv_problem *p, int32_t num_threads, dc_conv_plan *plan) {
    if (dc_fast_conv_plan(p, num_threads, plan)) return;
    if (p->layout == DECONV_CHANNELS_FIRST) {
        dc_conv_problem twin;
        size_t total;
        dc_channels_last_twin(p, &twin);
        if (dc_fast_conv_plan(&twin, num_threads, plan) &&
            dc_relayout_bytes(p, plan->workspace_bytes, &total)) {
            plan->workspace_bytes = total;
            plan->relayout = 1;
            return;
        }
    }
    dc_ref_conv_any_plan(p, plan);
}

typedef struct plan_job {
    const dc_conv_plan *plan;
    const dc_conv_args *args;
} plan_job;

static void plan_range(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const plan_job *job = arg;
    job->plan->run(job->args, begin, end, thread);
}

/* The plan's kernel over its units, and the reference's if it finds a bad weight. */
static deconv_status run_checked(deconv_context *ctx, dc_conv_plan *plan, dc_conv_args *args,
                                 int check_weights, deconv_error *err) {
    int bad = 0;
    args->weights_bad = check_weights && plan->checks_weights ? &bad : NULL;
    plan_job job = {plan, args};
    deconv_status st = dc_parallel_for(ctx, plan->units, plan_range, &job, err);
    args->weights_bad = NULL;
    if (!st && bad) { /* the reference writes every output and needs no workspace */
        dc_ref_conv_any_plan(args->p, plan);
        st = dc_parallel_for(ctx, plan->units, plan_range, &job, err);
    }
    return st;
}

typedef struct checked_job {
    dc_conv_plan *plan;
    int check_weights;
} checked_job;

static deconv_status run_twin(deconv_context *ctx, dc_conv_args *twin, void *arg,
                              deconv_error *err) {
    checked_job *j = arg;
    return run_checked(ctx, j->plan, twin, j->check_weights, err);
}

deconv_status dc_run_conv_plan(deconv_context *ctx, dc_conv_plan *plan, dc_conv_args *args,
                               int check_weights, deconv_error *err) {
    if (!plan->relayout) return run_checked(ctx, plan, args, check_weights, err);
    /* a bad weight sends the twin to the reference, which sums in the same order in either
     * layout */
    checked_job j = {plan, check_weights};
    return dc_relayout_run(ctx, args, run_twin, &j, err);
}
