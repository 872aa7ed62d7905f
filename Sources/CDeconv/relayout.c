/* relayout.c - channels-first convs on the channels-last kernels. No fast kernel reads
 * channels-first data (their vectors run along the channels), and the reference was 40-70
 * times slower than the fast path on the same layer. So a channels-first conv that the fast
 * path claims in channels-last runs as that twin: its input transposed into the workspace,
 * the twin's kernel, its output transposed back. The transposes only move values, so the
 * result has exactly the twin's bits, and like every plan it does not depend on the thread
 * count. */
#include "internal.h"

#include <stdint.h>

/* Spatial positions per transpose unit, and the square block moved at a time (it keeps a
 * block's source and destination lines in L1). */
#define RELAYOUT_UNIT 256
#define RELAYOUT_BLOCK 16

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

/* Floats of one relaid tensor, rounded up to 64 bytes. */
static uint64_t padded(int64_t count) { return ((uint64_t)count + 15) & ~(uint64_t)15; }

int dc_relayout_bytes(const dc_conv_problem *p, size_t inner, size_t *total) {
    /* x and y below 2^61 floats each (validated counts), so the sum cannot wrap uint64 */
    const uint64_t bytes = 64 + 4 * (padded(p->x.count) + padded(p->y.count));
    if (bytes > (uint64_t)(SIZE_MAX - inner)) return 0;
    *total = (size_t)bytes + inner;
    return 1;
}

void dc_relayout_split(const dc_conv_problem *p, void *workspace, float **xt, float **yt,
                       void **inner) {
    float *base = (float *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
    *xt = base;
    *yt = base + padded(p->x.count);
    *inner = *yt + padded(p->y.count);
}

/* dst[s * c + ch] = src[ch * sp + s] (to_last) or the reverse, for one image's spatial
 * positions [s0, s1). */
typedef struct relayout_job {
    const float *src;
    float *dst;
    int64_t c, sp, blocks; /* blocks: units per image */
    int to_last;
} relayout_job;

static void relayout_range(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const relayout_job *j = arg;
    const int64_t c = j->c, sp = j->sp, img = c * sp;
    (void)thread;
    for (int64_t u = begin; u < end; u++) {
        const int64_t n = u / j->blocks, s0 = u % j->blocks * RELAYOUT_UNIT;
        const int64_t s1 = sp - s0 < RELAYOUT_UNIT ? sp : s0 + RELAYOUT_UNIT;
        const float *src = j->src + n * img;
        float *dst = j->dst + n * img;
        for (int64_t cb = 0; cb < c; cb += RELAYOUT_BLOCK) {
            const int64_t ce = c - cb < RELAYOUT_BLOCK ? c : cb + RELAYOUT_BLOCK;
            for (int64_t sb = s0; sb < s1; sb += RELAYOUT_BLOCK) {
                const int64_t se = s1 - sb < RELAYOUT_BLOCK ? s1 : sb + RELAYOUT_BLOCK;
                if (j->to_last) {
                    for (int64_t s = sb; s < se; s++)
                        for (int64_t ch = cb; ch < ce; ch++) dst[s * c + ch] = src[ch * sp + s];
                } else {
                    for (int64_t ch = cb; ch < ce; ch++)
                        for (int64_t s = sb; s < se; s++) dst[ch * sp + s] = src[s * c + ch];
                }
            }
        }
    }
}

static deconv_status relayout(deconv_context *ctx, const dc_layout3 *l, const float *src,
                              float *dst, int to_last, deconv_error *err) {
    relayout_job j;
    j.src = src;
    j.dst = dst;
    j.c = l->c;
    j.sp = l->sp[0] * l->sp[1] * l->sp[2];
    j.blocks = (j.sp + RELAYOUT_UNIT - 1) / RELAYOUT_UNIT;
    j.to_last = to_last;
    if (l->count == 0) return DECONV_OK;
    return dc_parallel_for(ctx, l->n * j.blocks, relayout_range, &j, err);
}

deconv_status dc_relayout_in(deconv_context *ctx, const dc_conv_problem *p, const float *x,
                             float *xt, deconv_error *err) {
    return relayout(ctx, &p->x, x, xt, 1, err);
}

deconv_status dc_relayout_out(deconv_context *ctx, const dc_conv_problem *p, const float *yt,
                              float *y, deconv_error *err) {
    return relayout(ctx, &p->y, yt, y, 0, err);
}
