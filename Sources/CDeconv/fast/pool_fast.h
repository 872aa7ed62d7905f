/*
 * fast/pool_fast.h - the fast pooling and unpooling kernels, shared by fast/pool_*.c and
 * pool_api.c.
 *
 * Channels-last problems are claimed: the kernels vectorise over channels and walk each
 * window cell by cell in the reference's order, so max, argmax and avg give the reference's
 * bits (avg sums in double in window order, as the reference does). Channels-first max
 * pools at the AVX-512 level run in place, 16 output positions of a row per vector
 * (pool_first_avx512.c). Other channels-first forward ops run as their channels-last twins
 * one output row at a time, the row's input and outputs transposed through per-thread
 * buffers (first_x, first_y below; pool_api.c), or, when the context has no room for
 * those, on a scalar kernel with the same per-window order. Channels-first max_unpool runs by planes (unpool_planes.c) when C is a power of
 * two; other channels-first unpools run as their twins. Work is split over (image, output row) for the forward ops and over images for the
 * unpool ops, so every output element is written by one thread in a fixed order and no
 * result depends on the thread count.
 *
 * Unpooling writes its output through a small per-thread ring of the output image: a pooled
 * row only reaches the input rows of its windows, so once a pooled row is done the cells
 * before the next row's first window are final and are streamed out (non-temporal stores
 * where the ISA has them), never read back from memory. max_unpool takes that path only when
 * the prescan (fused with index validation) shows every index inside its own window rows and
 * its own channel; then each output cell receives its values in the reference's order.
 * Anything else runs the reference kernel. At the AVX-512 level max_unpool instead pulls each
 * output cell from the pooled pixels whose windows contain it, reading one-byte codes the
 * prescan left instead of the indices (no ring; see pool_avx512.c).
 */
#ifndef DECONV_POOL_FAST_H
#define DECONV_POOL_FAST_H

#include "internal.h"

enum dc_pool_op { DC_POOL_MAX = 0, DC_POOL_ARGMAX = 1, DC_POOL_AVG = 2 };

/** One output pixel of a channels-last forward op: the clipped window, all C channels. */
typedef struct dc_pool_px {
    const float *x;         /* first cell of the clipped window, channel 0 */
    int64_t n0, n1, n2;     /* clipped window extents (each >= 1) */
    int64_t st0, st1;       /* element strides of dims 0 and 1 in x (dim 2's is C) */
    int64_t c;              /* channels */
    int32_t pos, pst0, pst1; /* spatial flat index of the first cell, strides of dims 0, 1 */
    int64_t ibase;          /* argmax = ibase + (spatial flat) * C + channel */
    double count;           /* avg divisor (0: output 0) */
    float *y;
    int64_t *argmax;        /* DC_POOL_ARGMAX only */
    int stream;             /* 1: non-temporal stores (C % 8 == 0, outputs 16-byte aligned) */
} dc_pool_px;

typedef void (*dc_pool_px_fn)(const dc_pool_px *px);

void dc_pool_max_px_portable(const dc_pool_px *px);
void dc_pool_argmax_px_portable(const dc_pool_px *px);
void dc_pool_avg_px_portable(const dc_pool_px *px);
/** dst[0..n) = src[0..n), then src[0..n) = 0 (ring flush). */
void dc_pool_flush_portable(float *dst, float *src, int64_t n);
/** dst[i] += v[i] for i < n. */
void dc_pool_add_portable(float *dst, const float *v, int64_t n);
#if defined(__x86_64__) || defined(__i386__)
void dc_pool_max_px_avx2(const dc_pool_px *px);
void dc_pool_argmax_px_avx2(const dc_pool_px *px);
void dc_pool_avg_px_avx2(const dc_pool_px *px);
void dc_pool_flush_avx2(float *dst, float *src, int64_t n);
void dc_pool_add_avx2(float *dst, const float *v, int64_t n);
/** Index prescan of one pooled row of n indices whose C is a power of two (cmask = C - 1):
 *  returns 1 if any index is outside [0, limit); clears *local unless every t = index - base
 *  lies in [lo, lo + span) with t % C == its channel, c0 + i * step for the i-th (channels-
 *  last rows: 0 and 1; channels-first: the row's channel and 0). */
int dc_pool_scan_row_avx2(const int64_t *idx, int64_t n, int64_t limit, int64_t base,
                          int64_t lo, int64_t span, int64_t cmask, int64_t c0, int64_t step,
                          int *local);
/** Orders the non-temporal stores before the caller returns. */
void dc_pool_sfence_avx2(void);

/* max_unpool at the AVX-512 level (pool_avx512.c): the prescan leaves one code per value,
 * the run pulls each output cell from the codes of the pooled pixels whose windows contain it.
 * Taken when those are at most DC_POOL_PULL_MAX per cell (product over dims of ceil(k / s)),
 * C is a power of two and every window spans fewer than 255 cells (its last cell's spatial
 * index minus its first's). */
#define DC_POOL_PULL_MAX 16
/** How many pooled columns ahead the pull asks for values and codes (see pool_avx512.c). */
#define DC_POOL_PULL_AHEAD 8
/** Prescan of one channels-last pooled row (o0, o1) of y2 pixels. */
typedef struct dc_pool_code_row {
    const int64_t *idx;
    uint8_t *codes;         /* out: per value, cells past its window's first cell, or 255 */
    int64_t y2, c;          /* pooled cells in the row, channels (a power of two) */
    int shift;              /* log2(c) */
    int64_t limit;          /* indices must lie in [0, limit) */
    int64_t base, image;    /* own image: [base, base + image) */
    int64_t anchor;         /* spatial index of the row's windows' first row start */
    int64_t s2, pb2;        /* window of dim 2 */
} dc_pool_code_row;
/** Writes the row's codes; returns 1 if any index is outside [0, limit); clears *local unless
 *  every index lies in its own image and its own channel. */
int dc_pool_scan_codes_row_avx512(const dc_pool_code_row *r, int *local);
/** The pull's column table, the same for every output row of an op (pool_fast.c builds it
 *  once per thread and run): cell i2 of a row lies in the windows of n pooled columns, whose
 *  entries follow those of cell i2 - 1. pf >= 0: a new pooled column enters here; the values
 *  and codes at that element offset into each candidate row are worth fetching ahead. */
typedef struct dc_pool_pull_cell {
    int32_t n, pf;
} dc_pool_pull_cell;
/** One pooled column of a cell: its element offset in a pooled row (o2 * C) and the cell's
 *  place in its window (i2 minus the window's first cell, clipped). */
typedef struct dc_pool_pull_col {
    int32_t off, at;
} dc_pool_pull_col;
/** One output row (i0, i1) of one image. */
typedef struct dc_pool_pull_row {
    float *out;             /* the output row: x2 cells of c channels */
    const float *v;         /* the image's pooled values */
    const uint8_t *codes;   /* their codes (readable 16 bytes past the last) */
    const int64_t *rows;    /* element offsets (in v, codes) of the candidate pooled rows, in
                             * memory order; nrows * ceil(k2 / s2) <= DC_POOL_PULL_MAX */
    const int64_t *anchors; /* their code_row anchors */
    int64_t nrows;
    const dc_pool_pull_cell *cells; /* x2 cells */
    const dc_pool_pull_col *cols;   /* their columns, cell after cell */
    int64_t x2, c;          /* cells per output row, channels */
    int64_t pos;            /* spatial index of the row's first cell */
    int stream;             /* non-temporal stores (c % 16 == 0): 2 = out 64-byte aligned,
                             * 1 = 16-byte aligned; 0 = plain stores */
} dc_pool_pull_row;
/** Writes the row; returns how many values matched a cell of it. */
int64_t dc_pool_unpool_pull_row_avx512(const dc_pool_pull_row *r);
/** Images max_unpool pulled (counts[0]) and, of those, images it redid by the scatter
 *  (counts[1]), since the last reset (reset != 0 also zeroes them). For the tests. */
void dc_pool_pull_counts(int64_t counts[2], int reset);
/** max_pool_with_argmax at the AVX-512 level, for C a multiple of 64 (a pixel with a NaN in
 *  its window goes to dc_pool_argmax_px_avx2). */
void dc_pool_argmax_px_avx512(const dc_pool_px *px);
/** One output row of a channels-first max pool, with argmax or not (pool_first_avx512.c). */
typedef struct dc_pool_first_row {
    const float *x;          /* the (image, channel) plane */
    int64_t a0, e0, a1, e1;  /* the row's window rows in dims 0 and 1, clipped */
    int64_t sp1, w;          /* the plane's extents in dims 1 and 2 */
    int64_t y2, s2, pb2, k2; /* outputs in the row; dim 2's window */
    float *y;                /* the output row */
    int64_t *argmax;         /* its indices, or NULL: (ibase + position) * c + channel */
    int64_t ibase, c, channel;  /* ibase + position and c below 2^32 (32 x 32-bit products) */
} dc_pool_first_row;
void dc_pool_first_row_avx512(const dc_pool_first_row *r);
#endif

/* ---- drivers (pool_fast.c) ---------------------------------------------------------------- */

/** Everything a fast pooling run needs; filled by dc_pool_fast_*_setup, read by the range
 *  functions (dc_range_fn signature, arg = the dc_pool_fast). */
typedef struct dc_pool_fast {
    const dc_pool_problem *p;
    int op;                 /* enum dc_pool_op for forward ops */
    int isa;
    const float *x;         /* forward input */
    float *y;               /* forward output */
    int64_t *argmax;
    const float *pooled;    /* unpool input */
    const int64_t *index;   /* max_unpool indices */
    float *out;             /* unpool output */
    int64_t units;
    /* unpool ring: per thread ring_cap (a power of two) floats + c floats of scratch, or
     * ring_cap 0 = write the output image in place */
    float *ws;
    int64_t ring_cap, ws_floats;
    int stream;
    int pull;               /* max_unpool pulls from codes (AVX-512 level); no ring */
    uint8_t *codes;         /* the prescan's codes (pull) */
    size_t codes_bytes;     /* workspace they need, total */
    int planes;             /* channels-first max_unpool by planes (unpool_planes.c); the
                             * ring is then one plane's scratch (ring_cap 0: in place) */
    /* A channels-first forward op run as its twin, one output row at a time, in the
     * thread's ws (ws_floats per thread, dc_pool_fast_row_floats): with first_x, the row's
     * window rows are first transposed from this channels-first input into a channels-last
     * slab (x then unused); with first_y, the row is pooled into a buffer and transposed
     * from there into these channels-first outputs (y and argmax then unused). */
    const float *first_x;
    float *first_y;
    int64_t *first_argmax;
    int first_rows;         /* channels-first max pool rows at the AVX-512 level, in place */
} dc_pool_fast;

/** 1 when the channels-first max pool rows of pool_first_avx512.c take p and op, in place
 *  (no twin): the AVX-512 level, max or argmax, a stride along the row up to 64, positions
 *  that fit its int32 lanes, and positions of the batch and channels that fit 32 bits. */
int dc_pool_fast_first_rows(const dc_pool_problem *p, int op);
/** Forward ops: returns 1 and fills f when a fast kernel claims p (any layout), else 0. */
int dc_pool_fast_forward_setup(const dc_pool_problem *p, int op, const float *x, float *y,
                               int64_t *argmax, dc_pool_fast *f);
void dc_pool_fast_forward_run(void *arg, int64_t begin, int64_t end, int32_t thread);
/** Floats of per-thread workspace for a twin's rows: with out, one row of outputs and, with
 *  argmax, one row of indices (first_y); with in, the window rows of one output row
 *  (first_x). Each part rounded to 64 bytes; -1 if it does not fit int64. */
int64_t dc_pool_fast_row_floats(const dc_pool_problem *twin, int out, int argmax, int in);

/** Unpool ops (max: index != NULL): returns 1 and fills f (workspace bytes per thread in
 *  *ws_bytes, plus f->codes_bytes in all) when a fast kernel claims p, else 0. max_unpool
 *  also needs a clean prescan; allow_pull = 0 keeps it off the pull (less workspace). */
int dc_pool_fast_unpool_setup(const dc_pool_problem *p, const float *pooled,
                              const int64_t *index, float *out, int allow_pull,
                              size_t *ws_bytes, dc_pool_fast *f);
void dc_pool_fast_unpool_run(void *arg, int64_t begin, int64_t end, int32_t thread);
/** Channels-first max_unpool (unpool_planes.c), for f filled up to its pointers and isa:
 *  returns 1 and sets its units (planes) and workspace when C is a power of two. It needs a
 *  prescan that saw every index in its own image and channel. */
int dc_pool_unpool_planes_setup(const dc_pool_problem *p, size_t *ws_bytes, dc_pool_fast *f);
/** Planes [begin, end) (image * C + channel) of a dc_pool_unpool_planes_setup run. */
void dc_pool_unpool_planes_run(const dc_pool_fast *f, int64_t begin, int64_t end,
                               int32_t thread);
/** Planes summed by dc_pool_unpool_planes_run since the last reset (reset != 0 also zeroes
 *  the count). For the tests. */
int64_t dc_pool_planes_count(int reset);

/** The max_unpool index prescan over pooled rows [begin, end) (units = rows of the pooled
 *  tensor in memory order): the first index outside [0, limit) and whether every index is
 *  "local": channels-last, inside its own image's window rows and its own channel;
 *  channels-first, inside its own image and channel (C a power of two). */
typedef struct dc_pool_scan {
    const dc_pool_problem *p;
    const int64_t *index;
    int64_t units;
    int want_local;
    uint8_t *codes;         /* non-NULL: write the pull's codes (local then means own image
                             * and own channel) */
    struct dc_pool_scan_result {
        int64_t first_bad;  /* -1 if none */
        int local;
    } *res;                 /* one per thread */
} dc_pool_scan;
int64_t dc_pool_scan_units(const dc_pool_problem *p);
void dc_pool_scan_run(void *arg, int64_t begin, int64_t end, int32_t thread);

#endif /* DECONV_POOL_FAST_H */
