/* fast/wino_few_avx512.c - AVX-512F kernels of conv_wino_few.c: a block of 16 tiles' 49
 * Winograd points over all input channels (transforms in registers, 21 accumulators per
 * pass), its output transform (a 16 x 16 transpose per output row, then masked stores), and
 * the input rows' 16 x 16 transposes. Compiled with a target attribute; conv_gemm.c only
 * picks them when the CPU (and the OS) support AVX-512F. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "fast/transpose_avx512.h"
#include "fast/wino_rows.h"

#define TGT __attribute__((target("avx512f")))
#define NC 3

/* One pass: the dim-1 row (input rows ra and rb combined by sign), the dim-2 transform of its
 * 4-input windows (wino_xform.h's B^T rows: F(2, 3), then F(2, 2) from D2 on), and its 7 x 3
 * sums over the channels. */
#define WF_PASS_BODY(D2)                                                                      \
    for (int64_t c = 0; c < a->cin; c++, xa += rs, xb += rs, u += 7 * NC) {                  \
        if (pfi + c < a->pf_lines) _mm_prefetch(a->pf + 64 * (pfi + c), _MM_HINT_T1);         \
        __m512 d0 = _mm512_loadu_ps(xa + o0), d1 = _mm512_loadu_ps(xa + o1);                 \
        __m512 d2 = _mm512_loadu_ps(xa + o2), d3 = _mm512_loadu_ps(xa + o3);                 \
        if (sign > 0) {                                                                       \
            d0 = _mm512_add_ps(d0, _mm512_loadu_ps(xb + o0));                                 \
            d1 = _mm512_add_ps(d1, _mm512_loadu_ps(xb + o1));                                 \
            d2 = _mm512_add_ps(d2, _mm512_loadu_ps(xb + o2));                                 \
            d3 = _mm512_add_ps(d3, _mm512_loadu_ps(xb + o3));                                 \
        } else if (sign < 0) {                                                                \
            d0 = _mm512_sub_ps(d0, _mm512_loadu_ps(xb + o0));                                 \
            d1 = _mm512_sub_ps(d1, _mm512_loadu_ps(xb + o1));                                 \
            d2 = _mm512_sub_ps(d2, _mm512_loadu_ps(xb + o2));                                 \
            d3 = _mm512_sub_ps(d3, _mm512_loadu_ps(xb + o3));                                 \
        }                                                                                     \
        const __m512 d[4] = {d0, d1, d2, d3};                                                 \
        __m512 v[7];                                                                          \
        WX_BT(__m512, 4, d, 1, v, 1);                                                         \
        WX_BT(__m512, 3, d + (D2), 1, v + 4, 1);                                              \
        _Pragma("GCC unroll 7") for (int j = 0; j < 7; j++)                                  \
            _Pragma("GCC unroll 3") for (int co = 0; co < NC; co++)                           \
                acc[j][co] = _mm512_fmadd_ps(v[j], _mm512_set1_ps(u[j * NC + co]), acc[j][co]); \
    }

TGT static inline __attribute__((always_inline)) void pass_run(const dc_wino_few_args *a,
                                                               int ps, const int d2) {
    const int64_t rs = a->row_stride;
    const int64_t o0 = a->doff[0], o1 = a->doff[1], o2 = a->doff[2], o3 = a->doff[3];
    const signed char *pd = a->pass[ps];
    const int sign = pd[2];
    const float *xa = a->rows[pd[0]], *xb = a->rows[sign ? pd[1] : pd[0]];
    const float *u = a->u + (int64_t)ps * a->cin * 7 * NC;
    const int64_t pfi = (int64_t)ps * a->cin; /* this pass's prefetch lines */
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

/* The output transform, one output row at a time: its 3 channels x 4 columns per tile (the
 * two phases along dim 2, two outputs each) are 12 vectors along the tiles, which a 16 x 16
 * transpose turns into each tile's 12 consecutive floats of the row. */
TGT void dc_wino_few_out_avx512(const dc_wino_few_out *o) {
    const int64_t cols = 2 * (o->q2 + 16 * 2) <= o->ow ? 64 : o->ow - 2 * o->q2;
#pragma GCC unroll 2
    for (int A = 0; A < 2; A++) {         /* dim-1 type: passes 0..3 (F(2, 3)) or 4..6 */
        const int a1 = A ? 3 : 4, p0 = A ? 4 : 0;
        __m512 row[2][16];                /* [i][3 * (2 k + r2) + co], then transposed */
#pragma GCC unroll 2
        for (int B = 0; B < 2; B++) {     /* dim-2 type: points 0..3 or 4..6 */
            const int a2 = B ? 3 : 4, j0 = B ? 4 : 0;
            const int64_t r2 = o->r[1][B];
#pragma GCC unroll 3
            for (int co = 0; co < NC; co++) {
                __m512 t[2][4]; /* A^T along dim 1 first, as wino_xform.h: [output i][point j] */
#pragma GCC unroll 4
                for (int j = 0; j < a2; j++) {
                    __m512 m[4];
#pragma GCC unroll 4
                    for (int i = 0; i < a1; i++)
                        m[i] = _mm512_load_ps(o->m + (((p0 + i) * 7 + j0 + j) * NC + co) * 16);
                    WX_AT(a1, m, 1, t[0][j], t[1][j]);
                }
#pragma GCC unroll 2
                for (int i = 0; i < 2; i++) {
                    __m512 y0, y1;
                    WX_AT(a2, t[i], 1, y0, y1);
                    row[i][3 * r2 + co] = y0;
                    row[i][3 * (2 + r2) + co] = y1;
                }
            }
        }
        for (int i = 0; i < 2; i++) {
            const int64_t q1 = o->q1 + i;
            if (q1 >= o->nq[0][A]) continue;
            for (int j = 12; j < 16; j++) row[i][j] = _mm512_setzero_ps();
            dc_transpose16(row[i]);
            /* tile l's outputs: columns 2 q2 + 4 l .. + 3 of the row, 3 floats each */
            float *dst = o->y + (2 * q1 + o->r[0][A]) * o->y_row + 2 * o->q2 * NC;
            for (int64_t l = 0; l < 16 && 4 * l < cols; l++) {
                const int64_t n = cols - 4 * l >= 4 ? 12 : NC * (cols - 4 * l);
                _mm512_mask_storeu_ps(dst + 12 * l, (__mmask16)((1u << n) - 1u), row[i][l]);
            }
        }
    }
}

TGT int dc_wino_few_row_avx512(const dc_wino_few_row *r) {
    const int64_t cin = r->cin, rs = r->row_stride;
    /* |x| as an int32 is ordered like |x| (NaN and inf above every finite value): a max over
     * the row, one compare at the end */
    const __m512i mag = _mm512_set1_epi32(0x7FFFFFFF);
    __m512i hi = _mm512_setzero_si512();
    for (int64_t par = 0; par < 2; par++)
        for (int64_t k = 0; 32 * k + par < r->w; k++) {
            const float *px[16];
            for (int i = 0; i < 16; i++) {
                const int64_t col = 2 * (16 * k + i) + par;
                px[i] = col < r->w ? r->x + col * cin : NULL;
            }
            float *dk = r->d + par * r->half_stride + 16 * k;
            for (int64_t cb = 0; cb < cin; cb += 16) {
                __m512 v[16];
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) {
                    v[i] = px[i] ? _mm512_loadu_ps(px[i] + cb) : _mm512_setzero_ps();
                    hi = _mm512_max_epi32(hi, _mm512_and_epi32(_mm512_castps_si512(v[i]), mag));
                }
                dc_transpose16(v);
                float *d = dk + cb * rs;
#pragma GCC unroll 16
                for (int c = 0; c < 16; c++) _mm512_store_ps(d + c * rs, v[c]);
            }
        }
    union { float f; int32_t i; } lim;
    lim.f = r->xmax;
    return _mm512_cmpgt_epi32_mask(hi, _mm512_set1_epi32(lim.i)) == 0;
}
#endif
