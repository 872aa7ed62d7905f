/* fast/pool_first_avx512.c - channels-first max pooling (and with argmax) at the AVX-512
 * level, one output row of one (image, channel) plane at a time, 16 output positions per
 * vector.
 *
 * Why: the channels-last kernels vectorise over channels, so a channels-first op runs as
 * its twin, with its input and outputs transposed through per-thread buffers (pool_api.c),
 * and the transposes took most of its time (maxpool_argmax 6.2-6.6 ms against 1.8-2.0
 * channels-last). Here the lanes are output positions along the row, so the plane is read
 * in place and the row's outputs and indices are stored in place: 3.1-3.4 ms.
 *
 * Each lane walks its window's cells in the reference's order (rows i0, i1, then columns)
 * and ends with the reference's maximum: the first valid cell starts it; after it a NaN
 * beats a number, a larger number beats a smaller one, and a tie or a later NaN keeps the
 * first. Blocks whose every lane's columns lie inside the row (s2 of 1 or 2) take the fast
 * step: plain loads (for s2 = 2, two vectors and their even values), an ordered
 * greater-than and two masked moves, 4 blocks interleaved. That step is exact unless a
 * value is a NaN or an inf (v * 0 notes both), and such a block, like the blocks at a row's
 * edges or with another stride (gathers), is walked again with the exact rule, every lane
 * masked to its valid cells. Max and argmax do no arithmetic on the values, so the result
 * is the reference's bit for bit. Compiled with a target attribute; only called when cpu.c
 * reports AVX-512F. */
#include "fast/pool_fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <math.h>

#define TGT __attribute__((target("avx512f")))

/* &row[i] for a masked load: i may lie outside the row (masked-off lanes are not read), so
 * the address is formed without pointer arithmetic past the array. */
static inline const float *col(const float *row, int64_t i) {
    return (const float *)((uintptr_t)row + (uintptr_t)(i * 4));
}

/* row[i2] for the lanes in `valid`, i2 = first + lane * s2 (0 elsewhere). */
static inline TGT __m512 load_cols(const float *row, int64_t first, int64_t s2, __m512i i2,
                                   __mmask16 valid, int64_t w) {
    if (s2 == 1) /* masked-off lanes are not read, so the address may run past the row */
        return _mm512_maskz_loadu_ps(valid, col(row, first));
    if (s2 == 2) { /* the 32 values from `first`, their even ones */
        const __m512i q = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                            15);
        const __m512i at = _mm512_add_epi32(_mm512_set1_epi32((int32_t)first), q);
        const __m512i at_hi = _mm512_add_epi32(at, _mm512_set1_epi32(16));
        const __m512i zero = _mm512_setzero_si512(), wv = _mm512_set1_epi32((int32_t)w);
        const __mmask16 in_lo =
            _mm512_cmpge_epi32_mask(at, zero) & _mm512_cmplt_epi32_mask(at, wv);
        const __mmask16 in_hi =
            _mm512_cmpge_epi32_mask(at_hi, zero) & _mm512_cmplt_epi32_mask(at_hi, wv);
        const __m512 lo = _mm512_maskz_loadu_ps(in_lo, col(row, first));
        const __m512 hi = _mm512_maskz_loadu_ps(in_hi, col(row, first + 16));
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                               26, 28, 30);
        return _mm512_maskz_mov_ps(valid, _mm512_permutex2var_ps(lo, even, hi));
    }
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, i2, row, 4);
}

/* Blocks of 16 output positions walked together: each block's maximum is a chain of
 * compare and masked move per cell, so independent blocks keep the core busy. */
#define BLOCKS 4

/* One block's whole window walk with the reference's rule, every lane masked by its own
 * valid columns: blocks at a row's edges, and blocks whose values hold a NaN or an inf. */
static inline TGT void walk_exact(const dc_pool_first_row *r, int64_t first0, __m512i i2_0,
                                  __mmask16 act, __m512 *best, __m512i *bpos) {
    const __m512i zero = _mm512_setzero_si512(), wv = _mm512_set1_epi32((int32_t)r->w);
    /* the window columns some active lane has inside the row: lane 0 starts at first0, the
     * last active lane (of n) at first0 + (n - 1) * s2 */
    int n = 0;
    while (n < 16 && ((act >> n) & 1)) n++;
    int64_t dx_lo = -(first0 + (n - 1) * r->s2), dx_hi = r->w - first0;
    if (dx_lo < 0) dx_lo = 0;
    if (dx_hi > r->k2) dx_hi = r->k2;
    for (int64_t i0 = r->a0; i0 < r->e0; i0++)
        for (int64_t i1 = r->a1; i1 < r->e1; i1++) {
            const int64_t rowpos = (i0 * r->sp1 + i1) * r->w;
            const float *row = r->x + rowpos;
            const __m512i vrow = _mm512_set1_epi32((int32_t)rowpos);
            for (int64_t dx = dx_lo; dx < dx_hi; dx++) {
                const __m512i i2 = _mm512_add_epi32(i2_0, _mm512_set1_epi32((int32_t)dx));
                const __mmask16 valid = _mm512_mask_cmplt_epi32_mask(
                    _mm512_mask_cmpge_epi32_mask(act, i2, zero), i2, wv);
                if (!valid) continue;
                const __m512 v = load_cols(row, first0 + dx, r->s2, i2, valid, r->w);
                /* a NaN over a number, or a larger number; ties keep the first */
                const __mmask16 num = _mm512_mask_cmp_ps_mask(valid, *best, *best, _CMP_ORD_Q);
                const __mmask16 take =
                    _kor_mask16(_mm512_mask_cmp_ps_mask(num, v, v, _CMP_UNORD_Q),
                                _mm512_mask_cmp_ps_mask(valid, v, *best, _CMP_GT_OQ));
                *best = _mm512_mask_mov_ps(*best, take, v);
                *bpos = _mm512_mask_mov_epi32(*bpos, take, _mm512_add_epi32(vrow, i2));
            }
        }
}

TGT void dc_pool_first_row_avx512(const dc_pool_first_row *r) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i step = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int32_t)r->s2));
    const __m512 zf = _mm512_setzero_ps();
    const int64_t first_row = (r->a0 * r->sp1 + r->a1) * r->w;
    /* a block whose every lane reads whole columns inside the row: plain loads (s2 = 1: one
     * vector, s2 = 2: two and their even values), no masks */
    const int64_t span = r->s2 == 1 ? 16 : r->s2 == 2 ? 32 : -1;
    for (int64_t o = 0; o < r->y2; o += 16 * BLOCKS) {
        __m512 best[BLOCKS], nan[BLOCKS];
        __m512i bpos[BLOCKS], i2_0[BLOCKS];
        __mmask16 act[BLOCKS];
        int64_t first0[BLOCKS];
        int inner[BLOCKS];
#pragma GCC unroll 4
        for (int b = 0; b < BLOCKS; b++) {
            const int64_t ob = o + 16 * b, n = r->y2 - ob;
            act[b] = (__mmask16)(n >= 16 ? 0xffff : n > 0 ? (1u << n) - 1 : 0);
            first0[b] = ob * r->s2 - r->pb2; /* the block's lane 0's first column */
            inner[b] = n >= 16 && span > 0 && first0[b] >= 0 &&
                       first0[b] + span + r->k2 - 1 <= r->w;
            i2_0[b] = _mm512_add_epi32(_mm512_set1_epi32((int32_t)first0[b]), step);
            /* the first valid cell starts each lane's maximum: its value is compared with
             * -inf (which only a NaN or a larger number replaces), its position set here */
            best[b] = _mm512_set1_ps(-INFINITY);
            bpos[b] = _mm512_add_epi32(_mm512_set1_epi32((int32_t)first_row),
                                       _mm512_max_epi32(i2_0[b], zero));
            nan[b] = zf;
        }
        /* Inner blocks, interleaved: take a larger value (ordered compare: ties keep the
         * first), and note NaN and inf in nan[] (v * 0 is NaN for both); such a block is
         * walked again exactly below. (An inner block's window lies inside the row, so
         * k2 < w here.) */
        int any_inner = 0;
        for (int b = 0; b < BLOCKS; b++) any_inner |= inner[b];
        for (int64_t i0 = r->a0; any_inner && i0 < r->e0; i0++)
            for (int64_t i1 = r->a1; i1 < r->e1; i1++) {
                const int64_t rowpos = (i0 * r->sp1 + i1) * r->w;
                const float *row = r->x + rowpos;
                const __m512i vrow = _mm512_set1_epi32((int32_t)rowpos);
                for (int64_t dx = 0; dx < r->k2; dx++) {
                    const __m512i vdx = _mm512_add_epi32(vrow, _mm512_set1_epi32((int32_t)dx));
#pragma GCC unroll 4
                    for (int b = 0; b < BLOCKS; b++) {
                        if (!inner[b]) continue;
                        const float *q = row + first0[b] + dx;
                        const __m512 v =
                            r->s2 == 1 ? _mm512_loadu_ps(q)
                                       : _mm512_permutex2var_ps(_mm512_loadu_ps(q), even,
                                                                _mm512_loadu_ps(q + 16));
                        const __mmask16 take = _mm512_cmp_ps_mask(v, best[b], _CMP_GT_OQ);
                        best[b] = _mm512_mask_mov_ps(best[b], take, v);
                        bpos[b] = _mm512_mask_mov_epi32(bpos[b], take,
                                                        _mm512_add_epi32(vdx, i2_0[b]));
                        nan[b] = _mm512_fmadd_ps(v, zf, nan[b]);
                    }
                }
            }
#pragma GCC unroll 4
        for (int b = 0; b < BLOCKS; b++) {
            if (!act[b]) break;
            if (!inner[b] || _mm512_cmp_ps_mask(nan[b], nan[b], _CMP_UNORD_Q)) {
                best[b] = _mm512_set1_ps(-INFINITY);
                bpos[b] = _mm512_add_epi32(_mm512_set1_epi32((int32_t)first_row),
                                           _mm512_max_epi32(i2_0[b], zero));
                walk_exact(r, first0[b], i2_0[b], act[b], &best[b], &bpos[b]);
            }
            const int64_t ob = o + 16 * b;
            _mm512_mask_storeu_ps(r->y + ob, act[b], best[b]);
            if (r->argmax) { /* (ibase + pos) * c + channel in 64-bit lanes */
                const __m512i ib = _mm512_set1_epi64(r->ibase), vc = _mm512_set1_epi64(r->c);
                const __m512i ch = _mm512_set1_epi64(r->channel);
                const __m512i p0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(bpos[b]));
                const __m512i p1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(bpos[b], 1));
                _mm512_mask_storeu_epi64(r->argmax + ob, (__mmask8)act[b],
                    _mm512_add_epi64(_mm512_mul_epu32(_mm512_add_epi64(ib, p0), vc), ch));
                _mm512_mask_storeu_epi64(r->argmax + ob + 8, (__mmask8)(act[b] >> 8),
                    _mm512_add_epi64(_mm512_mul_epu32(_mm512_add_epi64(ib, p1), vc), ch));
            }
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int dc_pool_first_avx512_unused;
#endif
