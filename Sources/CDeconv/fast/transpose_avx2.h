/* fast/transpose_avx2.h - the 8 x 8 register transpose of the AVX2 kernels (planes_avx2.c:
 * pixels into lanes; pack_avx2.c: filter rows into packed columns). Include only from files
 * compiled for x86; the function carries its own target attribute. */
#ifndef DECONV_TRANSPOSE_AVX2_H
#define DECONV_TRANSPOSE_AVX2_H
#include <immintrin.h>

/* r[i] (row i's 8 floats) becomes r[j] (column j: row i's float j in lane i). */
static inline __attribute__((target("avx2"), always_inline)) void
dc_transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    /* t[2g], t[2g + 1]: rows 2g, 2g + 1 interleaved (columns 0 1 4 5 and 2 3 6 7) */
#pragma GCC unroll 2
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    /* u[4h + j]: column j (low half) and j + 4 (high half) of rows 4h .. 4h + 3 */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
        r[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
    }
}

#endif /* DECONV_TRANSPOSE_AVX2_H */
