/* fast/wino_avx512.c - conv_wino.c's transforms (wino_xform.h) built for AVX-512F. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#define WX_TGT __attribute__((target("avx512f")))
#define WX_NAME(x) x##_avx512
#include "fast/wino_xform.h"
#include "fast/transpose_avx512.h"

WX_TGT static void t16_avx512(const float *src, int64_t ld, int64_t rows, int64_t cols,
                              float *dst) {
    const __mmask16 m = (__mmask16)((1u << cols) - 1u);
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(m, src + i * ld) : _mm512_setzero_ps();
    dc_transpose16(r);
#pragma GCC unroll 16
    for (int c = 0; c < 16; c++)
        if (c < cols) _mm512_storeu_ps(dst + c * 16, r[c]);
}

const dc_wino_xf DC_WINO_XF_AVX512 = {dc_wino_in_avx512, dc_wino_out_avx512, dc_wino_u_avx512,
                                      t16_avx512};
#else
typedef int dc_wino_avx512_unused;
#endif
