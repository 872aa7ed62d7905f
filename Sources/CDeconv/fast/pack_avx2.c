/* fast/pack_avx2.c - pack_avx512.c with 8 x 8 register transposes (a partial block of
 * channels, at most one per row and call, is read through a small buffer). Only copies: the
 * packed bits are those of the scalar loop. Compiled with a target attribute; conv_gemm.c
 * only calls it when cpu.c reports AVX2. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include "fast/transpose_avx2.h"

#define TGT __attribute__((target("avx2")))

TGT void dc_pack_transpose_avx2(const float *s, int64_t s_stride, int64_t rows, int64_t cols,
                                int64_t kc, float *d, const float *next) {
    for (int64_t j0 = 0; j0 < cols; j0 += 8) {
        const int64_t nj = rows - j0 < 0 ? 0 : rows - j0 < 8 ? rows - j0 : 8;
        for (int64_t k0 = 0; k0 < kc; k0 += 8) {
            const int64_t nk = kc - k0 < 8 ? kc - k0 : 8;
            __m256 r[8];
            if (next && k0 % 16 == 0) /* the next rows into L2, a line a row (pack_avx512.c) */
                for (int i = 0; i < nj; i++)
                    _mm_prefetch((const char *)((uintptr_t)next +
                                                (uintptr_t)((j0 + i) * s_stride + k0) * 4),
                                 _MM_HINT_T1);
            for (int i = 0; i < 8; i++) {
                const float *row = s + (j0 + i) * s_stride + k0;
                if (i >= nj) {
                    r[i] = _mm256_setzero_ps();
                } else if (nk == 8) {
                    r[i] = _mm256_loadu_ps(row);
                } else {
                    float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                    for (int64_t k = 0; k < nk; k++) buf[k] = row[k];
                    r[i] = _mm256_loadu_ps(buf);
                }
            }
            dc_transpose8(r);
            for (int k = 0; k < nk; k++) _mm256_storeu_ps(d + (k0 + k) * cols + j0, r[k]);
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int dc_pack_avx2_unused;
#endif
