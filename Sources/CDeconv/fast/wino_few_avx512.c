/* fast/wino_few_avx512.c - AVX-512F kernels of conv_wino_few.c: a block of 16 tiles' 49
 * Winograd points over all input channels (transforms in registers, 21 accumulators per
 * pass), its output transform with scattered stores, and the input rows' 16 x 16 transposes.
 * Compiled with a target attribute; conv_gemm.c only picks them when the CPU (and the OS)
 * support AVX-512F. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "fast/transpose_avx512.h"

#define TGT __attribute__((target("avx512f")))
#define NC 3

/* One pass: the dim-1 row (input rows ra and rb combined by sign), the dim-2 transform of its
 * 4-input windows (wino_xform.h's B^T rows: F(2, 3), then F(2, 2) from D2 on), and its 7 x 3
 * sums over the channels. */
#define WF_PASS_BODY(D2)                                                                      \
    for (int64_t c = 0; c < a->cin; c++, xa += rs, xb += rs, u += 7 * NC) {                  \
        __m512 d0 = _mm512_load_ps(xa), d1 = _mm512_load_ps(xa + hs);                        \
        __m512 d2 = _mm512_loadu_ps(xa + 1), d3 = _mm512_loadu_ps(xa + hs + 1);              \
        if (sign > 0) {                                                                       \
            d0 = _mm512_add_ps(d0, _mm512_load_ps(xb));                                       \
            d1 = _mm512_add_ps(d1, _mm512_load_ps(xb + hs));                                  \
            d2 = _mm512_add_ps(d2, _mm512_loadu_ps(xb + 1));                                  \
            d3 = _mm512_add_ps(d3, _mm512_loadu_ps(xb + hs + 1));                             \
        } else if (sign < 0) {                                                                \
            d0 = _mm512_sub_ps(d0, _mm512_load_ps(xb));                                       \
            d1 = _mm512_sub_ps(d1, _mm512_load_ps(xb + hs));                                  \
            d2 = _mm512_sub_ps(d2, _mm512_loadu_ps(xb + 1));                                  \
            d3 = _mm512_sub_ps(d3, _mm512_loadu_ps(xb + hs + 1));                             \
        }                                                                                     \
        __m512 v[7];                                                                          \
        v[0] = _mm512_sub_ps(d0, d2);                                                         \
        v[1] = _mm512_add_ps(d1, d2);                                                         \
        v[2] = _mm512_sub_ps(d2, d1);                                                         \
        v[3] = _mm512_sub_ps(d1, d3);                                                         \
        if ((D2) == 0) {                                                                      \
            v[4] = _mm512_sub_ps(d0, d1);                                                     \
            v[5] = d1;                                                                        \
            v[6] = v[2];                                                                      \
        } else {                                                                              \
            v[4] = _mm512_sub_ps(d1, d2);                                                     \
            v[5] = d2;                                                                        \
            v[6] = _mm512_sub_ps(d3, d2);                                                     \
        }                                                                                     \
        _Pragma("GCC unroll 7") for (int j = 0; j < 7; j++)                                  \
            _Pragma("GCC unroll 3") for (int co = 0; co < NC; co++)                           \
                acc[j][co] = _mm512_fmadd_ps(v[j], _mm512_set1_ps(u[j * NC + co]), acc[j][co]); \
    }

TGT static inline __attribute__((always_inline)) void pass_run(const dc_wino_few_args *a,
                                                               int ps, const int d2) {
    const int64_t rs = a->row_stride, hs = a->half_stride;
    const signed char *pd = a->pass[ps];
    const int sign = pd[2];
    const float *xa = a->rows[pd[0]], *xb = a->rows[sign ? pd[1] : pd[0]];
    const float *u = a->u + (int64_t)ps * a->cin * 7 * NC;
    __m512 acc[7][NC];
#pragma GCC unroll 7
    for (int j = 0; j < 7; j++)
#pragma GCC unroll 3
        for (int co = 0; co < NC; co++) acc[j][co] = _mm512_setzero_ps();
    if (d2 == 0) {
        WF_PASS_BODY(0)
    } else {
        WF_PASS_BODY(1)
    }
    float *m = a->m + (int64_t)ps * 7 * NC * 16;
#pragma GCC unroll 7
    for (int j = 0; j < 7; j++)
#pragma GCC unroll 3
        for (int co = 0; co < NC; co++) _mm512_store_ps(m + (j * NC + co) * 16, acc[j][co]);
}

TGT void dc_wino_few_block_avx512(const dc_wino_few_args *a) {
    for (int ps = 0; ps < 7; ps++) {
        if (a->delta2)
            pass_run(a, ps, 1);
        else
            pass_run(a, ps, 0);
    }
}

/* wino_xform.h's A^T along one dim: 4 points (F(2, 3)) or 3 (F(2, 2)). */
TGT static inline void at2(int alpha, const __m512 *m, __m512 *y0, __m512 *y1) {
    if (alpha == 4) {
        *y0 = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
        *y1 = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
    } else {
        *y0 = _mm512_add_ps(m[0], m[1]);
        *y1 = _mm512_add_ps(m[1], m[2]);
    }
}

TGT void dc_wino_few_out_avx512(const dc_wino_few_out *o) {
    const __m512i lane = _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi32(4 * NC));
    const __m512i two = _mm512_set1_epi32(2);
    for (int A = 0; A < 2; A++) {         /* dim-1 type: passes 0..3 (F(2, 3)) or 4..6 */
        const int a1 = A ? 3 : 4, p0 = A ? 4 : 0;
        for (int B = 0; B < 2; B++) {     /* dim-2 type: points 0..3 or 4..6 */
            const int a2 = B ? 3 : 4, j0 = B ? 4 : 0;
            /* lanes whose dim-2 positions q2 + 2 lane + k are inside */
            __mmask16 in[2];
            for (int k = 0; k < 2; k++) {
                const int64_t left = o->nq[1][B] - o->q2 - k; /* positions from lane 0's */
                const __m512i idx = _mm512_mullo_epi32(
                    _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), two);
                in[k] = left <= 0 ? 0
                        : left > 32 ? (__mmask16)0xFFFF
                                    : _mm512_cmplt_epi32_mask(idx, _mm512_set1_epi32((int)left));
            }
            for (int co = 0; co < NC; co++) {
                __m512 t[2][4]; /* after dim 2: [dim-2 output k][dim-1 point] */
                for (int i = 0; i < a1; i++) {
                    __m512 m[4];
                    for (int j = 0; j < a2; j++)
                        m[j] = _mm512_load_ps(o->m + (((p0 + i) * 7 + j0 + j) * NC + co) * 16);
                    at2(a2, m, &t[0][i], &t[1][i]);
                }
                for (int k = 0; k < 2; k++) {
                    __m512 y[2];
                    at2(a1, t[k], &y[0], &y[1]);
                    for (int i = 0; i < 2; i++) {
                        const int64_t q1 = o->q1 + i;
                        if (q1 >= o->nq[0][A] || !in[k]) continue;
                        float *dst = o->y + (2 * q1 + o->r[0][A]) * o->y_row +
                                     (2 * (o->q2 + k) + o->r[1][B]) * NC + co;
                        _mm512_mask_i32scatter_ps(dst, in[k], lane, y[i], 4);
                    }
                }
            }
        }
    }
}

TGT int dc_wino_few_t16_avx512(const float *const *px, float *d, int64_t d_stride, float xmax) {
    __m512 r[16];
    const __m512 lim = _mm512_set1_ps(xmax);
    __mmask16 ok = 0xFFFF;
    for (int i = 0; i < 16; i++) {
        r[i] = px[i] ? _mm512_loadu_ps(px[i]) : _mm512_setzero_ps();
        ok &= _mm512_cmp_ps_mask(_mm512_abs_ps(r[i]), lim, _CMP_LE_OQ); /* NaN: false */
    }
    dc_transpose16(r);
    for (int c = 0; c < 16; c++) _mm512_store_ps(d + c * d_stride, r[c]);
    return ok == 0xFFFF;
}
#endif
