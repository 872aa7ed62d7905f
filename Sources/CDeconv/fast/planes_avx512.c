/* fast/planes_avx512.c - AVX-512F kernels of conv_planes.c: tap planes of 16-pixel blocks
 * (a register transpose, then one FMA per channel and plane), and the per-line sums of the
 * planes, two line phases and 2..4 output channels stored interleaved. Compiled with a target
 * attribute; conv_gemm.c only picks them when the CPU (and the OS) support AVX-512F. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "fast/transpose_avx512.h"

/* gcc's default tuning puts each channel group's transposes together ahead of its FMAs;
 * tuned for an AVX-512 core it spreads them among the FMAs, and mnist_k3s2 ran 4% faster on
 * Zen 4 (prepared, 1 thread, medians of 16 alternated runs: 0.0448 -> 0.0430 ms). clang
 * spreads them untuned and ran 2% slower with the tune. The tune changes instruction order
 * and choice only: the code needs AVX-512F and nothing more either way. */
#if defined(__GNUC__) && !defined(__clang__)
#define TGT __attribute__((target("avx512f,tune=skylake-avx512")))
#else
#define TGT __attribute__((target("avx512f")))
#endif

/* Mask of the first n of 16 lanes (n may be <= 0 or >= 16). */
TGT static inline __mmask16 lanes16(int64_t n) {
    return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* The nt planes from t0 of a block at pixel i0 that holds pixels from u->split on (lanes m):
 * those before it at p, the rest moved down to the first lanes at p2 (fast.h). Once per
 * image, so out of line: one copy instead of one per pass size and call site. */
TGT static __attribute__((noinline)) void store_split(const dc_planes_args *u, int64_t t0,
                                                      int nt, int64_t i0, __mmask16 m,
                                                      const __m512 *acc) {
    const int64_t k = u->split - i0; /* lanes of this image, < 16 */
    float *p = u->p + t0 * u->p_stride + i0;
    float *p2 = u->p2 + t0 * u->p_stride + (k > 0 ? 0 : -k);
    const __mmask16 m1 = (__mmask16)(m & lanes16(k)), m2 = (__mmask16)(k > 0 ? m >> k : m);
    const __m512i down = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
                                                           5, 4, 3, 2, 1, 0),
                                          _mm512_set1_epi32(k > 0 ? (int)k : 0));
    for (int t = 0; t < nt; t++) {
        _mm512_mask_storeu_ps(p + t * u->p_stride, m1, acc[t]);
        _mm512_mask_storeu_ps(p2 + t * u->p_stride, m2, _mm512_permutexvar_ps(down, acc[t]));
    }
}

/* Planes t0 .. t0 + NT of the block at pixel i0, lanes m (store_split where the block holds
 * the next image's first pixels). */
TGT static inline __attribute__((always_inline)) void
store_planes(const dc_planes_args *u, int64_t t0, const int NT, int64_t i0, __mmask16 m,
             const __m512 *acc) {
    if (u->split - i0 < 16) {
        /* a copy for the call: acc's own address never escapes, so it stays in registers */
        __m512 tmp[DC_PLANES_PASS_MAX];
#pragma GCC unroll 12
        for (int t = 0; t < NT; t++) tmp[t] = acc[t];
        store_split(u, t0, NT, i0, m, tmp);
        return;
    }
    float *p = u->p + t0 * u->p_stride + i0;
#pragma GCC unroll 12
    for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(p + t * u->p_stride, m, acc[t]);
}

/* Taps t0 .. t0 + NT of the block at pixel i0 (its channels transposed in xt): NT
 * accumulators, each channel vector loaded once for NT FMAs. */
TGT static inline __attribute__((always_inline)) void
planes_chunk(const dc_planes_args *u, const float *xt, int64_t i0, int64_t t0, const int NT,
             __mmask16 m) {
    __m512 acc[DC_PLANES_PASS_MAX];
#pragma GCC unroll 12
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    const float *w = u->w + t0;
    for (int64_t c = 0; c < u->cin; c++, w += u->ntaps) {
        const __m512 v = _mm512_load_ps(xt + c * 16);
#pragma GCC unroll 12
        for (int t = 0; t < NT; t++) acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(w[t]), v, acc[t]);
    }
    store_planes(u, t0, NT, i0, m, acc);
}

/* planes_chunk for two blocks at once, pixels i0 .. i0 + 15 (xt, whole) and i0 + 16 .. (xt2,
 * lanes m2): each weight broadcast feeds two FMAs, 2 x NT accumulators. On a 2-FMA-port
 * Intel core one block's pass ran at about 79% of the FMA peak, two at 84% (dcgan4's 75
 * planes of 128 channels, alone). */
TGT static inline __attribute__((always_inline)) void
planes_chunk2(const dc_planes_args *u, const float *xt, const float *xt2, int64_t i0, int64_t t0,
              const int NT, __mmask16 m2) {
    __m512 acc[DC_PLANES_PASS_MAX], acc2[DC_PLANES_PASS_MAX];
#pragma GCC unroll 12
    for (int t = 0; t < NT; t++) acc[t] = acc2[t] = _mm512_setzero_ps();
    const float *w = u->w + t0;
    /* The next pair's pixels (32 x cin floats, 32 per channel step) asked into L1 ahead of
     * their transposes: where they come from L3 or memory, the hardware prefetcher left the
     * transposes waiting. Zen 4, 1 thread, medians of alternating runs: dcgan4 1.85 -> 1.60
     * ms, mnist_k3s2 0.0527 -> 0.0514 ms (64 or 128 pixels ahead: alike). As integers: past
     * the input's end is harmless for a prefetch, not for a pointer. */
    const uintptr_t next = (uintptr_t)(u->x + i0 * u->cin) + (uintptr_t)(32 * u->cin) * 4;
    for (int64_t c = 0; c < u->cin; c++, w += u->ntaps) {
        _mm_prefetch((const char *)(next + (uintptr_t)c * 128), _MM_HINT_T0);
        _mm_prefetch((const char *)(next + (uintptr_t)c * 128 + 64), _MM_HINT_T0);
        const __m512 v = _mm512_load_ps(xt + c * 16), v2 = _mm512_load_ps(xt2 + c * 16);
#pragma GCC unroll 12
        for (int t = 0; t < NT; t++) {
            const __m512 b = _mm512_set1_ps(w[t]);
            acc[t] = _mm512_fmadd_ps(b, v, acc[t]);
            acc2[t] = _mm512_fmadd_ps(b, v2, acc2[t]);
        }
    }
    store_planes(u, t0, NT, i0, 0xFFFF, acc);
    store_planes(u, t0, NT, i0 + 16, m2, acc2);
}

/* The 16-pixel block at i0 (np of its pixels), its channels transposed into xt. */
TGT static inline __attribute__((always_inline)) void
transpose_block(const dc_planes_args *u, int64_t i0, int64_t np, float *xt) {
    const int64_t cin = u->cin;
    for (int64_t c0 = 0; c0 < cin; c0 += 16) {
        const __mmask16 cm = lanes16(cin - c0);
        const float *x = u->x + i0 * cin + c0;
        const int whole = np == 16 && cin - c0 >= 16; /* no test per row or channel */
        __m512 r[16];
        if (whole) {
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(x + i * cin);
        } else {
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                r[i] = i < np ? _mm512_maskz_loadu_ps(cm, x + i * cin) : _mm512_setzero_ps();
        }
        dc_transpose16(r);
        const int64_t nc = cin - c0 < 16 ? cin - c0 : 16;
        if (nc == 16) {
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) _mm512_store_ps(xt + (c0 + j) * 16, r[j]);
        } else {
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                if (j < nc) _mm512_store_ps(xt + (c0 + j) * 16, r[j]);
        }
    }
}

/* r[c] = channel c of 8 channels of 16 pixels at x (pixel i at x + i * cin): pixels i and
 * i + 8 share a load's two halves, so the 8 x 8 transposes run in both halves at once and
 * only 8 of their 24 shuffles cross 128-bit lanes. */
TGT static inline __attribute__((always_inline)) void load_transposed8(const float *x,
                                                                       int64_t cin,
                                                                       __m512 r[8]) {
    __m512 v[8], t[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        v[i] = _mm512_castpd_ps(_mm512_insertf64x4(
            _mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(x + i * cin))),
            _mm256_castps_pd(_mm256_loadu_ps(x + (i + 8) * cin)), 1));
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
    /* v[4g + c]: lanes (channel c, rows 4g..4g+3), (c + 4, same), then rows 4g+8.. */
#pragma GCC unroll 2
    for (int g = 0; g < 2; g++) {
        const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 2]);
        const __m512d c = _mm512_castps_pd(t[4 * g + 1]), d = _mm512_castps_pd(t[4 * g + 3]);
        v[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        v[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        v[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        v[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    const __m512i lo = _mm512_set_epi32(27, 26, 25, 24, 11, 10, 9, 8, 19, 18, 17, 16, 3, 2, 1, 0);
    const __m512i hi =
        _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 23, 22, 21, 20, 7, 6, 5, 4);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_permutex2var_ps(v[c], lo, v[4 + c]);
        r[c + 4] = _mm512_permutex2var_ps(v[c], hi, v[4 + c]);
    }
}

/* All NT = u->ntaps planes (one pass) of the 16-pixel block at i0 (np pixels), the channels
 * transposed 8 at a time into registers and used there: no scratch stored and loaded again,
 * and each weight an FMA's broadcast operand at a constant offset (the stride is NT). 8 + NT
 * + the transposes' temporaries fit the 32 registers; 16 channels at a time spilled under
 * clang (0.083 ms). Several passes would transpose the block again each, so they keep the
 * scratch (dc_planes_avx512). Tails (under 8 channels or 16 pixels) take the masked 16 x 16
 * transpose. mnist_k3s2 (9 planes of 32 channels), Zen 4, medians of alternating runs:
 * 0.0508 -> 0.0466 ms built by gcc, 0.0570 -> 0.0459 by clang. */
TGT static inline __attribute__((always_inline)) void
planes_direct(const dc_planes_args *u, int64_t i0, int64_t np, const int NT) {
    __m512 acc[DC_PLANES_PASS_MAX];
#pragma GCC unroll 12
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    const int64_t cin = u->cin;
    int64_t c0 = 0;
    for (; np == 16 && c0 + 8 <= cin; c0 += 8) {
        __m512 r[8];
        load_transposed8(u->x + i0 * cin + c0, cin, r);
        const float *w = u->w + c0 * NT;
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
#pragma GCC unroll 12
            for (int t = 0; t < NT; t++)
                acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(w[j * NT + t]), r[j], acc[t]);
    }
    for (; c0 < cin; c0 += 16) {
        const __mmask16 cm = lanes16(cin - c0);
        const float *x = u->x + i0 * cin + c0;
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            r[i] = i < np ? _mm512_maskz_loadu_ps(cm, x + i * cin) : _mm512_setzero_ps();
        dc_transpose16(r);
        const int64_t nc = cin - c0 < 16 ? cin - c0 : 16;
        const float *w = u->w + c0 * NT;
        for (int64_t j = 0; j < nc; j++)
#pragma GCC unroll 12
            for (int t = 0; t < NT; t++)
                acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(w[j * NT + t]), r[j], acc[t]);
    }
    store_planes(u, 0, NT, i0, lanes16(np), acc);
}

/* Planes that one pass does: block by block, transposes in registers (planes_direct). Else
 * blocks go in pairs through the scratch (the second of a pair may be partial), an odd last
 * block alone. */
TGT static void dc_planes_avx512(const dc_planes_args *u) {
    if (u->ntaps <= DC_PLANES_PASS_MAX) {
        for (int64_t i0 = 0; i0 < u->pixels; i0 += 16) {
            const int64_t np = u->pixels - i0 < 16 ? u->pixels - i0 : 16;
            /* one pass: t0 = 0 and n = ntaps */
#define PASS(t0, n) planes_direct(u, i0, np, n)
            DC_PLANES_PASSES(u->ntaps, PASS)
#undef PASS
        }
        return;
    }
    float *xt = u->scratch, *xt2 = u->scratch + 16 * u->cin;
    for (int64_t i0 = 0; i0 < u->pixels; i0 += 32) {
        const int64_t left = u->pixels - i0;
        transpose_block(u, i0, left < 16 ? left : 16, xt);
        /* the planes in passes of at most DC_PLANES_PASS_MAX, evened out */
        if (left > 16) {
            transpose_block(u, i0 + 16, left - 16 < 16 ? left - 16 : 16, xt2);
            const __mmask16 m2 = lanes16(left - 16);
#define PASS(t0, n) planes_chunk2(u, xt, xt2, i0, t0, n, m2)
            DC_PLANES_PASSES(u->ntaps, PASS)
#undef PASS
        } else {
            const __mmask16 pm = lanes16(left);
#define PASS(t0, n) planes_chunk(u, xt, i0, t0, n, pm)
            DC_PLANES_PASSES(u->ntaps, PASS)
#undef PASS
        }
    }
}

/* Phase f's sums of block b (outputs 16b .. 16b + 15): taps in order, each on its lanes. */
TGT static inline __m512 line_sums(const float *p, int64_t at, const dc_planes_tap *tp, int32_t n,
                                   int64_t b) {
    __m512 s = _mm512_setzero_ps();
    for (int32_t t = 0; t < n; t++) {
        const __mmask16 m = (__mmask16)tp[t].mask[b];
        s = _mm512_mask_add_ps(s, m, s, _mm512_maskz_loadu_ps(m, p + (at + tp[t].off)));
    }
    return s;
}

/* The sums of one channel's two line phases, a (even outputs) and c (odd), interleaved into
 * the 32 outputs at y: lanes m0 of the first 16, m1 of the next. */
TGT static inline void put_phases(float *y, __m512 a, __m512 c, __mmask16 m0, __mmask16 m1,
                                  __m512i lo_idx, __m512i hi_idx) {
    const __m512 u0 = _mm512_unpacklo_ps(a, c), u1 = _mm512_unpackhi_ps(a, c);
    _mm512_mask_storeu_ps(y, m0, _mm512_permutex2var_ps(u0, lo_idx, u1));
    _mm512_mask_storeu_ps(y + 16, m1, _mm512_permutex2var_ps(u0, hi_idx, u1));
}

/* Channel interleave of nc (2..4) vectors of 16 pixels into nc vectors of pixel-major floats:
 * output vector k, lane j is float 16k + j, pixel (16k + j) / nc of channel (16k + j) % nc,
 * taken from sources 0-1 (idx01) or 2-3 (idx23, where the mask bit is set). */
typedef struct interleave {
    __m512i idx01[4], idx23[4];
    __mmask16 hi[4];
} interleave;

TGT static void interleave_init(interleave *v, int64_t nc) {
    for (int64_t k = 0; k < nc; k++) {
        int32_t i01[16], i23[16];
        unsigned m = 0;
        for (int64_t j = 0; j < 16; j++) {
            const int64_t g = 16 * k + j, x = g / nc, co = g % nc;
            i01[j] = (int32_t)(co < 2 ? x + 16 * co : 0);
            i23[j] = (int32_t)(co >= 2 ? x + 16 * (co - 2) : 0);
            if (co >= 2) m |= 1u << j;
        }
        v->idx01[k] = _mm512_loadu_si512(i01);
        v->idx23[k] = _mm512_loadu_si512(i23);
        v->hi[k] = (__mmask16)m;
    }
}

/* One line of nc > 1 channels: each channel's phase sums per block, the phases interleaved
 * as with one channel, then the channels by the permutes of iv. */
TGT static void line_channels(const dc_planes_lines *l, const interleave *iv, int64_t base,
                              const dc_planes_tap *t0, int32_t n0, const dc_planes_tap *t1,
                              int32_t n1, float *y, __m512i lo_idx, __m512i hi_idx) {
    const int64_t out = l->out, nc = l->nc, per = l->nph == 2 ? 32 : 16;
    for (int64_t b = 0; per * b < out; b++) {
        __m512 A[2][4]; /* [16-pixel half][channel] */
        for (int64_t co = 0; co < 4; co++) A[0][co] = A[1][co] = _mm512_setzero_ps();
        for (int64_t co = 0; co < nc; co++) {
            const int64_t at = base + co * l->co_step + 16 * b;
            const __m512 a = line_sums(l->p, at, t0, n0, b);
            if (l->nph == 1) {
                A[0][co] = a;
                continue;
            }
            const __m512 c = line_sums(l->p, at, t1, n1, b);
            const __m512 u0 = _mm512_unpacklo_ps(a, c), u1 = _mm512_unpackhi_ps(a, c);
            A[0][co] = _mm512_permutex2var_ps(u0, lo_idx, u1);
            A[1][co] = _mm512_permutex2var_ps(u0, hi_idx, u1);
        }
        for (int64_t h = 0; h < per / 16; h++) {
            const int64_t left = (out - per * b - 16 * h) * nc; /* floats this half may write */
            float *yh = y + (per * b + 16 * h) * nc;
            for (int64_t k = 0; k < nc && 16 * k < left; k++) {
                const __m512 lo = _mm512_permutex2var_ps(A[h][0], iv->idx01[k], A[h][1]);
                const __m512 hi = _mm512_permutex2var_ps(A[h][2], iv->idx23[k], A[h][3]);
                _mm512_mask_storeu_ps(yh + 16 * k, lanes16(left - 16 * k),
                                      _mm512_mask_blend_ps(iv->hi[k], lo, hi));
            }
        }
    }
}

/* Lines of at most 32 outputs of one channel from two line phases that lines_pairs (below)
 * does not take (mnist_k3s2's lines, 28 outputs, ran here until it did; the general loop's
 * walk through the tap lists had taken 16% of that layer). One block per line, so each
 * phase list's offsets and block-0 masks are copied once into local tables and a line sums
 * from them. Returns 0 (nothing written) if a list is longer than a table. */
#define SHORT_LINE_TAPS 16
typedef struct short_phase {
    int32_t n;
    __mmask16 mask[SHORT_LINE_TAPS];
    int64_t off[SHORT_LINE_TAPS];
} short_phase;

/* line_sums from a table: taps in order, each on its lanes. */
TGT static inline __m512 table_sums(const float *p, const short_phase *f) {
    __m512 s = _mm512_setzero_ps();
    for (int32_t t = 0; t < f->n; t++)
        s = _mm512_mask_add_ps(s, f->mask[t], s, _mm512_maskz_loadu_ps(f->mask[t], p + f->off[t]));
    return s;
}

TGT static int lines_short(const dc_planes_lines *l, __m512i lo_idx, __m512i hi_idx) {
    short_phase ph[2 * 16]; /* [2 * row phase + line phase] */
    if (l->s1 > 16) return 0;
    for (int64_t q = 0; q < 2 * l->s1; q++) {
        ph[q].n = l->ntaps[q];
        if (ph[q].n > SHORT_LINE_TAPS) return 0;
        for (int32_t t = 0; t < ph[q].n; t++) {
            ph[q].off[t] = l->taps[q][t].off;
            ph[q].mask[t] = (__mmask16)l->taps[q][t].mask[0];
        }
    }
    const int64_t s1 = l->s1, lines = l->lines, step = l->row_step, ys = l->y_stride;
    const __mmask16 m0 = lanes16(l->out), m1 = lanes16(l->out - 16);
    int64_t r = l->r0;
    const float *p = l->p + l->base;
    float *y = l->y;
    for (int64_t o = 0; o < lines; o++, y += ys) {
        put_phases(y, table_sums(p, &ph[2 * r]), table_sums(p, &ph[2 * r + 1]), m0, m1, lo_idx,
                   hi_idx);
        if (++r == s1) r = 0, p += step;
    }
    return 1;
}

/* lines_short at stride 2 along dim 1 with 1 or 2 row and column taps per phase (mnist_k3s2:
 * 2 x 2, 2 x 1, 1 x 2 and 1 x 1) and more than 16 outputs, the lines in pairs of row phases
 * 0 and 1. A phase's taps are its row taps x its column taps (conv_planes.c builds them in
 * that order) and a tap's lanes depend on its column tap alone, so the 4 masks are set once
 * per call and every count is known at compile time. lines_short's loop loaded each tap's
 * mask and offset and, as the row phase alternated, ran lists of different lengths.
 * mnist_k3s2, prepared, 1 thread, Zen 4: its lines 11.8% -> 8-9% of the layer's time
 * (perf), the layer 0.0475 -> 0.0448 ms (medians of 12 alternated runs). */
typedef struct pair_prog {
    int64_t off[2][2][4];  /* [row phase][line phase][row tap * columns + column tap] */
    __mmask16 mask[2][2];  /* [line phase][column tap] */
} pair_prog;

/* Phase sums of a line from R x C taps, in order; loads outside a tap's lanes read zeros,
 * which leave a sum that started at +0 as it was (it is never -0). */
TGT static inline __attribute__((always_inline)) __m512
pair_sums(const float *p, const int64_t *off, __mmask16 k0, __mmask16 k1, const int R,
          const int C) {
    __m512 s = _mm512_setzero_ps();
    for (int t1 = 0; t1 < R; t1++)
        for (int t2 = 0; t2 < C; t2++)
            s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(t2 ? k1 : k0, p + off[t1 * C + t2]));
    return s;
}

/* One line: its phase sums interleaved as put_phases does, the first 16 outputs stored whole
 * (one mask register less). */
TGT static inline __attribute__((always_inline)) void
pair_line(const pair_prog *g, const float *p, float *y, int r, const int R, const int C0,
          const int C1, __mmask16 a0, __mmask16 a1, __mmask16 b0, __mmask16 b1, __mmask16 m1,
          __m512i lo_idx, __m512i hi_idx) {
    const __m512 a = pair_sums(p, g->off[r][0], a0, a1, R, C0);
    const __m512 c = pair_sums(p, g->off[r][1], b0, b1, R, C1);
    const __m512 u0 = _mm512_unpacklo_ps(a, c), u1 = _mm512_unpackhi_ps(a, c);
    _mm512_storeu_ps(y, _mm512_permutex2var_ps(u0, lo_idx, u1));
    _mm512_mask_storeu_ps(y + 16, m1, _mm512_permutex2var_ps(u0, hi_idx, u1));
}

TGT static inline __attribute__((always_inline)) void
lines_pairs_run(const dc_planes_lines *l, const pair_prog *g, const int R0, const int R1,
                const int C0, const int C1, __m512i lo_idx, __m512i hi_idx) {
    const __mmask16 a0 = g->mask[0][0], a1 = g->mask[0][1], b0 = g->mask[1][0],
                    b1 = g->mask[1][1];
    const __mmask16 m1 = lanes16(l->out - 16);
    const int64_t step = l->row_step, ys = l->y_stride;
    const float *p = l->p + l->base;
    float *y = l->y;
    int64_t o = 0;
    if (l->r0 == 1 && o < l->lines) { /* the band starts at row phase 1 */
        pair_line(g, p, y, 1, R1, C0, C1, a0, a1, b0, b1, m1, lo_idx, hi_idx);
        o++, y += ys, p += step;
    }
    for (; o + 2 <= l->lines; o += 2, y += 2 * ys, p += step) {
        pair_line(g, p, y, 0, R0, C0, C1, a0, a1, b0, b1, m1, lo_idx, hi_idx);
        pair_line(g, p, y + ys, 1, R1, C0, C1, a0, a1, b0, b1, m1, lo_idx, hi_idx);
    }
    if (o < l->lines) pair_line(g, p, y, 0, R0, C0, C1, a0, a1, b0, b1, m1, lo_idx, hi_idx);
}

/* Returns 0 (nothing written) unless the lists have that form. */
TGT static int lines_pairs(const dc_planes_lines *l, __m512i lo_idx, __m512i hi_idx) {
    pair_prog g;
    const int32_t *rows = l->rows, *cols = l->cols; /* [row phase], [line phase] */
    if (l->s1 != 2 || l->out <= 16) return 0;
    for (int r = 0; r < 2; r++)
        if (rows[r] < 1 || rows[r] > 2 || cols[r] < 1 || cols[r] > 2) return 0;
    for (int f = 0; f < 2; f++) /* row phase 0's first row tap */
        for (int32_t c = 0; c < 2; c++)
            g.mask[f][c] = c < cols[f] ? (__mmask16)l->taps[f][c].mask[0] : (__mmask16)0;
    for (int r = 0; r < 2; r++)
        for (int f = 0; f < 2; f++)
            for (int32_t t = 0; t < rows[r] * cols[f]; t++)
                g.off[r][f][t] = l->taps[2 * r + f][t].off;
    switch (((rows[0] - 1) * 2 + rows[1] - 1) * 4 + (cols[0] - 1) * 2 + cols[1] - 1) {
#define PAIR_CASE(R0, R1, C0, C1)                                                              \
    case ((R0 - 1) * 2 + R1 - 1) * 4 + (C0 - 1) * 2 + C1 - 1:                                  \
        lines_pairs_run(l, &g, R0, R1, C0, C1, lo_idx, hi_idx);                                \
        return 1;
#define PAIR_ROWS(R0, R1)                                                                      \
    PAIR_CASE(R0, R1, 1, 1) PAIR_CASE(R0, R1, 1, 2) PAIR_CASE(R0, R1, 2, 1) PAIR_CASE(R0, R1, 2, 2)
        PAIR_ROWS(1, 1) PAIR_ROWS(1, 2) PAIR_ROWS(2, 1) PAIR_ROWS(2, 2)
#undef PAIR_ROWS
#undef PAIR_CASE
    default: return 0;
    }
}

TGT static void dc_planes_lines_avx512(const dc_planes_lines *l) {
    const float *p = l->p;
    const int64_t out = l->out, s1 = l->s1, step = l->row_step, ys = l->y_stride;
    /* lanes of a (phase 0) and c (phase 1) interleaved: a0 c0 a1 c1 ... */
    const __m512i lo_idx = _mm512_set_epi32(23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2, 1, 0);
    const __m512i hi_idx =
        _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10, 9, 8);
    int64_t r = l->r0, base = l->base;
    float *y = l->y;
    if (l->nc == 1 && l->nph == 2 && out <= 32 &&
        (lines_pairs(l, lo_idx, hi_idx) || lines_short(l, lo_idx, hi_idx)))
        return;
    interleave iv;
    if (l->nc > 1) interleave_init(&iv, l->nc);
    for (int64_t o = 0; o < l->lines; o++, y += ys) {
        const dc_planes_tap *t0 = l->taps[2 * r], *t1 = l->taps[2 * r + 1];
        const int32_t n0 = l->ntaps[2 * r], n1 = l->ntaps[2 * r + 1];
        if (l->nc > 1) {
            line_channels(l, &iv, base, t0, n0, t1, n1, y, lo_idx, hi_idx);
        } else if (l->nph == 1) {
            for (int64_t b = 0; 16 * b < out; b++)
                _mm512_mask_storeu_ps(y + 16 * b, lanes16(out - 16 * b),
                                      line_sums(p, base + 16 * b, t0, n0, b));
        } else {
            for (int64_t b = 0; 32 * b < out; b++)
                put_phases(y + 32 * b, line_sums(p, base + 16 * b, t0, n0, b),
                           line_sums(p, base + 16 * b, t1, n1, b), lanes16(out - 32 * b),
                           lanes16(out - 32 * b - 16), lo_idx, hi_idx);
        }
        if (++r == s1) r = 0, base += step;
    }
}

const dc_planes_kernels DC_PLANES_AVX512 = {dc_planes_avx512, dc_planes_lines_avx512, 4, 16};

#else
/* Keeps this translation unit non-empty (ISO C) on targets without these kernels. */
typedef int dc_planes_avx512_unused;
#endif
