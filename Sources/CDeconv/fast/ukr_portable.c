/* fast/ukr_portable.c - plain C micro-kernels: the level every target has, and what the
 * wide kernels fall back to. Small register tiles the compiler can keep in registers. */
#include "fast/fast.h"

#define GMR DC_PORTABLE_GEMM_MR
#define GNR DC_PORTABLE_GEMM_NR

void dc_ukr_gemm_portable(const dc_ukr_args *u) {
    float acc[GMR][GNR];
    for (int r = 0; r < GMR; r++)
        for (int j = 0; j < GNR; j++)
            acc[r][j] = (!u->first && r < u->mr && j < u->nr) ? dc_ukr_crow(u, r)[u->c_off + j] : 0.0f;
    const int64_t kc = u->kc;
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *const *ap = u->a + (int64_t)t * GMR;
        const float *b = u->b + (int64_t)u->tap[t] * kc * GNR;
        const float *a0 = dc_ukr_row(u, ap, 0), *a1 = dc_ukr_row(u, ap, 1);
        const float *a2 = dc_ukr_row(u, ap, 2), *a3 = dc_ukr_row(u, ap, 3);
        for (int64_t k = 0; k < kc; k++, b += GNR) {
            const float v0 = a0[k], v1 = a1[k], v2 = a2[k], v3 = a3[k];
            for (int j = 0; j < GNR; j++) {
                acc[0][j] += v0 * b[j];
                acc[1][j] += v1 * b[j];
                acc[2][j] += v2 * b[j];
                acc[3][j] += v3 * b[j];
            }
        }
    }
    for (int r = 0; r < u->mr; r++)
        for (int j = 0; j < u->nr; j++) dc_ukr_crow(u, r)[u->c_off + j] = acc[r][j];
}

#define DMR DC_PORTABLE_DOT_MR
#define DNR DC_PORTABLE_DOT_NR

/* Dot products along input channels: for few output channels. Lanes of 8 channels are
 * summed separately and reduced at the end, in a fixed order. */
void dc_ukr_dot_portable(const dc_ukr_args *u) {
    float acc[DMR][DNR][8];
    for (int r = 0; r < DMR; r++)
        for (int j = 0; j < DNR; j++)
            for (int l = 0; l < 8; l++) acc[r][j][l] = 0.0f;
    const int64_t kc = u->kc, per_col = u->btaps * kc;
    for (int32_t t = 0; t < u->ntaps; t++) {
        const float *const *ap = u->a + (int64_t)t * DMR;
        for (int r = 0; r < DMR; r++) {
            const float *a = ap[r] + u->a_off;
            for (int j = 0; j < u->nr; j++) {
                const float *b = u->b + j * per_col + u->tap[t] * kc;
                for (int64_t k = 0; k < kc; k++) acc[r][j][k & 7] += a[k] * b[k];
            }
        }
    }
    for (int r = 0; r < u->mr; r++)
        for (int j = 0; j < u->nr; j++) {
            const float s = ((acc[r][j][0] + acc[r][j][1]) + (acc[r][j][2] + acc[r][j][3])) +
                            ((acc[r][j][4] + acc[r][j][5]) + (acc[r][j][6] + acc[r][j][7]));
            float *c = &dc_ukr_crow(u, r)[u->c_off + j];
            *c = u->first ? s : *c + s;
        }
}

/* Sums of 8 rows (conv_dot1.c): 8 channel lanes per row summed separately, then reduced in
 * a fixed order. */
static void dot1_group(const float *const *a, const float *w, int32_t ntaps, int64_t off,
                       int64_t st, int64_t kc, float out[DC_DOT1_MR]) {
    float acc[DC_DOT1_MR][8];
    for (int r = 0; r < DC_DOT1_MR; r++)
        for (int l = 0; l < 8; l++) acc[r][l] = 0.0f;
    for (int32_t t = 0; t < ntaps; t++) {
        const float *wt = w + (int64_t)t * kc;
        for (int r = 0; r < DC_DOT1_MR; r++) {
            const float *x = a[t] + off + r * st;
            for (int64_t k = 0; k < kc; k += 8)
                for (int l = 0; l < 8; l++) acc[r][l] += x[k + l] * wt[k + l];
        }
    }
    for (int r = 0; r < DC_DOT1_MR; r++)
        out[r] = ((acc[r][0] + acc[r][1]) + (acc[r][2] + acc[r][3])) +
                 ((acc[r][4] + acc[r][5]) + (acc[r][6] + acc[r][7]));
}

void dc_dot1_portable(const dc_dot1_args *u) {
    for (int64_t r0 = 0; r0 < u->rows; r0 += DC_DOT1_MR) {
        float v[DC_DOT1_MR], v2[DC_DOT1_MR];
        const int64_t off = u->a_off + r0 * u->a_stride;
        dot1_group(u->a, u->w, u->ntaps, off, u->a_stride, u->kc, v);
        if (u->a2) {
            dot1_group(u->a2, u->w2, u->ntaps2, off, u->a_stride, u->kc, v2);
            for (int64_t r = 0; r < DC_DOT1_MR; r++) {
                if (r0 + r < u->rows) u->c[2 * (r0 + r)] = v[r];
                if (r0 + r < u->rows2) u->c[2 * (r0 + r) + 1] = v2[r];
            }
            continue;
        }
        const int64_t m = u->rows - r0 < DC_DOT1_MR ? u->rows - r0 : DC_DOT1_MR;
        for (int64_t r = 0; r < m; r++) u->c[(r0 + r) * u->c_stride] = v[r];
    }
}

/* dotn (2..4 output channels): groups of R pixels, 8 channel lanes per (pixel, channel)
 * summed separately and reduced as in dot1_group. NC and R are constants in each copy, so
 * the accumulators stay in registers and the lane loops vectorise. */
static inline void dotn_rows(const dc_dot1_args *u, const int R, const int NC) {
    const int64_t kc = u->kc, st = u->a_stride;
    for (int64_t r0 = 0; r0 < u->rows; r0 += R) {
        float acc[4][4][8];
        for (int r = 0; r < R; r++)
            for (int j = 0; j < NC; j++)
                for (int l = 0; l < 8; l++) acc[r][j][l] = 0.0f;
        for (int32_t t = 0; t < u->ntaps; t++) {
            const float *wt = u->w + (int64_t)t * NC * kc;
            const float *x0 = u->a[t] + u->a_off + r0 * st;
            for (int64_t k = 0; k < kc; k += 8)
                for (int r = 0; r < R; r++)
                    for (int j = 0; j < NC; j++)
                        for (int l = 0; l < 8; l++)
                            acc[r][j][l] += x0[r * st + k + l] * wt[j * kc + k + l];
        }
        float v[16];
        for (int r = 0; r < R; r++)
            for (int j = 0; j < NC; j++) {
                const float *a = acc[r][j];
                v[r * NC + j] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            }
        dc_dotn_store(u, r0, R, v);
    }
}

void dc_dotn_portable(const dc_dot1_args *u) {
    if (u->nc == 2)
        dotn_rows(u, DC_DOTN_PORTABLE_R(2), 2);
    else if (u->nc == 3)
        dotn_rows(u, DC_DOTN_PORTABLE_R(3), 3);
    else
        dotn_rows(u, DC_DOTN_PORTABLE_R(4), 4);
}
