/* dispatch.c - picks the kernel that runs a validated problem. Fast paths claim the problems
 * they handle here; everything else runs the reference. Validation is already done, so a
 * kernel may rely on every invariant of dc_conv_problem. */
#include "internal.h"

void dc_select_conv_plan(const dc_conv_problem *p, int32_t num_threads, dc_conv_plan *plan) {
    (void)num_threads;
    if (p->transposed)
        dc_ref_conv_transpose_plan(p, plan);
    else
        dc_ref_conv_plan(p, plan);
}
