/* fast/wino_rows.h - the rows of Winograd's F(2, 3), F(2, 2) and F(2, 1) along one dim, as
 * macros over any type with + and - (float, GCC/clang vectors, __m512): B^T for the input,
 * A^T for the output, G for the filter. One definition for conv_wino.c's transforms
 * (wino_xform.h) and conv_wino_few.c's kernels (wino_few_avx512.c). */
#ifndef DECONV_WINO_ROWS_H
#define DECONV_WINO_ROWS_H

/* B^T along one dim: u[i * us] from d[i * ds], i < A. T: the values' type. */
#define WX_BT(T, A, d, ds, u, us)                                                           \
    do {                                                                                    \
        if ((A) == 4) {                                                                     \
            (u)[0] = (d)[0] - (d)[2 * (ds)];                                                \
            (u)[(us)] = (d)[(ds)] + (d)[2 * (ds)];                                          \
            (u)[2 * (us)] = (d)[2 * (ds)] - (d)[(ds)];                                      \
            (u)[3 * (us)] = (d)[(ds)] - (d)[3 * (ds)];                                      \
        } else if ((A) == 3) {                                                              \
            (u)[0] = (d)[0] - (d)[(ds)];                                                    \
            (u)[(us)] = (d)[(ds)];                                                          \
            (u)[2 * (us)] = (d)[2 * (ds)] - (d)[(ds)];                                      \
        } else {                                                                            \
            (u)[0] = (d)[0];                                                                \
            (u)[(us)] = (d)[(ds)];                                                          \
        }                                                                                   \
    } while (0)

/* A^T along one dim: y0, y1 from m[i * ms], i < A. */
#define WX_AT(A, m, ms, y0, y1)                                                             \
    do {                                                                                    \
        if ((A) == 4) {                                                                     \
            y0 = (m)[0] + (m)[(ms)] + (m)[2 * (ms)];                                        \
            y1 = (m)[(ms)] - (m)[2 * (ms)] - (m)[3 * (ms)];                                 \
        } else if ((A) == 3) {                                                              \
            y0 = (m)[0] + (m)[(ms)];                                                        \
            y1 = (m)[(ms)] + (m)[2 * (ms)];                                                 \
        } else {                                                                            \
            y0 = (m)[0];                                                                    \
            y1 = (m)[(ms)];                                                                 \
        }                                                                                   \
    } while (0)

/* G along one dim for nt taps (alpha = 4, 3, 2): o[i * os] from x[t * xs]. */
#define WX_G(nt, x, xs, o, os)                                                              \
    do {                                                                                    \
        if ((nt) == 3) {                                                                    \
            (o)[0] = (x)[0];                                                                \
            (o)[(os)] = ((x)[0] + (x)[(xs)] + (x)[2 * (xs)]) * 0.5f;                        \
            (o)[2 * (os)] = ((x)[0] - (x)[(xs)] + (x)[2 * (xs)]) * 0.5f;                    \
            (o)[3 * (os)] = (x)[2 * (xs)];                                                  \
        } else if ((nt) == 2) {                                                             \
            (o)[0] = (x)[0];                                                                \
            (o)[(os)] = (x)[0] + (x)[(xs)];                                                 \
            (o)[2 * (os)] = (x)[(xs)];                                                      \
        } else {                                                                            \
            (o)[0] = (x)[0];                                                                \
            (o)[(os)] = (x)[0];                                                             \
        }                                                                                   \
    } while (0)

#endif /* DECONV_WINO_ROWS_H */
