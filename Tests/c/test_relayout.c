/* test_relayout.c - channels-first convs run as their channels-last twins (relayout.c). Each
 * random case is built twice, channels-first and channels-last on the same values, and at
 * every supported ISA level the channels-first output must be the channels-last one
 * transposed, bit for bit: stateless with 1 and 3 threads and no context, and prepared. It
 * must also be close to the reference, the plan must really be a relaid one, a bad weight
 * must give the reference's bits, and a caller's workspace must be sized by the query. And
 * the transposes themselves, at every level, against their definition; and channels-first
 * forward pools, which run the same way (pool_api.c), against the reference bit for bit. */
#include "harness.h"
#include "conv_case.h"

#include "deconv.h"
#include "fast/fast.h"
#include "fast/pool_fast.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair {
    th_conv first, last; /* the same conv, channels-first and channels-last */
    int64_t sp_x, sp_y;  /* spatial positions of x and y */
} pair;

/* One image after another: dst[s * c + ch] = src[ch * sp + s], or the reverse. */
static void transpose_images(const float *src, float *dst, int64_t n, int64_t c, int64_t sp,
                             int to_last) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t s = 0; s < sp; s++) {
                const int64_t f = i * c * sp + ch * sp + s, l = i * c * sp + s * c + ch;
                if (to_last)
                    dst[l] = src[f];
                else
                    dst[f] = src[l];
            }
}

static deconv_shape to_last_shape(const deconv_shape *f) {
    deconv_shape l = *f;
    const int sr = f->rank - 2;
    for (int i = 0; i < sr; i++) l.dims[1 + i] = f->dims[2 + i];
    l.dims[sr + 1] = f->dims[1];
    return l;
}

static float *copy_buf(const float *src, int64_t n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (n > 0) memcpy(p, src, (size_t)n * sizeof(float));
    return p;
}

/* A random case in both layouts; 0 if it is not a valid conv. */
static int make_pair(pair *pp, uint64_t *rng, int transposed, int sr, int64_t n,
                     const int64_t *in_sp, int64_t cin_g, int64_t cout_g, int64_t groups,
                     const int64_t *k, const int64_t *s, const int64_t *d, deconv_padding pad,
                     const int64_t *pads, int bias, deconv_activation act) {
    memset(pp, 0, sizeof *pp);
    th_conv *f = &pp->first;
    if (!th_conv_make(f, rng, transposed, sr, DECONV_CHANNELS_FIRST, n, in_sp, cin_g, cout_g,
                      groups, k, s, d, pad, pads, bias, act, (int64_t)1 << 21, 0))
        return 0;
    pp->sp_x = f->xn / (n * f->x.dims[1]);
    pp->sp_y = f->yn / (n * f->y.dims[1]);

    th_conv *l = &pp->last;
    *l = *f;
    l->prm.layout = DECONV_CHANNELS_LAST;
    l->x = to_last_shape(&f->x);
    l->y = to_last_shape(&f->y);
    l->xd = malloc((size_t)f->xn * sizeof(float));
    transpose_images(f->xd, l->xd, n, f->x.dims[1], pp->sp_x, 1);
    l->wd = copy_buf(f->wd, f->wn);
    l->bd = bias ? copy_buf(f->bd, f->bn) : NULL;
    l->ref = NULL;
    return 1;
}

static void free_pair(pair *pp) {
    th_conv_free(&pp->first);
    th_conv_free(&pp->last);
}

/* The channels-first problem's plan at the current level, and whether its twin is claimed. */
static int relaid_plan(const th_conv *c, dc_conv_plan *plan, int *twin_claimed) {
    dc_conv_problem pr, twin;
    if (dc_conv_prepare(&c->prm, &c->x, &c->w, c->transposed ? &c->y : NULL, c->transposed,
                        &pr, NULL) != DECONV_OK)
        return 0;
    dc_select_conv_plan(&pr, 1, plan);
    dc_channels_last_twin(&pr, &twin);
    dc_conv_plan tp;
    *twin_claimed = dc_fast_conv_plan(&twin, 1, &tp);
    return 1;
}

static deconv_status prepared_run(const th_conv *c, deconv_context *ctx, float *out) {
    deconv_prepared_conv *pc = NULL;
    deconv_status st =
        c->transposed ? deconv_prepared_conv_transpose_create(&c->prm, &c->x, &c->w, c->wd,
                                                              c->wn, &c->y, &pc, NULL)
                      : deconv_prepared_conv_create(&c->prm, &c->x, &c->w, c->wd, c->wn, &pc,
                                                    NULL);
    if (st) return st;
    st = deconv_prepared_conv_run(ctx, pc, c->xd, c->xn, c->bd, c->bn, out, c->yn, NULL);
    deconv_prepared_conv_destroy(pc);
    return st;
}

static float *alloc64(size_t bytes) {
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

typedef struct tally {
    int relaid, transposed, rank1, rank3, bias, threads_split;
    int same_x, same_y; /* x or y the same bytes in both layouts: used in place */
} tally;
static tally g_tally[DC_ISA_COUNT];

/* The pair at every supported level: see the file's comment. exact_ref: the output must
 * be the reference's bits (a bad weight). */
static void check_pair(pair *pp, deconv_context *ctx1, deconv_context *ctx3, const char *what,
                       int exact_ref) {
    th_conv *f = &pp->first, *l = &pp->last;
    const size_t bytes = (size_t)f->yn * sizeof(float);
    dc_fast_force_isa(DC_FAST_OFF);
    CHECK(th_conv_run(f, NULL, f->ref) == DECONV_OK, "%s: reference failed", what);
    /* 64-byte aligned, as the streamed stores of large outputs want them (fast/transpose.c) */
    float *o1 = alloc64(bytes), *o3 = alloc64(bytes), *o0 = alloc64(bytes), *op = alloc64(bytes);
    float *ol = alloc64(bytes), *olf = alloc64(bytes);
    for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
        if (!dc_fast_isa_supported(isa)) continue;
        dc_fast_force_isa(isa);
        const char *lv = dc_fast_isa_name(isa);
        dc_conv_plan plan;
        int twin_claimed = 0;
        if (!CHECK(relaid_plan(f, &plan, &twin_claimed), "%s: prepare failed", what)) break;
        /* relaid exactly when a fast kernel claims the twin */
        CHECK(plan.relayout == twin_claimed, "%s [%s]: relayout %d, twin claimed %d", what, lv,
              plan.relayout, twin_claimed);
        if (plan.relayout) {
            tally *t = &g_tally[isa];
            t->relaid++;
            t->transposed += f->transposed;
            t->rank1 += f->prm.spatial_rank == 1;
            t->rank3 += f->prm.spatial_rank == 3;
            t->bias += f->bn > 0;
            t->threads_split += plan.units > 1;
            t->same_x += f->x.dims[1] == 1 || pp->sp_x == 1;
            t->same_y += f->y.dims[1] == 1 || pp->sp_y == 1;
        }
        th_poison(o1, f->yn);
        th_poison(o3, f->yn);
        th_poison(o0, f->yn);
        th_poison(op, f->yn);
        th_poison(ol, l->yn);
        CHECK(th_conv_run(f, ctx1, o1) == DECONV_OK, "%s [%s]: 1 thread failed", what, lv);
        CHECK(th_conv_run(f, ctx3, o3) == DECONV_OK, "%s [%s]: 3 threads failed", what, lv);
        CHECK(th_conv_run(f, NULL, o0) == DECONV_OK, "%s [%s]: no context failed", what, lv);
        CHECK(prepared_run(f, ctx3, op) == DECONV_OK, "%s [%s]: prepared failed", what, lv);
        CHECK(th_conv_run(l, ctx1, ol) == DECONV_OK, "%s [%s]: channels-last failed", what, lv);
        transpose_images(ol, olf, f->y.dims[0], f->y.dims[1], pp->sp_y, 0);
        CHECK(memcmp(o1, o3, bytes) == 0, "%s [%s]: 1 and 3 threads differ", what, lv);
        CHECK(memcmp(o1, o0, bytes) == 0, "%s [%s]: context and none differ", what, lv);
        CHECK(memcmp(o1, op, bytes) == 0, "%s [%s]: prepared and stateless differ", what, lv);
        if (exact_ref) {
            CHECK(memcmp(o1, f->ref, bytes) == 0, "%s [%s]: not the reference's bits", what, lv);
            continue;
        }
        if (plan.relayout)
            CHECK(memcmp(o1, olf, bytes) == 0,
                  "%s [%s]: not the channels-last output transposed", what, lv);
        int64_t bad = -1;
        for (int64_t i = 0; i < f->yn && bad < 0; i++) {
            const double r = f->ref[i], g = o1[i];
            if (!(fabs(r - g) <= 1e-4 * (fabs(r) > 1.0 ? fabs(r) : 1.0))) bad = i;
        }
        CHECK(bad < 0, "%s [%s]: y[%lld] = %.9g, reference %.9g", what, lv, (long long)bad,
              bad < 0 ? 0.0 : (double)o1[bad], bad < 0 ? 0.0 : (double)f->ref[bad]);
    }
    dc_fast_force_isa(-1);
    free(o1);
    free(o3);
    free(o0);
    free(op);
    free(ol);
    free(olf);
}

static int g_grouped; /* relaid cases with groups (counted here: the tally cannot see them) */

static void random_pairs(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0xc4a77e15ull;
    int done = 0, tries = 0;
    while (done < 120 && tries < 10000) {
        tries++;
        pair pp;
        const int transposed = (int)th_rand_int(&rng, 0, 1);
        const int sr = (int)(th_rand_int(&rng, 0, 3) < 2 ? 2 : th_rand_int(&rng, 1, 3));
        const deconv_padding pad = (deconv_padding)th_rand_int(&rng, 0, 2);
        int64_t in_sp[3], k[3], s[3], d[3], pads[6];
        for (int i = 0; i < sr; i++) {
            in_sp[i] = th_rand_int(&rng, 1, sr == 3 ? 6 : sr == 1 ? 40 : 14);
            k[i] = th_rand_int(&rng, 1, sr == 3 ? 3 : 5);
            s[i] = th_rand_int(&rng, 1, 3);
            d[i] = th_rand_int(&rng, 0, 3) == 0 ? 2 : 1;
            pads[2 * i] = th_rand_int(&rng, 0, 2);
            pads[2 * i + 1] = th_rand_int(&rng, 0, 2);
        }
        const int64_t groups = th_rand_int(&rng, 0, 3) == 0 ? th_rand_int(&rng, 2, 3) : 1;
        /* 1..4 output channels (the few-channel kernels) and around the 8/16-lane tails; one
         * input channel (x used in place) in a sixth of the cases */
        const int64_t cin_g = th_rand_int(&rng, 0, 5) == 0 ? 1 : th_rand_int(&rng, 1, 40);
        const int64_t cout_g = th_rand_int(&rng, 0, 2) == 0 ? th_rand_int(&rng, 1, 4)
                                                            : th_rand_int(&rng, 1, 40);
        const int bias = (int)th_rand_int(&rng, 0, 1);
        const deconv_activation act =
            th_rand_int(&rng, 0, 2) == 0 ? TH_ACTS[th_rand_int(&rng, 0, TH_NACTS - 1)] : DECONV_ACTIVATION_NONE;
        const int64_t n = th_rand_int(&rng, 1, 4);
        if (!make_pair(&pp, &rng, transposed, sr, n, in_sp, cin_g, cout_g, groups, k, s, d, pad,
                       pads, bias, act)) {
            free_pair(&pp);
            continue;
        }
        char what[160];
        snprintf(what, sizeof what,
                 "relayout #%d %s rank %d pad %d n %lld cin_g %lld cout_g %lld groups %lld", done,
                 transposed ? "transpose" : "conv", sr, (int)pad, (long long)n,
                 (long long)cin_g, (long long)cout_g, (long long)groups);
        const int before = g_tally[DC_ISA_PORTABLE].relaid;
        check_pair(&pp, ctx1, ctx3, what, 0);
        g_grouped += groups > 1 && g_tally[DC_ISA_PORTABLE].relaid > before;
        free_pair(&pp);
        done++;
    }
    CHECK(done == 120, "only %d relayout cases were valid in %d tries", done, tries);
}

/* Suite-like layers in channels-first, the input transposes split over threads. */
static void layer_pairs(deconv_context *ctx1, deconv_context *ctx3) {
    static const struct {
        int transposed;
        int64_t n, h, w, cin, cout, k, s;
        deconv_padding pad;
    } L[] = {
        {1, 2, 8, 9, 64, 3, 5, 2, DECONV_PADDING_SAME},    /* dcgan4-like */
        {1, 8, 14, 15, 32, 1, 3, 2, DECONV_PADDING_SAME},  /* mnist_k3s2-like: y as it is */
        {0, 2, 16, 17, 24, 40, 3, 2, DECONV_PADDING_SAME}, /* down_s2-like */
        {1, 1, 9, 10, 48, 32, 2, 2, DECONV_PADDING_VALID}, /* unet_up-like */
        {0, 1, 20, 21, 32, 32, 3, 1, DECONV_PADDING_SAME}, /* vgg3x3-like: Winograd */
        {0, 4, 28, 28, 1, 32, 5, 1, DECONV_PADDING_SAME},  /* lenet_c1-like: x as it is */
        {1, 3, 1, 1, 100, 64, 4, 1, DECONV_PADDING_VALID}, /* DCGAN's 1 x 1 latent: x as it is */
        {0, 2, 64, 64, 1, 128, 3, 1, DECONV_PADDING_SAME}, /* 4 MiB out: streamed back */
    };
    uint64_t rng = 0x1a7e5ull;
    for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
        pair pp;
        const int64_t sp[2] = {L[i].h, L[i].w}, k[2] = {L[i].k, L[i].k};
        const int64_t s[2] = {L[i].s, L[i].s}, d[2] = {1, 1}, pads[4] = {0};
        if (CHECK(make_pair(&pp, &rng, L[i].transposed, 2, L[i].n, sp, L[i].cin, L[i].cout, 1,
                            k, s, d, L[i].pad, pads, 1, DECONV_ACTIVATION_NONE),
                  "layer %zu invalid", i)) {
            char what[48];
            snprintf(what, sizeof what, "relayout layer %zu", i);
            check_pair(&pp, ctx1, ctx3, what, 0);
        }
        free_pair(&pp);
    }
}

/* A NaN or inf weight on a tap that meets padding: every path gives the reference's bits (a
 * relaid plan that checks its weights as it packs them finds it during the run and re-runs
 * the twin on the reference, which sums in the same order as on the caller's layout). */
static void nonfinite_pairs(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0xbadf00dull;
    static const struct {
        int transposed;
        int64_t cin, cout, k, s;
    } C[] = {{0, 16, 40, 3, 1}, {1, 20, 24, 3, 2}, {0, 24, 1, 3, 1}, {1, 32, 40, 4, 2}};
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++)
        for (int v = 0; v < 2; v++) {
            pair pp;
            const int64_t sp[2] = {7, 6}, k[2] = {C[i].k, C[i].k}, s[2] = {C[i].s, C[i].s};
            const int64_t d[2] = {1, 1}, pads[4] = {0};
            if (!CHECK(make_pair(&pp, &rng, C[i].transposed, 2, 2, sp, C[i].cin, C[i].cout, 1, k,
                                 s, d, DECONV_PADDING_SAME, pads, v, DECONV_ACTIVATION_NONE),
                       "non-finite %zu invalid", i)) {
                free_pair(&pp);
                continue;
            }
            const int64_t taps = C[i].k * C[i].k, per_tap = pp.first.wn / taps;
            const int64_t at = (C[i].transposed ? taps - 1 : 0) * per_tap +
                               th_rand_int(&rng, 0, per_tap - 1);
            pp.first.wd[at] = pp.last.wd[at] = v ? NAN : -INFINITY;
            char what[48];
            snprintf(what, sizeof what, "relayout non-finite %zu %s", i, v ? "NaN" : "-inf");
            check_pair(&pp, ctx1, ctx3, what, 1);
            free_pair(&pp);
        }
}

/* A caller's workspace of exactly the queried size is enough for a relaid run; a byte less is
 * refused before anything is written. And a workspace past size_t is refused, not wrapped. */
static void workspace_pairs(deconv_context *ctx3) {
    uint64_t rng = 0x5a5a5ull;
    pair pp;
    const int64_t sp[2] = {9, 8}, k[2] = {3, 3}, s[2] = {2, 2}, d[2] = {1, 1}, pads[4] = {0};
    if (!CHECK(make_pair(&pp, &rng, 1, 2, 3, sp, 20, 24, 1, k, s, d, DECONV_PADDING_SAME, pads,
                         1, DECONV_ACTIVATION_NONE),
               "workspace pair invalid")) {
        free_pair(&pp);
        return;
    }
    th_conv *f = &pp.first;
    size_t ws = 0;
    CHECK(deconv_conv_transpose_workspace_size(ctx3, &f->prm, &f->x, &f->w, &f->y, &ws, NULL) ==
              DECONV_OK,
          "workspace query failed");
    /* room for both tensors in channels-last at least */
    CHECK(ws >= (size_t)(f->xn + f->yn) * sizeof(float), "workspace %zu below x + y", ws);
    float *out = malloc((size_t)f->yn * sizeof(float));
    void *mem = malloc(ws);
    CHECK(deconv_context_set_workspace(ctx3, mem, ws - 1, NULL) == DECONV_OK, "set workspace");
    th_poison(out, f->yn);
    CHECK(th_conv_run(f, ctx3, out) == DECONV_ERR_WORKSPACE_TOO_SMALL,
          "a workspace one byte short must be refused");
    CHECK(th_is_poisoned(out, f->yn), "output written although the workspace was too small");
    CHECK(deconv_context_set_workspace(ctx3, mem, ws, NULL) == DECONV_OK, "set workspace");
    CHECK(th_conv_run(f, ctx3, out) == DECONV_OK, "exact workspace must be enough");
    float *want = malloc((size_t)f->yn * sizeof(float));
    CHECK(th_conv_run(f, NULL, want) == DECONV_OK, "no-context run failed");
    CHECK(memcmp(out, want, (size_t)f->yn * sizeof(float)) == 0,
          "the caller's workspace changed the result");
    CHECK(deconv_context_set_workspace(ctx3, NULL, 0, NULL) == DECONV_OK, "unset workspace");

    dc_conv_problem pr;
    size_t total = 0;
    CHECK(dc_conv_prepare(&f->prm, &f->x, &f->w, &f->y, 1, &pr, NULL) == DECONV_OK, "prepare");
    CHECK(dc_relayout_bytes(&pr, 1000, &total) && total >= 1000 + (size_t)(f->xn + f->yn) * 4,
          "relayout bytes %zu", total);
    CHECK(!dc_relayout_bytes(&pr, SIZE_MAX - 100, &total), "a wrapped workspace size");
    free(want);
    free(mem);
    free(out);
    free_pair(&pp);
}

/* fast/transpose.c at every level: every shape up to 40 x 40 (all the 16- and 8-wide block
 * edges), with leading dimensions past the shape, and nothing outside the matrix written;
 * streamed too, where dst is aligned and its rows lines (LD 48, the streamed stores) or
 * not (LD 43, the plain ones). */
static void transpose_cases(void) {
    enum { M = 40, LDMAX = 48 };
    static float src[M * LDMAX];
    static float dst[M * LDMAX] __attribute__((aligned(64)));
    for (int i = 0; i < M * LDMAX; i++) src[i] = (float)i;
    int bad = 0;
    for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
        if (!dc_fast_isa_supported(isa)) continue;
        dc_fast_force_isa(isa);
        const dc_transpose_fn t = dc_fast_transpose();
        for (int v = 0; v < 4 && !bad; v++) {
            const int LD = v & 1 ? 48 : 43, stream = v >> 1;
            for (int rows = 0; rows <= M && !bad; rows++)
                for (int cols = 0; cols <= M && !bad; cols++) {
                    for (int i = 0; i < M * LD; i++) dst[i] = -1.0f;
                    t(src, LD, dst, LD, rows, cols, stream);
                    for (int j = 0; j < M; j++)
                        for (int i = 0; i < LD; i++) {
                            const float want = j < cols && i < rows ? src[i * LD + j] : -1.0f;
                            bad += dst[j * LD + i] != want;
                        }
                    CHECK(!bad, "[%s] transpose of %d x %d (ld %d, stream %d) wrong",
                          dc_fast_isa_name(isa), rows, cols, LD, stream);
                }
        }
    }
    /* the 8-byte transpose (argmax's indices): the same shapes, values that would not
     * survive a trip through a double's arithmetic (NaN patterns) */
    static int64_t src64[M * LDMAX], dst64[M * LDMAX];
    for (int i = 0; i < M * LDMAX; i++) src64[i] = (int64_t)0x7ff4000000000000ull + i;
    for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
        if (!dc_fast_isa_supported(isa)) continue;
        dc_fast_force_isa(isa);
        const dc_transpose64_fn t = dc_fast_transpose64();
        for (int v = 0; v < 2 && !bad; v++) {
            const int LD = v ? 48 : 43;
            for (int rows = 0; rows <= M && !bad; rows++)
                for (int cols = 0; cols <= M && !bad; cols++) {
                    for (int i = 0; i < M * LD; i++) dst64[i] = -1;
                    t(src64, LD, dst64, LD, rows, cols);
                    for (int j = 0; j < M; j++)
                        for (int i = 0; i < LD; i++) {
                            const int64_t want = j < cols && i < rows ? src64[i * LD + j] : -1;
                            bad += dst64[j * LD + i] != want;
                        }
                    CHECK(!bad, "[%s] 8-byte transpose of %d x %d (ld %d) wrong",
                          dc_fast_isa_name(isa), rows, cols, LD);
                }
        }
    }
    dc_fast_force_isa(-1);
}

/* ---- forward pooling (pool_api.c's forward_relaid) ------------------------------------------ */

static int64_t shape_count(const deconv_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

/* Runs op 0 (max), 1 (argmax) or 2 (avg) of pp on x into y (and a). */
static deconv_status pool_run(int op, deconv_context *ctx, const deconv_pool_params *pp,
                              const deconv_shape *xs, const float *x, int64_t xn, float *y,
                              int64_t yn, int64_t *a) {
    if (op == 1) return deconv_max_pool_with_argmax(ctx, pp, xs, x, xn, y, yn, a, yn, NULL);
    if (op == 2) return deconv_avg_pool(ctx, pp, xs, x, xn, y, yn, NULL);
    return deconv_max_pool(ctx, pp, xs, x, xn, y, yn, NULL);
}

/* Random channels-first forward pools, at every level: the reference's bits and indices
 * (pooling's fast kernels keep its window order), with 1 and 3 threads. With a caller's
 * workspace the op runs relaid when the room is there (the workspace is written: the input
 * moved into it) and as before when it is not (the workspace untouched, the status OK). */
static void pool_pairs(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0x9001ull;
    enum { WS = 1 << 20 };
    unsigned char *wsmem = malloc(WS);
    int relaid = 0, fallback = 0, done = 0;
    for (int iter = 0; iter < 90; iter++) {
        deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
        const int sr = (int)th_rand_int(&rng, 1, 3), op = iter % 3;
        pp.spatial_rank = sr;
        pp.layout = DECONV_CHANNELS_FIRST;
        pp.padding = th_rand_int(&rng, 0, 1) ? DECONV_PADDING_SAME : DECONV_PADDING_VALID;
        pp.count_include_pad = (int32_t)th_rand_int(&rng, 0, 1);
        pp.include_batch_in_index = (int32_t)th_rand_int(&rng, 0, 1);
        deconv_shape xs;
        memset(&xs, 0, sizeof xs);
        xs.rank = sr + 2;
        xs.dims[0] = th_rand_int(&rng, 1, 3);
        xs.dims[1] = th_rand_int(&rng, 0, 4) == 0 ? 1 : th_rand_int(&rng, 2, 40);
        for (int i = 0; i < sr; i++) {
            pp.ksize[i] = th_rand_int(&rng, 1, 3);
            pp.strides[i] = th_rand_int(&rng, 1, 2);
            xs.dims[2 + i] = th_rand_int(&rng, 1, sr == 3 ? 6 : sr == 2 ? 12 : 30);
        }
        deconv_shape ys;
        if (deconv_pool_output_shape(&pp, &xs, &ys, NULL, NULL) != DECONV_OK) continue;
        const int64_t xn = shape_count(&xs), yn = shape_count(&ys);
        if (yn == 0) continue;
        float *x = th_rand_buf(&rng, xn);
        for (int64_t i = 0; i < xn; i += 7) x[i] = x[(i * 31) % xn]; /* ties */
        float *ref = malloc((size_t)yn * 4), *o = malloc((size_t)yn * 4);
        int64_t *aref = malloc((size_t)yn * 8), *ao = malloc((size_t)yn * 8);
        const size_t yb = (size_t)yn * 4, ab = (size_t)yn * 8;
        dc_fast_force_isa(DC_FAST_OFF);
        CHECK(pool_run(op, NULL, &pp, &xs, x, xn, ref, yn, aref) == DECONV_OK, "pool reference");
        for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
            if (!dc_fast_isa_supported(isa)) continue;
            dc_fast_force_isa(isa);
            deconv_context *ctxs[3] = {ctx1, ctx3, NULL};
            for (int t = 0; t < 3; t++) {
                th_poison(o, yn);
                memset(ao, 0xa5, ab);
                CHECK(pool_run(op, ctxs[t], &pp, &xs, x, xn, o, yn, ao) == DECONV_OK,
                      "pool %d op %d [%s] failed", iter, op, dc_fast_isa_name(isa));
                CHECK(memcmp(o, ref, yb) == 0 && (op != 1 || memcmp(ao, aref, ab) == 0),
                      "pool %d op %d rank %d c %lld [%s] context %d: not the reference's",
                      iter, op, sr, (long long)xs.dims[1], dc_fast_isa_name(isa), t);
            }
            /* a caller's workspace: big enough (1 MiB), then 64 bytes */
            for (int small = 0; small <= 1; small++) {
                const size_t size = small ? 64 : WS;
                memset(wsmem, 0x5a, size);
                CHECK(deconv_context_set_workspace(ctx3, wsmem, size, NULL) == DECONV_OK, "ws");
                th_poison(o, yn);
                CHECK(pool_run(op, ctx3, &pp, &xs, x, xn, o, yn, ao) == DECONV_OK,
                      "pool %d with a %zu-byte workspace failed", iter, size);
                CHECK(memcmp(o, ref, yb) == 0 && (op != 1 || memcmp(ao, aref, ab) == 0),
                      "pool %d with a %zu-byte workspace: not the reference's", iter, size);
                int touched = 0;
                for (size_t i = 0; i < size && !touched; i++) touched = wsmem[i] != 0x5a;
                if (small) {
                    CHECK(!touched, "pool %d: a 64-byte workspace was written", iter);
                    fallback += isa == 0;
                } else {
                    relaid += touched && isa == 0;
                }
                CHECK(deconv_context_set_workspace(ctx3, NULL, 0, NULL) == DECONV_OK, "unset");
            }
        }
        dc_fast_force_isa(-1);
        done++;
        free(x);
        free(ref);
        free(o);
        free(aref);
        free(ao);
    }
    free(wsmem);
    CHECK(done >= 60 && relaid >= 30 && fallback >= 30,
          "forward pools: %d cases, %d relaid, %d with a workspace too small", done, relaid,
          fallback);
}

/* Channels-first forward pools of fixed shapes at every level, 1 and 3 threads: a window
 * row slab above its 4 MiB limit (the whole input moved to channels-last first), a 1 x 1
 * output (the same bytes in both layouts: pooled straight into the caller's output), a 1-D
 * and a 3-D one, and wide rows at strides 1, 2 and 3 (the AVX-512 rows kernel's unmasked,
 * edge and gathered blocks), each also with NaN, +-inf and a run of -inf (its exact redo).
 * Against the reference, bit for bit, indices included. */
static void pool_fixed(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0xf1edull;
    static const struct { int sr; int64_t n, c, sp[3], k, s; deconv_padding pad; } cases[] = {
        {2, 1, 128, {4, 3000, 0}, 3, 2, DECONV_PADDING_SAME},  /* slab 3 x 3000 x 128 */
        {2, 2, 16, {3, 3, 0}, 3, 3, DECONV_PADDING_VALID},      /* output 1 x 1 */
        {1, 3, 24, {77, 0, 0}, 3, 2, DECONV_PADDING_SAME},
        {3, 2, 8, {5, 6, 7}, 2, 2, DECONV_PADDING_SAME},
        /* wide rows: the AVX-512 channels-first rows' unmasked blocks, stride 1 and 2 */
        {2, 2, 8, {6, 200, 0}, 3, 1, DECONV_PADDING_SAME},
        {2, 1, 4, {5, 301, 0}, 3, 2, DECONV_PADDING_VALID},
        {1, 2, 3, {300, 0, 0}, 2, 2, DECONV_PADDING_SAME},
        {2, 1, 4, {4, 150, 0}, 3, 3, DECONV_PADDING_SAME}, /* stride 3: gathers */
        {1, 2, 8, {20, 0, 0}, 45, 2, DECONV_PADDING_SAME},  /* windows wider than the row */
        {1, 1, 4, {300, 0, 0}, 3, 70, DECONV_PADDING_VALID}, /* stride above 64: the twin */
    };
    enum { NCASES = sizeof cases / sizeof cases[0] };
    /* each case clean, then (from the second on) with NaN, +inf, -inf and a run of -inf */
    for (size_t run = 0; run < 2 * NCASES; run++) {
        const size_t ci = run % NCASES;
        const int specials = run >= NCASES;
        if (specials && ci == 0) continue;
        deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
        pp.spatial_rank = cases[ci].sr;
        pp.layout = DECONV_CHANNELS_FIRST;
        pp.padding = cases[ci].pad;
        deconv_shape xs;
        memset(&xs, 0, sizeof xs);
        xs.rank = cases[ci].sr + 2;
        xs.dims[0] = cases[ci].n;
        xs.dims[1] = cases[ci].c;
        for (int i = 0; i < cases[ci].sr; i++) {
            xs.dims[2 + i] = cases[ci].sp[i];
            pp.ksize[i] = cases[ci].k;
            pp.strides[i] = cases[ci].s;
        }
        deconv_shape ys;
        CHECK(deconv_pool_output_shape(&pp, &xs, &ys, NULL, NULL) == DECONV_OK, "fixed shape");
        const int64_t xn = shape_count(&xs), yn = shape_count(&ys);
        float *x = th_rand_buf(&rng, xn);
        for (int64_t i = 0; i < xn; i += 5) x[i] = x[(i * 13) % xn]; /* ties */
        if (specials) {
            for (int64_t i = 11; i < xn; i += 97) x[i] = NAN;
            for (int64_t i = 23; i < xn; i += 89) x[i] = INFINITY;
            for (int64_t i = 31; i < xn; i += 83) x[i] = -INFINITY;
            for (int64_t i = xn / 3; i < xn / 3 + 64 && i < xn; i++) x[i] = -INFINITY;
        }
        float *ref = malloc((size_t)yn * 4), *o = malloc((size_t)yn * 4);
        int64_t *aref = malloc((size_t)yn * 8), *ao = malloc((size_t)yn * 8);
        for (int op = 0; op < 3; op++) {
            dc_fast_force_isa(DC_FAST_OFF);
            CHECK(pool_run(op, NULL, &pp, &xs, x, xn, ref, yn, aref) == DECONV_OK, "reference");
            for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
                if (!dc_fast_isa_supported(isa)) continue;
                dc_fast_force_isa(isa);
                deconv_context *ctxs[2] = {ctx1, ctx3};
                for (int t = 0; t < 2; t++) {
                    th_poison(o, yn);
                    memset(ao, 0xa5, (size_t)yn * 8);
                    CHECK(pool_run(op, ctxs[t], &pp, &xs, x, xn, o, yn, ao) == DECONV_OK,
                          "fixed pool %zu op %d failed", ci, op);
                    /* avg: a sum's NaN payload may differ; all else bitwise */
                    int same = 1;
                    for (int64_t i = 0; i < yn && same; i++)
                        same = memcmp(&o[i], &ref[i], 4) == 0 ||
                               (op == 2 && o[i] != o[i] && ref[i] != ref[i]);
                    CHECK(same && (op != 1 || memcmp(ao, aref, (size_t)yn * 8) == 0),
                          "fixed pool %zu op %d specials %d [%s] context %d: not the reference's",
                          ci, op, specials, dc_fast_isa_name(isa), t);
                }
            }
        }
        dc_fast_force_isa(-1);
        free(x);
        free(ref);
        free(o);
        free(aref);
        free(ao);
    }
}

/* ---- unpooling (pool_api.c's unpool_relaid) ------------------------------------------------ */

/* A random channels-first unpool case: pooled values g, indices from the forward argmax of a
 * random input (some replaced by foreign ones anywhere in their range when `foreign`). */
typedef struct unpool_case {
    deconv_pool_params pp;
    deconv_shape xs, ys;
    int64_t xn, yn;
    float *g;
    int64_t *idx;
} unpool_case;

static int make_unpool(unpool_case *u, uint64_t *rng, int sr, int64_t c, int foreign) {
    memset(u, 0, sizeof *u);
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    pp.spatial_rank = sr;
    pp.layout = DECONV_CHANNELS_FIRST;
    pp.padding = th_rand_int(rng, 0, 1) ? DECONV_PADDING_SAME : DECONV_PADDING_VALID;
    pp.count_include_pad = (int32_t)th_rand_int(rng, 0, 1);
    pp.include_batch_in_index = (int32_t)th_rand_int(rng, 0, 1);
    pp.normalize = (int32_t)th_rand_int(rng, 0, 1);
    u->xs.rank = sr + 2;
    u->xs.dims[0] = th_rand_int(rng, 1, 3);
    u->xs.dims[1] = c;
    for (int i = 0; i < sr; i++) {
        pp.ksize[i] = th_rand_int(rng, 1, 3);
        pp.strides[i] = th_rand_int(rng, 1, 2);
        u->xs.dims[2 + i] = th_rand_int(rng, 1, sr == 3 ? 6 : sr == 2 ? 14 : 40);
    }
    u->pp = pp;
    if (deconv_pool_output_shape(&pp, &u->xs, &u->ys, NULL, NULL) != DECONV_OK) return 0;
    u->xn = shape_count(&u->xs);
    u->yn = shape_count(&u->ys);
    if (u->yn == 0) return 0;
    float *x = th_rand_buf(rng, u->xn), *y = malloc((size_t)u->yn * 4);
    u->g = th_rand_buf(rng, u->yn);
    u->idx = malloc((size_t)u->yn * 8);
    CHECK(deconv_max_pool_with_argmax(NULL, &pp, &u->xs, x, u->xn, y, u->yn, u->idx, u->yn,
                                      NULL) == DECONV_OK, "unpool case: argmax");
    const int64_t limit = pp.include_batch_in_index ? u->xn : u->xn / u->xs.dims[0];
    if (foreign)
        for (int64_t j = 0; j < u->yn; j += th_rand_int(rng, 1, 9))
            u->idx[j] = th_rand_int(rng, 0, limit - 1);
    free(x);
    free(y);
    return 1;
}

/* Every index inside its own image and its own channel (argmax's always are). */
static int all_local(const unpool_case *u) {
    const int64_t n = u->xs.dims[0], c = u->xs.dims[1], image = u->xn / n;
    const int64_t pooled = u->yn / (n * c);
    for (int64_t j = 0; j < u->yn; j++) {
        const int64_t b = j / (c * pooled), ch = j / pooled % c;
        const int64_t t = u->idx[j] - (u->pp.include_batch_in_index ? b * image : 0);
        if (t < 0 || t >= image || t % c != ch) return 0;
    }
    return 1;
}

static void free_unpool(unpool_case *u) {
    free(u->g);
    free(u->idx);
}

static deconv_status unpool_run(int max, deconv_context *ctx, const unpool_case *u, float *out,
                                deconv_error *e) {
    if (max)
        return deconv_max_unpool(ctx, &u->pp, &u->ys, u->g, u->yn, u->idx, u->yn, &u->xs, out,
                                 u->xn, e);
    return deconv_avg_unpool(ctx, &u->pp, &u->ys, u->g, u->yn, &u->xs, out, u->xn, e);
}

/* Random channels-first max and avg unpools, at every level: the reference's bits (the
 * reference sums each cell's values in the same order in both layouts), with 1 and 3
 * threads and no context; C a power of two or not, indices local or foreign. A caller's
 * workspace: relaid when the room is there (written), as before when not (untouched). */
static void unpool_pairs(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0x7e57ull;
    enum { WS = 4 << 20 };
    unsigned char *wsmem = malloc(WS);
    int relaid = 0, fallback = 0, done = 0, foreign = 0, nonlocal = 0, by_planes_runs = 0;
    for (int iter = 0; iter < 80; iter++) {
        const int max = iter % 2, sr = (int)th_rand_int(&rng, 1, 3);
        const int64_t c = iter % 3 == 0 ? th_rand_int(&rng, 2, 40)
                                        : (int64_t)1 << th_rand_int(&rng, 0, 6);
        unpool_case u;
        const int foreign_case = max && iter % 5 == 1;
        if (!make_unpool(&u, &rng, sr, c, foreign_case)) continue;
        foreign += foreign_case;
        const int local = all_local(&u);
        nonlocal += !local;
        float *ref = malloc((size_t)u.xn * 4), *o = malloc((size_t)u.xn * 4);
        const size_t xb = (size_t)u.xn * 4;
        dc_fast_force_isa(DC_FAST_OFF);
        CHECK(unpool_run(max, NULL, &u, ref, NULL) == DECONV_OK, "unpool reference");
        for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
            if (!dc_fast_isa_supported(isa)) continue;
            dc_fast_force_isa(isa);
            deconv_context *ctxs[3] = {ctx1, ctx3, NULL};
            for (int t = 0; t < 3; t++) {
                th_poison(o, u.xn);
                dc_pool_planes_count(1);
                CHECK(unpool_run(max, ctxs[t], &u, o, NULL) == DECONV_OK,
                      "unpool %d max %d [%s] failed", iter, max, dc_fast_isa_name(isa));
                CHECK(memcmp(o, ref, xb) == 0,
                      "unpool %d max %d rank %d c %lld [%s] context %d: not the reference's",
                      iter, max, sr, (long long)c, dc_fast_isa_name(isa), t);
                /* max_unpool by planes exactly when C is a power of two and every index is in
                 * its own image and channel */
                const int by_planes = max && (c & (c - 1)) == 0 && local;
                const int64_t planes = dc_pool_planes_count(1);
                CHECK(planes == (by_planes ? u.xs.dims[0] * c : 0),
                      "unpool %d max %d c %lld local %d [%s] context %d: %lld planes summed",
                      iter, max, (long long)c, local, dc_fast_isa_name(isa), t,
                      (long long)planes);
                by_planes_runs += by_planes && planes > 0;
            }
            for (int small = 0; small <= 1; small++) {
                const size_t size = small ? 64 : WS;
                memset(wsmem, 0x5a, size);
                CHECK(deconv_context_set_workspace(ctx3, wsmem, size, NULL) == DECONV_OK, "ws");
                th_poison(o, u.xn);
                CHECK(unpool_run(max, ctx3, &u, o, NULL) == DECONV_OK,
                      "unpool %d with a %zu-byte workspace failed", iter, size);
                CHECK(memcmp(o, ref, xb) == 0,
                      "unpool %d with a %zu-byte workspace: not the reference's", iter, size);
                /* the old path writes at most its scan results (3 x 16 bytes, aligned to
                 * 64) */
                int touched = 0, copies = 0;
                for (size_t i = 0; i < size; i++)
                    if (wsmem[i] != 0x5a) {
                        touched = 1;
                        copies |= i >= 128;
                    }
                if (small) {
                    CHECK(!touched, "unpool %d: a 64-byte workspace was written", iter);
                    fallback += isa == 0;
                } else {
                    relaid += copies && isa == 0;
                }
                CHECK(deconv_context_set_workspace(ctx3, NULL, 0, NULL) == DECONV_OK, "unset");
            }
        }
        dc_fast_force_isa(-1);
        done++;
        free(ref);
        free(o);
        free_unpool(&u);
    }
    free(wsmem);
    CHECK(done >= 60 && relaid >= 40 && fallback >= 40 && nonlocal >= 4 && by_planes_runs >= 40,
          "unpools: %d cases, %d relaid, %d with a workspace too small, %d foreign (%d not all "
          "local), %d runs by planes", done, relaid, fallback, foreign, nonlocal,
          by_planes_runs);
}

/* max_unpool by planes with a plane too large for the scratch (300 x 300 = 90000 floats):
 * summed in place in the output, which must be zeroed first. */
static void unpool_big_plane(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0xb16ull;
    unpool_case u;
    memset(&u, 0, sizeof u);
    u.pp = (deconv_pool_params)DECONV_POOL_PARAMS_INIT;
    u.pp.spatial_rank = 2;
    u.pp.layout = DECONV_CHANNELS_FIRST;
    u.pp.padding = DECONV_PADDING_SAME;
    u.xs.rank = 4;
    u.xs.dims[0] = 1;
    u.xs.dims[1] = 2;
    u.xs.dims[2] = u.xs.dims[3] = 300;
    for (int i = 0; i < 2; i++) u.pp.ksize[i] = u.pp.strides[i] = 2;
    CHECK(deconv_pool_output_shape(&u.pp, &u.xs, &u.ys, NULL, NULL) == DECONV_OK, "shape");
    u.xn = shape_count(&u.xs);
    u.yn = shape_count(&u.ys);
    float *x = th_rand_buf(&rng, u.xn), *y = malloc((size_t)u.yn * 4);
    u.g = th_rand_buf(&rng, u.yn);
    u.idx = malloc((size_t)u.yn * 8);
    CHECK(deconv_max_pool_with_argmax(NULL, &u.pp, &u.xs, x, u.xn, y, u.yn, u.idx, u.yn,
                                      NULL) == DECONV_OK, "argmax");
    float *ref = malloc((size_t)u.xn * 4), *o = malloc((size_t)u.xn * 4);
    dc_fast_force_isa(DC_FAST_OFF);
    CHECK(unpool_run(1, NULL, &u, ref, NULL) == DECONV_OK, "reference");
    for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
        if (!dc_fast_isa_supported(isa)) continue;
        dc_fast_force_isa(isa);
        deconv_context *ctxs[2] = {ctx1, ctx3};
        for (int t = 0; t < 2; t++) {
            th_poison(o, u.xn);
            dc_pool_planes_count(1);
            CHECK(unpool_run(1, ctxs[t], &u, o, NULL) == DECONV_OK, "big plane unpool");
            CHECK(memcmp(o, ref, (size_t)u.xn * 4) == 0 && dc_pool_planes_count(1) == 2,
                  "big plane [%s] context %d: not the reference's by planes",
                  dc_fast_isa_name(isa), t);
        }
    }
    dc_fast_force_isa(-1);
    free(x);
    free(y);
    free(ref);
    free(o);
    free_unpool(&u);
}

/* A bad index names the caller's first one, not the first in channels-last order, and
 * nothing is written: channel 1's first cell comes before channel 0's last in the twin. */
static void unpool_index_errors(deconv_context *ctx1, deconv_context *ctx3) {
    uint64_t rng = 0xbad1ull;
    const int64_t cs[2] = {24, 16};
    for (int k = 0; k < 2; k++) {
        unpool_case u;
        while (!make_unpool(&u, &rng, 2, cs[k], 0)) {
        } /* (no buffer is made before a case is known valid) */
        const int64_t P = u.yn / (u.ys.dims[0] * cs[k]); /* pooled positions per plane */
        const int64_t first = P - 1, second = P;      /* channel 0 last, channel 1 first */
        u.idx[first] = -3;
        u.idx[second] = u.xn + 5;
        char want[64];
        snprintf(want, sizeof want, "argmax[%lld]", (long long)first);
        float *o = malloc((size_t)u.xn * 4);
        for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
            if (!dc_fast_isa_supported(isa)) continue;
            dc_fast_force_isa(isa);
            deconv_context *ctxs[3] = {ctx1, ctx3, NULL};
            for (int t = 0; t < 3; t++) {
                deconv_error e;
                th_poison(o, u.xn);
                const deconv_status st = unpool_run(1, ctxs[t], &u, o, &e);
                CHECK(st == DECONV_ERR_INDEX_OUT_OF_RANGE && strstr(e.message, want),
                      "c %lld [%s] ctx %d: status %d, message '%s', want '%s'", (long long)cs[k],
                      dc_fast_isa_name(isa), t, (int)st, e.message, want);
                CHECK(th_is_poisoned(o, u.xn), "c %lld [%s] ctx %d: output written",
                      (long long)cs[k], dc_fast_isa_name(isa), t);
            }
        }
        dc_fast_force_isa(-1);
        free(o);
        free_unpool(&u);
    }
}

void suite_relayout(void) {
    deconv_context *ctx1 = NULL, *ctx3 = NULL;
    CHECK(deconv_context_create(1, &ctx1, NULL) == DECONV_OK, "context 1");
    CHECK(deconv_context_create(3, &ctx3, NULL) == DECONV_OK, "context 3");
    memset(g_tally, 0, sizeof g_tally);
    g_grouped = 0;
    transpose_cases();
    random_pairs(ctx1, ctx3);
    layer_pairs(ctx1, ctx3);
    nonfinite_pairs(ctx1, ctx3);
    workspace_pairs(ctx3);
    pool_pairs(ctx1, ctx3);
    pool_fixed(ctx1, ctx3);
    unpool_pairs(ctx1, ctx3);
    unpool_big_plane(ctx1, ctx3);
    unpool_index_errors(ctx1, ctx3);
    for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
        if (!dc_fast_isa_supported(isa)) continue;
        const tally *t = &g_tally[isa];
        CHECK(t->relaid >= 60 && t->transposed >= 20 && t->relaid - t->transposed >= 20 &&
                  t->rank1 >= 5 && t->rank3 >= 5 && t->bias >= 20 && t->threads_split >= 20 &&
                  t->same_x >= 5 && t->same_y >= 5,
              "[%s] relaid runs too few: %d (%d transposed, %d rank 1, %d rank 3, %d with bias, "
              "%d in several units, %d and %d with x and y in place)",
              dc_fast_isa_name(isa), t->relaid, t->transposed, t->rank1, t->rank3, t->bias,
              t->threads_split, t->same_x, t->same_y);
    }
    CHECK(g_grouped >= 10, "only %d relaid cases with groups", g_grouped);
    deconv_context_destroy(ctx1);
    deconv_context_destroy(ctx3);
}
