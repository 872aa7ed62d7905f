/* fast/pool_avx2.c - AVX2 pixel kernels of the fast pooling path: 8 channels per vector, the
 * window walked cell by cell in the reference's order. The max step is one ordered compare
 * sequence that reproduces the reference exactly: take v when !(v <= best) (v greater, or v a
 * NaN) and best is not a NaN, so a NaN beats every number, the first NaN stays and ties keep
 * the first maximum. Compiled with a target attribute; only called when the CPU has AVX2. */
#include "fast/pool_fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/* Lanes [0, rem) on (rem < 8), as a maskload/maskstore mask. */
AVX2 static __m256i tail_mask(int64_t rem) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)rem), lane);
}

AVX2 static __m256 load(const float *p, int full, __m256i m) {
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

AVX2 static void store(float *p, __m256 v, int full, int stream, __m256i m) {
    if (stream) {
        _mm_stream_ps(p, _mm256_castps256_ps128(v));
        _mm_stream_ps(p + 4, _mm256_extractf128_ps(v, 1));
    } else if (full) {
        _mm256_storeu_ps(p, v);
    } else {
        _mm256_maskstore_ps(p, m, v);
    }
}

AVX2 static __m256 take_mask(__m256 v, __m256 best) {
    return _mm256_and_ps(_mm256_cmp_ps(v, best, _CMP_NLE_UQ),
                         _mm256_cmp_ps(best, best, _CMP_ORD_Q));
}

/* One vector of channels [c0, c0 + 8) (the valid ones when !full), walked with the exact
 * NaN-aware step, stored. */
AVX2 static void max8_exact(const dc_pool_px *px, int64_t c0, int full, __m256i m) {
    const int64_t C = px->c;
    __m256 best = load(px->x + c0, full, m);
    int64_t first = 1;
    for (int64_t i0 = 0; i0 < px->n0; i0++)
    for (int64_t i1 = 0; i1 < px->n1; i1++) {
        const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
        for (int64_t i2 = first; i2 < px->n2; i2++) {
            const __m256 v = load(row + i2 * C, full, m);
            best = _mm256_blendv_ps(best, v, take_mask(v, best));
        }
        first = 0;
    }
    store(px->y + c0, best, full, px->stream, m);
}

/* All-ones lanes where any of a, b, c, d is a NaN. */
AVX2 static __m256 unord4(__m256 a, __m256 b, __m256 c, __m256 d) {
    return _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q), _mm256_cmp_ps(c, d, _CMP_UNORD_Q));
}

/* Four vectors (32 channels) per pass, four independent chains written out by hand (STEP(q):
 * arrays of vectors were kept on the stack). Without NaNs the exact step is just "take v if
 * v > best", which _mm256_max_ps(v, best) computes in one instruction (it returns best on
 * ties and when v is a NaN): the chain per cell is one max, not compare + and + blend. NaNs
 * are only noted, off the chain; a pass that met one is redone with the exact step. */
#define NV 4

AVX2 void dc_pool_max_px_avx2(const dc_pool_px *px) {
    const int64_t C = px->c;
    const __m256i all = _mm256_set1_epi32(-1);
    int64_t c0 = 0;
    for (; c0 + 8 * NV <= C; c0 += 8 * NV) {
        const float *x0 = px->x + c0;
        __m256 b0 = _mm256_loadu_ps(x0), b1 = _mm256_loadu_ps(x0 + 8);
        __m256 b2 = _mm256_loadu_ps(x0 + 16), b3 = _mm256_loadu_ps(x0 + 24);
        __m256 nan = unord4(b0, b1, b2, b3);
        int64_t first = 1;
        for (int64_t i0 = 0; i0 < px->n0; i0++)
        for (int64_t i1 = 0; i1 < px->n1; i1++) {
            const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
            for (int64_t i2 = first; i2 < px->n2; i2++) {
                const float *cell = row + i2 * C;
                const __m256 v0 = _mm256_loadu_ps(cell), v1 = _mm256_loadu_ps(cell + 8);
                const __m256 v2 = _mm256_loadu_ps(cell + 16), v3 = _mm256_loadu_ps(cell + 24);
                nan = _mm256_or_ps(nan, unord4(v0, v1, v2, v3)); /* one OR on nan's chain */
                b0 = _mm256_max_ps(v0, b0);
                b1 = _mm256_max_ps(v1, b1);
                b2 = _mm256_max_ps(v2, b2);
                b3 = _mm256_max_ps(v3, b3);
            }
            first = 0;
        }
        if (_mm256_movemask_ps(nan)) {
            for (int q = 0; q < NV; q++) max8_exact(px, c0 + 8 * q, 1, all);
            continue;
        }
        store(px->y + c0, b0, 1, px->stream, all);
        store(px->y + c0 + 8, b1, 1, px->stream, all);
        store(px->y + c0 + 16, b2, 1, px->stream, all);
        store(px->y + c0 + 24, b3, 1, px->stream, all);
    }
    for (; c0 < C; c0 += 8) {
        const int full = C - c0 >= 8;
        max8_exact(px, c0, full, full ? all : tail_mask(C - c0));
    }
}

/* argmax = ibase + pos * C + c for 4 lanes of pos (int32, >= 0) starting at channel c. */
AVX2 static void store_index(int64_t *p, __m128i pos, int64_t C, int64_t base, int64_t nlanes,
                             int stream) {
    const __m256i prod = _mm256_mul_epu32(_mm256_cvtepi32_epi64(pos), _mm256_set1_epi64x(C));
    const __m256i idx = _mm256_add_epi64(
        prod, _mm256_add_epi64(_mm256_set1_epi64x(base), _mm256_setr_epi64x(0, 1, 2, 3)));
    if (stream) {
        _mm_stream_si128((__m128i *)(void *)p, _mm256_castsi256_si128(idx));
        _mm_stream_si128((__m128i *)(void *)(p + 2), _mm256_extracti128_si256(idx, 1));
    } else if (nlanes >= 4) {
        _mm256_storeu_si256((__m256i *)(void *)p, idx);
    } else if (nlanes > 0) {
        const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
        _mm256_maskstore_epi64((long long *)(void *)p,
                               _mm256_cmpgt_epi64(_mm256_set1_epi64x(nlanes), lane), idx);
    }
}

/* Stores 8 lanes of best/pos for channels [c0, c0 + 8) (rem of them valid). */
__attribute__((always_inline)) AVX2 static inline void store_argmax8(const dc_pool_px *px, int64_t c0, __m256 best, __m256 pos,
                               int full, __m256i m) {
    const int64_t C = px->c, rem = C - c0;
    store(px->y + c0, best, full, px->stream, m);
    const __m256i pi = _mm256_castps_si256(pos);
    store_index(px->argmax + c0, _mm256_castsi256_si128(pi), C, px->ibase + c0, rem,
                px->stream);
    store_index(px->argmax + c0 + 4, _mm256_extracti128_si256(pi, 1), C, px->ibase + c0 + 4,
                rem - 4, px->stream);
}

/* max8_exact with the argmax: the position of the value taken rides along. */
AVX2 static void argmax8_exact(const dc_pool_px *px, int64_t c0, int full, __m256i m) {
    const int64_t C = px->c;
    __m256 best = load(px->x + c0, full, m);
    __m256 pos = _mm256_castsi256_ps(_mm256_set1_epi32(px->pos));
    int64_t first = 1;
    for (int64_t i0 = 0; i0 < px->n0; i0++)
    for (int64_t i1 = 0; i1 < px->n1; i1++) {
        const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
        const int32_t rpos = px->pos + (int32_t)i0 * px->pst0 + (int32_t)i1 * px->pst1;
        for (int64_t i2 = first; i2 < px->n2; i2++) {
            const __m256 v = load(row + i2 * C, full, m);
            const __m256 t = take_mask(v, best);
            best = _mm256_blendv_ps(best, v, t);
            pos = _mm256_blendv_ps(pos, _mm256_castsi256_ps(_mm256_set1_epi32(rpos + (int32_t)i2)),
                                   t);
        }
        first = 0;
    }
    store_argmax8(px, c0, best, pos, full, m);
}

/* As dc_pool_max_px_avx2: without NaNs "take v" is v > best (one ordered compare on the
 * chain, then the two blends); NaNs are noted off the chain and send the pass to the exact
 * step. */
AVX2 void dc_pool_argmax_px_avx2(const dc_pool_px *px) {
    const int64_t C = px->c;
    const __m256i all = _mm256_set1_epi32(-1);
    int64_t c0 = 0;
    for (; c0 + 8 * NV <= C; c0 += 8 * NV) {
        const float *x0 = px->x + c0;
        __m256 b0 = _mm256_loadu_ps(x0), b1 = _mm256_loadu_ps(x0 + 8);
        __m256 b2 = _mm256_loadu_ps(x0 + 16), b3 = _mm256_loadu_ps(x0 + 24);
        __m256 nan = unord4(b0, b1, b2, b3);
        const __m256 start = _mm256_castsi256_ps(_mm256_set1_epi32(px->pos));
        __m256 p0 = start, p1 = start, p2 = start, p3 = start;
        int64_t first = 1;
        for (int64_t i0 = 0; i0 < px->n0; i0++)
        for (int64_t i1 = 0; i1 < px->n1; i1++) {
            const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
            const int32_t rpos = px->pos + (int32_t)i0 * px->pst0 + (int32_t)i1 * px->pst1;
            for (int64_t i2 = first; i2 < px->n2; i2++) {
                const float *cell = row + i2 * C;
                const __m256 here = _mm256_castsi256_ps(_mm256_set1_epi32(rpos + (int32_t)i2));
                const __m256 v0 = _mm256_loadu_ps(cell), v1 = _mm256_loadu_ps(cell + 8);
                const __m256 v2 = _mm256_loadu_ps(cell + 16), v3 = _mm256_loadu_ps(cell + 24);
                nan = _mm256_or_ps(nan, unord4(v0, v1, v2, v3)); /* one OR on nan's chain */
                __m256 t;
#define STEP(q)                                                        \
    t = _mm256_cmp_ps(v##q, b##q, _CMP_GT_OQ);                         \
    b##q = _mm256_blendv_ps(b##q, v##q, t);                            \
    p##q = _mm256_blendv_ps(p##q, here, t);
                STEP(0) STEP(1) STEP(2) STEP(3)
#undef STEP
            }
            first = 0;
        }
        if (_mm256_movemask_ps(nan)) {
            for (int q = 0; q < NV; q++) argmax8_exact(px, c0 + 8 * q, 1, all);
            continue;
        }
        store_argmax8(px, c0, b0, p0, 1, all);
        store_argmax8(px, c0 + 8, b1, p1, 1, all);
        store_argmax8(px, c0 + 16, b2, p2, 1, all);
        store_argmax8(px, c0 + 24, b3, p3, 1, all);
    }
    for (; c0 < C; c0 += 8) {
        const int full = C - c0 >= 8;
        argmax8_exact(px, c0, full, full ? all : tail_mask(C - c0));
    }
}

AVX2 void dc_pool_avg_px_avx2(const dc_pool_px *px) {
    const int64_t C = px->c;
    const __m256d cnt = _mm256_set1_pd(px->count);
    for (int64_t c0 = 0; c0 < C; c0 += 8) {
        const int full = C - c0 >= 8;
        const __m256i m = full ? _mm256_set1_epi32(-1) : tail_mask(C - c0);
        /* double and the window order, as the reference: the same bits. */
        __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
        for (int64_t i0 = 0; i0 < px->n0; i0++)
        for (int64_t i1 = 0; i1 < px->n1; i1++) {
            const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
            for (int64_t i2 = 0; i2 < px->n2; i2++) {
                const __m256 v = load(row + i2 * C, full, m);
                lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
                hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
            }
        }
        __m256 r = _mm256_setzero_ps();
        if (px->count > 0)
            r = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_div_pd(hi, cnt)),
                                _mm256_cvtpd_ps(_mm256_div_pd(lo, cnt)));
        store(px->y + c0, r, full, px->stream, m);
    }
}

AVX2 void dc_pool_flush_avx2(float *dst, float *src, int64_t n) {
    int64_t i = 0;
    /* Scalar until dst is 16-byte aligned, then non-temporal stores, then the tail. */
    while (i < n && ((uintptr_t)(dst + i) & 15) != 0) {
        dst[i] = src[i];
        src[i] = 0.0f;
        i++;
    }
    const __m256 z = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(src + i);
        _mm_stream_ps(dst + i, _mm256_castps256_ps128(v));
        _mm_stream_ps(dst + i + 4, _mm256_extractf128_ps(v, 1));
        _mm256_storeu_ps(src + i, z);
    }
    for (; i < n; i++) {
        dst[i] = src[i];
        src[i] = 0.0f;
    }
}

AVX2 void dc_pool_add_avx2(float *dst, const float *v, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_add_ps(_mm256_loadu_ps(dst + i), _mm256_loadu_ps(v + i)));
    for (; i < n; i++) dst[i] += v[i];
}

AVX2 void dc_pool_sfence_avx2(void) { _mm_sfence(); }

AVX2 int dc_pool_scan_row_avx2(const int64_t *idx, int64_t n, int64_t limit, int64_t base,
                               int64_t lo, int64_t span, int64_t cmask, int64_t c0,
                               int64_t step, int *local) {
    const __m256i zero = _mm256_setzero_si256(), lim = _mm256_set1_epi64x(limit - 1);
    const __m256i vb = _mm256_set1_epi64x(base + lo), vs = _mm256_set1_epi64x(span);
    const __m256i vm = _mm256_set1_epi64x(cmask), four = _mm256_set1_epi64x(4 * step);
    /* j = channel - lo: (t - lo) - j = t - channel must be a multiple of C */
    __m256i j = _mm256_sub_epi64(_mm256_setr_epi64x(c0, c0 + step, c0 + 2 * step, c0 + 3 * step),
                                 _mm256_set1_epi64x(lo));
    __m256i bad = zero, off = zero;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        /* 4 KiB ahead, once per line (see SCAN_AHEAD in pool_avx512.c) */
        if ((i & 7) == 0)
            _mm_prefetch((const char *)((uintptr_t)(idx + i) + 512 * sizeof(int64_t)),
                         _MM_HINT_T0);
        const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(idx + i));
        bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpgt_epi64(zero, v),
                                                   _mm256_cmpgt_epi64(v, lim)));
        const __m256i d = _mm256_sub_epi64(v, vb); /* t - lo */
        const __m256i inside = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, d),
                                                   _mm256_cmpgt_epi64(vs, d));
        const __m256i chan = _mm256_and_si256(_mm256_sub_epi64(d, j), vm); /* (t - pos) % C */
        off = _mm256_or_si256(off, _mm256_or_si256(_mm256_xor_si256(inside, _mm256_set1_epi64x(-1)),
                                                   _mm256_xor_si256(_mm256_cmpeq_epi64(chan, zero),
                                                                    _mm256_set1_epi64x(-1))));
        j = _mm256_add_epi64(j, four);
    }
    int any_bad = !_mm256_testz_si256(bad, bad), any_off = !_mm256_testz_si256(off, off);
    for (; i < n; i++) {
        any_bad |= idx[i] < 0 || idx[i] >= limit;
        const uint64_t t = ((uint64_t)idx[i] - (uint64_t)base);
        const uint64_t chan = (uint64_t)c0 + (uint64_t)i * (uint64_t)step;
        any_off |= !((t - (uint64_t)lo < (uint64_t)span) & (((t - chan) & (uint64_t)cmask) == 0));
    }
    if (any_off) *local = 0;
    return any_bad;
}

#else
/* ISO C forbids an empty translation unit. */
typedef int dc_pool_avx2_unused;
#endif
