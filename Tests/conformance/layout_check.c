/* Prints the C layout of the public structs as JSON so abi.py can compare its ctypes
 * declarations against what the compiler actually does (sizes and every field offset). */
#include <stddef.h>
#include <stdio.h>

#include "deconv.h"

#define FIELD(T, f, last) printf("\"%s\": %zu%s", #f, offsetof(T, f), (last) ? "" : ", ")

int main(void) {
    printf("{\"deconv_shape\": {\"size\": %zu, \"fields\": {", sizeof(deconv_shape));
    FIELD(deconv_shape, rank, 0); FIELD(deconv_shape, dims, 1);
    printf("}},\n \"deconv_conv_params\": {\"size\": %zu, \"fields\": {",
           sizeof(deconv_conv_params));
    FIELD(deconv_conv_params, struct_size, 0); FIELD(deconv_conv_params, flags, 0);
    FIELD(deconv_conv_params, spatial_rank, 0); FIELD(deconv_conv_params, layout, 0);
    FIELD(deconv_conv_params, padding, 0); FIELD(deconv_conv_params, strides, 0);
    FIELD(deconv_conv_params, dilations, 0); FIELD(deconv_conv_params, pads, 0);
    FIELD(deconv_conv_params, activation, 0); FIELD(deconv_conv_params, alpha, 0);
    FIELD(deconv_conv_params, clamp_min, 0); FIELD(deconv_conv_params, clamp_max, 1);
    printf("}},\n \"deconv_pool_params\": {\"size\": %zu, \"fields\": {",
           sizeof(deconv_pool_params));
    FIELD(deconv_pool_params, struct_size, 0); FIELD(deconv_pool_params, flags, 0);
    FIELD(deconv_pool_params, spatial_rank, 0); FIELD(deconv_pool_params, layout, 0);
    FIELD(deconv_pool_params, padding, 0); FIELD(deconv_pool_params, ksize, 0);
    FIELD(deconv_pool_params, strides, 0); FIELD(deconv_pool_params, pads, 0);
    FIELD(deconv_pool_params, count_include_pad, 0);
    FIELD(deconv_pool_params, include_batch_in_index, 0);
    FIELD(deconv_pool_params, normalize, 1);
    printf("}},\n \"deconv_error\": {\"size\": %zu, \"fields\": {", sizeof(deconv_error));
    FIELD(deconv_error, status, 0); FIELD(deconv_error, message, 1);
    printf("}}}\n");
    return 0;
}
