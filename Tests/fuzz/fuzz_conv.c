/* fuzz_conv.c - libFuzzer target over the parameter space of deconv_conv and
 * deconv_conv_transpose (and their shape/workspace queries): valid, almost valid and wild
 * params, shapes, counts, overlapping buffers, NULL/shared/tiny-workspace contexts.
 * Buffers are exactly as large as the counts passed, so any over-read or over-write is an
 * ASan report. Findings: a crash or sanitizer report; a failing call that wrote an output or
 * gave no message; a successful call that left an output element unwritten or accepted a
 * count that is not its shape's. */
#include "fuzz_common.h"

#include <math.h>

#define LIMIT ((int64_t)1 << 16) /* largest buffer actually allocated, in elements */
#define WORK_LIMIT ((int64_t)1 << 21)

static deconv_context *g_ctx2, *g_ctx_tiny;
static unsigned char g_tiny_ws[16];

static void contexts(void) {
    if (g_ctx2) return;
    if (deconv_context_create(2, &g_ctx2, NULL) != DECONV_OK) FUZZ_FAIL("context");
    if (deconv_context_create(3, &g_ctx_tiny, NULL) != DECONV_OK) FUZZ_FAIL("context");
    if (deconv_context_set_workspace(g_ctx_tiny, g_tiny_ws, sizeof g_tiny_ws, NULL) != DECONV_OK)
        FUZZ_FAIL("set_workspace");
}

static float fz_float_param(fz *f, int wild, float dflt) {
    const uint8_t b = fz_u8(f);
    if (wild && b >= 250) {
        static const float specials[] = {NAN, INFINITY, -INFINITY, 1e38f, -1e-45f, 0.0f};
        return specials[b - 250];
    }
    return b < 128 ? dflt : (float)((int)b - 192) / 16.0f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    contexts();
    fz f = {data, size};
    const uint8_t mode = fz_u8(&f);
    const int transposed = mode & 1, wild = (mode & 2) != 0, bad_count = (mode & 4) != 0,
              overlap = (mode & 0x18) == 0x18, ctx_sel = (mode >> 5) % 3;
    deconv_context *ctx = ctx_sel == 0 ? NULL : ctx_sel == 1 ? g_ctx2 : g_ctx_tiny;

    deconv_conv_params p = DECONV_CONV_PARAMS_INIT;
    if (wild && fz_u8(&f) >= 248) p.struct_size = (size_t)fz_int(&f, 0, 200, 1);
    if (wild && fz_u8(&f) >= 248) p.flags = (uint32_t)fz_u64(&f);
    p.spatial_rank = (int32_t)fz_int(&f, 1, 3, wild);
    p.layout = (deconv_layout)fz_int(&f, 0, 1, wild);
    p.padding = (deconv_padding)fz_int(&f, 0, 2, wild);
    for (int i = 0; i < 3; i++) {
        p.strides[i] = fz_int(&f, 1, 4, wild);
        p.dilations[i] = fz_int(&f, 1, 3, wild);
        p.pads[2 * i] = fz_int(&f, 0, 4, wild);
        p.pads[2 * i + 1] = fz_int(&f, 0, 4, wild);
    }
    p.activation = (deconv_activation)fz_int(&f, 0, 6, wild);
    p.alpha = fz_float_param(&f, wild, 0.2f);
    p.clamp_min = fz_float_param(&f, wild, 0.0f);
    p.clamp_max = fz_float_param(&f, wild, 6.0f);

    /* Shapes, built for the rank the params name (or a legal one when that is wild). */
    const int32_t sr = p.spatial_rank >= 1 && p.spatial_rank <= 3 ? p.spatial_rank
                                                                   : 1 + fz_u8(&f) % 3;
    const int lay = p.layout == DECONV_CHANNELS_FIRST;
    deconv_shape in, w, os;
    memset(&in, 0, sizeof in);
    memset(&w, 0, sizeof w);
    memset(&os, 0, sizeof os);
    in.rank = w.rank = os.rank = sr + 2;
    if (wild && fz_u8(&f) >= 250) in.rank = (int32_t)fz_int(&f, 0, 6, 1);
    if (wild && fz_u8(&f) >= 250) w.rank = (int32_t)fz_int(&f, 0, 6, 1);
    const int cax = lay ? 1 : sr + 1;
    in.dims[0] = fz_int(&f, 0, 2, wild);
    const int64_t groups = fz_int(&f, 1, 3, 0);
    const int64_t cin_g = fz_int(&f, 1, 4, 0), cout_g = fz_int(&f, 1, 4, 0);
    in.dims[cax] = transposed ? groups * cout_g : groups * cin_g;
    if (wild && fz_u8(&f) >= 240) in.dims[cax] = fz_int(&f, 0, 12, 1);
    for (int i = 0; i < sr; i++) {
        in.dims[lay ? 2 + i : 1 + i] = fz_int(&f, 0, 9, wild);
        w.dims[i] = fz_int(&f, 1, 5, wild);
    }
    /* conv filter [k..., C/groups, OC]; transposed [k..., OC/groups, IC] */
    w.dims[sr] = cin_g; /* conv: C / groups; transposed: OC / groups (OC = groups * cin_g) */
    w.dims[sr + 1] = groups * cout_g; /* conv: OC; transposed: IC */
    if (wild && fz_u8(&f) >= 240) w.dims[sr] = fz_int(&f, 0, 12, 1);
    if (wild && fz_u8(&f) >= 240) w.dims[sr + 1] = fz_int(&f, 0, 12, 1);

    /* The output shape: asked of the library, then possibly perturbed. */
    deconv_error e;
    int64_t out_count = -1;
    if (transposed) {
        int64_t lo[3], hi[3];
        os.dims[0] = in.dims[0];
        os.dims[cax] = groups * cin_g;
        const deconv_status st =
            deconv_conv_transpose_output_range(&p, &in, &w, lo, hi, &e);
        fz_check_error(st, &e);
        for (int i = 0; i < sr; i++) {
            int64_t v = fz_int(&f, 0, 12, wild);
            if (st == DECONV_OK && hi[i] >= 0) {
                const int64_t l = lo[i] < 0 ? 0 : lo[i];
                v = l + (int64_t)(fz_u8(&f) % (uint64_t)(hi[i] - l + 1));
                if (fz_u8(&f) >= 250) v += fz_int(&f, -2, 2, 0); /* just outside, maybe */
            }
            os.dims[lay ? 2 + i : 1 + i] = v;
        }
        if (wild && fz_u8(&f) >= 250) os.dims[0] = fz_int(&f, 0, 3, 1);
        int64_t pads[6];
        const deconv_status st2 = deconv_conv_transpose_pads(&p, &in, &w, &os, pads, &e);
        fz_check_error(st2, &e);
        if (st2 == DECONV_OK) out_count = fz_shape_count(&os, INT64_MAX);
    } else {
        int64_t pads[6];
        const deconv_status st = deconv_conv_output_shape(&p, &in, &w, &os, pads, &e);
        fz_check_error(st, &e);
        if (st == DECONV_OK) out_count = fz_shape_count(&os, INT64_MAX);
        else os.rank = sr + 2;
    }
    size_t ws_bytes = 0;
    {
        const deconv_status st =
            transposed ? deconv_conv_transpose_workspace_size(ctx, &p, &in, &w, &os, &ws_bytes, &e)
                       : deconv_conv_workspace_size(ctx, &p, &in, &w, &ws_bytes, &e);
        fz_check_error(st, &e);
        if ((st == DECONV_OK) != (out_count >= 0))
            FUZZ_FAIL("workspace query status %d disagrees with the shape query", (int)st);
    }

    /* Counts: the shape products when small enough to allocate, else 1 (the call must then
     * fail: a 1-element buffer for a larger shape). */
    int64_t xn = fz_shape_count(&in, LIMIT), wn = fz_shape_count(&w, LIMIT);
    int64_t yn = out_count >= 0 && out_count <= LIMIT ? out_count : -1;
    const int64_t oc = os.dims[cax];
    int64_t bn = fz_u8(&f) & 1 ? (oc >= 0 && oc <= 64 ? oc : 1) : 0;
    const int exact = xn >= 0 && wn >= 0 && yn >= 0;
    const int64_t xn_shape = xn;
    if (xn < 0) xn = 1;
    if (wn < 0) wn = 1;
    if (yn < 0) yn = 1;
    int perturbed = 0;
    if (bad_count) {
        int64_t *which[4] = {&xn, &wn, &yn, &bn};
        int64_t *c = which[fz_u8(&f) % 4];
        const int64_t d = fz_int(&f, -2, 2, 0);
        if (*c + d >= 0) {
            *c += d;
            /* a bias count may land on the other valid value (0 = no bias, or OC) */
            perturbed = d != 0 && (c != &bn || (*c != 0 && *c != oc));
        }
    }
    /* Skip the compute-heavy configurations, still validating them with a bad count. */
    int64_t kvol = 1;
    for (int i = 0; i < sr; i++) kvol *= w.dims[i] > 0 && w.dims[i] < 64 ? w.dims[i] : 1;
    if (exact && yn * kvol * (cin_g > cout_g ? cin_g : cout_g) > WORK_LIMIT) {
        xn = xn_shape + 1; /* certainly not the shape's count */
        perturbed = 1;
    }

    float *x, *wd, *b, *y, *arena = NULL;
    wd = fz_alloc(wn, sizeof(float));
    b = fz_alloc(bn, sizeof(float));
    int64_t arena_n = 0;
    if (overlap && xn > 0 && yn > 0) {
        /* output placed inside (or straddling) the input */
        const int64_t off = fz_int(&f, 0, xn - 1, 0);
        arena_n = off + yn > xn ? off + yn : xn;
        arena = fz_alloc(arena_n, sizeof(float));
        fz_fill(arena, arena_n, 7);
        x = arena;
        y = arena + off;
    } else {
        x = fz_alloc(xn, sizeof(float));
        y = fz_alloc(yn, sizeof(float));
        fz_fill(x, xn, 1);
        fz_poison(y, yn);
    }
    fz_fill(wd, wn, 2);
    fz_fill(b, bn, 3);
    float *arena_copy = NULL;
    if (arena) {
        arena_copy = fz_alloc(arena_n, sizeof(float));
        memcpy(arena_copy, arena, (size_t)arena_n * sizeof(float));
    }
    const int null_sel = wild ? fz_u8(&f) % 16 : 15; /* 0..3: pass one buffer as NULL */

    const deconv_status st =
        transposed ? deconv_conv_transpose(ctx, &p, &in, null_sel == 0 ? NULL : x, xn, &w,
                                           null_sel == 1 ? NULL : wd, wn,
                                           null_sel == 2 ? NULL : b, bn, &os,
                                           null_sel == 3 ? NULL : y, yn, &e)
                   : deconv_conv(ctx, &p, &in, null_sel == 0 ? NULL : x, xn, &w,
                                 null_sel == 1 ? NULL : wd, wn, null_sel == 2 ? NULL : b, bn,
                                 null_sel == 3 ? NULL : y, yn, &e);
    fz_check_error(st, &e);
    if (arena) {
        if (st == DECONV_OK) FUZZ_FAIL("overlapping output accepted");
        if (memcmp(arena, arena_copy, (size_t)arena_n * sizeof(float)) != 0)
            FUZZ_FAIL("failing call (status %d) changed overlapping memory", (int)st);
    } else if (st != DECONV_OK) {
        if (fz_poisoned(y, yn) != yn) FUZZ_FAIL("failing call (status %d: %s) wrote output",
                                                (int)st, e.message);
    } else {
        if (!exact || perturbed) FUZZ_FAIL("accepted counts that are not the shapes' products");
        if (ws_bytes > sizeof g_tiny_ws && ctx == g_ctx_tiny)
            FUZZ_FAIL("ran with a %zu-byte workspace although %zu are needed", sizeof g_tiny_ws,
                      ws_bytes);
        const int64_t left = fz_poisoned(y, yn);
        if (left) FUZZ_FAIL("OK but %lld of %lld outputs unwritten", (long long)left, (long long)yn);
    }
    if (st == DECONV_ERR_WORKSPACE_TOO_SMALL && (ctx != g_ctx_tiny || ws_bytes <= sizeof g_tiny_ws))
        FUZZ_FAIL("WORKSPACE_TOO_SMALL without a too-small workspace");
    free(arena_copy);
    if (arena) {
        free(arena);
    } else {
        free(x);
        free(y);
    }
    free(wd);
    free(b);
    return 0;
}
