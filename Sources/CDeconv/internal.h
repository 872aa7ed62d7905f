/*
 * internal.h - what the library's own files share; never installed.
 *
 * Architecture (one op = validate -> resolved problem -> kernel):
 *   *_api.c     public entry points: validate everything (validate.c, geometry.c) into a
 *               dc_conv_problem / dc_pool_problem, then run a kernel through dc_parallel_for.
 *   *_ref.c     the naive reference kernels: obviously right, the oracle for everything else.
 *   dispatch.c  picks the kernel for a problem: a fast path when one claims it, else the
 *               reference. Fast kernels slot in there without touching the API or validation.
 *   context.c   threads and workspace.
 * Problems are normalised to 3 spatial dims (leading dims of extent 1, kernel 1, stride 1) and
 * carry element strides for both layouts, so kernels never branch on rank or layout unless
 * they want to.
 */
#ifndef DECONV_INTERNAL_H
#define DECONV_INTERNAL_H

#include "deconv.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define DC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DC_PRINTF(a, b)
#endif

/* ---- errors (status.c) ------------------------------------------------------------------- */

/** Records status and a printf-style message into err (if not NULL); returns status. */
deconv_status dc_fail(deconv_error *err, deconv_status status, const char *fmt, ...)
    DC_PRINTF(3, 4);
/** Marks err (if not NULL) as success; returns DECONV_OK. */
deconv_status dc_ok(deconv_error *err);

/* ---- checked int64 arithmetic ------------------------------------------------------------ */

/** *r = a * b; returns 0 on overflow. */
static inline int dc_mul(int64_t a, int64_t b, int64_t *r) {
#if defined(__GNUC__) || defined(__clang__)
    return !__builtin_mul_overflow(a, b, r);
#else
    if (a != 0 && (b > INT64_MAX / a || b < INT64_MIN / a)) return 0; /* a, b >= 0 here */
    *r = a * b;
    return 1;
#endif
}
/** *r = a + b; returns 0 on overflow. */
static inline int dc_add(int64_t a, int64_t b, int64_t *r) {
#if defined(__GNUC__) || defined(__clang__)
    return !__builtin_add_overflow(a, b, r);
#else
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return 0;
    *r = a + b;
    return 1;
#endif
}

/* ---- geometry (geometry.c): TF's windowed-size rule for one spatial dim ------------------ */

/** One spatial dim of a windowed op. All inputs are bounded by DECONV_MAX_EXTENT, so none of
 *  these overflow int64. */
typedef struct dc_dim {
    int64_t in, k, s, d; /* input extent, kernel extent, stride, dilation */
    int64_t pb, pa;      /* explicit pads (input for EXPLICIT, output otherwise) */
} dc_dim;

/** Forward output size and pads of one dim (TF's truncating division). Returns the size,
 *  which may be negative. */
int64_t dc_window_out(deconv_padding padding, dc_dim *dim);
/** Valid transposed output sizes [lo, hi] of one dim whose forward output is `in`. */
void dc_transpose_range(deconv_padding padding, int64_t in, int64_t k, int64_t s, int64_t d,
                        int64_t pb_explicit, int64_t pa_explicit, int64_t *lo, int64_t *hi);
const char *dc_padding_name(deconv_padding padding);

/* ---- validation helpers (validate.c) ------------------------------------------------------ */

/** Data layout of an activation tensor, normalised to 3 spatial dims. */
typedef struct dc_layout3 {
    int64_t n, c, sp[3];            /* extents; sp[] padded with leading 1s */
    int64_t stride_n, stride_c;     /* element strides */
    int64_t stride_sp[3];
    int64_t count;                  /* n * c * sp[0] * sp[1] * sp[2] */
} dc_layout3;

/** Checks struct pointer, struct_size, flags, spatial_rank, layout and padding of params. */
deconv_status dc_check_common(const void *params, size_t struct_size, size_t known_size,
                              uint32_t flags, int32_t spatial_rank, deconv_layout layout,
                              deconv_padding padding, const char *what, deconv_error *err);
/** Checks an array of `n` per-dim values is in [min, DECONV_MAX_EXTENT]. */
deconv_status dc_check_values(const int64_t *v, int32_t n, int64_t min, const char *name,
                              deconv_error *err);
/** Checks shape is non-NULL, has rank `rank`, dims in [0, DECONV_MAX_EXTENT], and that the
 *  element count fits int64 and size_t. */
deconv_status dc_check_shape(const deconv_shape *shape, int32_t rank, const char *name,
                             deconv_error *err);
/** Fills a dc_layout3 from a checked activation shape. */
void dc_layout_from_shape(const deconv_shape *shape, int32_t spatial_rank, deconv_layout layout,
                          dc_layout3 *out);
/** Product of shape dims (shape already checked, so no overflow). */
int64_t dc_shape_count(const deconv_shape *shape);
/** Checks a buffer: count == expected, count >= 0, data != NULL when count > 0. */
deconv_status dc_check_buffer(const void *data, int64_t count, int64_t expected,
                              const char *name, deconv_error *err);
/** Checks that output [out, out + out_bytes) does not overlap [in, in + in_bytes). */
deconv_status dc_check_overlap(const void *out, size_t out_bytes, const void *in,
                               size_t in_bytes, const char *out_name, const char *in_name,
                               deconv_error *err);
/** Formats a shape as "[1, 3, 3, 1]" into buf. */
void dc_format_shape(const deconv_shape *shape, char *buf, size_t size);
/** Maps a spatial index i (0-based) to its position in a shape of this layout. */
int32_t dc_spatial_axis(int32_t spatial_rank, deconv_layout layout, int32_t i);
int32_t dc_channel_axis(int32_t spatial_rank, deconv_layout layout);

/* ---- resolved problems -------------------------------------------------------------------- */

/** A validated conv or transposed conv. For conv, x is the input [n, in_sp, cin] and y the
 *  output [n, out_sp, cout]. For a transposed conv, x is ITS input (the forward conv's
 *  output) and y ITS output; pb are the forward pads computed from y's size. */
typedef struct dc_conv_problem {
    int transposed;
    int32_t spatial_rank;           /* as the caller gave it (1..3) */
    deconv_layout layout;
    dc_layout3 x, y;
    int64_t groups;
    int64_t cin_g, cout_g;          /* channels per group of x and of y */
    int64_t k[3], s[3], d[3], pb[3], pa[3];
    /* filter element strides, TF layout: conv [k0,k1,k2, cin_g, cout]; transposed
     * [k0,k1,k2, cout_g, cin]. w_stride_k[i] is the stride of kernel dim i. */
    int64_t w_stride_k[3];
    int64_t w_count;
    int has_bias;
    deconv_activation activation;
    float alpha, clamp_min, clamp_max;
} dc_conv_problem;

/** A validated pooling/unpooling problem. x is the pre-pool tensor, y the pooled one
 *  (for unpool ops, the op's input is y and its output x). */
typedef struct dc_pool_problem {
    int32_t spatial_rank;
    deconv_layout layout;
    dc_layout3 x, y;
    int64_t k[3], s[3], pb[3], pa[3];
    int count_include_pad, include_batch_in_index, normalize;
} dc_pool_problem;

/** Validates a conv (transposed = 0, output_shape NULL) or transposed conv's params and shapes
 *  and resolves them into *pr (conv_api.c). Buffers are checked separately by the caller. */
deconv_status dc_conv_prepare(const deconv_conv_params *params, const deconv_shape *input,
                              const deconv_shape *filter, const deconv_shape *output_shape,
                              int transposed, dc_conv_problem *pr, deconv_error *err);

/** Applies the problem's activation to one value. */
float dc_activate(const dc_conv_problem *p, float v);

/* ---- kernels ------------------------------------------------------------------------------ */

/** A conv kernel computes output elements [begin, end) of a partition of `units` work items
 *  declared by its plan; kernels write only output and their slice of workspace. */
typedef struct dc_conv_args {
    const dc_conv_problem *p;
    const float *x, *w, *bias;
    float *y;
    void *workspace;                /* plan.workspace_bytes, may be NULL if 0 */
    size_t workspace_size;
    int32_t num_threads;
    /* Set (non-NULL) only for a plan with checks_weights: its run then stores 1 there
     * (relaxed atomic) when a weight it multiplies is inf or NaN. */
    int *weights_bad;
} dc_conv_args;

typedef void (*dc_conv_kernel_fn)(const dc_conv_args *a, int64_t begin, int64_t end,
                                  int32_t thread);

/** How a kernel is run: `units` independent work items split statically over threads (the
 *  split never changes the result), with workspace_bytes of scratch. */
typedef struct dc_conv_plan {
    const char *name;
    dc_conv_kernel_fn run;
    int64_t units;
    size_t workspace_bytes;
    /* 1: run checks each weight it multiplies as it packs it (dc_conv_args.weights_bad), so
     * the caller need not scan the filter for inf or NaN before it (conv_api.c) */
    int checks_weights;
    /* 1: a channels-first problem run as its channels-last twin (relayout.c): run, units
     * and the last bytes of workspace_bytes are the twin's kernel's, and dc_run_conv_plan
     * transposes the input in and the output out around it */
    int relayout;
} dc_conv_plan;

/** Reference kernels (conv_ref.c): units = n * out spatial * out channels, no workspace. */
void dc_ref_conv_plan(const dc_conv_problem *p, dc_conv_plan *plan);
void dc_ref_conv_transpose_plan(const dc_conv_problem *p, dc_conv_plan *plan);

/** The reference plan of a conv or a transposed conv, as p says (dispatch.c). */
void dc_ref_conv_any_plan(const dc_conv_problem *p, dc_conv_plan *plan);
/** l's strides made channels-last (relayout.c). */
void dc_layout_to_last(dc_layout3 *l);
/** 1 when l's two layouts are the same bytes: one channel, or one spatial position. */
int dc_layout_same_bytes(const dc_layout3 *l);
/** Bytes of workspace for a channels-last copy of a tensor of layout l (floats, or int64
 *  when wide), rounded up to 64; 0 when its two layouts are the same bytes. */
uint64_t dc_relayout_room(const dc_layout3 *l, int wide);
/** Moves a channels-first tensor of layout l into channels-last (to_last) or back, over
 *  ctx's threads; elements are floats, or int64 when wide. Nothing when src == dst. */
deconv_status dc_relayout(deconv_context *ctx, const dc_layout3 *l, const void *src, void *dst,
                          int wide, int to_last, deconv_error *err);
/** The channels-last twin of a channels-first problem: the same conv with x and y laid out
 *  channels-last (relayout.c). */
void dc_channels_last_twin(const dc_conv_problem *p, dc_conv_problem *twin);
/** Workspace for p's input and output in channels-last, 64-byte aligned, followed by
 *  `inner` bytes for the twin's kernel: *total. 0 when that does not fit size_t. */
int dc_relayout_bytes(const dc_conv_problem *p, size_t inner, size_t *total);
/** Runs the channels-last twin of a's channels-first problem: a's input moved into the
 *  workspace (dc_relayout_bytes'), run(ctx, twin's args, arg), the twin's output moved back
 *  into a's. A tensor whose two layouts are the same bytes is read or written in place. */
typedef deconv_status (*dc_twin_fn)(deconv_context *ctx, dc_conv_args *twin, void *arg,
                                    deconv_error *err);
deconv_status dc_relayout_run(deconv_context *ctx, const dc_conv_args *a, dc_twin_fn run,
                              void *arg, deconv_error *err);

/** Picks the kernel for a problem (dispatch.c): a fast path if one claims it (for a
 *  channels-first problem, one that claims its channels-last twin), else the
 *  reference. DECONV_FORCE_REFERENCE in the environment is not read (no hidden globals);
 *  tests call the reference plans directly. */
void dc_select_conv_plan(const dc_conv_problem *p, int32_t num_threads, dc_conv_plan *plan);
/** Runs *plan over its units on ctx's threads (dispatch.c); args->weights_bad is its own.
 *  With check_weights and a plan that checks_weights, a run that multiplies an inf or NaN
 *  weight runs again on the reference plan, which *plan then holds: the one place where a
 *  non-finite weight found during a run sends a conv to the reference. */
deconv_status dc_run_conv_plan(deconv_context *ctx, dc_conv_plan *plan, dc_conv_args *args,
                               int check_weights, deconv_error *err);

/** Reference pooling kernels (pool_ref.c). All are single-pass and write every output
 *  element. Unpool kernels zero their output first. */
void dc_ref_max_pool(const dc_pool_problem *p, const float *x, float *y, int64_t *argmax);
void dc_ref_avg_pool(const dc_pool_problem *p, const float *x, float *y);
void dc_ref_max_unpool(const dc_pool_problem *p, const float *y, const int64_t *argmax,
                       float *x);
void dc_ref_avg_unpool(const dc_pool_problem *p, const float *y, float *x);

/* ---- context (context.c) ------------------------------------------------------------------ */

/** Runs fn(arg, begin, end, thread) over [0, units) split statically into num_threads
 *  balanced contiguous chunks (thread t gets chunk t). ctx NULL = calling thread. */
typedef void (*dc_range_fn)(void *arg, int64_t begin, int64_t end, int32_t thread);
deconv_status dc_parallel_for(deconv_context *ctx, int64_t units, dc_range_fn fn, void *arg,
                              deconv_error *err);

/** Locks ctx (if any) for one op and returns workspace of at least `bytes`: the caller-set
 *  workspace, the context's cached one (grown as needed), or a fresh allocation for a NULL
 *  ctx. *to_free is set when the caller must free() it. Call dc_context_end afterwards. */
deconv_status dc_context_begin(deconv_context *ctx, size_t bytes, void **workspace,
                               void **to_free, deconv_error *err);
void dc_context_end(deconv_context *ctx, void *to_free);
/** After dc_context_begin(ctx, 0, ...): the op's workspace of `bytes`, as dc_context_begin
 *  would have returned it (*workspace and *to_free must be NULL). On an error the op still
 *  holds the context: call dc_context_end. */
deconv_status dc_context_reserve(deconv_context *ctx, size_t bytes, void **workspace,
                                 void **to_free, deconv_error *err);

/** 1 if none of the n floats at w is inf or NaN (conv_api.c). A filter with one runs on the
 *  reference, which skips padding taps where the fast kernels multiply zeros (0 * inf = NaN).
 *  dc_weights_finite_on shares the scan out over ctx's threads; ctx's op must be begun. */
int dc_weights_finite(const float *w, int64_t n);
int dc_weights_finite_on(deconv_context *ctx, const float *w, int64_t n);

#endif /* DECONV_INTERNAL_H */
