/* bench/ukr_bench.c - one GEMM micro-kernel alone: GFLOP/s of repeated calls on one tile,
 * for a reduction of `ntaps` taps of `kc` channels (A, B and C stay in L1 while ntaps x kc x
 * the tile width is small; B streams from L2 beyond that, as in the large layers). It
 * separates what a kernel can do from what a driver around it costs. Rows are passed as
 * pointers (a_stride 0), so the short kernel runs its generic body here.
 *
 *   make bench-ukr BENCH_UKR_ARGS="--kc 5 --ntaps 5 --isa avx512"
 *
 * --pf N passes each call the driver's prefetch hint for N lines of other weights (as the
 * implicit GEMM does on its prepared path, dc_ukr_args.pf), walking through 2 MiB of them.
 *
 * Links the static library for its internal kernels (fast/fast.h); not part of the ABI. */
#include "fast/fast.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The GEMM kernel of a level, or 0 when this build or CPU has none. */
static int pick(const char *name, dc_ukr_fn *fn, int *mr, int *nr) {
    if (strcmp(name, "portable") == 0) {
        *fn = dc_ukr_gemm_portable, *mr = DC_PORTABLE_GEMM_MR, *nr = DC_PORTABLE_GEMM_NR;
        return 1;
    }
#if defined(__x86_64__) || defined(__i386__)
    if (strcmp(name, "avx2") == 0 && dc_fast_isa_supported(DC_ISA_AVX2)) {
        *fn = dc_ukr_gemm_avx2, *mr = DC_AVX2_GEMM_MR, *nr = DC_AVX2_GEMM_NR;
        return 1;
    }
    if (strcmp(name, "avx512") == 0 && dc_fast_isa_supported(DC_ISA_AVX512)) {
        *fn = dc_ukr_gemm_avx512, *mr = DC_AVX512_GEMM_MR, *nr = DC_AVX512_GEMM_NR;
        return 1;
    }
    if (strcmp(name, "avx512-wide") == 0 && dc_fast_isa_supported(DC_ISA_AVX512)) {
        *fn = dc_ukr_gemm_avx512_wide, *mr = DC_AVX512_WIDE_MR, *nr = DC_AVX512_WIDE_NR;
        return 1;
    }
    if (strcmp(name, "avx512-short") == 0 && dc_fast_isa_supported(DC_ISA_AVX512)) {
        *fn = dc_ukr_gemm_avx512_short, *mr = DC_AVX512_SHORT_MR, *nr = DC_AVX512_GEMM_NR;
        return 1;
    }
#endif
#if defined(__aarch64__)
    if (strcmp(name, "neon") == 0) {
        *fn = dc_ukr_gemm_neon, *mr = DC_NEON_GEMM_MR, *nr = DC_NEON_GEMM_NR;
        return 1;
    }
#endif
    return 0;
}

int main(int argc, char **argv) {
    int64_t kc = 25, ntaps = 1, pf = 0;
    const char *isa = dc_fast_isa_name(dc_fast_isa());
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kc") == 0 && i + 1 < argc)
            kc = atol(argv[++i]);
        else if (strcmp(argv[i], "--ntaps") == 0 && i + 1 < argc)
            ntaps = atol(argv[++i]);
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
            isa = argv[++i];
        else if (strcmp(argv[i], "--pf") == 0 && i + 1 < argc)
            pf = atol(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--kc N] [--ntaps T] [--pf LINES] "
                    "[--isa portable|avx2|avx512|avx512-wide|avx512-short|neon]\n",
                    argv[0]);
            return 2;
        }
    }
    dc_ukr_fn fn;
    int mr, nr;
    if (kc < 1 || kc > 4096 || ntaps < 1 || ntaps > 64 || pf < 0 || pf > 4096 ||
        !pick(isa, &fn, &mr, &nr)) {
        fprintf(stderr, "kc 1..4096, ntaps 1..64, pf 0..4096 and a level this CPU has, please\n");
        return 2;
    }
    /* Distinct rows per tap, so the loads are those of a real tile. */
    float *a = malloc((size_t)(ntaps * mr * kc) * sizeof(float));
    /* B 64-byte aligned, as the library's packed weights are (a B vector split over two cache
     * lines costs the wide kernels several percent) */
    float *b_mem = malloc((size_t)(ntaps * kc * nr) * sizeof(float) + 64);
    float *b = b_mem ? (float *)(((uintptr_t)b_mem + 63) & ~(uintptr_t)63) : NULL;
    float *c = malloc((size_t)(mr * nr) * sizeof(float));
    const float **ap = malloc((size_t)(ntaps * mr) * sizeof(float *));
    float **cp = malloc((size_t)mr * sizeof(float *));
    int32_t *tap = malloc((size_t)ntaps * sizeof(int32_t));
    const size_t pf_bytes = (size_t)2 << 20;
    char *pf_mem = calloc(pf_bytes, 1);
    if (!a || !b || !c || !ap || !cp || !tap || !pf_mem) return 1;
    for (int64_t i = 0; i < ntaps * mr * kc; i++) a[i] = (float)(i % 7) * 0.125f;
    for (int64_t i = 0; i < ntaps * kc * nr; i++) b[i] = (float)(i % 5) * 0.25f;
    for (int64_t t = 0; t < ntaps; t++) {
        tap[t] = (int32_t)t;
        for (int r = 0; r < mr; r++) ap[t * mr + r] = a + (t * mr + r) * kc;
    }
    for (int r = 0; r < mr; r++) cp[r] = c + r * nr;
    dc_ukr_args u;
    memset(&u, 0, sizeof u);
    u.a = ap;
    u.tap = tap;
    u.b = b;
    u.btaps = ntaps;
    u.c = cp;
    u.kc = kc;
    u.ntaps = (int32_t)ntaps;
    u.mr = mr;
    u.nr = nr;
    u.first = 1;
    const long reps = 1 + (long)(2e7 / (double)(kc * ntaps));
    double best = 1e30;
    for (int round = 0; round < 7; round++) {
        const double t0 = now();
        size_t pf_at = 0;
        for (long i = 0; i < reps; i++) {
            if (pf > 0) {
                if (pf_at + (size_t)pf * 64 > pf_bytes) pf_at = 0;
                u.pf = pf_mem + pf_at;
                u.pf_lines = pf;
                pf_at += (size_t)pf * 64;
            }
            fn(&u);
            __asm__ volatile("" ::: "memory"); /* every call stores C; keep them all */
        }
        const double t = now() - t0;
        if (t < best) best = t;
    }
    const double flops = 2.0 * mr * nr * (double)(kc * ntaps) * (double)reps;
    printf("%s %dx%d kernel, %lld taps x %lld channels, %lld lines of prefetch hint: %.1f "
           "GFLOP/s, %.1f ns per call (best of 7 rounds of %ld calls)\n",
           isa, mr, nr, (long long)ntaps, (long long)kc, (long long)pf, flops / best * 1e-9,
           best / reps * 1e9, reps);
    printf("checksum %g\n", (double)c[0] + (double)c[mr * nr - 1]);
    free(a), free(b_mem), free(c), free(ap), free(cp), free(tap), free(pf_mem);
    return 0;
}
