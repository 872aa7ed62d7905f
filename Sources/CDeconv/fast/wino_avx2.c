/* fast/wino_avx2.c - conv_wino.c's transforms (wino_xform.h) built for AVX2. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#define WX_TGT __attribute__((target("avx2")))
#define WX_NAME(x) x##_avx2
#include "fast/wino_xform.h"
#include "fast/transpose_avx2.h"

/* Full blocks as four 8 x 8 register transposes; partial ones (the filter's edges) by the
 * portable build's. */
WX_TGT static void t16_avx2(const float *src, int64_t ld, int64_t rows, int64_t cols,
                            float *dst) {
    if (rows < 16 || cols < 16) {
        DC_WINO_XF_PORTABLE.t16(src, ld, rows, cols, dst);
        return;
    }
    for (int r0 = 0; r0 < 16; r0 += 8)
        for (int c0 = 0; c0 < 16; c0 += 8) {
            __m256 v[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) v[i] = _mm256_loadu_ps(src + (r0 + i) * ld + c0);
            dc_transpose8(v);
#pragma GCC unroll 8
            for (int c = 0; c < 8; c++) _mm256_storeu_ps(dst + (c0 + c) * 16 + r0, v[c]);
        }
}

const dc_wino_xf DC_WINO_XF_AVX2 = {dc_wino_in_avx2, dc_wino_out_avx2, dc_wino_u_avx2,
                                    t16_avx2};
#else
typedef int dc_wino_avx2_unused;
#endif
