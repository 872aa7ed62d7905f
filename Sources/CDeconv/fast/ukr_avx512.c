/* fast/ukr_avx512.c - AVX-512F GEMM micro-kernel. Same contract and the same summation order
 * as dc_ukr_gemm_avx2 (per output element: taps in order, channels in order, one FMA each), so
 * both levels give the same bits; this one issues half the instructions per FLOP (one zmm FMA
 * per 16 products, A broadcast folded into the FMA) and keeps 8 x 32 of C in 16 of the 32
 * registers. Tails use AVX-512 mask registers: nothing past a row is ever touched. Compiled
 * with a target attribute; cpu.c only picks it when the CPU (and the OS) support AVX-512F. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f")))

/* Mask of the first n of 16 lanes (n may be <= 0 or >= 16). */
TGT static inline __mmask16 lanes16(int n) {
    return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* 8 x 32 tile: 16 accumulators, 2 B vectors; A is broadcast from memory by each FMA. */
TGT void dc_ukr_gemm_avx512(const dc_ukr_args *u) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    const __mmask16 m0 = lanes16(u->nr), m1 = lanes16(u->nr - 16);
    const int mr = u->mr;
    if (!u->first) {
#define LOADC(r)                                                          \
    if (mr > r) {                                                         \
        c##r##0 = _mm512_maskz_loadu_ps(m0, u->c[r] + u->c_off);          \
        c##r##1 = _mm512_maskz_loadu_ps(m1, u->c[r] + u->c_off + 16);     \
    }
        LOADC(0) LOADC(1) LOADC(2) LOADC(3) LOADC(4) LOADC(5) LOADC(6) LOADC(7)
#undef LOADC
    } else {
        /* The tile's output lines are usually not in cache: ask for them now, so the stores at
         * the end do not wait for them. */
#define PREFC(r)                                                          \
    if (mr > r) {                                                         \
        _mm_prefetch((const char *)(u->c[r] + u->c_off), _MM_HINT_T0);    \
        _mm_prefetch((const char *)(u->c[r] + u->c_off + 16), _MM_HINT_T0); \
    }
        PREFC(0) PREFC(1) PREFC(2) PREFC(3) PREFC(4) PREFC(5) PREFC(6) PREFC(7)
#undef PREFC
    }
    const int64_t kc = u->kc;
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *b = u->b + (int64_t)u->tap[t] * kc * 32;
        const float *const *ap = u->a + (int64_t)t * 8;
        const float *a0 = dc_ukr_row(u, ap, 0), *a1 = dc_ukr_row(u, ap, 1);
        const float *a2 = dc_ukr_row(u, ap, 2), *a3 = dc_ukr_row(u, ap, 3);
        const float *a4 = dc_ukr_row(u, ap, 4), *a5 = dc_ukr_row(u, ap, 5);
        const float *a6 = dc_ukr_row(u, ap, 6), *a7 = dc_ukr_row(u, ap, 7);
        for (int64_t k = 0; k < kc; k++, b += 32) {
            const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
            __m512 v;
#define ROW(r)                                   \
    v = _mm512_set1_ps(a##r[k]);                 \
    c##r##0 = _mm512_fmadd_ps(v, b0, c##r##0);   \
    c##r##1 = _mm512_fmadd_ps(v, b1, c##r##1);
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef ROW
        }
    }
    if (u->nr == 32) {
#define STOREC(r)                                                         \
    if (mr > r) {                                                         \
        _mm512_storeu_ps(u->c[r] + u->c_off, c##r##0);                    \
        _mm512_storeu_ps(u->c[r] + u->c_off + 16, c##r##1);               \
    }
        STOREC(0) STOREC(1) STOREC(2) STOREC(3) STOREC(4) STOREC(5) STOREC(6) STOREC(7)
#undef STOREC
    } else {
#define STOREC(r)                                                         \
    if (mr > r) {                                                         \
        _mm512_mask_storeu_ps(u->c[r] + u->c_off, m0, c##r##0);           \
        _mm512_mask_storeu_ps(u->c[r] + u->c_off + 16, m1, c##r##1);      \
    }
        STOREC(0) STOREC(1) STOREC(2) STOREC(3) STOREC(4) STOREC(5) STOREC(6) STOREC(7)
#undef STOREC
    }
}

#else
/* Keeps this translation unit non-empty (ISO C) on targets without these kernels. */
typedef int dc_ukr_avx512_unused;
#endif
