/* fast/ukr_avx2.c - AVX2 + FMA micro-kernels. Compiled with a target attribute rather than a
 * build flag, so the library still runs on CPUs without AVX2 (cpu.c only picks these when the
 * CPU has them). Tails use masked loads and stores: nothing past a row is ever touched. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))

/* Lane mask for the first n of 8 lanes (n may be <= 0 or >= 8). */
TGT static inline __m256i lanes(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* Stores the first n (0..7) lanes of v with plain 16/8/4-byte stores. */
TGT static inline void store_tail(float *c, __m256 v, int n) {
    __m128 h = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(c, h);
        h = _mm256_extractf128_ps(v, 1);
        c += 4;
        n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)c, h);
        h = _mm_movehl_ps(h, h);
        c += 2;
        n -= 2;
    }
    if (n) _mm_store_ss(c, h);
}

/* 6 x 16 tile: 12 accumulators, 2 B vectors, 1 broadcast = 15 of the 16 ymm registers. */
TGT void dc_ukr_gemm_avx2(const dc_ukr_args *u) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    const __m256i m0 = lanes(u->nr), m1 = lanes(u->nr - 8);
    const int mr = u->mr;
    if (!u->first) {
#define LOADC(r)                                                         \
    if (mr > r) {                                                        \
        c##r##0 = _mm256_maskload_ps(dc_ukr_crow(u, r) + u->c_off, m0);            \
        c##r##1 = _mm256_maskload_ps(dc_ukr_crow(u, r) + u->c_off + 8, m1);        \
    }
        LOADC(0) LOADC(1) LOADC(2) LOADC(3) LOADC(4) LOADC(5)
#undef LOADC
    }
    const int64_t kc = u->kc;
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *b = u->b + (int64_t)u->tap[t] * kc * 16;
        const float *const *ap = u->a + (int64_t)t * 6;
        const float *a0 = dc_ukr_row(u, ap, 0), *a1 = dc_ukr_row(u, ap, 1);
        const float *a2 = dc_ukr_row(u, ap, 2), *a3 = dc_ukr_row(u, ap, 3);
        const float *a4 = dc_ukr_row(u, ap, 4), *a5 = dc_ukr_row(u, ap, 5);
        for (int64_t k = 0; k < kc; k++, b += 16) {
            const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
            __m256 v;
            v = _mm256_broadcast_ss(a0 + k);
            c00 = _mm256_fmadd_ps(v, b0, c00);
            c01 = _mm256_fmadd_ps(v, b1, c01);
            v = _mm256_broadcast_ss(a1 + k);
            c10 = _mm256_fmadd_ps(v, b0, c10);
            c11 = _mm256_fmadd_ps(v, b1, c11);
            v = _mm256_broadcast_ss(a2 + k);
            c20 = _mm256_fmadd_ps(v, b0, c20);
            c21 = _mm256_fmadd_ps(v, b1, c21);
            v = _mm256_broadcast_ss(a3 + k);
            c30 = _mm256_fmadd_ps(v, b0, c30);
            c31 = _mm256_fmadd_ps(v, b1, c31);
            v = _mm256_broadcast_ss(a4 + k);
            c40 = _mm256_fmadd_ps(v, b0, c40);
            c41 = _mm256_fmadd_ps(v, b1, c41);
            v = _mm256_broadcast_ss(a5 + k);
            c50 = _mm256_fmadd_ps(v, b0, c50);
            c51 = _mm256_fmadd_ps(v, b1, c51);
        }
    }
    if (u->nr == 16) {
#define STOREC(r)                                                        \
    if (mr > r) {                                                        \
        _mm256_storeu_ps(dc_ukr_crow(u, r) + u->c_off, c##r##0);                   \
        _mm256_storeu_ps(dc_ukr_crow(u, r) + u->c_off + 8, c##r##1);               \
    }
        STOREC(0) STOREC(1) STOREC(2) STOREC(3) STOREC(4) STOREC(5)
#undef STOREC
    } else {
        /* Tails: AMD's masked stores are slow, so full vectors are stored whole and the
         * last partial one goes through a scratch copy. */
        const int nr = u->nr;
#define STOREC(r)                                                                          \
    if (mr > r) {                                                                          \
        float *c = dc_ukr_crow(u, r) + u->c_off;                                                     \
        if (nr >= 8) {                                                                     \
            _mm256_storeu_ps(c, c##r##0);                                                  \
            store_tail(c + 8, c##r##1, nr - 8);                                            \
        } else {                                                                           \
            store_tail(c, c##r##0, nr);                                                    \
        }                                                                                  \
    }
        STOREC(0) STOREC(1) STOREC(2) STOREC(3) STOREC(4) STOREC(5)
#undef STOREC
    }
}

/* Sum of the 8 lanes in a fixed order. */
TGT static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 4 rows x up to 3 output channels, vectors along input channels. B is [nr][ntaps][kc]. */
TGT void dc_ukr_dot_avx2(const dc_ukr_args *u) {
    __m256 s00 = _mm256_setzero_ps(), s01 = _mm256_setzero_ps(), s02 = _mm256_setzero_ps();
    __m256 s10 = _mm256_setzero_ps(), s11 = _mm256_setzero_ps(), s12 = _mm256_setzero_ps();
    __m256 s20 = _mm256_setzero_ps(), s21 = _mm256_setzero_ps(), s22 = _mm256_setzero_ps();
    __m256 s30 = _mm256_setzero_ps(), s31 = _mm256_setzero_ps(), s32 = _mm256_setzero_ps();
    const int64_t kc = u->kc, per_col = u->btaps * kc;
    const int nr = u->nr;
    /* Columns past nr reuse column 0's weights (valid memory); they are never stored. */
    const float *bc0 = u->b, *bc1 = u->b + (nr > 1 ? per_col : 0),
                *bc2 = u->b + (nr > 2 ? 2 * per_col : 0);
    const int64_t kfull = kc & ~(int64_t)7;
    const __m256i mt = lanes((int)(kc - kfull));
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *const *ap = u->a + (int64_t)t * 4;
        const float *a0 = ap[0] + u->a_off, *a1 = ap[1] + u->a_off;
        const float *a2 = ap[2] + u->a_off, *a3 = ap[3] + u->a_off;
        const int64_t bt = (int64_t)u->tap[t] * kc;
        const float *b0 = bc0 + bt, *b1 = bc1 + bt, *b2 = bc2 + bt;
        int64_t k = 0;
#define DOTSTEP(LOAD)                                                                   \
    {                                                                                   \
        const __m256 w0 = LOAD(b0 + k), w1 = LOAD(b1 + k), w2 = LOAD(b2 + k);          \
        __m256 x;                                                                       \
        x = LOAD(a0 + k);                                                               \
        s00 = _mm256_fmadd_ps(x, w0, s00);                                              \
        s01 = _mm256_fmadd_ps(x, w1, s01);                                              \
        s02 = _mm256_fmadd_ps(x, w2, s02);                                              \
        x = LOAD(a1 + k);                                                               \
        s10 = _mm256_fmadd_ps(x, w0, s10);                                              \
        s11 = _mm256_fmadd_ps(x, w1, s11);                                              \
        s12 = _mm256_fmadd_ps(x, w2, s12);                                              \
        x = LOAD(a2 + k);                                                               \
        s20 = _mm256_fmadd_ps(x, w0, s20);                                              \
        s21 = _mm256_fmadd_ps(x, w1, s21);                                              \
        s22 = _mm256_fmadd_ps(x, w2, s22);                                              \
        x = LOAD(a3 + k);                                                               \
        s30 = _mm256_fmadd_ps(x, w0, s30);                                              \
        s31 = _mm256_fmadd_ps(x, w1, s31);                                              \
        s32 = _mm256_fmadd_ps(x, w2, s32);                                              \
    }
#define FULL(p) _mm256_loadu_ps(p)
#define MASKED(p) _mm256_maskload_ps((p), mt)
        for (; k < kfull; k += 8) DOTSTEP(FULL)
        if (k < kc) DOTSTEP(MASKED)
#undef FULL
#undef MASKED
#undef DOTSTEP
    }
    const __m256 s[4][3] = {{s00, s01, s02}, {s10, s11, s12}, {s20, s21, s22}, {s30, s31, s32}};
    for (int r = 0; r < u->mr; r++)
        for (int j = 0; j < nr; j++) {
            const float v = hsum(s[r][j]);
            float *c = &dc_ukr_crow(u, r)[u->c_off + j];
            *c = u->first ? v : *c + v;
        }
}

/* Lane l of the result is the sum of the 8 lanes of v[l]: a fixed hadd tree (dot1 and dotn
 * sums, and dc_dotn_avx512's, whose copy of it must give the same bits). */
TGT static inline __m256 sum8(const __m256 *v) {
    const __m256 h01 = _mm256_hadd_ps(v[0], v[1]), h23 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 h45 = _mm256_hadd_ps(v[4], v[5]), h67 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 q0 = _mm256_hadd_ps(h01, h23), q1 = _mm256_hadd_ps(h45, h67);
    return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20),
                         _mm256_permute2f128_ps(q0, q1, 0x31));
}

/* Sums of R (7 or 8, a constant) rows (conv_dot1.c): R accumulators of 8 channel lanes, each
 * x vector loaded once for one FMA, then reduced together by a fixed hadd tree; lane l is row
 * l's sum (lane 7 is 0 when R is 7). */
TGT static inline __attribute__((always_inline)) __m256
dot1_group(const float *const *a, const float *w, int32_t ntaps, int64_t off, int64_t st,
           int64_t kc, const int R) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps();
    __m256 s3 = _mm256_setzero_ps(), s4 = _mm256_setzero_ps(), s5 = _mm256_setzero_ps();
    __m256 s6 = _mm256_setzero_ps(), s7 = _mm256_setzero_ps();
    for (int32_t t = 0; t < ntaps; t++) {
        const float *x = a[t] + off, *wt = w + (int64_t)t * kc;
        for (int64_t k = 0; k < kc; k += 8, x += 8) {
            const __m256 wv = _mm256_loadu_ps(wt + k);
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), wv, s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + st), wv, s1);
            s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 2 * st), wv, s2);
            s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 3 * st), wv, s3);
            s4 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 4 * st), wv, s4);
            s5 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 5 * st), wv, s5);
            s6 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 6 * st), wv, s6);
            if (R == 8) s7 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 7 * st), wv, s7);
        }
    }
    const __m256 s[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
    return sum8(s);
}

/* The groups of one call, R rows each (the loop over groups is in here: a line is often just
 * 2 groups, and a call per group cost as much as its multiply-adds). */
TGT static inline __attribute__((always_inline)) void dot1_groups(const dc_dot1_args *u,
                                                                   const int R) {
    const int64_t kc = u->kc, st = u->a_stride;
    for (int64_t r0 = 0; r0 < u->rows; r0 += R) {
        const __m256 sum = dot1_group(u->a, u->w, u->ntaps, u->a_off + r0 * st, st, kc, R);
        if (u->a2) {
            /* interleave with the second phase: 2R neighbouring outputs, one or two stores */
            const __m256 sum2 =
                dot1_group(u->a2, u->w2, u->ntaps2, u->a_off + r0 * st, st, kc, R);
            const __m256 lo = _mm256_unpacklo_ps(sum, sum2), hi = _mm256_unpackhi_ps(sum, sum2);
            const __m256 v0 = _mm256_permute2f128_ps(lo, hi, 0x20);
            const __m256 v1 = _mm256_permute2f128_ps(lo, hi, 0x31);
            int64_t left = u->rows + u->rows2 - 2 * r0;
            if (left > 2 * R) left = 2 * R;
            float *c = u->c + 2 * r0;
            if (left >= 16) {
                _mm256_storeu_ps(c, v0);
                _mm256_storeu_ps(c + 8, v1);
            } else if (left >= 8) {
                _mm256_storeu_ps(c, v0);
                if (left > 8) store_tail(c + 8, v1, (int)(left - 8));
            } else { /* store_tail stores at most 7 */
                store_tail(c, v0, (int)left);
            }
            continue;
        }
        const int m = u->rows - r0 < R ? (int)(u->rows - r0) : R;
        float *c = u->c + r0 * u->c_stride;
        if (u->c_stride == 1) {
            if (m == 8)
                _mm256_storeu_ps(c, sum);
            else
                store_tail(c, sum, m);
            continue;
        }
        float v[8];
        _mm256_storeu_ps(v, sum);
        for (int r = 0; r < m; r++) c[r * u->c_stride] = v[r];
    }
}

/* Groups of 8 rows, or of 7 where that covers the rows in as many groups with less waste
 * (a 14- or 28-pixel line: 2 or 4 groups of 7 instead of 16 or 32 rows computed). */
TGT void dc_dot1_avx2(const dc_dot1_args *u) {
    /* ceil(rows / groups) <= 7, without a division per call (it showed in profiles) */
    const int64_t groups = (u->rows + 7) / 8;
    if (groups > 0 && u->rows <= 7 * groups)
        dot1_groups(u, 7);
    else
        dot1_groups(u, 8);
}

/* ---- dotn: 2..4 output channels (conv_dot1.c) --------------------------------------------
 * As dc_dotn_avx512 with 8-lane vectors and 16 registers: R pixels x NC channels of
 * accumulators (12 of them), each x vector loaded once for NC FMAs; two 8-lane steps per 16
 * channels. The sums are reduced by the hadd tree of dot1_group, 8 registers at a time. */

TGT static inline __attribute__((always_inline)) void
dotn_group(const dc_dot1_args *u, int64_t r0, const int R, const int NC, float *out) {
    __m256 s[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) s[i] = _mm256_setzero_ps();
    const int64_t kc = u->kc, st = u->a_stride;
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *x = u->a[t] + u->a_off + r0 * st, *wt = u->w + (int64_t)t * NC * kc;
        for (int64_t k = 0; k < kc; k += 8) {
            __m256 w[4];
#pragma GCC unroll 4
            for (int j = 0; j < NC; j++) w[j] = _mm256_loadu_ps(wt + j * kc + k);
#pragma GCC unroll 6
            for (int r = 0; r < R; r++) {
                __m256 xv = _mm256_loadu_ps(x + r * st + k);
                __asm__("" : "+x"(xv)); /* one load for NC FMAs (see dc_dotn_avx512) */
#pragma GCC unroll 4
                for (int j = 0; j < NC; j++) s[r * NC + j] = _mm256_fmadd_ps(xv, w[j], s[r * NC + j]);
            }
        }
    }
#pragma GCC unroll 2
    for (int i = 0; i < R * NC; i += 8) _mm256_storeu_ps(out + i, sum8(s + i));
}

TGT static inline __attribute__((always_inline)) void dotn_rows(const dc_dot1_args *u,
                                                                 const int R, const int NC) {
    float v[16];
    for (int64_t r0 = 0; r0 < u->rows; r0 += R) {
        dotn_group(u, r0, R, NC, v);
        dc_dotn_store(u, r0, R, v);
    }
}

TGT void dc_dotn_avx2(const dc_dot1_args *u) {
    if (u->nc == 2)
        dotn_rows(u, DC_DOTN_AVX2_R(2), 2);
    else if (u->nc == 3)
        dotn_rows(u, DC_DOTN_AVX2_R(3), 3);
    else
        dotn_rows(u, DC_DOTN_AVX2_R(4), 4);
}

#else
/* Keeps this translation unit non-empty (ISO C) on targets without these kernels. */
typedef int dc_ukr_avx2_unused;
#endif
