/* validate.c - checks shared by every op. Each returns a status and a message naming the
 * argument and dim at fault; none touches an output buffer. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

deconv_status dc_check_common(const void *params, size_t struct_size, size_t known_size,
                              uint32_t flags, int32_t spatial_rank, deconv_layout layout,
                              deconv_padding padding, const char *what, deconv_error *err) {
    (void)params;
    /* v1 is the first layout of every struct, so only the exact size is known. A later
     * version will accept the smaller sizes of its predecessors and default new fields. */
    if (struct_size != known_size)
        return dc_fail(err, DECONV_ERR_STRUCT_SIZE,
                       "%s.struct_size = %zu, this library (%s) knows %zu", what, struct_size,
                       deconv_version_string(), known_size);
    if (flags != 0)
        return dc_fail(err, DECONV_ERR_INVALID_ENUM, "%s.flags = 0x%x: no flags are defined",
                       what, (unsigned)flags);
    if (spatial_rank < 1 || spatial_rank > DECONV_MAX_SPATIAL)
        return dc_fail(err, DECONV_ERR_INVALID_ENUM, "%s.spatial_rank = %d must be 1, 2 or 3",
                       what, (int)spatial_rank);
    /* Enums may arrive as any int from another language: compare as int. */
    switch ((int)layout) {
    case DECONV_CHANNELS_LAST:
    case DECONV_CHANNELS_FIRST: break;
    default:
        return dc_fail(err, DECONV_ERR_INVALID_ENUM, "%s.layout = %d is not a deconv_layout",
                       what, (int)layout);
    }
    switch ((int)padding) {
    case DECONV_PADDING_VALID:
    case DECONV_PADDING_SAME:
    case DECONV_PADDING_EXPLICIT: break;
    default:
        return dc_fail(err, DECONV_ERR_INVALID_ENUM, "%s.padding = %d is not a deconv_padding",
                       what, (int)padding);
    }
    return DECONV_OK;
}

deconv_status dc_check_values(const int64_t *v, int32_t n, int64_t min, const char *name,
                              deconv_error *err) {
    for (int32_t i = 0; i < n; i++) {
        if (v[i] < min)
            return dc_fail(err, DECONV_ERR_INVALID_ARGUMENT, "%s[%d] = %lld must be >= %lld",
                           name, (int)i, (long long)v[i], (long long)min);
        if (v[i] > DECONV_MAX_EXTENT)
            return dc_fail(err, DECONV_ERR_OVERFLOW, "%s[%d] = %lld exceeds the limit 2^40", name,
                           (int)i, (long long)v[i]);
    }
    return DECONV_OK;
}

deconv_status dc_check_shape(const deconv_shape *shape, int32_t rank, const char *name,
                             deconv_error *err) {
    if (!shape) return dc_fail(err, DECONV_ERR_NULL_POINTER, "%s is NULL", name);
    if (shape->rank != rank)
        return dc_fail(err, DECONV_ERR_INVALID_SHAPE, "%s has rank %d, expected %d", name,
                       (int)shape->rank, (int)rank);
    /* `nonzero` bounds the product of the non-zero dims as well: with a 0 batch or channel
     * dim the count is 0, but layout strides still multiply the other dims. */
    int64_t count = 1, nonzero = 1;
    for (int32_t i = 0; i < rank; i++) {
        const int64_t v = shape->dims[i];
        if (v < 0)
            return dc_fail(err, DECONV_ERR_INVALID_SHAPE, "%s[%d] = %lld is negative", name,
                           (int)i, (long long)v);
        if (v > DECONV_MAX_EXTENT)
            return dc_fail(err, DECONV_ERR_OVERFLOW, "%s[%d] = %lld exceeds the limit 2^40",
                           name, (int)i, (long long)v);
        if (!dc_mul(count, v, &count) || !dc_mul(nonzero, v > 0 ? v : 1, &nonzero) ||
            (uint64_t)nonzero > (uint64_t)(SIZE_MAX / sizeof(float)) ||
            (uint64_t)nonzero > (uint64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(int64_t)))
            return dc_fail(err, DECONV_ERR_OVERFLOW,
                           "%s has more elements than this platform can address", name);
    }
    return DECONV_OK;
}

int64_t dc_shape_count(const deconv_shape *shape) {
    int64_t count = 1;
    for (int32_t i = 0; i < shape->rank; i++) count *= shape->dims[i];
    return count;
}

int32_t dc_spatial_axis(int32_t spatial_rank, deconv_layout layout, int32_t i) {
    (void)spatial_rank;
    return layout == DECONV_CHANNELS_LAST ? 1 + i : 2 + i;
}

int32_t dc_channel_axis(int32_t spatial_rank, deconv_layout layout) {
    return layout == DECONV_CHANNELS_LAST ? spatial_rank + 1 : 1;
}

void dc_layout_from_shape(const deconv_shape *shape, int32_t spatial_rank, deconv_layout layout,
                          dc_layout3 *out) {
    const int32_t lead = DECONV_MAX_SPATIAL - spatial_rank; /* leading unit dims */
    int64_t sp[3] = {1, 1, 1};
    for (int32_t i = 0; i < spatial_rank; i++)
        sp[lead + i] = shape->dims[dc_spatial_axis(spatial_rank, layout, i)];
    out->n = shape->dims[0];
    out->c = shape->dims[dc_channel_axis(spatial_rank, layout)];
    for (int i = 0; i < 3; i++) out->sp[i] = sp[i];
    const int64_t spatial = sp[0] * sp[1] * sp[2];
    if (layout == DECONV_CHANNELS_LAST) {
        out->stride_c = 1;
        out->stride_sp[2] = out->c;
        out->stride_sp[1] = sp[2] * out->c;
        out->stride_sp[0] = sp[1] * sp[2] * out->c;
    } else {
        out->stride_sp[2] = 1;
        out->stride_sp[1] = sp[2];
        out->stride_sp[0] = sp[1] * sp[2];
        out->stride_c = spatial;
    }
    out->stride_n = spatial * out->c;
    out->count = out->n * out->stride_n;
}

deconv_status dc_check_buffer(const void *data, int64_t count, int64_t expected,
                              const char *name, deconv_error *err) {
    if (count != expected)
        return dc_fail(err, DECONV_ERR_COUNT_MISMATCH,
                       "%s_count = %lld but its shape holds %lld elements", name,
                       (long long)count, (long long)expected);
    if (count > 0 && !data)
        return dc_fail(err, DECONV_ERR_NULL_POINTER, "%s is NULL but holds %lld elements", name,
                       (long long)count);
    return DECONV_OK;
}

deconv_status dc_check_overlap(const void *out, size_t out_bytes, const void *in,
                               size_t in_bytes, const char *out_name, const char *in_name,
                               deconv_error *err) {
    if (!out || !in || out_bytes == 0 || in_bytes == 0) return DECONV_OK;
    const uintptr_t o = (uintptr_t)out, i = (uintptr_t)in;
    if (o < i + in_bytes && i < o + out_bytes)
        return dc_fail(err, DECONV_ERR_OVERLAP, "%s overlaps %s", out_name, in_name);
    return DECONV_OK;
}

void dc_format_shape(const deconv_shape *shape, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < shape->rank && i < DECONV_MAX_RANK && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%lld", i ? ", " : "[",
                         (long long)shape->dims[i]);
        if (n < 0) return;
        used += (size_t)n;
    }
    if (used < size) snprintf(buf + used, size - used, shape->rank > 0 ? "]" : "[]");
}
