/* fast/wino_xform.h - conv_wino.c's transforms of the input (B^T d B), the output (A^T M A)
 * and the filter (G g G^T), written once with GCC/clang vector extensions and compiled per
 * ISA level (wino_avx512.c, wino_avx2.c, and portable in conv_wino.c): the includer defines
 * WX_TGT (a target attribute or nothing) and WX_NAME(x). Adds, subtracts and halvings in a
 * fixed order, no FMA: every build gives the same bits.
 *
 * Per dim, a tile of 2 outputs of a correlation with nt taps (1..3) reads alpha = nt + 1
 * inputs (2 for nt = 1). B^T d: alpha 4 (F(2,3)): d0 - d2, d1 + d2, d2 - d1, d1 - d3;
 * alpha 3 (F(2,2)): d0 - d1, d1, d2 - d1; alpha 2: d0, d1. A^T m: alpha 4: m0 + m1 + m2,
 * m1 - m2 - m3; alpha 3: m0 + m1, m1 + m2; alpha 2: m0, m1. */
#include <stdint.h>
#include <string.h>

#include "fast/wino_rows.h"

typedef float wx_v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t wx_i16 __attribute__((vector_size(64), aligned(4), may_alias));

#define WX_XMAX 1099511627776.0f /* 2^40, as WINO_XMAX */
#define WX_INLINE static inline __attribute__((always_inline))

/* v[A2 * a + b][c] = (B1^T d B2)[a][b] for channels [0, cin), d[a][b] the A1 x A2 pixels
 * q[A2 * a + b] (padding points at zeros). 0 when a value is not finite or above WX_XMAX in
 * magnitude. */
WX_TGT WX_INLINE int WX_NAME(wx_in_body)(const float *const *q, int64_t cin, float *const *v,
                                          const int A1, const int A2) {
    int64_t c = 0;
    wx_i16 okv = (wx_i16){0} - 1;
    for (; c + 16 <= cin; c += 16) {
        wx_v16 d[16], u[16];
        for (int i = 0; i < A1 * A2; i++) {
            d[i] = *(const wx_v16 *)(q[i] + c);
            const wx_v16 ab = (wx_v16)((wx_i16)d[i] & 0x7fffffff);
            okv &= (wx_i16)(ab <= WX_XMAX);
        }
        for (int b = 0; b < A2; b++) WX_BT(wx_v16, A1, d + b, A2, u + b, A2);
        for (int a = 0; a < A1; a++) {
            wx_v16 o[4];
            WX_BT(wx_v16, A2, u + A2 * a, 1, o, 1);
            for (int b = 0; b < A2; b++) *(wx_v16 *)(v[A2 * a + b] + c) = o[b];
        }
    }
    int ok = 1;
    for (int j = 0; j < 16; j++) ok &= okv[j] != 0;
    for (; c < cin; c++) {
        float d[16], u[16];
        for (int i = 0; i < A1 * A2; i++) {
            d[i] = q[i][c];
            ok &= d[i] <= WX_XMAX && d[i] >= -WX_XMAX;
        }
        for (int b = 0; b < A2; b++) WX_BT(float, A1, d + b, A2, u + b, A2);
        for (int a = 0; a < A1; a++) {
            float o[4];
            WX_BT(float, A2, u + A2 * a, 1, o, 1);
            for (int b = 0; b < A2; b++) v[A2 * a + b][c] = o[b];
        }
    }
    return ok;
}

WX_TGT int WX_NAME(dc_wino_in)(const float *const *q, int a1, int a2, int64_t cin,
                               float *const *v) {
#define WX_IN_CASE(x, y)                                                                    \
    case 8 * (x) + (y): return WX_NAME(wx_in_body)(q, cin, v, x, y);
    switch (8 * a1 + a2) {
        WX_IN_CASE(4, 4) WX_IN_CASE(4, 3) WX_IN_CASE(3, 4) WX_IN_CASE(3, 3)
        WX_IN_CASE(4, 2) WX_IN_CASE(2, 4) WX_IN_CASE(3, 2) WX_IN_CASE(2, 3)
        default: return WX_NAME(wx_in_body)(q, cin, v, 2, 2);
    }
#undef WX_IN_CASE
}

/* The 2 x 2 outputs y[2i + k] (NULL: outside the output) of channels [0, nr) from
 * M[(A2 * a + b) * mstride + j]: y = A1^T M A2. */
WX_TGT WX_INLINE void WX_NAME(wx_out_body)(const float *m, int64_t mstride, int64_t nr,
                                            float *const y[4], const int A1, const int A2) {
    int64_t j = 0;
    for (; j + 16 <= nr; j += 16) {
        wx_v16 mm[16], s[2][4];
        for (int i = 0; i < A1 * A2; i++) mm[i] = *(const wx_v16 *)(m + i * mstride + j);
        for (int b = 0; b < A2; b++) WX_AT(A1, mm + b, A2, s[0][b], s[1][b]);
        for (int i = 0; i < 2; i++) {
            wx_v16 y0, y1;
            WX_AT(A2, s[i], 1, y0, y1);
            if (y[2 * i]) *(wx_v16 *)(y[2 * i] + j) = y0;
            if (y[2 * i + 1]) *(wx_v16 *)(y[2 * i + 1] + j) = y1;
        }
    }
    for (; j < nr; j++) {
        float mm[16], s[2][4];
        for (int i = 0; i < A1 * A2; i++) mm[i] = m[i * mstride + j];
        for (int b = 0; b < A2; b++) WX_AT(A1, mm + b, A2, s[0][b], s[1][b]);
        for (int i = 0; i < 2; i++) {
            float y0, y1;
            WX_AT(A2, s[i], 1, y0, y1);
            if (y[2 * i]) y[2 * i][j] = y0;
            if (y[2 * i + 1]) y[2 * i + 1][j] = y1;
        }
    }
}

WX_TGT void WX_NAME(dc_wino_out)(const float *m, int64_t mstride, int a1, int a2, int64_t nr,
                                 float *const y[4]) {
#define WX_OUT_CASE(x, y_)                                                                  \
    case 8 * (x) + (y_): WX_NAME(wx_out_body)(m, mstride, nr, y, x, y_); return;
    switch (8 * a1 + a2) {
        WX_OUT_CASE(4, 4) WX_OUT_CASE(4, 3) WX_OUT_CASE(3, 4) WX_OUT_CASE(3, 3)
        WX_OUT_CASE(4, 2) WX_OUT_CASE(2, 4) WX_OUT_CASE(3, 2) WX_OUT_CASE(2, 3)
        default: WX_NAME(wx_out_body)(m, mstride, nr, y, 2, 2); return;
    }
#undef WX_OUT_CASE
}

/* u[A2 * i + k][c] = (G1 g G2^T)[i][k] for c < n, g[nt2 * t1 + t2][c] the taps' filter values
 * (n contiguous floats each). Returns 0 when a value is above WX_XMAX in magnitude (or not
 * finite). */
WX_TGT WX_INLINE int WX_NAME(wx_u_body)(const float *const *g, int64_t n, float *const *u,
                                         const int N1, const int N2) {
    const int A1 = N1 == 1 ? 2 : N1 + 1, A2 = N2 == 1 ? 2 : N2 + 1;
    int64_t c = 0;
    wx_i16 okv = (wx_i16){0} - 1;
    for (; c + 16 <= n; c += 16) {
        wx_v16 x[9], t[12], r[16];
        for (int i = 0; i < N1 * N2; i++) {
            x[i] = *(const wx_v16 *)(g[i] + c);
            const wx_v16 ab = (wx_v16)((wx_i16)x[i] & 0x7fffffff);
            okv &= (wx_i16)(ab <= WX_XMAX);
        }
        for (int t2 = 0; t2 < N2; t2++) WX_G(N1, x + t2, N2, t + t2, N2);
        for (int i = 0; i < A1; i++) WX_G(N2, t + N2 * i, 1, r + A2 * i, 1);
        for (int i = 0; i < A1 * A2; i++) *(wx_v16 *)(u[i] + c) = r[i];
    }
    int ok = 1;
    for (int j = 0; j < 16; j++) ok &= okv[j] != 0;
    for (; c < n; c++) {
        float x[9], t[12], r[16];
        for (int i = 0; i < N1 * N2; i++) {
            x[i] = g[i][c];
            ok &= x[i] <= WX_XMAX && x[i] >= -WX_XMAX;
        }
        for (int t2 = 0; t2 < N2; t2++) WX_G(N1, x + t2, N2, t + t2, N2);
        for (int i = 0; i < A1; i++) WX_G(N2, t + N2 * i, 1, r + A2 * i, 1);
        for (int i = 0; i < A1 * A2; i++) u[i][c] = r[i];
    }
    return ok;
}

WX_TGT int WX_NAME(dc_wino_u)(const float *const *g, int nt1, int nt2, int64_t n,
                              float *const *u) {
#define WX_U_CASE(x, y)                                                                     \
    case 4 * (x) + (y): return WX_NAME(wx_u_body)(g, n, u, x, y);
    switch (4 * nt1 + nt2) {
        WX_U_CASE(3, 3) WX_U_CASE(3, 2) WX_U_CASE(2, 3) WX_U_CASE(2, 2)
        WX_U_CASE(3, 1) WX_U_CASE(1, 3) WX_U_CASE(2, 1) WX_U_CASE(1, 2)
        default: return WX_NAME(wx_u_body)(g, n, u, 1, 1);
    }
#undef WX_U_CASE
}
