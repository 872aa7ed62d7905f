/* quickstart.c - the README's C quick start: TF's stride-2 SAME transposed conv of a 3x3 image,
 * with both output sizes TF accepts. Build against an installed libdeconv with
 *   cc quickstart.c $(pkg-config --cflags --libs deconv)                                    */
#include <deconv.h>
#include <stdio.h>

int main(void) {
    const float image[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float kernel[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}; /* [3, 3, out 1, in 1] */
    deconv_conv_params params = DECONV_CONV_PARAMS_INIT;
    params.padding = DECONV_PADDING_SAME;
    params.strides[0] = params.strides[1] = 2;
    const deconv_shape input = {4, {1, 3, 3, 1}}, filter = {4, {3, 3, 1, 1}};

    /* Which output sizes does TF accept for this config? */
    int64_t lo[DECONV_MAX_SPATIAL], hi[DECONV_MAX_SPATIAL];
    deconv_error err;
    if (deconv_conv_transpose_output_range(&params, &input, &filter, lo, hi, &err) != DECONV_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("libdeconv %s: valid output sizes %lld..%lld\n", deconv_version_string(),
           (long long)lo[0], (long long)hi[0]);

    for (int64_t size = lo[0]; size <= hi[0]; size++) {
        float out[36];
        const deconv_shape output_shape = {4, {1, size, size, 1}};
        if (deconv_conv_transpose(NULL, &params, &input, image, 9, &filter, kernel, 9, NULL, 0,
                                  &output_shape, out, size * size, &err) != DECONV_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        printf("output_shape %lldx%lld:\n", (long long)size, (long long)size);
        for (int64_t i = 0; i < size; i++) {
            for (int64_t j = 0; j < size; j++) printf("%4g", (double)out[i * size + j]);
            printf("\n");
        }
    }

    /* A size TF rejects gets a status and a message, never a crash. */
    const deconv_shape bad = {4, {1, 7, 7, 1}};
    float out[49];
    deconv_status st = deconv_conv_transpose(NULL, &params, &input, image, 9, &filter, kernel, 9,
                                             NULL, 0, &bad, out, 49, &err);
    printf("output_shape 7x7: %s: %s\n", deconv_status_string(st), err.message);
    return st == DECONV_ERR_INVALID_OUTPUT_SHAPE ? 0 : 1;
}
