/* fast/transpose.c - dst[j * dld + i] = src[i * sld + j] for a rows x cols matrix of floats
 * or (dc_fast_transpose64) of int64: relayout.c's moves between channels-first and
 * channels-last. Square blocks transposed in
 * registers (16 x 16 with AVX-512, 8 x 8 with AVX2), the edges element by element. Values
 * are only moved, so every level gives the same bytes. A scalar loop took 1.6 ns a value
 * (lenet_c1's 1.6 M outputs: 2.6 ms against the conv's 0.75). With `stream`, AVX-512 writes
 * whole aligned 64-byte lines with non-temporal stores: a large output would leave the cache
 * anyway, and this skips reading each line before it is written (lenet_c1 channels-first
 * 1.39 -> 1.03 ms). */
#include "fast/fast.h"

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include "fast/transpose_avx2.h"
#include "fast/transpose_avx512.h"
#endif

/* Rows [i0, i1) x columns [j0, j1), element by element: the edges, and the portable level
 * in blocks of 16 (a block's source and destination lines stay in L1). */
static void block_scalar(const float *src, int64_t sld, float *dst, int64_t dld, int64_t i0,
                         int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) dst[j * dld + i] = src[i * sld + j];
}

static void transpose_portable(const float *src, int64_t sld, float *dst, int64_t dld,
                               int64_t rows, int64_t cols, int stream) {
    (void)stream;
    for (int64_t i0 = 0; i0 < rows; i0 += 16)
        for (int64_t j0 = 0; j0 < cols; j0 += 16)
            block_scalar(src, sld, dst, dld, i0, rows - i0 < 16 ? rows : i0 + 16, j0,
                         cols - j0 < 16 ? cols : j0 + 16);
}

#if defined(__x86_64__) || defined(__i386__)
/* The part of [0, rows) x [0, cols) outside the whole B x B blocks. */
static void edges_scalar(const float *src, int64_t sld, float *dst, int64_t dld, int64_t rows,
                         int64_t cols, int64_t B) {
    const int64_t rb = rows / B * B, cb = cols / B * B;
    block_scalar(src, sld, dst, dld, 0, rb, cb, cols);
    block_scalar(src, sld, dst, dld, rb, rows, 0, cols);
}

__attribute__((target("avx2"))) static void transpose_avx2(const float *src, int64_t sld,
                                                           float *dst, int64_t dld,
                                                           int64_t rows, int64_t cols,
                                                           int stream) {
    (void)stream; /* 32-byte stores are half lines */
    for (int64_t i0 = 0; i0 + 8 <= rows; i0 += 8)
        for (int64_t j0 = 0; j0 + 8 <= cols; j0 += 8) {
            __m256 r[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (i0 + i) * sld + j0);
            dc_transpose8(r);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + (j0 + j) * dld + i0, r[j]);
        }
    edges_scalar(src, sld, dst, dld, rows, cols, 8);
}

__attribute__((target("avx512f"))) static void transpose_avx512(const float *src, int64_t sld,
                                                                float *dst, int64_t dld,
                                                                int64_t rows, int64_t cols,
                                                                int stream) {
    /* every block row starts a line: dst and its rows 64-byte aligned */
    const int nt = stream && ((uintptr_t)dst & 63) == 0 && (dld & 15) == 0;
    for (int64_t i0 = 0; i0 + 16 <= rows; i0 += 16)
        for (int64_t j0 = 0; j0 + 16 <= cols; j0 += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (i0 + i) * sld + j0);
            dc_transpose16(r);
            if (nt) {
#pragma GCC unroll 16
                for (int j = 0; j < 16; j++) _mm512_stream_ps(dst + (j0 + j) * dld + i0, r[j]);
            } else {
#pragma GCC unroll 16
                for (int j = 0; j < 16; j++) _mm512_storeu_ps(dst + (j0 + j) * dld + i0, r[j]);
            }
        }
    if (nt) _mm_sfence(); /* visible before the caller's thread reports its units done */
    /* 8 x 8 blocks along the edges, then single values */
    const int64_t rb = rows / 16 * 16, cb = cols / 16 * 16;
    transpose_avx2(src + cb, sld, dst + cb * dld, dld, rb, cols - cb, 0);
    transpose_avx2(src + rb * sld, sld, dst + rb, dld, rows - rb, cols, 0);
}
#endif

/* ---- 8-byte elements (argmax's indices) --------------------------------------------------- */

static void block_scalar64(const int64_t *src, int64_t sld, int64_t *dst, int64_t dld,
                           int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) dst[j * dld + i] = src[i * sld + j];
}

static void transpose64_portable(const int64_t *src, int64_t sld, int64_t *dst, int64_t dld,
                                 int64_t rows, int64_t cols) {
    for (int64_t i0 = 0; i0 < rows; i0 += 16)
        for (int64_t j0 = 0; j0 < cols; j0 += 16)
            block_scalar64(src, sld, dst, dld, i0, rows - i0 < 16 ? rows : i0 + 16, j0,
                           cols - j0 < 16 ? cols : j0 + 16);
}

#if defined(__x86_64__) || defined(__i386__)
/* 4 x 4 blocks in AVX2 registers, moved as doubles (unpack and permute only move bits), in
 * 16 x 16 tiles so a tile's source and destination lines stay in L1; a scalar loop spent
 * 22% of channels-first max_pool_with_argmax's time here. */
__attribute__((target("avx2"))) static void transpose64_avx2(const int64_t *src, int64_t sld,
                                                             int64_t *dst, int64_t dld,
                                                             int64_t rows, int64_t cols) {
    const int64_t rb = rows / 4 * 4, cb = cols / 4 * 4;
    for (int64_t i1 = 0; i1 < rb; i1 += 16)
        for (int64_t j1 = 0; j1 < cb; j1 += 16)
            for (int64_t i0 = i1; i0 < i1 + 16 && i0 < rb; i0 += 4)
                for (int64_t j0 = j1; j0 < j1 + 16 && j0 < cb; j0 += 4) {
                    const double *s = (const double *)(const void *)(src + i0 * sld + j0);
                    double *d = (double *)(void *)(dst + j0 * dld + i0);
                    const __m256d a0 = _mm256_loadu_pd(s), a1 = _mm256_loadu_pd(s + sld);
                    const __m256d a2 = _mm256_loadu_pd(s + 2 * sld);
                    const __m256d a3 = _mm256_loadu_pd(s + 3 * sld);
                    const __m256d t0 = _mm256_unpacklo_pd(a0, a1), t1 = _mm256_unpackhi_pd(a0, a1);
                    const __m256d t2 = _mm256_unpacklo_pd(a2, a3), t3 = _mm256_unpackhi_pd(a2, a3);
                    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
                    _mm256_storeu_pd(d + dld, _mm256_permute2f128_pd(t1, t3, 0x20));
                    _mm256_storeu_pd(d + 2 * dld, _mm256_permute2f128_pd(t0, t2, 0x31));
                    _mm256_storeu_pd(d + 3 * dld, _mm256_permute2f128_pd(t1, t3, 0x31));
                }
    block_scalar64(src, sld, dst, dld, 0, rb, cb, cols);
    block_scalar64(src, sld, dst, dld, rb, rows, 0, cols);
}
#endif

dc_transpose64_fn dc_fast_transpose64(void) {
#if defined(__x86_64__) || defined(__i386__)
    const int isa = dc_fast_isa();
    if (isa == DC_ISA_AVX512 || isa == DC_ISA_AVX2) return transpose64_avx2;
#endif
    return transpose64_portable;
}

dc_transpose_fn dc_fast_transpose(void) {
    const int isa = dc_fast_isa();
#if defined(__x86_64__) || defined(__i386__)
    if (isa == DC_ISA_AVX512) return transpose_avx512;
    if (isa == DC_ISA_AVX2) return transpose_avx2;
#endif
    (void)isa;
    return transpose_portable;
}
