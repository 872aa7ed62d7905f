/* dispatch.c - picks the kernel that runs a validated problem, and runs it. Fast paths (fast/) claim the
 * problems they handle; everything else runs the reference. Validation is already done, so a
 * kernel may rely on every invariant of dc_conv_problem. The choice never depends on the
 * thread count, so neither does any result. */
#include "internal.h"
#include "fast/fast.h"

void dc_ref_conv_any_plan(const dc_conv_problem *p, dc_conv_plan *plan) {
    if (p->transposed)
        dc_ref_conv_transpose_plan(p, plan);
    else
        dc_ref_conv_plan(p, plan);
}

void dc_select_conv_plan(const dc_conv_problem *p, int32_t num_threads, dc_conv_plan *plan) {
    if (!dc_fast_conv_plan(p, num_threads, plan)) dc_ref_conv_any_plan(p, plan);
}

typedef struct plan_job {
    const dc_conv_plan *plan;
    const dc_conv_args *args;
} plan_job;

static void plan_range(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const plan_job *job = arg;
    job->plan->run(job->args, begin, end, thread);
}

deconv_status dc_run_conv_plan(deconv_context *ctx, dc_conv_plan *plan, dc_conv_args *args,
                               int check_weights, deconv_error *err) {
    int bad = 0;
    args->weights_bad = check_weights && plan->checks_weights ? &bad : NULL;
    plan_job job = {plan, args};
    deconv_status st = dc_parallel_for(ctx, plan->units, plan_range, &job, err);
    if (!st && bad) { /* the reference writes every output and needs no workspace */
        dc_ref_conv_any_plan(args->p, plan);
        args->weights_bad = NULL;
        st = dc_parallel_for(ctx, plan->units, plan_range, &job, err);
    }
    args->weights_bad = NULL;
    return st;
}
