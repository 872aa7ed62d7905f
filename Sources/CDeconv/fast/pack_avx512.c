/* fast/pack_avx512.c - a transposed conv's filter rows into the GEMM's packed columns with
 * 16 x 16 register transposes (see dc_pack_transpose in fast.h).
 *
 * Why: the scalar packing read 64 filter rows a few floats at a time, 4 KiB or more apart, so
 * the hardware prefetcher followed none of them: packing dcgan1's 52 MB of weights took 45% of
 * a stateless call. Here 16 rows are read 64 bytes at a time, each from start to end. Only
 * copies: the packed bits are those of the scalar loop.
 *
 * The rows are still too short for the hardware prefetcher (a block of kc channels: 512
 * bytes for vol3d), so each 16 x 16 block asks for its counterpart in the rows packed next
 * (the next tap's) into L2: a pack_b-shaped loop over vol3d's 28 MB of cold weights went
 * from 5-10 to 7-15 GB/s (a hint into L1 gained nothing). Compiled with a target attribute;
 * conv_gemm.c only calls it when cpu.c reports AVX-512F. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include "fast/transpose_avx512.h"

#define TGT __attribute__((target("avx512f")))

TGT void dc_pack_transpose_avx512(const float *s, int64_t s_stride, int64_t rows, int64_t cols,
                                  int64_t kc, float *d, const float *next) {
    for (int64_t j0 = 0; j0 < cols; j0 += 16) {
        const int64_t nj = rows - j0 < 0 ? 0 : rows - j0 < 16 ? rows - j0 : 16;
        for (int64_t k0 = 0; k0 < kc; k0 += 16) {
            const int64_t nk = kc - k0 < 16 ? kc - k0 : 16;
            const __mmask16 km = (__mmask16)((1u << nk) - 1u);
            __m512 r[16];
            if (next) { /* as integers: a hint may point anywhere, a pointer may not */
                const uintptr_t nb = (uintptr_t)next + (uintptr_t)(j0 * s_stride + k0) * 4;
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    if (i < nj)
                        _mm_prefetch((const char *)(nb + (uintptr_t)(i * s_stride) * 4),
                                     _MM_HINT_T1);
            }
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                r[i] = i < nj ? _mm512_maskz_loadu_ps(km, s + (j0 + i) * s_stride + k0)
                              : _mm512_setzero_ps();
            dc_transpose16(r);
#pragma GCC unroll 16
            for (int k = 0; k < 16; k++)
                if (k < nk) _mm512_storeu_ps(d + (k0 + k) * cols + j0, r[k]);
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int dc_pack_avx512_unused;
#endif
