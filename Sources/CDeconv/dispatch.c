/* dispatch.c - picks the kernel that runs a validated problem. Fast paths (fast/) claim the
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
