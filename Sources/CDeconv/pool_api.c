/*
 * pool_api.c - public pooling and unpooling entry points. Each one validates everything
 * (params, shapes, counts, pointers, overlaps and, for max_unpool, every index) into a
 * dc_pool_problem before it writes a single byte, then runs a fast kernel (fast/pool_fast.h)
 * on the context's threads when one claims the problem, else the reference kernel.
 */
#include "internal.h"
#include "fast/pool_fast.h"

#include <string.h>

enum pool_op { OP_MAX, OP_AVG, OP_ARGMAX };

/* params: pointer, struct_size, flags and enums, then the per-dim values and switches. */
static deconv_status check_params(const deconv_pool_params *pp, deconv_error *err) {
    if (!pp) return dc_fail(err, DECONV_ERR_NULL_POINTER, "params is NULL");
    /* struct_size first, alone: no other field is read from a struct of unknown size
     * (dc_check_common reports the size before looking at the dummy fields). */
    if (pp->struct_size != sizeof(deconv_pool_params))
        return dc_check_common(pp, pp->struct_size, sizeof(deconv_pool_params), 0, 1,
                               DECONV_CHANNELS_LAST, DECONV_PADDING_VALID, "params", err);
    deconv_status st = dc_check_common(pp, pp->struct_size, sizeof(deconv_pool_params),
                                       pp->flags, pp->spatial_rank, pp->layout, pp->padding,
                                       "params", err);
    if (st != DECONV_OK) return st;
    const int32_t r = pp->spatial_rank;
    if ((st = dc_check_values(pp->ksize, r, 1, "ksize", err)) != DECONV_OK) return st;
    if ((st = dc_check_values(pp->strides, r, 1, "strides", err)) != DECONV_OK) return st;
    if (pp->padding == DECONV_PADDING_EXPLICIT) {
        /* pad < ksize keeps a valid cell in every window of a non-empty input. */
        for (int32_t j = 0; j < 2 * r; j++) {
            const int64_t v = pp->pads[j], k = pp->ksize[j / 2];
            if (v < 0)
                return dc_fail(err, DECONV_ERR_INVALID_ARGUMENT, "pads[%d] = %lld must be >= 0",
                               (int)j, (long long)v);
            if (v >= k)
                return dc_fail(err, DECONV_ERR_INVALID_ARGUMENT,
                               "pads[%d] = %lld must be < ksize[%d] = %lld", (int)j,
                               (long long)v, (int)(j / 2), (long long)k);
        }
    }
    const int32_t sw[3] = {pp->count_include_pad, pp->include_batch_in_index, pp->normalize};
    static const char *const names[3] = {"count_include_pad", "include_batch_in_index",
                                         "normalize"};
    for (int i = 0; i < 3; i++)
        if (sw[i] != 0 && sw[i] != 1)
            return dc_fail(err, DECONV_ERR_INVALID_ARGUMENT, "params.%s = %d must be 0 or 1",
                           names[i], (int)sw[i]);
    return DECONV_OK;
}

/* dc_check_shape, with the rank rule spelled out in the message. */
static deconv_status check_shape(const deconv_shape *shape, int32_t spatial_rank,
                                 const char *name, deconv_error *err) {
    if (shape && shape->rank != spatial_rank + 2)
        return dc_fail(err, DECONV_ERR_INVALID_SHAPE,
                       "%s has rank %d, expected %d (spatial_rank %d + 2)", name,
                       (int)shape->rank, (int)(spatial_rank + 2), (int)spatial_rank);
    return dc_check_shape(shape, spatial_rank + 2, name, err);
}

/* Copies the window parameters into p, normalised to 3 dims with leading unit dims. */
static void set_windows(const deconv_pool_params *pp, dc_pool_problem *p) {
    const int32_t r = pp->spatial_rank, lead = DECONV_MAX_SPATIAL - r;
    memset(p, 0, sizeof *p);
    p->spatial_rank = r;
    p->layout = pp->layout;
    for (int i = 0; i < 3; i++) {
        p->k[i] = i < lead ? 1 : pp->ksize[i - lead];
        p->s[i] = i < lead ? 1 : pp->strides[i - lead];
        p->pb[i] = p->pa[i] = 0;
    }
    p->count_include_pad = pp->count_include_pad;
    p->include_batch_in_index = pp->include_batch_in_index;
    p->normalize = pp->normalize;
}

/* Forward size and pads of caller spatial dim i for a pre-pool extent `in`. */
static int64_t forward_dim(const deconv_pool_params *pp, int32_t i, int64_t in, int64_t *pb,
                           int64_t *pa) {
    dc_dim d = {in, pp->ksize[i], pp->strides[i], 1, 0, 0};
    if (pp->padding == DECONV_PADDING_EXPLICIT) {
        d.pb = pp->pads[2 * i];
        d.pa = pp->pads[2 * i + 1];
    }
    const int64_t out = dc_window_out(pp->padding, &d);
    *pb = d.pb;
    *pa = d.pa;
    return out;
}

/* Validates params and the pre-pool input of a forward op; fills p (x, y, windows, pads) and
 * the pooled shape. */
static deconv_status resolve_forward(const deconv_pool_params *pp, const deconv_shape *input,
                                     dc_pool_problem *p, deconv_shape *pooled,
                                     deconv_error *err) {
    deconv_status st = check_params(pp, err);
    if (st != DECONV_OK) return st;
    const int32_t r = pp->spatial_rank, lead = DECONV_MAX_SPATIAL - r;
    if ((st = check_shape(input, r, "input", err)) != DECONV_OK) return st;
    set_windows(pp, p);
    *pooled = *input;
    for (int32_t i = 0; i < r; i++) {
        const int32_t axis = dc_spatial_axis(r, pp->layout, i);
        const int64_t in = input->dims[axis];
        int64_t pb, pa;
        const int64_t out = forward_dim(pp, i, in, &pb, &pa);
        if (out < 0)
            return dc_fail(err, DECONV_ERR_OUTPUT_SIZE,
                           "input[%d] = %lld: ksize[%d] = %lld does not fit the %s-padded input "
                           "(%lld + %lld + %lld), output size %lld",
                           (int)axis, (long long)in, (int)i, (long long)pp->ksize[i],
                           dc_padding_name(pp->padding), (long long)pb, (long long)in,
                           (long long)pa, (long long)out);
        pooled->dims[axis] = out;
        p->pb[lead + i] = pb;
        p->pa[lead + i] = pa;
    }
    /* EXPLICIT pads can make the pooled tensor larger than the input; bound it too. */
    if ((st = check_shape(pooled, r, "output", err)) != DECONV_OK) return st;
    dc_layout_from_shape(input, r, pp->layout, &p->x);
    dc_layout_from_shape(pooled, r, pp->layout, &p->y);
    return DECONV_OK;
}

deconv_status deconv_pool_output_shape(const deconv_pool_params *params,
                                       const deconv_shape *input, deconv_shape *output,
                                       int64_t pads[2 * DECONV_MAX_SPATIAL],
                                       deconv_error *error) {
    dc_pool_problem p;
    deconv_shape pooled;
    deconv_status st = resolve_forward(params, input, &p, &pooled, error);
    if (st != DECONV_OK) return st;
    if (!output) return dc_fail(error, DECONV_ERR_NULL_POINTER, "output is NULL");
    *output = pooled;
    if (pads) {
        const int32_t lead = DECONV_MAX_SPATIAL - params->spatial_rank;
        for (int32_t i = 0; i < DECONV_MAX_SPATIAL; i++) {
            const int in_range = i < params->spatial_rank;
            pads[2 * i] = in_range ? p.pb[lead + i] : 0;
            pads[2 * i + 1] = in_range ? p.pa[lead + i] : 0;
        }
    }
    return dc_ok(error);
}

/* A max pool window must hold a valid cell: only a 0-sized spatial input whose EXPLICIT pads
 * still give a non-empty output can break that. */
static deconv_status check_windows_nonempty(const dc_pool_problem *p, deconv_error *err) {
    if (p->y.count == 0) return DECONV_OK;
    const int32_t lead = DECONV_MAX_SPATIAL - p->spatial_rank;
    for (int32_t i = 0; i < p->spatial_rank; i++)
        if (p->x.sp[lead + i] == 0)
            return dc_fail(err, DECONV_ERR_INVALID_ARGUMENT,
                           "input[%d] = 0 but its pads give output size %lld: a max pool window "
                           "with no input cell has no maximum",
                           (int)dc_spatial_axis(p->spatial_rank, p->layout, i),
                           (long long)p->y.sp[lead + i]);
    return DECONV_OK;
}

/* Per-thread window rows of one output row of the twin, at most (4 MiB): above that the
 * whole input is moved to channels-last first. */
#define SLAB_MAX_FLOATS ((int64_t)1 << 20)

/* A channels-first forward op as its channels-last twin: the fast kernels vectorise over
 * channels, where the channels-first one is scalar (argmax 19x slower). The twin runs one
 * output row at a time (fast/pool_fast.c): the row's window rows are transposed from the
 * caller's input into a per-thread slab, the row is pooled into a per-thread buffer and
 * transposed from there into the caller's outputs, so no whole tensor is written and read
 * again in the other layout. 1 when it ran, with its status in *st; 0 when the fast path
 * does not take the twin or the context has no room for it (a caller-set workspace:
 * pooling never asked for one), and the op runs as before. The twin's argmax indices are
 * the op's (always over the channels-last input). */
static int forward_relaid(deconv_context *ctx, const dc_pool_problem *p, int fop, const float *x,
                          float *y, int64_t *argmax, deconv_status *st, deconv_error *err) {
    dc_pool_problem t = *p;
    t.layout = DECONV_CHANNELS_LAST;
    dc_layout_to_last(&t.x);
    dc_layout_to_last(&t.y);
    /* Nothing to move for a tensor whose two layouts are the same bytes. A large slab:
     * the whole input moved first (xr). */
    const int out = !dc_layout_same_bytes(&p->y), in = !dc_layout_same_bytes(&p->x);
    const int64_t slab = in ? dc_pool_fast_row_floats(&t, 0, 0, 1) : 0;
    const int by_rows = in && slab >= 0 && slab <= SLAB_MAX_FLOATS;
    const uint64_t xr = in && !by_rows ? dc_relayout_room(&p->x, 0) : 0;
    const int64_t per_thread = dc_pool_fast_row_floats(&t, out, argmax != NULL, by_rows);
    const uint64_t T = (uint64_t)deconv_context_num_threads(ctx);
    const uint64_t rows = T * (uint64_t)per_thread * sizeof(float);
    if (xr + rows == 0 || xr + rows > (uint64_t)(SIZE_MAX - 64)) return 0;
    void *ws, *to_free;
    if (dc_context_begin(ctx, (size_t)(64 + xr + rows), &ws, &to_free, NULL) != DECONV_OK)
        return 0;
    unsigned char *base = (unsigned char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    const float *xt = xr ? (const float *)(void *)base : x;
    dc_pool_fast f;
    if (!dc_pool_fast_forward_setup(&t, fop, xt, y, argmax, &f)) {
        dc_context_end(ctx, to_free);
        return 0;
    }
    f.first_x = by_rows ? x : NULL;
    f.first_y = out ? y : NULL;
    f.first_argmax = out ? argmax : NULL;
    f.ws = (float *)(void *)(base + xr);
    f.ws_floats = per_thread;
    *st = xr ? dc_relayout(ctx, &p->x, x, (void *)(uintptr_t)xt, 0, 1, err) : DECONV_OK;
    if (*st == DECONV_OK) *st = dc_parallel_for(ctx, f.units, dc_pool_fast_forward_run, &f, err);
    dc_context_end(ctx, to_free);
    return 1;
}

static deconv_status run_forward(enum pool_op op, deconv_context *ctx,
                                 const deconv_pool_params *pp, const deconv_shape *input,
                                 const float *x, int64_t x_count, float *y, int64_t y_count,
                                 int64_t *argmax, int64_t argmax_count, deconv_error *err) {
    dc_pool_problem p;
    deconv_shape pooled;
    deconv_status st = resolve_forward(pp, input, &p, &pooled, err);
    if (st != DECONV_OK) return st;
    if ((st = dc_check_buffer(x, x_count, p.x.count, "input", err)) != DECONV_OK) return st;
    if ((st = dc_check_buffer(y, y_count, p.y.count, "output", err)) != DECONV_OK) return st;
    if (op == OP_ARGMAX &&
        (st = dc_check_buffer(argmax, argmax_count, p.y.count, "argmax", err)) != DECONV_OK)
        return st;
    const size_t xb = (size_t)x_count * sizeof *x, yb = (size_t)y_count * sizeof *y;
    if ((st = dc_check_overlap(y, yb, x, xb, "output", "input", err)) != DECONV_OK) return st;
    if (op == OP_ARGMAX) {
        const size_t ab = (size_t)argmax_count * sizeof *argmax;
        if ((st = dc_check_overlap(argmax, ab, x, xb, "argmax", "input", err)) != DECONV_OK ||
            (st = dc_check_overlap(argmax, ab, y, yb, "argmax", "output", err)) != DECONV_OK)
            return st;
    }
    if (op != OP_AVG && (st = check_windows_nonempty(&p, err)) != DECONV_OK) return st;
    if (p.y.count == 0) return dc_ok(err); /* empty result: nothing to compute */

    const int fop = op == OP_AVG ? DC_POOL_AVG : op == OP_ARGMAX ? DC_POOL_ARGMAX : DC_POOL_MAX;
    /* channels-first: in place when its own rows kernel takes it, else as the twin */
    if (p.layout == DECONV_CHANNELS_FIRST && !dc_pool_fast_first_rows(&p, fop) &&
        forward_relaid(ctx, &p, fop, x, y, op == OP_ARGMAX ? argmax : NULL, &st, err))
        return st != DECONV_OK ? st : dc_ok(err);
    void *ws, *to_free;
    if ((st = dc_context_begin(ctx, 0, &ws, &to_free, err)) != DECONV_OK) return st;
    dc_pool_fast f;
    if (dc_pool_fast_forward_setup(&p, fop, x, y, argmax, &f))
        st = dc_parallel_for(ctx, f.units, dc_pool_fast_forward_run, &f, err);
    else if (op == OP_AVG)
        dc_ref_avg_pool(&p, x, y);
    else
        dc_ref_max_pool(&p, x, y, op == OP_ARGMAX ? argmax : NULL);
    dc_context_end(ctx, to_free);
    return st != DECONV_OK ? st : dc_ok(err);
}

deconv_status deconv_max_pool(deconv_context *ctx, const deconv_pool_params *params,
                              const deconv_shape *input, const float *input_data,
                              int64_t input_count, float *output, int64_t output_count,
                              deconv_error *error) {
    return run_forward(OP_MAX, ctx, params, input, input_data, input_count, output,
                       output_count, NULL, 0, error);
}

deconv_status deconv_avg_pool(deconv_context *ctx, const deconv_pool_params *params,
                              const deconv_shape *input, const float *input_data,
                              int64_t input_count, float *output, int64_t output_count,
                              deconv_error *error) {
    return run_forward(OP_AVG, ctx, params, input, input_data, input_count, output,
                       output_count, NULL, 0, error);
}

deconv_status deconv_max_pool_with_argmax(deconv_context *ctx, const deconv_pool_params *params,
                                          const deconv_shape *input, const float *input_data,
                                          int64_t input_count, float *output,
                                          int64_t output_count, int64_t *argmax,
                                          int64_t argmax_count, deconv_error *error) {
    return run_forward(OP_ARGMAX, ctx, params, input, input_data, input_count, output,
                       output_count, argmax, argmax_count, error);
}

/* Validates params, the pooled input and output_shape of an unpool op. output_shape must be a
 * pre-pool shape that the same params pool onto input's shape exactly. */
static deconv_status resolve_unpool(const deconv_pool_params *pp, const deconv_shape *input,
                                    const deconv_shape *output_shape, dc_pool_problem *p,
                                    deconv_error *err) {
    deconv_status st = check_params(pp, err);
    if (st != DECONV_OK) return st;
    const int32_t r = pp->spatial_rank, lead = DECONV_MAX_SPATIAL - r;
    if ((st = check_shape(input, r, "input", err)) != DECONV_OK) return st;
    if ((st = check_shape(output_shape, r, "output_shape", err)) != DECONV_OK) return st;
    const int32_t c_axis = dc_channel_axis(r, pp->layout);
    if (output_shape->dims[0] != input->dims[0])
        return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                       "output_shape[0] = %lld does not match the input's batch %lld",
                       (long long)output_shape->dims[0], (long long)input->dims[0]);
    if (output_shape->dims[c_axis] != input->dims[c_axis])
        return dc_fail(err, DECONV_ERR_SHAPE_MISMATCH,
                       "output_shape[%d] = %lld does not match the input's channels %lld",
                       (int)c_axis, (long long)output_shape->dims[c_axis],
                       (long long)input->dims[c_axis]);
    set_windows(pp, p);
    for (int32_t i = 0; i < r; i++) {
        const int32_t axis = dc_spatial_axis(r, pp->layout, i);
        const int64_t size = output_shape->dims[axis], pooled = input->dims[axis];
        int64_t pb, pa;
        if (forward_dim(pp, i, size, &pb, &pa) != pooled) {
            int64_t lo = 0, hi = -1, span;
            const int explicit_pads = pp->padding == DECONV_PADDING_EXPLICIT;
            /* pooled * stride can pass int64 (both up to 2^40); then no size <= 2^40 is valid. */
            if (dc_mul(pooled, pp->strides[i], &span) && span < ((int64_t)1 << 62))
                dc_transpose_range(pp->padding, pooled, pp->ksize[i], pp->strides[i], 1,
                                   explicit_pads ? pp->pads[2 * i] : 0,
                                   explicit_pads ? pp->pads[2 * i + 1] : 0, &lo, &hi);
            if (lo < 0) lo = 0;
            if (hi < lo)
                return dc_fail(err, DECONV_ERR_INVALID_OUTPUT_SHAPE,
                               "output_shape[%d] = %lld is not valid: pooled input %lld, ksize "
                               "%lld, stride %lld, %s accept no size",
                               (int)axis, (long long)size, (long long)pooled,
                               (long long)pp->ksize[i], (long long)pp->strides[i],
                               dc_padding_name(pp->padding));
            return dc_fail(err, DECONV_ERR_INVALID_OUTPUT_SHAPE,
                           "output_shape[%d] = %lld is not valid: pooled input %lld, ksize %lld, "
                           "stride %lld, %s accept %lld..%lld",
                           (int)axis, (long long)size, (long long)pooled,
                           (long long)pp->ksize[i], (long long)pp->strides[i],
                           dc_padding_name(pp->padding), (long long)lo, (long long)hi);
        }
        p->pb[lead + i] = pb;
        p->pa[lead + i] = pa;
    }
    dc_layout_from_shape(output_shape, r, pp->layout, &p->x);
    dc_layout_from_shape(input, r, pp->layout, &p->y);
    return DECONV_OK;
}

/* Every index, in int64, inside its own image's [0, spatial * C), or with the batch term
 * inside the whole output [0, N * spatial * C), as TF's MaxPoolGradWithArgmax. The scan
 * (fast/pool_fast.c) finds the first bad index; this names it. */
static deconv_status index_error(const dc_pool_problem *p, const int64_t *argmax, int64_t j,
                                 deconv_error *err) {
    const int64_t limit = p->include_batch_in_index ? p->x.count : p->x.stride_n;
    return dc_fail(err, DECONV_ERR_INDEX_OUT_OF_RANGE, "argmax[%lld] = %lld is outside [0, %lld) %s",
                   (long long)j, (long long)argmax[j], (long long)limit,
                   p->include_batch_in_index ? "(the whole output, batch included)"
                                             : "(one image of the output)");
}

/* An unpool op's fast run: the kernel's setup and the workspace it takes. */
typedef struct unpool_plan {
    dc_pool_fast f;
    int fast;               /* a fast kernel claims the op (max_unpool: if its scan agrees) */
    size_t res_bytes;       /* the scan's per-thread results (max_unpool) */
    size_t fast_bytes;      /* the pull's codes, then the per-thread rings or column tables */
} unpool_plan;

static void plan_unpool(const dc_pool_problem *p, const float *y, const int64_t *argmax,
                        float *x, int allow_pull, size_t threads, unpool_plan *u) {
    size_t per_thread = 0;
    u->fast = dc_pool_fast_unpool_setup(p, y, argmax, x, allow_pull, &per_thread, &u->f);
    u->res_bytes = argmax ? (threads * sizeof(struct dc_pool_scan_result) + 63) / 64 * 64 : 0;
    u->fast_bytes = u->fast ? threads * per_thread + (u->f.codes_bytes + 63) / 64 * 64 : 0;
}

/* Runs an unpool op (max: argmax != NULL) on the workspace at base (64-byte aligned, the
 * plan's bytes; NULL: serially on the reference, with run_ctx NULL). max_unpool's indices
 * are all checked (on the context's threads) before anything is written: *bad is then the
 * first bad one's position (-1: none, and the op ran). The same scan tells whether the fast
 * kernel may take them. */
static deconv_status unpool_on(deconv_context *run_ctx, const dc_pool_problem *p,
                               const float *y, const int64_t *argmax, float *x, unpool_plan *u,
                               unsigned char *base, int64_t *bad, deconv_error *err) {
    deconv_status st = DECONV_OK;
    int fast = base ? u->fast : 0;
    /* workspace: scan results, then the pull's codes (if it pulls), then the per-thread
     * rings or column tables */
    unsigned char *fast_ws = base ? base + u->res_bytes : NULL;
    if (fast && u->f.pull) {
        u->f.codes = fast_ws;
        fast_ws += (u->f.codes_bytes + 63) / 64 * 64;
    }
    *bad = -1;
    if (argmax) {
        struct dc_pool_scan_result one, *res = base ? (struct dc_pool_scan_result *)(void *)base
                                                    : &one;
        const size_t nres = base ? (size_t)deconv_context_num_threads(run_ctx) : 1;
        dc_pool_scan s;
        s.p = p;
        s.index = argmax;
        /* No pooled value, no index to check: an empty tensor may still have 2^40 rows of
         * zero length, and walking them would take hours. */
        s.units = p->y.count > 0 ? dc_pool_scan_units(p) : 0;
        s.want_local = fast;
        s.codes = fast && u->f.pull ? u->f.codes : NULL;
        s.res = res;
        for (size_t t = 0; t < nres; t++) {
            res[t].first_bad = -1;
            res[t].local = fast;
        }
        if ((st = dc_parallel_for(run_ctx, s.units, dc_pool_scan_run, &s, err)) != DECONV_OK)
            return st;
        for (size_t t = 0; t < nres; t++) {
            if (res[t].first_bad >= 0) {
                *bad = res[t].first_bad;
                return DECONV_OK;
            }
            fast &= res[t].local;
        }
    }
    if (p->x.count > 0) {
        if (fast) {
            u->f.ws = (float *)(void *)fast_ws;
            st = dc_parallel_for(run_ctx, u->f.units, dc_pool_fast_unpool_run, &u->f, err);
        } else if (argmax) {
            dc_ref_max_unpool(p, y, argmax, x);
        } else {
            dc_ref_avg_unpool(p, y, x);
        }
    }
    return st;
}

/* The first index outside its range in argmax's own order: a channels-first op's twin scans
 * the indices in channels-last order, and the message names the caller's first. */
static int64_t first_bad_index(const dc_pool_problem *p, const int64_t *argmax) {
    const int64_t limit = p->include_batch_in_index ? p->x.count : p->x.stride_n;
    for (int64_t j = 0; j < p->y.count; j++)
        if (argmax[j] < 0 || argmax[j] >= limit) return j;
    return -1;
}

/* A channels-first unpool that the planes kernel does not take (avg_unpool, or C not a
 * power of two) as its channels-last twin (relayout.c): the fast kernels run along the
 * channels, and the reference was 8-12 times slower than channels-last. The indices mean the
 * same in both (a channels-last position in the image, as TF's), and the reference sums each
 * output cell's values in the same (image, channel, pooled position) order in both layouts,
 * so the twin gives the op's bits. 1 when it ran, its status in *st; 0 when no fast kernel
 * takes the twin or the context has no room for it, and the op runs as before. */
static int unpool_relaid(deconv_context *ctx, const dc_pool_problem *p, const float *y,
                         const int64_t *argmax, float *x, deconv_status *st,
                         deconv_error *err) {
    dc_pool_problem t = *p;
    t.layout = DECONV_CHANNELS_LAST;
    dc_layout_to_last(&t.x);
    dc_layout_to_last(&t.y);
    const size_t T = (size_t)deconv_context_num_threads(ctx);
    unpool_plan u;
    plan_unpool(&t, y, argmax, x, 1, T, &u); /* sizes only: the pointers come below */
    if (!u.fast) return 0;
    const uint64_t yr = dc_relayout_room(&p->y, 0), ar = argmax ? dc_relayout_room(&p->y, 1) : 0;
    const uint64_t xr = dc_relayout_room(&p->x, 0);
    const uint64_t bytes = 64 + yr + ar + xr + u.res_bytes + u.fast_bytes;
    if (bytes > (uint64_t)SIZE_MAX) return 0;
    void *ws, *to_free;
    if (dc_context_begin(ctx, (size_t)bytes, &ws, &to_free, NULL) != DECONV_OK) return 0;
    unsigned char *base = (unsigned char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    const float *yt = yr ? (const float *)(void *)base : y;
    const int64_t *at = ar ? (const int64_t *)(void *)(base + yr) : argmax;
    float *xt = xr ? (float *)(void *)(base + yr + ar) : x;
    plan_unpool(&t, yt, at, xt, 1, T, &u);
    int64_t bad = -1;
    *st = dc_relayout(ctx, &p->y, y, (void *)(uintptr_t)yt, 0, 1, err);
    if (*st == DECONV_OK && argmax)
        *st = dc_relayout(ctx, &p->y, argmax, (void *)(uintptr_t)at, 1, 1, err);
    if (*st == DECONV_OK)
        *st = unpool_on(ctx, &t, yt, at, xt, &u, base + yr + ar + xr, &bad, err);
    if (*st == DECONV_OK && bad < 0) *st = dc_relayout(ctx, &p->x, xt, x, 0, 0, err);
    dc_context_end(ctx, to_free);
    if (*st == DECONV_OK && bad >= 0) {
        /* The twin holds the caller's indices moved, so the caller has a bad one too; should
         * a change to the moves break that, the op runs as before instead of naming none. */
        const int64_t j = first_bad_index(p, argmax);
        if (j < 0) return 0;
        *st = index_error(p, argmax, j, err);
    } else if (*st == DECONV_OK) {
        *st = dc_ok(err);
    }
    return 1;
}

/* Runs an unpool op (max: argmax != NULL) once its shapes, buffers and overlaps are valid.
 * Scratch comes from the context; when it cannot be had (a caller-set workspace too small)
 * the op runs serially on the reference without any. */
static deconv_status run_unpool(deconv_context *ctx, const dc_pool_problem *p, const float *y,
                                const int64_t *argmax, float *x, deconv_error *err) {
    deconv_status st;
    const size_t T = (size_t)deconv_context_num_threads(ctx);
    unpool_plan u;
    plan_unpool(p, y, argmax, x, 1, T, &u);
    /* channels-first: by planes when that kernel claims the op, else as the twin */
    if (!u.fast && p->layout == DECONV_CHANNELS_FIRST &&
        unpool_relaid(ctx, p, y, argmax, x, &st, err))
        return st;
    void *ws, *to_free;
    deconv_context *run_ctx = ctx;
    st = dc_context_begin(ctx, 64 + u.res_bytes + u.fast_bytes, &ws, &to_free, err);
    if (st != DECONV_OK && u.fast && u.f.pull) {
        /* the pull's codes did not fit (a caller workspace): the ring needs far less */
        plan_unpool(p, y, argmax, x, 0, T, &u);
        st = dc_context_begin(ctx, 64 + u.res_bytes + u.fast_bytes, &ws, &to_free, err);
    }
    if (st != DECONV_OK) {
        if ((st = dc_context_begin(ctx, 0, &ws, &to_free, err)) != DECONV_OK) return st;
        run_ctx = NULL; /* serial: one scan result, on the stack */
    }
    unsigned char *base = ws ? (unsigned char *)ws + (64 - (uintptr_t)ws % 64) % 64 : NULL;
    int64_t bad = -1;
    st = unpool_on(run_ctx, p, y, argmax, x, &u, base, &bad, err);
    dc_context_end(ctx, to_free);
    if (st == DECONV_OK && bad >= 0) return index_error(p, argmax, bad, err);
    return st != DECONV_OK ? st : dc_ok(err);
}

deconv_status deconv_max_unpool(deconv_context *ctx, const deconv_pool_params *params,
                                const deconv_shape *input, const float *input_data,
                                int64_t input_count, const int64_t *argmax, int64_t argmax_count,
                                const deconv_shape *output_shape, float *output,
                                int64_t output_count, deconv_error *error) {
    dc_pool_problem p;
    deconv_status st = resolve_unpool(params, input, output_shape, &p, error);
    if (st != DECONV_OK) return st;
    if ((st = dc_check_buffer(input_data, input_count, p.y.count, "input", error)) != DECONV_OK ||
        (st = dc_check_buffer(argmax, argmax_count, p.y.count, "argmax", error)) != DECONV_OK ||
        (st = dc_check_buffer(output, output_count, p.x.count, "output", error)) != DECONV_OK)
        return st;
    const size_t ob = (size_t)output_count * sizeof *output;
    if ((st = dc_check_overlap(output, ob, input_data, (size_t)input_count * sizeof *input_data,
                               "output", "input", error)) != DECONV_OK ||
        (st = dc_check_overlap(output, ob, argmax, (size_t)argmax_count * sizeof *argmax,
                               "output", "argmax", error)) != DECONV_OK)
        return st;
    return run_unpool(ctx, &p, input_data, argmax, output, error);
}

deconv_status deconv_avg_unpool(deconv_context *ctx, const deconv_pool_params *params,
                                const deconv_shape *input, const float *input_data,
                                int64_t input_count, const deconv_shape *output_shape,
                                float *output, int64_t output_count, deconv_error *error) {
    dc_pool_problem p;
    deconv_status st = resolve_unpool(params, input, output_shape, &p, error);
    if (st != DECONV_OK) return st;
    if ((st = dc_check_buffer(input_data, input_count, p.y.count, "input", error)) != DECONV_OK ||
        (st = dc_check_buffer(output, output_count, p.x.count, "output", error)) != DECONV_OK)
        return st;
    if ((st = dc_check_overlap(output, (size_t)output_count * sizeof *output, input_data,
                               (size_t)input_count * sizeof *input_data, "output", "input",
                               error)) != DECONV_OK)
        return st;
    if (p.x.count == 0) return dc_ok(error);
    return run_unpool(ctx, &p, input_data, NULL, output, error);
}
