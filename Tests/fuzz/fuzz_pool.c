/* fuzz_pool.c - libFuzzer target over the pooling and unpooling parameter space: max, avg,
 * max with argmax, max unpool (with index buffers that are valid, random, or carry wild values
 * such as -1 or 2^32 + k) and avg unpool, in every rank and layout. Buffers are exactly the
 * counts passed. Findings: a crash or sanitizer report; an error that wrote output (or argmax)
 * or said nothing; a success that left an output unwritten, accepted an out-of-range index,
 * or produced an argmax that does not point at its maximum. */
#include "fuzz_common.h"

#include <math.h>

#define LIMIT ((int64_t)1 << 15)
#define WORK_LIMIT ((int64_t)1 << 22) /* window cells visited, summed over the pooled cells */

enum { P_MAX, P_AVG, P_ARGMAX, P_MAXUNP, P_AVGUNP, P_NOPS };

static deconv_context *g_ctx;

/* Offset in a pre-pool tensor of TF's flat channels-last index idx (batch term present or
 * not), -1 if idx is out of range. */
static int64_t index_offset(const deconv_shape *x, int32_t sr, int lay, int64_t idx, int64_t b,
                            int with_batch) {
    const int cax = lay ? 1 : sr + 1;
    const int64_t C = x->dims[cax];
    int64_t spatial = 1;
    for (int i = 0; i < sr; i++) spatial *= x->dims[lay ? 2 + i : 1 + i];
    const int64_t limit = (with_batch ? x->dims[0] : 1) * spatial * C;
    if (idx < 0 || idx >= limit) return -1;
    const int64_t c = idx % C;
    int64_t rest = idx / C, pos[3] = {0, 0, 0};
    for (int i = sr - 1; i >= 0; i--) {
        const int64_t d = x->dims[lay ? 2 + i : 1 + i];
        pos[i] = rest % d;
        rest /= d;
    }
    if (with_batch) b = rest;
    int64_t off = b;
    if (lay) {
        off = off * C + c;
        for (int i = 0; i < sr; i++) off = off * x->dims[2 + i] + pos[i];
    } else {
        for (int i = 0; i < sr; i++) off = off * x->dims[1 + i] + pos[i];
        off = off * C + c;
    }
    return off;
}

static int same_float(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_ctx && deconv_context_create(2, &g_ctx, NULL) != DECONV_OK) FUZZ_FAIL("context");
    fz f = {data, size};
    const uint8_t mode = fz_u8(&f);
    const int op = mode % P_NOPS, wild = (mode & 0x20) != 0, bad_count = (mode & 0x40) != 0;
    deconv_context *ctx = (mode & 0x80) ? g_ctx : NULL;

    deconv_pool_params p = DECONV_POOL_PARAMS_INIT;
    if (wild && fz_u8(&f) >= 248) p.struct_size = (size_t)fz_int(&f, 0, 200, 1);
    if (wild && fz_u8(&f) >= 248) p.flags = (uint32_t)fz_u64(&f);
    p.spatial_rank = (int32_t)fz_int(&f, 1, 3, wild);
    p.layout = (deconv_layout)fz_int(&f, 0, 1, wild);
    p.padding = (deconv_padding)fz_int(&f, 0, 2, wild);
    for (int i = 0; i < 3; i++) {
        p.ksize[i] = fz_int(&f, 1, 4, wild);
        p.strides[i] = fz_int(&f, 1, 4, wild);
        p.pads[2 * i] = fz_int(&f, 0, 3, wild);
        p.pads[2 * i + 1] = fz_int(&f, 0, 3, wild);
    }
    p.count_include_pad = (int32_t)fz_int(&f, 0, 1, wild);
    p.include_batch_in_index = (int32_t)fz_int(&f, 0, 1, wild);
    p.normalize = (int32_t)fz_int(&f, 0, 1, wild);

    const int32_t sr = p.spatial_rank >= 1 && p.spatial_rank <= 3 ? p.spatial_rank
                                                                   : 1 + fz_u8(&f) % 3;
    const int lay = p.layout == DECONV_CHANNELS_FIRST;
    const int cax = lay ? 1 : sr + 1;
    deconv_shape xs, ys; /* pre-pool and pooled */
    memset(&xs, 0, sizeof xs);
    xs.rank = sr + 2;
    if (wild && fz_u8(&f) >= 250) xs.rank = (int32_t)fz_int(&f, 0, 6, 1);
    xs.dims[0] = fz_int(&f, 0, 2, wild);
    xs.dims[cax] = fz_int(&f, 1, 5, wild);
    for (int i = 0; i < sr; i++) xs.dims[lay ? 2 + i : 1 + i] = fz_int(&f, 0, 9, wild);
    deconv_error e;
    int64_t pads[6];
    const deconv_status qs = deconv_pool_output_shape(&p, &xs, &ys, pads, &e);
    fz_check_error(qs, &e);
    if (qs != DECONV_OK) {
        ys = xs; /* something to pass; the op must fail the same way */
    } else if (op >= P_MAXUNP && fz_u8(&f) >= 240) {
        ys.dims[lay ? 2 : 1] += fz_int(&f, -2, 2, 0); /* a pooled shape that does not match */
    }
    const int64_t xn0 = fz_shape_count(&xs, LIMIT), yn0 = fz_shape_count(&ys, LIMIT);
    const int exact = qs == DECONV_OK && xn0 >= 0 && yn0 >= 0;
    int64_t xn = xn0 >= 0 ? xn0 : 1, yn = yn0 >= 0 ? yn0 : 1;
    int64_t in_n = op >= P_MAXUNP ? yn : xn, out_n = op >= P_MAXUNP ? xn : yn;
    int64_t idx_n = op == P_ARGMAX || op == P_MAXUNP ? yn : 0;
    int perturbed = 0;
    if (bad_count) {
        int64_t *which[3] = {&in_n, &out_n, &idx_n};
        int64_t *c = which[fz_u8(&f) % 3];
        const int64_t d = fz_int(&f, -2, 2, 0);
        if (*c + d >= 0 && (c != &idx_n || idx_n > 0)) {
            *c += d;
            perturbed = d != 0;
        }
    }
    /* Skip the compute-heavy configurations, still validating them with a bad count: 2^15
     * pooled cells with windows of 2^15 input cells each are minutes of honest work for the
     * reference kernels under ASan (a libFuzzer timeout, not a finding). A window with no
     * input cell is no work at all, however long it is along other dims (that case found a
     * real bug: see regress-empty-dim-huge-window). In double: dims may be 2^40 here. */
    int heavy = 0;
    if (exact) {
        double cells = 1; /* input cells of the largest window */
        for (int i = 0; i < sr; i++) {
            const int64_t ext = xs.dims[lay ? 2 + i : 1 + i];
            const int64_t k = p.ksize[i] < ext ? p.ksize[i] : ext;
            cells *= (double)(k > 0 ? k : 0);
        }
        heavy = (double)yn0 * cells > (double)WORK_LIMIT;
    }
    if (heavy && !perturbed) {
        in_n += 1; /* certainly not the shape's count */
        perturbed = 1;
    }

    float *in = fz_alloc(in_n, sizeof(float)), *out = fz_alloc(out_n, sizeof(float));
    int64_t *idx = fz_alloc(idx_n, sizeof(int64_t));
    const uint64_t seed = fz_u64(&f);
    fz_fill(in, in_n, seed);
    /* specials: NaN, -inf, +inf, ties */
    const uint8_t spec = fz_u8(&f);
    for (int64_t i = 0; spec >= 128 && i < in_n; i++) {
        const uint8_t r = (uint8_t)(fz_rng(&(uint64_t){seed + (uint64_t)i}) & 15);
        if (r == 0) in[i] = NAN;
        else if (r == 1) in[i] = -INFINITY;
        else if (r == 2) in[i] = INFINITY;
        else if (r < 6) in[i] = 0.5f;
        if (spec >= 250) in[i] = spec == 250 ? NAN : -INFINITY; /* whole tensor */
    }
    fz_poison(out, out_n);
    fz_poison_i64(idx, idx_n);

    /* Indices for max_unpool: from a real argmax of a random pre-pool tensor, or random in
     * range, with an occasional wild value at a random position. */
    int64_t limit = 0;
    int any_bad_index = 0;
    if (op == P_MAXUNP) {
        if (exact) {
            int64_t spatial_c = xs.dims[cax];
            for (int i = 0; i < sr; i++) spatial_c *= xs.dims[lay ? 2 + i : 1 + i];
            limit = p.include_batch_in_index == 1 ? spatial_c * xs.dims[0] : spatial_c;
        }
        const uint8_t how = fz_u8(&f);
        int filled = 0;
        if (how < 128 && exact && !heavy && idx_n == yn && xn > 0) {
            float *pre = fz_alloc(xn, sizeof(float)), *pooled = fz_alloc(yn, sizeof(float));
            fz_fill(pre, xn, seed ^ 0x55);
            filled = deconv_max_pool_with_argmax(NULL, &p, &xs, pre, xn, pooled, yn, idx, idx_n,
                                                 NULL) == DECONV_OK;
            free(pre);
            free(pooled);
        }
        uint64_t s2 = seed;
        for (int64_t j = 0; !filled && j < idx_n; j++)
            idx[j] = limit > 0 ? (int64_t)(fz_rng(&s2) % (uint64_t)limit) : 0;
        if (idx_n > 0 && fz_u8(&f) >= 200) {
            const int64_t at = fz_int(&f, 0, idx_n - 1, 0);
            static const int64_t wild_idx[] = {-1, INT64_MIN, INT64_MAX, ((int64_t)1 << 32) + 1,
                                               ((int64_t)1 << 31), 0};
            idx[at] = wild_idx[fz_u8(&f) % 6];
            if (fz_u8(&f) & 1) idx[at] = limit + (int64_t)(fz_u8(&f) % 3); /* just past */
        }
        for (int64_t j = 0; j < idx_n; j++) any_bad_index |= idx[j] < 0 || idx[j] >= limit;
    }
    int64_t *idx_copy = NULL;
    if (op == P_MAXUNP) {
        idx_copy = fz_alloc(idx_n, sizeof(int64_t));
        memcpy(idx_copy, idx, (size_t)(idx_n > 0 ? idx_n : 0) * sizeof(int64_t));
    }

    deconv_status st;
    switch (op) {
    case P_MAX: st = deconv_max_pool(ctx, &p, &xs, in, in_n, out, out_n, &e); break;
    case P_AVG: st = deconv_avg_pool(ctx, &p, &xs, in, in_n, out, out_n, &e); break;
    case P_ARGMAX:
        st = deconv_max_pool_with_argmax(ctx, &p, &xs, in, in_n, out, out_n, idx, idx_n, &e);
        break;
    case P_MAXUNP:
        st = deconv_max_unpool(ctx, &p, &ys, in, in_n, idx, idx_n, &xs, out, out_n, &e);
        break;
    default: st = deconv_avg_unpool(ctx, &p, &ys, in, in_n, &xs, out, out_n, &e); break;
    }
    fz_check_error(st, &e);
    if (st != DECONV_OK) {
        if (fz_poisoned(out, out_n) != out_n) FUZZ_FAIL("error %d (%s) wrote output", (int)st, e.message);
        if (op == P_ARGMAX && fz_poisoned_i64(idx, idx_n) != idx_n)
            FUZZ_FAIL("error %d wrote argmax", (int)st);
        if (st == DECONV_ERR_INDEX_OUT_OF_RANGE && (op != P_MAXUNP || !any_bad_index))
            FUZZ_FAIL("INDEX_OUT_OF_RANGE with every index in range: %s", e.message);
    } else {
        if (!exact || perturbed) FUZZ_FAIL("accepted counts that are not the shapes' products");
        if (op == P_MAXUNP && any_bad_index) FUZZ_FAIL("accepted an out-of-range index");
        const int64_t left = fz_poisoned(out, out_n);
        /* a computed NaN never carries the poison payload, so this holds with specials too */
        if (left)
            FUZZ_FAIL("OK but %lld of %lld outputs unwritten", (long long)left, (long long)out_n);
        if (op == P_ARGMAX) {
            /* every index points at a cell of the right image holding the output value */
            const int64_t per_image = yn / (ys.dims[0] > 0 ? ys.dims[0] : 1);
            for (int64_t j = 0; j < idx_n; j++) {
                const int64_t b = per_image > 0 ? j / per_image : 0;
                const int64_t off =
                    index_offset(&xs, sr, lay, idx[j], b, p.include_batch_in_index == 1);
                if (off < 0) FUZZ_FAIL("argmax[%lld] = %lld out of range", (long long)j,
                                       (long long)idx[j]);
                if (!same_float(in[off], out[j]))
                    FUZZ_FAIL("argmax[%lld] points at %g, output is %g", (long long)j,
                              (double)in[off], (double)out[j]);
            }
        }
    }
    if (idx_copy && memcmp(idx, idx_copy, (size_t)(idx_n > 0 ? idx_n : 0) * sizeof(int64_t)))
        FUZZ_FAIL("max_unpool modified its index input");
    free(idx_copy);
    free(in);
    free(out);
    free(idx);
    return 0;
}
