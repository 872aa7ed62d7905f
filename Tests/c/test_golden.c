/* test_golden.c - runs every case of the golden files (format: Tests/golden/FORMAT.md)
 * through the public API, once with a NULL context and once with a 2-thread context, and
 * requires TF's numbers, exact indices, bit-identical results across the two runs, and for
 * `expect` cases the status with every output left poisoned. The directory comes from
 * DECONV_GOLDEN_DIR (default Tests/golden, as `make check` runs from the repo root). A missing
 * directory, an unreadable file, zero cases or anything the parser does not know is a failure,
 * never a skip. */
#include "harness.h"

#include "deconv.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define G_MAX_TENSORS 12
#define G_NAME 96

static const char *const g_status_names[] = {
    "OK", "NULL_POINTER", "STRUCT_SIZE", "INVALID_ENUM", "INVALID_ARGUMENT", "INVALID_SHAPE",
    "SHAPE_MISMATCH", "OUTPUT_SIZE", "INVALID_OUTPUT_SHAPE", "COUNT_MISMATCH", "OVERFLOW",
    "INDEX_OUT_OF_RANGE", "OVERLAP", "WORKSPACE_TOO_SMALL", "NO_MEMORY", "SYSTEM"};
typedef char g_status_table_complete[sizeof g_status_names / sizeof g_status_names[0] ==
                                             DECONV_STATUS_COUNT ? 1 : -1];

/* One `tensor`, `itensor` or `shape` line. */
typedef struct g_tensor {
    char name[32];
    int kind; /* 'f' float, 'i' int64, 's' shape only */
    deconv_shape shape;
    int64_t count;
    float *f;
    int64_t *i;
} g_tensor;

typedef struct g_case {
    char name[G_NAME];
    const char *file;
    int line;
    char op[32];
    int32_t spatial_rank;
    deconv_layout layout;
    deconv_padding padding;
    int64_t pads[6], strides[3], dilations[3], ksize[3];
    int n_pads, n_strides, n_dilations, n_ksize;
    deconv_activation activation;
    float alpha, clamp_min, clamp_max;
    int32_t count_include_pad, include_batch_in_index, normalize;
    double rtol, atol;
    int expect; /* a deconv_status, or -1 for a case that must succeed */
    g_tensor t[G_MAX_TENSORS];
    int nt;
} g_case;

static long g_cases_run;
static char (*g_seen)[G_NAME];
static size_t g_seen_n, g_seen_cap;

static void case_reset(g_case *c, const char *file, int line, const char *name) {
    for (int k = 0; k < c->nt; k++) {
        free(c->t[k].f);
        free(c->t[k].i);
    }
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->file = file;
    c->line = line;
    c->spatial_rank = -1;
    c->layout = DECONV_CHANNELS_LAST;
    c->padding = DECONV_PADDING_VALID;
    for (int k = 0; k < 3; k++) c->dilations[k] = 1;
    c->activation = DECONV_ACTIVATION_NONE;
    c->alpha = 0.2f;
    c->clamp_min = 0.0f;
    c->clamp_max = 6.0f;
    c->rtol = 1e-5;
    c->atol = 1e-5;
    c->expect = -1;
}

static g_tensor *find(g_case *c, const char *name) {
    for (int k = 0; k < c->nt; k++)
        if (strcmp(c->t[k].name, name) == 0) return &c->t[k];
    return NULL;
}

/* ---- parsing -------------------------------------------------------------------------- */

static int parse_i64(const char *tok, int64_t *v) {
    char *end;
    if (!tok) return 0;
    long long x = strtoll(tok, &end, 10);
    if (end == tok || *end) return 0;
    *v = (int64_t)x;
    return 1;
}

static int parse_f(const char *tok, float *v) {
    char *end;
    if (!tok) return 0;
    *v = strtof(tok, &end);
    return end != tok && *end == '\0';
}

static int parse_d(const char *tok, double *v) {
    char *end;
    if (!tok) return 0;
    *v = strtod(tok, &end);
    return end != tok && *end == '\0';
}

static int lookup(const char *tok, const char *const *names, int n) {
    for (int k = 0; tok && k < n; k++)
        if (strcmp(tok, names[k]) == 0) return k;
    return -1;
}

/* Reads up to `max` ints into v; returns how many, or -1 on a malformed token. */
static int parse_ints(char **save, int64_t *v, int max) {
    int n = 0;
    char *tok;
    while ((tok = strtok_r(NULL, " \t\r\n", save)) != NULL) {
        if (n == max || !parse_i64(tok, &v[n])) return -1;
        n++;
    }
    return n;
}

/* `tensor|itensor|shape <name> <rank> <dims...> [: <values...>]`. Returns 0 with *why set. */
static int parse_tensor(g_case *c, int kind, char **save, const char **why) {
    char *name = strtok_r(NULL, " \t\r\n", save);
    int64_t rank;
    if (!name || strlen(name) >= sizeof c->t[0].name) return *why = "bad tensor name", 0;
    if (find(c, name)) return *why = "duplicate tensor", 0;
    if (c->nt == G_MAX_TENSORS) return *why = "too many tensors", 0;
    if (!parse_i64(strtok_r(NULL, " \t\r\n", save), &rank) || rank < 0 ||
        rank > DECONV_MAX_RANK)
        return *why = "bad tensor rank", 0;
    g_tensor *t = &c->t[c->nt++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->shape.rank = (int32_t)rank;
    t->count = 1;
    for (int k = 0; k < rank; k++) {
        if (!parse_i64(strtok_r(NULL, " \t\r\n", save), &t->shape.dims[k]) ||
            t->shape.dims[k] < 0 || t->shape.dims[k] > (1 << 24))
            return *why = "bad tensor dim", 0;
        t->count *= t->shape.dims[k];
    }
    if (t->count > (1 << 24)) return *why = "tensor too large", 0;
    if (kind == 's') {
        if (strtok_r(NULL, " \t\r\n", save)) return *why = "trailing tokens after shape", 0;
        return 1;
    }
    char *colon = strtok_r(NULL, " \t\r\n", save);
    if (!colon || strcmp(colon, ":") != 0) return *why = "missing ':' in tensor", 0;
    size_t n = (size_t)(t->count > 0 ? t->count : 1);
    if (kind == 'f') t->f = malloc(n * sizeof *t->f);
    else t->i = malloc(n * sizeof *t->i);
    if (!t->f && !t->i) return *why = "out of memory", 0;
    int64_t got = 0;
    char *tok;
    while ((tok = strtok_r(NULL, " \t\r\n", save)) != NULL) {
        if (got == t->count) return *why = "more values than the shape holds", 0;
        int ok = kind == 'f' ? parse_f(tok, &t->f[got]) : parse_i64(tok, &t->i[got]);
        if (!ok) return *why = "malformed value", 0;
        got++;
    }
    if (got != t->count) return *why = "fewer values than the shape holds", 0;
    return 1;
}

/* One key line of a case. Returns 0 with *why set. */
static int parse_key(g_case *c, const char *key, char **save, const char **why) {
    static const char *const layouts[] = {"channels_last", "channels_first"};
    static const char *const paddings[] = {"VALID", "SAME", "EXPLICIT"};
    static const char *const acts[] = {"none", "relu", "relu6", "leaky_relu", "sigmoid",
                                       "tanh", "clamp"};
    static const char *const ops[] = {"conv", "conv_transpose", "max_pool", "avg_pool",
                                      "max_pool_with_argmax", "max_unpool", "avg_unpool",
                                      "dcgan_generator"};
    static const char *const sources[] = {"tf", "numpy"};
    char *a;
    int64_t v;
    int k;
    if (strcmp(key, "op") == 0) {
        a = strtok_r(NULL, " \t\r\n", save);
        if (lookup(a, ops, 8) < 0) return *why = "unknown op", 0;
        snprintf(c->op, sizeof c->op, "%s", a);
    } else if (strcmp(key, "source") == 0) {
        if (lookup(strtok_r(NULL, " \t\r\n", save), sources, 2) < 0)
            return *why = "unknown source", 0;
    } else if (strcmp(key, "spatial_rank") == 0) {
        if (!parse_i64(strtok_r(NULL, " \t\r\n", save), &v) || v < 1 || v > 3)
            return *why = "bad spatial_rank", 0;
        c->spatial_rank = (int32_t)v;
    } else if (strcmp(key, "layout") == 0) {
        if ((k = lookup(strtok_r(NULL, " \t\r\n", save), layouts, 2)) < 0)
            return *why = "unknown layout", 0;
        c->layout = (deconv_layout)k;
    } else if (strcmp(key, "padding") == 0) {
        if ((k = lookup(strtok_r(NULL, " \t\r\n", save), paddings, 3)) < 0)
            return *why = "unknown padding", 0;
        c->padding = (deconv_padding)k;
    } else if (strcmp(key, "pads") == 0) {
        if ((c->n_pads = parse_ints(save, c->pads, 6)) < 0) return *why = "bad pads", 0;
    } else if (strcmp(key, "strides") == 0) {
        if ((c->n_strides = parse_ints(save, c->strides, 3)) < 0) return *why = "bad strides", 0;
    } else if (strcmp(key, "dilations") == 0) {
        if ((c->n_dilations = parse_ints(save, c->dilations, 3)) < 0)
            return *why = "bad dilations", 0;
    } else if (strcmp(key, "ksize") == 0) {
        if ((c->n_ksize = parse_ints(save, c->ksize, 3)) < 0) return *why = "bad ksize", 0;
    } else if (strcmp(key, "activation") == 0) {
        if ((k = lookup(strtok_r(NULL, " \t\r\n", save), acts, 7)) < 0)
            return *why = "unknown activation", 0;
        c->activation = (deconv_activation)k;
    } else if (strcmp(key, "alpha") == 0) {
        if (!parse_f(strtok_r(NULL, " \t\r\n", save), &c->alpha)) return *why = "bad alpha", 0;
    } else if (strcmp(key, "clamp") == 0) {
        if (!parse_f(strtok_r(NULL, " \t\r\n", save), &c->clamp_min) ||
            !parse_f(strtok_r(NULL, " \t\r\n", save), &c->clamp_max))
            return *why = "bad clamp", 0;
    } else if (strcmp(key, "count_include_pad") == 0 ||
               strcmp(key, "include_batch_in_index") == 0 || strcmp(key, "normalize") == 0) {
        if (!parse_i64(strtok_r(NULL, " \t\r\n", save), &v) || (v != 0 && v != 1))
            return *why = "flag must be 0 or 1", 0;
        if (key[0] == 'c') c->count_include_pad = (int32_t)v;
        else if (key[0] == 'i') c->include_batch_in_index = (int32_t)v;
        else c->normalize = (int32_t)v;
    } else if (strcmp(key, "tolerance") == 0) {
        if (!parse_d(strtok_r(NULL, " \t\r\n", save), &c->rtol) ||
            !parse_d(strtok_r(NULL, " \t\r\n", save), &c->atol) || c->rtol < 0 || c->atol < 0)
            return *why = "bad tolerance", 0;
    } else if (strcmp(key, "expect") == 0) {
        if ((c->expect = lookup(strtok_r(NULL, " \t\r\n", save), g_status_names,
                                DECONV_STATUS_COUNT)) <= 0)
            return *why = "unknown expect status", 0;
    } else if (strcmp(key, "tensor") == 0) {
        return parse_tensor(c, 'f', save, why);
    } else if (strcmp(key, "itensor") == 0) {
        return parse_tensor(c, 'i', save, why);
    } else if (strcmp(key, "shape") == 0) {
        return parse_tensor(c, 's', save, why);
    } else {
        return *why = "unknown key", 0;
    }
    if (strtok_r(NULL, " \t\r\n", save)) return *why = "trailing tokens", 0;
    return 1;
}

/* ---- running ---------------------------------------------------------------------------- */

static void conv_params(const g_case *c, deconv_conv_params *p) {
    deconv_conv_params init = DECONV_CONV_PARAMS_INIT;
    *p = init;
    p->spatial_rank = c->spatial_rank;
    p->layout = c->layout;
    p->padding = c->padding;
    for (int k = 0; k < 3; k++) {
        p->strides[k] = c->strides[k];
        p->dilations[k] = c->dilations[k];
    }
    for (int k = 0; k < 6; k++) p->pads[k] = c->pads[k];
    p->activation = c->activation;
    p->alpha = c->alpha;
    p->clamp_min = c->clamp_min;
    p->clamp_max = c->clamp_max;
}

static void pool_params(const g_case *c, deconv_pool_params *p) {
    deconv_pool_params init = DECONV_POOL_PARAMS_INIT;
    *p = init;
    p->spatial_rank = c->spatial_rank;
    p->layout = c->layout;
    p->padding = c->padding;
    for (int k = 0; k < 3; k++) {
        p->strides[k] = c->strides[k];
        p->ksize[k] = c->ksize[k];
    }
    for (int k = 0; k < 6; k++) p->pads[k] = c->pads[k];
    p->count_include_pad = c->count_include_pad;
    p->include_batch_in_index = c->include_batch_in_index;
    p->normalize = c->normalize;
}

static int64_t shape_count(const deconv_shape *s) {
    int64_t n = 1;
    for (int k = 0; k < s->rank; k++) n *= s->dims[k];
    return n;
}

/* The three chained Keras Conv2DTranspose layers of FORMAT.md's dcgan_generator. */
static deconv_status run_dcgan(g_case *c, deconv_context *ctx, float *out, int64_t out_count,
                               deconv_error *err) {
    static const deconv_activation acts[3] = {DECONV_ACTIVATION_RELU, DECONV_ACTIVATION_RELU,
                                              DECONV_ACTIVATION_TANH};
    deconv_conv_params p;
    conv_params(c, &p);
    const g_tensor *in = find(c, "input");
    deconv_shape shape = in->shape;
    const float *data = in->f;
    int64_t count = in->count;
    float *tmp[2] = {NULL, NULL};
    deconv_status st = DECONV_OK;
    for (int layer = 0; layer < 3 && st == DECONV_OK; layer++) {
        char fname[32], bname[32];
        snprintf(fname, sizeof fname, "filter%d", layer + 1);
        snprintf(bname, sizeof bname, "bias%d", layer + 1);
        const g_tensor *f = find(c, fname), *b = find(c, bname);
        deconv_shape os = shape;
        os.dims[1] = shape.dims[1] * c->strides[0];
        os.dims[2] = shape.dims[2] * c->strides[1];
        os.dims[3] = f->shape.dims[2];
        int64_t n = shape_count(&os);
        float *dst = out;
        if (layer < 2) {
            dst = tmp[layer] = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
            if (!dst) {
                st = DECONV_ERR_NO_MEMORY;
                break;
            }
        } else if (n != out_count) {
            st = DECONV_ERR_COUNT_MISMATCH; /* reported by the caller's shape check */
            break;
        }
        p.activation = acts[layer];
        st = deconv_conv_transpose(ctx, &p, &shape, data, count, &f->shape, f->f, f->count,
                                   b->f, b->count, &os, dst, n, err);
        shape = os;
        data = dst;
        count = n;
    }
    free(tmp[0]);
    free(tmp[1]);
    return st;
}

/* Runs the case's op once into out (and argmax). */
static deconv_status run_op(g_case *c, deconv_context *ctx, const deconv_shape *out_shape,
                            float *out, int64_t out_count, int64_t *am, int64_t am_count,
                            deconv_error *err) {
    g_tensor *in = find(c, "input"), *f = find(c, "filter"), *b = find(c, "bias");
    g_tensor *a = find(c, "argmax");
    const float *bias = b ? b->f : NULL;
    int64_t bias_count = b ? b->count : 0;
    deconv_conv_params cp;
    deconv_pool_params pp;
    conv_params(c, &cp);
    pool_params(c, &pp);
    if (strcmp(c->op, "conv") == 0)
        return deconv_conv(ctx, &cp, &in->shape, in->f, in->count, &f->shape, f->f, f->count,
                           bias, bias_count, out, out_count, err);
    if (strcmp(c->op, "conv_transpose") == 0)
        return deconv_conv_transpose(ctx, &cp, &in->shape, in->f, in->count, &f->shape, f->f,
                                     f->count, bias, bias_count, out_shape, out, out_count, err);
    if (strcmp(c->op, "max_pool") == 0)
        return deconv_max_pool(ctx, &pp, &in->shape, in->f, in->count, out, out_count, err);
    if (strcmp(c->op, "avg_pool") == 0)
        return deconv_avg_pool(ctx, &pp, &in->shape, in->f, in->count, out, out_count, err);
    if (strcmp(c->op, "max_pool_with_argmax") == 0)
        return deconv_max_pool_with_argmax(ctx, &pp, &in->shape, in->f, in->count, out,
                                           out_count, am, am_count, err);
    if (strcmp(c->op, "max_unpool") == 0)
        return deconv_max_unpool(ctx, &pp, &in->shape, in->f, in->count, a->i, a->count,
                                 out_shape, out, out_count, err);
    if (strcmp(c->op, "avg_unpool") == 0)
        return deconv_avg_unpool(ctx, &pp, &in->shape, in->f, in->count, out_shape, out,
                                 out_count, err);
    return run_dcgan(c, ctx, out, out_count, err);
}

/* Checks the tensors an op needs are present with the right kind; 0 with *why set. */
static int case_complete(g_case *c, const char **why) {
    int conv = strcmp(c->op, "conv") == 0, convt = strcmp(c->op, "conv_transpose") == 0;
    int dcgan = strcmp(c->op, "dcgan_generator") == 0;
    int unpool = strncmp(c->op, "max_unpool", 10) == 0 || strcmp(c->op, "avg_unpool") == 0;
    int argmax_out = strcmp(c->op, "max_pool_with_argmax") == 0;
    int r = c->spatial_rank;
    g_tensor *in = find(c, "input"), *out = find(c, "output"), *os = find(c, "output_shape");
    g_tensor *am = find(c, "argmax");
    if (!c->op[0]) return *why = "no op", 0;
    if (r < 1) return *why = "no spatial_rank", 0;
    if (c->n_strides != r) return *why = "strides must have spatial_rank values", 0;
    if (c->padding == DECONV_PADDING_EXPLICIT ? c->n_pads != 2 * r : c->n_pads != 0)
        return *why = "pads must be given, with 2*spatial_rank values, iff EXPLICIT", 0;
    if (conv || convt || dcgan) {
        if (c->n_ksize) return *why = "ksize on a conv op", 0;
        if (c->n_dilations && c->n_dilations != r) return *why = "bad dilations count", 0;
    } else if (c->n_ksize != r || c->n_dilations) {
        return *why = "pool ops need ksize (spatial_rank values) and no dilations", 0;
    }
    if (!in || in->kind != 'f' || in->shape.rank != r + 2) return *why = "bad input tensor", 0;
    if (c->expect < 0 ? !out || out->kind != 'f' : out != NULL)
        return *why = "output tensor required iff the case is not an expect case", 0;
    if (os && (os->kind != 's' || c->expect < 0)) return *why = "misplaced output_shape", 0;
    if ((convt || unpool) && c->expect >= 0 && !os) return *why = "missing output_shape", 0;
    if ((conv || convt) && (!find(c, "filter") || find(c, "filter")->kind != 'f'))
        return *why = "missing filter", 0;
    if (find(c, "bias") && find(c, "bias")->kind != 'f') return *why = "bad bias", 0;
    if (strcmp(c->op, "max_unpool") == 0 && (!am || am->kind != 'i'))
        return *why = "max_unpool needs itensor argmax", 0;
    if (argmax_out && c->expect < 0 && (!am || am->kind != 'i'))
        return *why = "max_pool_with_argmax needs expected itensor argmax", 0;
    if (dcgan) {
        static const char *const need[] = {"filter1", "bias1", "filter2", "bias2", "filter3",
                                           "bias3"};
        for (int k = 0; k < 6; k++)
            if (!find(c, need[k]) || find(c, need[k])->kind != 'f')
                return *why = "dcgan_generator needs filter1..3 and bias1..3", 0;
        if (r != 2 || c->layout != DECONV_CHANNELS_LAST || c->expect >= 0)
            return *why = "dcgan_generator is 2-D channels_last", 0;
    }
    /* Every tensor must be one the op reads. */
    for (int k = 0; k < c->nt; k++) {
        const char *n = c->t[k].name;
        int known = !strcmp(n, "input") || !strcmp(n, "output") || !strcmp(n, "output_shape") ||
                    ((conv || convt) && (!strcmp(n, "filter") || !strcmp(n, "bias"))) ||
                    ((argmax_out || !strcmp(c->op, "max_unpool")) && !strcmp(n, "argmax")) ||
                    (dcgan && (n[0] == 'f' || n[0] == 'b') &&
                     (!strcmp(n + 1, "ilter1") || !strcmp(n + 1, "ilter2") ||
                      !strcmp(n + 1, "ilter3") || !strcmp(n + 1, "ias1") ||
                      !strcmp(n + 1, "ias2") || !strcmp(n + 1, "ias3")));
        if (!known) return *why = "tensor the op does not use", 0;
    }
    return 1;
}

/* Output buffer sizes of an expect case: the shape query's answer when it has one, else 1. */
static void expect_counts(g_case *c, deconv_shape *out_shape, int64_t *out_count) {
    g_tensor *os = find(c, "output_shape"), *in = find(c, "input"), *f = find(c, "filter");
    deconv_conv_params cp;
    deconv_pool_params pp;
    conv_params(c, &cp);
    pool_params(c, &pp);
    memset(out_shape, 0, sizeof *out_shape);
    *out_count = 1;
    if (os) {
        *out_shape = os->shape;
        *out_count = os->count;
        return;
    }
    deconv_status st = strcmp(c->op, "conv") == 0
                           ? deconv_conv_output_shape(&cp, &in->shape, &f->shape, out_shape,
                                                      NULL, NULL)
                           : deconv_pool_output_shape(&pp, &in->shape, out_shape, NULL, NULL);
    if (st == DECONV_OK) *out_count = shape_count(out_shape);
}

static void compare(const g_case *c, const char *what, const float *got, const g_tensor *want) {
    int64_t bad = 0;
    for (int64_t k = 0; k < want->count; k++) {
        double e = want->f[k], g = got[k];
        int ok = isnan(e) ? isnan(g) : (!isnan(g) && fabs(g - e) <= c->atol + c->rtol * fabs(e));
        if (!ok && bad++ < 3)
            fprintf(stderr, "  golden %s: %s[%" PRId64 "] = %.9g, expected %.9g\n", c->name,
                    what, k, g, e);
    }
    CHECK(bad == 0, "golden case %s (%s:%d): %" PRId64 " of %" PRId64 " %s values off "
          "(rtol %g, atol %g)", c->name, c->file, c->line, bad, want->count, what, c->rtol,
          c->atol);
}

static void run_case(g_case *c, deconv_context *ctx2) {
    g_tensor *out = find(c, "output"), *am_t = find(c, "argmax");
    int has_am = strcmp(c->op, "max_pool_with_argmax") == 0;
    deconv_shape out_shape;
    int64_t out_count;
    if (c->expect >= 0) {
        expect_counts(c, &out_shape, &out_count);
    } else {
        out_shape = out->shape;
        out_count = out->count;
    }
    int64_t am_count = has_am ? out_count : 0;
    size_t fbytes = (size_t)(out_count > 0 ? out_count : 1) * sizeof(float);
    size_t ibytes = (size_t)(am_count > 0 ? am_count : 1) * sizeof(int64_t);
    float *res[2] = {malloc(fbytes), malloc(fbytes)};
    int64_t *ams[2] = {malloc(ibytes), malloc(ibytes)};
    if (!CHECK(res[0] && res[1] && ams[0] && ams[1], "golden %s: out of memory", c->name))
        goto done;
    g_cases_run++;
    for (int run = 0; run < 2; run++) {
        deconv_context *ctx = run ? ctx2 : NULL;
        const char *how = run ? "2-thread context" : "NULL context";
        deconv_error err;
        th_poison(res[run], out_count > 0 ? out_count : 1);
        th_poison_i64(ams[run], am_count > 0 ? am_count : 1);
        memset(&err, 0x5a, sizeof err);
        deconv_status st =
            run_op(c, ctx, &out_shape, res[run], out_count, has_am ? ams[run] : NULL, am_count,
                   &err);
        CHECK(err.status == st, "golden %s (%s): error.status %d != returned %d", c->name, how,
              (int)err.status, (int)st);
        if (c->expect >= 0) {
            CHECK((int)st == c->expect, "golden %s (%s:%d, %s): status %s (%s), expected %s",
                  c->name, c->file, c->line, how, deconv_status_string(st),
                  st == DECONV_OK ? "" : err.message, g_status_names[c->expect]);
            CHECK(th_is_poisoned(res[run], out_count > 0 ? out_count : 1) &&
                      th_is_poisoned_i64(ams[run], am_count > 0 ? am_count : 1),
                  "golden %s (%s): output written on error", c->name, how);
            continue;
        }
        if (!CHECK(st == DECONV_OK, "golden %s (%s:%d, %s): status %s: %s", c->name, c->file,
                   c->line, how, deconv_status_string(st), err.message))
            continue;
        compare(c, "output", res[run], out);
        if (has_am) {
            int64_t bad = 0;
            for (int64_t k = 0; k < am_count; k++)
                if (ams[run][k] != am_t->i[k] && bad++ < 3)
                    fprintf(stderr, "  golden %s: argmax[%" PRId64 "] = %" PRId64
                            ", expected %" PRId64 "\n", c->name, k, ams[run][k], am_t->i[k]);
            CHECK(bad == 0, "golden case %s (%s): %" PRId64 " argmax indices wrong", c->name,
                  how, bad);
        }
    }
    if (c->expect < 0 && out_count > 0)
        CHECK(memcmp(res[0], res[1], (size_t)out_count * sizeof(float)) == 0 &&
                  (!has_am || memcmp(ams[0], ams[1], (size_t)am_count * sizeof(int64_t)) == 0),
              "golden %s: NULL-context and 2-thread results are not bit-identical", c->name);
done:
    free(res[0]);
    free(res[1]);
    free(ams[0]);
    free(ams[1]);
}

static void note_name(const g_case *c) {
    for (size_t k = 0; k < g_seen_n; k++)
        if (strcmp(g_seen[k], c->name) == 0) {
            CHECK(0, "golden: case name %s (%s:%d) is not unique", c->name, c->file, c->line);
            return;
        }
    if (g_seen_n == g_seen_cap) {
        size_t cap = g_seen_cap ? 2 * g_seen_cap : 256;
        void *p = realloc(g_seen, cap * sizeof *g_seen);
        if (!CHECK(p != NULL, "golden: out of memory")) return;
        g_seen = p;
        g_seen_cap = cap;
    }
    snprintf(g_seen[g_seen_n++], G_NAME, "%s", c->name);
}

/* Parses and runs one file. Returns the number of cases found. */
static long run_file(const char *path, deconv_context *ctx2) {
    FILE *fp = fopen(path, "r");
    if (!CHECK(fp != NULL, "golden: cannot open %s", path)) return 0;
    g_case *c = calloc(1, sizeof *c);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, in_case = 0, broken = 0;
    long cases = 0;
    if (!CHECK(c != NULL, "golden: out of memory")) goto out;
    while (getline(&line, &cap, fp) >= 0) {
        char *save = NULL, *key;
        const char *why = NULL;
        lineno++;
        key = strtok_r(line, " \t\r\n", &save);
        if (!key || key[0] == '#') continue;
        if (strcmp(key, "case") == 0) {
            char *name = strtok_r(NULL, " \t\r\n", &save);
            CHECK(!in_case, "golden %s:%d: case inside case %s", path, lineno, c->name);
            if (!CHECK(name && strlen(name) < G_NAME && !strtok_r(NULL, " \t\r\n", &save),
                       "golden %s:%d: bad case line", path, lineno)) {
                broken = 1;
                name = "?";
            } else {
                broken = 0;
            }
            case_reset(c, path, lineno, name);
            in_case = 1;
            cases++;
        } else if (!in_case) {
            CHECK(0, "golden %s:%d: '%s' outside a case", path, lineno, key);
        } else if (strcmp(key, "end") == 0) {
            in_case = 0;
            note_name(c);
            if (broken) continue; /* already reported */
            if (!CHECK(case_complete(c, &why), "golden %s:%d: case %s: %s", path, lineno,
                       c->name, why))
                continue;
            run_case(c, ctx2);
        } else if (!broken && !parse_key(c, key, &save, &why)) {
            CHECK(0, "golden %s:%d: case %s: %s (line starts with '%s')", path, lineno,
                  c->name, why, key);
            broken = 1;
        }
    }
    CHECK(!in_case, "golden %s: case %s has no 'end'", path, c->name);
    CHECK(!ferror(fp), "golden %s: read error", path);
out:
    if (c) case_reset(c, path, 0, "");
    free(c);
    free(line);
    fclose(fp);
    CHECK(cases > 0, "golden %s: no cases", path);
    return cases;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void suite_golden(void) {
    const char *dir = getenv("DECONV_GOLDEN_DIR");
    if (!dir || !*dir) dir = "Tests/golden";
    DIR *d = opendir(dir);
    if (!CHECK(d != NULL, "golden: cannot open directory %s (set DECONV_GOLDEN_DIR)", dir))
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 7 || strcmp(e->d_name + len - 7, ".golden") != 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **p = realloc(names, cap * sizeof *names);
            if (!CHECK(p != NULL, "golden: out of memory")) break;
            names = p;
        }
        names[n] = malloc(strlen(dir) + len + 2);
        if (!CHECK(names[n] != NULL, "golden: out of memory")) break;
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);

    deconv_context *ctx2 = NULL;
    deconv_error err;
    if (!CHECK(deconv_context_create(2, &ctx2, &err) == DECONV_OK, "golden: context: %s",
               err.message))
        ctx2 = NULL;
    long cases = 0, before_run = g_cases_run;
    for (size_t k = 0; k < n && ctx2; k++) cases += run_file(names[k], ctx2);
    CHECK(n > 0, "golden: no *.golden files in %s", dir);
    CHECK(cases > 0, "golden: zero cases parsed from %s", dir);
    fprintf(stderr, "golden: %ld cases in %zu files, %ld run\n", cases, n,
            g_cases_run - before_run);
    deconv_context_destroy(ctx2);
    for (size_t k = 0; k < n; k++) free(names[k]);
    free(names);
    free(g_seen);
    g_seen = NULL;
    g_seen_n = g_seen_cap = 0;
}
