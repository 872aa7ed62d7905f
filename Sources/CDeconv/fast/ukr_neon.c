/* fast/ukr_neon.c - AArch64 AdvSIMD (NEON) GEMM micro-kernel. AdvSIMD is part of every
 * AArch64 CPU, so no detection is needed: cpu.c reports the level whenever the build targets
 * __aarch64__ (Linux, macOS, Android alike).
 *
 * Same tile (6 x 16) and the same contract and summation order as dc_ukr_gemm_avx2: per
 * output element, taps in order, channels in order, one fused multiply-add each, so this level
 * gives the bits the AVX2 level gives. 24 accumulators + 4 B vectors + the A scalars fit the
 * 32 vector registers; A is multiplied by element (FMLA v, v, s) rather than broadcast. Tails
 * load and store lane by lane: nothing past a row is ever touched. */
#include "fast/fast.h"

#if defined(__aarch64__)
#include <arm_neon.h>

/* The first n (may be <= 0 or >= 4) lanes of p, the rest zero. */
static inline float32x4_t load_part(const float *p, int n) {
    if (n >= 4) return vld1q_f32(p);
    float32x4_t v = vdupq_n_f32(0.0f);
    if (n > 0) v = vld1q_lane_f32(p, v, 0);
    if (n > 1) v = vld1q_lane_f32(p + 1, v, 1);
    if (n > 2) v = vld1q_lane_f32(p + 2, v, 2);
    return v;
}

/* Stores the first n (may be <= 0 or >= 4) lanes of v. */
static inline void store_part(float *p, float32x4_t v, int n) {
    if (n >= 4) {
        vst1q_f32(p, v);
        return;
    }
    if (n > 0) vst1q_lane_f32(p, v, 0);
    if (n > 1) vst1q_lane_f32(p + 1, v, 1);
    if (n > 2) vst1q_lane_f32(p + 2, v, 2);
}

void dc_ukr_gemm_neon(const dc_ukr_args *u) {
#define ZERO4(r)                                                                          \
    float32x4_t c##r##0 = vdupq_n_f32(0.0f), c##r##1 = c##r##0, c##r##2 = c##r##0,        \
                c##r##3 = c##r##0;
    ZERO4(0) ZERO4(1) ZERO4(2) ZERO4(3) ZERO4(4) ZERO4(5)
#undef ZERO4
    const int mr = u->mr, nr = u->nr;
    if (!u->first) {
#define LOADC(r)                                                                          \
    if (mr > r) {                                                                         \
        const float *c = dc_ukr_crow(u, r) + u->c_off;                                              \
        c##r##0 = load_part(c, nr);                                                       \
        c##r##1 = load_part(c + 4, nr - 4);                                               \
        c##r##2 = load_part(c + 8, nr - 8);                                               \
        c##r##3 = load_part(c + 12, nr - 12);                                             \
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
            const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
            const float32x4_t b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
#define ROW(r)                                                                            \
    {                                                                                     \
        const float v = a##r[k];                                                          \
        c##r##0 = vfmaq_n_f32(c##r##0, b0, v);                                            \
        c##r##1 = vfmaq_n_f32(c##r##1, b1, v);                                            \
        c##r##2 = vfmaq_n_f32(c##r##2, b2, v);                                            \
        c##r##3 = vfmaq_n_f32(c##r##3, b3, v);                                            \
    }
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
        }
    }
#define STOREC(r)                                                                         \
    if (mr > r) {                                                                         \
        float *c = dc_ukr_crow(u, r) + u->c_off;                                                    \
        if (nr == 16) {                                                                   \
            vst1q_f32(c, c##r##0);                                                        \
            vst1q_f32(c + 4, c##r##1);                                                    \
            vst1q_f32(c + 8, c##r##2);                                                    \
            vst1q_f32(c + 12, c##r##3);                                                   \
        } else {                                                                          \
            store_part(c, c##r##0, nr);                                                   \
            store_part(c + 4, c##r##1, nr - 4);                                           \
            store_part(c + 8, c##r##2, nr - 8);                                           \
            store_part(c + 12, c##r##3, nr - 12);                                         \
        }                                                                                 \
    }
    STOREC(0) STOREC(1) STOREC(2) STOREC(3) STOREC(4) STOREC(5)
#undef STOREC
}

#else
/* Keeps this translation unit non-empty (ISO C) on targets without these kernels. */
typedef int dc_ukr_neon_unused;
#endif
