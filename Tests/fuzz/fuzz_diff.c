/* fuzz_diff.c - differential libFuzzer target: on small valid problems the production path
 * (the public API, which dispatch.c may send to a fast kernel) must agree with the reference
 * kernels of internal.h (dc_ref_conv_plan, dc_ref_max_pool, ...) run on a problem built here
 * from the public shape queries; and the result must be bit-identical for a NULL context and
 * a 3-thread context, at every fast-kernel ISA level this CPU supports (and with the fast
 * path off), and for the same problem prepared (deconv_prepared_conv_*) at that level. Conv results may differ from the double-accumulating reference by rounding only:
 * |fast - ref| <= (terms + 2) * eps * sum|x * w| (+ bias), scaled by the activation's
 * Lipschitz constant, plus 4 eps * |ref| for the activation's own rounding. Non-finite
 * reference results must be matched exactly in kind. */
#include "fuzz_common.h"

#include "internal.h"
#include "fast/fast.h"

#include <math.h>

#define LIMIT ((int64_t)1 << 14) /* elements per tensor */
/* The large tier (first byte LARGE_OP): problems big enough for conv_wino (32+ channels and
 * 192+ tiles of 2 x 2 outputs per phase, e.g. 12 images of 9 x 9 into a transposed k4 s2),
 * under a multiply-add budget. Its inputs take seconds under ASan, so they are kept out of
 * the fuzzing corpus (Tests/fuzz/regress/diff, run once by `make fuzz`), and the random walk
 * reaches the tier only through that one byte value: with them in the corpus, the mutations
 * of the large inputs took 6x fewer executions per second. */
#define LARGE_OP 0xFE
#define LARGE_LIMIT ((int64_t)1 << 17)
#define LARGE_MACS ((double)(1 << 25))

static deconv_context *g_ctx;

static void layout_of(const deconv_shape *s, int32_t sr, deconv_layout lay, dc_layout3 *out) {
    dc_layout_from_shape(s, sr, lay, out);
}

/* Runs a reference plan over all its units on the calling thread. */
static void run_ref(const dc_conv_problem *pr, const float *x, const float *w, const float *b,
                    float *y) {
    dc_conv_plan plan;
    if (pr->transposed) dc_ref_conv_transpose_plan(pr, &plan);
    else dc_ref_conv_plan(pr, &plan);
    void *ws = plan.workspace_bytes ? malloc(plan.workspace_bytes) : NULL;
    dc_conv_args a;
    a.p = pr;
    a.x = x;
    a.w = w;
    a.bias = b;
    a.y = y;
    a.workspace = ws;
    a.workspace_size = plan.workspace_bytes;
    a.num_threads = 1;
    a.weights_bad = NULL;
    if (plan.units > 0) plan.run(&a, 0, plan.units, 0);
    free(ws);
}

static int kind(float v) { return isnan(v) ? 2 : isinf(v) ? (v > 0 ? 3 : 4) : 0; }

static void compare(const char *what, const float *got, const float *ref, const float *mag,
                    int64_t n, double terms, double lip, int exact) {
    for (int64_t i = 0; i < n; i++) {
        if (kind(ref[i]) || kind(got[i])) {
            if (kind(ref[i]) != kind(got[i]))
                FUZZ_FAIL("%s[%lld]: production %g, reference %g", what, (long long)i,
                          (double)got[i], (double)ref[i]);
            continue;
        }
        if (exact) {
            if (memcmp(&got[i], &ref[i], sizeof(float)) != 0)
                FUZZ_FAIL("%s[%lld]: production %.9g, reference %.9g (must be identical)", what,
                          (long long)i, (double)got[i], (double)ref[i]);
            continue;
        }
        /* + a few ulps of the result: the activation rounds on its own scale, not the sum's
         * (sigmoid of a sum of magnitude 0.03 is 0.49, and float 1 + expf(-v) moves it by
         * 2 ulps when v moves by one; seed regress-sigmoid-output-rounding) */
        const double tol = (terms + 2.0) * 1.2e-7 * (double)mag[i] * lip +
                           4.0 * 1.2e-7 * fabs((double)ref[i]) + 1e-37;
        if (fabs((double)got[i] - (double)ref[i]) > tol)
            FUZZ_FAIL("%s[%lld]: production %.9g, reference %.9g, tolerance %.3g (terms %g, "
                      "magnitude %.9g, lipschitz %g)", what, (long long)i, (double)got[i],
                      (double)ref[i], tol, terms, (double)mag[i], lip);
    }
}

static int isa_levels(int levels[DC_ISA_COUNT + 1]) {
    int n = 0;
    levels[n++] = DC_FAST_OFF;
    for (int isa = 0; isa < DC_ISA_COUNT; isa++)
        if (dc_fast_isa_supported(isa)) levels[n++] = isa;
    return n;
}

/* Channels per group from one byte: 1..9 (every tail of the small kernels), and from the top
 * 13 byte values the counts that reach the kernels for many input channels (conv_dot1's dot1
 * from 8 and dotn from 16 channels, channel padding to 8 and 16, several 16-lane steps).
 * Bytes below 243 mean what they did before the top values were added (regress seeds). */
static int64_t channels(uint8_t b) {
    static const int64_t wide[13] = {16, 17, 24, 31, 32, 33, 40, 47, 48, 63, 64, 65, 96};
    return b >= 243 ? wide[b - 243] : 1 + b % 9;
}

/* Images and spatial extents from one byte: b % 3 and b % mod, and from the top 6 byte values
 * sizes that reach the drivers' long runs: 12 or more images give the implicit GEMM several
 * tiles of one position in a row (6x64: 6 images each), lines of 14 or more pixels give
 * conv_im2col runs of whole 7-pixel tiles. Bytes below 250 mean what they did before. */
static int64_t images(uint8_t b) {
    static const int64_t big[6] = {6, 7, 12, 13, 18, 20};
    return b >= 250 ? big[b - 250] : b % 3;
}
static int64_t extent(uint8_t b, int64_t mod) {
    static const int64_t big[6] = {14, 15, 16, 21, 28, 29};
    return b >= 250 ? big[b - 250] : b % mod;
}

/* Kernel extents from one byte: 1 + b % 4, and from the top 4 byte values 5 (DCGAN's 5 x 5,
 * which conv_wino_few takes at stride 2 with 3 output channels). Bytes below 252 mean what
 * they did before. */
static int64_t kernel_extent(uint8_t b) { return b >= 252 ? 5 : 1 + b % 4; }

/* large: the large tier, where the fast path off (the reference again, through the public
 * API, four times) is not run; run_ref is the reference. */
static void diff_conv(fz *f, int large) {
    const int64_t limit = large ? LARGE_LIMIT : LIMIT;
    const int transposed = fz_u8(f) & 1;
    deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
    p.spatial_rank = 1 + fz_u8(f) % 3;
    p.layout = (deconv_layout)(fz_u8(f) & 1);
    p.padding = (deconv_padding)(fz_u8(f) % 3);
    const int32_t sr = p.spatial_rank, lay = p.layout == DECONV_CHANNELS_FIRST;
    const int cax = lay ? 1 : sr + 1;
    for (int i = 0; i < sr; i++) {
        p.strides[i] = 1 + fz_u8(f) % 3;
        p.dilations[i] = 1 + fz_u8(f) % 2;
        p.pads[2 * i] = fz_u8(f) % 3;
        p.pads[2 * i + 1] = fz_u8(f) % 3;
    }
    p.activation = (deconv_activation)(fz_u8(f) % 7);
    p.alpha = (float)((int)(fz_u8(f) % 9) - 4) / 4.0f;
    p.clamp_min = -(float)(fz_u8(f) % 4) / 4.0f;
    p.clamp_max = (float)(fz_u8(f) % 4) / 4.0f;
    const int64_t groups = 1 + fz_u8(f) % 3, cin_g = channels(fz_u8(f)), cout_g = channels(fz_u8(f));
    deconv_shape in, w, os;
    memset(&in, 0, sizeof in);
    memset(&w, 0, sizeof w);
    memset(&os, 0, sizeof os);
    in.rank = w.rank = os.rank = sr + 2;
    in.dims[0] = images(fz_u8(f));
    in.dims[cax] = transposed ? groups * cout_g : groups * cin_g;
    for (int i = 0; i < sr; i++) {
        in.dims[lay ? 2 + i : 1 + i] = extent(fz_u8(f), sr == 3 ? 6 : 10);
        w.dims[i] = kernel_extent(fz_u8(f));
    }
    w.dims[sr] = cin_g;
    w.dims[sr + 1] = groups * cout_g;
    deconv_error e;
    int64_t pads[6];
    if (transposed) {
        int64_t lo[3], hi[3];
        if (deconv_conv_transpose_output_range(&p, &in, &w, lo, hi, &e) != DECONV_OK) return;
        os.dims[0] = in.dims[0];
        os.dims[cax] = groups * cin_g;
        for (int i = 0; i < sr; i++) {
            const int64_t l = lo[i] < 0 ? 0 : lo[i];
            if (hi[i] < l) return;
            os.dims[lay ? 2 + i : 1 + i] = l + (int64_t)(fz_u8(f) % (uint64_t)(hi[i] - l + 1));
        }
        if (deconv_conv_transpose_pads(&p, &in, &w, &os, pads, &e) != DECONV_OK)
            FUZZ_FAIL("output_range gave a size that transpose_pads rejects: %s", e.message);
    } else if (deconv_conv_output_shape(&p, &in, &w, &os, pads, &e) != DECONV_OK) {
        return;
    }
    const int64_t xn = fz_shape_count(&in, limit), wn = fz_shape_count(&w, limit),
                  yn = fz_shape_count(&os, limit);
    if (xn < 0 || wn < 0 || yn < 0) return;
    /* a transposed conv's output gets about 1 / prod(strides) of the taps */
    double macs = (double)yn * (double)(wn / (os.dims[cax] > 0 ? os.dims[cax] : 1));
    for (int i = 0; i < sr && transposed; i++) macs /= (double)p.strides[i];
    if (large && macs > LARGE_MACS) return;
    const int64_t oc = os.dims[cax];
    const int has_bias = fz_u8(f) & 1;
    const int64_t bn = has_bias ? oc : 0;

    float *x = fz_alloc(xn, sizeof(float)), *wd = fz_alloc(wn, sizeof(float)),
          *b = fz_alloc(bn, sizeof(float));
    const uint64_t seed = fz_u64(f);
    fz_fill(x, xn, seed);
    fz_fill(wd, wn, seed + 1);
    fz_fill(b, bn, seed + 2);
    /* A few special values in the input or the weights: NaN, infinities, subnormals, signed
     * zeros. Padding is never multiplied (deconv.h), so a non-finite weight on a padding tap
     * must leave the output finite on every path. */
    const uint8_t spec = fz_u8(f);
    if (spec >= 192) {
        static const float sv[] = {NAN, INFINITY, -INFINITY, 1e-40f, -0.0f, 0.0f};
        uint64_t s = seed;
        for (int k = 0; k < 3; k++) {
            const int to_x = fz_u8(f) & 1;
            const float v = sv[fz_u8(f) % 6];
            float *t = to_x ? x : wd;
            const int64_t n = to_x ? xn : wn;
            if (n > 0) t[fz_rng(&s) % (uint64_t)n] = v;
        }
    }

    /* The problem as conv_prepare resolves it, from the public queries. */
    dc_conv_problem pr;
    memset(&pr, 0, sizeof pr);
    pr.transposed = transposed;
    pr.spatial_rank = sr;
    pr.layout = p.layout;
    layout_of(&in, sr, p.layout, &pr.x);
    layout_of(&os, sr, p.layout, &pr.y);
    pr.groups = groups;
    pr.cin_g = transposed ? in.dims[cax] / groups : cin_g;
    pr.cout_g = transposed ? cin_g : oc / groups;
    const int lead = 3 - sr;
    for (int j = 0; j < 3; j++) {
        const int i = j - lead;
        pr.k[j] = i >= 0 ? w.dims[i] : 1;
        pr.s[j] = i >= 0 ? p.strides[i] : 1;
        pr.d[j] = i >= 0 ? p.dilations[i] : 1;
        pr.pb[j] = i >= 0 ? pads[2 * i] : 0;
        pr.pa[j] = i >= 0 ? pads[2 * i + 1] : 0;
    }
    pr.w_stride_k[2] = transposed ? pr.cout_g * in.dims[cax] : pr.cin_g * oc;
    pr.w_stride_k[1] = pr.w_stride_k[2] * pr.k[2];
    pr.w_stride_k[0] = pr.w_stride_k[1] * pr.k[1];
    pr.w_count = pr.k[0] * pr.k[1] * pr.k[2] * pr.w_stride_k[2];
    if (pr.w_count != wn) FUZZ_FAIL("filter count %lld vs %lld", (long long)pr.w_count, (long long)wn);
    pr.has_bias = has_bias;
    pr.activation = p.activation;
    pr.alpha = p.alpha;
    pr.clamp_min = p.clamp_min;
    pr.clamp_max = p.clamp_max;

    float *ref = fz_alloc(yn, sizeof(float)), *mag = fz_alloc(yn, sizeof(float));
    run_ref(&pr, x, wd, has_bias ? b : NULL, ref);
    /* magnitudes: the same sums over |x| * |w| (+ |bias|), no activation */
    float *ax = fz_alloc(xn, sizeof(float)), *aw = fz_alloc(wn, sizeof(float)),
          *ab = fz_alloc(bn, sizeof(float));
    for (int64_t i = 0; i < xn; i++) ax[i] = fabsf(x[i]);
    for (int64_t i = 0; i < wn; i++) aw[i] = fabsf(wd[i]);
    for (int64_t i = 0; i < bn; i++) ab[i] = fabsf(b[i]);
    dc_conv_problem prm = pr;
    prm.activation = DECONV_ACTIVATION_NONE;
    run_ref(&prm, ax, aw, has_bias ? ab : NULL, mag);
    const double terms = (double)(pr.k[0] * pr.k[1] * pr.k[2]) *
                         (double)(pr.cin_g > pr.cout_g ? pr.cin_g : pr.cout_g);
    const double lip = p.activation == DECONV_ACTIVATION_LEAKY_RELU && fabsf(p.alpha) > 1.0f
                           ? fabs((double)p.alpha) : 1.0;

    float *y1 = fz_alloc(yn, sizeof(float)), *y2 = fz_alloc(yn, sizeof(float));
    int levels[DC_ISA_COUNT + 1]; /* DC_FAST_OFF and every level */
    const int nl = isa_levels(levels);
    for (int l = 0; l < nl; l++) {
        if (levels[l] == DC_FAST_OFF && large) continue;
        if (!dc_fast_force_isa(levels[l])) FUZZ_FAIL("cannot force ISA level %d", levels[l]);
        for (int t = 0; t < 2; t++) {
            float *y = t ? y2 : y1;
            fz_poison(y, yn);
            const deconv_status st =
                transposed ? deconv_conv_transpose(t ? g_ctx : NULL, &p, &in, x, xn, &w, wd, wn,
                                                   has_bias ? b : NULL, bn, &os, y, yn, &e)
                           : deconv_conv(t ? g_ctx : NULL, &p, &in, x, xn, &w, wd, wn,
                                         has_bias ? b : NULL, bn, y, yn, &e);
            if (st != DECONV_OK) FUZZ_FAIL("valid problem failed: %s", e.message);
        }
        if (memcmp(y1, y2, (size_t)yn * sizeof(float)) != 0)
            FUZZ_FAIL("ISA level %d: NULL context and 3 threads differ", levels[l]);
        compare(transposed ? "conv_transpose" : "conv", y1, ref, mag, yn, terms, lip,
                levels[l] == DC_FAST_OFF);
        /* The same problem prepared at this level (its weights packed once, and the kernels'
         * prefetch of the next unit's weights): bitwise the stateless output, both contexts. */
        deconv_prepared_conv *pc = NULL;
        const deconv_status pst =
            transposed ? deconv_prepared_conv_transpose_create(&p, &in, &w, wd, wn, &os, &pc, &e)
                       : deconv_prepared_conv_create(&p, &in, &w, wd, wn, &pc, &e);
        if (pst != DECONV_OK) FUZZ_FAIL("prepare of a valid problem failed: %s", e.message);
        for (int t = 0; t < 2; t++) {
            fz_poison(y2, yn);
            if (deconv_prepared_conv_run(t ? g_ctx : NULL, pc, x, xn, has_bias ? b : NULL, bn, y2,
                                         yn, &e) != DECONV_OK)
                FUZZ_FAIL("prepared run failed: %s", e.message);
            if (memcmp(y1, y2, (size_t)yn * sizeof(float)) != 0)
                FUZZ_FAIL("ISA level %d: prepared (%s) and stateless differ", levels[l],
                          t ? "3 threads" : "NULL context");
        }
        deconv_prepared_conv_destroy(pc);
    }
    dc_fast_force_isa(-1);
    free(x), free(wd), free(b), free(ref), free(mag), free(ax), free(aw), free(ab);
    free(y1), free(y2);
}

/* Pooling channels: mostly 1..9 (every tail of an 8-lane vector), sometimes wide ones,
 * multiples of 64 among them (the AVX-512 argmax kernel). */
static int64_t pool_channels(uint8_t b) {
    static const int64_t wide[6] = {16, 32, 63, 64, 65, 128};
    return b >= 250 ? wide[b - 250] : 1 + b % 9;
}

static void diff_pool(fz *f) {
    deconv_pool_params p = DECONV_POOL_PARAMS_INIT;
    p.spatial_rank = 1 + fz_u8(f) % 3;
    p.layout = (deconv_layout)(fz_u8(f) & 1);
    p.padding = (deconv_padding)(fz_u8(f) % 3);
    const int32_t sr = p.spatial_rank, lay = p.layout == DECONV_CHANNELS_FIRST;
    for (int i = 0; i < sr; i++) {
        p.ksize[i] = 1 + fz_u8(f) % 4;
        p.strides[i] = 1 + fz_u8(f) % 3;
        p.pads[2 * i] = fz_u8(f) % p.ksize[i];
        p.pads[2 * i + 1] = fz_u8(f) % p.ksize[i];
    }
    p.count_include_pad = fz_u8(f) & 1;
    p.include_batch_in_index = fz_u8(f) & 1;
    p.normalize = fz_u8(f) & 1;
    deconv_shape xs, ys;
    memset(&xs, 0, sizeof xs);
    xs.rank = sr + 2;
    xs.dims[0] = fz_u8(f) % 3;
    xs.dims[lay ? 1 : sr + 1] = pool_channels(fz_u8(f));
    for (int i = 0; i < sr; i++) xs.dims[lay ? 2 + i : 1 + i] = 1 + fz_u8(f) % 9;
    deconv_error e;
    int64_t pads[6];
    if (deconv_pool_output_shape(&p, &xs, &ys, pads, &e) != DECONV_OK) return;
    const int64_t xn = fz_shape_count(&xs, LIMIT), yn = fz_shape_count(&ys, LIMIT);
    if (xn < 0 || yn < 0) return;

    dc_pool_problem pr;
    memset(&pr, 0, sizeof pr);
    pr.spatial_rank = sr;
    pr.layout = p.layout;
    layout_of(&xs, sr, p.layout, &pr.x);
    layout_of(&ys, sr, p.layout, &pr.y);
    const int lead = 3 - sr;
    for (int j = 0; j < 3; j++) {
        const int i = j - lead;
        pr.k[j] = i >= 0 ? p.ksize[i] : 1;
        pr.s[j] = i >= 0 ? p.strides[i] : 1;
        pr.pb[j] = i >= 0 ? pads[2 * i] : 0;
        pr.pa[j] = i >= 0 ? pads[2 * i + 1] : 0;
    }
    pr.count_include_pad = p.count_include_pad;
    pr.include_batch_in_index = p.include_batch_in_index;
    pr.normalize = p.normalize;

    float *x = fz_alloc(xn, sizeof(float)), *g = fz_alloc(yn, sizeof(float));
    const uint64_t seed = fz_u64(f);
    fz_fill(x, xn, seed);
    fz_fill(g, yn, seed + 9);
    const uint8_t spec = fz_u8(f);
    if (spec >= 160) { /* ties, NaN and infinities */
        uint64_t s = seed;
        for (int64_t i = 0; i < xn; i++) {
            const uint64_t r = fz_rng(&s) % 12;
            x[i] = r == 0 ? NAN : r == 1 ? -INFINITY : r == 2 ? INFINITY : r < 6 ? 0.25f : x[i];
        }
    }
    float *r1 = fz_alloc(yn, sizeof(float)), *p1 = fz_alloc(yn, sizeof(float)),
          *p2 = fz_alloc(yn, sizeof(float));
    int64_t *ri = fz_alloc(yn, sizeof(int64_t)), *pi = fz_alloc(yn, sizeof(int64_t));
    float *ru = fz_alloc(xn, sizeof(float)), *pu = fz_alloc(xn, sizeof(float));
    for (int t = 0; t < 2; t++) {
        deconv_context *ctx = t ? g_ctx : NULL;
        /* max with argmax */
        dc_ref_max_pool(&pr, x, r1, ri);
        fz_poison(p1, yn);
        if (deconv_max_pool_with_argmax(ctx, &p, &xs, x, xn, p1, yn, pi, yn, &e) != DECONV_OK)
            FUZZ_FAIL("valid argmax failed: %s", e.message);
        compare("max_pool_with_argmax", p1, r1, NULL, yn, 0, 1, 1);
        if (memcmp(ri, pi, (size_t)yn * sizeof *pi) != 0) FUZZ_FAIL("argmax indices differ");
        fz_poison(p2, yn);
        if (deconv_max_pool(ctx, &p, &xs, x, xn, p2, yn, &e) != DECONV_OK)
            FUZZ_FAIL("valid max_pool failed: %s", e.message);
        compare("max_pool", p2, r1, NULL, yn, 0, 1, 1);
        /* max unpool of a gradient through those indices */
        dc_ref_max_unpool(&pr, g, ri, ru);
        fz_poison(pu, xn);
        if (deconv_max_unpool(ctx, &p, &ys, g, yn, pi, yn, &xs, pu, xn, &e) != DECONV_OK)
            FUZZ_FAIL("valid max_unpool failed: %s", e.message);
        compare("max_unpool", pu, ru, NULL, xn, 0, 1, 1);
        /* avg and avg unpool (the reference sums in window order; allow rounding only) */
        dc_ref_avg_pool(&pr, x, r1);
        fz_poison(p1, yn);
        if (deconv_avg_pool(ctx, &p, &xs, x, xn, p1, yn, &e) != DECONV_OK)
            FUZZ_FAIL("valid avg_pool failed: %s", e.message);
        float *mag = fz_alloc(yn, sizeof(float)), *ax = fz_alloc(xn, sizeof(float));
        dc_pool_problem pm = pr;
        for (int64_t i = 0; i < xn; i++) ax[i] = fabsf(x[i]);
        dc_ref_avg_pool(&pm, ax, mag);
        const double terms = (double)(pr.k[0] * pr.k[1] * pr.k[2]);
        compare("avg_pool", p1, r1, mag, yn, terms, 1, 0);
        dc_ref_avg_unpool(&pr, g, ru);
        fz_poison(pu, xn);
        if (deconv_avg_unpool(ctx, &p, &ys, g, yn, &xs, pu, xn, &e) != DECONV_OK)
            FUZZ_FAIL("valid avg_unpool failed: %s", e.message);
        float *magu = fz_alloc(xn, sizeof(float)), *ag = fz_alloc(yn, sizeof(float));
        for (int64_t i = 0; i < yn; i++) ag[i] = fabsf(g[i]);
        dc_ref_avg_unpool(&pm, ag, magu);
        compare("avg_unpool", pu, ru, magu, xn, terms, 1, 0);
        free(mag), free(ax), free(magu), free(ag);
    }
    free(x), free(g), free(r1), free(p1), free(p2), free(ri), free(pi), free(ru), free(pu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_ctx && deconv_context_create(3, &g_ctx, NULL) != DECONV_OK) FUZZ_FAIL("context");
    fz f = {data, size};
    const uint8_t op = fz_u8(&f);
    if (op & 1) diff_pool(&f);
    else diff_conv(&f, op == LARGE_OP);
    return 0;
}
