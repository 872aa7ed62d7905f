/* test_pool_fast.c - the fast pooling and unpooling kernels against the reference, through the
 * public API: the reference is what runs with the fast path switched off (DC_FAST_OFF), and
 * every supported ISA level is forced in turn. Randomized shapes hit every vector-width tail of
 * C (1..17 and some wider), all ranks, layouts and paddings, ties, NaN with distinct payloads,
 * +-inf, include_batch_in_index, duplicates and foreign indices in max_unpool, the in-place
 * (no ring) unpool, the streamed (large output) path, 1 vs 3 threads, and index errors found
 * by the parallel prescan. max, argmax, avg (same summation order) and unpool results must be
 * bitwise equal; only NaN payloads of sums may differ. */
#include "harness.h"

#include "deconv.h"
#include "fast/fast.h"
#include "fast/pool_fast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { OP_MAX, OP_ARGMAX, OP_AVG, OP_MAX_UNPOOL, OP_AVG_UNPOOL, OP_COUNT };
static const char *const OP_NAME[OP_COUNT] = {"max_pool", "max_pool_with_argmax", "avg_pool",
                                              "max_unpool", "avg_unpool"};

typedef struct pcase {
    deconv_pool_params pp;
    deconv_shape x, y;      /* pre-pool and pooled shapes */
    int64_t xn, yn;
    float *xd;              /* forward input */
    float *g;               /* unpool input (pooled shape) */
    int64_t *idx;           /* unpool indices */
} pcase;

static int64_t count_of(const deconv_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

static void free_case(pcase *c) {
    free(c->xd);
    free(c->g);
    free(c->idx);
    memset(c, 0, sizeof *c);
}

/* A NaN with a payload, so "the first NaN wins" is visible bit for bit. */
static float nan_with(uint32_t payload) {
    const uint32_t bits = 0x7fc00000u | (payload & 0x3fffffu);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Values with many ties (a few levels), some NaN, +-inf, -0 when `special`. */
static void fill(float *p, int64_t n, uint64_t *rng, int special) {
    for (int64_t i = 0; i < n; i++) {
        const int64_t r = th_rand_int(rng, 0, 99);
        if (!special || r >= 20)
            p[i] = th_rand_float(rng);
        else if (r < 8)
            p[i] = (float)th_rand_int(rng, -2, 2) * 0.5f; /* ties */
        else if (r < 11)
            p[i] = nan_with((uint32_t)i + 1u);
        else if (r < 14)
            p[i] = -INFINITY;
        else if (r < 16)
            p[i] = INFINITY;
        else
            p[i] = -0.0f;
    }
}

/* Bitwise equal, or both NaN when `nan_any` (sums may carry either NaN's payload). */
static int64_t diff_f(const float *a, const float *b, int64_t n, int nan_any) {
    for (int64_t i = 0; i < n; i++) {
        if (memcmp(&a[i], &b[i], sizeof *a) == 0) continue;
        if (nan_any && isnan(a[i]) && isnan(b[i])) continue;
        return i;
    }
    return -1;
}

static int64_t diff_i(const int64_t *a, const int64_t *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i]) return i;
    return -1;
}

/* Random pool params and shapes; 0 when the configuration is invalid or empty. */
static int make_case(pcase *c, uint64_t *rng, int64_t cmin, int64_t cmax) {
    memset(c, 0, sizeof *c);
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    const int32_t sr = (int32_t)th_rand_int(rng, 1, 3);
    pp.spatial_rank = sr;
    pp.layout = th_rand_int(rng, 0, 2) ? DECONV_CHANNELS_LAST : DECONV_CHANNELS_FIRST;
    pp.padding = (deconv_padding)th_rand_int(rng, 0, 2);
    if (pp.padding != DECONV_PADDING_SAME && pp.padding != DECONV_PADDING_VALID)
        pp.padding = DECONV_PADDING_EXPLICIT;
    const int64_t n = th_rand_int(rng, 0, 3) == 0 ? th_rand_int(rng, 0, 1) : th_rand_int(rng, 1, 3);
    const int64_t ch = th_rand_int(rng, cmin, cmax);
    int64_t sp[3];
    for (int i = 0; i < sr; i++) {
        pp.ksize[i] = th_rand_int(rng, 1, sr == 3 ? 3 : 4);
        pp.strides[i] = th_rand_int(rng, 1, 3);
        sp[i] = th_rand_int(rng, 1, sr == 3 ? 6 : 11);
        if (pp.padding == DECONV_PADDING_EXPLICIT) {
            pp.pads[2 * i] = th_rand_int(rng, 0, pp.ksize[i] - 1);
            pp.pads[2 * i + 1] = th_rand_int(rng, 0, pp.ksize[i] - 1);
        }
    }
    pp.count_include_pad = (int32_t)th_rand_int(rng, 0, 1);
    pp.include_batch_in_index = (int32_t)th_rand_int(rng, 0, 1);
    pp.normalize = (int32_t)th_rand_int(rng, 0, 1);
    c->pp = pp;
    c->x.rank = sr + 2;
    c->x.dims[0] = n;
    const int cl = pp.layout == DECONV_CHANNELS_LAST;
    c->x.dims[cl ? sr + 1 : 1] = ch;
    for (int i = 0; i < sr; i++) c->x.dims[cl ? 1 + i : 2 + i] = sp[i];
    if (deconv_pool_output_shape(&c->pp, &c->x, &c->y, NULL, NULL) != DECONV_OK) return 0;
    c->xn = count_of(&c->x);
    c->yn = count_of(&c->y);
    return 1;
}

/* Inputs for every op: x, a pooled gradient g, and indices (from a real argmax, or random
 * ones of the chosen kind). */
enum {
    IDX_ARGMAX, IDX_RANDOM_OWN, IDX_RANDOM_ANY, IDX_ONE_CELL, IDX_IN_WINDOW, IDX_MOSTLY_IN_WINDOW
};

/* Channels-last: every index a random cell of its own (clipped) window and its own channel
 * (many duplicates where windows overlap), as max_unpool's pull path expects; with `stray`,
 * about one in 16 is moved one cell along the last dim, often out of its window (the pull
 * then has to redo that image). */
static void window_indices(pcase *c, uint64_t *rng, int stray) {
    const int sr = c->pp.spatial_rank;
    int64_t pads[2 * DECONV_MAX_SPATIAL];
    deconv_shape y;
    if (deconv_pool_output_shape(&c->pp, &c->x, &y, pads, NULL) != DECONV_OK) return;
    const int64_t ch = c->x.dims[sr + 1], image = c->xn / c->x.dims[0];
    for (int64_t j = 0; j < c->yn; j++) {
        int64_t r = j / ch, cell = 0, mult = 1, o[DECONV_MAX_SPATIAL];
        for (int i = sr - 1; i >= 0; i--) {
            o[i] = r % c->y.dims[1 + i];
            r /= c->y.dims[1 + i];
        }
        const int64_t b = r;
        int64_t pos[DECONV_MAX_SPATIAL];
        for (int i = 0; i < sr; i++) {
            const int64_t st = o[i] * c->pp.strides[i] - pads[2 * i];
            const int64_t a = st > 0 ? st : 0;
            const int64_t e = st + c->pp.ksize[i] < c->x.dims[1 + i] ? st + c->pp.ksize[i]
                                                                     : c->x.dims[1 + i];
            pos[i] = th_rand_int(rng, a, e - 1);
        }
        if (stray && th_rand_int(rng, 0, 15) == 0) {
            pos[sr - 1] += th_rand_int(rng, 0, 1) ? 1 : -1;
            if (pos[sr - 1] < 0) pos[sr - 1] = 1;
            if (pos[sr - 1] >= c->x.dims[sr]) pos[sr - 1] = c->x.dims[sr] - 1;
            if (pos[sr - 1] < 0) pos[sr - 1] = 0;
        }
        for (int i = sr - 1; i >= 0; i--) {
            cell += pos[i] * mult;
            mult *= c->x.dims[1 + i];
        }
        c->idx[j] = (c->pp.include_batch_in_index ? b * image : 0) + cell * ch + j % ch;
    }
}

static void make_data(pcase *c, uint64_t *rng, int special, int idx_kind) {
    c->xd = malloc((size_t)(c->xn > 0 ? c->xn : 1) * sizeof(float));
    c->g = malloc((size_t)(c->yn > 0 ? c->yn : 1) * sizeof(float));
    c->idx = malloc((size_t)(c->yn > 0 ? c->yn : 1) * sizeof(int64_t));
    fill(c->xd, c->xn, rng, special);
    fill(c->g, c->yn, rng, special && th_rand_int(rng, 0, 1));
    const int64_t n = c->x.dims[0], image = n > 0 ? c->xn / n : 0;
    const int cl = c->pp.layout == DECONV_CHANNELS_LAST;
    const int64_t ch = c->x.dims[cl ? c->x.rank - 1 : 1];
    const int64_t pooled_image = n > 0 ? c->yn / n : 0;
    if ((idx_kind == IDX_IN_WINDOW || idx_kind == IDX_MOSTLY_IN_WINDOW) && cl && c->yn > 0 &&
        image > 0) {
        window_indices(c, rng, idx_kind == IDX_MOSTLY_IN_WINDOW);
        return;
    }
    if (idx_kind == IDX_ARGMAX || image == 0 || idx_kind >= IDX_IN_WINDOW) {
        float *tmp = malloc((size_t)(c->yn > 0 ? c->yn : 1) * sizeof(float));
        const int saved = dc_fast_isa();
        dc_fast_force_isa(DC_FAST_OFF);
        if (deconv_max_pool_with_argmax(NULL, &c->pp, &c->x, c->xd, c->xn, tmp, c->yn, c->idx,
                                        c->yn, NULL) != DECONV_OK)
            for (int64_t j = 0; j < c->yn; j++) c->idx[j] = 0;
        dc_fast_force_isa(saved == DC_FAST_OFF ? DC_FAST_OFF : -1);
        free(tmp);
        return;
    }
    for (int64_t j = 0; j < c->yn; j++) {
        const int64_t b = pooled_image > 0 ? j / pooled_image : 0;
        const int64_t bterm = c->pp.include_batch_in_index ? b * image : 0;
        int64_t cell;
        if (idx_kind == IDX_ONE_CELL) {
            cell = 0; /* every value of an image onto one cell: many cross-channel duplicates */
        } else if (idx_kind == IDX_RANDOM_OWN && cl) {
            /* own channel, any spatial cell of the own image */
            const int64_t chan = j % ch;
            cell = th_rand_int(rng, 0, image / ch - 1) * ch + chan;
        } else {
            cell = th_rand_int(rng, 0, image - 1);
        }
        c->idx[j] = bterm + cell;
        if (idx_kind == IDX_RANDOM_ANY && c->pp.include_batch_in_index)
            c->idx[j] = th_rand_int(rng, 0, c->xn - 1); /* any image */
    }
}

static deconv_status run_op(const pcase *c, int op, deconv_context *ctx, float *out,
                            int64_t *am) {
    switch (op) {
    case OP_MAX: return deconv_max_pool(ctx, &c->pp, &c->x, c->xd, c->xn, out, c->yn, NULL);
    case OP_ARGMAX:
        return deconv_max_pool_with_argmax(ctx, &c->pp, &c->x, c->xd, c->xn, out, c->yn, am,
                                           c->yn, NULL);
    case OP_AVG: return deconv_avg_pool(ctx, &c->pp, &c->x, c->xd, c->xn, out, c->yn, NULL);
    case OP_MAX_UNPOOL:
        return deconv_max_unpool(ctx, &c->pp, &c->y, c->g, c->yn, c->idx, c->yn, &c->x, out,
                                 c->xn, NULL);
    default:
        return deconv_avg_unpool(ctx, &c->pp, &c->y, c->g, c->yn, &c->x, out, c->xn, NULL);
    }
}

/* Every op of c at every ISA level and context against the reference; returns failures. */
static int check_case(const pcase *c, deconv_context *const *ctxs, int nctx, const char *tag) {
    int fails = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        const int unpool = op >= OP_MAX_UNPOOL;
        const int64_t n = unpool ? c->xn : c->yn;
        const size_t nb = (size_t)(n > 0 ? n : 1);
        float *ref = malloc(nb * sizeof(float)), *got = malloc(nb * sizeof(float));
        int64_t *ref_am = malloc(nb * sizeof(int64_t)), *got_am = malloc(nb * sizeof(int64_t));
        dc_fast_force_isa(DC_FAST_OFF);
        th_poison(ref, n);
        const deconv_status want = run_op(c, op, NULL, ref, ref_am);
        for (int isa = 0; isa < DC_ISA_COUNT; isa++) {
            if (!dc_fast_isa_supported(isa)) continue;
            dc_fast_force_isa(isa);
            for (int k = 0; k < nctx; k++) {
                th_poison(got, n);
                th_poison_i64(got_am, n);
                const deconv_status st = run_op(c, op, ctxs[k], got, got_am);
                int ok = CHECK(st == want, "%s %s isa %s ctx %d: status %d, reference %d",
                               tag, OP_NAME[op], dc_fast_isa_name(isa), k, (int)st,
                               (int)want);
                if (ok && st == DECONV_OK) {
                    const int64_t d = diff_f(got, ref, n, unpool || op == OP_AVG);
                    ok = CHECK(d < 0, "%s %s isa %s ctx %d: [%lld] = %.9g, reference %.9g", tag,
                               OP_NAME[op], dc_fast_isa_name(isa), k, (long long)d,
                               d >= 0 ? (double)got[d] : 0.0, d >= 0 ? (double)ref[d] : 0.0);
                    if (ok && op == OP_ARGMAX) {
                        const int64_t e = diff_i(got_am, ref_am, n);
                        ok = CHECK(e < 0, "%s argmax isa %s ctx %d: [%lld] = %lld, reference %lld",
                                   tag, dc_fast_isa_name(isa), k, (long long)e,
                                   e >= 0 ? (long long)got_am[e] : 0LL,
                                   e >= 0 ? (long long)ref_am[e] : 0LL);
                    }
                } else if (ok) {
                    ok = CHECK(th_is_poisoned(got, n), "%s %s: output written on error", tag,
                               OP_NAME[op]);
                }
                fails += !ok;
            }
        }
        dc_fast_force_isa(-1);
        free(ref), free(got), free(ref_am), free(got_am);
    }
    return fails;
}

static void test_random(deconv_context *const *ctxs, int nctx) {
    uint64_t rng = 0x9001;
    int cases = 0, fails = 0;
    for (int i = 0; i < 700 && fails < 5; i++) {
        pcase c;
        /* C 1..17 covers every tail of an 8-wide vector twice; some wider ones too */
        const int wide = i % 7 == 6;
        if (!make_case(&c, &rng, wide ? 18 : 1, wide ? 70 : 17)) continue;
        make_data(&c, &rng, i % 3 != 0, (int)th_rand_int(&rng, 0, 5));
        char tag[64];
        snprintf(tag, sizeof tag, "random case %d", i);
        fails += check_case(&c, ctxs, nctx, tag);
        free_case(&c);
        cases++;
    }
    CHECK(cases > 400, "only %d valid random cases", cases);
}

/* A fixed channels-last 2-D case of the given size (k3 s2 SAME unless told otherwise). */
static void fixed_case(pcase *c, int64_t n, int64_t h, int64_t w, int64_t ch, int64_t k,
                       int64_t s, deconv_padding pad) {
    memset(c, 0, sizeof *c);
    deconv_pool_params pp = DECONV_POOL_PARAMS_INIT;
    pp.padding = pad;
    pp.ksize[0] = pp.ksize[1] = k;
    pp.strides[0] = pp.strides[1] = s;
    c->pp = pp;
    c->x.rank = 4;
    c->x.dims[0] = n;
    c->x.dims[1] = h;
    c->x.dims[2] = w;
    c->x.dims[3] = ch;
    CHECK(deconv_pool_output_shape(&c->pp, &c->x, &c->y, NULL, NULL) == DECONV_OK, "fixed case");
    c->xn = count_of(&c->x);
    c->yn = count_of(&c->y);
}

/* NaNs become a tie value: special data (ties, infinities, -0) that keeps a NaN-free pass. */
static void strip_nans(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (isnan(p[i])) p[i] = 0.5f;
}

static void test_fixed(deconv_context *const *ctxs, int nctx) {
    uint64_t rng = 77;
    pcase c;
    /* max_pool_with_argmax's AVX-512 kernel (C a multiple of 64): plain values; ties,
     * infinities and -0 without NaNs; NaNs (such pixels take the exact AVX2 step), with
     * include_batch_in_index; and streamed without NaNs. */
    static const struct {
        int64_t n, h, w, ch, k, s;
        deconv_padding pad;
        int special, nans, batch_index;
    } wide[] = {
        {2, 9, 11, 64, 3, 2, DECONV_PADDING_SAME, 0, 0, 0},
        {2, 8, 9, 128, 2, 2, DECONV_PADDING_VALID, 1, 0, 0},
        {3, 7, 7, 192, 3, 1, DECONV_PADDING_SAME, 1, 1, 1},
        {1, 224, 224, 64, 3, 2, DECONV_PADDING_SAME, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++) {
        fixed_case(&c, wide[i].n, wide[i].h, wide[i].w, wide[i].ch, wide[i].k, wide[i].s,
                   wide[i].pad);
        c.pp.include_batch_in_index = wide[i].batch_index;
        make_data(&c, &rng, wide[i].special, IDX_ARGMAX);
        if (!wide[i].nans) strip_nans(c.xd, c.xn);
        char tag[64];
        snprintf(tag, sizeof tag, "argmax %lldx%lldx%lld", (long long)wide[i].h,
                 (long long)wide[i].w, (long long)wide[i].ch);
        check_case(&c, ctxs, nctx, tag);
        free_case(&c);
    }
    /* Large enough for non-temporal stores (outputs >= 8 MiB) on the benchmark's geometry. */
    fixed_case(&c, 1, 224, 224, 64, 3, 2, DECONV_PADDING_SAME);
    make_data(&c, &rng, 1, IDX_ARGMAX);
    check_case(&c, ctxs, nctx, "streamed 224x224x64");
    free_case(&c);
    /* Rows too long for the unpool ring: the output image is written in place. */
    fixed_case(&c, 3, 7, 200, 130, 3, 2, DECONV_PADDING_SAME);
    make_data(&c, &rng, 1, IDX_ARGMAX);
    check_case(&c, ctxs, nctx, "in-place unpool");
    free_case(&c);
    /* stride > kernel: rows no window reaches are flushed as zeros */
    fixed_case(&c, 2, 13, 9, 16, 2, 3, DECONV_PADDING_VALID);
    make_data(&c, &rng, 1, IDX_ARGMAX);
    check_case(&c, ctxs, nctx, "gaps");
    free_case(&c);
    /* include_batch_in_index with indices into other images */
    fixed_case(&c, 4, 9, 9, 8, 3, 2, DECONV_PADDING_SAME);
    c.pp.include_batch_in_index = 1;
    make_data(&c, &rng, 0, IDX_RANDOM_ANY);
    check_case(&c, ctxs, nctx, "batch index across images");
    free_case(&c);
    /* every value of an image onto one cell: sums in the reference's order */
    fixed_case(&c, 3, 9, 9, 5, 3, 2, DECONV_PADDING_SAME);
    make_data(&c, &rng, 0, IDX_ONE_CELL);
    check_case(&c, ctxs, nctx, "one cell");
    free_case(&c);
}

/* max_unpool's pull (AVX-512 level; other levels run the same cases): every power-of-two C
 * (partial vectors below 16, single vectors, blocks of 64), indices anywhere in their windows
 * (duplicates), a few outside them (the image is redone), batch-wide indices, 3-D windows,
 * and a streamed output. */
/* check_case on a pull case, then what the pull did at the AVX-512 level: it took the case
 * (pulled >= 0: at least that many images; -1: none, the ring ran) and redid `redone` images
 * (-1: any number, for stray indices). A too-strict column table or kernel would otherwise
 * pass: the scatter redoes what the pull misses, with the same bits. */
static void check_pull(const pcase *c, deconv_context *const *ctxs, int nctx, const char *tag,
                       int64_t pulled, int64_t redone) {
#if defined(__x86_64__) || defined(__i386__)
    int64_t n[2];
    dc_pool_pull_counts(n, 1);
    check_case(c, ctxs, nctx, tag);
    dc_pool_pull_counts(n, 1);
    if (!dc_fast_isa_supported(DC_ISA_AVX512)) return;
    if (pulled < 0)
        CHECK(n[0] == 0, "%s: %lld images pulled, want the ring", tag, (long long)n[0]);
    else
        CHECK(n[0] >= pulled, "%s: %lld images pulled, want >= %lld", tag, (long long)n[0],
              (long long)pulled);
    if (redone >= 0)
        CHECK(n[1] == redone, "%s: %lld images redone, want %lld", tag, (long long)n[1],
              (long long)redone);
#else
    (void)pulled, (void)redone;
    check_case(c, ctxs, nctx, tag);
#endif
}

static void test_pull(deconv_context *const *ctxs, int nctx) {
    uint64_t rng = 4242;
    pcase c;
    /* images per case run at the AVX-512 level: one per image and context */
    const int64_t runs = nctx;
    const int64_t chans[] = {1, 2, 4, 8, 16, 32, 64, 128};
    for (size_t i = 0; i < sizeof chans / sizeof chans[0]; i++)
        for (int kind = IDX_IN_WINDOW; kind <= IDX_MOSTLY_IN_WINDOW; kind++) {
            char tag[64];
            fixed_case(&c, 3, 11, 13, chans[i], 3, 2, DECONV_PADDING_SAME);
            c.pp.include_batch_in_index = (int32_t)(i % 2);
            make_data(&c, &rng, 1, kind);
            snprintf(tag, sizeof tag, "pull C %lld kind %d", (long long)chans[i], kind);
            check_pull(&c, ctxs, nctx, tag, 3 * runs, kind == IDX_IN_WINDOW ? 0 : -1);
            free_case(&c);
            /* k 4 s 1: 16 windows over a cell, the most the pull takes */
            fixed_case(&c, 2, 9, 10, chans[i], 4, 1, DECONV_PADDING_SAME);
            make_data(&c, &rng, 0, kind);
            snprintf(tag, sizeof tag, "pull k4s1 C %lld kind %d", (long long)chans[i], kind);
            check_pull(&c, ctxs, nctx, tag, 2 * runs, kind == IDX_IN_WINDOW ? 0 : -1);
            free_case(&c);
        }
    /* The column table (pool_fast.c, pull_table) along the last dim: windows that leave
     * cells uncovered (k 2 s 3), a window clipped by a 2-cell pad before (EXPLICIT, k 5 s 2:
     * three columns per cell), VALID windows with a ragged end (k 3 s 3), and a 1-D row too
     * long for the table (its ring path must give the same bits). */
    fixed_case(&c, 2, 7, 17, 16, 2, 3, DECONV_PADDING_VALID);
    make_data(&c, &rng, 0, IDX_MOSTLY_IN_WINDOW);
    check_pull(&c, ctxs, nctx, "pull k2s3 gaps", 2 * runs, -1);
    free_case(&c);
    memset(&c, 0, sizeof c);
    c.pp = (deconv_pool_params)DECONV_POOL_PARAMS_INIT;
    c.pp.padding = DECONV_PADDING_EXPLICIT;
    c.pp.ksize[0] = 3, c.pp.ksize[1] = 5, c.pp.strides[0] = 1, c.pp.strides[1] = 2;
    c.pp.pads[0] = 1, c.pp.pads[1] = 0, c.pp.pads[2] = 2, c.pp.pads[3] = 1;
    c.x.rank = 4;
    c.x.dims[0] = 2, c.x.dims[1] = 6, c.x.dims[2] = 15, c.x.dims[3] = 32;
    CHECK(deconv_pool_output_shape(&c.pp, &c.x, &c.y, NULL, NULL) == DECONV_OK, "explicit");
    c.xn = count_of(&c.x);
    c.yn = count_of(&c.y);
    make_data(&c, &rng, 1, IDX_IN_WINDOW);
    check_pull(&c, ctxs, nctx, "pull explicit k5s2 pads 2/1", 2 * runs, 0);
    free_case(&c);
    fixed_case(&c, 1, 10, 20, 64, 3, 3, DECONV_PADDING_VALID);
    make_data(&c, &rng, 0, IDX_IN_WINDOW);
    check_pull(&c, ctxs, nctx, "pull valid k3s3", runs, 0);
    free_case(&c);
    memset(&c, 0, sizeof c);
    c.pp = (deconv_pool_params)DECONV_POOL_PARAMS_INIT;
    c.pp.spatial_rank = 1;
    c.pp.padding = DECONV_PADDING_SAME;
    c.pp.ksize[0] = 3, c.pp.strides[0] = 2;
    c.x.rank = 3;
    c.x.dims[0] = 2, c.x.dims[1] = 6000, c.x.dims[2] = 4;
    CHECK(deconv_pool_output_shape(&c.pp, &c.x, &c.y, NULL, NULL) == DECONV_OK, "1-D");
    c.xn = count_of(&c.x);
    c.yn = count_of(&c.y);
    make_data(&c, &rng, 0, IDX_MOSTLY_IN_WINDOW);
    check_pull(&c, ctxs, nctx, "pull 1-D row past the table limit", -1, 0);
    free_case(&c);
    /* 3-D: windows over depth too */
    memset(&c, 0, sizeof c);
    c.pp = (deconv_pool_params)DECONV_POOL_PARAMS_INIT;
    c.pp.spatial_rank = 3;
    c.pp.padding = DECONV_PADDING_SAME;
    for (int i = 0; i < 3; i++) c.pp.ksize[i] = c.pp.strides[i] = 2;
    c.x.rank = 5;
    c.x.dims[0] = 2, c.x.dims[1] = 5, c.x.dims[2] = 6, c.x.dims[3] = 7, c.x.dims[4] = 16;
    CHECK(deconv_pool_output_shape(&c.pp, &c.x, &c.y, NULL, NULL) == DECONV_OK, "3-D case");
    c.xn = count_of(&c.x);
    c.yn = count_of(&c.y);
    make_data(&c, &rng, 1, IDX_MOSTLY_IN_WINDOW);
    check_pull(&c, ctxs, nctx, "pull 3-D", 2 * runs, -1);
    free_case(&c);
    /* a huge window (SAME, k 2^38): the pull's candidate count must not overflow */
    fixed_case(&c, 2, 3, 3, 4, (int64_t)1 << 38, 1, DECONV_PADDING_SAME);
    make_data(&c, &rng, 0, IDX_IN_WINDOW);
    check_pull(&c, ctxs, nctx, "pull huge window", -1, 0); /* declined */
    free_case(&c);
    /* streamed (output >= 8 MiB), with one stray index: images pulled and one redone */
    fixed_case(&c, 2, 112, 112, 128, 3, 2, DECONV_PADDING_SAME);
    make_data(&c, &rng, 0, IDX_IN_WINDOW);
    c.idx[c.yn - 5] = c.yn > 0 ? (c.idx[c.yn - 5] + 128 * 6) % (c.xn / 2) : 0;
    check_pull(&c, ctxs, nctx, "pull streamed", 2 * runs, runs);
    free_case(&c);
}

/* Misaligned outputs (no streaming) of the large case, and a caller workspace too small for
 * the ring (max_unpool then runs the reference serially, same bits). */
static void test_alignment_and_workspace(deconv_context *ctx) {
    uint64_t rng = 5;
    pcase c;
    fixed_case(&c, 1, 224, 224, 64, 3, 2, DECONV_PADDING_SAME);
    make_data(&c, &rng, 0, IDX_ARGMAX);
    float *ref = malloc((size_t)c.xn * sizeof(float)), *buf = malloc((size_t)(c.xn + 1) * 4);
    int64_t *ref_am = malloc((size_t)c.yn * 8), *am = malloc((size_t)(c.yn + 1) * 8);
    dc_fast_force_isa(DC_FAST_OFF);
    CHECK(run_op(&c, OP_ARGMAX, NULL, ref, ref_am) == DECONV_OK, "reference argmax");
    dc_fast_force_isa(-1);
    CHECK(run_op(&c, OP_ARGMAX, ctx, buf + 1, am + 1) == DECONV_OK, "misaligned argmax");
    CHECK(diff_f(buf + 1, ref, c.yn, 0) < 0 && diff_i(am + 1, ref_am, c.yn) < 0,
          "misaligned outputs give the same bits");
    dc_fast_force_isa(DC_FAST_OFF);
    CHECK(run_op(&c, OP_MAX_UNPOOL, NULL, ref, NULL) == DECONV_OK, "reference unpool");
    dc_fast_force_isa(-1);
    CHECK(run_op(&c, OP_MAX_UNPOOL, ctx, buf + 1, NULL) == DECONV_OK, "misaligned unpool");
    CHECK(diff_f(buf + 1, ref, c.xn, 1) < 0, "misaligned unpool output gives the same bits");
    char small[16];
    CHECK(deconv_context_set_workspace(ctx, small, sizeof small, NULL) == DECONV_OK, "set ws");
    th_poison(buf, c.xn);
    CHECK(run_op(&c, OP_MAX_UNPOOL, ctx, buf, NULL) == DECONV_OK,
          "max_unpool with a tiny caller workspace still runs");
    CHECK(diff_f(buf, ref, c.xn, 1) < 0, "tiny workspace: same bits");
    CHECK(deconv_context_set_workspace(ctx, NULL, 0, NULL) == DECONV_OK, "unset ws");
    free(ref), free(buf), free(ref_am), free(am);
    free_case(&c);
}

/* The pull's outputs at each alignment (64: 512-bit streaming stores, 16: 128-bit ones,
 * 4: plain stores), and a caller workspace that holds the ring but not the pull's codes
 * (the ring path then runs: same bits). */
static void test_pull_alignment_and_workspace(deconv_context *ctx1) {
    uint64_t rng = 6;
    pcase c;
    fixed_case(&c, 2, 112, 112, 128, 3, 2, DECONV_PADDING_SAME); /* 12.8 MB out: streamed */
    make_data(&c, &rng, 0, IDX_IN_WINDOW);
    float *ref = malloc((size_t)c.xn * sizeof(float)), *buf = malloc((size_t)(c.xn + 16) * 4);
    dc_fast_force_isa(DC_FAST_OFF);
    CHECK(run_op(&c, OP_MAX_UNPOOL, NULL, ref, NULL) == DECONV_OK, "reference unpool");
    dc_fast_force_isa(-1);
    float *a64 = buf + (16 - ((uintptr_t)buf / 4) % 16) % 16; /* malloc gives 4-aligned floats */
    float *const outs[3] = {a64, a64 + 4, a64 + 1};
    for (int k = 0; k < 3; k++) {
        th_poison(outs[k], c.xn);
        CHECK(run_op(&c, OP_MAX_UNPOOL, ctx1, outs[k], NULL) == DECONV_OK, "pull unpool %d", k);
        CHECK(diff_f(outs[k], ref, c.xn, 1) < 0, "pull output offset %d floats: same bits",
              (int)((outs[k] - a64) % 16));
    }
    const size_t mid = 400 << 10; /* the 1-thread ring needs 256 KiB, the codes 785 KiB */
    void *ws = malloc(mid);
    CHECK(deconv_context_set_workspace(ctx1, ws, mid, NULL) == DECONV_OK, "set ws");
    th_poison(a64, c.xn);
    CHECK(run_op(&c, OP_MAX_UNPOOL, ctx1, a64, NULL) == DECONV_OK,
          "unpool, workspace for the ring");
    CHECK(diff_f(a64, ref, c.xn, 1) < 0, "workspace for the ring only: same bits");
    CHECK(deconv_context_set_workspace(ctx1, NULL, 0, NULL) == DECONV_OK, "unset ws");
    free(ws), free(ref), free(buf);
    free_case(&c);
}

/* The parallel prescan names the first bad index whichever thread finds it, and writes
 * nothing. */
static void test_index_errors(deconv_context *const *ctxs, int nctx) {
    uint64_t rng = 11;
    pcase c;
    fixed_case(&c, 4, 40, 40, 16, 3, 2, DECONV_PADDING_SAME);
    make_data(&c, &rng, 0, IDX_ARGMAX);
    const int64_t bad[3][2] = {{c.yn - 1, -1}, {c.yn / 2 + 3, c.yn - 2}, {5, c.yn / 2}};
    float *out = malloc((size_t)c.xn * sizeof(float));
    for (int b = 0; b < 3; b++) {
        int64_t saved[2] = {0, 0};
        for (int k = 0; k < 2; k++) {
            if (bad[b][k] < 0) continue;
            saved[k] = c.idx[bad[b][k]];
            c.idx[bad[b][k]] = k ? -7 : c.xn / 4; /* past one image / negative */
        }
        char want[64];
        snprintf(want, sizeof want, "argmax[%lld]", (long long)bad[b][0]);
        for (int k = 0; k < nctx; k++) {
            deconv_error e;
            th_poison(out, c.xn);
            const deconv_status st = deconv_max_unpool(ctxs[k], &c.pp, &c.y, c.g, c.yn, c.idx,
                                                       c.yn, &c.x, out, c.xn, &e);
            CHECK(st == DECONV_ERR_INDEX_OUT_OF_RANGE && strstr(e.message, want),
                  "bad index set %d ctx %d: status %d, message '%s', want '%s'", b, k, (int)st,
                  e.message, want);
            CHECK(th_is_poisoned(out, c.xn), "bad index set %d ctx %d: output written", b, k);
        }
        for (int k = 0; k < 2; k++)
            if (bad[b][k] >= 0) c.idx[bad[b][k]] = saved[k];
    }
    free(out);
    free_case(&c);
}

void suite_pool_fast(void) {
    deconv_context *c1 = NULL, *c3 = NULL;
    CHECK(deconv_context_create(1, &c1, NULL) == DECONV_OK, "context 1");
    CHECK(deconv_context_create(3, &c3, NULL) == DECONV_OK, "context 3");
    deconv_context *ctxs[3] = {NULL, c1, c3};
    test_random(ctxs, 3);
    test_fixed(ctxs, 3);
    test_pull(ctxs, 3);
    test_alignment_and_workspace(c3);
    test_pull_alignment_and_workspace(c1);
    test_index_errors(ctxs, 3);
    dc_fast_force_isa(-1);
    deconv_context_destroy(c1);
    deconv_context_destroy(c3);
}
