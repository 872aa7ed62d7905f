/* test_ukr.c - every GEMM micro-kernel of the levels this CPU runs, called directly on its
 * contract (fast.h, dc_ukr_args): any mr x nr tile up to MR x NR, taps picked from b through
 * tap[], row pointers or a_stride, output row pointers or c_stride, a_off, c_off, first = 1
 * (start from zero) or 0 (add to C).
 * The drivers only reach some of these combinations (conv_im2col never adds to C), so each
 * kernel is checked here against a scalar chain of the same multiply-adds in the same order:
 * bit for bit for the FMA kernels, within rounding for the portable one (separate multiply
 * and add); and nothing outside the tile may be written. */
#include "harness.h"

#include "fast/fast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct kernel {
    const char *name;
    int isa, mr, nr, fused; /* fused: one FMA per product, so exact against fmaf */
    dc_ukr_fn fn;
    int fixed; /* 1: the AVX-512 short kernel, whose DC_AVX512_SHORT_FIXED shapes get calls */
    dc_ukr_runs_fn runs; /* the kernel's several-tile entry, or NULL */
} kernel;

/* The AVX-512 short kernel's fixed shapes, X(kc, a_stride, ntaps) (none off x86), and the
 * calls each got. */
#if defined(__x86_64__) || defined(__i386__)
#define FIXED_SHAPES DC_AVX512_SHORT_FIXED
#else
#define FIXED_SHAPES(X)
#endif
#define SHAPE_COUNT(KC, ST, NT) +1
#define SHAPE_ROW(KC, ST, NT) {KC, ST, NT},
enum { N_FIXED = 0 FIXED_SHAPES(SHAPE_COUNT) };
static const int64_t FIXED[N_FIXED + 1][3] = {FIXED_SHAPES(SHAPE_ROW){0, 0, 0}};
static int g_fixed_calls[N_FIXED + 1];
static int g_runs_calls, g_fixed_runs_calls; /* runs calls with 2 or more tiles */
static int g_lines_calls; /* runs calls with 2 or more lines */
static int g_fixed_pad_calls; /* fixed-shape calls whose zl or zr reaches the shape's padding */

static const kernel KERNELS[] = {
    {"portable 4x8", DC_ISA_PORTABLE, DC_PORTABLE_GEMM_MR, DC_PORTABLE_GEMM_NR, 0,
     dc_ukr_gemm_portable, 0, NULL},
#if defined(__x86_64__) || defined(__i386__)
    {"avx2 6x16", DC_ISA_AVX2, DC_AVX2_GEMM_MR, DC_AVX2_GEMM_NR, 1, dc_ukr_gemm_avx2, 0, NULL},
    {"avx512 8x32", DC_ISA_AVX512, DC_AVX512_GEMM_MR, DC_AVX512_GEMM_NR, 1, dc_ukr_gemm_avx512,
     0, NULL},
    {"avx512 6x64 wide", DC_ISA_AVX512, DC_AVX512_WIDE_MR, DC_AVX512_WIDE_NR, 1,
     dc_ukr_gemm_avx512_wide, 0, NULL},
    {"avx512 7x32 short", DC_ISA_AVX512, DC_AVX512_SHORT_MR, DC_AVX512_GEMM_NR, 1,
     dc_ukr_gemm_avx512_short, 1, dc_ukr_gemm_avx512_short_runs},
#endif
#if defined(__aarch64__)
    {"neon 6x16", DC_ISA_NEON, DC_NEON_GEMM_MR, DC_NEON_GEMM_NR, 1, dc_ukr_gemm_neon, 0, NULL},
#endif
};

#define MAX_MR 16
#define MAX_NR 64
#define MAX_TAPS 8 /* at least the taps of every DC_AVX512_SHORT_FIXED shape */
#define MAX_KC 40
#define GUARD 8 /* poisoned floats on each side of a C row */
#define MAX_TILES 4 /* per runs call */

/* One random call of kernel K (a third of a runs kernel's calls go through its runs entry,
 * 1..MAX_TILES whole tiles); returns 1 when it matched. */
static int one_call(const kernel *K, uint64_t *rng, int idx) {
    const int MR = K->mr, NR = K->nr;
    /* whole tiles a third of the time: the kernels' full-width stores */
    int mr = (int)th_rand_int(rng, 1, MR);
    int nr = th_rand_int(rng, 0, 2) ? (int)th_rand_int(rng, 1, NR) : NR;
    int32_t ntaps = (int32_t)th_rand_int(rng, 0, MAX_TAPS);
    int64_t kc = th_rand_int(rng, 1, MAX_KC);
    const int64_t a_off = th_rand_int(rng, 0, 3), c_off = th_rand_int(rng, 0, 5);
    int strided = (int)th_rand_int(rng, 0, 1), first = (int)th_rand_int(rng, 0, 1);
    int c_strided = (int)th_rand_int(rng, 0, 1);
    int64_t a_stride = 0;
    /* A quarter of the short kernel's calls take one of its fixed shapes (the rest stay
     * random, so near misses run its generic body). */
    int fixed = -1;
    if (K->fixed && N_FIXED > 0 && th_rand_int(rng, 0, 3) == 0) {
        const int64_t(*shapes)[3] = FIXED;
        fixed = (int)th_rand_int(rng, 0, N_FIXED - 1);
        /* up to the shape's taps: a conv's edge lines leave out those in the padding */
        kc = shapes[fixed][0], a_stride = shapes[fixed][1];
        ntaps = (int32_t)th_rand_int(rng, shapes[fixed][2] / 2, shapes[fixed][2]);
        if (!CHECK(shapes[fixed][2] <= MAX_TAPS, "fixed shape %d has more taps than the test "
                   "holds", fixed))
            return 0;
        mr = MR, nr = NR, strided = 1, first = 1, c_strided = 1;
        g_fixed_calls[fixed]++;
    }
    /* runs: tiles whole tiles, rows MR * tiles, both strides set */
    const int runs = K->runs && th_rand_int(rng, 0, 2) == 0;
    const int tiles = runs ? (int)th_rand_int(rng, 1, MAX_TILES) : 1;
    if (runs) mr = MR, strided = 1, c_strided = 1;
    if (runs && tiles > 1) g_runs_calls++, g_fixed_runs_calls += fixed >= 0;
    /* Half the runs of 2+ tiles come in 2+ lines (dc_ukr_args.line_tiles), a_line and c_line
     * apart: further than one line's rows, so a kernel that ignores them reads and writes the
     * wrong rows (the gap rows of C hold poison). */
    int lines = 1;
    if (runs && tiles > 1 && th_rand_int(rng, 0, 1)) {
        lines = tiles == 4 && th_rand_int(rng, 0, 1) ? 2 : tiles;
        g_lines_calls++;
    }
    const int per = tiles / lines, line_rows = per * MR;
    const int64_t gap_a = lines > 1 ? th_rand_int(rng, 0, 5) : 0;
    const int gap_c = lines > 1 ? (int)th_rand_int(rng, 1, 2) : 0;
    const int rows = (tiles - 1) * MR + mr, R = tiles * MR; /* rows computed, rows held */
    const int RC = R + (lines - 1) * gap_c;                  /* rows of C, with the gaps */
    /* A: one row of a_off + kc floats per (tap, tile row), rows equally spaced when strided:
     * apart (a_stride >= kc) or, as a conv's neighbouring pixels read them, overlapping. */
    const int64_t row_floats = a_off + kc + 3;
    if (strided && fixed < 0) a_stride = th_rand_int(rng, 1, row_floats);
    const int64_t btaps = ntaps + th_rand_int(rng, 0, 2);
    const int64_t a_line = line_rows * a_stride + gap_a;
    const int64_t tap_floats = R * row_floats + lines * gap_a; /* one tap's rows */
    float *A = malloc((size_t)(MAX_TAPS * tap_floats) * sizeof(float));
    float *B = malloc((size_t)((btaps > 0 ? btaps : 1) * kc * NR) * sizeof(float));
    const int64_t cw = c_off + NR + 2 * GUARD;
    float *C = malloc((size_t)(RC * cw) * sizeof(float));
    /* Output rows through c[] or, half the time, c[0] and c_stride; then c[1..] point at a
     * poisoned decoy that a kernel ignoring the stride would write to. */
    float *decoy = malloc((size_t)(RC * cw) * sizeof(float));
    float *const C0 = C + GUARD; /* row r of the tile: C0 + r * cw, whichever way it is passed */
    float *want = malloc((size_t)(R * NR) * sizeof(float));
    const float *ap[MAX_TAPS * MAX_MR];
    float *cp[MAX_MR];
    int32_t tap[MAX_TAPS];
    for (int64_t i = 0; i < MAX_TAPS * tap_floats; i++) A[i] = th_rand_float(rng);
    /* Whole tiles from zero with a_stride set: half the time the first zl floats of the first
     * tile's tap rows and the last zr of the last tile's are zeros, as a conv's padding
     * columns, and the call says so (dc_ukr_args.zl, zr). A kernel that leaves out more
     * products than those reads nonzero A and fails. */
    int32_t zl = 0, zr = 0;
    if (first && a_stride > 0 && mr == MR && th_rand_int(rng, 0, 1)) {
        /* fixed shapes: around the padding of a SAME conv with the shape's kernel row */
        const int64_t pad = fixed >= 0 ? (kc / a_stride - 1) / 2 * a_stride : kc / 2;
        const int64_t pick[4] = {0, pad > 0 ? pad - 1 : 0, pad, pad + 1 <= kc ? pad + 1 : kc};
        zl = (int32_t)pick[th_rand_int(rng, 0, 3)];
        zr = (int32_t)pick[th_rand_int(rng, 0, 3)];
        for (int l = 0; l < lines; l++) { /* every line's first and last windows */
            const int64_t start = a_off + l * a_line, end = start + (line_rows - 1) * a_stride + kc;
            for (int32_t t = 0; t < MAX_TAPS; t++) {
                for (int64_t i = start; i < start + zl; i++) A[t * tap_floats + i] = 0.0f;
                for (int64_t i = end - zr; i < end; i++) A[t * tap_floats + i] = 0.0f;
            }
        }
        if (fixed >= 0 && pad > 0 && (zl >= pad || zr >= pad)) g_fixed_pad_calls++;
    }
    for (int64_t i = 0; i < btaps * kc * NR; i++) B[i] = th_rand_float(rng);
    th_poison(C, RC * cw);
    /* Fixed shapes take a run of consecutive taps (from tap 0, 1 or 2 of b). */
    const int32_t run0 = (int32_t)th_rand_int(rng, 0, btaps - ntaps);
    for (int32_t t = 0; t < ntaps; t++) {
        tap[t] = fixed >= 0 ? run0 + t : (int32_t)th_rand_int(rng, 0, btaps - 1);
        for (int r = 0; r < MR; r++)
            ap[t * MR + r] = A + (int64_t)t * tap_floats + (strided ? 0 : r * row_floats);
    }
    th_poison(decoy, RC * cw);
    for (int r = 0; r < MR; r++) cp[r] = (c_strided && r > 0 ? decoy : C) + r * cw + GUARD;
    /* Tile row r's offset in a tap's rows (strided) and its row of C: lines apart */
#define A_ROW(r) ((r) / line_rows * a_line + (r) % line_rows * a_stride)
#define C_ROW(r) ((r) + (r) / line_rows * gap_c)
    if (!first)
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < nr; j++) C0[C_ROW(r) * cw + c_off + j] = th_rand_float(rng);
    /* The expected tile: per element, taps in order, channels in order, one fmaf each. */
    const double scale = 1.0 + (double)ntaps * (double)kc; /* |a|, |b|, |c| <= 1 */
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < nr; j++) {
            float acc = first ? 0.0f : C0[C_ROW(r) * cw + c_off + j];
            for (int32_t t = 0; t < ntaps; t++) {
                const float *a = strided ? ap[t * MR] + a_off + A_ROW(r) : ap[t * MR + r] + a_off;
                const float *b = B + (int64_t)tap[t] * kc * NR + j;
                for (int64_t k = 0; k < kc; k++) acc = fmaf(a[k], b[k * NR], acc);
            }
            want[r * NR + j] = acc;
        }
    dc_ukr_args u;
    u.a = ap;
    u.a_stride = a_stride;
    u.tap = tap;
    u.b = B;
    u.btaps = btaps;
    u.c = cp;
    u.a_off = a_off;
    u.c_off = c_off;
    u.kc = kc;
    u.ntaps = ntaps;
    u.mr = mr;
    u.nr = nr;
    u.first = first;
    u.c_stride = c_strided ? cw : 0;
    /* Half the calls carry a prefetch hint (the 6x64 kernel follows it, the others ignore
     * it): the result must not change by a bit. */
    float pf_buf[16 * 20];
    u.pf = th_rand_int(rng, 0, 1) ? (const char *)pf_buf : NULL;
    u.pf_lines = u.pf ? th_rand_int(rng, 1, 20) : 0;
    u.zl = zl, u.zr = zr;
    /* one line: line_tiles 0 or tiles; fn ignores line_tiles (garbage there) */
    u.line_tiles = lines > 1 ? per : runs ? (th_rand_int(rng, 0, 1) ? tiles : 0) : 3;
    u.a_line = a_line;
    u.c_line = (line_rows + gap_c) * cw;
    if (runs)
        K->runs(&u, tiles);
    else
        K->fn(&u);
    CHECK(th_is_poisoned(decoy, RC * cw), "%s call %d: wrote through c[1..] with c_stride set",
          K->name, idx);
    /* The first element that differs, or that was written outside the tile. */
    int bad_r = -1, bad_tile_row = -1; /* C's row, and the tile row it holds (-1: a gap) */
    int64_t bad_j = 0;
    for (int pr = 0; pr < RC && bad_r < 0; pr++) {
        /* the tile row that C row pr holds, or -1 in a gap between lines */
        const int in_line = pr % (line_rows + gap_c);
        const int r = in_line < line_rows ? pr / (line_rows + gap_c) * line_rows + in_line : -1;
        for (int64_t j = -GUARD; j < c_off + NR + GUARD && bad_r < 0; j++) {
            const float got = C0[pr * cw + j];
            int good;
            if (r >= 0 && r < rows && j >= c_off && j < c_off + nr) {
                const float w = want[r * NR + (j - c_off)];
                good = K->fused ? memcmp(&got, &w, sizeof got) == 0
                                : fabs((double)got - (double)w) <= 1e-6 * scale;
            } else {
                good = th_is_poisoned(&got, 1);
            }
            if (!good) bad_r = pr, bad_j = j, bad_tile_row = r;
        }
    }
    const int in_tile = bad_tile_row >= 0 && bad_tile_row < rows && bad_j >= c_off && bad_j < c_off + nr;
    const int ok = CHECK(bad_r < 0,
                         "%s call %d (tiles %d lines %d mr %d nr %d ntaps %d kc %lld a_stride %lld "
                         "a_off %lld c_off %lld first %d): C[%d][%lld] = %.9g, %s %.9g",
                         K->name, idx, runs ? tiles : 0, lines, mr, nr, (int)ntaps, (long long)kc, (long long)a_stride,
                         (long long)a_off, (long long)c_off, first, bad_r,
                         (long long)(bad_j - c_off), bad_r >= 0 ? (double)C0[bad_r * cw + bad_j] : 0.0,
                         in_tile ? "want" : "outside the tile, where it held poison",
                         in_tile ? (double)want[bad_tile_row * NR + (bad_j - c_off)] : 0.0);
#undef A_ROW
#undef C_ROW
    free(A);
    free(B);
    free(C);
    free(decoy);
    free(want);
    return ok;
}

void suite_ukr(void) {
    uint64_t rng = 0x0c0ffee5ull;
    for (size_t i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++) {
        const kernel *K = &KERNELS[i];
        if (!dc_fast_isa_supported(K->isa)) {
            /* Not a skip: the level does not exist on this CPU, and the runner says so. */
            printf("suite_ukr: this CPU does not run the %s kernel; not tested here\n", K->name);
            continue;
        }
        CHECK(K->mr <= MAX_MR && K->nr <= MAX_NR, "%s: tile larger than the test's", K->name);
        memset(g_fixed_calls, 0, sizeof g_fixed_calls);
        g_runs_calls = g_fixed_runs_calls = g_fixed_pad_calls = g_lines_calls = 0;
        for (int call = 0; call < 400; call++)
            if (!one_call(K, &rng, call)) break;
        if (K->fixed)
            for (int i = 0; i < N_FIXED; i++)
                CHECK(g_fixed_calls[i] >= 15, "%s: fixed shape %d got %d calls", K->name, i,
                      g_fixed_calls[i]);
        if (K->fixed)
            CHECK(g_fixed_pad_calls >= 12, "%s: %d fixed-shape calls with padding floats",
                  K->name, g_fixed_pad_calls);
        if (K->runs)
            CHECK(g_runs_calls >= 60 && g_fixed_runs_calls >= 15,
                  "%s: %d runs calls of 2+ tiles, %d of them fixed shapes", K->name,
                  g_runs_calls, g_fixed_runs_calls);
        if (K->runs)
            CHECK(g_lines_calls >= 25, "%s: %d runs calls of 2+ lines", K->name, g_lines_calls);
    }
}
