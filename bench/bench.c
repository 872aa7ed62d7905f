/* bench.c - libdeconv's benchmark over the suite of /work/shared/reference/benchmark-suite.md
 * (conv and transposed conv layers) plus a pooling layer (max_pool_with_argmax and max_unpool,
 * N=8 112x112x64 k3 s2 SAME). Measures the machine's FMA peak in the same run.
 *
 *   bench [--threads N] [--filter NAME] [--json] [--min-time SECONDS] [--cpu-time]
 *         [--path stateless|prepared|both] [--no-peak] [--fastest] [--isa NAME]
 *         [--layout nhwc|nchw]
 *
 * Per layer: median milliseconds, useful GFLOP/s (only multiply-adds whose product lands inside
 * the output of a transposed conv, or reads inside the input of a conv), % of the measured peak
 * for that many threads, threads, workspace bytes. Pool layers report GB/s and % of the
 * bandwidth of a memcpy of the same bytes instead, the op and the memcpy timed call for call
 * alternately (so neither runs on a cache the other left warm). Conv layers are timed twice:
 * the stateless call (deconv_conv / deconv_conv_transpose, which repacks the weights every
 * call) and a prepared conv (deconv_prepared_conv_*: weights packed once at creation, not
 * timed), call for call alternately so that both see the same machine. */
#define _POSIX_C_SOURCE 200809L
#include "deconv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Internal to the library (fast/fast.h), reachable because the bench links libdeconv.a:
 * --isa forces a lower kernel level to measure what each level brings. */
int dc_fast_force_isa(int isa);
const char *dc_fast_isa_name(int isa);

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* Buffers are 64-byte aligned, as the peers' own allocators (oneDNN memory objects, ONNX
 * Runtime's arena) give theirs: with malloc's 16-byte alignment every 64-byte vector access
 * to a row would straddle two cache lines. */
static void *alloc64(size_t bytes) {
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

typedef struct layer {
    const char *kind; /* "conv_transpose", "conv", "pool" */
    const char *name;
    int64_t n, d, h, w, cin, cout, k, s;
    int rank; /* spatial rank */
    deconv_padding pad;
} layer;

static const layer SUITE[] = {
    {"conv_transpose", "dcgan1", 8, 1, 4, 4, 1024, 512, 5, 2, 2, DECONV_PADDING_SAME},
    {"conv_transpose", "dcgan2", 8, 1, 8, 8, 512, 256, 5, 2, 2, DECONV_PADDING_SAME},
    {"conv_transpose", "dcgan3", 8, 1, 16, 16, 256, 128, 5, 2, 2, DECONV_PADDING_SAME},
    {"conv_transpose", "dcgan4", 8, 1, 32, 32, 128, 3, 5, 2, 2, DECONV_PADDING_SAME},
    {"conv_transpose", "unet_up", 1, 1, 32, 32, 512, 256, 2, 2, 2, DECONV_PADDING_VALID},
    {"conv_transpose", "fcn_k4", 1, 1, 28, 28, 256, 128, 4, 2, 2, DECONV_PADDING_SAME},
    {"conv_transpose", "seed_small", 1, 1, 3, 3, 4, 2, 3, 2, 2, DECONV_PADDING_SAME},
    {"conv_transpose", "mnist_k3s2", 32, 1, 14, 14, 32, 1, 3, 2, 2, DECONV_PADDING_SAME},
    {"conv_transpose", "vol3d", 10, 1, 4, 4, 512, 512, 3, 2, 3, DECONV_PADDING_SAME},
    {"conv", "vgg3x3", 1, 1, 56, 56, 128, 128, 3, 1, 2, DECONV_PADDING_SAME},
    {"conv", "down_s2", 8, 1, 32, 32, 64, 128, 3, 2, 2, DECONV_PADDING_SAME},
    {"conv", "lenet_c1", 64, 1, 28, 28, 1, 32, 5, 1, 2, DECONV_PADDING_SAME},
    {"conv", "lenet_c2", 64, 1, 14, 14, 32, 64, 5, 1, 2, DECONV_PADDING_SAME},
    {"pool", "maxpool_argmax", 8, 1, 112, 112, 64, 64, 3, 2, 2, DECONV_PADDING_SAME},
    {"pool", "max_unpool", 8, 1, 112, 112, 64, 64, 3, 2, 2, DECONV_PADDING_SAME},
};

/* --cpu-time: time ops by the calling thread's CPU time instead of the wall clock (for 1
 * thread on a busy machine: time spent descheduled is not counted). */
static int g_cpu_time;
/* --fastest: report the fastest call instead of the median (A/B comparisons of our own code on
 * a noisy machine; never used for the tables). */
static int g_fastest;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double op_clock(void) {
    struct timespec ts;
    clock_gettime(g_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- FMA peak: independent FMA chains, one per thread, all threads at once ---------------- */

#define PEAK_ITERS 20000000L
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static float peak_avx2(long iters) {
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
        a[0] = _mm256_fmadd_ps(a[0], m, c);
        a[1] = _mm256_fmadd_ps(a[1], m, c);
        a[2] = _mm256_fmadd_ps(a[2], m, c);
        a[3] = _mm256_fmadd_ps(a[3], m, c);
        a[4] = _mm256_fmadd_ps(a[4], m, c);
        a[5] = _mm256_fmadd_ps(a[5], m, c);
        a[6] = _mm256_fmadd_ps(a[6], m, c);
        a[7] = _mm256_fmadd_ps(a[7], m, c);
        a[8] = _mm256_fmadd_ps(a[8], m, c);
        a[9] = _mm256_fmadd_ps(a[9], m, c);
        a[10] = _mm256_fmadd_ps(a[10], m, c);
        a[11] = _mm256_fmadd_ps(a[11], m, c);
    }
    __m256 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

/* AVX-512: on CPUs with two 512-bit FMA units its peak is twice AVX2's (on AMD Zen 4, which
 * splits each 512-bit FMA in two, it is the same); the kernels use it, so the peak does too. */
__attribute__((target("avx512f"))) static float peak_avx512(long iters) {
    __m512 a[16];
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 16; i++) a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
        a[0] = _mm512_fmadd_ps(a[0], m, c);
        a[1] = _mm512_fmadd_ps(a[1], m, c);
        a[2] = _mm512_fmadd_ps(a[2], m, c);
        a[3] = _mm512_fmadd_ps(a[3], m, c);
        a[4] = _mm512_fmadd_ps(a[4], m, c);
        a[5] = _mm512_fmadd_ps(a[5], m, c);
        a[6] = _mm512_fmadd_ps(a[6], m, c);
        a[7] = _mm512_fmadd_ps(a[7], m, c);
        a[8] = _mm512_fmadd_ps(a[8], m, c);
        a[9] = _mm512_fmadd_ps(a[9], m, c);
        a[10] = _mm512_fmadd_ps(a[10], m, c);
        a[11] = _mm512_fmadd_ps(a[11], m, c);
        a[12] = _mm512_fmadd_ps(a[12], m, c);
        a[13] = _mm512_fmadd_ps(a[13], m, c);
        a[14] = _mm512_fmadd_ps(a[14], m, c);
        a[15] = _mm512_fmadd_ps(a[15], m, c);
    }
    __m512 s = a[0];
    for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, a[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

static int have_avx512(void) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}
#endif

static float peak_scalar(long iters) {
    float a[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 8; i++) a[i] = a[i] * 0.999999f + 1e-7f;
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

static int have_avx2(void) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

typedef struct peak_job {
    double seconds, flops;
    volatile float sink;
} peak_job;

static void *peak_thread(void *arg) {
    peak_job *j = arg;
    const double t0 = now();
#if defined(__x86_64__) || defined(__i386__)
    if (have_avx512()) {
        j->sink = peak_avx512(PEAK_ITERS);
        j->flops = (double)PEAK_ITERS * 16 * 16 * 2;
    } else if (have_avx2()) {
        j->sink = peak_avx2(PEAK_ITERS);
        j->flops = (double)PEAK_ITERS * 12 * 8 * 2;
    } else
#endif
    {
        j->sink = peak_scalar(PEAK_ITERS / 8);
        j->flops = (double)(PEAK_ITERS / 8) * 8 * 2;
    }
    j->seconds = now() - t0;
    return NULL;
}

/* GFLOP/s of `threads` threads running the FMA loop at once (best of 5, after a warm-up run
 * that lets the cores reach their clock). */
static double measure_peak(int threads) {
    double best = 0;
    for (int rep = 0; rep < 6; rep++) {
        pthread_t tid[64];
        peak_job jobs[64];
        int started = 0;
        for (int t = 1; t < threads && t < 64; t++)
            if (pthread_create(&tid[t], NULL, peak_thread, &jobs[t]) == 0) started = t;
        peak_thread(&jobs[0]);
        double total = jobs[0].flops / jobs[0].seconds;
        for (int t = 1; t <= started; t++) {
            pthread_join(tid[t], NULL);
            total += jobs[t].flops / jobs[t].seconds;
        }
        if (rep > 0 && total > best) best = total;
    }
    return best * 1e-9;
}

/* ---- useful work ------------------------------------------------------------------------ */

/* Pairs (output o, kernel a) of one dim whose input lies inside: conv reads x[o*s + a - pb],
 * a transposed conv writes y[i*s + a - pb] for its input i. */
static int64_t useful_pairs(int64_t n_outer, int64_t limit, int64_t k, int64_t s, int64_t pb) {
    int64_t c = 0;
    for (int64_t o = 0; o < n_outer; o++)
        for (int64_t a = 0; a < k; a++) {
            const int64_t i = o * s + a - pb;
            c += i >= 0 && i < limit;
        }
    return c;
}

/* ---- running a layer --------------------------------------------------------------------- */

typedef struct bench_state {
    const layer *L;
    deconv_conv_params cp;
    deconv_pool_params pp;
    deconv_shape x, w, y;
    float *xd, *wd, *yd, *pooled;
    int64_t *argmax;
    int64_t xn, wn, yn, pn;
    double useful_flops, bytes;
    size_t workspace, prepared_workspace;
    deconv_prepared_conv *prepared; /* the same layer with its weights packed once */
} bench_state;

static void fill(float *p, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)((double)(seed >> 40) / (double)(1ull << 24)) - 0.5f;
    }
}

/* --layout nchw: the same layers channels-first (the library runs them between transposes
 * on the channels-last kernels, relayout.c). */
static deconv_layout g_layout = DECONV_CHANNELS_LAST;

static const char *layout_name(void) {
    return g_layout == DECONV_CHANNELS_FIRST ? "nchw" : "nhwc";
}

/* A tensor's shape in g_layout: [n, (d,) h, w, c] or [n, c, (d,) h, w]. */
static void shape_nsc(deconv_shape *sh, int rank, int64_t n, int64_t d, int64_t h, int64_t w,
                      int64_t c) {
    memset(sh, 0, sizeof *sh);
    sh->rank = rank + 2;
    sh->dims[0] = n;
    const int first = g_layout == DECONV_CHANNELS_FIRST, sp = first ? 2 : 1;
    if (rank == 3) sh->dims[sp] = d;
    sh->dims[sp + rank - 2] = h;
    sh->dims[sp + rank - 1] = w;
    sh->dims[first ? 1 : rank + 1] = c;
}

static int setup(bench_state *b, const layer *L, deconv_context *ctx) {
    deconv_error err;
    memset(b, 0, sizeof *b);
    b->L = L;
    if (strcmp(L->kind, "pool") == 0) {
        deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
        pp.layout = g_layout;
        pp.padding = L->pad;
        pp.ksize[0] = pp.ksize[1] = L->k;
        pp.strides[0] = pp.strides[1] = L->s;
        b->pp = pp;
        shape_nsc(&b->x, 2, L->n, 1, L->h, L->w, L->cin);
        if (deconv_pool_output_shape(&pp, &b->x, &b->y, NULL, &err) != DECONV_OK) {
            fprintf(stderr, "%s: %s\n", L->name, err.message);
            return 0;
        }
        b->xn = L->n * L->h * L->w * L->cin;
        b->pn = b->y.dims[0] * b->y.dims[1] * b->y.dims[2] * b->y.dims[3];
        b->xd = alloc64((size_t)b->xn * sizeof(float));
        b->yd = alloc64((size_t)b->xn * sizeof(float));
        b->pooled = alloc64((size_t)b->pn * sizeof(float));
        b->argmax = alloc64((size_t)b->pn * sizeof(int64_t));
        fill(b->xd, b->xn, 1);
        if (deconv_max_pool_with_argmax(NULL, &pp, &b->x, b->xd, b->xn, b->pooled, b->pn,
                                        b->argmax, b->pn, &err) != DECONV_OK) {
            fprintf(stderr, "%s: %s\n", L->name, err.message);
            return 0;
        }
        /* Bytes a pass must move: argmax reads x, writes values + indices; unpool reads values
         * + indices and writes (zeroes, then scatters into) x. */
        b->bytes = (double)b->xn * 4 + (double)b->pn * 12;
        return 1;
    }
    const int transposed = strcmp(L->kind, "conv_transpose") == 0;
    deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
    cp.spatial_rank = L->rank;
    cp.layout = g_layout;
    cp.padding = L->pad;
    for (int i = 0; i < 3; i++) cp.strides[i] = L->s;
    b->cp = cp;
    shape_nsc(&b->x, L->rank, L->n, L->d, L->h, L->w, L->cin);
    memset(&b->w, 0, sizeof b->w);
    b->w.rank = L->rank + 2;
    for (int i = 0; i < L->rank; i++) b->w.dims[i] = L->k;
    b->w.dims[L->rank] = transposed ? L->cout : L->cin;
    b->w.dims[L->rank + 1] = transposed ? L->cin : L->cout;
    int64_t pads[6] = {0};
    if (transposed) {
        /* Output size: the suite's (SAME: in * s except vol3d's depth 1 -> 2 and 4 -> 7;
         * VALID: (in - 1) * s + k). Taken from the suite table. */
        int64_t od = L->d * L->s, oh = L->h * L->s, ow = L->w * L->s;
        if (L->pad == DECONV_PADDING_VALID) {
            oh = (L->h - 1) * L->s + L->k;
            ow = (L->w - 1) * L->s + L->k;
        }
        if (strcmp(L->name, "vol3d") == 0) od = 2, oh = ow = 7;
        shape_nsc(&b->y, L->rank, L->n, od, oh, ow, L->cout);
        if (deconv_conv_transpose_pads(&cp, &b->x, &b->w, &b->y, pads, &err) != DECONV_OK ||
            deconv_conv_transpose_workspace_size(ctx, &cp, &b->x, &b->w, &b->y, &b->workspace,
                                                 &err) != DECONV_OK) {
            fprintf(stderr, "%s: %s\n", L->name, err.message);
            return 0;
        }
    } else {
        if (deconv_conv_output_shape(&cp, &b->x, &b->w, &b->y, pads, &err) != DECONV_OK ||
            deconv_conv_workspace_size(ctx, &cp, &b->x, &b->w, &b->workspace, &err) !=
                DECONV_OK) {
            fprintf(stderr, "%s: %s\n", L->name, err.message);
            return 0;
        }
    }
    b->xn = b->wn = b->yn = 1;
    for (int i = 0; i < L->rank + 2; i++) {
        b->xn *= b->x.dims[i];
        b->wn *= b->w.dims[i];
        b->yn *= b->y.dims[i];
    }
    b->xd = alloc64((size_t)b->xn * sizeof(float));
    b->wd = alloc64((size_t)b->wn * sizeof(float));
    b->yd = alloc64((size_t)b->yn * sizeof(float));
    fill(b->xd, b->xn, 1);
    fill(b->wd, b->wn, 2);
    /* Useful multiply-adds: per dim the (position, tap) pairs that land inside, times
     * batch x channels. Spatial dims are the last `rank` of [d, h, w]. */
    const int64_t in_sp[3] = {L->d, L->h, L->w};
    double macs = (double)L->n * (double)L->cin * (double)L->cout;
    for (int i = 0; i < L->rank; i++) {
        const int j = 3 - L->rank + i;
        const int64_t out = b->y.dims[(g_layout == DECONV_CHANNELS_FIRST ? 2 : 1) + i];
        macs *= transposed ? (double)useful_pairs(in_sp[j], out, L->k, L->s, pads[2 * i])
                           : (double)useful_pairs(out, in_sp[j], L->k, L->s, pads[2 * i]);
    }
    b->useful_flops = 2 * macs;
    const deconv_status pst =
        transposed ? deconv_prepared_conv_transpose_create(&cp, &b->x, &b->w, b->wd, b->wn, &b->y,
                                                           &b->prepared, &err)
                   : deconv_prepared_conv_create(&cp, &b->x, &b->w, b->wd, b->wn, &b->prepared,
                                                 &err);
    if (pst != DECONV_OK ||
        deconv_prepared_conv_workspace_size(ctx, b->prepared, &b->prepared_workspace, &err) !=
            DECONV_OK) {
        fprintf(stderr, "%s (prepared): %s\n", L->name, err.message);
        return 0;
    }
    return 1;
}

static deconv_status run_once(bench_state *b, deconv_context *ctx, int which, deconv_error *e) {
    const layer *L = b->L;
    if (strcmp(L->kind, "pool") == 0) {
        if (strcmp(L->name, "maxpool_argmax") == 0)
            return deconv_max_pool_with_argmax(ctx, &b->pp, &b->x, b->xd, b->xn, b->pooled, b->pn,
                                               b->argmax, b->pn, e);
        return deconv_max_unpool(ctx, &b->pp, &b->y, b->pooled, b->pn, b->argmax, b->pn, &b->x,
                                 b->yd, b->xn, e);
    }
    if (which == 1)
        return deconv_prepared_conv_run(ctx, b->prepared, b->xd, b->xn, NULL, 0, b->yd, b->yn, e);
    if (strcmp(L->kind, "conv") == 0)
        return deconv_conv(ctx, &b->cp, &b->x, b->xd, b->xn, &b->w, b->wd, b->wn, NULL, 0, b->yd,
                           b->yn, e);
    return deconv_conv_transpose(ctx, &b->cp, &b->x, b->xd, b->xn, &b->w, b->wd, b->wn, NULL, 0,
                                 &b->y, b->yd, b->yn, e);
}

static void teardown(bench_state *b) {
    free(b->xd);
    free(b->wd);
    free(b->yd);
    free(b->pooled);
    free(b->argmax);
    deconv_prepared_conv_destroy(b->prepared);
}

/* Median seconds of repeated calls: at least 5 runs and min_time seconds, at most 2000 runs. */
static double time_median(double (*fn)(void *), void *arg, double min_time) {
    static double t[2000];
    int n = 0;
    fn(arg); /* warm-up: workspace, caches, pages */
    const double start = now();
    while (n < 2000 && (n < 5 || now() - start < min_time)) t[n++] = fn(arg);
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    if (g_fastest) return t[0];
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Two ops timed alternately (one call of each per round, for at least 2 * min_time), so a
 * machine whose speed drifts affects both alike; medians (or fastest) into *ma, *mb. */
static void time_pair(double (*fa)(void *), void *aa, double (*fb)(void *), void *ab,
                      double min_time, double *ma, double *mb) {
    static double ta[1000], tb[1000];
    int n = 0;
    fa(aa);
    fb(ab);
    const double start = now();
    while (n < 1000 && (n < 5 || now() - start < 2 * min_time)) {
        ta[n] = fa(aa);
        tb[n] = fb(ab);
        n++;
    }
    qsort(ta, (size_t)n, sizeof ta[0], cmp_double);
    qsort(tb, (size_t)n, sizeof tb[0], cmp_double);
    *ma = g_fastest ? ta[0] : n % 2 ? ta[n / 2] : 0.5 * (ta[n / 2 - 1] + ta[n / 2]);
    *mb = g_fastest ? tb[0] : n % 2 ? tb[n / 2] : 0.5 * (tb[n / 2 - 1] + tb[n / 2]);
}

typedef struct op_arg {
    bench_state *b;
    deconv_context *ctx;
    int which; /* 0: stateless call, 1: prepared weights */
    int failed;
} op_arg;

static double timed_op(void *p) {
    op_arg *o = p;
    deconv_error e;
    const double t0 = op_clock();
    deconv_status st = run_once(o->b, o->ctx, o->which, &e);
    const double t = op_clock() - t0;
    if (st != DECONV_OK && !o->failed) {
        fprintf(stderr, "%s: %s\n", o->b->L->name, e.message);
        o->failed = 1;
    }
    return t;
}

/* The memcpy reference uses as many threads as the op: each copies its slice, started
 * together, timed until the last one ends (a 1-thread copy would flatter a 2-thread op). */
typedef struct copy_arg {
    char *dst;
    const char *src;
    size_t n;
    int threads;
} copy_arg;

typedef struct copy_slice {
    char *dst;
    const char *src;
    size_t n;
} copy_slice;

static void *copy_thread(void *p) {
    copy_slice *s = p;
    memcpy(s->dst, s->src, s->n);
    return NULL;
}

static double timed_copy(void *p) {
    copy_arg *c = p;
    const int T = c->threads < 1 ? 1 : c->threads > 64 ? 64 : c->threads;
    copy_slice sl[64];
    pthread_t tid[64];
    const size_t per = (c->n / (size_t)T + 63) & ~(size_t)63;
    for (int t = 0; t < T; t++) {
        const size_t a = (size_t)t * per < c->n ? (size_t)t * per : c->n;
        const size_t e = a + per < c->n ? a + per : c->n;
        sl[t].dst = c->dst + a;
        sl[t].src = c->src + a;
        sl[t].n = e - a;
    }
    const double t0 = now();
    int started = 0;
    for (int t = 1; t < T; t++)
        if (pthread_create(&tid[t], NULL, copy_thread, &sl[t]) == 0) started = t;
        else break;
    copy_thread(&sl[0]);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    for (int t = started + 1; t < T; t++) copy_thread(&sl[t]); /* threads that did not start */
    return now() - t0;
}

int main(int argc, char **argv) {
    int threads = 1, json = 0, no_peak = 0;
    const char *path = "both"; /* --path stateless|prepared|both: which conv paths to time */
    const char *filter = NULL;
    double min_time = 0.5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "--min-time") == 0 && i + 1 < argc)
            min_time = atof(argv[++i]);
        else if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--fastest") == 0)
            g_fastest = 1;
        else if (strcmp(argv[i], "--no-peak") == 0)
            no_peak = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--cpu-time") == 0)
            g_cpu_time = 1;
        else if (strcmp(argv[i], "--layout") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "nhwc") == 0 || strcmp(argv[i + 1], "nchw") == 0))
            g_layout = strcmp(argv[++i], "nchw") == 0 ? DECONV_CHANNELS_FIRST
                                                       : DECONV_CHANNELS_LAST;
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            const char *want = argv[++i];
            int found = 0;
            for (int isa = 0; isa < 8 && !found; isa++)
                if (strcmp(dc_fast_isa_name(isa), want) == 0) found = dc_fast_force_isa(isa);
            if (!found) {
                fprintf(stderr, "--isa %s: unknown or not supported by this CPU\n", want);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: %s [--threads N] [--filter NAME] [--json] [--min-time S] [--cpu-time]\n"
                    "       [--path stateless|prepared|both] [--no-peak] [--fastest] [--isa NAME]\n"
                    "       [--layout nhwc|nchw]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "--threads must be 1..64\n");
        return 2;
    }
    deconv_context *ctx = NULL;
    deconv_error err;
    if (deconv_context_create(threads, &ctx, &err) != DECONV_OK) {
        fprintf(stderr, "context: %s\n", err.message);
        return 1;
    }
    /* --no-peak skips the FMA loop (for cycle counts of the ops alone, e.g. under perf stat);
     * % of peak is then meaningless and printed against 1 GFLOP/s. */
    const double peak = no_peak ? 1.0 : measure_peak(threads);
    const int do_stateless = strcmp(path, "prepared") != 0, do_prepared = strcmp(path, "stateless") != 0;
    if (json)
        printf("{\"name\": \"fma_peak\", \"threads\": %d, \"gflops\": %.2f}\n", threads, peak);
    else {
        printf("libdeconv %s benchmark, %d thread(s); measured FMA peak %.1f GFLOP/s\n",
               deconv_version_string(), threads, peak);
        printf("%-16s %10s %10s %8s %7s %12s   %-8s %10s %8s %7s %10s\n", "layer",
               "median_ms", "GFLOP/s", "%peak", "threads", "workspace", "", "median_ms",
               "GFLOP/s", "%peak", "workspace");
    }
    int status = 0;
    for (size_t i = 0; i < sizeof SUITE / sizeof SUITE[0]; i++) {
        const layer *L = &SUITE[i];
        if (filter && !strstr(L->name, filter)) continue;
        bench_state b;
        if (!setup(&b, L, ctx)) {
            status = 1;
            teardown(&b);
            continue;
        }
        op_arg o = {&b, ctx, 0, 0};
        double med = 0, med_prep = 0;
        op_arg op = {&b, ctx, 1, 0};
        if (strcmp(L->kind, "pool") == 0) {
            /* The op and a memcpy of the same bytes, one call of each in turn: this VM's
             * memory bandwidth drifts by 2x within minutes, and timed a second apart the
             * two did not see the same machine. */
            copy_arg c;
            c.n = (size_t)b.bytes;
            c.threads = threads;
            c.dst = alloc64(c.n);
            c.src = alloc64(c.n);
            memset(c.dst, 1, c.n);
            memset((char *)c.src, 2, c.n);
            double mc = 0;
            time_pair(timed_op, &o, timed_copy, &c, min_time, &med, &mc);
            free(c.dst);
            free((char *)c.src);
            if (o.failed) status = 1;
            /* memcpy moves n bytes read + n bytes written; the op moves b.bytes in total. */
            const double gbs = b.bytes / med * 1e-9, copy_gbs = 2.0 * (double)c.n / mc * 1e-9;
            if (json)
                printf("{\"name\": \"%s\", \"kind\": \"pool\", \"layout\": \"%s\", "
                       "\"median_ms\": %.6f, \"threads\": %d, \"gbytes_per_s\": %.2f, "
                       "\"memcpy_gbytes_per_s\": %.2f, \"pct_memcpy\": %.1f, "
                       "\"workspace_bytes\": 0}\n",
                       L->name, layout_name(), med * 1e3, threads, gbs, copy_gbs,
                       100 * gbs / copy_gbs);
            else
                printf("%-16s %10.4f %7.1f GB/s (%5.1f%% of memcpy %.1f GB/s) %3d\n", L->name,
                       med * 1e3, gbs, 100 * gbs / copy_gbs, copy_gbs, threads);
        } else {
            if (b.prepared && do_stateless && do_prepared)
                time_pair(timed_op, &o, timed_op, &op, min_time, &med, &med_prep);
            else if (b.prepared && do_prepared)
                med_prep = time_median(timed_op, &op, min_time);
            else
                med = time_median(timed_op, &o, min_time);
            if (o.failed || op.failed) status = 1;
            /* A path not timed (--path) reports 0 ms and 0 GFLOP/s. */
            const double gf = med > 0 ? b.useful_flops / med * 1e-9 : 0;
            const double gfp = med_prep > 0 ? b.useful_flops / med_prep * 1e-9 : 0;
            if (json)
                printf("{\"name\": \"%s\", \"kind\": \"%s\", \"layout\": \"%s\", "
                       "\"median_ms\": %.6f, \"threads\": %d, "
                       "\"useful_gflop\": %.6f, \"gflops\": %.2f, \"pct_peak\": %.1f, "
                       "\"workspace_bytes\": %zu, \"prepared_median_ms\": %.6f, "
                       "\"prepared_gflops\": %.2f, \"prepared_workspace_bytes\": %zu}\n",
                       L->name, L->kind, layout_name(), med * 1e3, threads,
                       b.useful_flops * 1e-9, gf,
                       100 * gf / peak, b.workspace, med_prep * 1e3, gfp, b.prepared_workspace);
            else
                printf("%-16s %10.4f %10.1f %7.1f%% %7d %12zu   prepared %10.4f %8.1f %6.1f%% %10zu\n",
                       L->name, med * 1e3, gf, 100 * gf / peak, threads, b.workspace,
                       med_prep * 1e3, gfp, 100 * gfp / peak, b.prepared_workspace);
        }
        fflush(stdout);
        teardown(&b);
    }
    deconv_context_destroy(ctx);
    return status;
}
