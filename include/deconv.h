/*
 * deconv.h - the one public header of libdeconv.
 *
 * libdeconv computes convolution, transposed convolution ("deconvolution"), max/avg pooling,
 * max pooling with argmax and max/avg unpooling over 1, 2 and 3 spatial dims, float32, with
 * TensorFlow's semantics to the last cell. This header is the whole API: if it is not here, it
 * is not API. It is C99 and usable from C++.
 *
 * ---------------------------------------------------------------------------------------------
 * Conventions that hold for every function
 * ---------------------------------------------------------------------------------------------
 * - Every function returns a deconv_status. DECONV_OK is 0; other values are pinned and only
 *   ever appended. deconv_status_string() names a status.
 * - Every function takes a trailing `deconv_error *error` that may be NULL. When it is not NULL
 *   it receives the status and a message naming the argument and dim at fault, e.g.
 *   "output_shape[1] = 7 is not valid: input 3, kernel 3, stride 2, dilation 1, SAME accept 5..6".
 *   There is no global or thread-local error state.
 * - Shapes are deconv_shape values: a rank and int64 dims in the order of the data format
 *   (channels-last NWC/NHWC/NDHWC or channels-first NCW/NCHW/NCDHW). Every data buffer travels
 *   with its element count, which must equal the product of its shape; the library never reads
 *   or writes past a count it was given.
 * - All validation happens before any computation. On any error no output buffer is written
 *   (the deconv_error, if given, is the only thing written).
 * - Output buffers must not overlap any input buffer (DECONV_ERR_OVERLAP).
 * - The library never prints, never calls abort/exit/assert on anything a caller passes, and
 *   keeps no pointer after a call returns. All functions are re-entrant and thread-safe.
 * - Batch 0 (and any zero spatial or channel extent) is allowed where TF allows it: the result
 *   is an empty tensor, or for a transposed conv of an empty input, zeros plus bias.
 *
 * ---------------------------------------------------------------------------------------------
 * Semantics (per spatial dim i; k = kernel extent, s = stride, d = dilation)
 * ---------------------------------------------------------------------------------------------
 *   k_eff = (k - 1) * d + 1                  "/" is C's (and TF's) division, truncating to 0
 *   VALID:    out = (in - k_eff + s) / s,                  pad_before = pad_after = 0
 *   EXPLICIT: out = (in + pb + pa - k_eff + s) / s
 *   SAME:     out = ceil(in / s);  total = max(0, (out - 1) * s + k_eff - in)
 *             pb = floor(total / 2);  pa = total - pb      (the odd extra pad goes at the END)
 *   out < 0 is an error (DECONV_ERR_OUTPUT_SIZE); out == 0 gives an empty result. Because the
 *   division truncates, a window up to s - 1 cells larger than the padded input gives 0, not
 *   an error, exactly as TF.
 *
 * Transposed convolution is the gradient of conv with respect to its input (TF's
 * Conv2DBackpropInput). Its output_shape is the forward conv's input shape and is accepted iff
 * the forward rule above maps output_shape[i] back onto the input's size, for every spatial dim.
 * For in >= 1 exactly s sizes are valid per dim:
 *   SAME:     [(in - 1) * s + 1,  in * s]
 *   VALID:    [(in - 1) * s + k_eff,  (in - 1) * s + k_eff + s - 1]
 *   EXPLICIT: the VALID range shifted by -(pb + pa)
 * For in == 0: SAME accepts only 0; VALID [k_eff - 2s + 1, k_eff - 1] (truncation), EXPLICIT
 * that range shifted by -(pb + pa); sizes below 0 are never valid.
 * With pb the forward pad computed from the OUTPUT size:
 *   y[n, o, co] = sum over (i, a, ci) with i*s + a*d - pb == o of x[n, i, ci] * w[a, co, ci]
 * Because forward SAME puts the extra pad at the end, the transposed op pads more at the top/left.
 *
 * Filter layouts (TF's, independent of the data format):
 *   conv:            [k..., in_channels / groups, out_channels]
 *   conv_transpose:  [k..., out_channels / groups, in_channels]
 * Padding cells contribute nothing to a sum: they are skipped, never multiplied, so an inf or
 * NaN weight that only meets padding does not turn an output into NaN.
 *
 * groups is derived as TF derives it: conv groups = input channels / filter in-dim;
 * conv_transpose groups = output_shape channels / filter out-dim. Channel counts must divide.
 *
 * max_pool_with_argmax indices are TF's, flat over the CHANNELS-LAST input whatever the data
 * format: ((b * D + z) * H + y) * W + x) * C + c generalised to every rank, i.e. for 2-D
 * ((b * H + y) * W + x) * C + c, where the batch term b * (spatial * C) is present only when
 * include_batch_in_index is set.
 */
#ifndef DECONV_H
#define DECONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Export macro and versions
 * ------------------------------------------------------------------------------------------- */

/** Marks a symbol exported from the shared library; everything else is built hidden. */
#if defined(_WIN32)
#  if defined(DECONV_BUILDING)
#    define DECONV_API __declspec(dllexport)
#  else
#    define DECONV_API
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define DECONV_API __attribute__((visibility("default")))
#else
#  define DECONV_API
#endif

/** Version of this header. Same major version = ABI compatible (SONAME libdeconv.so.MAJOR). */
#define DECONV_VERSION_MAJOR 1
#define DECONV_VERSION_MINOR 1
#define DECONV_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH. */
#define DECONV_VERSION_NUMBER \
    (DECONV_VERSION_MAJOR * 10000 + DECONV_VERSION_MINOR * 100 + DECONV_VERSION_PATCH)

/** Runtime version of the loaded library, as DECONV_VERSION_NUMBER. */
DECONV_API int deconv_version(void);
/** Runtime version string of the loaded library, e.g. "1.1.0". Static storage; never NULL. */
DECONV_API const char *deconv_version_string(void);

/* ---------------------------------------------------------------------------------------------
 * Status and errors
 * ------------------------------------------------------------------------------------------- */

/** Result of every call. Values are pinned; new ones are only appended. */
typedef enum deconv_status {
    DECONV_OK = 0,
    /** A required pointer is NULL (params, shape, error-free out-params, or a buffer whose
     *  count is > 0). */
    DECONV_ERR_NULL_POINTER = 1,
    /** A parameter struct's struct_size is not one this library knows. */
    DECONV_ERR_STRUCT_SIZE = 2,
    /** An enum field (layout, padding, activation) or spatial_rank is out of range, or
     *  reserved flags are set. */
    DECONV_ERR_INVALID_ENUM = 3,
    /** A scalar parameter is out of range: stride, dilation or ksize < 1, a negative explicit
     *  pad, a non-finite activation parameter, clamp min > max, ... */
    DECONV_ERR_INVALID_ARGUMENT = 4,
    /** A shape is malformed: wrong rank for the op, a negative dim, a filter dim < 1. */
    DECONV_ERR_INVALID_SHAPE = 5,
    /** Shapes disagree: channels not divisible by the filter's, batch or channels of
     *  output_shape / argmax not matching the input, bias length != output channels. */
    DECONV_ERR_SHAPE_MISMATCH = 6,
    /** The forward output size of some spatial dim would be negative (window larger than
     *  the padded input). */
    DECONV_ERR_OUTPUT_SIZE = 7,
    /** A transposed conv's or unpool's output_shape is not one that maps back to the input
     *  (see deconv_conv_transpose_output_range). */
    DECONV_ERR_INVALID_OUTPUT_SHAPE = 8,
    /** An element count does not equal the product of its shape. */
    DECONV_ERR_COUNT_MISMATCH = 9,
    /** A size, offset or element count overflows int64 / size_t, or exceeds
     *  DECONV_MAX_EXTENT. */
    DECONV_ERR_OVERFLOW = 10,
    /** An argmax index is negative or outside the output it scatters into. */
    DECONV_ERR_INDEX_OUT_OF_RANGE = 11,
    /** An output buffer overlaps an input buffer. */
    DECONV_ERR_OVERLAP = 12,
    /** A caller-provided workspace is smaller than the size query returned. */
    DECONV_ERR_WORKSPACE_TOO_SMALL = 13,
    /** An internal allocation failed. Nothing was written. */
    DECONV_ERR_NO_MEMORY = 14,
    /** The operating system refused a resource (e.g. a thread could not be started). */
    DECONV_ERR_SYSTEM = 15
} deconv_status;

/** Number of deconv_status values in this version (for range checks in bindings). */
#define DECONV_STATUS_COUNT 16

/** Short, static, human-readable name of a status ("invalid output_shape", ...). Unknown
 *  values give "unknown status". Never NULL. */
DECONV_API const char *deconv_status_string(deconv_status status);

/** Size of deconv_error.message, including the terminating NUL. */
#define DECONV_MESSAGE_SIZE 256

/** Optional error report, owned by the caller. Filled by every call that receives it:
 *  on success status = DECONV_OK and message = "". The message is always NUL-terminated. */
typedef struct deconv_error {
    deconv_status status;
    char message[DECONV_MESSAGE_SIZE];
} deconv_error;

/* ---------------------------------------------------------------------------------------------
 * Shapes, layouts and parameters
 * ------------------------------------------------------------------------------------------- */

/** Largest number of spatial dims. */
#define DECONV_MAX_SPATIAL 3
/** Largest tensor rank (batch + 3 spatial + channels). */
#define DECONV_MAX_RANK 5
/** Upper bound on every dim, stride, dilation, kernel extent and pad (2^40). Larger values
 *  are rejected with DECONV_ERR_OVERFLOW before any arithmetic. */
#define DECONV_MAX_EXTENT ((int64_t)1 << 40)

/** A tensor shape: rank and dims in data-format order. dims[rank..] are ignored. */
typedef struct deconv_shape {
    int32_t rank;
    int64_t dims[DECONV_MAX_RANK];
} deconv_shape;

/** Data format of activations (filters always use TF's layout, see the top of the file). */
typedef enum deconv_layout {
    /** NWC / NHWC / NDHWC (TF's default). */
    DECONV_CHANNELS_LAST = 0,
    /** NCW / NCHW / NCDHW. */
    DECONV_CHANNELS_FIRST = 1
} deconv_layout;

/** Padding mode, as TF's `padding` argument. */
typedef enum deconv_padding {
    DECONV_PADDING_VALID = 0,
    DECONV_PADDING_SAME = 1,
    /** pads[2*i] before and pads[2*i+1] after spatial dim i, each >= 0. For a transposed conv
     *  these are the forward conv's pads, exactly as TF's explicit_paddings. */
    DECONV_PADDING_EXPLICIT = 2
} deconv_padding;

/** Activation fused after bias. */
typedef enum deconv_activation {
    DECONV_ACTIVATION_NONE = 0,
    /** max(x, 0) */
    DECONV_ACTIVATION_RELU = 1,
    /** min(max(x, 0), 6) */
    DECONV_ACTIVATION_RELU6 = 2,
    /** x >= 0 ? x : alpha * x */
    DECONV_ACTIVATION_LEAKY_RELU = 3,
    /** 1 / (1 + exp(-x)) */
    DECONV_ACTIVATION_SIGMOID = 4,
    /** tanh(x) */
    DECONV_ACTIVATION_TANH = 5,
    /** min(max(x, clamp_min), clamp_max) */
    DECONV_ACTIVATION_CLAMP = 6
} deconv_activation;

/** Parameters of deconv_conv and deconv_conv_transpose. Start from DECONV_CONV_PARAMS_INIT.
 *  struct_size must be sizeof(deconv_conv_params) of the header the caller compiled with;
 *  fields added in later versions get their defaults when a smaller (older) size is given. */
typedef struct deconv_conv_params {
    size_t struct_size;
    /** Reserved; must be 0. */
    uint32_t flags;
    /** 1, 2 or 3. Shapes then have rank spatial_rank + 2. */
    int32_t spatial_rank;
    deconv_layout layout;
    deconv_padding padding;
    /** Per spatial dim, >= 1. Entries past spatial_rank are ignored. */
    int64_t strides[DECONV_MAX_SPATIAL];
    /** Per spatial dim, >= 1. Stride > 1 together with dilation > 1 is allowed. */
    int64_t dilations[DECONV_MAX_SPATIAL];
    /** DECONV_PADDING_EXPLICIT only: before/after per spatial dim, >= 0. */
    int64_t pads[2 * DECONV_MAX_SPATIAL];
    deconv_activation activation;
    /** DECONV_ACTIVATION_LEAKY_RELU slope; finite. */
    float alpha;
    /** DECONV_ACTIVATION_CLAMP bounds; finite, clamp_min <= clamp_max. */
    float clamp_min;
    float clamp_max;
} deconv_conv_params;

/** Defaults: 2-D, channels-last, VALID, strides and dilations 1, no pads, no activation,
 *  alpha 0.2 (Keras' LeakyReLU), clamp [0, 6]. Usable from C and C++. */
#define DECONV_CONV_PARAMS_INIT                                                             \
    { sizeof(deconv_conv_params), 0u, 2, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID,        \
      {1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, DECONV_ACTIVATION_NONE, 0.2f, 0.0f, 6.0f }

/** Parameters of the pooling and unpooling ops. Start from DECONV_POOL_PARAMS_INIT. */
typedef struct deconv_pool_params {
    size_t struct_size;
    /** Reserved; must be 0. */
    uint32_t flags;
    /** 1, 2 or 3. Shapes then have rank spatial_rank + 2. */
    int32_t spatial_rank;
    deconv_layout layout;
    deconv_padding padding;
    /** Window extent per spatial dim, >= 1. */
    int64_t ksize[DECONV_MAX_SPATIAL];
    /** Per spatial dim, >= 1. */
    int64_t strides[DECONV_MAX_SPATIAL];
    /** DECONV_PADDING_EXPLICIT only: before/after per spatial dim, >= 0. */
    int64_t pads[2 * DECONV_MAX_SPATIAL];
    /** avg_pool and normalised avg_unpool: 0 = divide by the number of valid (non-padding)
     *  cells of the window (TF, Keras, ONNX); 1 = divide by the full window size including
     *  padding (PyTorch's count_include_pad=True). */
    int32_t count_include_pad;
    /** max_pool_with_argmax and max_unpool: 1 = indices include the batch term
     *  b * (spatial * C) (TF's include_batch_in_index=True); 0 = indices are per image. */
    int32_t include_batch_in_index;
    /** avg_unpool: 0 = copy each pooled value into every valid cell of its window;
     *  1 = also divide by the window's count, which makes avg_unpool TF's AvgPoolGrad. */
    int32_t normalize;
} deconv_pool_params;

/** Defaults: 2-D, channels-last, VALID, ksize 1, strides 1, no pads, TF's avg divisor,
 *  indices without the batch term, avg_unpool not normalised. */
#define DECONV_POOL_PARAMS_INIT                                                             \
    { sizeof(deconv_pool_params), 0u, 2, DECONV_CHANNELS_LAST, DECONV_PADDING_VALID,        \
      {1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, 0, 0, 0 }

/* ---------------------------------------------------------------------------------------------
 * Contexts: threads and workspace
 * ------------------------------------------------------------------------------------------- */

/** An execution context: a worker-thread count and a cached workspace. Every op takes a
 *  `deconv_context *` that may be NULL, meaning: run on the calling thread only, allocate any
 *  scratch per call. Results are bit-identical for every thread count.
 *  A context may be shared between threads; calls through one context are serialised. */
typedef struct deconv_context deconv_context;

/** Creates a context that runs ops on `num_threads` threads (the caller's included); 0 means
 *  one per online CPU. Range 0..1024. On success *out receives the handle, owned by the
 *  caller and freed with deconv_context_destroy. */
DECONV_API deconv_status deconv_context_create(int32_t num_threads, deconv_context **out,
                                               deconv_error *error);

/** Frees a context and its threads and cached workspace. NULL is a no-op. The context must
 *  not be in use. */
DECONV_API void deconv_context_destroy(deconv_context *ctx);

/** Number of threads a context runs ops on (1 for NULL). */
DECONV_API int32_t deconv_context_num_threads(const deconv_context *ctx);

/** Gives the context caller-owned scratch memory of `size` bytes (NULL/0 to go back to the
 *  context's own cached allocation). While set, ops never allocate scratch: an op needing more
 *  than `size` (see the *_workspace_size queries) fails with DECONV_ERR_WORKSPACE_TOO_SMALL.
 *  The memory must stay valid until replaced or the context is destroyed. */
DECONV_API deconv_status deconv_context_set_workspace(deconv_context *ctx, void *workspace,
                                                      size_t size, deconv_error *error);

/* ---------------------------------------------------------------------------------------------
 * Shape queries
 * ------------------------------------------------------------------------------------------- */

/** Output shape of deconv_conv and the pads it uses, for any config.
 *  input: rank spatial_rank + 2 in params->layout; filter: [k..., in/groups, out].
 *  On success *output receives the output shape (same layout) and, if pads is not NULL,
 *  pads[2*i], pads[2*i+1] the before/after pad of spatial dim i.
 *  Statuses: every validation status of deconv_conv except counts and overlaps. */
DECONV_API deconv_status deconv_conv_output_shape(const deconv_conv_params *params,
                                                  const deconv_shape *input,
                                                  const deconv_shape *filter,
                                                  deconv_shape *output,
                                                  int64_t pads[2 * DECONV_MAX_SPATIAL],
                                                  deconv_error *error);

/** The valid output sizes of a transposed conv: for every spatial dim i, output_shape dim i is
 *  accepted iff min_size[i] <= size <= max_size[i], and for a non-empty input
 *  max_size[i] - min_size[i] + 1 == stride[i] (TF's rule; see the top of the file). A range may
 *  start below 0 (EXPLICIT padding, empty input); only sizes >= 0 are usable. input: the transposed conv's input; filter:
 *  [k..., out/groups, in]. Entries past spatial_rank are set to 0. */
DECONV_API deconv_status deconv_conv_transpose_output_range(
    const deconv_conv_params *params, const deconv_shape *input, const deconv_shape *filter,
    int64_t min_size[DECONV_MAX_SPATIAL], int64_t max_size[DECONV_MAX_SPATIAL],
    deconv_error *error);

/** Validates a transposed conv's output_shape exactly as deconv_conv_transpose does and returns
 *  the forward pads it implies (pads[2*i] = pb, the shift applied to the full result). */
DECONV_API deconv_status deconv_conv_transpose_pads(const deconv_conv_params *params,
                                                    const deconv_shape *input,
                                                    const deconv_shape *filter,
                                                    const deconv_shape *output_shape,
                                                    int64_t pads[2 * DECONV_MAX_SPATIAL],
                                                    deconv_error *error);

/** Keras' default output size of one spatial dim of ConvNDTranspose (keras deconv_output_length):
 *  with output_padding < 0 meaning "absent":
 *    SAME:  in * s;                          VALID: in * s + max(k_eff - s, 0)
 *  with 0 <= output_padding < s:
 *    SAME:  (in - 1) * s + k_eff % 2 + output_padding
 *    VALID: (in - 1) * s + k_eff + output_padding
 *  EXPLICIT is not a Keras mode (DECONV_ERR_INVALID_ENUM). output_padding >= stride is
 *  DECONV_ERR_INVALID_ARGUMENT, as Keras. */
DECONV_API deconv_status deconv_keras_conv_transpose_size(int64_t input_size, int64_t kernel,
                                                          int64_t stride, int64_t dilation,
                                                          deconv_padding padding,
                                                          int64_t output_padding,
                                                          int64_t *output_size,
                                                          deconv_error *error);

/** Output shape of the pooling ops and the pads they use (same rule as conv with dilation 1).
 *  input: rank spatial_rank + 2 in params->layout. EXPLICIT pads must be < ksize on each side
 *  (DECONV_ERR_INVALID_ARGUMENT), so every window of a non-empty input has a valid cell. */
DECONV_API deconv_status deconv_pool_output_shape(const deconv_pool_params *params,
                                                  const deconv_shape *input,
                                                  deconv_shape *output,
                                                  int64_t pads[2 * DECONV_MAX_SPATIAL],
                                                  deconv_error *error);

/* ---------------------------------------------------------------------------------------------
 * Workspace queries
 * ------------------------------------------------------------------------------------------- */

/** Scratch bytes deconv_conv needs with this context (its thread count) and these shapes.
 *  0 means none. A channels-first conv runs on the channels-last kernels between two
 *  transposes, so its scratch also holds channels-last copies of the input and the output
 *  (but not of one with a single channel or a single spatial position, which is the same
 *  bytes in both layouts). */
DECONV_API deconv_status deconv_conv_workspace_size(const deconv_context *ctx,
                                                    const deconv_conv_params *params,
                                                    const deconv_shape *input,
                                                    const deconv_shape *filter,
                                                    size_t *bytes, deconv_error *error);

/** Scratch bytes deconv_conv_transpose needs with this context and these shapes. */
DECONV_API deconv_status deconv_conv_transpose_workspace_size(const deconv_context *ctx,
                                                              const deconv_conv_params *params,
                                                              const deconv_shape *input,
                                                              const deconv_shape *filter,
                                                              const deconv_shape *output_shape,
                                                              size_t *bytes,
                                                              deconv_error *error);

/* ---------------------------------------------------------------------------------------------
 * Convolution
 * ------------------------------------------------------------------------------------------- */

/** tf.nn.conv1d / conv2d / conv3d (+ bias + activation).
 *  input:  [N, spatial..., C] (or [N, C, spatial...]), input_count elements.
 *  filter: [k..., C / groups, OC], filter_count elements; groups = C / filter in-dim, and
 *          OC must be a multiple of groups.
 *  bias:   OC elements, or NULL with bias_count 0.
 *  output: deconv_conv_output_shape(), output_count elements.
 *  Statuses: NULL_POINTER, STRUCT_SIZE, INVALID_ENUM, INVALID_ARGUMENT, INVALID_SHAPE,
 *  SHAPE_MISMATCH, OUTPUT_SIZE, COUNT_MISMATCH, OVERFLOW, OVERLAP, WORKSPACE_TOO_SMALL,
 *  NO_MEMORY, SYSTEM. */
DECONV_API deconv_status deconv_conv(deconv_context *ctx, const deconv_conv_params *params,
                                     const deconv_shape *input, const float *input_data,
                                     int64_t input_count,
                                     const deconv_shape *filter, const float *filter_data,
                                     int64_t filter_count,
                                     const float *bias, int64_t bias_count,
                                     float *output, int64_t output_count,
                                     deconv_error *error);

/** tf.nn.conv1d_transpose / conv2d_transpose / conv3d_transpose (+ bias + activation).
 *  input:        [N, spatial..., IC] in params->layout.
 *  filter:       [k..., OC / groups, IC]; groups = OC / filter out-dim; IC % groups == 0.
 *  output_shape: the full output shape [N, spatial..., OC] in params->layout, validated by TF's
 *                rule (DECONV_ERR_INVALID_OUTPUT_SHAPE names the dim and the accepted range).
 *  bias:         OC elements, or NULL with bias_count 0.
 *  Same statuses as deconv_conv plus INVALID_OUTPUT_SHAPE. */
DECONV_API deconv_status deconv_conv_transpose(deconv_context *ctx,
                                               const deconv_conv_params *params,
                                               const deconv_shape *input,
                                               const float *input_data, int64_t input_count,
                                               const deconv_shape *filter,
                                               const float *filter_data, int64_t filter_count,
                                               const float *bias, int64_t bias_count,
                                               const deconv_shape *output_shape, float *output,
                                               int64_t output_count, deconv_error *error);

/* ---------------------------------------------------------------------------------------------
 * Pooling
 *
 * The forward ops need no scratch. In channels-first they use some when the context has it
 * (channels-last copies of the input and the outputs, for the vector kernels): with a
 * caller-set workspace too small for that they run their scalar channels-first kernel
 * instead, with the same result. They never fail for lack of workspace.
 * ------------------------------------------------------------------------------------------- */

/** tf.nn.max_pool1d/2d/3d. Padding cells never win. NaN policy: a NaN anywhere in a window
 *  makes the result NaN (the first NaN in window order is the maximum). TF's own CPU kernel is
 *  inconsistent here (it depends on SIMD lane position); this library is not. A window with no
 *  valid cell (a 0-sized spatial input with EXPLICIT pads, and a non-empty output) is
 *  DECONV_ERR_INVALID_ARGUMENT. */
DECONV_API deconv_status deconv_max_pool(deconv_context *ctx, const deconv_pool_params *params,
                                         const deconv_shape *input, const float *input_data,
                                         int64_t input_count, float *output,
                                         int64_t output_count, deconv_error *error);

/** tf.nn.avg_pool1d/2d/3d. Divisor per params->count_include_pad. A window with no valid cell
 *  (possible only when a spatial input dim is 0 and EXPLICIT pads make the output non-empty)
 *  gives 0. +inf and -inf in one window give NaN (IEEE). */
DECONV_API deconv_status deconv_avg_pool(deconv_context *ctx, const deconv_pool_params *params,
                                         const deconv_shape *input, const float *input_data,
                                         int64_t input_count, float *output,
                                         int64_t output_count, deconv_error *error);

/** tf.nn.max_pool_with_argmax for every rank and layout. argmax has the output's element count
 *  and order; each index is TF's flat channels-last index (see the top of the file). The first
 *  maximum in window order wins; padding never wins; a NaN wins over every number (the first
 *  NaN in window order), so an all-NaN window points at its first valid cell, and an all -inf
 *  window at its first cell with value -inf. Windows are as in deconv_max_pool. */
DECONV_API deconv_status deconv_max_pool_with_argmax(deconv_context *ctx,
                                                     const deconv_pool_params *params,
                                                     const deconv_shape *input,
                                                     const float *input_data,
                                                     int64_t input_count, float *output,
                                                     int64_t output_count, int64_t *argmax,
                                                     int64_t argmax_count, deconv_error *error);

/* ---------------------------------------------------------------------------------------------
 * Unpooling (no TF op; defined by libdeconv)
 *
 * Both ops take scratch from the context: the index check's per-thread results, the fast
 * kernels' per-thread buffers and, in channels-first, either one plane's sums per thread
 * (max_unpool with C a power of two) or channels-last copies of the tensors. With a
 * caller-set workspace too small for that they run serially on the reference instead, with
 * the same result. They never fail for lack of workspace.
 * ------------------------------------------------------------------------------------------- */

/** Max unpooling: output (shape output_shape, the pooled input's pre-pool shape) is zeroed and
 *  every input value is added at its argmax position; duplicates sum. This equals TF's
 *  MaxPoolGradWithArgmax, i.e. the gradient of max pooling.
 *  input: the pooled tensor; argmax: as produced by deconv_max_pool_with_argmax with the same
 *  params (argmax_count == input_count). params must map output_shape onto input's shape
 *  (DECONV_ERR_INVALID_OUTPUT_SHAPE otherwise). Every index is checked, in int64, to lie in
 *  [0, spatial * C) of its own image, or with include_batch_in_index in [0, N * spatial * C)
 *  of the whole output (as TF), before anything is written: DECONV_ERR_INDEX_OUT_OF_RANGE
 *  names the first bad one. */
DECONV_API deconv_status deconv_max_unpool(deconv_context *ctx, const deconv_pool_params *params,
                                           const deconv_shape *input, const float *input_data,
                                           int64_t input_count, const int64_t *argmax,
                                           int64_t argmax_count,
                                           const deconv_shape *output_shape, float *output,
                                           int64_t output_count, deconv_error *error);

/** Average unpooling: output (shape output_shape) is zeroed and each pooled value is added to
 *  every valid cell of its window, divided by the window's count when params->normalize is set
 *  (then it equals TF's AvgPoolGrad, the adjoint of avg pooling). params must map
 *  output_shape onto input's shape. */
DECONV_API deconv_status deconv_avg_unpool(deconv_context *ctx, const deconv_pool_params *params,
                                           const deconv_shape *input, const float *input_data,
                                           int64_t input_count,
                                           const deconv_shape *output_shape, float *output,
                                           int64_t output_count, deconv_error *error);

/* ---------------------------------------------------------------------------------------------
 * Prepared convolutions: weights packed once, run many times (since 1.1.0)
 * ------------------------------------------------------------------------------------------- */

/** A conv or transposed conv whose params, shapes and weights are fixed and validated once:
 *  creation copies the weights into the layout the fast kernels read (deconv_conv and
 *  deconv_conv_transpose repack them on every call), so a run only reads the input.
 *  A run gives bitwise the same output as the stateless call with the same arguments (the
 *  kernel level is chosen at creation). The object is immutable after creation: any number
 *  of threads may run it at once (each with its own context, NULL, or a shared context,
 *  which serialises them). */
typedef struct deconv_prepared_conv deconv_prepared_conv;

/** Prepares deconv_conv(params, input, filter, ...): validates exactly as deconv_conv does
 *  (every status except those about input/bias/output buffers) plus filter_data /
 *  filter_count (NULL_POINTER, COUNT_MISMATCH), then copies the weights: the caller's filter
 *  buffer may be freed as soon as this returns. On success *out receives the object, owned
 *  by the caller and freed with deconv_prepared_conv_destroy; on error *out is untouched.
 *  Extra statuses: NO_MEMORY. */
DECONV_API deconv_status deconv_prepared_conv_create(const deconv_conv_params *params,
                                                     const deconv_shape *input,
                                                     const deconv_shape *filter,
                                                     const float *filter_data,
                                                     int64_t filter_count,
                                                     deconv_prepared_conv **out,
                                                     deconv_error *error);

/** Prepares deconv_conv_transpose(params, input, filter, ..., output_shape, ...), validated
 *  exactly as that call (INVALID_OUTPUT_SHAPE included). Otherwise as
 *  deconv_prepared_conv_create. */
DECONV_API deconv_status deconv_prepared_conv_transpose_create(const deconv_conv_params *params,
                                                               const deconv_shape *input,
                                                               const deconv_shape *filter,
                                                               const float *filter_data,
                                                               int64_t filter_count,
                                                               const deconv_shape *output_shape,
                                                               deconv_prepared_conv **out,
                                                               deconv_error *error);

/** Frees a prepared conv. NULL is a no-op. It must not be running. */
DECONV_API void deconv_prepared_conv_destroy(deconv_prepared_conv *prepared);

/** The input and output shapes a prepared conv runs on (either pointer may be NULL). */
DECONV_API deconv_status deconv_prepared_conv_shapes(const deconv_prepared_conv *prepared,
                                                     deconv_shape *input, deconv_shape *output,
                                                     deconv_error *error);

/** Scratch bytes deconv_prepared_conv_run needs with this context (its thread count); 0 means
 *  none. Smaller than the stateless call's: no packing buffer. */
DECONV_API deconv_status deconv_prepared_conv_workspace_size(const deconv_context *ctx,
                                                             const deconv_prepared_conv *prepared,
                                                             size_t *bytes, deconv_error *error);

/** Runs a prepared conv: input has the prepared input shape (input_count elements), bias is
 *  output-channels elements or NULL with bias_count 0 (as for the stateless call), output
 *  has the prepared output shape. Statuses: NULL_POINTER, COUNT_MISMATCH, SHAPE_MISMATCH
 *  (bias_count), OVERLAP (output against input or bias), WORKSPACE_TOO_SMALL, NO_MEMORY,
 *  SYSTEM. Nothing is written on error. */
DECONV_API deconv_status deconv_prepared_conv_run(deconv_context *ctx,
                                                  const deconv_prepared_conv *prepared,
                                                  const float *input_data, int64_t input_count,
                                                  const float *bias, int64_t bias_count,
                                                  float *output, int64_t output_count,
                                                  deconv_error *error);

#ifdef __cplusplus
}
#endif

#endif /* DECONV_H */
