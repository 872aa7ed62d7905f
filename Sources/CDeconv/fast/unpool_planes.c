/* fast/unpool_planes.c - channels-first max_unpool, one (image, channel) plane at a time.
 *
 * TF's indices are channels-last positions, so in channels-first each output cell is found by
 * a shift (C a power of two). When the prescan (pool_fast.c) has seen every index inside its
 * own image and its own channel, a plane receives only its own pooled values, in the
 * reference's order: the reference walks (image, channel, pooled position), which is this
 * layout's memory order. So a plane is summed in a zeroed scratch that stays in L2 and then
 * streamed out, and its bits are the reference's for any thread count (one thread per
 * plane). The channels-last twin (pool_api.c) would move the indices, the values and the
 * output between layouts, three times the memory traffic. */
#include "fast/pool_fast.h"
#include "fast/fast.h"

#include <string.h>

/* A plane's scratch stays well inside a core's L2; larger planes are summed in place. */
#define PLANE_MAX_FLOATS ((int64_t)1 << 16)
/* Outputs from this size on are streamed (they would not stay in cache). */
#define PLANE_STREAM_BYTES ((int64_t)8 << 20)

int dc_pool_unpool_planes_setup(const dc_pool_problem *p, size_t *ws_bytes, dc_pool_fast *f) {
    const int64_t c = p->x.c;
    if (!f->index || (c & (c - 1)) != 0) return 0;
    const int64_t plane = p->x.sp[0] * p->x.sp[1] * p->x.sp[2];
    f->planes = 1;
    f->units = p->x.n * c;
    f->ring_cap = plane <= PLANE_MAX_FLOATS ? plane : 0;
    f->ws_floats = (f->ring_cap + 15) / 16 * 16;
    *ws_bytes = (size_t)f->ws_floats * sizeof(float);
#if defined(__x86_64__) || defined(__i386__)
    f->stream = f->isa == DC_ISA_AVX2 && f->ring_cap > 0 && p->x.count * 4 >= PLANE_STREAM_BYTES;
#endif
    return 1;
}

static int64_t planes_run; /* planes summed, for the tests (dc_pool_planes_count) */

int64_t dc_pool_planes_count(int reset) {
    return reset ? __atomic_exchange_n(&planes_run, 0, __ATOMIC_RELAXED)
                 : __atomic_load_n(&planes_run, __ATOMIC_RELAXED);
}

void dc_pool_unpool_planes_run(const dc_pool_fast *f, int64_t begin, int64_t end,
                               int32_t thread) {
    const dc_pool_problem *p = f->p;
    const int64_t c = p->x.c, image = p->x.stride_n;
    const int64_t plane = p->x.sp[0] * p->x.sp[1] * p->x.sp[2];
    const int64_t pooled = p->y.sp[0] * p->y.sp[1] * p->y.sp[2];
    int shift = 0;
    while (((int64_t)1 << shift) < c) shift++;
    float *scratch = f->ring_cap > 0 ? f->ws + (int64_t)thread * f->ws_floats : NULL;
    if (scratch) memset(scratch, 0, (size_t)plane * sizeof *scratch);
    for (int64_t u = begin; u < end; u++) {
        float *out = f->out + u * plane;
        float *dst = scratch ? scratch : out;
        if (!scratch) memset(out, 0, (size_t)plane * sizeof *out);
        const int64_t *idx = f->index + u * pooled;
        const float *v = f->pooled + u * pooled;
        /* the prescan put every index - base in [0, image) with its channel's low bits */
        const uint64_t base = p->include_batch_in_index ? (uint64_t)(u / c * image) : 0;
        for (int64_t j = 0; j < pooled; j++) {
            /* the prescan's pass has left the indices in memory, not cache: ask 2 KiB ahead */
            if ((j & 7) == 0) __builtin_prefetch((const void *)((uintptr_t)(idx + j) + 2048));
            dst[((uint64_t)idx[j] - base) >> shift] += v[j];
        }
        if (!scratch) continue;
#if defined(__x86_64__) || defined(__i386__)
        if (f->stream) {
            dc_pool_flush_avx2(out, scratch, plane); /* also zeroes the scratch */
            continue;
        }
#endif
        dc_pool_flush_portable(out, scratch, plane);
    }
#if defined(__x86_64__) || defined(__i386__)
    if (f->stream) dc_pool_sfence_avx2();
#endif
    __atomic_fetch_add(&planes_run, end - begin, __ATOMIC_RELAXED);
}
