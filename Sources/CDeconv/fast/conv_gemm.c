/* fast/conv_gemm.c - the fast conv / transposed conv driver (channels-last, any groups,
 * strides, dilations and pads; see fast.h for the scheme).
 *
 * Geometry. Per spatial dim j, a phase has a grid of q positions. Output o and input i of a
 * (q, tap) pair are
 *   conv:        o = q,              i = q * s + a * d - pb         (one phase)
 *   transposed:  o = r + q * s,      i = q + (r + pb - a * d) / s   (phase r in [0, s), only
 *                                                                    taps with s | r+pb-a*d)
 * so every phase is a dense correlation and the inserted zeros of a transposed conv are never
 * multiplied. An input position outside [0, in) reads the zero row.
 *
 * Work units are (group, block of output rows, tile of output channels, phase), phase
 * innermost: phases can differ in their number of taps, and the static split gives each
 * thread a contiguous chunk of units, so every chunk should hold the phases alike. A unit
 * packs the weights it needs into its thread's workspace one channel block at a time (so the
 * stateless call needs no separate packing pass) and runs the micro-kernel over its rows.
 * Each output element belongs to exactly one unit and is accumulated in a fixed order (channel
 * block, tap, channel), so the thread count never changes a bit of the result. The row blocks do
 * depend on it (with several threads they are cut at equal work, conv_split.c), and so does
 * which rows share a tile; but a tile only adds, for a row whose tap falls outside the input,
 * products with the zero row: exact zeros, added to sums that start from +0, which change
 * no bit (x + 0 = x, +0 + -0 = +0). */
#include "fast/fast.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CIN ((int64_t)1 << 20)
#define MAX_PHASE_STRIDE 16     /* per dim, so at most 4096 phases */
#define BLOCK_ROWS 576         /* output rows per unit (rounded to tiles) */
#define B_BLOCK_FLOATS 65536  /* packed weights per channel block: 256 KiB, L2-resident */
#define B_ONE_PASS_FLOATS 131072 /* or, for 64-wide tiles, up to 512 KiB where that makes one
                                  * block of them all: vgg3x3's 288 KiB in two blocks stored
                                  * and reloaded each output tile once more, 2% of its time
                                  * (512 KiB blocks for every layer cost dcgan1 4%). Only the
                                  * AVX-512 level has 64-wide tiles, and it was measured on a
                                  * core with 2 MiB of L2 (such cores have 1-2 MiB). */
#define BATCH_OUTER_DOT 1
#define BATCH_OUTER_GEMM 0
#define SMALL_MACS 200000      /* below this, waking other threads costs more than it saves */
#define MERGE_BLOCKS_MAX 2      /* stateless row blocks merged into one (geo.merged) */
#define ROW_SLOTS_MAX 8        /* phases whose row tables a thread keeps at once (2^3) */
#define ROW_SLOTS_BYTES 262144 /* and at most this much of them */
#define SPLIT_PHASES_MAX 16    /* more phases: the work estimate costs too much per call */
#define CACHE_MAX_FLOATS 262144 /* a stateless thread's cache of packed panels: 1 MiB
                                * (fcn_k4's 2 MiB gained nothing: reloaded from L3, they
                                * cost what packing them again did) */

typedef struct tap {
    int64_t off[3]; /* input offset at q = 0 */
    int64_t w;      /* weight offset of the kernel position */
} tap;

/* What build_rows leaves per tile for the micro-kernel call. */
typedef struct tile {
    int64_t a_stride; /* 0: a pointer per row; else rows one image apart (one position) */
    int64_t a_shift;  /* added to a_off: the tile reads src's pointers this far on */
    int32_t src;      /* the tile whose row pointers and tap list this one reads */
    int32_t ntaps;    /* taps kept */
} tile;

typedef struct geo {
    const dc_conv_problem *p;
    dc_ukr uk;
    int64_t nphase, ps[3];     /* phases and their extent per dim (strides, or 1s for conv) */
    int64_t rows_max, block_tiles, block_rows, mblocks, ntiles, units;
    /* threads > 1: rows split at equal estimated work (conv_split.c), mblocks = threads * bpt
     * blocks, bpt per thread; else bpt = 0 and blocks of block_rows */
    int64_t threads, bpt;
    int small; /* the plan declares 1 unit and runs all of them on the calling thread */
    int merged; /* stateless: the row blocks merged into one (geo_init) */
    int packed; /* weights come prepacked (dc_fast_pack): no packing scratch */
    /* > 0 (stateless, threads with several row blocks each): a thread keeps every (phase,
     * tile) panel of the group it packed, cache_slot floats each, instead of one block */
    int64_t cache_slot;
    int batch_outer; /* rows ordered (n, q0, q1, q2), not images innermost (dc_row_order) */
    int64_t ntaps_max, kc;
    /* Row tables (build_rows' output) are kept per phase in row_slots slots of slot bytes
     * each, a, c, tile and ti at those offsets within a slot. */
    int64_t row_slots;
    size_t off_b, off_have, off_taps, off_rows, off_a, off_c, off_tile, off_ti, slot, off_zero,
        slice;
} geo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

int64_t dc_fast_dim_taps(const dc_conv_problem *p, int j, int64_t r, int64_t *as, int64_t *offs) {
    int64_t n = 0;
    for (int64_t a = 0; a < p->k[j]; a++) {
        if (!p->transposed) {
            if (as) as[n] = a;
            if (offs) offs[n] = a * p->d[j] - p->pb[j];
            n++;
        } else {
            const int64_t t = r + p->pb[j] - a * p->d[j];
            if (t % p->s[j] != 0) continue;
            if (as) as[n] = a;
            if (offs) offs[n] = t / p->s[j];
            n++;
        }
    }
    return n;
}

/* Number of q positions of dim j in phase r. */
static int64_t dim_rows(const dc_conv_problem *p, int j, int64_t r) {
    if (!p->transposed) return p->y.sp[j];
    const int64_t out = p->y.sp[j], s = p->s[j];
    return r < out ? (out - r + s - 1) / s : 0;
}

/* Everything derived from the problem and the micro-kernel; identical in plan and run. */
static void geo_init(const dc_conv_problem *p, const dc_ukr *uk, int packed, int32_t threads,
                     geo *g) {
    g->p = p;
    g->packed = packed;
    g->batch_outer = uk->kind == DC_UKR_DOT ? BATCH_OUTER_DOT : BATCH_OUTER_GEMM;
    g->uk = *uk;
    g->nphase = 1;
    g->rows_max = p->y.n;
    g->ntaps_max = 1;
    for (int j = 0; j < 3; j++) {
        g->ps[j] = p->transposed ? p->s[j] : 1;
        g->nphase *= g->ps[j];
        g->rows_max *= dim_rows(p, j, 0); /* phase 0 has the most rows */
        int64_t most = 0;
        for (int64_t r = 0; r < g->ps[j]; r++) {
            const int64_t n = dc_fast_dim_taps(p, j, r, NULL, NULL);
            if (n > most) most = n;
        }
        g->ntaps_max *= most;
    }
    /* Row blocks of at most about BLOCK_ROWS, evened out (whole tiles) so no block is a short
     * tail: blocks are what the threads share out. */
    const int64_t nblk = g->rows_max > BLOCK_ROWS ? (g->rows_max + BLOCK_ROWS - 1) / BLOCK_ROWS : 1;
    const int64_t per = (g->rows_max + nblk - 1) / nblk;
    g->block_tiles = per > 0 ? (per + uk->mr - 1) / uk->mr : 1;
    g->block_rows = g->block_tiles * uk->mr;
    g->mblocks = (g->rows_max + g->block_rows - 1) / g->block_rows;
    g->ntiles = (p->cout_g + uk->nr - 1) / uk->nr;
    const int64_t taps = g->ntaps_max > 0 ? g->ntaps_max : 1;
    const int64_t nthreads = threads > 1 ? threads : 1;
    /* A stateless thread's packed (phase, tile) panel, and whether all of a group's fit the
     * cache (cache_slot below) */
    const int64_t slot = (taps * p->cin_g * uk->nr + 15) & ~(int64_t)15;
    const int panels_fit = slot <= CACHE_MAX_FLOATS / (g->nphase * g->ntiles);
    /* Stateless, where a thread cannot keep the packed panels and the rows make only a few
     * blocks: one block, so each unit (phase, tile) packs its panel once per call instead of
     * once per block, and threads share out the panels, not the rows (which had each thread
     * pack every panel). */
    g->merged = !packed && uk->kind == DC_UKR_GEMM && g->mblocks > 1 &&
                g->mblocks <= MERGE_BLOCKS_MAX && !panels_fit &&
                g->nphase * p->groups * g->ntiles >= 2 * nthreads;
    if (g->merged) {
        g->block_tiles = (g->rows_max + uk->mr - 1) / uk->mr;
        g->block_rows = g->block_tiles * uk->mr;
        g->mblocks = 1;
    }
    const double macs = (double)g->rows_max * (double)g->nphase * (double)g->ntaps_max *
                        (double)p->cin_g * (double)p->cout_g * (double)p->groups;
    g->small = macs < SMALL_MACS;
    /* Several threads, where the blocks above already give each one rows of its own: each
     * gets bpt blocks, cut where the work before is t/T of the whole. The static split hands
     * thread t units [t U/T, (t+1) U/T), exactly its blocks (and the same blocks of each
     * group), because U is a multiple of T. The threads' rows may differ from an even share
     * by rows / (2T) at most, which sizes block_tiles. (Where there are fewer blocks than
     * threads, the threads share out channel tiles, each streaming only its tiles' weights:
     * cutting the rows instead made dcgan1 and vol3d 11-14% slower at 2 threads.) */
    g->threads = threads > 1 && !g->small && g->nphase <= SPLIT_PHASES_MAX &&
                         g->mblocks >= threads && g->rows_max >= (int64_t)threads * 4 * uk->mr
                     ? threads
                     : 1;
    g->bpt = 0;
    if (g->threads > 1) {
        const int64_t T = g->threads, share = g->rows_max / T + g->rows_max / (2 * T) + uk->mr;
        g->bpt = (share + BLOCK_ROWS - 1) / BLOCK_ROWS;
        g->block_tiles = ((share + g->bpt - 1) / g->bpt + uk->mr - 1) / uk->mr + 1;
        g->block_rows = g->block_tiles * uk->mr;
        g->mblocks = T * g->bpt;
    }
    g->units = g->nphase * p->groups * g->mblocks * g->ntiles;
    /* Channel block: as large as the packed-weight budget allows, then evened out over the
     * blocks needed (so no block is a short tail), in multiples of 8 lanes. */
    int64_t kc = B_BLOCK_FLOATS / (taps * uk->nr);
    if (kc < p->cin_g && uk->nr >= 64 && taps * uk->nr * p->cin_g <= B_ONE_PASS_FLOATS)
        kc = p->cin_g;
    if (kc < 1) kc = 1;
    if (kc < p->cin_g) {
        const int64_t nblk = (p->cin_g + kc - 1) / kc;
        const int64_t even = (p->cin_g + nblk - 1) / nblk;
        kc = even >= 8 && ((even + 7) & ~(int64_t)7) <= kc ? (even + 7) & ~(int64_t)7 : even;
    } else {
        kc = p->cin_g;
    }
    g->kc = kc;
    /* Stateless calls pack each unit's weights into one block, so a thread packed the same
     * panel again for each of its row blocks (vgg3x3: 6 times at 1 thread). Where the panels
     * of a group fit the cache, a thread packs each once per call and keeps them, in the
     * prepared layout. */
    g->cache_slot = 0;
    if (!packed && uk->kind == DC_UKR_GEMM && g->mblocks >= 2 * nthreads && panels_fit)
        g->cache_slot = slot;
    size_t off = 0;
    g->off_b = off;
    if (g->cache_slot)
        off += round64((size_t)(g->nphase * g->ntiles * slot) * sizeof(float));
    else if (!packed)
        off += round64((size_t)(taps * kc * uk->nr) * sizeof(float));
    g->off_have = off;
    if (g->cache_slot) off += round64((size_t)(g->nphase * g->ntiles));
    g->off_taps = off;
    off += round64((size_t)taps * sizeof(tap));
    /* One slot of row tables per phase, so the phases of a row block (innermost in the unit
     * order) are each built once per block, not once per unit: fcn_k4 builds 8 a call instead
     * of 16, and fast_run's own share of its profile fell from 2.6% to 1.5%. One slot when
     * that would take too much space. */
    size_t so = 0;
    g->off_a = so;
    so += round64((size_t)(g->block_tiles * taps * uk->mr) * sizeof(float *));
    g->off_c = so;
    so += round64((size_t)g->block_rows * sizeof(float *));
    g->off_tile = so;
    so += round64((size_t)g->block_tiles * sizeof(tile));
    g->off_ti = so;
    so += round64((size_t)(g->block_tiles * taps) * sizeof(int32_t));
    g->slot = so;
    g->row_slots = g->nphase <= ROW_SLOTS_MAX && (size_t)g->nphase * so <= ROW_SLOTS_BYTES
                       ? g->nphase : 1;
    g->off_rows = off;
    off += (size_t)g->row_slots * so;
    g->off_zero = off;
    off += round64((size_t)p->cin_g * sizeof(float));
    g->slice = off;
}

/* Phase ph's phase per dim. */
static void phase_of(const geo *g, int64_t ph, int64_t r[3]) {
    r[2] = ph % g->ps[2];
    r[1] = (ph / g->ps[2]) % g->ps[1];
    r[0] = ph / (g->ps[2] * g->ps[1]);
}

/* What work unit u is: phase innermost, then output channel tile, row block, group. */
typedef struct unit_at {
    int64_t ph, nt, mb, grp;
} unit_at;

static unit_at unit_of(const geo *g, int64_t u) {
    unit_at w;
    w.ph = u % g->nphase;
    u /= g->nphase;
    w.nt = u % g->ntiles;
    u /= g->ntiles;
    w.mb = u % g->mblocks;
    w.grp = u / g->mblocks;
    return w;
}

/* Rows [*row0, *row1) of block mb (before clipping to a phase's rows). split[] caches the
 * thread boundaries of the last thread asked for: {t, start, end}. */
static void block_range(const geo *g, int64_t mb, int64_t split[3], int64_t *row0,
                        int64_t *row1) {
    if (g->bpt == 0) {
        *row0 = mb * g->block_rows;
        *row1 = *row0 + g->block_rows;
        return;
    }
    const int64_t t = mb / g->bpt, i = mb % g->bpt, mr = g->uk.mr;
    if (split[0] != t) {
        split[0] = t;
        split[1] = dc_fast_split_row(g->p, g->batch_outer, g->rows_max, mr, t, g->threads);
        split[2] = dc_fast_split_row(g->p, g->batch_outer, g->rows_max, mr, t + 1, g->threads);
    }
    /* the thread's tiles, shared out evenly over its blocks */
    const int64_t tiles = (split[2] - split[1] + mr - 1) / mr;
    *row0 = split[1] + mr * (i * tiles / g->bpt);
    const int64_t e = split[1] + mr * ((i + 1) * tiles / g->bpt);
    *row1 = e < split[2] ? e : split[2];
}

/* Taps of phase ph; returns their count. */
static int64_t phase_taps(const geo *g, int64_t ph, int64_t r[3], int64_t nq[3], tap *taps) {
    const dc_conv_problem *p = g->p;
    int64_t as[3][DC_FAST_MAX_TAPS], offs[3][DC_FAST_MAX_TAPS], cnt[3];
    phase_of(g, ph, r);
    for (int j = 0; j < 3; j++) {
        cnt[j] = dc_fast_dim_taps(p, j, r[j], as[j], offs[j]);
        nq[j] = dim_rows(p, j, r[j]);
    }
    int64_t n = 0;
    for (int64_t t0 = 0; t0 < cnt[0]; t0++)
        for (int64_t t1 = 0; t1 < cnt[1]; t1++)
            for (int64_t t2 = 0; t2 < cnt[2]; t2++, n++) {
                taps[n].off[0] = offs[0][t0];
                taps[n].off[1] = offs[1][t1];
                taps[n].off[2] = offs[2][t2];
                taps[n].w = as[0][t0] * p->w_stride_k[0] + as[1][t1] * p->w_stride_k[1] +
                            as[2][t2] * p->w_stride_k[2];
            }
    return n;
}

/* Row and tap pointers of rows [row0, row1) of a phase, tile by tile, in order ro (GEMM
 * kernels: images innermost and the edge columns last, so a tile's rows share positions and
 * so their padding); a tile keeps only the taps that reach the input for at least one of its
 * rows (the others would multiply zeros only). tl[tile] and tidx[tile][] record which taps
 * remain. */
static void build_rows(const geo *g, const dc_conv_args *a, const int64_t r[3],
                       const dc_row_order *ro, const tap *taps, int64_t ntaps, int64_t grp,
                       int64_t row0, int64_t row1, const float **aptr, float **cptr,
                       tile *tl, int32_t *tidx, const float *zero) {
    const dc_conv_problem *p = g->p;
    const int mr = g->uk.mr;
    const int64_t ntile = (row1 - row0 + mr - 1) / mr;
    int64_t ib[16][3], xbase[16], xrow[16]; /* every micro-kernel has mr <= 16 */
    int same[16];                 /* row rr has the spatial position of row rr - 1 */
    int64_t prev_ib[3] = {0, 0, 0}, xbase_src = 0; /* the last one-position tile built */
    /* Decompose row0 once, then step like an odometer: no division per row. */
    int64_t q[3], n;
    dc_fast_row_at(ro, row0, &n, q);
    const uint64_t sp0 = (uint64_t)p->x.sp[0], sp1 = (uint64_t)p->x.sp[1],
                   sp2 = (uint64_t)p->x.sp[2];
    const int64_t st0 = p->x.stride_sp[0], st1 = p->x.stride_sp[1], st2 = p->x.stride_sp[2];
    /* Each tap's input offset, and the taps' extent per dim: a row whose taps all reach the
     * input (an interior row) reads tap t at its own base + toff[t], no bounds to check. */
    int64_t toff[DC_FAST_MAX_TAPS], omin[3] = {0, 0, 0}, omax[3] = {0, 0, 0};
    for (int64_t t = 0; t < ntaps; t++) {
        toff[t] = taps[t].off[0] * st0 + taps[t].off[1] * st1 + taps[t].off[2] * st2;
        for (int j = 0; j < 3; j++) {
            if (t == 0 || taps[t].off[j] < omin[j]) omin[j] = taps[t].off[j];
            if (t == 0 || taps[t].off[j] > omax[j]) omax[j] = taps[t].off[j];
        }
    }
    /* What a row's spatial position gives (input position, offsets into one image, interior
     * or not), worked out again only when the position changes: with the images innermost
     * (lenet_c2: 64 of them) that is once per 64 rows. */
    int64_t ibp[3] = {0, 0, 0}, ypos = 0, xpos = 0;
    int inter_pos = 0, fresh = 1;
    for (int64_t ti = 0; ti < ntile; ti++) {
        const int64_t rows = row1 - row0 - ti * mr < mr ? row1 - row0 - ti * mr : mr;
        int interior = rows == mr; /* every row of a whole tile is an interior row */
        for (int rr = 0; rr < rows; rr++) {
            if (fresh) {
                ypos = xpos = 0;
                inter_pos = 1;
                for (int j = 0; j < 3; j++) {
                    const int64_t o = p->transposed ? r[j] + q[j] * p->s[j] : q[j];
                    ypos += o * p->y.stride_sp[j];
                    ibp[j] = p->transposed ? q[j] : q[j] * p->s[j];
                    xpos += ibp[j] * p->x.stride_sp[j];
                    inter_pos &= ibp[j] + omin[j] >= 0 && ibp[j] + omax[j] < p->x.sp[j];
                }
                fresh = 0;
            }
            same[rr] = rr > 0 && n > 0 && !g->batch_outer;
            for (int j = 0; j < 3; j++) ib[rr][j] = ibp[j];
            xbase[rr] = n * p->x.stride_n + grp * p->cin_g;
            xrow[rr] = xbase[rr] + xpos;
            interior &= inter_pos;
            cptr[ti * mr + rr] = a->y + n * p->y.stride_n + grp * p->cout_g + ypos;
            fresh = dc_row_next(ro, &n, q);
        }
        const float **ap = aptr + ti * ntaps * mr;
        int32_t *ti_idx = tidx + ti * ntaps;
        int32_t cnt = 0;
        tl[ti].src = (int32_t)ti;
        tl[ti].a_shift = 0;
        /* A whole tile of one spatial position in consecutive images (rows ordered with the
         * image innermost, N >= mr): every tap reads all its rows or none, one image apart,
         * so only row 0's pointer is made and the kernel runs with a_stride (lenet_c2, 64
         * images: making every row's pointers took 8% of its time). */
        int one_pos = rows == mr && g->uk.kind == DC_UKR_GEMM; /* DOT kernels: no a_stride */
        for (int rr = 1; rr < rows && one_pos; rr++) one_pos = same[rr];
        tl[ti].a_stride = one_pos ? p->x.stride_n : 0;
        /* The next images at the position of the tile before (lenet_c2: 64 images, 10 such
         * tiles per position): that tile's pointers and taps, read xbase further on. Making
         * them again took 2% of lenet_c2. */
        if (one_pos && ti > 0 && tl[ti - 1].a_stride && ib[0][0] == prev_ib[0] &&
            ib[0][1] == prev_ib[1] && ib[0][2] == prev_ib[2]) {
            tl[ti].src = tl[ti - 1].src;
            tl[ti].a_shift = xbase[0] - xbase_src;
            tl[ti].ntaps = tl[ti - 1].ntaps;
            continue;
        }
        if (one_pos) {
            for (int j = 0; j < 3; j++) prev_ib[j] = ib[0][j];
            xbase_src = xbase[0];
        }
        for (int64_t t = 0; one_pos && t < ntaps; t++) {
            const int64_t i0 = ib[0][0] + taps[t].off[0], i1 = ib[0][1] + taps[t].off[1],
                          i2 = ib[0][2] + taps[t].off[2];
            if ((uint64_t)i0 < sp0 && (uint64_t)i1 < sp1 && (uint64_t)i2 < sp2) {
                ap[cnt * mr] = a->x + xbase[0] + i0 * st0 + i1 * st1 + i2 * st2;
                ti_idx[cnt++] = (int32_t)t;
            }
        }
        if (!one_pos && interior) {
            /* (vgg3x3: 3 in 4 tiles; checking every tap of every row took 2% of its time) */
            for (int64_t t = 0; t < ntaps; t++) {
                for (int rr = 0; rr < mr; rr++) ap[t * mr + rr] = a->x + xrow[rr] + toff[t];
                ti_idx[t] = (int32_t)t;
            }
            tl[ti].ntaps = (int32_t)ntaps;
            continue;
        }
        for (int64_t t = 0; !one_pos && t < ntaps; t++) {
            int any = 0, inside = 0;
            int64_t soff = 0;
            const int64_t o0 = taps[t].off[0], o1 = taps[t].off[1], o2 = taps[t].off[2];
            for (int rr = 0; rr < mr; rr++) {
                const float *ptr = zero;
                if (rr < rows) {
                    if (!same[rr]) {
                        const int64_t i0 = ib[rr][0] + o0, i1 = ib[rr][1] + o1,
                                      i2 = ib[rr][2] + o2;
                        /* unsigned compares: negative positions wrap to huge values */
                        inside = (uint64_t)i0 < sp0 && (uint64_t)i1 < sp1 && (uint64_t)i2 < sp2;
                        soff = i0 * st0 + i1 * st1 + i2 * st2;
                    }
                    if (inside) {
                        ptr = a->x + xbase[rr] + soff;
                        any = 1;
                    }
                }
                ap[cnt * mr + rr] = ptr;
            }
            if (any) ti_idx[cnt++] = (int32_t)t;
        }
        tl[ti].ntaps = cnt;
    }
}

/* Packs weights of channels [c0, c0 + kc) and output channel tile nt of group grp. */
static void pack_b(const geo *g, const float *w, const tap *taps, int64_t ntaps, int64_t grp,
                   int64_t nt, int64_t c0, int64_t kc, float *dst) {
    const dc_conv_problem *p = g->p;
    const int64_t NR = g->uk.nr, co0 = nt * NR;
    const int64_t nr = p->cout_g - co0 < NR ? p->cout_g - co0 : NR;
    if (g->uk.kind == DC_UKR_GEMM) {
        for (int64_t t = 0; t < ntaps; t++) {
            float *d = dst + t * kc * NR;
            if (!p->transposed) {
                /* conv filter [k, cin_g, cout]: rows of output channels */
                const float *s = w + taps[t].w + c0 * p->y.c + grp * p->cout_g + co0;
                for (int64_t k = 0; k < kc; k++, d += NR, s += p->y.c) {
                    int64_t j = 0;
                    for (; j < nr; j++) d[j] = s[j];
                    for (; j < NR; j++) d[j] = 0.0f;
                }
            } else {
                /* transposed filter [k, cout_g, cin]: rows of input channels, transposed */
                const float *s = w + taps[t].w + co0 * p->x.c + grp * p->cin_g + c0;
#if defined(__x86_64__) || defined(__i386__)
                /* what is packed next: the next tap's rows, or the next channel block's
                 * first tap (the unit's next call) */
                const float *next = t + 1 < ntaps   ? s - taps[t].w + taps[t + 1].w
                                    : c0 + kc < p->cin_g ? s - taps[t].w + taps[0].w + kc
                                                         : NULL;
                const int isa = dc_fast_isa();
                if (isa == DC_ISA_AVX512 && NR % 16 == 0) {
                    dc_pack_transpose_avx512(s, p->x.c, nr, NR, kc, d, next);
                    continue;
                }
                if ((isa == DC_ISA_AVX2 || isa == DC_ISA_AVX512) && NR % 8 == 0) {
                    dc_pack_transpose_avx2(s, p->x.c, nr, NR, kc, d, next);
                    continue;
                }
#endif
                /* (8 channels at a time, so both sides stay sequential) */
                for (int64_t k0 = 0; k0 < kc; k0 += 8) {
                    const int64_t k1 = k0 + 8 < kc ? k0 + 8 : kc;
                    for (int64_t j = 0; j < NR; j++) {
                        if (j >= nr) {
                            for (int64_t k = k0; k < k1; k++) d[k * NR + j] = 0.0f;
                            continue;
                        }
                        const float *sj = s + j * p->x.c;
                        for (int64_t k = k0; k < k1; k++) d[k * NR + j] = sj[k];
                    }
                }
            }
        }
    } else {
        for (int64_t j = 0; j < nr; j++)
            for (int64_t t = 0; t < ntaps; t++) {
                float *d = dst + (j * ntaps + t) * kc;
                if (!p->transposed) {
                    const float *s = w + taps[t].w + c0 * p->y.c + grp * p->cout_g + co0 + j;
                    for (int64_t k = 0; k < kc; k++) d[k] = s[k * p->y.c];
                } else {
                    const float *s = w + taps[t].w + (co0 + j) * p->x.c + grp * p->cin_g + c0;
                    memcpy(d, s, (size_t)kc * sizeof(float));
                }
            }
    }
}

/* pack_b, then, where the caller asked (dc_conv_args.weights_bad: a stateless call that did
 * not scan the filter first), a check of what it wrote while it is in cache: every weight the
 * kernels multiply passes through here, and an inf or NaN one sends the call to the reference
 * (0 * inf from a padding row would be NaN). vol3d's stateless call scanned its 28 MB from
 * memory first: 8% of its time at 1 thread. */
static void pack_checked(const geo *g, const dc_conv_args *a, const tap *taps, int64_t ntaps,
                         int64_t grp, int64_t nt, int64_t c0, int64_t kc, float *dst) {
    pack_b(g, a->w, taps, ntaps, grp, nt, c0, kc, dst);
    if (!a->weights_bad) return;
    const int64_t NR = g->uk.nr, co0 = nt * NR;
    const int64_t nr = g->p->cout_g - co0 < NR ? g->p->cout_g - co0 : NR;
    const int64_t n = (g->uk.kind == DC_UKR_GEMM ? NR : nr) * ntaps * kc;
    if (!dc_weights_finite(dst, n)) __atomic_store_n(a->weights_bad, 1, __ATOMIC_RELAXED);
}

/* Bias and activation over the finished tile, as the reference: act((float)acc + bias). */
static void epilogue(const dc_conv_args *a, float *const *cptr, int64_t rows, int64_t grp,
                     int64_t co0, int64_t nr) {
    const dc_conv_problem *p = a->p;
    const float *bias = a->bias ? a->bias + grp * p->cout_g + co0 : NULL;
    for (int64_t r = 0; r < rows; r++) {
        float *c = cptr[r] + co0;
        if (p->activation == DECONV_ACTIVATION_NONE) {
            for (int64_t j = 0; j < nr; j++) c[j] += bias[j];
        } else {
            for (int64_t j = 0; j < nr; j++) c[j] = dc_activate(p, bias ? c[j] + bias[j] : c[j]);
        }
    }
}

/* Start of the packed weights of (phase, group, tile) in a dc_fast_pack buffer: phases in
 * order, then groups, then tiles, each [channel blocks][ntaps][kc][NR] (DOT: [nr][ntaps][kc]
 * per block), i.e. exactly what pack_b writes, block after block. */
static int64_t packed_offset(const geo *g, const int64_t *phase_off, int64_t ph, int64_t grp,
                             int64_t nt, int64_t ntaps) {
    return phase_off[ph] + (grp * g->ntiles + nt) * ntaps * g->p->cin_g * g->uk.nr;
}

/* Where unit u's packed weights start in fp->w, and their bytes (0: no taps). */
static size_t unit_weights(const geo *g, const dc_fast_packed *fp, int64_t u,
                           const float **w) {
    const unit_at at = unit_of(g, u);
    int64_t r[3], ntaps = 1;
    phase_of(g, at.ph, r);
    for (int j = 0; j < 3; j++) ntaps *= dc_fast_dim_taps(g->p, j, r[j], NULL, NULL);
    *w = fp->w + packed_offset(g, fp->phase_off, at.ph, at.grp, at.nt, ntaps);
    return (size_t)(ntaps * g->p->cin_g * g->uk.nr) * sizeof(float);
}

static void fast_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                     const dc_ukr *uk, const dc_fast_packed *fp) {
    const dc_conv_problem *p = a->p;
    geo g;
    geo_init(p, uk, fp != NULL, a->num_threads, &g);
    char *base = (char *)(((uintptr_t)a->workspace + 63) & ~(uintptr_t)63);
    char *ws = base + (size_t)thread * g.slice;
    float *bpack = fp ? NULL : (float *)(ws + g.off_b);
    /* the cache's panels (g.cache_slot): which of the group cache_grp's are packed */
    unsigned char *have = (unsigned char *)(ws + g.off_have);
    int64_t cache_grp = -1;
    tap *taps = (tap *)(ws + g.off_taps);
    int64_t slot_key[ROW_SLOTS_MAX]; /* the (group, block, phase) each slot holds, or -1 */
    for (int i = 0; i < ROW_SLOTS_MAX; i++) slot_key[i] = -1;
    float *zero = (float *)(ws + g.off_zero);
    memset(zero, 0, (size_t)p->cin_g * sizeof(float));
    const int mr = uk->mr, NR = uk->nr;
    const int need_epilogue = a->bias || p->activation != DECONV_ACTIVATION_NONE;
    if (g.small) begin = 0, end = g.units;

    int64_t cur_phase = -1, ntaps = 0, r[3] = {0, 0, 0}, nq[3] = {0, 0, 0};
    dc_row_order order;
    int64_t split[3] = {-1, 0, 0}; /* block_range's cache */
    for (int64_t u = begin; u < end; u++) {
        /* Phase innermost: phases differ in their number of taps (a 5x5 stride-2 kernel has
         * 9, 6, 6 and 4), so contiguous chunks of units, one per thread, get them alike. */
        const unit_at at = unit_of(&g, u);
        const int64_t ph = at.ph, nt = at.nt, mb = at.mb, grp = at.grp;
        if (ph != cur_phase) {
            ntaps = phase_taps(&g, ph, r, nq, taps);
            dc_fast_row_order(p, g.batch_outer, r, &order);
            cur_phase = ph;
        }
        const int64_t nrows = p->y.n * nq[0] * nq[1] * nq[2];
        int64_t row0, row1;
        block_range(&g, mb, split, &row0, &row1);
        if (row0 >= nrows || row0 >= row1) continue;
        if (row1 > nrows) row1 = nrows;
        const int64_t key = (grp * g.mblocks + mb) * g.nphase + ph;
        const int64_t slot = g.row_slots > 1 ? ph : 0;
        char *rows = ws + g.off_rows + (size_t)slot * g.slot;
        const float **aptr = (const float **)(rows + g.off_a);
        float **cptr = (float **)(rows + g.off_c);
        tile *tl = (tile *)(rows + g.off_tile);
        int32_t *tidx = (int32_t *)(rows + g.off_ti);
        if (key != slot_key[slot]) {
            build_rows(&g, a, r, &order, taps, ntaps, grp, row0, row1, aptr, cptr, tl, tidx, zero);
            slot_key[slot] = key;
        }
        const int64_t co0 = nt * NR;
        const int64_t nr = p->cout_g - co0 < NR ? p->cout_g - co0 : NR;
        const int64_t tiles = (row1 - row0 + mr - 1) / mr;
        if (ntaps == 0) {
            /* No kernel position reaches this phase: the sum is empty. */
            for (int64_t i = 0; i < row1 - row0; i++)
                for (int64_t j = 0; j < nr; j++) cptr[i][co0 + j] = 0.0f;
        }
        const float *tile_w = fp && ntaps > 0
                                  ? fp->w + packed_offset(&g, fp->phase_off, ph, grp, nt, ntaps)
                                  : NULL;
        if (g.cache_slot && ntaps > 0) {
            if (grp != cache_grp) {
                memset(have, 0, (size_t)(g.nphase * g.ntiles));
                cache_grp = grp;
            }
            const int64_t i = ph * g.ntiles + nt;
            float *panel = bpack + i * g.cache_slot;
            for (int64_t c0 = 0; !have[i] && c0 < p->cin_g; c0 += g.kc) {
                const int64_t kc = p->cin_g - c0 < g.kc ? p->cin_g - c0 : g.kc;
                pack_checked(&g, a, taps, ntaps, grp, nt, c0, kc, panel + c0 * ntaps * NR);
            }
            have[i] = 1;
            tile_w = panel;
        }
        /* Prepared weights of another block for the next unit: the kernel calls of this one
         * bring them into L2 a share at a time (dc_ukr_args.pf). Where all the weights do not
         * fit in L2 with the rest (fcn_k4, the dcgans: each unit's block came from L3, and a
         * unit's first tile took 2.2 times as long as the others), this took the fastest
         * calls of fcn_k4 2%, dcgan2 3.5% and dcgan1 16% down. */
        const char *pf = NULL;
        size_t pf_lines = 0, pf_per = 0, pf_done = 0;
        if (fp && u + 1 < end && ntaps > 0) {
            const float *nw;
            const size_t bytes = unit_weights(&g, fp, u + 1, &nw);
            if (nw != tile_w) {
                pf = (const char *)nw;
                pf_lines = (bytes + 63) / 64;
                const int64_t calls = tiles * ((p->cin_g + g.kc - 1) / g.kc);
                pf_per = (pf_lines + (size_t)calls - 1) / (size_t)calls;
            }
        }
        for (int64_t c0 = 0; ntaps > 0 && c0 < p->cin_g; c0 += g.kc) {
            const int64_t kc = p->cin_g - c0 < g.kc ? p->cin_g - c0 : g.kc;
            dc_ukr_args ua;
            if (tile_w) {
                ua.b = tile_w + c0 * ntaps * NR;
            } else {
                pack_checked(&g, a, taps, ntaps, grp, nt, c0, kc, bpack);
                ua.b = bpack;
            }
            ua.c_off = co0;
            ua.kc = kc;
            ua.btaps = ntaps;
            ua.nr = (int32_t)nr;
            ua.first = c0 == 0;
            ua.c_stride = 0;
            ua.zl = ua.zr = 0;
            for (int64_t ti = 0; ti < tiles; ti++) {
                const int64_t left = row1 - row0 - ti * mr;
                const tile *t = &tl[ti];
                ua.a = aptr + t->src * ntaps * mr;
                ua.a_off = c0 + t->a_shift;
                ua.a_stride = t->a_stride;
                ua.tap = tidx + t->src * ntaps;
                ua.ntaps = t->ntaps;
                ua.c = cptr + ti * mr;
                ua.mr = (int32_t)(left < mr ? left : mr);
                const size_t now = pf_per < pf_lines - pf_done ? pf_per : pf_lines - pf_done;
                ua.pf = now ? pf + 64 * pf_done : NULL;
                ua.pf_lines = (int64_t)now;
                pf_done += now;
                uk->fn(&ua);
            }
        }
        if (need_epilogue) epilogue(a, cptr, row1 - row0, grp, co0, nr);
    }
}

/* The stateless run functions of a GEMM micro-kernel under the implicit GEMM and conv_col
 * (GEMM_RUNS), under conv_im2col (IM2COL_RUN: the AVX-512 level runs a tile unrolled for
 * short reductions there) and under conv_wino with the level's transforms (WINO_RUN), and of
 * a DOT kernel under the implicit GEMM. */
#define GEMM_RUNS(sfx, UK)                                                                    \
    static void run_gemm_##sfx(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {      \
        fast_run(a, b, e, t, &UK, NULL);                                                      \
    }                                                                                         \
    static void run_col_##sfx(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {       \
        dc_fast_col_run(a, b, e, t, &UK, NULL);                                               \
    }
#define IM2COL_RUN(sfx, UK)                                                                   \
    static void run_im2col_##sfx(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {    \
        dc_fast_im2col_run(a, b, e, t, &UK, NULL);                                            \
    }
#define WINO_RUN(sfx, UK, XF)                                                                 \
    static void run_wino_##sfx(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {      \
        dc_fast_wino_run(a, b, e, t, &UK, &XF, NULL, a->w);                                   \
    }
#define DOT_RUN(sfx, UK)                                                                      \
    static void run_dot_##sfx(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {       \
        fast_run(a, b, e, t, &UK, NULL);                                                      \
    }

static const dc_ukr UKR_GEMM_PORTABLE = {DC_UKR_GEMM, DC_PORTABLE_GEMM_MR, DC_PORTABLE_GEMM_NR,
                                         dc_ukr_gemm_portable, NULL};
static const dc_ukr UKR_DOT_PORTABLE = {DC_UKR_DOT, DC_PORTABLE_DOT_MR, DC_PORTABLE_DOT_NR,
                                        dc_ukr_dot_portable, NULL};
GEMM_RUNS(portable, UKR_GEMM_PORTABLE)
WINO_RUN(portable, UKR_GEMM_PORTABLE, DC_WINO_XF_PORTABLE)
IM2COL_RUN(portable, UKR_GEMM_PORTABLE)
DOT_RUN(portable, UKR_DOT_PORTABLE)
#if defined(__x86_64__) || defined(__i386__)
static const dc_ukr UKR_GEMM_AVX2 = {DC_UKR_GEMM, DC_AVX2_GEMM_MR, DC_AVX2_GEMM_NR,
                                     dc_ukr_gemm_avx2, NULL};
static const dc_ukr UKR_DOT_AVX2 = {DC_UKR_DOT, DC_AVX2_DOT_MR, DC_AVX2_DOT_NR,
                                   dc_ukr_dot_avx2, NULL};
static const dc_ukr UKR_GEMM_AVX512 = {DC_UKR_GEMM, DC_AVX512_GEMM_MR, DC_AVX512_GEMM_NR,
                                       dc_ukr_gemm_avx512, NULL};
static const dc_ukr UKR_GEMM_AVX512_WIDE = {DC_UKR_GEMM, DC_AVX512_WIDE_MR, DC_AVX512_WIDE_NR,
                                            dc_ukr_gemm_avx512_wide, NULL};
static const dc_ukr UKR_GEMM_AVX512_SHORT = {DC_UKR_GEMM, DC_AVX512_SHORT_MR, DC_AVX512_GEMM_NR,
                                             dc_ukr_gemm_avx512_short,
                                             dc_ukr_gemm_avx512_short_runs};
GEMM_RUNS(avx2, UKR_GEMM_AVX2)
WINO_RUN(avx2, UKR_GEMM_AVX2, DC_WINO_XF_AVX2)
IM2COL_RUN(avx2, UKR_GEMM_AVX2)
DOT_RUN(avx2, UKR_DOT_AVX2)
GEMM_RUNS(avx512, UKR_GEMM_AVX512)
static void run_gemm_avx512_wide(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {
    fast_run(a, b, e, t, &UKR_GEMM_AVX512_WIDE, NULL);
}
WINO_RUN(avx512, UKR_GEMM_AVX512, DC_WINO_XF_AVX512)
WINO_RUN(avx512_wide, UKR_GEMM_AVX512_WIDE, DC_WINO_XF_AVX512)
IM2COL_RUN(avx512_short, UKR_GEMM_AVX512_SHORT)
#endif
/* conv_dot1.c's stateless run functions, one per dot1 / dotn kernel. */
#define DOT1_RUN(name, fn)                                                                    \
    static void name(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {                \
        dc_fast_dot1_run(a, b, e, t, fn, NULL);                                               \
    }
DOT1_RUN(run_dot1_portable, dc_dot1_portable)
DOT1_RUN(run_dotn_portable, dc_dotn_portable)
#if defined(__x86_64__) || defined(__i386__)
DOT1_RUN(run_dot1_avx2, dc_dot1_avx2)
DOT1_RUN(run_dotn_avx2, dc_dotn_avx2)
DOT1_RUN(run_dotn_avx512, dc_dotn_avx512)
/* conv_planes.c's stateless run functions */
static void run_planes_avx2(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {
    dc_fast_planes_run(a, b, e, t, &DC_PLANES_AVX2, NULL);
}
static void run_planes_avx512(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {
    dc_fast_planes_run(a, b, e, t, &DC_PLANES_AVX512, NULL);
}
/* conv_wino_few.c's stateless run function */
static void run_wino_few_avx512(const dc_conv_args *a, int64_t b, int64_t e, int32_t t) {
    dc_fast_wino_few_run(a, b, e, t, NULL);
}
#endif
#if defined(__aarch64__)
static const dc_ukr UKR_GEMM_NEON = {DC_UKR_GEMM, DC_NEON_GEMM_MR, DC_NEON_GEMM_NR,
                                     dc_ukr_gemm_neon, NULL};
GEMM_RUNS(neon, UKR_GEMM_NEON)
WINO_RUN(neon, UKR_GEMM_NEON, DC_WINO_XF_PORTABLE)
IM2COL_RUN(neon, UKR_GEMM_NEON)
#endif

/* What one ISA level runs, per driver (indexed by DC_FAST_MODE_*, then LEVEL_DOT: the dot
 * kernel under the implicit GEMM, and LEVEL_DOTN: conv_dot1.c with 2..4 output channels):
 * the stateless run function and the name plans report. */
enum { LEVEL_DOT = 7, LEVEL_DOTN = 8, LEVEL_KINDS = 9 };
typedef struct level {
    const dc_ukr *gemm, *dot; /* the GEMM kernel (implicit GEMM, col); the dot kernel */
    const dc_ukr *im2col;     /* the GEMM kernel under im2col */
    dc_dot1_fn dot1, dotn;    /* conv_dot1.c's kernels for one and for 2..4 output channels */
    const dc_planes_kernels *planes; /* conv_planes.c's kernels, NULL: the level has none */
    dc_conv_kernel_fn run[LEVEL_KINDS];
    const char *name[LEVEL_KINDS];
} level;

static const level LEVEL_PORTABLE = {
    &UKR_GEMM_PORTABLE, &UKR_DOT_PORTABLE, &UKR_GEMM_PORTABLE, dc_dot1_portable,
    dc_dotn_portable, NULL,
    {run_gemm_portable, run_col_portable, run_im2col_portable, run_dot1_portable, NULL,
     run_wino_portable, NULL, run_dot_portable, run_dotn_portable},
    {"fast-gemm-portable", "fast-col-portable", "fast-im2col-portable", "fast-dot1-portable",
     NULL, "fast-wino-portable", NULL, "fast-dot-portable", "fast-dotn-portable"}};
#if defined(__x86_64__) || defined(__i386__)
static const level LEVEL_AVX2 = {
    &UKR_GEMM_AVX2, &UKR_DOT_AVX2, &UKR_GEMM_AVX2, dc_dot1_avx2, dc_dotn_avx2, &DC_PLANES_AVX2,
    {run_gemm_avx2, run_col_avx2, run_im2col_avx2, run_dot1_avx2, run_planes_avx2,
     run_wino_avx2, NULL, run_dot_avx2, run_dotn_avx2},
    {"fast-gemm-avx2", "fast-col-avx2", "fast-im2col-avx2", "fast-dot1-avx2",
     "fast-planes-avx2", "fast-wino-avx2", NULL, "fast-dot-avx2", "fast-dotn-avx2"}};
/* Wider GEMM, dotn and planes kernels; the AVX-512 level runs AVX2's dot and dot1 kernels. */
static const level LEVEL_AVX512_GEMM = {
    &UKR_GEMM_AVX512, NULL, &UKR_GEMM_AVX512_SHORT, NULL, dc_dotn_avx512, &DC_PLANES_AVX512,
    {run_gemm_avx512, run_col_avx512, run_im2col_avx512_short, NULL, run_planes_avx512,
     run_wino_avx512, run_wino_few_avx512, NULL, run_dotn_avx512},
    {"fast-gemm-avx512", "fast-col-avx512", "fast-im2col-avx512", NULL, "fast-planes-avx512",
     "fast-wino-avx512", "fast-wino-few-avx512", NULL, "fast-dotn-avx512"}};
/* The same with the 6 x 64 tile under the implicit GEMM (only that driver takes it). */
static const level LEVEL_AVX512_WIDE = {
    &UKR_GEMM_AVX512_WIDE, NULL, &UKR_GEMM_AVX512_SHORT, NULL, dc_dotn_avx512, &DC_PLANES_AVX512,
    {run_gemm_avx512_wide, NULL, NULL, NULL, NULL, run_wino_avx512_wide, NULL, NULL, NULL},
    {"fast-gemm-avx512-wide", NULL, NULL, NULL, NULL, "fast-wino-avx512-wide", NULL, NULL,
     NULL}};
#endif
#if defined(__aarch64__)
/* AArch64 has no dot kernels of its own yet: the portable ones. */
static const level LEVEL_NEON = {
    &UKR_GEMM_NEON, &UKR_DOT_PORTABLE, &UKR_GEMM_NEON, dc_dot1_portable, dc_dotn_portable, NULL,
    {run_gemm_neon, run_col_neon, run_im2col_neon, run_dot1_portable, NULL, run_wino_neon,
     NULL, run_dot_portable, run_dotn_portable},
    {"fast-gemm-neon", "fast-col-neon", "fast-im2col-neon", "fast-dot1-portable", NULL,
     "fast-wino-neon", NULL, "fast-dot-portable", "fast-dotn-portable"}};
#endif

/* n GEMM columns in w-wide tiles waste no more than in w/2-wide ones, or at most 1/8. */
static int fits_width(int64_t n, int64_t w) {
    const int64_t full = (n + w - 1) / w * w, half = (n + w / 2 - 1) / (w / 2) * (w / 2);
    return full == half || (full - n) * 8 <= n;
}

/* The micro-kernel (and its stateless run function, and conv_dot1.c's kernel: dot1 for one
 * output channel, dotn for 2..4; or conv_planes.c's kernels) for p at the current ISA level,
 * or 0 when no fast kernel claims p. *mode tells which driver runs it (DC_FAST_MODE_*). */
static int select_kernel(const dc_conv_problem *p, const dc_ukr **uk, dc_conv_kernel_fn *run,
                         const char **name, int *mode, dc_dot1_fn *dot1,
                         const dc_planes_kernels **planes) {
    *mode = DC_FAST_MODE_GEMM;
    if (p->layout != DECONV_CHANNELS_LAST) return 0;
    if (p->y.count == 0 || p->x.count == 0 || p->cin_g > MAX_CIN) return 0;
    const int64_t kvol = p->k[0] * p->k[1] * p->k[2];
    if (kvol > DC_FAST_MAX_TAPS) return 0;
    /* Huge transposed strides make mostly empty phases: leave them to the reference. */
    if (p->transposed && (p->s[0] > MAX_PHASE_STRIDE || p->s[1] > MAX_PHASE_STRIDE ||
                          p->s[2] > MAX_PHASE_STRIDE))
        return 0;
    const int isa = dc_fast_isa();
    if (isa == DC_FAST_OFF) return 0;
    const level *L = &LEVEL_PORTABLE, *wide = NULL, *wider = NULL;
#if defined(__x86_64__) || defined(__i386__)
    if (isa == DC_ISA_AVX2 || isa == DC_ISA_AVX512) L = &LEVEL_AVX2;
    if (isa == DC_ISA_AVX512) wide = &LEVEL_AVX512_GEMM, wider = &LEVEL_AVX512_WIDE;
#endif
#if defined(__aarch64__)
    if (isa == DC_ISA_NEON) L = &LEVEL_NEON;
#endif
    /* The drivers in order of preference; cols: the GEMM's columns. */
    int k;
    int64_t cols = p->cout_g;
    if (dc_fast_wino_claims(p, L->gemm))
        k = DC_FAST_MODE_WINO;
    else if (dc_fast_im2col_claims(p, L->gemm))
        k = DC_FAST_MODE_IM2COL;
    else if (wide && dc_fast_wino_few_claims(p))
        k = DC_FAST_MODE_WINO_FEW;
    else if (wide && wide->planes ? dc_fast_planes_claims(p, wide->planes)
                                   : L->planes && dc_fast_planes_claims(p, L->planes))
        k = DC_FAST_MODE_PLANES;
    else if (dc_fast_dot1_claims(p))
        k = p->cout_g == 1 ? DC_FAST_MODE_DOT1 : LEVEL_DOTN;
    else if (dc_fast_col_claims(p, L->gemm))
        k = DC_FAST_MODE_COL, cols = kvol * p->cout_g;
    else if (p->cout_g <= L->dot->nr)
        k = LEVEL_DOT;
    else
        k = DC_FAST_MODE_GEMM;
    /* The AVX-512 level runs its 32-wide GEMM kernel where 32-column tiles waste no more than
     * 16-column ones would (few columns stay on the AVX2 kernel), and under the implicit GEMM
     * its 64-wide one where 64-column tiles waste no more than 32-column ones. */
    const int dotk = k == LEVEL_DOT || k == DC_FAST_MODE_DOT1 || k == LEVEL_DOTN;
    const level *use = wide && !dotk && fits_width(cols, 32) ? wide : L;
    if (use == wide && wider && (k == DC_FAST_MODE_GEMM || k == DC_FAST_MODE_WINO) &&
        fits_width(cols, 64))
        use = wider;
    if (k == LEVEL_DOTN && wide) use = wide;
    if (k == DC_FAST_MODE_PLANES) use = wide && wide->planes ? wide : L;
    if (k == DC_FAST_MODE_WINO_FEW) use = wide;
    *mode = k == LEVEL_DOT ? DC_FAST_MODE_GEMM : k == LEVEL_DOTN ? DC_FAST_MODE_DOT1 : k;
    *uk = dotk ? L->dot : k == DC_FAST_MODE_IM2COL ? use->im2col : use->gemm;
    *run = use->run[k];
    *name = use->name[k];
    *dot1 = k == LEVEL_DOTN ? use->dotn : L->dot1;
    *planes = use->planes;
    return 1;
}

/* Units, workspace and packed size of the drivers other than the implicit GEMM. */
static void mode_sizes(int mode, const dc_conv_problem *p, const dc_ukr *uk, int packed,
                       int32_t num_threads, int64_t *units, size_t *ws, int64_t *floats) {
    if (mode == DC_FAST_MODE_COL)
        dc_fast_col_sizes(p, uk, packed, num_threads, units, ws, floats);
    else if (mode == DC_FAST_MODE_IM2COL)
        dc_fast_im2col_sizes(p, uk, packed, num_threads, units, ws, floats);
    else if (mode == DC_FAST_MODE_PLANES)
        dc_fast_planes_sizes(p, packed, num_threads, units, ws, floats);
    else if (mode == DC_FAST_MODE_WINO)
        dc_fast_wino_sizes(p, uk, packed, num_threads, units, ws, floats);
    else if (mode == DC_FAST_MODE_WINO_FEW)
        dc_fast_wino_few_sizes(p, packed, num_threads, units, ws, floats);
    else
        dc_fast_dot1_sizes(p, packed, num_threads, units, ws, floats);
}

int dc_fast_conv_plan(const dc_conv_problem *p, int32_t num_threads, dc_conv_plan *plan) {
    const dc_ukr *uk;
    dc_conv_kernel_fn run;
    const char *name;
    int mode;
    dc_dot1_fn dot1;
    const dc_planes_kernels *planes;
    if (!select_kernel(p, &uk, &run, &name, &mode, &dot1, &planes)) return 0;
    if (num_threads < 1) num_threads = 1;
    plan->name = name;
    plan->run = run;
    plan->relayout = 0;
    /* fast_run: pack_checked; conv_wino: phase_finite */
    plan->checks_weights = mode == DC_FAST_MODE_GEMM || mode == DC_FAST_MODE_WINO;
    if (mode != DC_FAST_MODE_GEMM) {
        int64_t packed_floats;
        mode_sizes(mode, p, uk, 0, num_threads, &plan->units, &plan->workspace_bytes,
                   &packed_floats);
        return 1;
    }
    geo g;
    geo_init(p, uk, 0, num_threads, &g);
    plan->units = g.small ? 1 : g.units;
    plan->workspace_bytes = g.slice * (size_t)num_threads + 64;
    return 1;
}

/* ---- prepacked weights (the prepared-weights API) ---------------------------------------- */

/* conv_wino.c's transforms for the level of GEMM kernel uk (as its WINO_RUN above). */
static const dc_wino_xf *wino_xf(const dc_ukr *uk) {
#if defined(__x86_64__) || defined(__i386__)
    if (uk->fn == dc_ukr_gemm_avx512 || uk->fn == dc_ukr_gemm_avx512_wide)
        return &DC_WINO_XF_AVX512;
    if (uk->fn == dc_ukr_gemm_avx2) return &DC_WINO_XF_AVX2;
#endif
    (void)uk;
    return &DC_WINO_XF_PORTABLE;
}

int dc_fast_pack(const dc_conv_problem *p, const float *w, dc_fast_packed *fp) {
    const dc_ukr *uk;
    dc_conv_kernel_fn run;
    const char *name;
    int mode;
    dc_dot1_fn dot1;
    const dc_planes_kernels *planes;
    memset(fp, 0, sizeof *fp);
    if (!select_kernel(p, &uk, &run, &name, &mode, &dot1, &planes)) return 0;
    if (mode != DC_FAST_MODE_GEMM) {
        int64_t units, floats;
        size_t ws;
        mode_sizes(mode, p, uk, 1, 1, &units, &ws, &floats);
        if ((uint64_t)floats > (SIZE_MAX - 64) / sizeof(float)) return 0;
        fp->mem = malloc((size_t)floats * sizeof(float) + 64);
        if (!fp->mem) return -1;
        fp->w = (float *)(((uintptr_t)fp->mem + 63) & ~(uintptr_t)63);
        if (mode == DC_FAST_MODE_COL)
            dc_fast_col_pack_b(p, uk, w, fp->w);
        else if (mode == DC_FAST_MODE_IM2COL)
            dc_fast_im2col_pack_b(p, uk, w, fp->w);
        else if (mode == DC_FAST_MODE_PLANES)
            dc_fast_planes_pack_b(p, w, fp->w);
        else if (mode == DC_FAST_MODE_WINO) {
            float *tmp = malloc((size_t)DC_WINO_PACK_TMP * sizeof(float));
            if (!tmp) {
                free(fp->mem);
                memset(fp, 0, sizeof *fp);
                return -1;
            }
            dc_fast_wino_pack_b(p, uk, wino_xf(uk), w, fp->w, tmp);
            free(tmp);
            memcpy(fp->w + dc_fast_wino_raw_offset(p, uk), w, (size_t)p->w_count * sizeof(float));
        }
        else if (mode == DC_FAST_MODE_WINO_FEW)
            dc_fast_wino_few_pack_b(p, w, fp->w);
        else
            dc_fast_dot1_pack_b(p, w, fp->w);
        fp->dot1 = mode == DC_FAST_MODE_DOT1 ? dot1 : NULL;
        fp->planes = mode == DC_FAST_MODE_PLANES ? planes : NULL;
        fp->wino = mode == DC_FAST_MODE_WINO ? wino_xf(uk) : NULL;
        fp->uk = *uk;
        fp->name = name;
        fp->mode = mode;
        return 1;
    }
    geo g;
    geo_init(p, uk, 1, 1, &g); /* (the packed layout does not depend on the split) */
    /* Per phase: groups * tiles * taps * cin_g * NR floats, summed in checked arithmetic (a
     * 32-bit size_t may not hold it; the caller then keeps the raw weights). */
    int64_t total = 0;
    tap *taps = malloc((size_t)(g.ntaps_max > 0 ? g.ntaps_max : 1) * sizeof(tap));
    fp->phase_off = malloc((size_t)g.nphase * sizeof(int64_t));
    if (!taps || !fp->phase_off) {
        free(taps);
        free(fp->phase_off);
        fp->phase_off = NULL;
        return -1;
    }
    for (int64_t ph = 0; ph < g.nphase; ph++) {
        int64_t r[3], nq[3], sz;
        const int64_t ntaps = phase_taps(&g, ph, r, nq, taps);
        fp->phase_off[ph] = total;
        /* phases start on 64-byte boundaries, like the stateless packing buffer: the kernels'
         * unaligned loads are slower when they split cache lines */
        if (!dc_mul(ntaps, p->cin_g * uk->nr, &sz) || !dc_mul(sz, g.ntiles * p->groups, &sz) ||
            !dc_add(sz, 15, &sz) || !dc_add(total, sz & ~(int64_t)15, &total) ||
            (uint64_t)total > (SIZE_MAX - 64) / sizeof(float)) {
            free(taps);
            free(fp->phase_off);
            fp->phase_off = NULL;
            return 0;
        }
    }
    fp->mem = malloc((size_t)total * sizeof(float) + 64);
    fp->w = fp->mem ? (float *)(((uintptr_t)fp->mem + 63) & ~(uintptr_t)63) : NULL;
    if (!fp->w) {
        free(taps);
        free(fp->phase_off);
        fp->phase_off = NULL;
        return -1;
    }
    for (int64_t ph = 0; ph < g.nphase; ph++) {
        int64_t r[3], nq[3];
        const int64_t ntaps = phase_taps(&g, ph, r, nq, taps);
        if (ntaps == 0) continue;
        for (int64_t grp = 0; grp < p->groups; grp++)
            for (int64_t nt = 0; nt < g.ntiles; nt++) {
                float *dst = fp->w + packed_offset(&g, fp->phase_off, ph, grp, nt, ntaps);
                for (int64_t c0 = 0; c0 < p->cin_g; c0 += g.kc) {
                    const int64_t kc = p->cin_g - c0 < g.kc ? p->cin_g - c0 : g.kc;
                    pack_b(&g, w, taps, ntaps, grp, nt, c0, kc, dst + c0 * ntaps * uk->nr);
                }
            }
    }
    free(taps);
    fp->uk = *uk;
    fp->name = name;
    return 1;
}

void dc_fast_packed_free(dc_fast_packed *fp) {
    free(fp->mem);
    free(fp->phase_off);
    memset(fp, 0, sizeof *fp);
}

void dc_fast_packed_plan(const dc_fast_packed *fp, const dc_conv_problem *p, int32_t num_threads,
                         int64_t *units, size_t *workspace_bytes) {
    if (fp->mode != DC_FAST_MODE_GEMM) {
        int64_t floats;
        mode_sizes(fp->mode, p, &fp->uk, 1, num_threads, units, workspace_bytes, &floats);
        return;
    }
    geo g;
    if (num_threads < 1) num_threads = 1;
    geo_init(p, &fp->uk, 1, num_threads, &g);
    *units = g.small ? 1 : g.units;
    *workspace_bytes = g.slice * (size_t)num_threads + 64;
}

void dc_fast_run_packed(const dc_fast_packed *fp, const dc_conv_args *a, int64_t begin,
                        int64_t end, int32_t thread) {
    if (fp->mode == DC_FAST_MODE_COL)
        dc_fast_col_run(a, begin, end, thread, &fp->uk, fp->w);
    else if (fp->mode == DC_FAST_MODE_IM2COL)
        dc_fast_im2col_run(a, begin, end, thread, &fp->uk, fp->w);
    else if (fp->mode == DC_FAST_MODE_DOT1)
        dc_fast_dot1_run(a, begin, end, thread, fp->dot1, fp->w);
    else if (fp->mode == DC_FAST_MODE_PLANES)
        dc_fast_planes_run(a, begin, end, thread, fp->planes, fp->w);
    else if (fp->mode == DC_FAST_MODE_WINO)
        dc_fast_wino_run(a, begin, end, thread, &fp->uk, fp->wino, fp->w,
                         fp->w + dc_fast_wino_raw_offset(a->p, &fp->uk));
    else if (fp->mode == DC_FAST_MODE_WINO_FEW)
        dc_fast_wino_few_run(a, begin, end, thread, fp->w);
    else
        fast_run(a, begin, end, thread, &fp->uk, fp);
}
