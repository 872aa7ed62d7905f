/* context.c - execution contexts: a persistent pool of worker threads and a cached workspace.
 *
 * Work is split statically into T balanced contiguous chunks (chunk_start). Kernels compute
 * each output element in one chunk only, in a fixed order, so results do not depend on T.
 * One op runs on a context at a time (op_lock); that keeps the pool and the cached workspace
 * simple and makes a context safe to share between threads.
 *
 * Waking a sleeping thread costs tens of microseconds, as much as a whole small layer, so a
 * worker that finished spins briefly (about SPIN_NS) watching for the next op before it
 * sleeps, and the caller spins briefly for the workers before it sleeps: layers run back to
 * back then never wait for the scheduler. The spins only read (atomically) what the mutex
 * protects; every decision is still taken under the mutex. */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct deconv_context {
    int32_t num_threads;
    pthread_mutex_t op_lock; /* held for the duration of one op */

    /* The pool: workers 1..T-1 wait for a new generation, run their chunk, report done. */
    pthread_t *workers;
    int32_t started; /* workers actually running */
    pthread_mutex_t m;
    pthread_cond_t wake, done;
    uint64_t generation;
    int32_t pending;
    int stop;
    dc_range_fn fn;
    void *arg;
    int64_t units;

    /* Workspace: caller-owned if set, else our own cached allocation. */
    void *user_ws;
    size_t user_ws_size;
    void *own_ws;
    size_t own_ws_size;
};

/* How long a thread polls before it sleeps on the condition variable. */
#define SPIN_NS 50000

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Polls until *word != value (spin_ne) or == 0 (spin_zero), for at most SPIN_NS. */
static void spin_ne(const uint64_t *word, uint64_t value, const int *stop) {
    const int64_t t0 = now_ns();
    for (int i = 0;; i++) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value ||
            __atomic_load_n(stop, __ATOMIC_ACQUIRE))
            return;
        CPU_RELAX();
        if ((i & 63) == 63 && now_ns() - t0 > SPIN_NS) return;
    }
}

static void spin_zero(const int32_t *word) {
    const int64_t t0 = now_ns();
    for (int i = 0;; i++) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0) return;
        CPU_RELAX();
        if ((i & 63) == 63 && now_ns() - t0 > SPIN_NS) return;
    }
}

typedef struct worker_arg {
    deconv_context *ctx;
    int32_t index;
} worker_arg;

/* Start of chunk t of T: the first (units % T) chunks get one extra unit. No overflow. */
static int64_t chunk_start(int64_t units, int32_t t, int32_t T) {
    const int64_t q = units / T, r = units % T;
    return q * t + (t < r ? t : r);
}

static void *worker_main(void *p) {
    worker_arg wa = *(worker_arg *)p;
    free(p);
    deconv_context *ctx = wa.ctx;
    uint64_t seen = 0;
    pthread_mutex_lock(&ctx->m);
    for (;;) {
        if (!ctx->stop && ctx->generation == seen) {
            pthread_mutex_unlock(&ctx->m);
            spin_ne(&ctx->generation, seen, &ctx->stop);
            pthread_mutex_lock(&ctx->m);
        }
        while (!ctx->stop && ctx->generation == seen) pthread_cond_wait(&ctx->wake, &ctx->m);
        if (ctx->stop) break;
        seen = ctx->generation;
        dc_range_fn fn = ctx->fn;
        void *arg = ctx->arg;
        const int64_t units = ctx->units;
        pthread_mutex_unlock(&ctx->m);
        const int64_t b = chunk_start(units, wa.index, ctx->num_threads);
        const int64_t e = chunk_start(units, wa.index + 1, ctx->num_threads);
        if (b < e) fn(arg, b, e, wa.index);
        pthread_mutex_lock(&ctx->m);
        if (__atomic_sub_fetch(&ctx->pending, 1, __ATOMIC_RELEASE) == 0)
            pthread_cond_signal(&ctx->done);
    }
    pthread_mutex_unlock(&ctx->m);
    return NULL;
}

static void stop_workers(deconv_context *ctx) {
    pthread_mutex_lock(&ctx->m);
    __atomic_store_n(&ctx->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&ctx->wake);
    pthread_mutex_unlock(&ctx->m);
    for (int32_t i = 0; i < ctx->started; i++) pthread_join(ctx->workers[i], NULL);
    ctx->started = 0;
}

deconv_status deconv_context_create(int32_t num_threads, deconv_context **out,
                                    deconv_error *error) {
    if (!out) return dc_fail(error, DECONV_ERR_NULL_POINTER, "out is NULL");
    if (num_threads < 0 || num_threads > 1024)
        return dc_fail(error, DECONV_ERR_INVALID_ARGUMENT,
                       "num_threads = %d must be in 0..1024 (0 = one per CPU)", (int)num_threads);
    if (num_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        num_threads = n < 1 ? 1 : n > 1024 ? 1024 : (int32_t)n;
    }
    deconv_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return dc_fail(error, DECONV_ERR_NO_MEMORY, "cannot allocate a context");
    ctx->num_threads = num_threads;
    if (pthread_mutex_init(&ctx->op_lock, NULL) != 0) goto fail_ctx;
    if (pthread_mutex_init(&ctx->m, NULL) != 0) goto fail_op_lock;
    if (pthread_cond_init(&ctx->wake, NULL) != 0) goto fail_m;
    if (pthread_cond_init(&ctx->done, NULL) != 0) goto fail_wake;
    if (num_threads > 1) {
        ctx->workers = calloc((size_t)num_threads - 1, sizeof *ctx->workers);
        if (!ctx->workers) goto fail_done;
        for (int32_t i = 1; i < num_threads; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (!wa) goto fail_threads;
            wa->ctx = ctx;
            wa->index = i;
            if (pthread_create(&ctx->workers[i - 1], NULL, worker_main, wa) != 0) {
                free(wa);
                goto fail_threads;
            }
            ctx->started++;
        }
    }
    *out = ctx;
    return dc_ok(error);

fail_threads:
    stop_workers(ctx);
    free(ctx->workers);
    pthread_cond_destroy(&ctx->done);
    pthread_cond_destroy(&ctx->wake);
    pthread_mutex_destroy(&ctx->m);
    pthread_mutex_destroy(&ctx->op_lock);
    free(ctx);
    return dc_fail(error, DECONV_ERR_SYSTEM, "cannot start %d worker threads", (int)num_threads - 1);
fail_done:
    pthread_cond_destroy(&ctx->done);
fail_wake:
    pthread_cond_destroy(&ctx->wake);
fail_m:
    pthread_mutex_destroy(&ctx->m);
fail_op_lock:
    pthread_mutex_destroy(&ctx->op_lock);
fail_ctx:
    free(ctx);
    return dc_fail(error, DECONV_ERR_SYSTEM, "cannot initialise a context");
}

void deconv_context_destroy(deconv_context *ctx) {
    if (!ctx) return;
    stop_workers(ctx);
    free(ctx->workers);
    free(ctx->own_ws);
    pthread_cond_destroy(&ctx->done);
    pthread_cond_destroy(&ctx->wake);
    pthread_mutex_destroy(&ctx->m);
    pthread_mutex_destroy(&ctx->op_lock);
    free(ctx);
}

int32_t deconv_context_num_threads(const deconv_context *ctx) {
    return ctx ? ctx->num_threads : 1;
}

deconv_status deconv_context_set_workspace(deconv_context *ctx, void *workspace, size_t size,
                                           deconv_error *error) {
    if (!ctx) return dc_fail(error, DECONV_ERR_NULL_POINTER, "ctx is NULL");
    if (!workspace && size > 0)
        return dc_fail(error, DECONV_ERR_NULL_POINTER, "workspace is NULL but size is %zu", size);
    pthread_mutex_lock(&ctx->op_lock);
    ctx->user_ws = workspace;
    ctx->user_ws_size = workspace ? size : 0;
    pthread_mutex_unlock(&ctx->op_lock);
    return dc_ok(error);
}

deconv_status dc_parallel_for(deconv_context *ctx, int64_t units, dc_range_fn fn, void *arg,
                              deconv_error *err) {
    if (units <= 0) return dc_ok(err);
    /* One unit would go to thread 0 anyway: do not wake the pool for it. */
    if (!ctx || ctx->num_threads <= 1 || units == 1 || ctx->started < ctx->num_threads - 1) {
        fn(arg, 0, units, 0);
        return dc_ok(err);
    }
    const int32_t T = ctx->num_threads;
    pthread_mutex_lock(&ctx->m);
    ctx->fn = fn;
    ctx->arg = arg;
    ctx->units = units;
    __atomic_store_n(&ctx->pending, T - 1, __ATOMIC_RELAXED);
    __atomic_store_n(&ctx->generation, ctx->generation + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&ctx->wake);
    pthread_mutex_unlock(&ctx->m);

    const int64_t e = chunk_start(units, 1, T);
    if (e > 0) fn(arg, 0, e, 0);

    spin_zero(&ctx->pending);
    pthread_mutex_lock(&ctx->m);
    while (ctx->pending > 0) pthread_cond_wait(&ctx->done, &ctx->m);
    pthread_mutex_unlock(&ctx->m);
    return dc_ok(err);
}

/* The workspace for an op that holds the lock (see dc_context_reserve). */
static deconv_status reserve(deconv_context *ctx, size_t bytes, void **workspace, void **to_free,
                             deconv_error *err) {
    if (bytes == 0) return DECONV_OK;
    if (!ctx) {
        void *p = malloc(bytes);
        if (!p) return dc_fail(err, DECONV_ERR_NO_MEMORY, "cannot allocate %zu bytes of workspace", bytes);
        *workspace = *to_free = p;
        return DECONV_OK;
    }
    if (ctx->user_ws) {
        if (ctx->user_ws_size < bytes)
            return dc_fail(err, DECONV_ERR_WORKSPACE_TOO_SMALL,
                           "workspace holds %zu bytes, this op needs %zu", ctx->user_ws_size, bytes);
        *workspace = ctx->user_ws;
        return DECONV_OK;
    }
    if (ctx->own_ws_size < bytes) {
        void *p = malloc(bytes);
        if (!p) return dc_fail(err, DECONV_ERR_NO_MEMORY, "cannot allocate %zu bytes of workspace", bytes);
        free(ctx->own_ws);
        ctx->own_ws = p;
        ctx->own_ws_size = bytes;
    }
    *workspace = ctx->own_ws;
    return DECONV_OK;
}

deconv_status dc_context_begin(deconv_context *ctx, size_t bytes, void **workspace,
                               void **to_free, deconv_error *err) {
    *workspace = NULL;
    *to_free = NULL;
    if (ctx) pthread_mutex_lock(&ctx->op_lock);
    const deconv_status st = reserve(ctx, bytes, workspace, to_free, err);
    if (st && ctx) pthread_mutex_unlock(&ctx->op_lock);
    return st;
}

deconv_status dc_context_reserve(deconv_context *ctx, size_t bytes, void **workspace,
                                 void **to_free, deconv_error *err) {
    return reserve(ctx, bytes, workspace, to_free, err);
}

void dc_context_end(deconv_context *ctx, void *to_free) {
    free(to_free);
    if (ctx) pthread_mutex_unlock(&ctx->op_lock);
}
