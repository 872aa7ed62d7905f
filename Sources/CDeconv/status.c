/* status.c - status names, error reports and the runtime version. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DC_STR2(x) #x
#define DC_STR(x) DC_STR2(x)

int deconv_version(void) { return DECONV_VERSION_NUMBER; }

const char *deconv_version_string(void) {
    return DC_STR(DECONV_VERSION_MAJOR) "." DC_STR(DECONV_VERSION_MINOR) "." DC_STR(
        DECONV_VERSION_PATCH);
}

const char *deconv_status_string(deconv_status status) {
    switch (status) {
    case DECONV_OK: return "ok";
    case DECONV_ERR_NULL_POINTER: return "null pointer";
    case DECONV_ERR_STRUCT_SIZE: return "unknown parameter struct size";
    case DECONV_ERR_INVALID_ENUM: return "invalid enum value";
    case DECONV_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DECONV_ERR_INVALID_SHAPE: return "invalid shape";
    case DECONV_ERR_SHAPE_MISMATCH: return "shape mismatch";
    case DECONV_ERR_OUTPUT_SIZE: return "negative output size";
    case DECONV_ERR_INVALID_OUTPUT_SHAPE: return "invalid output_shape";
    case DECONV_ERR_COUNT_MISMATCH: return "element count mismatch";
    case DECONV_ERR_OVERFLOW: return "size overflow";
    case DECONV_ERR_INDEX_OUT_OF_RANGE: return "index out of range";
    case DECONV_ERR_OVERLAP: return "overlapping buffers";
    case DECONV_ERR_WORKSPACE_TOO_SMALL: return "workspace too small";
    case DECONV_ERR_NO_MEMORY: return "out of memory";
    case DECONV_ERR_SYSTEM: return "system resource error";
    }
    return "unknown status";
}

deconv_status dc_fail(deconv_error *err, deconv_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        err->status = status;
        va_start(ap, fmt);
        /* vsnprintf only formats into the caller's buffer; it never prints. */
        if (vsnprintf(err->message, sizeof err->message, fmt, ap) < 0)
            strcpy(err->message, deconv_status_string(status));
        va_end(ap);
    }
    return status;
}

deconv_status dc_ok(deconv_error *err) {
    if (err) {
        err->status = DECONV_OK;
        err->message[0] = '\0';
    }
    return DECONV_OK;
}
