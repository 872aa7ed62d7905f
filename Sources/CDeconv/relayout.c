/* relayout.c - channels-first convs on the channels-last kernels. No fast kernel reads
 * channels-first data (their vectors run along the channels), and the reference was 40-70
 * times slower than the fast path on the same layer. So a channels-first conv that the fast
 * path claims in channels-last runs as that twin: its input transposed into the workspace,
 * the twin's kernel, its output transposed back. The transposes only move values, so the
 * result has exactly the twin's bits, and like every plan it does not depend on the thread
 * count. */
#include "internal.h"
#include "fast/fast.h"

#include <stdint.h>

/* Spatial positions per transpose unit (fast/transpose.c moves square blocks of them). */
#define RELAYOUT_UNIT 256

void dc_channels_last_twin(const dc_conv_problem *p, dc_conv_problem *twin) {
    *twin = *p;
    twin->layout = DECONV_CHANNELS_LAST;
    dc_layout3 *ls[2] = {&twin->x, &twin->y};
    for (int i = 0; i < 2; i++) {
        dc_layout3 *l = ls[i];
        l->stride_c = 1;
        l->stride_sp[2] = l->c;
        l->stride_sp[1] = l->sp[2] * l->c;
        l->stride_sp[0] = l->sp[1] * l->sp[2] * l->c;
        l->stride_n = l->sp[0] * l->sp[1] * l->sp[2] * l->c;
    }
}

/* 1 when l's channels-first and channels-last layouts are the same bytes (one channel, or
 * one spatial position): the twin then reads or writes the caller's buffer itself. */
static int same_bytes(const dc_layout3 *l) {
    return l->c == 1 || l->sp[0] * l->sp[1] * l->sp[2] == 1;
}

/* Floats of workspace for l in channels-last, rounded up to 64 bytes. */
static uint64_t room(const dc_layout3 *l) {
    return same_bytes(l) ? 0 : ((uint64_t)l->count + 15) & ~(uint64_t)15;
}

int dc_relayout_bytes(const dc_conv_problem *p, size_t inner, size_t *total) {
    /* x and y below 2^61 floats each (validated counts), so the sum cannot wrap uint64 */
    const uint64_t bytes = 64 + 4 * (room(&p->x) + room(&p->y));
    if (bytes > (uint64_t)(SIZE_MAX - inner)) return 0;
    *total = (size_t)bytes + inner;
    return 1;
}

void dc_relayout_split(const dc_conv_problem *p, void *workspace, const float *x, float *y,
                       const float **xt, float **yt, void **inner) {
    float *base = (float *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
    *xt = same_bytes(&p->x) ? x : base;
    *yt = same_bytes(&p->y) ? y : base + room(&p->x);
    *inner = base + room(&p->x) + room(&p->y);
}

/* dst[s * c + ch] = src[ch * sp + s] (to_last) or the reverse, a unit per image and block of
 * RELAYOUT_UNIT spatial positions. */
typedef struct relayout_job {
    const float *src;
    float *dst;
    int64_t c, sp, blocks; /* blocks: units per image */
    int to_last;
    dc_transpose_fn t;
} relayout_job;

static void relayout_range(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const relayout_job *j = arg;
    const int64_t c = j->c, sp = j->sp, img = c * sp;
    (void)thread;
    for (int64_t u = begin; u < end; u++) {
        const int64_t n = u / j->blocks, s0 = u % j->blocks * RELAYOUT_UNIT;
        const int64_t ns = sp - s0 < RELAYOUT_UNIT ? sp - s0 : RELAYOUT_UNIT;
        const float *src = j->src + n * img;
        float *dst = j->dst + n * img;
        if (j->to_last) /* [c][ns] rows of sp -> [ns][c] */
            j->t(src + s0, sp, dst + s0 * c, c, c, ns);
        else /* [ns][c] -> [c][ns] rows of sp */
            j->t(src + s0 * c, c, dst + s0, sp, ns, c);
    }
}

static deconv_status relayout(deconv_context *ctx, const dc_layout3 *l, const float *src,
                              float *dst, int to_last, deconv_error *err) {
    if (src == dst) return DECONV_OK; /* same_bytes: nothing to move */
    relayout_job j;
    j.src = src;
    j.dst = dst;
    j.c = l->c;
    j.sp = l->sp[0] * l->sp[1] * l->sp[2];
    j.blocks = (j.sp + RELAYOUT_UNIT - 1) / RELAYOUT_UNIT;
    j.to_last = to_last;
    j.t = dc_fast_transpose();
    if (l->count == 0) return DECONV_OK;
    return dc_parallel_for(ctx, l->n * j.blocks, relayout_range, &j, err);
}

deconv_status dc_relayout_in(deconv_context *ctx, const dc_conv_problem *p, const float *x,
                             const float *xt, deconv_error *err) {
    /* xt is x itself, or dc_relayout_split's room in the workspace, ours to write */
    return relayout(ctx, &p->x, x, (float *)(uintptr_t)xt, 1, err);
}

deconv_status dc_relayout_out(deconv_context *ctx, const dc_conv_problem *p, const float *yt,
                              float *y, deconv_error *err) {
    return relayout(ctx, &p->y, yt, y, 0, err);
}
