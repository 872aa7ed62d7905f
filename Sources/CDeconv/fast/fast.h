/*
 * fast/fast.h - the fast conv kernels, shared by the files of fast/ and by dispatch.c.
 *
 * One driver (conv_gemm.c) runs conv and transposed conv, channels-last, as implicit GEMMs:
 * a transposed conv is split into prod(stride) sub-pixel phases, each a dense stride-1
 * correlation, so no multiply ever touches an inserted zero. Every phase is
 *   C[rows, cout_g] = sum over taps and input channels of A_tap[rows, cin_g] * B_tap[cin_g, cout_g]
 * where A_tap rows are read through an indirection table of row pointers (padding points at
 * a zero row), so there is no im2col copy. Micro-kernels are per ISA, in their own files,
 * compiled with target attributes so one build runs on every CPU; cpu.c picks the best one
 * the CPU supports at run time.
 *
 * Results never depend on the thread count: every output element is computed by exactly one
 * work unit, in an order fixed by the problem and the ISA level alone.
 */
#ifndef DECONV_FAST_H
#define DECONV_FAST_H

#include "internal.h"

/* ---- ISA levels (cpu.c) ------------------------------------------------------------------ */

enum {
    DC_ISA_PORTABLE = 0, /* plain C, every target */
    DC_ISA_AVX2 = 1,     /* x86 AVX2 + FMA */
    DC_ISA_AVX512 = 2,   /* x86 AVX-512F (+ AVX2 + FMA): the GEMM kernel; the rest as AVX2 */
    DC_ISA_NEON = 3,     /* AArch64 AdvSIMD: the GEMM kernel; dot and pooling stay portable */
    DC_ISA_COUNT = 4
};

/** 1 if this build has kernels for `isa` and the CPU runs them. */
int dc_fast_isa_supported(int isa);
/** The level dispatch uses: the best supported one, or the one forced by the tests
 *  (DC_FAST_OFF: no fast path claims anything, every op runs the reference). */
int dc_fast_isa(void);
#define DC_FAST_OFF (-2)
/** Tests only: force level `isa` (must be supported), DC_FAST_OFF, or go back to automatic
 *  with -1. Returns 1 if accepted. Not thread-safe; never called by the library itself. */
int dc_fast_force_isa(int isa);
/** Short name of a level ("portable", "avx2", "avx512"). */
const char *dc_fast_isa_name(int isa);

/** dst[j * dld + i] = src[i * sld + j] for i < rows, j < cols (fast/transpose.c). stream: a
 *  hint that dst is large and not read soon (non-temporal stores where they fit). */
typedef void (*dc_transpose_fn)(const float *src, int64_t sld, float *dst, int64_t dld,
                                int64_t rows, int64_t cols, int stream);
/** The current level's transpose (every level gives the same bytes). */
dc_transpose_fn dc_fast_transpose(void);
/** The same for 8-byte elements (argmax's indices), with no stream hint. */
typedef void (*dc_transpose64_fn)(const int64_t *src, int64_t sld, int64_t *dst, int64_t dld,
                                  int64_t rows, int64_t cols);
dc_transpose64_fn dc_fast_transpose64(void);

/* ---- micro-kernels ------------------------------------------------------------------------- */

/** One call: an mr x nr tile of C (mr <= MR, nr <= NR) accumulated over `ntaps` taps of `kc`
 *  input channels each. Rows past mr read through a[] too (they point at the zero row) but
 *  are never stored; columns past nr are never loaded or stored. */
typedef struct dc_ukr_args {
    const float *const *a; /* [ntaps][MR] row pointers; channel a_off is read first */
    int64_t a_stride;      /* GEMM kernels: 0, or rows equally spaced: row r of tap t is
                            * a[t * MR] + r * a_stride (only a[t * MR] is read; rows past mr
                            * must be readable there too). DOT kernels: always 0. */
    const int32_t *tap;    /* [ntaps]: which tap of b each of the a[] taps uses */
    const float *b;        /* GEMM: packed [btaps][kc][NR]; dot: [nr][btaps][kc] */
    int64_t btaps;         /* taps packed in b (a tile skips taps all its rows pad) */
    float *const *c;       /* [mr] output row pointers (only c[0] with c_stride); column
                            * c_off is the tile's first */
    int64_t a_off, c_off, kc;
    int32_t ntaps, mr, nr;
    int first;             /* 1: start from zero, else add to what C holds */
    int64_t c_stride;      /* 0, or output rows equally spaced: row r is c[0] + r * c_stride
                            * (rows past mr are never touched either way) */
    const char *pf;        /* a hint: the caller will soon read pf_lines 64-byte lines from pf
                            * (the next unit's weights); a kernel may prefetch them into L2
                            * between its multiply-adds, or ignore them */
    int64_t pf_lines;
    int32_t zl, zr;        /* a hint for whole tiles (mr = MR) from zero (first) with a_stride
                            * set: the first zl floats of every tap row window that the call's
                            * first tile reads ((MR - 1) * a_stride + kc floats), and the last
                            * zr of its last tile's, are +0.0 (a conv's padding columns). A
                            * kernel may leave out their products: each adds +0.0 or -0.0 to a
                            * sum that started at +0.0, which changes no bit. Or ignore them;
                            * 0 and 0 always hold. */
    int64_t line_tiles;    /* dc_ukr_runs_fn only: 0 (one line), or tiles per line */
    int64_t a_line, c_line; /* ... and then the lines' distances in a and in c */
} dc_ukr_args;

/** Output row r's pointer, honouring c_stride. */
static inline float *dc_ukr_crow(const dc_ukr_args *u, int r) {
    return u->c_stride ? u->c[0] + r * u->c_stride : u->c[r];
}

typedef void (*dc_ukr_fn)(const dc_ukr_args *u);

/** Row r's pointer for tap pointers ap (= a + t * MR), honouring a_stride (GEMM kernels). */
static inline const float *dc_ukr_row(const dc_ukr_args *u, const float *const *ap, int r) {
    return u->a_stride ? ap[0] + u->a_off + r * u->a_stride : ap[r] + u->a_off;
}

/** Optional: `tiles` whole tiles in one call, tile j being u with its rows j * MR further on
 *  (a_off + j * MR * a_stride, c[0] + j * MR * c_stride). Needs mr == MR and both strides set;
 *  each tile gets exactly the bits one call of fn gives it. With u->line_tiles > 0 (a divisor
 *  of tiles) the tiles come in lines of line_tiles instead: tile j of line l starts at
 *  a_off + l * a_line + j * MR * a_stride and c[0] + l * c_line + j * MR * c_stride, and zl, zr
 *  hold for the first and the last tile of every line. */
typedef void (*dc_ukr_runs_fn)(const dc_ukr_args *u, int64_t tiles);

/** A micro-kernel and its tile. kind GEMM: vectors over output channels, B packed
 *  [ntaps][kc][NR]; kind DOT: vectors over input channels (few output channels), B packed
 *  [nr][ntaps][kc]. runs: NULL, or the kernel's dc_ukr_runs_fn. */
enum { DC_UKR_GEMM = 0, DC_UKR_DOT = 1 };
typedef struct dc_ukr {
    int kind, mr, nr;
    dc_ukr_fn fn;
    dc_ukr_runs_fn runs;
} dc_ukr;

void dc_ukr_gemm_portable(const dc_ukr_args *u); /* 4 x 8 */
void dc_ukr_dot_portable(const dc_ukr_args *u);  /* 4 x 4 */
#define DC_PORTABLE_GEMM_MR 4
#define DC_PORTABLE_GEMM_NR 8
#define DC_PORTABLE_DOT_MR 4
#define DC_PORTABLE_DOT_NR 4
#if defined(__x86_64__) || defined(__i386__)
void dc_ukr_gemm_avx2(const dc_ukr_args *u); /* 6 x 16 */
void dc_ukr_dot_avx2(const dc_ukr_args *u);  /* 4 x 3 */
#define DC_AVX2_GEMM_MR 6
#define DC_AVX2_GEMM_NR 16
#define DC_AVX2_DOT_MR 4
#define DC_AVX2_DOT_NR 3
/** d[k * cols + j] = s[j * s_stride + k] for j < rows, k < kc, and +0.0 for rows <= j < cols
 *  (cols a multiple of 16 for AVX-512, of 8 for AVX2): a transposed conv's filter rows
 *  [cout][cin] into the packed [kc][NR] of a GEMM kernel (pack_avx512.c, pack_avx2.c).
 *  next: NULL, or the rows the caller packs next (same stride and extents), which each block
 *  asks for into L2 (a hint: never dereferenced). */
void dc_pack_transpose_avx512(const float *s, int64_t s_stride, int64_t rows, int64_t cols,
                              int64_t kc, float *d, const float *next);
void dc_pack_transpose_avx2(const float *s, int64_t s_stride, int64_t rows, int64_t cols,
                            int64_t kc, float *d, const float *next);
void dc_ukr_gemm_avx512(const dc_ukr_args *u); /* 8 x 32 */
#define DC_AVX512_GEMM_MR 8
#define DC_AVX512_GEMM_NR 32
void dc_ukr_gemm_avx512_wide(const dc_ukr_args *u); /* 6 x 64 (implicit GEMM) */
#define DC_AVX512_WIDE_MR 6
#define DC_AVX512_WIDE_NR 64
void dc_ukr_gemm_avx512_short(const dc_ukr_args *u); /* 7 x 32 (conv_im2col) */
void dc_ukr_gemm_avx512_short_runs(const dc_ukr_args *u, int64_t tiles);
#define DC_AVX512_SHORT_MR 7
/* The short kernel's reductions fixed at compile time, as X(kc, a_stride, ntaps): whole tiles
 * from zero, c_stride set, taps consecutive in b. They are first layers at stride 1:
 * single-channel 3x3, 5x5 and 7x7 kernels (lenet_c1 is X(5, 1, 5)) and RGB 3x3. Other calls
 * run its generic body, with the same bits. */
#define DC_AVX512_SHORT_FIXED(X) X(3, 1, 3) X(5, 1, 5) X(7, 1, 7) X(9, 3, 3)
#endif
#if defined(__aarch64__)
void dc_ukr_gemm_neon(const dc_ukr_args *u); /* 6 x 16 */
#define DC_NEON_GEMM_MR 6
#define DC_NEON_GEMM_NR 16
#endif

/** dot1 kernels (conv_dot1.c): `rows` output pixels of a single output channel, each a dot
 *  product over ntaps taps of kc input channels (kc a multiple of 8), in groups of at most
 *  DC_DOT1_MR pixels. Row r of tap t is read at a[t] + a_off + r * a_stride, the tap's weights at
 *  w + t * kc; the sum of row r goes to c[r * c_stride]. The last group of DC_DOT1_MR rows is
 *  read whole (rows up to the next multiple of DC_DOT1_MR must be readable) but only `rows`
 *  are stored; ntaps may be 0 (the sums are 0).
 *  Pair mode (a2 != NULL, a transposed conv's two phases along a stride of 2): a second set of
 *  ntaps2 taps (a2, w2) gives rows2 (rows or rows - 1) more sums, and the two are stored
 *  interleaved: c[2r] = first set's row r, c[2r + 1] = second set's; c_stride is unused. */
typedef struct dc_dot1_args {
    const float *const *a, *const *a2;
    const float *w, *w2;
    float *c;
    int64_t a_off, a_stride, c_stride, kc, rows, rows2;
    int32_t ntaps, ntaps2;
    int32_t nc; /* dotn kernels: output channels (2..4) */
} dc_dot1_args;
typedef void (*dc_dot1_fn)(const dc_dot1_args *u);
#define DC_DOT1_MR 8
void dc_dot1_portable(const dc_dot1_args *u);
#if defined(__x86_64__) || defined(__i386__)
void dc_dot1_avx2(const dc_dot1_args *u);
#endif
/** dotn kernels (conv_dot1.c with 2..4 output channels): as dot1 without pair mode, for nc
 *  output channels: the weights of tap t are [nc][kc] at w + t * nc * kc (kc a multiple of
 *  16), and row r's nc sums go to c[r * c_stride + j]. Groups of at most DC_DOT1_MR rows are
 *  read whole, so rows up to the next multiple of DC_DOT1_MR must be readable. */
/* Rows per group of each dotn kernel, for nc output channels (its accumulators fill the
 * registers: R * nc of them). */
#define DC_DOTN_PORTABLE_R(nc) ((nc) == 2 ? 4 : 2)
#define DC_DOTN_AVX2_R(nc) ((nc) == 2 ? 6 : (nc) == 3 ? 4 : 3)
#define DC_DOTN_AVX512_R(nc) ((nc) == 4 ? 6 : 8)
void dc_dotn_portable(const dc_dot1_args *u);
/** For the dotn kernels: stores the sums v of the group of R rows from r0 (pixel-major, R x nc)
 *  for the rows the call has. */
static inline void dc_dotn_store(const dc_dot1_args *u, int64_t r0, int R, const float *v) {
    const int64_t m = u->rows - r0 < R ? u->rows - r0 : R;
    float *c = u->c + r0 * u->c_stride;
    for (int64_t r = 0; r < m; r++)
        for (int32_t j = 0; j < u->nc; j++) c[r * u->c_stride + j] = v[r * u->nc + j];
}
#if defined(__x86_64__) || defined(__i386__)
void dc_dotn_avx2(const dc_dot1_args *u);
void dc_dotn_avx512(const dc_dot1_args *u);
#endif

/** planes kernels (conv_planes.c). The planes kernel: for `pixels` input pixels (pixel i's
 *  cin floats at x + i * cin) and ntaps planes (kernel taps x output channels),
 *  p[t * p_stride + i] = the fmaf chain, channels in order from 0, of w[c * ntaps + t] *
 *  x_i[c]; pixels from `split` on (0 < split <= pixels) go to p2[t * p_stride + i - split]
 *  instead (the next image's planes, so its first pixels fill this image's last block).
 *  scratch: 32 * cin floats, 64-byte aligned. Nothing else of a plane is written. */
typedef struct dc_planes_args {
    const float *x, *w;
    float *p, *scratch;
    int64_t pixels, cin, ntaps, p_stride;
    int64_t split;
    float *p2;
} dc_planes_args;
/* The planes kernels' passes over one block: the ntaps planes in passes of at most
 * DC_PLANES_PASS_MAX (the accumulators a pass keeps in registers), evened out, each pass
 * handed to PASS(t0, n) with n a constant (so each size compiles to straight code). */
#define DC_PLANES_PASS_MAX 12
#define DC_PLANES_PASSES(ntaps, PASS)                                                      \
    for (int64_t ch_ = 0, t0_ = 0, nch_ = ((ntaps) + DC_PLANES_PASS_MAX - 1) / DC_PLANES_PASS_MAX; \
         ch_ < nch_; ch_++) {                                                              \
        const int64_t nt_ = ((ntaps) - t0_ + (nch_ - ch_) - 1) / (nch_ - ch_);             \
        switch (nt_) {                                                                     \
            case 1: PASS(t0_, 1); break;                                                   \
            case 2: PASS(t0_, 2); break;                                                   \
            case 3: PASS(t0_, 3); break;                                                   \
            case 4: PASS(t0_, 4); break;                                                   \
            case 5: PASS(t0_, 5); break;                                                   \
            case 6: PASS(t0_, 6); break;                                                   \
            case 7: PASS(t0_, 7); break;                                                   \
            case 8: PASS(t0_, 8); break;                                                   \
            case 9: PASS(t0_, 9); break;                                                   \
            case 10: PASS(t0_, 10); break;                                                 \
            case 11: PASS(t0_, 11); break;                                                 \
            default: PASS(t0_, DC_PLANES_PASS_MAX); break;                                 \
        }                                                                                  \
        t0_ += nt_;                                                                        \
    }
/** One tap of a line phase (conv_planes.c): its value for output q is at plane offset
 *  off + q from the line's base, and counts where bit q % 16 of mask[q / 16] is set. */
typedef struct dc_planes_tap {
    int64_t off;
    const uint16_t *mask;
} dc_planes_tap;
/** The lines kernel: `lines` output lines of `out` pixels of nc (1..4) channels each, line o
 *  at y + o * y_stride, each from nph (1 or 2) line phases. Line o runs row phase r (r0 for
 *  line 0, then r + 1, wrapping to 0 after s1 - 1) with the taps of phase f at
 *  taps[2r + f] (ntaps[2r + f] of them), from plane offset base (line 0's; it grows by
 *  row_step whenever r wraps). Channel co of phase f's q-th pixel adds, taps in order,
 *  p[base + tap.off + co * co_step + q] where the tap's mask says so; nothing else of p is
 *  read. nph 1: pixel q; nph 2: pixel 2q + f, the phases interleaved; channel co of pixel x
 *  at y[x * nc + co]. Only the line's out * nc floats are written. Each list taps[2r + f]
 *  is rows[r] row taps x cols[f] column taps, row tap major, and a tap's masks depend on its
 *  column tap alone. */
typedef struct dc_planes_lines {
    const float *p;
    const dc_planes_tap *const *taps;
    const int32_t *ntaps, *rows, *cols;
    int32_t nph, nc;
    int64_t s1, r0, base, row_step, co_step;
    int64_t lines, out, y_stride;
    float *y;
} dc_planes_lines;
typedef struct dc_planes_kernels {
    void (*planes)(const dc_planes_args *u);
    void (*lines)(const dc_planes_lines *l);
    int32_t max_nc; /* output channels the level runs here (beyond: dotn was faster) */
    int32_t block;  /* pixels per block: a call's pixels are best a multiple of it */
} dc_planes_kernels;
#if defined(__x86_64__) || defined(__i386__)
extern const dc_planes_kernels DC_PLANES_AVX2;
extern const dc_planes_kernels DC_PLANES_AVX512;
#endif

/* ---- the driver (conv_gemm.c) ------------------------------------------------------------ */

/** Fills plan with a fast kernel for p at the current ISA level and returns 1, or returns 0
 *  when no fast kernel claims p (the caller then uses the reference). */
int dc_fast_conv_plan(const dc_conv_problem *p, int32_t num_threads, dc_conv_plan *plan);

/* Drivers: the implicit GEMM (conv_gemm.c), GEMM + gather for transposed convs with few
 * output channels (conv_col.c), im2col + GEMM for convs with a short reduction
 * (conv_im2col.c), Winograd convolution for many channels (conv_wino.c), all on the GEMM /
 * DOT micro-kernels above; direct dot products for 1..4 output channels (conv_dot1.c) on
 * the dot1 / dotn kernels; tap planes summed per line for 1..4 output channels
 * (conv_planes.c) on the planes kernels; and Winograd with tiles in the lanes for 3 output
 * channels (conv_wino_few.c, AVX-512 only). */
enum {
    DC_FAST_MODE_GEMM = 0,
    DC_FAST_MODE_COL = 1,
    DC_FAST_MODE_IM2COL = 2,
    DC_FAST_MODE_DOT1 = 3,
    DC_FAST_MODE_PLANES = 4,
    DC_FAST_MODE_WINO = 5,
    DC_FAST_MODE_WINO_FEW = 6
};

/* ---- few-output-channel transposed conv as GEMM + gather (conv_col.c) -------------------- */

/** 1 when conv_col.c runs p with the GEMM micro-kernel `gemm`. */
int dc_fast_col_claims(const dc_conv_problem *p, const dc_ukr *gemm);
/** Packs the filter for conv_col.c: packed_floats (dc_fast_col_sizes) floats at dst. */
void dc_fast_col_pack_b(const dc_conv_problem *p, const dc_ukr *uk, const float *w, float *dst);
/** Units, workspace bytes (packed: without the packing buffer) and packed filter size. */
void dc_fast_col_sizes(const dc_conv_problem *p, const dc_ukr *uk, int packed,
                       int32_t num_threads, int64_t *units, size_t *workspace_bytes,
                       int64_t *packed_floats);
/** Runs units [begin, end); packed_b NULL packs a->w into the thread's workspace first. */
void dc_fast_col_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                     const dc_ukr *uk, const float *packed_b);

/* ---- Winograd convolution, F(2, 3) / F(2, 2) per dim and part (conv_wino.c) ------------------- */

/** The transforms (wino_xform.h, built per ISA; adds only, so the same bits everywhere), for
 *  tiles of a1 x a2 inputs (a = 2, 3 or 4 per dim): in: V of one tile's pixels q[a2 * i + j]
 *  over cin channels, point xi's values to v[xi], 0 when a value is not finite or too large
 *  for them; out: the tile's 2 x 2 outputs y[] (NULL: outside) of nr channels. */
typedef struct dc_wino_xf {
    int (*in)(const float *const *q, int a1, int a2, int64_t cin, float *const *v);
    void (*out)(const float *m, int64_t mstride, int a1, int a2, int64_t nr, float *const y[4]);
    /* the transformed filter: u[xi][c] for n channels from the nt1 x nt2 taps' rows g[];
     * 0 when a weight is not finite or too large */
    int (*u)(const float *const *g, int nt1, int nt2, int64_t n, float *const *u);
    /* dst[c * 16 + r] = src[r * ld + c] for r < rows, c < cols (at most 16 each): a
     * transposed filter's rows into rows along the output channels, for u */
    void (*t16)(const float *src, int64_t ld, int64_t rows, int64_t cols, float *dst);
} dc_wino_xf;
extern const dc_wino_xf DC_WINO_XF_PORTABLE;
#if defined(__x86_64__) || defined(__i386__)
extern const dc_wino_xf DC_WINO_XF_AVX2, DC_WINO_XF_AVX512;
#endif
/** 1 when conv_wino.c runs p with the GEMM micro-kernel `gemm`. */
int dc_fast_wino_claims(const dc_conv_problem *p, const dc_ukr *gemm);
/** Packs the transformed filter (dc_fast_wino_raw_offset floats) at dst with transforms xf;
 *  tmp: DC_WINO_PACK_TMP floats. */
#define DC_WINO_PACK_TMP 2304
void dc_fast_wino_pack_b(const dc_conv_problem *p, const dc_ukr *uk, const dc_wino_xf *xf,
                         const float *w, float *dst, float *tmp);
/** Where a packed filter keeps its raw copy (w_count floats, for the tiles run directly). */
int64_t dc_fast_wino_raw_offset(const dc_conv_problem *p, const dc_ukr *uk);
/** Units, workspace bytes (packed: without the packing buffer) and packed filter size (the
 *  transformed filter and the raw copy). */
void dc_fast_wino_sizes(const dc_conv_problem *p, const dc_ukr *uk, int packed,
                        int32_t num_threads, int64_t *units, size_t *workspace_bytes,
                        int64_t *packed_floats);
/** Runs units [begin, end); packed_b NULL packs raw_w into the thread's workspace first.
 *  raw_w: the filter in TF layout (read only for tiles run directly). */
void dc_fast_wino_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                      const dc_ukr *uk, const dc_wino_xf *xf, const float *packed_b,
                      const float *raw_w);

/* ---- conv with a short reduction as im2col + GEMM (conv_im2col.c) ------------------------ */

int dc_fast_im2col_claims(const dc_conv_problem *p, const dc_ukr *gemm);
void dc_fast_im2col_pack_b(const dc_conv_problem *p, const dc_ukr *uk, const float *w,
                           float *dst);
void dc_fast_im2col_sizes(const dc_conv_problem *p, const dc_ukr *uk, int packed,
                          int32_t num_threads, int64_t *units, size_t *workspace_bytes,
                          int64_t *packed_floats);
void dc_fast_im2col_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                        const dc_ukr *uk, const float *packed_b);

/* ---- 1..4 output channels as direct dot products on a zero-padded image (conv_dot1.c) ---- */

/** 1 when conv_dot1.c runs p: channels-last, groups 1, image small enough, and one output
 *  channel (dot1 kernels, from 8 input channels) or 2..4 (dotn kernels, from 16). */
int dc_fast_dot1_claims(const dc_conv_problem *p);
void dc_fast_dot1_pack_b(const dc_conv_problem *p, const float *w, float *dst);
void dc_fast_dot1_sizes(const dc_conv_problem *p, int packed, int32_t num_threads,
                        int64_t *units, size_t *workspace_bytes, int64_t *packed_floats);
/** Runs units [begin, end) with kernel fn; packed_b NULL packs a->w into the workspace. */
void dc_fast_dot1_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                      dc_dot1_fn fn, const float *packed_b);
/** Most kernel positions (taps) the implicit GEMM takes; larger kernels go to the reference. */
#define DC_FAST_MAX_TAPS 512
/** Kernel positions a of dim j that phase r uses (all of them for a conv), with the input
 *  offset of each at q = 0 (input = q * s + off for a conv, q + off for a transposed conv);
 *  as and offs may be NULL. Returns the count (conv_gemm.c). */
int64_t dc_fast_dim_taps(const dc_conv_problem *p, int j, int64_t r, int64_t *as, int64_t *offs);

/* ---- the implicit GEMM's row order within a phase (row_order.c) --------------------------- */

/** ceil(a / s) for s > 0 and any sign of a (the tap intervals of row_order.c and conv_split.c). */
static inline int64_t dc_ceil_div(int64_t a, int64_t s) {
    return a >= 0 ? (a + s - 1) / s : -((-a) / s);
}

/** How a phase's output rows are ordered. batch_outer: (n, q0, q1, q2). Else the columns
 *  (last dim) [lo, hi) first, as (q0, q1, q2, n), then the others column by column, as
 *  (q2, q0, q1, n); [lo, hi) are the columns whose taps all reach the input, or all of them
 *  (lo = 0, hi = nq[2]) when there are none or batch_outer. */
typedef struct dc_row_order {
    int64_t n, nq[3]; /* images; positions of the phase per dim */
    int64_t lo, hi;
    int batch_outer;
} dc_row_order;

/** The order of phase r's rows (r: its remainders per dim; 0s for a conv). */
void dc_fast_row_order(const dc_conv_problem *p, int batch_outer, const int64_t r[3],
                       dc_row_order *o);
/** Image and position of row `row` (< n * nq[0] * nq[1] * nq[2]). */
void dc_fast_row_at(const dc_row_order *o, int64_t row, int64_t *n, int64_t q[3]);

/** Steps (n, q) to the next row in order o, as an odometer (no division); returns 1 when the
 *  position changed, 0 when only the image did. Past the last row the values are unspecified. */
static inline int dc_row_next(const dc_row_order *o, int64_t *n, int64_t q[3]) {
    const int64_t *nq = o->nq;
    if (o->batch_outer) {
        if (++q[2] < nq[2]) return 1;
        q[2] = 0;
        if (++q[1] < nq[1]) return 1;
        q[1] = 0;
        if (++q[0] < nq[0]) return 1;
        q[0] = 0;
        ++*n;
        return 1;
    }
    if (++*n < o->n) return 0;
    *n = 0;
    if (q[2] >= o->lo && q[2] < o->hi) { /* the interior columns */
        if (++q[2] < o->hi) return 1;
        q[2] = o->lo;
        if (++q[1] < nq[1]) return 1;
        q[1] = 0;
        if (++q[0] < nq[0]) return 1;
        q[0] = 0;
        q[2] = o->lo > 0 ? 0 : o->hi; /* the first edge column */
        return 1;
    }
    if (++q[1] < nq[1]) return 1;
    q[1] = 0;
    if (++q[0] < nq[0]) return 1;
    q[0] = 0;
    if (++q[2] == o->lo) q[2] = o->hi;
    return 1;
}

/* ---- the threads' split of the implicit GEMM's rows (conv_split.c) ------------------------ */

/** Estimated work of output rows [0, rows) of every phase of p (rows in dc_row_order's
 *  order): the (row, tap) pairs whose input is inside. */
int64_t dc_fast_rows_cost(const dc_conv_problem *p, int batch_outer, int64_t rows);
/** Where thread t of T starts, in rows of `rows`: the first multiple of mr (or rows) at which
 *  the rows before cost t / T of the whole, kept within rows / (4T) + mr of the even split's
 *  row (which bounds one thread's rows by rows / T + rows / (2T) + mr + 1). 0 for t = 0,
 *  rows for t = T, and never decreasing in t. */
int64_t dc_fast_split_row(const dc_conv_problem *p, int batch_outer, int64_t rows, int64_t mr,
                          int64_t t, int64_t T);

/* ---- one output channel as tap planes, then sums (conv_planes.c) ------------------------- */

/** 1 when conv_planes.c runs p with kernels k: channels-last, 1-D or 2-D, groups 1, 1 to
 *  k->max_nc output channels, 8 to 1024 input channels, a transposed conv with stride 1 or 2 along the line or a
 *  stride-1 conv, and a band's planes within budget. */
int dc_fast_planes_claims(const dc_conv_problem *p, const dc_planes_kernels *k);
/** 1 when conv_planes.c fills each image's partial last block with the next image's first
 *  pixels (dc_planes_args.split) for p, which it claims. */
int dc_fast_planes_streams(const dc_conv_problem *p);
void dc_fast_planes_pack_b(const dc_conv_problem *p, const float *w, float *dst);
void dc_fast_planes_sizes(const dc_conv_problem *p, int packed, int32_t num_threads,
                          int64_t *units, size_t *workspace_bytes, int64_t *packed_floats);
/** Runs units [begin, end) with kernels k; packed_b NULL packs a->w into the workspace. */
void dc_fast_planes_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                        const dc_planes_kernels *k, const float *packed_b);

/* ---- Winograd with 16 tiles in the lanes, for 3 output channels (conv_wino_few.c) -------- */

/** One block of 16 tiles along a row, all channels (wino_few_avx512.c): M for the 49 points
 *  (7 dim-1 rows, 7 dim-2 rows) x 3 output channels. rows[i]: input row i of the tiles
 *  (i < 4), channel c at rows[i] + c * row_stride, where tile l's window input j (j < 4) is
 *  lane l of the 16 floats at doff[j]. Pass i adds (pass[i][2] = +1) or subtracts (-1) row
 *  pass[i][1] to row pass[i][0], or takes row pass[i][0] alone (0), then runs the dim-2
 *  transform (F(2, 3)'s 4 rows, F(2, 2)'s 3, its window starting delta2 columns later) and
 *  sums its products with u: [pass][cin][7][3]. m: [pass][7][3][16] floats, 64-byte
 *  aligned. */
typedef struct dc_wino_few_args {
    const float *rows[4];
    int64_t row_stride, cin, doff[4];
    const float *u;
    const signed char (*pass)[3];
    int delta2;
    float *m;
    const char *pf;     /* a hint: pf_lines 64-byte lines from pf (the next rows' pixels) that
                         * the kernel may prefetch into L2 between its products */
    int64_t pf_lines;
} dc_wino_few_args;
/** The output transform of one block: the 4 phases' 2 x 2 outputs per tile from m (as
 *  dc_wino_few_args), written where they are inside the output (ow columns of 3 floats per
 *  row). Per dim, type 0 is the 3-tap phase, 1 the 2-tap one: r[j][type] its phase (output
 *  2 q + r), nq[j][type] its positions; q1, q2: the block's first positions along dims 1
 *  and 2 (tile l: q2 + 2 l and the next). Nothing but those outputs is written. */
typedef struct dc_wino_few_out {
    const float *m;
    float *y;                  /* the image's output */
    int64_t y_row, ow;         /* floats per output row; output columns */
    int64_t q1, q2;
    int64_t r[2][2], nq[2][2];
} dc_wino_few_out;
#if defined(__x86_64__) || defined(__i386__)
void dc_wino_few_block_avx512(const dc_wino_few_args *a);
void dc_wino_few_out_avx512(const dc_wino_few_out *o);
/** One input row (w pixels of cin floats at x) transposed to d: column 2 l + parity of
 *  channel c at d[c * row_stride + parity * half_stride + l], in blocks of 16 lanes (the
 *  lanes of a last partial block past the row: 0); nothing else of d is written. Returns 0
 *  when a value is not finite or above xmax in magnitude. */
typedef struct dc_wino_few_row {
    const float *x;
    float *d;
    int64_t w, cin, row_stride, half_stride;
    float xmax;
} dc_wino_few_row;
int dc_wino_few_row_avx512(const dc_wino_few_row *r);
#endif
/** 1 when conv_wino_few.c runs p (at the AVX-512 level): channels-last 2-D transposed conv,
 *  groups 1, 3 output channels, 32 to 4096 input channels in 16s, 5 x 5 at stride 2 with
 *  dilation 1 and pads that keep each tile's inputs within 2 columns of its positions,
 *  pixels back to back, and rows of tiles that fill at least 3 in 4 of the lanes. */
int dc_fast_wino_few_claims(const dc_conv_problem *p);
void dc_fast_wino_few_pack_b(const dc_conv_problem *p, const float *w, float *dst);
void dc_fast_wino_few_sizes(const dc_conv_problem *p, int packed, int32_t num_threads,
                            int64_t *units, size_t *workspace_bytes, int64_t *packed_floats);
/** Runs units [begin, end); packed_b NULL packs a->w into the workspace first. */
void dc_fast_wino_few_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                          const float *packed_b);

/* ---- prepacked weights (prepared.c, the prepared-weights API) ----------------------------- */

/** Weights of one problem packed once for the micro-kernel chosen at packing time: exactly the
 *  blocks the stateless run packs per call, so a run gives the same bits. */
typedef struct dc_fast_packed {
    dc_ukr uk;
    const char *name;
    float *w;           /* 64-byte aligned, inside mem */
    void *mem;          /* owned */
    int mode;           /* DC_FAST_MODE_*: which driver, and so which packing, w holds */
    dc_dot1_fn dot1;    /* DC_FAST_MODE_DOT1: its kernel (uk is unused then) */
    const dc_planes_kernels *planes; /* DC_FAST_MODE_PLANES: its kernels */
    const dc_wino_xf *wino;          /* DC_FAST_MODE_WINO: its transforms */
    int64_t *phase_off; /* owned, one offset into w per phase */
} dc_fast_packed;

/** Packs p's weights w for the fast kernel of the current ISA level. Returns 1 when packed,
 *  0 when no fast kernel claims p (or the packed size does not fit size_t; the caller then
 *  keeps the raw weights and runs the stateless way), -1 when out of memory. */
int dc_fast_pack(const dc_conv_problem *p, const float *w, dc_fast_packed *fp);
void dc_fast_packed_free(dc_fast_packed *fp);
/** Work units and workspace bytes a packed run needs with num_threads threads. */
void dc_fast_packed_plan(const dc_fast_packed *fp, const dc_conv_problem *p, int32_t num_threads,
                         int64_t *units, size_t *workspace_bytes);
/** Runs units [begin, end) of a packed problem (a->w is not read). */
void dc_fast_run_packed(const dc_fast_packed *fp, const dc_conv_args *a, int64_t begin,
                        int64_t end, int32_t thread);

#endif /* DECONV_FAST_H */
