/* fast/wino_xform.h - conv_wino.c's input and output transforms, written once with GCC/clang
 * vector extensions and compiled per ISA level (wino_avx512.c, wino_avx2.c, and portable in
 * conv_wino.c): the includer defines WX_TGT (a target attribute or nothing) and WX_NAME(x).
 * Only adds and subtracts: every build gives the same bits. */
#include <stdint.h>
#include <string.h>

typedef float wx_v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t wx_i16 __attribute__((vector_size(64), aligned(4), may_alias));

#define WX_XMAX 1099511627776.0f /* 2^40, as WINO_XMAX */

/* V[xi * vstride + c] = (B^T d B)[xi] for channels [0, cin), d the 16 pixels q[] (padding
 * points at zeros). Returns 0 when a value is not finite or above WX_XMAX in magnitude. */
WX_TGT int WX_NAME(dc_wino_in)(const float *const q[16], int64_t cin, float *v, int64_t vstride) {
    int64_t c = 0;
    wx_i16 okv = (wx_i16){0} - 1;
    for (; c + 16 <= cin; c += 16) {
        wx_v16 d[16], u[16];
        for (int i = 0; i < 16; i++) {
            d[i] = *(const wx_v16 *)(q[i] + c);
            const wx_v16 ab = (wx_v16)((wx_i16)d[i] & 0x7fffffff);
            okv &= (wx_i16)(ab <= WX_XMAX);
        }
        for (int s = 0; s < 4; s++) {
            u[s] = d[s] - d[8 + s];
            u[4 + s] = d[4 + s] + d[8 + s];
            u[8 + s] = d[8 + s] - d[4 + s];
            u[12 + s] = d[4 + s] - d[12 + s];
        }
        for (int r = 0; r < 4; r++) {
            float *o = v + (4 * r) * vstride + c;
            *(wx_v16 *)o = u[4 * r] - u[4 * r + 2];
            *(wx_v16 *)(o + vstride) = u[4 * r + 1] + u[4 * r + 2];
            *(wx_v16 *)(o + 2 * vstride) = u[4 * r + 2] - u[4 * r + 1];
            *(wx_v16 *)(o + 3 * vstride) = u[4 * r + 1] - u[4 * r + 3];
        }
    }
    int ok = 1;
    for (int j = 0; j < 16; j++) ok &= okv[j] != 0;
    for (; c < cin; c++) {
        float d[16], u[16];
        for (int i = 0; i < 16; i++) {
            d[i] = q[i][c];
            ok &= d[i] <= WX_XMAX && d[i] >= -WX_XMAX;
        }
        for (int s = 0; s < 4; s++) {
            u[s] = d[s] - d[8 + s];
            u[4 + s] = d[4 + s] + d[8 + s];
            u[8 + s] = d[8 + s] - d[4 + s];
            u[12 + s] = d[4 + s] - d[12 + s];
        }
        for (int r = 0; r < 4; r++) {
            float *o = v + (4 * r) * vstride + c;
            o[0] = u[4 * r] - u[4 * r + 2];
            o[vstride] = u[4 * r + 1] + u[4 * r + 2];
            o[2 * vstride] = u[4 * r + 2] - u[4 * r + 1];
            o[3 * vstride] = u[4 * r + 1] - u[4 * r + 3];
        }
    }
    return ok;
}

/* The 2 x 2 outputs y[2i + k] (NULL: outside the output) of channels [0, nr) from
 * M[xi * mstride + j]: y = A^T M A. */
WX_TGT void WX_NAME(dc_wino_out)(const float *m, int64_t mstride, int64_t nr, float *const y[4]) {
    int64_t j = 0;
    for (; j + 16 <= nr; j += 16) {
        wx_v16 s[2][4];
        for (int b = 0; b < 4; b++) {
            const wx_v16 m0 = *(const wx_v16 *)(m + b * mstride + j);
            const wx_v16 m1 = *(const wx_v16 *)(m + (4 + b) * mstride + j);
            const wx_v16 m2 = *(const wx_v16 *)(m + (8 + b) * mstride + j);
            const wx_v16 m3 = *(const wx_v16 *)(m + (12 + b) * mstride + j);
            s[0][b] = m0 + m1 + m2;
            s[1][b] = m1 - m2 - m3;
        }
        for (int i = 0; i < 2; i++) {
            if (y[2 * i]) *(wx_v16 *)(y[2 * i] + j) = s[i][0] + s[i][1] + s[i][2];
            if (y[2 * i + 1]) *(wx_v16 *)(y[2 * i + 1] + j) = s[i][1] - s[i][2] - s[i][3];
        }
    }
    for (; j < nr; j++) {
        float s[2][4];
        for (int b = 0; b < 4; b++) {
            const float m0 = m[b * mstride + j], m1 = m[(4 + b) * mstride + j];
            const float m2 = m[(8 + b) * mstride + j], m3 = m[(12 + b) * mstride + j];
            s[0][b] = m0 + m1 + m2;
            s[1][b] = m1 - m2 - m3;
        }
        for (int i = 0; i < 2; i++) {
            if (y[2 * i]) y[2 * i][j] = s[i][0] + s[i][1] + s[i][2];
            if (y[2 * i + 1]) y[2 * i + 1][j] = s[i][1] - s[i][2] - s[i][3];
        }
    }
}
