/* fast/pool_fast.c - drivers of the fast pooling path: which problems it claims, the split
 * into work units, the unpool ring and the max_unpool index prescan. See pool_fast.h. */
#include "fast/pool_fast.h"
#include "fast/fast.h"

#include <string.h>

/* Outputs at least this large are written with non-temporal stores (where the ISA has them):
 * they would not stay in cache anyway, and streaming skips reading every line before writing. */
#define STREAM_BYTES ((int64_t)8 << 20)
/* The unpool ring of one thread stays well inside a core's L2; a problem needing more writes
 * its output in place. */
#define RING_MAX_FLOATS ((int64_t)1 << 16)

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Window of pooled position o along normalised dim i: [*a, *e) clipped to the input, and the
 * unclipped [*ua, *ue). */
static void window(const dc_pool_problem *p, int i, int64_t o, int64_t *a, int64_t *e) {
    const int64_t st = o * p->s[i] - p->pb[i];
    *a = max64(st, 0);
    *e = min64(st + p->k[i], p->x.sp[i]);
}

/* The reference's avg divisor of the window at pooled (o0, o1, o2), in double. */
static double divisor(const dc_pool_problem *p, const int64_t o[3]) {
    double n = 1;
    for (int i = 0; i < 3; i++) {
        const int64_t st = o[i] * p->s[i] - p->pb[i], en = st + p->k[i];
        const int64_t lo = p->count_include_pad ? -p->pb[i] : 0;
        const int64_t hi = p->count_include_pad ? p->x.sp[i] + p->pa[i] : p->x.sp[i];
        const int64_t a = max64(st, lo), b = min64(en, hi);
        n *= (double)(b > a ? b - a : 0);
    }
    return n;
}

static int isa_for_pool(void) {
    const int isa = dc_fast_isa();
    /* Pooling is bound by memory and by its compare chain: the AVX2 kernels serve AVX-512,
     * and the portable ones (which the compiler vectorises) serve NEON. */
    if (isa == DC_ISA_AVX512) return DC_ISA_AVX2;
    if (isa == DC_ISA_NEON) return DC_ISA_PORTABLE;
    return isa; /* DC_FAST_OFF, PORTABLE or AVX2 */
}

static int channels_last(const dc_pool_problem *p) {
    return p->layout == DECONV_CHANNELS_LAST;
}

/* Spatial positions of one image fit int32 (argmax kernels track them in 32-bit lanes). */
static int small_image(const dc_pool_problem *p) {
    const int64_t s = p->x.sp[0] * p->x.sp[1] * p->x.sp[2];
    return s < ((int64_t)1 << 31) && p->x.c < ((int64_t)1 << 31);
}

#if defined(__x86_64__) || defined(__i386__)
static int aligned16(const void *q) { return q == NULL || ((uintptr_t)q & 15) == 0; }
#endif

/* ---- forward ops ---------------------------------------------------------------------------- */

int dc_pool_fast_first_rows(const dc_pool_problem *p, int op) {
#if defined(__x86_64__) || defined(__i386__)
    if (channels_last(p) || op == DC_POOL_AVG || dc_fast_isa() != DC_ISA_AVX512 ||
        !small_image(p) || p->y.count == 0 || p->y.sp[2] >= ((int64_t)1 << 30) ||
        p->s[2] > 64 || p->k[2] >= ((int64_t)1 << 30))
        return 0; /* (a block's lanes span 15 strides of columns, walked one by one) */
    /* dim 2's columns, the last lane's last included, as int32 (pb2 < s2 + k2) */
    const int64_t reach = (p->y.sp[2] + 16) * p->s[2] + p->k[2] + p->pb[2];
    /* argmax's (position in the batch) * C, as 32 x 32-bit products */
    return reach < ((int64_t)1 << 30) && p->x.count / p->x.c < ((int64_t)1 << 32) &&
           p->x.c < ((int64_t)1 << 32);
#else
    (void)p, (void)op;
    return 0;
#endif
}

int dc_pool_fast_forward_setup(const dc_pool_problem *p, int op, const float *x, float *y,
                               int64_t *argmax, dc_pool_fast *f) {
    const int isa = isa_for_pool();
    if (isa == DC_FAST_OFF || p->y.count == 0 || p->x.count == 0 || !small_image(p)) return 0;
    memset(f, 0, sizeof *f);
    f->p = p;
    f->op = op;
    f->isa = isa;
    f->x = x;
    f->y = y;
    f->argmax = op == DC_POOL_ARGMAX ? argmax : NULL;
    f->first_rows = dc_pool_fast_first_rows(p, op);
    const int64_t rows = p->y.n * p->y.sp[0] * p->y.sp[1];
    f->units = channels_last(p) ? rows : rows * p->y.c;
    int64_t out_bytes = p->y.count * 4;
    if (f->argmax) out_bytes += p->y.count * 8;
#if defined(__x86_64__) || defined(__i386__)
    f->stream = isa == DC_ISA_AVX2 && channels_last(p) && p->y.c % 8 == 0 && aligned16(y) &&
                aligned16(f->argmax) && out_bytes >= STREAM_BYTES;
#endif
    return 1;
}

/* Channels-first: one (image, channel, o0, o1) row of outputs, scalar, any strides. */
static void forward_row_cf(const dc_pool_fast *f, int64_t u) {
    const dc_pool_problem *p = f->p;
    const dc_layout3 *X = &p->x, *Y = &p->y;
    const int64_t o1 = u % Y->sp[1], o0 = (u / Y->sp[1]) % Y->sp[0];
    const int64_t bc = u / (Y->sp[1] * Y->sp[0]), c = bc % Y->c, b = bc / Y->c;
    int64_t a0, e0, a1, e1;
    window(p, 0, o0, &a0, &e0);
    window(p, 1, o1, &a1, &e1);
    const float *xb = f->x + b * X->stride_n + c * X->stride_c;
    const int64_t bterm = p->include_batch_in_index ? b * X->sp[0] : 0;
    const int64_t yrow = b * Y->stride_n + c * Y->stride_c + o0 * Y->stride_sp[0] +
                         o1 * Y->stride_sp[1];
#if defined(__x86_64__) || defined(__i386__)
    if (f->first_rows) {
        const dc_pool_first_row r = {xb, a0, e0, a1, e1, X->sp[1], X->sp[2], Y->sp[2],
                                     p->s[2], p->pb[2], p->k[2], f->y + yrow,
                                     f->argmax ? f->argmax + yrow : NULL,
                                     bterm * X->sp[1] * X->sp[2], X->c, c};
        dc_pool_first_row_avx512(&r);
        return;
    }
#endif
    for (int64_t o2 = 0; o2 < Y->sp[2]; o2++) {
        int64_t a2, e2;
        window(p, 2, o2, &a2, &e2);
        const int64_t yo = yrow + o2 * Y->stride_sp[2];
        if (f->op == DC_POOL_AVG) {
            const int64_t o[3] = {o0, o1, o2};
            const double count = divisor(p, o);
            double sum = 0.0;
            for (int64_t i0 = a0; i0 < e0; i0++)
            for (int64_t i1 = a1; i1 < e1; i1++)
            for (int64_t i2 = a2; i2 < e2; i2++)
                sum += xb[i0 * X->stride_sp[0] + i1 * X->stride_sp[1] + i2 * X->stride_sp[2]];
            f->y[yo] = count > 0 ? (float)(sum / count) : 0.0f;
            continue;
        }
        float best = xb[a0 * X->stride_sp[0] + a1 * X->stride_sp[1] + a2 * X->stride_sp[2]];
        int64_t bi0 = a0, bi1 = a1, bi2 = a2;
        for (int64_t i0 = a0; i0 < e0; i0++)
        for (int64_t i1 = a1; i1 < e1; i1++)
        for (int64_t i2 = a2; i2 < e2; i2++) {
            const float v =
                xb[i0 * X->stride_sp[0] + i1 * X->stride_sp[1] + i2 * X->stride_sp[2]];
            /* the reference's ordering: NaN beats numbers, first NaN and first max stay */
            if (v != v ? best == best : v > best) {
                best = v;
                bi0 = i0;
                bi1 = i1;
                bi2 = i2;
            }
        }
        f->y[yo] = best;
        if (f->argmax)
            f->argmax[yo] = (((bterm + bi0) * X->sp[1] + bi1) * X->sp[2] + bi2) * X->c + c;
    }
}

static dc_pool_px_fn px_kernel(int isa, int op, int64_t c) {
#if defined(__x86_64__) || defined(__i386__)
    /* argmax's own AVX-512 kernel (the forward ops otherwise run AVX2's there) */
    if (isa == DC_ISA_AVX2 && op == DC_POOL_ARGMAX && c % 64 == 0 &&
        dc_fast_isa() == DC_ISA_AVX512)
        return dc_pool_argmax_px_avx512;
    if (isa == DC_ISA_AVX2)
        return op == DC_POOL_MAX ? dc_pool_max_px_avx2
               : op == DC_POOL_ARGMAX ? dc_pool_argmax_px_avx2 : dc_pool_avg_px_avx2;
#else
    (void)isa, (void)c;
#endif
    return op == DC_POOL_MAX ? dc_pool_max_px_portable
           : op == DC_POOL_ARGMAX ? dc_pool_argmax_px_portable : dc_pool_avg_px_portable;
}

static void fence(const dc_pool_fast *f) {
#if defined(__x86_64__) || defined(__i386__)
    if (f->stream) dc_pool_sfence_avx2();
#else
    (void)f;
#endif
}

static int64_t row_floats(const dc_pool_problem *p) {
    return (p->y.sp[2] * p->y.c + 15) / 16 * 16;
}

/* Input rows (dims 0 and 1) in one output row's windows, at most. */
static int64_t slab_rows(const dc_pool_problem *p) {
    return min64(p->k[0], p->x.sp[0]) * min64(p->k[1], p->x.sp[1]);
}

int64_t dc_pool_fast_row_floats(const dc_pool_problem *twin, int out, int argmax, int in) {
    const int64_t rowx = twin->x.sp[2] * twin->x.c; /* < 2^61 (a validated count) */
    if (in && rowx > 0 && slab_rows(twin) > (((int64_t)1 << 61) / rowx)) return -1;
    const int64_t slab = in ? (slab_rows(twin) * rowx + 15) / 16 * 16 : 0;
    return (out ? row_floats(twin) * (argmax ? 3 : 1) : 0) + slab;
}

/* Channels-last output rows [begin, end) (units of (image, o0, o1)), their outputs from y
 * and argmax on, one row after another. With slab (one row only), its windows' input rows
 * are there, channels-last, one after another, instead of in x. */
static void forward_rows(const dc_pool_fast *f, int64_t begin, int64_t end, float *y,
                         int64_t *argmax, int stream, const float *slab) {
    const dc_pool_problem *p = f->p;
    const dc_layout3 *X = &p->x, *Y = &p->y;
    const dc_pool_px_fn fn = px_kernel(f->isa, f->op, p->x.c);
    const int64_t C = X->c, image = X->sp[0] * X->sp[1] * X->sp[2];
    dc_pool_px px;
    memset(&px, 0, sizeof px);
    px.c = C;
    px.st0 = X->stride_sp[0];
    px.st1 = X->stride_sp[1];
    px.pst0 = (int32_t)(X->sp[1] * X->sp[2]);
    px.pst1 = (int32_t)X->sp[2];
    px.stream = stream;
    for (int64_t u = begin; u < end; u++) {
        const int64_t o1 = u % Y->sp[1], o0 = (u / Y->sp[1]) % Y->sp[0];
        const int64_t b = u / (Y->sp[1] * Y->sp[0]);
        int64_t a0, e0, a1, e1;
        window(p, 0, o0, &a0, &e0);
        window(p, 1, o1, &a1, &e1);
        px.n0 = e0 - a0;
        px.n1 = e1 - a1;
        px.ibase = p->include_batch_in_index ? b * image * C : 0;
        const int64_t pf_end1 = slab ? e1 : min64(e1 + p->s[1], X->sp[1]);
        /* the window's first input row: in x, or the slab's first */
        const float *xrow = slab ? slab : f->x + b * X->stride_n + a0 * px.st0 + a1 * px.st1;
        if (slab) {
            px.st1 = X->sp[2] * C;
            px.st0 = px.n1 * px.st1;
        }
        const int64_t yrow = (u - begin) * Y->sp[2] * C; /* rows are contiguous */
        for (int64_t o2 = 0; o2 < Y->sp[2]; o2++) {
            int64_t a2, e2;
            window(p, 2, o2, &a2, &e2);
            px.n2 = e2 - a2;
            px.x = xrow + a2 * C;
            px.pos = (int32_t)((a0 * X->sp[1] + a1) * X->sp[2] + a2);
            px.y = y + yrow + o2 * C;
            if (argmax) px.argmax = argmax + yrow + o2 * C;
            if (f->op == DC_POOL_AVG) {
                const int64_t o[3] = {o0, o1, o2};
                px.count = divisor(p, o);
            }
            /* The input rows the next output row adds (below this window), over the cells
             * this window's step covers: one output row ahead, into L2 (not from a slab). */
            const int64_t pf_bytes = (min64(a2 + p->s[2], X->sp[2]) - a2) * C * 4;
            for (int64_t r = e1; r < pf_end1; r++) {
                const char *q = (const char *)(f->x + b * X->stride_n + a0 * px.st0 +
                                               r * px.st1 + a2 * C);
                for (int64_t o = 0; o < pf_bytes; o += 64) __builtin_prefetch(q + o, 0, 2);
            }
            fn(&px);
        }
    }
}

void dc_pool_fast_forward_run(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const dc_pool_fast *f = arg;
    const dc_pool_problem *p = f->p;
    if (!channels_last(p)) {
        for (int64_t u = begin; u < end; u++) forward_row_cf(f, u);
        return;
    }
    const dc_layout3 *X = &p->x, *Y = &p->y;
    const int64_t C = Y->c, row = Y->sp[2] * C;
    if (!f->first_y && !f->first_x) {
        forward_rows(f, begin, end, f->y + begin * row, f->argmax ? f->argmax + begin * row : NULL,
                     f->stream, NULL);
        fence(f);
        return;
    }
    /* A channels-first op's twin, row by row: the window rows moved in to the thread's slab,
     * the row pooled (into the thread's buffer), the buffer's [o2][c] moved out to each
     * plane c's o2 positions. */
    float *ws = f->ws + (int64_t)thread * f->ws_floats;
    float *row_y = f->first_y ? ws : NULL;
    int64_t *row_a = f->first_y && f->argmax ? (int64_t *)(void *)(ws + row_floats(p)) : NULL;
    float *slab = f->first_x ? ws + (f->first_y ? row_floats(p) * (f->argmax ? 3 : 1) : 0)
                             : NULL;
    const dc_transpose_fn tr = dc_fast_transpose();
    const dc_transpose64_fn tr64 = dc_fast_transpose64();
    const int64_t plane = Y->sp[0] * Y->sp[1] * Y->sp[2];
    const int64_t xplane = X->sp[0] * X->sp[1] * X->sp[2], xrow = X->sp[2] * X->c;
    for (int64_t u = begin; u < end; u++) {
        const int64_t o1 = u % Y->sp[1], o0 = (u / Y->sp[1]) % Y->sp[0];
        const int64_t b = u / (Y->sp[1] * Y->sp[0]);
        if (slab) { /* input rows (i0, i1) of the windows: [c][i2] -> [i2][c] */
            int64_t a0, e0, a1, e1;
            window(p, 0, o0, &a0, &e0);
            window(p, 1, o1, &a1, &e1);
            float *d = slab;
            const float *img = f->first_x + b * X->c * xplane;
            for (int64_t i0 = a0; i0 < e0; i0++)
                for (int64_t i1 = a1; i1 < e1; i1++, d += xrow)
                    tr(img + (i0 * X->sp[1] + i1) * X->sp[2], xplane, d, X->c, X->c, X->sp[2], 0);
            /* The rows the next output row adds, from every plane, into L2: C strided
             * streams are more than the hardware prefetcher follows. */
            const int64_t pf_end1 = min64(e1 + p->s[1], X->sp[1]), bytes = X->sp[2] * 4;
            for (int64_t i0 = a0; i0 < e0; i0++)
                for (int64_t i1 = e1; i1 < pf_end1; i1++)
                    for (int64_t c = 0; c < X->c; c++) {
                        const char *q = (const char *)(img + c * xplane +
                                                       (i0 * X->sp[1] + i1) * X->sp[2]);
                        for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(q + o, 0, 2);
                    }
        }
        float *yr = row_y ? row_y : f->y + u * row;
        int64_t *ar = row_y ? row_a : f->argmax ? f->argmax + u * row : NULL;
        forward_rows(f, u, u + 1, yr, ar, row_y ? 0 : f->stream, slab);
        if (row_y) {
            const int64_t at = b * C * plane + (o0 * Y->sp[1] + o1) * Y->sp[2];
            tr(row_y, C, f->first_y + at, plane, Y->sp[2], C, 0);
            if (row_a) tr64(row_a, C, f->first_argmax + at, plane, Y->sp[2], C);
        }
    }
    fence(f);
}

/* ---- unpool ------------------------------------------------------------------------------- */

/* Input rows of the windows of pooled row (o0, o1), as a range of element offsets inside one
 * channels-last image: [lo, hi). */
static void row_range(const dc_pool_problem *p, int64_t o0, int64_t o1, int64_t *lo,
                      int64_t *hi) {
    const dc_layout3 *X = &p->x;
    const int64_t rowlen = X->sp[2] * X->c;
    int64_t a0, e0, a1, e1;
    window(p, 0, o0, &a0, &e0);
    window(p, 1, o1, &a1, &e1);
    *lo = (a0 * X->sp[1] + a1) * rowlen;
    *hi = ((e0 - 1) * X->sp[1] + e1) * rowlen;
}

/* Cells before the first window of any pooled row after (o0, o1): final once that row is done. */
static int64_t final_after(const dc_pool_problem *p, int64_t o0, int64_t o1) {
    const dc_layout3 *Y = &p->y;
    int64_t f = p->x.sp[0] * p->x.sp[1] * p->x.sp[2] * p->x.c, lo, hi;
    if (o1 + 1 < Y->sp[1]) {
        row_range(p, o0, o1 + 1, &lo, &hi);
        f = min64(f, lo);
    }
    if (o0 + 1 < Y->sp[0]) {
        row_range(p, o0 + 1, 0, &lo, &hi);
        f = min64(f, lo);
    }
    return f;
}

#if defined(__x86_64__) || defined(__i386__)
/* Bytes of the pull's column table (pull_table): a dc_pool_pull_cell per output cell of a
 * row and at most ceil(k2 / s2) columns per cell. Only very long rows (1-D pooling) make it
 * large; those take the ring instead. */
#define PULL_TABLE_MAX (64 * 1024)
static int64_t pull_table_bytes(const dc_pool_problem *p) {
    const int64_t per = p->k[2] / p->s[2] + (p->k[2] % p->s[2] != 0);
    return p->x.sp[2] * ((int64_t)sizeof(dc_pool_pull_cell) +
                         min64(per, DC_POOL_PULL_MAX) * (int64_t)sizeof(dc_pool_pull_col));
}

/* The pull's conditions (pool_fast.h): few windows per cell, C a power of two, windows
 * spanning < 255 cells (codes fit a byte), images small enough that the kernel's match
 * counts of a row (at most DC_POOL_PULL_MAX pooled rows of values) stay inside int32, and
 * a column table of at most PULL_TABLE_MAX bytes. */
static int pull_fits(const dc_pool_problem *p) {
    const dc_layout3 *X = &p->x;
    int64_t cands = 1, ext[3];
    for (int i = 0; i < 3; i++) {
        /* ceil(k / s), each factor bounded before multiplying (k may be huge) */
        cands *= min64(p->k[i] / p->s[i] + (p->k[i] % p->s[i] != 0), DC_POOL_PULL_MAX + 1);
        if (cands > DC_POOL_PULL_MAX) return 0;
        ext[i] = min64(p->k[i], X->sp[i]) - 1; /* a clipped window's extent - 1 */
    }
    /* (at most the image's spatial size, which fits) */
    const int64_t span = (ext[0] * X->sp[1] + ext[1]) * X->sp[2] + ext[2];
    return (X->c & (X->c - 1)) == 0 && span < 255 &&
           X->stride_n < ((int64_t)1 << 26) && /* (bounds x2 before the product) */
           pull_table_bytes(p) <= PULL_TABLE_MAX;
}
#endif

int dc_pool_fast_unpool_setup(const dc_pool_problem *p, const float *pooled,
                              const int64_t *index, float *out, int allow_pull,
                              size_t *ws_bytes, dc_pool_fast *f) {
    const int isa = isa_for_pool();
    /* (a huge C would make the per-thread scratch of avg_unpool huge) */
    if (isa == DC_FAST_OFF || p->y.count == 0 || p->x.count == 0 || p->x.c > ((int64_t)1 << 20))
        return 0;
    memset(f, 0, sizeof *f);
    f->p = p;
    f->isa = isa;
    f->pooled = pooled;
    f->index = index;
    f->out = out;
    if (!channels_last(p)) return dc_pool_unpool_planes_setup(p, ws_bytes, f);
    f->units = p->x.n;
    /* Ring size: the most any pooled row reaches past what the rows before it finalised. */
    int64_t need = 0, done = 0;
    for (int64_t o0 = 0; o0 < p->y.sp[0] && need <= RING_MAX_FLOATS; o0++)
        for (int64_t o1 = 0; o1 < p->y.sp[1] && need <= RING_MAX_FLOATS; o1++) {
            int64_t lo, hi;
            row_range(p, o0, o1, &lo, &hi);
            need = max64(need, hi - done);
            done = final_after(p, o0, o1);
        }
    int64_t cap = 8;
    while (need <= RING_MAX_FLOATS && cap < need) cap *= 2;
    f->ring_cap = need <= RING_MAX_FLOATS ? cap : 0;
    /* ring + one pooled pixel of scratch (normalised avg values), rounded to 64 bytes */
    f->ws_floats = (f->ring_cap + (index ? 0 : p->x.c) + 15) / 16 * 16;
    *ws_bytes = (size_t)f->ws_floats * sizeof(float);
#if defined(__x86_64__) || defined(__i386__)
    f->stream = isa == DC_ISA_AVX2 && f->ring_cap > 0 && p->x.count * 4 >= STREAM_BYTES;
    if (index && allow_pull && dc_fast_isa() == DC_ISA_AVX512 && pull_fits(p)) {
        f->pull = 1;
        f->ring_cap = 0;
        /* per thread: the column table (pull_table) */
        f->ws_floats = (pull_table_bytes(p) / (int64_t)sizeof(float) + 15) / 16 * 16;
        *ws_bytes = (size_t)f->ws_floats * sizeof(float);
        /* one code per value, padded: the pull reads 16 codes at a time */
        f->codes_bytes = (size_t)p->y.count + 64;
        /* (large malloc blocks are often only 16-byte aligned: those stream too) */
        f->stream = p->x.count * 4 < STREAM_BYTES || p->x.c % 16 != 0 ? 0
                    : ((uintptr_t)out & 63) == 0                       ? 2
                    : ((uintptr_t)out & 15) == 0                       ? 1
                                                                      : 0;
    }
#else
    (void)allow_pull;
#endif
    return 1;
}

typedef struct ring {
    float *base; /* the ring, or the output image in place */
    int64_t mask;
} ring;

static void flush(const dc_pool_fast *f, float *img, const ring *r, int64_t a, int64_t b) {
    while (a < b) {
        const int64_t s = a & r->mask, n = min64(b - a, r->mask + 1 - s);
#if defined(__x86_64__) || defined(__i386__)
        if (f->stream)
            dc_pool_flush_avx2(img + a, r->base + s, n);
        else
#endif
            dc_pool_flush_portable(img + a, r->base + s, n);
        a += n;
    }
    (void)f;
}

static void add_span(const dc_pool_fast *f, const ring *r, int64_t t, const float *v,
                     int64_t n) {
    (void)f;
    while (n > 0) {
        const int64_t s = t & r->mask;
        const int64_t m = r->mask < 0 ? n : min64(n, r->mask + 1 - s); /* in place: no wrap */
#if defined(__x86_64__) || defined(__i386__)
        if (f->isa == DC_ISA_AVX2)
            dc_pool_add_avx2(r->base + s, v, m);
        else
#endif
            dc_pool_add_portable(r->base + s, v, m);
        t += m;
        v += m;
        n -= m;
    }
}

#if defined(__GNUC__) || defined(__clang__)
#define POOL_NOINLINE __attribute__((noinline))
#else
#define POOL_NOINLINE
#endif

/* base[(idx[j] - ibase) & mask] += v[j] for j in order (duplicates add up in memory order).
 * Out of line on purpose: inlined into the row loop, the compiler kept base, mask and ibase
 * on the stack and reloaded them for every value. Four addresses are computed ahead of their
 * adds, which still run one after the other. */
static POOL_NOINLINE void scatter_add(float *base, int64_t mask, int64_t ibase, const float *v,
                                      const int64_t *idx, int64_t n) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
#if defined(__GNUC__) || defined(__clang__)
        /* both streams 4 KiB ahead (the prescan's distance), once per line of each */
        if ((j & 15) == 0) {
            __builtin_prefetch((const void *)((uintptr_t)(idx + j) + 4096));
            __builtin_prefetch((const void *)((uintptr_t)(idx + j) + 4096 + 64));
            __builtin_prefetch((const void *)((uintptr_t)(v + j) + 4096));
        }
#endif
        const int64_t i0 = (idx[j] - ibase) & mask, i1 = (idx[j + 1] - ibase) & mask;
        const int64_t i2 = (idx[j + 2] - ibase) & mask, i3 = (idx[j + 3] - ibase) & mask;
        base[i0] += v[j];
        base[i1] += v[j + 1];
        base[i2] += v[j + 2];
        base[i3] += v[j + 3];
    }
    for (; j < n; j++) base[(idx[j] - ibase) & mask] += v[j];
}

/* One pooled row of max_unpool: every value added at its index (image-relative, checked by
 * the prescan to lie in this row's windows and its own channel), in memory order. */
static void max_unpool_row(const dc_pool_fast *f, const ring *r, int64_t j0, int64_t n,
                           int64_t ibase) {
    scatter_add(r->base, r->mask, ibase, f->pooled + j0, f->index + j0, n);
}

/* One pooled row of avg_unpool: each value (divided by its window's count if normalised)
 * added to every valid cell of its window. */
static void avg_unpool_row(const dc_pool_fast *f, const ring *r, float *scratch, int64_t b,
                           int64_t o0, int64_t o1) {
    const dc_pool_problem *p = f->p;
    const dc_layout3 *X = &p->x, *Y = &p->y;
    const int64_t C = X->c;
    int64_t a0, e0, a1, e1;
    window(p, 0, o0, &a0, &e0);
    window(p, 1, o1, &a1, &e1);
    const float *yrow = f->pooled + ((b * Y->sp[0] + o0) * Y->sp[1] + o1) * Y->sp[2] * C;
    for (int64_t o2 = 0; o2 < Y->sp[2]; o2++) {
        const int64_t o[3] = {o0, o1, o2};
        const double count = divisor(p, o);
        if (count == 0) continue; /* no valid cell: nothing to spread (as the reference) */
        const float *v = yrow + o2 * C;
        if (p->normalize) {
            /* as the reference: divide once per pooled value, in float */
            for (int64_t c = 0; c < C; c++) scratch[c] = v[c] / (float)count;
            v = scratch;
        }
        int64_t a2, e2;
        window(p, 2, o2, &a2, &e2);
        for (int64_t i0 = a0; i0 < e0; i0++)
        for (int64_t i1 = a1; i1 < e1; i1++)
        for (int64_t i2 = a2; i2 < e2; i2++)
            add_span(f, r, ((i0 * X->sp[1] + i1) * X->sp[2] + i2) * C, v, C);
    }
}

#if defined(__x86_64__) || defined(__i386__)
/* Pooled positions along dim i whose windows contain input position x: [*lo, *hi]. */
static void cover(const dc_pool_problem *p, int i, int64_t x, int64_t *lo, int64_t *hi) {
    const int64_t t = x + p->pb[i] - p->k[i] + 1;
    *lo = t <= 0 ? 0 : (t + p->s[i] - 1) / p->s[i];
    *hi = min64((x + p->pb[i]) / p->s[i], p->y.sp[i] - 1);
}

/* Spatial index of the first cell of pooled row (o0, o1)'s windows (clipped); a code counts
 * cells from there plus the column's first cell. */
static int64_t code_anchor(const dc_pool_problem *p, int64_t o0, int64_t o1) {
    const int64_t a0 = max64(o0 * p->s[0] - p->pb[0], 0), a1 = max64(o1 * p->s[1] - p->pb[1], 0);
    return (a0 * p->x.sp[1] + a1) * p->x.sp[2];
}

/* Fills the column table: for each output cell i2 of a row, the pooled columns o2 whose
 * windows [o2 * s2 - pb2, + k2) contain it, kept up to date as i2 advances (no division per
 * cell), and where a new column enters (the prefetch). */
static void pull_table(const dc_pool_problem *p, dc_pool_pull_cell *cells,
                       dc_pool_pull_col *cols) {
    const int64_t s2 = p->s[2], pb2 = p->pb[2], k2 = p->k[2], C = p->x.c;
    const int64_t last = p->y.sp[2] - 1;
    int64_t lo = 0, hi = -1;
    for (int64_t i2 = 0; i2 < p->x.sp[2]; i2++) {
        const int64_t hi_was = hi;
        while ((hi + 1) * s2 - pb2 <= i2) hi++;
        while (lo * s2 - pb2 + k2 <= i2) lo++;
        const int64_t h = min64(hi, last);
        cells[i2].n = (int32_t)(h - lo + 1);
        cells[i2].pf = hi != hi_was && hi + DC_POOL_PULL_AHEAD <= last
                           ? (int32_t)((hi + DC_POOL_PULL_AHEAD) * C) : -1;
        for (int64_t o2 = lo; o2 <= h; o2++, cols++) {
            cols->off = (int32_t)(o2 * C);
            cols->at = (int32_t)(i2 - max64(o2 * s2 - pb2, 0));
        }
    }
}

/* Images pulled, and images of those redone by the scatter (some index outside its window),
 * since the last reset: read by the tests, which check that the pull takes what it should. */
static int64_t pull_counts[2];

void dc_pool_pull_counts(int64_t counts[2], int reset) {
    for (int i = 0; i < 2; i++)
        counts[i] = reset ? __atomic_exchange_n(&pull_counts[i], 0, __ATOMIC_RELAXED)
                          : __atomic_load_n(&pull_counts[i], __ATOMIC_RELAXED);
}

/* One image of max_unpool, pulled row by row from the codes (see pool_avx512.c). Every value
 * must match exactly one cell; if some did not (an index outside its window), the image is
 * redone by the in-place scatter in memory order, which is the reference's order because the
 * prescan found every index in its own image and channel. */
static void pull_image(const dc_pool_fast *f, const dc_pool_pull_cell *cells,
                       const dc_pool_pull_col *cols, int64_t b) {
    const dc_pool_problem *p = f->p;
    const dc_layout3 *X = &p->x, *Y = &p->y;
    const int64_t C = X->c, image = X->stride_n;
    const int64_t pimage = Y->sp[0] * Y->sp[1] * Y->sp[2] * C;
    float *img = f->out + b * image;
    int64_t rows[DC_POOL_PULL_MAX], anchors[DC_POOL_PULL_MAX];
    dc_pool_pull_row r;
    r.v = f->pooled + b * pimage;
    r.codes = f->codes + b * pimage;
    r.rows = rows;
    r.anchors = anchors;
    r.cells = cells;
    r.cols = cols;
    r.x2 = X->sp[2];
    r.c = C;
    r.stream = f->stream;
    int64_t matched = 0;
    for (int64_t i0 = 0; i0 < X->sp[0]; i0++) {
        int64_t lo0, hi0;
        cover(p, 0, i0, &lo0, &hi0);
        for (int64_t i1 = 0; i1 < X->sp[1]; i1++) {
            int64_t lo1, hi1;
            cover(p, 1, i1, &lo1, &hi1);
            r.nrows = 0;
            for (int64_t o0 = lo0; o0 <= hi0; o0++)
                for (int64_t o1 = lo1; o1 <= hi1; o1++) {
                    rows[r.nrows] = (o0 * Y->sp[1] + o1) * Y->sp[2] * C;
                    anchors[r.nrows++] = code_anchor(p, o0, o1);
                }
            r.pos = i0 * X->sp[1] + i1;
            r.out = img + r.pos * X->sp[2] * C;
            r.pos *= X->sp[2];
            matched += dc_pool_unpool_pull_row_avx512(&r);
        }
    }
    __atomic_fetch_add(&pull_counts[0], 1, __ATOMIC_RELAXED);
    if (matched != pimage) {
        __atomic_fetch_add(&pull_counts[1], 1, __ATOMIC_RELAXED);
        fence(f); /* the streamed stores before the plain ones over them */
        memset(img, 0, (size_t)image * sizeof *img);
        scatter_add(img, -1, p->include_batch_in_index ? b * image : 0, r.v,
                    f->index + b * pimage, pimage);
    }
}
#endif

void dc_pool_fast_unpool_run(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const dc_pool_fast *f = arg;
    if (f->planes) {
        dc_pool_unpool_planes_run(f, begin, end, thread);
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    if (f->pull) {
        dc_pool_pull_cell *cells = (dc_pool_pull_cell *)(void *)(f->ws + (int64_t)thread *
                                                                          f->ws_floats);
        dc_pool_pull_col *cols = (dc_pool_pull_col *)(void *)(cells + f->p->x.sp[2]);
        pull_table(f->p, cells, cols);
        for (int64_t b = begin; b < end; b++) pull_image(f, cells, cols, b);
        fence(f);
        return;
    }
#endif
    const dc_pool_problem *p = f->p;
    const dc_layout3 *X = &p->x, *Y = &p->y;
    const int64_t image = X->stride_n, prow = Y->sp[2] * Y->c;
    float *ws = f->ws + (int64_t)thread * f->ws_floats;
    float *scratch = ws + f->ring_cap;
    ring r = {ws, -1};
    if (f->ring_cap > 0) {
        r.base = ws;
        r.mask = f->ring_cap - 1;
        memset(ws, 0, (size_t)f->ring_cap * sizeof *ws);
    }
    for (int64_t b = begin; b < end; b++) {
        float *img = f->out + b * image;
        if (f->ring_cap == 0) {
            r.base = img;
            r.mask = -1; /* all ones: indices address the image directly */
            memset(img, 0, (size_t)image * sizeof *img);
        }
        int64_t done = 0;
        const int64_t ibase = p->include_batch_in_index ? b * image : 0;
        for (int64_t o0 = 0; o0 < Y->sp[0]; o0++)
            for (int64_t o1 = 0; o1 < Y->sp[1]; o1++) {
                if (f->index)
                    max_unpool_row(f, &r, ((b * Y->sp[0] + o0) * Y->sp[1] + o1) * prow, prow,
                                   ibase);
                else
                    avg_unpool_row(f, &r, scratch, b, o0, o1);
                if (f->ring_cap > 0) {
                    const int64_t fin = final_after(p, o0, o1);
                    flush(f, img, &r, done, fin);
                    done = fin;
                }
            }
    }
    fence(f);
}

/* ---- max_unpool index prescan ------------------------------------------------------------- */

int64_t dc_pool_scan_units(const dc_pool_problem *p) {
    const dc_layout3 *Y = &p->y;
    const int64_t rows = Y->n * Y->sp[0] * Y->sp[1];
    return channels_last(p) ? rows : rows * Y->c;
}

/* n % d == 0 for d = 2^k * odd, by the multiplicative inverse of the odd part mod 2^64. */
typedef struct divisibility {
    uint64_t low_mask, inv, limit;
    int shift;
} divisibility;

static divisibility make_divisibility(uint64_t d) {
    divisibility v;
    v.shift = 0;
    while ((d & 1) == 0) {
        d >>= 1;
        v.shift++;
    }
    v.low_mask = ((uint64_t)1 << v.shift) - 1;
    uint64_t x = d; /* Newton: each step doubles the correct low bits (3 -> 96) */
    for (int i = 0; i < 5; i++) x *= 2 - d * x;
    v.inv = x;
    v.limit = UINT64_MAX / d;
    return v;
}

static int divisible(const divisibility *v, uint64_t n) {
    return (n & v->low_mask) == 0 && (n >> v->shift) * v->inv <= v->limit;
}

void dc_pool_scan_run(void *arg, int64_t begin, int64_t end, int32_t thread) {
    const dc_pool_scan *s = arg;
    const dc_pool_problem *p = s->p;
    const dc_layout3 *X = &p->x, *Y = &p->y;
    struct dc_pool_scan_result *res = &s->res[thread];
    res->first_bad = -1;
    res->local = s->want_local;
    const int64_t limit = p->include_batch_in_index ? X->count : X->stride_n;
    const int64_t len = Y->sp[2] * (channels_last(p) ? Y->c : 1);
    const divisibility dv = make_divisibility((uint64_t)X->c);
    const uint64_t C = (uint64_t)X->c;
#if defined(__x86_64__) || defined(__i386__)
    const int vec = res->local && isa_for_pool() == DC_ISA_AVX2 && (C & (C - 1)) == 0;
#endif
    for (int64_t u = begin; u < end; u++) {
        const int64_t j0 = u * len;
        const int64_t *idx = s->index + j0;
#if defined(__x86_64__) || defined(__i386__)
        if (s->codes) { /* the pull's prescan: bounds, own image and channel, codes */
            const int64_t o1 = u % Y->sp[1], o0 = (u / Y->sp[1]) % Y->sp[0];
            const int64_t b = u / (Y->sp[1] * Y->sp[0]);
            dc_pool_code_row cr;
            cr.idx = idx;
            cr.codes = s->codes + j0;
            cr.y2 = Y->sp[2];
            cr.c = X->c;
            cr.shift = 0;
            while (((int64_t)1 << cr.shift) < X->c) cr.shift++;
            cr.limit = limit;
            cr.base = p->include_batch_in_index ? b * X->stride_n : 0;
            cr.image = X->stride_n;
            cr.anchor = code_anchor(p, o0, o1);
            cr.s2 = p->s[2];
            cr.pb2 = p->pb[2];
            if (!dc_pool_scan_codes_row_avx512(&cr, &res->local)) continue;
        } else if (vec && res->local) {
            const int64_t o1 = u % Y->sp[1], o0 = (u / Y->sp[1]) % Y->sp[0];
            const int64_t rest = u / (Y->sp[1] * Y->sp[0]); /* b, or b * C + c */
            const int cl = channels_last(p);
            const int64_t b = cl ? rest : rest / Y->c;
            int64_t lo = 0, hi = X->stride_n; /* channels-first: own image and channel */
            if (cl) row_range(p, o0, o1, &lo, &hi);
            const int64_t base = p->include_batch_in_index ? b * X->stride_n : 0;
            if (!dc_pool_scan_row_avx2(idx, len, limit, base, lo, hi - lo, (int64_t)C - 1,
                                       cl ? 0 : rest % Y->c, cl ? 1 : 0, &res->local))
                continue;
        }
#endif
        int bad = 0;
        for (int64_t j = 0; j < len; j++) bad |= idx[j] < 0 || idx[j] >= limit;
        if (bad) {
            for (int64_t j = 0; j < len; j++)
                if (idx[j] < 0 || idx[j] >= limit) {
                    res->first_bad = j0 + j;
                    return;
                }
        }
        if (!res->local) continue;
        if (!channels_last(p)) { /* row u of plane (b, c): inside image b and channel c? */
            const int64_t plane = u / (Y->sp[1] * Y->sp[0]);
            const uint64_t c = (uint64_t)(plane % Y->c);
            const uint64_t base = p->include_batch_in_index ? (uint64_t)(plane / Y->c * X->stride_n)
                                                            : 0;
            int ok = 1;
            for (int64_t j = 0; j < len; j++) {
                const uint64_t t = (uint64_t)idx[j] - base;
                ok &= (t < (uint64_t)X->stride_n) & ((t & (C - 1)) == c);
            }
            res->local = ok;
            continue;
        }
        /* Inside this image's window rows of pooled row u and in its own channel? */
        const int64_t o1 = u % Y->sp[1], o0 = (u / Y->sp[1]) % Y->sp[0];
        const int64_t b = u / (Y->sp[1] * Y->sp[0]);
        int64_t lo, hi;
        row_range(p, o0, o1, &lo, &hi);
        const int64_t base = p->include_batch_in_index ? b * X->stride_n : 0;
        const uint64_t span = (uint64_t)(hi - lo);
        int ok = 1;
        if ((C & (C - 1)) == 0) {
            for (int64_t o2 = 0, j = 0; o2 < Y->sp[2]; o2++)
                for (uint64_t c = 0; c < C; c++, j++) {
                    const uint64_t t = ((uint64_t)idx[j] - (uint64_t)base);
                    ok &= (t - (uint64_t)lo < span) & (((t - c) & (C - 1)) == 0);
                }
        } else {
            for (int64_t o2 = 0, j = 0; o2 < Y->sp[2]; o2++)
                for (uint64_t c = 0; c < C; c++, j++) {
                    const uint64_t t = ((uint64_t)idx[j] - (uint64_t)base);
                    ok &= (t - (uint64_t)lo < span) & (t >= c) & divisible(&dv, t - c);
                }
        }
        res->local = ok;
    }
}
