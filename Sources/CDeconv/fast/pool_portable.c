/* fast/pool_portable.c - plain C pixel kernels of the fast pooling path (every target). They
 * walk the window cell by cell in the reference's order for a block of channels at a time, so
 * the results are the reference's bits; the block loops are left for the compiler to
 * vectorise. They are branch-free, and a whole block runs a loop of constant trip count
 * (gcc -O2 vectorises only loops that need no remainder). This level serves AArch64's
 * pooling, so the vectorised loops are what NEON runs. */
#include "fast/pool_fast.h"

#include <string.h>

#define BLOCK 64

/* The reference's max ordering: a NaN beats every number and the first NaN stays; otherwise
 * strictly greater wins, so the first maximum in window order keeps ties. Written without a
 * branch (x != x is isnan) so the loops around it vectorise. */
static inline int beats(float v, float best) { return (v > best) | ((v != v) & (best == best)); }

/* best[c] = max(best[c], v[c]) in the reference's order, c < n. */
static inline void max_step(float *best, const float *v, int64_t n) {
    for (int64_t c = 0; c < n; c++) best[c] = beats(v[c], best[c]) ? v[c] : best[c];
}

/* max_step that also moves the position p in where v wins. */
static inline void argmax_step(float *best, int32_t *pos, const float *v, int32_t p, int64_t n) {
    for (int64_t c = 0; c < n; c++) {
        const int t = beats(v[c], best[c]);
        best[c] = t ? v[c] : best[c];
        pos[c] = t ? p : pos[c];
    }
}

void dc_pool_max_px_portable(const dc_pool_px *px) {
    const int64_t C = px->c;
    for (int64_t c0 = 0; c0 < C; c0 += BLOCK) {
        const int64_t nb = C - c0 < BLOCK ? C - c0 : BLOCK;
        float best[BLOCK];
        memcpy(best, px->x + c0, (size_t)nb * sizeof *best);
        int first = 1;
        for (int64_t i0 = 0; i0 < px->n0; i0++)
        for (int64_t i1 = 0; i1 < px->n1; i1++) {
            const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
            for (int64_t i2 = first; i2 < px->n2; i2++) {
                if (nb == BLOCK)
                    max_step(best, row + i2 * C, BLOCK);
                else
                    max_step(best, row + i2 * C, nb);
            }
            first = 0;
        }
        memcpy(px->y + c0, best, (size_t)nb * sizeof *best);
    }
}

void dc_pool_argmax_px_portable(const dc_pool_px *px) {
    const int64_t C = px->c;
    for (int64_t c0 = 0; c0 < C; c0 += BLOCK) {
        const int64_t nb = C - c0 < BLOCK ? C - c0 : BLOCK;
        float best[BLOCK];
        int32_t pos[BLOCK];
        memcpy(best, px->x + c0, (size_t)nb * sizeof *best);
        for (int64_t c = 0; c < nb; c++) pos[c] = px->pos;
        int first = 1;
        for (int64_t i0 = 0; i0 < px->n0; i0++)
        for (int64_t i1 = 0; i1 < px->n1; i1++) {
            const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
            const int32_t rpos = px->pos + (int32_t)i0 * px->pst0 + (int32_t)i1 * px->pst1;
            for (int64_t i2 = first; i2 < px->n2; i2++) {
                if (nb == BLOCK)
                    argmax_step(best, pos, row + i2 * C, rpos + (int32_t)i2, BLOCK);
                else
                    argmax_step(best, pos, row + i2 * C, rpos + (int32_t)i2, nb);
            }
            first = 0;
        }
        memcpy(px->y + c0, best, (size_t)nb * sizeof *best);
        for (int64_t c = 0; c < nb; c++)
            px->argmax[c0 + c] = px->ibase + (int64_t)pos[c] * C + c0 + c;
    }
}

void dc_pool_avg_px_portable(const dc_pool_px *px) {
    const int64_t C = px->c;
    for (int64_t c0 = 0; c0 < C; c0 += BLOCK) {
        const int64_t nb = C - c0 < BLOCK ? C - c0 : BLOCK;
        /* double and the window order, as the reference: the same bits. */
        double sum[BLOCK];
        for (int64_t c = 0; c < nb; c++) sum[c] = 0.0;
        for (int64_t i0 = 0; i0 < px->n0; i0++)
        for (int64_t i1 = 0; i1 < px->n1; i1++) {
            const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
            for (int64_t i2 = 0; i2 < px->n2; i2++) {
                const float *v = row + i2 * C;
                for (int64_t c = 0; c < nb; c++) sum[c] += v[c];
            }
        }
        for (int64_t c = 0; c < nb; c++)
            px->y[c0 + c] = px->count > 0 ? (float)(sum[c] / px->count) : 0.0f;
    }
}

void dc_pool_flush_portable(float *dst, float *src, int64_t n) {
    if (n <= 0) return;
    memcpy(dst, src, (size_t)n * sizeof *dst);
    memset(src, 0, (size_t)n * sizeof *src);
}

void dc_pool_add_portable(float *dst, const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] += v[i];
}
