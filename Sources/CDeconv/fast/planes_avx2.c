/* fast/planes_avx2.c - AVX2+FMA kernels of conv_planes.c, as planes_avx512.c with 8-lane
 * vectors: tap planes of 8-pixel blocks (an 8x8 register transpose, then one FMA per channel
 * and plane), and the per-line sums. AVX2 has no mask registers: lanes a tap does not reach
 * load as +0.0, which leaves every sum as it was (a sum that starts at +0.0 is never -0.0),
 * so the bits are those of planes_avx512.c. Compiled with a target attribute; conv_gemm.c
 * only picks them when the CPU supports AVX2 and FMA. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "fast/transpose_avx2.h"

#define TGT __attribute__((target("avx2,fma")))

/* All-ones in the lanes whose bit is set in m (8 bits). */
TGT static inline __m256i lane_mask(unsigned m) {
    const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i v = _mm256_and_si256(_mm256_set1_epi32((int)m), bits);
    return _mm256_cmpeq_epi32(v, bits);
}

/* The first n of 8 lanes (n may be <= 0 or >= 8). */
TGT static inline __m256i first_lanes(int64_t n) {
    return lane_mask(n <= 0 ? 0u : n >= 8 ? 0xffu : (1u << n) - 1u);
}

/* The nt planes from t0 of a block at pixel i0 (np pixels) that holds pixels from u->split
 * on: lanes [0, k) at p, lanes [max(k, 0), np) moved down to the first lanes at p2
 * (fast.h). Once per image, so out of line. */
TGT static __attribute__((noinline)) void store_split(const dc_planes_args *u, int64_t t0,
                                                      int nt, int64_t i0, int64_t np,
                                                      const __m256 *acc) {
    const int64_t k = u->split - i0, sh = k > 0 ? k : 0;
    float *p = u->p + t0 * u->p_stride + i0;
    float *p2 = u->p2 + t0 * u->p_stride + (k > 0 ? 0 : -k);
    const __m256i m1 = first_lanes(k < np ? k : np), m2 = first_lanes(np - sh);
    const __m256i down =
        _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)sh));
    for (int t = 0; t < nt; t++) {
        _mm256_maskstore_ps(p + t * u->p_stride, m1, acc[t]);
        _mm256_maskstore_ps(p2 + t * u->p_stride, m2, _mm256_permutevar8x32_ps(acc[t], down));
    }
}

/* Planes t0 .. t0 + NT of the block at pixel i0 (its channels transposed in xt). */
TGT static inline __attribute__((always_inline)) void
planes_chunk(const dc_planes_args *u, const float *xt, int64_t i0, int64_t t0, const int NT,
             int64_t np) {
    __m256 acc[DC_PLANES_PASS_MAX];
#pragma GCC unroll 12
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
    const float *w = u->w + t0;
    for (int64_t c = 0; c < u->cin; c++, w += u->ntaps) {
        const __m256 v = _mm256_load_ps(xt + c * 8);
#pragma GCC unroll 12
        for (int t = 0; t < NT; t++)
            acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + t), v, acc[t]);
    }
    if (u->split - i0 < 8) { /* the rest go to p2 */
        /* a copy for the call: acc's own address never escapes, so it stays in registers */
        __m256 tmp[DC_PLANES_PASS_MAX];
#pragma GCC unroll 12
        for (int t = 0; t < NT; t++) tmp[t] = acc[t];
        store_split(u, t0, NT, i0, np, tmp);
        return;
    }
    float *p = u->p + t0 * u->p_stride + i0;
    if (np == 8) {
#pragma GCC unroll 12
        for (int t = 0; t < NT; t++) _mm256_storeu_ps(p + t * u->p_stride, acc[t]);
    } else {
        const __m256i m = first_lanes(np);
#pragma GCC unroll 12
        for (int t = 0; t < NT; t++) _mm256_maskstore_ps(p + t * u->p_stride, m, acc[t]);
    }
}

TGT static void dc_planes_avx2(const dc_planes_args *u) {
    float *xt = u->scratch;
    const int64_t cin = u->cin;
    for (int64_t i0 = 0; i0 < u->pixels; i0 += 8) {
        const int64_t np = u->pixels - i0 < 8 ? u->pixels - i0 : 8;
        for (int64_t c0 = 0; c0 < cin; c0 += 8) {
            const float *x = u->x + i0 * cin + c0;
            const int64_t nc = cin - c0 < 8 ? cin - c0 : 8;
            __m256 r[8];
            if (np == 8 && nc == 8) { /* no test per row or channel */
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(x + i * cin);
            } else {
                const __m256i cm = first_lanes(nc);
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    r[i] = i < np ? _mm256_maskload_ps(x + i * cin, cm) : _mm256_setzero_ps();
            }
            dc_transpose8(r);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                if (j < nc) _mm256_store_ps(xt + (c0 + j) * 8, r[j]);
        }
        /* the planes in passes of at most DC_PLANES_PASS_MAX, evened out */
#define PASS(t0, n) planes_chunk(u, xt, i0, t0, n, np)
        DC_PLANES_PASSES(u->ntaps, PASS)
#undef PASS
    }
}

/* Phase sums of the 8 outputs from 8h of 16-output block b: taps in order, each on the lanes
 * its mask gives (the others add +0.0). */
TGT static inline __m256 line_sums(const float *p, int64_t at, const dc_planes_tap *tp, int32_t n,
                                   int64_t b, int h) {
    __m256 s = _mm256_setzero_ps();
    for (int32_t t = 0; t < n; t++) {
        const unsigned m = (unsigned)(tp[t].mask[b] >> (8 * h)) & 0xffu;
        s = _mm256_add_ps(s, _mm256_maskload_ps(p + (at + tp[t].off), lane_mask(m)));
    }
    return s;
}

/* Stores the first n (<= 8) lanes of v at y. */
TGT static inline void store_first(float *y, __m256 v, int64_t n) {
    if (n >= 8)
        _mm256_storeu_ps(y, v);
    else if (n > 0)
        _mm256_maskstore_ps(y, first_lanes(n), v);
}

TGT static void dc_planes_lines_avx2(const dc_planes_lines *l) {
    const float *p = l->p;
    const int64_t out = l->out, nc = l->nc, s1 = l->s1, step = l->row_step, ys = l->y_stride;
    const int64_t per = l->nph == 2 ? 16 : 8; /* pixels per 8 sums of each phase */
    int64_t r = l->r0, base = l->base;
    float *y = l->y;
    for (int64_t o = 0; o < l->lines; o++, y += ys) {
        const dc_planes_tap *t0 = l->taps[2 * r], *t1 = l->taps[2 * r + 1];
        const int32_t n0 = l->ntaps[2 * r], n1 = l->ntaps[2 * r + 1];
        for (int64_t e = 0; per * e < out; e++) { /* 8 sums of each phase from q = 8e */
            const int64_t b = e / 2, h = (int)(e % 2), npix = out - per * e;
            float v[4][16];
            for (int64_t co = 0; co < nc; co++) {
                const int64_t at = base + co * l->co_step + 8 * e;
                const __m256 a = line_sums(p, at, t0, n0, b, (int)h);
                __m256 lo = a, hi = a;
                if (l->nph == 2) { /* a0 c0 a1 c1 ... */
                    const __m256 c = line_sums(p, at, t1, n1, b, (int)h);
                    const __m256 u0 = _mm256_unpacklo_ps(a, c), u1 = _mm256_unpackhi_ps(a, c);
                    lo = _mm256_permute2f128_ps(u0, u1, 0x20);
                    hi = _mm256_permute2f128_ps(u0, u1, 0x31);
                }
                if (nc == 1) {
                    store_first(y + per * e, lo, npix);
                    if (l->nph == 2) store_first(y + per * e + 8, hi, npix - 8);
                    continue;
                }
                _mm256_storeu_ps(v[co], lo);
                _mm256_storeu_ps(v[co] + 8, hi);
            }
            if (nc == 1) continue;
            /* channels interleaved pixel by pixel (a few % of a 3-channel layer) */
            float *ye = y + per * e * nc;
            for (int64_t x = 0; x < npix && x < per; x++)
                for (int64_t co = 0; co < nc; co++) ye[x * nc + co] = v[co][x];
        }
        if (++r == s1) r = 0, base += step;
    }
}

/* One output channel only: with 2..4 the AVX2 dotn kernels measured faster (fastest calls at
 * 1 thread, dotn vs planes: 32x32x16->2 k4 s2 0.154 vs 0.177 ms, conv 32x32x128->4 k3 1.0 vs
 * 1.3 ms), though these kernels run them correctly (test_planes). */
const dc_planes_kernels DC_PLANES_AVX2 = {dc_planes_avx2, dc_planes_lines_avx2, 1, 8};

#else
/* Keeps this translation unit non-empty (ISO C) on targets without these kernels. */
typedef int dc_planes_avx2_unused;
#endif
