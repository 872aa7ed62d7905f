/* relayout.c - channels-first ops on the channels-last kernels. No fast conv kernel reads
 * channels-first data (their vectors run along the channels), and the reference was 40-70
 * times slower than the fast path on the same layer; the pooling kernels' channels-first
 * path is scalar. So a channels-first conv that the fast path claims in channels-last runs
 * as that twin: its input transposed into the workspace, the twin's kernel, its output
 * transposed back (pools and unpools use these moves too, or move rows; see pool_api.c). The transposes only move values, so the result has
 * exactly the twin's bits, and they do not depend on the thread count. */
#include "internal.h"
#include "fast/fast.h"

#include <stdint.h>

/* Spatial positions per transpose unit (fast/transpose.c moves square blocks of them). */
#define RELAYOUT_UNIT 256
/* Outputs moved back to channels-first from this size on are streamed past the caches (4
 * times a core's L2: they would not stay there; see fast/transpose.c). */
#define RELAYOUT_STREAM_BYTES ((int64_t)4 << 20)

void dc_layout_to_last(dc_layout3 *l) {
    l->stride_c = 1;
    l->stride_sp[2] = l->c;
    l->stride_sp[1] = l->sp[2] * l->c;
    l->stride_sp[0] = l->sp[1] * l->sp[2] * l->c;
    l->stride_n = l->sp[0] * l->sp[1] * l->sp[2] * l->c;
}

void dc_channels_last_twin(const dc_conv_problem *p, dc_conv_problem *twin) {
    *twin = *p;
    twin->layout = DECONV_CHANNELS_LAST;
    dc_layout_to_last(&twin->x);
    dc_layout_to_last(&twin->y);
}

int dc_layout_same_bytes(const dc_layout3 *l) {
    return l->c == 1 || l->sp[0] * l->sp[1] * l->sp[2] == 1;
}

uint64_t dc_relayout_room(const dc_layout3 *l, int wide) {
    if (dc_layout_same_bytes(l)) return 0;
    return ((uint64_t)l->count * (wide ? 8 : 4) + 63) & ~(uint64_t)63;
}

/* Floats of workspace for a float tensor of layout l in channels-last. */
static uint64_t room(const dc_layout3 *l) { return dc_relayout_room(l, 0) / 4; }

int dc_relayout_bytes(const dc_conv_problem *p, size_t inner, size_t *total) {
    /* x and y below 2^61 floats each (validated counts), so the sum cannot wrap uint64 */
    const uint64_t bytes = 64 + 4 * (room(&p->x) + room(&p->y));
    if (bytes > (uint64_t)(SIZE_MAX - inner)) return 0;
    *total = (size_t)bytes + inner;
    return 1;
}

/* dst[s * c + ch] = src[ch * sp + s] (to_last) or the reverse, a unit per image and block of
 * RELAYOUT_UNIT spatial positions; elements of 4 bytes (floats) or 8 (argmax indices). */
typedef struct relayout_job {
    const void *src;
    void *dst;
    int64_t c, sp, blocks; /* blocks: units per image */
    int to_last, wide, stream;
    dc_transpose_fn t;
    dc_transpose64_fn t64; /* wide */
} relayout_job;

static void relayout_range(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const relayout_job *j = arg;
    const int64_t c = j->c, sp = j->sp, img = c * sp;
    (void)thread;
    for (int64_t u = begin; u < end; u++) {
        const int64_t n = u / j->blocks, s0 = u % j->blocks * RELAYOUT_UNIT;
        const int64_t ns = sp - s0 < RELAYOUT_UNIT ? sp - s0 : RELAYOUT_UNIT;
        /* [c][ns] rows of sp -> [ns][c] (to_last), or [ns][c] -> [c][ns] rows of sp */
        const int64_t so = j->to_last ? s0 : s0 * c, dof = j->to_last ? s0 * c : s0;
        const int64_t sld = j->to_last ? sp : c, dld = j->to_last ? c : sp;
        const int64_t rows = j->to_last ? c : ns, cols = j->to_last ? ns : c;
        if (j->wide)
            j->t64((const int64_t *)j->src + n * img + so, sld,
                   (int64_t *)j->dst + n * img + dof, dld, rows, cols);
        else
            j->t((const float *)j->src + n * img + so, sld, (float *)j->dst + n * img + dof, dld,
                 rows, cols, j->stream);
    }
}

deconv_status dc_relayout(deconv_context *ctx, const dc_layout3 *l, const void *src, void *dst,
                          int wide, int to_last, deconv_error *err) {
    if (src == dst || l->count == 0) return DECONV_OK; /* the same bytes: nothing to move */
    relayout_job j;
    j.src = src;
    j.dst = dst;
    j.c = l->c;
    j.sp = l->sp[0] * l->sp[1] * l->sp[2];
    j.blocks = (j.sp + RELAYOUT_UNIT - 1) / RELAYOUT_UNIT;
    j.to_last = to_last;
    j.wide = wide;
    /* only back to the caller's channels-first buffer: the twin reads its input right away */
    j.stream = !to_last && !wide && l->count * 4 >= RELAYOUT_STREAM_BYTES;
    j.t = dc_fast_transpose();
    j.t64 = dc_fast_transpose64();
    return dc_parallel_for(ctx, l->n * j.blocks, relayout_range, &j, err);
}

deconv_status dc_relayout_run(deconv_context *ctx, const dc_conv_args *a, dc_twin_fn run,
                              void *arg, deconv_error *err) {
    dc_conv_problem twin;
    dc_channels_last_twin(a->p, &twin);
    dc_conv_args t = *a;
    t.p = &twin;
    /* the twin's input and output: the caller's where the layouts are the same bytes, else
     * in the workspace, followed by the kernel's own room */
    float *base = (float *)(((uintptr_t)a->workspace + 63) & ~(uintptr_t)63);
    float *xt = dc_layout_same_bytes(&a->p->x) ? (float *)(uintptr_t)a->x : base;
    float *yt = dc_layout_same_bytes(&a->p->y) ? a->y : base + room(&a->p->x);
    t.x = xt;
    t.y = yt;
    t.workspace = base + room(&a->p->x) + room(&a->p->y);
    t.workspace_size = a->workspace_size - (size_t)((char *)t.workspace - (char *)a->workspace);
    deconv_status st = dc_relayout(ctx, &a->p->x, a->x, xt, 0, 1, err);
    if (!st) st = run(ctx, &t, arg, err);
    if (!st) st = dc_relayout(ctx, &a->p->y, yt, a->y, 0, 0, err);
    return st;
}
