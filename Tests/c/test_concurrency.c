/* test_concurrency.c - many threads calling every op at once on shared read-only inputs and
 * weights, each into its own outputs: with NULL contexts, through one shared context, and
 * through per-thread contexts. Every result must equal the serial one bit for bit.
 * `make tsan` runs this suite under ThreadSanitizer. Worker threads never call CHECK (the
 * harness counters are not thread-safe); they record mismatches for the main thread. */
#include "harness.h"

#include <deconv.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 16
#define REPS 3

enum { C_CONV, C_CONVT, C_ARGMAX, C_AVG, C_MAXUNP, C_AVGUNP, C_CONV_CF, C_NOPS };

/* The shared, read-only problem set. */
typedef struct shared {
    deconv_conv_params cp, cp_t, cp_cf;
    deconv_pool_params pp;
    deconv_shape x_shape, w_shape, y_shape;       /* conv: x * w -> y */
    deconv_shape t_in, t_w, t_out;                /* conv_transpose */
    deconv_shape p_in, p_out;                     /* pooling */
    deconv_shape cf_in, cf_w, cf_out;             /* channels-first conv, stride 2, dilation 2 */
    float *x, *w, *b, *tw, *tb, *cfx, *cfw;
    int64_t xn, wn, yn, twn, tyn, pn, pon, cfxn, cfwn, cfyn;
    float *ref[C_NOPS];                            /* serial results */
    int64_t *ref_idx;
    int64_t ref_n[C_NOPS];
} shared;

static deconv_shape sh4(int64_t a, int64_t b, int64_t c, int64_t d) {
    deconv_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 4;
    s.dims[0] = a;
    s.dims[1] = b;
    s.dims[2] = c;
    s.dims[3] = d;
    return s;
}

static int64_t count(const deconv_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

static float *randv(int64_t n, uint64_t seed) {
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) p[i] = th_rand_float(&seed);
    return p;
}

/* Runs op `op` of the shared set into out (and idx for argmax). Returns the status. */
static deconv_status run_op(const shared *s, int op, deconv_context *ctx, float *out,
                            int64_t *idx) {
    switch (op) {
    case C_CONV:
        return deconv_conv(ctx, &s->cp, &s->x_shape, s->x, s->xn, &s->w_shape, s->w, s->wn, s->b,
                           s->y_shape.dims[3], out, s->yn, NULL);
    case C_CONVT:
        return deconv_conv_transpose(ctx, &s->cp_t, &s->t_in, s->x, s->xn, &s->t_w, s->tw,
                                     s->twn, s->tb, s->t_out.dims[3], &s->t_out, out, s->tyn,
                                     NULL);
    case C_ARGMAX:
        return deconv_max_pool_with_argmax(ctx, &s->pp, &s->p_in, s->x, s->xn, out, s->pon, idx,
                                           s->pon, NULL);
    case C_AVG: return deconv_avg_pool(ctx, &s->pp, &s->p_in, s->x, s->xn, out, s->pon, NULL);
    case C_MAXUNP: /* unpools the serial argmax result (shared, read-only) */
        return deconv_max_unpool(ctx, &s->pp, &s->p_out, s->ref[C_ARGMAX], s->pon, s->ref_idx,
                                 s->pon, &s->p_in, out, s->xn, NULL);
    case C_AVGUNP:
        return deconv_avg_unpool(ctx, &s->pp, &s->p_out, s->ref[C_AVG], s->pon, &s->p_in, out,
                                 s->xn, NULL);
    default:
        return deconv_conv(ctx, &s->cp_cf, &s->cf_in, s->cfx, s->cfxn, &s->cf_w, s->cfw, s->cfwn,
                           NULL, 0, out, s->cfyn, NULL);
    }
}

static void shared_init(shared *s) {
    const deconv_conv_params cp = DECONV_CONV_PARAMS_INIT;
    const deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    memset(s, 0, sizeof *s);
    /* conv: [2,13,11,8] * [3,3,8,16], SAME, stride 1, bias, ReLU */
    s->cp = cp;
    s->cp.padding = DECONV_PADDING_SAME;
    s->cp.activation = DECONV_ACTIVATION_RELU;
    s->x_shape = sh4(2, 13, 11, 8);
    s->w_shape = sh4(3, 3, 8, 16);
    s->y_shape = sh4(2, 13, 11, 16);
    /* conv_transpose of the same input: [2,13,11,8] -> [2,26,22,12], stride 2, SAME, k 4 */
    s->cp_t = cp;
    s->cp_t.padding = DECONV_PADDING_SAME;
    s->cp_t.strides[0] = s->cp_t.strides[1] = 2;
    s->t_in = s->x_shape;
    s->t_w = sh4(4, 4, 12, 8);
    s->t_out = sh4(2, 26, 22, 12);
    /* pooling of the same input: k 3, stride 2, SAME -> [2,7,6,8] */
    s->pp = pp;
    s->pp.padding = DECONV_PADDING_SAME;
    s->pp.ksize[0] = s->pp.ksize[1] = 3;
    s->pp.strides[0] = s->pp.strides[1] = 2;
    s->p_in = s->x_shape;
    s->p_out = sh4(2, 7, 6, 8);
    /* channels-first grouped conv: [1,6,15,14] * [3,3,3,4] (groups 2), stride 2, dilation 2 */
    s->cp_cf = cp;
    s->cp_cf.layout = DECONV_CHANNELS_FIRST;
    s->cp_cf.strides[0] = s->cp_cf.strides[1] = 2;
    s->cp_cf.dilations[0] = s->cp_cf.dilations[1] = 2;
    s->cf_in = sh4(1, 6, 15, 14);
    s->cf_w = sh4(3, 3, 3, 4);
    s->cf_out = sh4(1, 4, 6, 5);

    s->xn = count(&s->x_shape);
    s->wn = count(&s->w_shape);
    s->yn = count(&s->y_shape);
    s->twn = count(&s->t_w);
    s->tyn = count(&s->t_out);
    s->pon = count(&s->p_out);
    s->cfxn = count(&s->cf_in);
    s->cfwn = count(&s->cf_w);
    s->cfyn = count(&s->cf_out);
    s->x = randv(s->xn, 11);
    s->w = randv(s->wn, 12);
    s->b = randv(16, 13);
    s->tw = randv(s->twn, 14);
    s->tb = randv(12, 15);
    s->cfx = randv(s->cfxn, 16);
    s->cfw = randv(s->cfwn, 17);
    const int64_t n[C_NOPS] = {s->yn, s->tyn, s->pon, s->pon, s->xn, s->xn, s->cfyn};
    for (int op = 0; op < C_NOPS; op++) {
        s->ref_n[op] = n[op];
        s->ref[op] = malloc((size_t)n[op] * sizeof(float));
    }
    s->ref_idx = malloc((size_t)s->pon * sizeof *s->ref_idx);
}

static void shared_free(shared *s) {
    free(s->x);
    free(s->w);
    free(s->b);
    free(s->tw);
    free(s->tb);
    free(s->cfx);
    free(s->cfw);
    for (int op = 0; op < C_NOPS; op++) free(s->ref[op]);
    free(s->ref_idx);
}

typedef struct worker {
    const shared *s;
    deconv_context *ctx;  /* shared, own, or NULL */
    int own_ctx_threads;  /* > 0: create and destroy a private context of this size */
    int index;
    int failures;         /* status errors or mismatches */
    int first_op;         /* first op that went wrong, -1 if none */
} worker;

static void *worker_main(void *arg) {
    worker *wk = arg;
    const shared *s = wk->s;
    deconv_context *ctx = wk->ctx;
    if (wk->own_ctx_threads > 0 &&
        deconv_context_create(wk->own_ctx_threads, &ctx, NULL) != DECONV_OK) {
        wk->failures++;
        return NULL;
    }
    float *out = malloc((size_t)s->tyn * sizeof *out); /* the largest output */
    int64_t *idx = malloc((size_t)s->pon * sizeof *idx);
    for (int rep = 0; rep < REPS; rep++) {
        for (int k = 0; k < C_NOPS; k++) {
            const int op = (k + wk->index) % C_NOPS; /* threads start on different ops */
            th_poison(out, s->ref_n[op]);
            th_poison_i64(idx, s->pon);
            int bad = run_op(s, op, ctx, out, idx) != DECONV_OK ||
                      memcmp(out, s->ref[op], (size_t)s->ref_n[op] * sizeof *out) != 0;
            if (op == C_ARGMAX)
                bad |= memcmp(idx, s->ref_idx, (size_t)s->pon * sizeof *idx) != 0;
            if (bad) {
                if (wk->failures == 0) wk->first_op = op;
                wk->failures++;
            }
        }
    }
    free(out);
    free(idx);
    if (wk->own_ctx_threads > 0) deconv_context_destroy(ctx);
    return NULL;
}

static const char *const mode_names[3] = {"NULL context", "one shared 3-thread context",
                                          "a private 2-thread context each"};

static void run_threads(const shared *s, int mode, deconv_context *shared_ctx) {
    pthread_t th[NTHREADS];
    worker wk[NTHREADS];
    int started = 0;
    for (int i = 0; i < NTHREADS; i++) {
        wk[i].s = s;
        wk[i].ctx = mode == 1 ? shared_ctx : NULL;
        wk[i].own_ctx_threads = mode == 2 ? 2 : 0;
        wk[i].index = i;
        wk[i].failures = 0;
        wk[i].first_op = -1;
        if (pthread_create(&th[i], NULL, worker_main, &wk[i]) != 0) break;
        started++;
    }
    CHECK(started == NTHREADS, "%s: started only %d threads", mode_names[mode], started);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < started; i++)
        CHECK(wk[i].failures == 0,
              "%s: thread %d had %d failed or non-identical results (first op %d)",
              mode_names[mode], i, wk[i].failures, wk[i].first_op);
}

void suite_concurrency(void) {
    shared s;
    shared_init(&s);
    /* Serial reference results: NULL context, one thread, in order (argmax before the
     * unpools that consume it). */
    int serial_ok = 1;
    for (int op = 0; op < C_NOPS; op++) {
        const deconv_status st = run_op(&s, op, NULL, s.ref[op], s.ref_idx);
        CHECK(st == DECONV_OK, "serial op %d: status %d (%s)", op, (int)st,
              deconv_status_string(st));
        serial_ok &= st == DECONV_OK;
    }
    /* The references are not trivial (a test that cannot fail is no test). */
    int nonzero = 0;
    for (int64_t i = 0; i < s.yn; i++) nonzero += s.ref[C_CONV][i] != 0.0f;
    CHECK(nonzero > s.yn / 4, "conv reference is mostly zero (%d of %lld)", nonzero,
          (long long)s.yn);
    /* Serial through multi-thread contexts equals serial on one thread. */
    for (int t = 2; t <= 5; t += 3) {
        deconv_context *ctx = NULL;
        CHECK(deconv_context_create(t, &ctx, NULL) == DECONV_OK, "context %d", t);
        float *out = malloc((size_t)s.tyn * sizeof *out);
        int64_t *idx = malloc((size_t)s.pon * sizeof *idx);
        for (int op = 0; op < C_NOPS && ctx; op++) {
            th_poison(out, s.ref_n[op]);
            CHECK(run_op(&s, op, ctx, out, idx) == DECONV_OK &&
                      memcmp(out, s.ref[op], (size_t)s.ref_n[op] * sizeof *out) == 0,
                  "op %d with a %d-thread context differs from 1 thread", op, t);
        }
        free(out);
        free(idx);
        deconv_context_destroy(ctx);
    }
    if (serial_ok) {
        run_threads(&s, 0, NULL);
        deconv_context *ctx = NULL;
        CHECK(deconv_context_create(3, &ctx, NULL) == DECONV_OK, "shared context");
        if (ctx) run_threads(&s, 1, ctx);
        deconv_context_destroy(ctx);
        run_threads(&s, 2, NULL);
    }
    shared_free(&s);
}
