/* fast/ukr_avx512.c - AVX-512F GEMM micro-kernels (8 x 32; 6 x 64 for 64s of output
 * channels; 7 x 32 for short reductions) and the dotn kernel. Same contract and the same
 * summation order as dc_ukr_gemm_avx2 (per output element: taps in order, channels in order,
 * one FMA each), so every tile shape and level gives the same bits; these issue half the
 * instructions per FLOP (one zmm FMA per 16 products, A broadcast folded into the FMA).
 * Tails use AVX-512 mask registers: nothing past a row is ever touched. Compiled with a
 * target attribute; cpu.c only picks them when the CPU (and the OS) support AVX-512F. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f")))

/* Mask of the first n of 16 lanes (n may be <= 0 or >= 16). */
TGT static inline __mmask16 lanes16(int n) {
    return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* One MR x 32 tile: 2 * MR accumulators, 2 B vectors; A is broadcast from memory by each FMA.
 * Rows are ROWS(X) lists of row indices, so the 8-row and 14-row kernels share one body. */
#define ACC_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define ACC_LOAD(r)                                                                        \
    if (mr > r) {                                                                          \
        c##r##0 = _mm512_maskz_loadu_ps(m0, dc_ukr_crow(u, r) + u->c_off);                           \
        c##r##1 = _mm512_maskz_loadu_ps(m1, dc_ukr_crow(u, r) + u->c_off + 16);                      \
    }
/* The tile's output lines are usually not in cache: ask for them now, so the stores at the
 * end do not wait for them. */
#define ACC_PREF(r)                                                                        \
    if (mr > r) {                                                                          \
        _mm_prefetch((const char *)(dc_ukr_crow(u, r) + u->c_off), _MM_HINT_T0);                     \
        _mm_prefetch((const char *)(dc_ukr_crow(u, r) + u->c_off + 16), _MM_HINT_T0);                \
    }
#define A_ROW(r) const float *a##r = dc_ukr_row(u, ap, r);
#define FMA_ROW(r)                                                                         \
    {                                                                                      \
        const __m512 v = _mm512_set1_ps(a##r[k]);                                          \
        c##r##0 = _mm512_fmadd_ps(v, b0, c##r##0);                                         \
        c##r##1 = _mm512_fmadd_ps(v, b1, c##r##1);                                         \
    }
#define STORE_FULL(r)                                                                      \
    if (mr > r) {                                                                          \
        _mm512_storeu_ps(dc_ukr_crow(u, r) + u->c_off, c##r##0);                                     \
        _mm512_storeu_ps(dc_ukr_crow(u, r) + u->c_off + 16, c##r##1);                                \
    }
#define STORE_MASK(r)                                                                      \
    if (mr > r) {                                                                          \
        _mm512_mask_storeu_ps(dc_ukr_crow(u, r) + u->c_off, m0, c##r##0);                            \
        _mm512_mask_storeu_ps(dc_ukr_crow(u, r) + u->c_off + 16, m1, c##r##1);                       \
    }
#define GEMM_KERNEL(NAME, MR, ROWS)                                                        \
    TGT void NAME(const dc_ukr_args *u) {                                                  \
        ROWS(ACC_DECL)                                                                     \
        const __mmask16 m0 = lanes16(u->nr), m1 = lanes16(u->nr - 16);                     \
        const int mr = u->mr;                                                              \
        if (!u->first) {                                                                   \
            ROWS(ACC_LOAD)                                                                 \
        } else {                                                                           \
            ROWS(ACC_PREF)                                                                 \
        }                                                                                  \
        const int64_t kc = u->kc;                                                          \
        for (int32_t t = 0; t < u->ntaps; t++) {                                           \
            const float *b = u->b + (int64_t)u->tap[t] * kc * 32;                          \
            const float *const *ap = u->a + (int64_t)t * MR;                               \
            ROWS(A_ROW)                                                                    \
            for (int64_t k = 0; k < kc; k++, b += 32) {                                    \
                const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);        \
                ROWS(FMA_ROW)                                                              \
            }                                                                              \
        }                                                                                  \
        if (u->nr == 32) {                                                                 \
            ROWS(STORE_FULL)                                                               \
        } else {                                                                           \
            ROWS(STORE_MASK)                                                               \
        }                                                                                  \
    }

#define ROWS8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* 8 x 32: 16 accumulators; the implicit GEMM's and conv_col's tile. */
GEMM_KERNEL(dc_ukr_gemm_avx512, 8, ROWS8)

/* ---- 6 x 64: the implicit GEMM's tile where output channels come in 64s ---------------
 * 24 accumulators, 4 B vectors and one broadcast: 10 loads per 24 FMAs where 8 x 32 needs 10
 * per 16. On a 2-FMA-port Intel core (Xeon, 2 x 512-bit FMA), whose 8 x 32 kernel reached
 * about 82% of the FMA peak with its weights streaming from L2, this tile took the suite's
 * large layers (vgg3x3, unet_up, fcn_k4, down_s2, lenet_c2, dcgan3) 5-7% faster. Same
 * products in the same order as the other kernels, so the same bits. */
#define WIDE_MR DC_AVX512_WIDE_MR
/* Channel k of the tile's rows ar times B row b (64 floats) into acc. */
TGT static inline __attribute__((always_inline)) void wide_k(__m512 acc[WIDE_MR][4],
                                                              const float *const *ar,
                                                              const float *b, int64_t k) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    const __m512 b2 = _mm512_loadu_ps(b + 32), b3 = _mm512_loadu_ps(b + 48);
#pragma GCC unroll 8
    for (int r = 0; r < WIDE_MR; r++) {
        const __m512 x = _mm512_set1_ps(ar[r][k]);
        acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
        acc[r][2] = _mm512_fmadd_ps(x, b2, acc[r][2]);
        acc[r][3] = _mm512_fmadd_ps(x, b3, acc[r][3]);
    }
}

/* The reduction of one 6 x 64 tile into acc. PF: also bring u->pf's lines into L2, one line
 * per two k. Spread out like this they cost the tile nothing measurable. Asked for in a burst
 * (before each tile, or at each tap) they made a unit's first tile fast too, but the others
 * slower (they hold line fill buffers that the weights' own stream from L2 needs): no gain. */
TGT static inline __attribute__((always_inline)) void wide_taps(const dc_ukr_args *u,
                                                                 __m512 acc[WIDE_MR][4],
                                                                 const int PF) {
    const int64_t kc = u->kc;
    const char *pf = u->pf, *const pf_last = PF ? u->pf + (u->pf_lines - 1) * 64 : NULL;
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *b = u->b + (int64_t)u->tap[t] * kc * 64;
        const float *const *ap = u->a + (int64_t)t * WIDE_MR;
        const float *ar[WIDE_MR];
#pragma GCC unroll 8
        for (int r = 0; r < WIDE_MR; r++) ar[r] = dc_ukr_row(u, ap, r);
        /* two k per iteration: 1.5-5% on the suite's large layers over one */
        int64_t k = 0;
        for (; k + 1 < kc; k += 2, b += 128) {
            wide_k(acc, ar, b, k);
            if (PF) { /* the last line again once all are asked for */
                _mm_prefetch(pf, _MM_HINT_T1);
                pf = pf < pf_last ? pf + 64 : pf;
            }
            wide_k(acc, ar, b + 64, k + 1);
        }
        if (k < kc) wide_k(acc, ar, b, k);
    }
}

TGT void dc_ukr_gemm_avx512_wide(const dc_ukr_args *u) {
    __m512 acc[WIDE_MR][4];
    __mmask16 m[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) m[v] = lanes16(u->nr - 16 * v);
    const int mr = u->mr;
#pragma GCC unroll 8
    for (int r = 0; r < WIDE_MR; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
        if (r >= mr) continue;
        float *c = dc_ukr_crow(u, r) + u->c_off;
        if (!u->first) {
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) acc[r][v] = _mm512_maskz_loadu_ps(m[v], c + 16 * v);
        } else { /* see ACC_PREF */
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) _mm_prefetch((const char *)(c + 16 * v), _MM_HINT_T0);
        }
    }
    if (u->pf_lines > 0)
        wide_taps(u, acc, 1);
    else
        wide_taps(u, acc, 0);
#pragma GCC unroll 8
    for (int r = 0; r < WIDE_MR; r++) {
        if (r >= mr) continue;
        float *c = dc_ukr_crow(u, r) + u->c_off;
        if (u->nr == 64) {
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) _mm512_storeu_ps(c + 16 * v, acc[r][v]);
        } else {
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(c + 16 * v, m[v], acc[r][v]);
        }
    }
}
/* ---- 7 x 32 for conv_im2col's short reductions (lenet_c1: 5 tap rows of kc = 5) ----------
 * With kc this short the generic loop's overheads (a loop per tap row, and gcc turning the
 * row addresses into dozens of precomputed offsets, spilled) cost as much as the FMAs: on a
 * 2-FMA-port Intel core the 8 x 32 kernel ran 5 x 5 reductions at 65% of the FMA peak. Here
 * kc = 1..9 each get a body with every k unrolled (the loads take constant displacements
 * from one pointer per row) and others the generic loop. 7 rows: 14 accumulators, and
 * 28-pixel lines are 4 whole tiles. Same products in the same order as every other kernel,
 * so the same bits. */
#define SHORT_MR DC_AVX512_SHORT_MR
#define SHORT_KC_MAX 9

/* The products of channel k of one tap row into the 7 x 2 accumulators. */
#define SHORT_STEP(k)                                                                      \
    {                                                                                      \
        const __m512 b0 = _mm512_loadu_ps(b + (k) * 32), b1 = _mm512_loadu_ps(b + (k) * 32 + 16); \
        _Pragma("GCC unroll 7") for (int r = 0; r < SHORT_MR; r++) {                       \
            const __m512 v = _mm512_set1_ps(ar[r][k]);                                     \
            acc[r][0] = _mm512_fmadd_ps(v, b0, acc[r][0]);                                 \
            acc[r][1] = _mm512_fmadd_ps(v, b1, acc[r][1]);                                 \
        }                                                                                  \
    }

/* One tile; KC > 0: kc is that constant, 0: u->kc at run time. */
TGT static inline __attribute__((always_inline)) void short_tile(const dc_ukr_args *u,
                                                                  const int KC) {
    __m512 acc[SHORT_MR][2];
    const __mmask16 m0 = lanes16(u->nr), m1 = lanes16(u->nr - 16);
    const int mr = u->mr;
#pragma GCC unroll 7
    for (int r = 0; r < SHORT_MR; r++) {
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        if (r >= mr) continue;
        float *c = dc_ukr_crow(u, r) + u->c_off;
        if (!u->first) {
            acc[r][0] = _mm512_maskz_loadu_ps(m0, c);
            acc[r][1] = _mm512_maskz_loadu_ps(m1, c + 16);
        } else { /* see ACC_PREF */
            _mm_prefetch((const char *)c, _MM_HINT_T0);
            _mm_prefetch((const char *)(c + 16), _MM_HINT_T0);
        }
    }
    const int64_t kc = KC ? KC : u->kc;
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *b = u->b + (int64_t)u->tap[t] * kc * 32;
        const float *const *ap = u->a + (int64_t)t * SHORT_MR;
        const float *ar[SHORT_MR];
#pragma GCC unroll 7
        for (int r = 0; r < SHORT_MR; r++) {
            ar[r] = dc_ukr_row(u, ap, r);
            /* opaque: keeps gcc from folding r * a_stride + k into a precomputed offset per
             * (row, k), which it then spilled */
            __asm__("" : "+r"(ar[r]));
        }
        if (KC) {
#pragma GCC unroll 9
            for (int k = 0; k < KC; k++) SHORT_STEP(k)
        } else {
            for (int64_t k = 0; k < kc; k++) SHORT_STEP(k)
        }
    }
#pragma GCC unroll 7
    for (int r = 0; r < SHORT_MR; r++) {
        if (r >= mr) continue;
        float *c = dc_ukr_crow(u, r) + u->c_off;
        if (u->nr == 32) {
            _mm512_storeu_ps(c, acc[r][0]);
            _mm512_storeu_ps(c + 16, acc[r][1]);
        } else {
            _mm512_mask_storeu_ps(c, m0, acc[r][0]);
            _mm512_mask_storeu_ps(c + 16, m1, acc[r][1]);
        }
    }
}

/* A whole tile (7 rows, 32 columns, from zero, rows c_stride apart) whose reduction is fixed
 * at compile time: at most NT taps (fewer on a conv's edge lines, whose taps in the padding
 * are left out) packed one after another in b, tap rows of KC floats ST floats apart
 * (lenet_c1: KC = 5, ST = 1, NT = 5). Every load is then a constant offset from one pointer
 * per tap (a per-tap pointer into b cost lenet_c1 about 7%), and gcc loads each input float
 * once per tap where rows overlap (ST < KC): 11 broadcasts feed lenet_c1's 70 FMAs per tap
 * instead of 35. lenet_c1 at 1 thread on a 2-FMA-port Intel core: 0.58 ms with the 14 x 32
 * generic kernel, 0.45 ms with this one. The first LZ and the last RZ floats of every tap
 * row's window (7 rows ST apart, KC floats each) are padding (dc_ukr_args.zl, zr) and their
 * products are left out: a 28-pixel line's first and last tiles of lenet_c1 skip 3 of their 35
 * (row, k) pairs per tap row. */
TGT static inline __attribute__((always_inline)) void short_fixed(const dc_ukr_args *u,
                                                                   const int KC, const int ST,
                                                                   const int NT, const int LZ,
                                                                   const int RZ, int64_t a_off,
                                                                   float *c) {
    __m512 acc[SHORT_MR][2];
#pragma GCC unroll 7
    for (int r = 0; r < SHORT_MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const float *b = u->b + (int64_t)u->tap[0] * KC * 32;
#pragma GCC unroll 9
    for (int t = 0; t < NT; t++, b += KC * 32) {
        if (t == u->ntaps) break;
        const float *a = u->a[t * SHORT_MR] + a_off;
#pragma GCC unroll 9
        for (int k = 0; k < KC; k++) {
            const __m512 b0 = _mm512_loadu_ps(b + k * 32), b1 = _mm512_loadu_ps(b + k * 32 + 16);
#pragma GCC unroll 7
            for (int r = 0; r < SHORT_MR; r++) {
                if (r * ST + k < LZ || r * ST + k >= (SHORT_MR - 1) * ST + KC - RZ) continue;
                const __m512 v = _mm512_set1_ps(a[r * ST + k]);
                acc[r][0] = _mm512_fmadd_ps(v, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(v, b1, acc[r][1]);
            }
        }
    }
#pragma GCC unroll 7
    for (int r = 0; r < SHORT_MR; r++) {
        _mm512_storeu_ps(c + r * u->c_stride, acc[r][0]);
        _mm512_storeu_ps(c + r * u->c_stride + 16, acc[r][1]);
    }
}

/* The fixed reductions (fast.h), each a separate function, so its registers are allocated
 * alone; it runs `lines` lines of `per` whole tiles (dc_ukr_runs_fn) in one call, as a call
 * per tile cost lenet_c1 about 7% in dispatch and argument setup. A line's first tile with at
 * least SHORT_PAD padding floats before its windows, or its last one with as
 * many after them, takes a body without their products: SHORT_PAD is the padding of a
 * stride-1 SAME conv with the shape's odd kernel row of KC / ST taps of ST channels. */
#define SHORT_FIXED_LIST DC_AVX512_SHORT_FIXED
#define SHORT_PAD(KC, ST) (((KC) / (ST) - 1) / 2 * (ST))
#define SHORT_FIXED_FN(KC, ST, NT)                                                         \
    TGT __attribute__((noinline)) static void short_##KC##_##ST##_##NT(                    \
        const dc_ukr_args *u, int64_t lines, int64_t per) {                                \
        for (int64_t l = 0; l < lines; l++) {                                              \
            float *c = u->c[0] + u->c_off + (lines > 1 ? l * u->c_line : 0);               \
            const int64_t a0 = u->a_off + (lines > 1 ? l * u->a_line : 0);                 \
            for (int64_t j = 0; j < per; j++) {                                            \
                const int64_t ao = a0 + j * SHORT_MR * ST;                                 \
                float *cj = c + j * SHORT_MR * u->c_stride;                                \
                if (j == 0 && u->zl >= SHORT_PAD(KC, ST))                                  \
                    short_fixed(u, KC, ST, NT, SHORT_PAD(KC, ST), 0, ao, cj);              \
                else if (j == per - 1 && u->zr >= SHORT_PAD(KC, ST))                       \
                    short_fixed(u, KC, ST, NT, 0, SHORT_PAD(KC, ST), ao, cj);              \
                else                                                                       \
                    short_fixed(u, KC, ST, NT, 0, 0, ao, cj);                              \
            }                                                                              \
        }                                                                                  \
    }
SHORT_FIXED_LIST(SHORT_FIXED_FN)

/* 1 if u is a whole tile from zero with equally spaced output rows, and its taps are
 * consecutive in b (what short_fixed assumes beyond its constants). */
static int short_fixed_fits(const dc_ukr_args *u) {
    if (u->mr != SHORT_MR || u->nr != 32 || !u->first || !u->c_stride) return 0;
    for (int32_t t = 1; t < u->ntaps; t++)
        if (u->tap[t] != u->tap[0] + t) return 0;
    return 1;
}

/* The fixed body for u, or NULL. */
typedef void (*short_fixed_fn)(const dc_ukr_args *u, int64_t lines, int64_t per);
static short_fixed_fn short_fixed_for(const dc_ukr_args *u) {
#define SHORT_FIXED_CASE(KC, ST, NT)                                                       \
    if (u->kc == KC && u->a_stride == ST && u->ntaps <= NT && short_fixed_fits(u))         \
        return short_##KC##_##ST##_##NT;
    SHORT_FIXED_LIST(SHORT_FIXED_CASE)
#undef SHORT_FIXED_CASE
    return NULL;
}

TGT void dc_ukr_gemm_avx512_short_runs(const dc_ukr_args *u, int64_t tiles) {
    const int64_t per = u->line_tiles ? u->line_tiles : tiles, lines = tiles / per;
    short_fixed_fn fixed = short_fixed_for(u);
    if (fixed) {
        fixed(u, lines, per);
        return;
    }
    dc_ukr_args v = *u;
    float *c;
    v.c = &c;
    for (int64_t l = 0; l < lines; l++)
        for (int64_t j = 0; j < per; j++) {
            c = u->c[0] + (lines > 1 ? l * u->c_line : 0) + j * SHORT_MR * u->c_stride;
            v.a_off = u->a_off + (lines > 1 ? l * u->a_line : 0) + j * SHORT_MR * u->a_stride;
            v.zl = j == 0 ? u->zl : 0;
            v.zr = j == per - 1 ? u->zr : 0;
            dc_ukr_gemm_avx512_short(&v);
        }
}

TGT void dc_ukr_gemm_avx512_short(const dc_ukr_args *u) {
    short_fixed_fn fixed = short_fixed_for(u);
    if (fixed) {
        fixed(u, 1, 1);
        return;
    }
    switch (u->kc) {
    case 1: short_tile(u, 1); break;
    case 2: short_tile(u, 2); break;
    case 3: short_tile(u, 3); break;
    case 4: short_tile(u, 4); break;
    case 5: short_tile(u, 5); break;
    case 6: short_tile(u, 6); break;
    case 7: short_tile(u, 7); break;
    case 8: short_tile(u, 8); break;
    case SHORT_KC_MAX: short_tile(u, SHORT_KC_MAX); break;
    default: short_tile(u, 0); break;
    }
}


/* ---- dotn: 2..4 output channels as dot products (conv_dot1.c) ----------------------------
 * R pixels x NC channels of accumulators, 16 input channels per FMA; each x vector feeds NC
 * FMAs and each weight vector R. The sums are reduced by a fixed tree (each register folded
 * to 8 lanes, then the hadd tree of dc_dot1_avx2), so the bits depend on the problem only. */

/* Lane l of the result is the sum of v[l] (8 registers): ukr_avx2.c's tree (a separate
 * copy: the two files are compiled for different targets). */
TGT static inline __m256 sum8(const __m256 *v) {
    const __m256 h01 = _mm256_hadd_ps(v[0], v[1]), h23 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 h45 = _mm256_hadd_ps(v[4], v[5]), h67 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 q0 = _mm256_hadd_ps(h01, h23), q1 = _mm256_hadd_ps(h45, h67);
    return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20),
                         _mm256_permute2f128_ps(q0, q1, 0x31));
}

TGT static inline __m256 fold(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v),
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* One group of R pixels from row r0: their R * NC sums, pixel-major, into out[]. */
TGT static inline __attribute__((always_inline)) void
dotn_group(const dc_dot1_args *u, int64_t r0, const int R, const int NC, float *out) {
    __m512 s[28];
#pragma GCC unroll 28
    for (int i = 0; i < R * NC; i++) s[i] = _mm512_setzero_ps();
    const int64_t kc = u->kc, st = u->a_stride;
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *x = u->a[t] + u->a_off + r0 * st, *wt = u->w + (int64_t)t * NC * kc;
        for (int64_t k = 0; k < kc; k += 16) {
            __m512 w[4];
#pragma GCC unroll 4
            for (int j = 0; j < NC; j++) w[j] = _mm512_loadu_ps(wt + j * kc + k);
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                __m512 xv = _mm512_loadu_ps(x + r * st + k);
                /* one load feeding NC FMAs: without this the compiler folds the load into
                 * each FMA, NC loads where the load ports are the bottleneck */
                __asm__("" : "+v"(xv));
#pragma GCC unroll 4
                for (int j = 0; j < NC; j++) s[r * NC + j] = _mm512_fmadd_ps(xv, w[j], s[r * NC + j]);
            }
        }
    }
    __m256 f[32];
#pragma GCC unroll 28
    for (int i = 0; i < R * NC; i++) f[i] = fold(s[i]);
#pragma GCC unroll 28
    for (int i = R * NC; i < (R * NC + 7) / 8 * 8; i++) f[i] = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int i = 0; i < R * NC; i += 8) _mm256_storeu_ps(out + i, sum8(f + i));
}

/* Every group of one call: rows in groups of R, each pixel's NC sums to c + row * c_stride. */
TGT static inline __attribute__((always_inline)) void dotn_rows(const dc_dot1_args *u,
                                                                 const int R, const int NC) {
    float v[32];
    for (int64_t r0 = 0; r0 < u->rows; r0 += R) {
        dotn_group(u, r0, R, NC, v);
        dc_dotn_store(u, r0, R, v);
    }
}

TGT void dc_dotn_avx512(const dc_dot1_args *u) {
    if (u->nc == 2)
        dotn_rows(u, DC_DOTN_AVX512_R(2), 2);
    else if (u->nc == 3)
        dotn_rows(u, DC_DOTN_AVX512_R(3), 3);
    else
        dotn_rows(u, DC_DOTN_AVX512_R(4), 4);
}

#else
/* Keeps this translation unit non-empty (ISO C) on targets without these kernels. */
typedef int dc_ukr_avx512_unused;
#endif
