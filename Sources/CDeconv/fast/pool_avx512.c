/* fast/pool_avx512.c - AVX-512F max_unpool: a prescan that validates the indices and
 * compresses them to one-byte codes, and a kernel that pulls each output cell from the codes.
 *
 * Why: the op is bound by memory. The AVX2 path reads the 8-byte indices twice (prescan, then
 * scatter), and its scalar scatter (~4-5 cycles per value) goes through a ring of output rows
 * that is copied out and cleared afterwards. Here the prescan leaves a code per value - where
 * its index lies relative to its window's first cell, in cells (the channel is checked) - so
 * the second pass reads 1 byte instead of 8, and each output cell is computed in registers
 * from the few pooled pixels whose windows contain it and stored once (non-temporal when
 * streaming): a check of 16 channels is one compare into a mask and one masked add.
 *
 * A value lands on a cell only if its code names that cell, so the result is the reference's
 * whenever every index lies in its own window and channel. The pull counts the values that
 * matched (each can match at most one cell), so the caller can verify that and redo an image
 * that had any index elsewhere. Candidates are visited in pooled memory order and the add is
 * masked (other lanes keep their bits), so duplicates sum in the reference's order: the same
 * bits. Compiled with a target attribute; only called when cpu.c reports AVX-512F. */
#include "fast/pool_fast.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f")))

/* First cell of pooled column o2's window, clipped. */
static int64_t first2(int64_t o2, int64_t s2, int64_t pb2) {
    const int64_t a = o2 * s2 - pb2;
    return a > 0 ? a : 0;
}

/* Software prefetch distances of max_unpool's two passes. Both stream from memory when the
 * op runs after other work (timed call for call with a memcpy, bench/bench.c); the hardware
 * prefetcher alone left the prescan reading indices at about 7.5 GB/s on one core of the
 * Intel machine. With these: max_unpool 4.1 -> 3.3 ms at 1 thread, 2.1 -> 1.55 at 2
 * (alternating A/B runs; 2 KiB-16 KiB and 4-16 columns ahead measured alike, NTA hints and
 * non-temporal code stores slower). The prescan also asks for indices 8 KiB ahead into L2
 * (which keeps more lines in flight than L1's fill buffers): 2.18 -> 2.11 ms at 1 thread on
 * the later host, medians of 10 alternating runs (the same into L2 for the pull's values
 * was 3% slower). */
#define SCAN_AHEAD 256  /* indices (2 KiB), into L1 */
#define SCAN_FAR 1024   /* indices (8 KiB), into L2 */

TGT int dc_pool_scan_codes_row_avx512(const dc_pool_code_row *r, int *local) {
    const int64_t C = r->c, cmask = C - 1;
    const __m512i iota = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    const __m512i lim = _mm512_set1_epi64(r->limit), ones = _mm512_set1_epi64(-1);
    const __m512i vbase = _mm512_set1_epi64(r->base), vimage = _mm512_set1_epi64(r->image);
    const __m512i vcmask = _mm512_set1_epi64(cmask);
    __mmask8 bad = 0, off = 0;
    int64_t j = 0;
    for (int64_t o2 = 0; o2 < r->y2; o2++) {
        /* the index of channel 0 of the window's first cell */
        const int64_t first = r->base + (r->anchor + first2(o2, r->s2, r->pb2)) * C;
        if (C < 8) { /* (C is a power of two: C >= 8 fills whole vectors) */
            for (int64_t c = 0; c < C; c++, j++) {
                const int64_t v = r->idx[j];
                const uint64_t t = (uint64_t)v - (uint64_t)r->base;
                const uint64_t e = (uint64_t)v - (uint64_t)(first + c);
                bad |= v < 0 || v >= r->limit;
                off |= t >= (uint64_t)r->image || (e & (uint64_t)cmask) != 0;
                r->codes[j] = (e & (uint64_t)cmask) == 0 && (e >> r->shift) < 255
                                  ? (uint8_t)(e >> r->shift) : 255;
            }
            continue;
        }
        for (int64_t c0 = 0; c0 < C; c0 += 8, j += 8) {
            /* (past the row's end is harmless: a prefetch never faults) */
            _mm_prefetch((const char *)((uintptr_t)(r->idx + j) + SCAN_AHEAD * sizeof(int64_t)),
                         _MM_HINT_T0);
            _mm_prefetch((const char *)((uintptr_t)(r->idx + j) + SCAN_FAR * sizeof(int64_t)),
                         _MM_HINT_T1);
            const __m512i v = _mm512_loadu_si512(r->idx + j);
            bad |= _mm512_cmpge_epu64_mask(v, lim); /* negative indices are huge unsigned */
            off |= _mm512_cmpge_epu64_mask(_mm512_sub_epi64(v, vbase), vimage);
            /* e = cells * C past the window's first cell when the channel is the lane's */
            __m512i e = _mm512_sub_epi64(v, _mm512_add_epi64(_mm512_set1_epi64(first + c0), iota));
            const __mmask8 chan = _mm512_test_epi64_mask(e, vcmask);
            off |= chan;
            /* other channel, before the window or >= 255 cells past it: code 255 (unsigned
             * saturation), which no cell matches */
            e = _mm512_srli_epi64(_mm512_mask_mov_epi64(e, chan, ones), (unsigned)r->shift);
            _mm_storel_epi64((__m128i *)(void *)(r->codes + j), _mm512_cvtusepi64_epi8(e));
        }
    }
    if (off) *local = 0;
    return bad != 0;
}

/* One check: the 16 codes at codes[o..] against w (this cell's code for the candidate); the
 * matching values are added to acc and counted in cnt. The code buffer is padded, so reading
 * 16 codes is always in bounds. */
#define PULL_CHECK(acc, cnt, o, vload)                                                   \
    do {                                                                                 \
        const __m128i c8_ = _mm_loadu_si128((const __m128i *)(const void *)(codes + (o))); \
        const __mmask16 k_ = _mm512_cmpeq_epi32_mask(_mm512_cvtepu8_epi32(c8_), w);      \
        acc = _mm512_mask_add_ps(acc, k_, acc, vload);                                   \
        cnt = _mm512_mask_sub_epi32(cnt, k_, cnt, minus1);                               \
    } while (0)

/* Runs BODY for each candidate of the cell in pooled memory order (rows as given, then
 * columns), with o its element offset plus c0 and w the code that names the cell in its
 * window, broadcast. On Zen 4 the pull is bound by its own instructions, not by memory:
 * the column table and walking it directly, instead of working out each cell's candidates
 * into arrays first, took max_unpool from 3.21 to 2.53 ms at 1 thread (in-process A/B, call
 * for call with a memcpy). */
#define FOR_CANDIDATES(o, w, c0, BODY)                                                   \
    for (int64_t q_ = 0; q_ < nrows; q_++) {                                             \
        const int64_t rb_ = r->rows[q_] + (c0);                                          \
        for (int32_t j_ = 0; j_ < nc; j_++) {                                            \
            const int64_t o = rb_ + col[j_].off;                                         \
            const __m512i w = _mm512_set1_epi32(roww[q_] + col[j_].at);                  \
            BODY                                                                         \
        }                                                                                \
    }

/* Stores 16 finished outputs: non-temporal (whole lines get written back to back, so they
 * combine) when streaming, in 64-byte or 16-byte pieces as the output's alignment allows. */
TGT static inline void put16(float *p, __m512 a, int stream) {
    if (stream == 2) {
        _mm512_stream_ps(p, a);
    } else if (stream == 1) {
        _mm_stream_ps(p, _mm512_castps512_ps128(a));
        _mm_stream_ps(p + 4, _mm512_extractf32x4_ps(a, 1));
        _mm_stream_ps(p + 8, _mm512_extractf32x4_ps(a, 2));
        _mm_stream_ps(p + 12, _mm512_extractf32x4_ps(a, 3));
    } else {
        _mm512_storeu_ps(p, a);
    }
}

TGT int64_t dc_pool_unpool_pull_row_avx512(const dc_pool_pull_row *r) {
    const int64_t C = r->c, nrows = r->nrows;
    const int stream = r->stream;
    const float *v = r->v;
    const uint8_t *codes = r->codes;
    const __m512i minus1 = _mm512_set1_epi32(-1);
    const __mmask16 tail = (__mmask16)((1u << (C % 16)) - 1u); /* lanes of a partial vector */
    /* per lane: values that found their cell (four counters: no chain between the blocks) */
    __m512i n0 = _mm512_setzero_si512(), n1 = n0, n2 = n0, n3 = n0;
    int32_t roww[DC_POOL_PULL_MAX];
    /* a code counts cells from its row's anchor plus its window's first column */
    for (int64_t q = 0; q < nrows; q++) roww[q] = (int32_t)(r->pos - r->anchors[q]);
    const dc_pool_pull_col *col = r->cols;
    for (int64_t i2 = 0; i2 < r->x2; col += r->cells[i2].n, i2++) {
        const int32_t nc = r->cells[i2].n, pf = r->cells[i2].pf;
        /* a new pooled column: fetch the values and codes DC_POOL_PULL_AHEAD columns on */
        if (pf >= 0)
            for (int64_t q = 0; q < nrows; q++) {
                const int64_t o = r->rows[q] + pf;
                for (int64_t c = 0; c < C; c += 16)
                    _mm_prefetch((const char *)(v + o + c), _MM_HINT_T0);
                for (int64_t c = 0; c < C; c += 64)
                    _mm_prefetch((const char *)(codes + o + c), _MM_HINT_T0);
            }
        float *out = r->out + i2 * C;
        /* the reference starts from a zeroed output: so do the sums */
        int64_t c0 = 0;
        for (; c0 + 64 <= C; c0 += 64) { /* four vectors at once: independent chains */
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            FOR_CANDIDATES(o, w, c0, {
                PULL_CHECK(a0, n0, o, _mm512_loadu_ps(v + o));
                PULL_CHECK(a1, n1, o + 16, _mm512_loadu_ps(v + o + 16));
                PULL_CHECK(a2, n2, o + 32, _mm512_loadu_ps(v + o + 32));
                PULL_CHECK(a3, n3, o + 48, _mm512_loadu_ps(v + o + 48));
            });
            put16(out + c0, a0, stream);
            put16(out + c0 + 16, a1, stream);
            put16(out + c0 + 32, a2, stream);
            put16(out + c0 + 48, a3, stream);
        }
        for (; c0 + 16 <= C; c0 += 16) {
            __m512 a0 = _mm512_setzero_ps();
            FOR_CANDIDATES(o, w, c0, { PULL_CHECK(a0, n0, o, _mm512_loadu_ps(v + o)); });
            put16(out + c0, a0, stream);
        }
        if (c0 < C) { /* partial vector: only its lanes are loaded, compared or stored */
            __m512 a0 = _mm512_setzero_ps();
            FOR_CANDIDATES(o, w, c0, {
                const __mmask16 k_ = _mm512_mask_cmpeq_epi32_mask(
                    tail, _mm512_cvtepu8_epi32(
                              _mm_loadu_si128((const __m128i *)(const void *)(codes + o))), w);
                a0 = _mm512_mask_add_ps(a0, k_, a0, _mm512_maskz_loadu_ps(tail, v + o));
                n0 = _mm512_mask_sub_epi32(n0, k_, n0, minus1);
            });
            _mm512_mask_storeu_ps(out + c0, tail, a0);
        }
    }
    return _mm512_reduce_add_epi32(
        _mm512_add_epi32(_mm512_add_epi32(n0, n1), _mm512_add_epi32(n2, n3)));
}

/* ---- max_pool_with_argmax, 64 channels at a time ------------------------------------------
 * The AVX2 pixel kernel's step is a compare and two blendv per 8 channels; on an Intel core
 * with 3-uop blendv that kept maxpool_argmax near 20 GB/s even in cache (60% of memcpy).
 * Here a compare into a mask and two masked moves handle 16 channels. Same step as the AVX2
 * kernel's fast pass: without NaNs, take v where v > best (ordered), so ties keep the first
 * maximum; NaNs are noted off the chain and send the pixel to the AVX2 kernel, whose exact
 * step gives the reference's bits. C % 64 == 0 (pool_fast.c checks). */

/* Stores 16 values, non-temporal when streaming (whole 64 bytes when aligned). */
TGT static inline void put16_any(float *p, __m512 a, int stream) {
    put16(p, a, stream && ((uintptr_t)p & 63) == 0 ? 2 : stream);
}

/* argmax = base + pos * C + lane for 16 lanes of pos (int32, >= 0): AVX2's store_index. The
 * indices go out through put16_any as bits (two 64-byte halves of 8 int64 each). */
TGT static inline void put_index16(int64_t *p, __m512i pos, int64_t C, int64_t base,
                                   int stream) {
    const __m512i iota = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), vc = _mm512_set1_epi64(C);
    for (int h = 0; h < 2; h++) {
        const __m256i ph = h ? _mm512_extracti64x4_epi64(pos, 1) : _mm512_castsi512_si256(pos);
        const __m512i idx = _mm512_add_epi64(
            _mm512_mul_epu32(_mm512_cvtepi32_epi64(ph), vc),
            _mm512_add_epi64(_mm512_set1_epi64(base + 8 * h), iota));
        put16_any((float *)(void *)(p + 8 * h), _mm512_castsi512_ps(idx), stream);
    }
}

TGT void dc_pool_argmax_px_avx512(const dc_pool_px *px) {
    const int64_t C = px->c;
    for (int64_t c0 = 0; c0 < C; c0 += 64) {
        const float *x0 = px->x + c0;
        __m512 b0 = _mm512_loadu_ps(x0), b1 = _mm512_loadu_ps(x0 + 16);
        __m512 b2 = _mm512_loadu_ps(x0 + 32), b3 = _mm512_loadu_ps(x0 + 48);
        __mmask16 nan = _mm512_cmp_ps_mask(b0, b1, _CMP_UNORD_Q) |
                        _mm512_cmp_ps_mask(b2, b3, _CMP_UNORD_Q);
        const __m512i start = _mm512_set1_epi32(px->pos);
        __m512i p0 = start, p1 = start, p2 = start, p3 = start;
        int64_t first = 1;
        for (int64_t i0 = 0; i0 < px->n0; i0++)
        for (int64_t i1 = 0; i1 < px->n1; i1++) {
            const float *row = px->x + i0 * px->st0 + i1 * px->st1 + c0;
            const int32_t rpos = px->pos + (int32_t)i0 * px->pst0 + (int32_t)i1 * px->pst1;
            for (int64_t i2 = first; i2 < px->n2; i2++) {
                const float *cell = row + i2 * C;
                const __m512i here = _mm512_set1_epi32(rpos + (int32_t)i2);
                const __m512 v0 = _mm512_loadu_ps(cell), v1 = _mm512_loadu_ps(cell + 16);
                const __m512 v2 = _mm512_loadu_ps(cell + 32), v3 = _mm512_loadu_ps(cell + 48);
                nan |= _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q) |
                       _mm512_cmp_ps_mask(v2, v3, _CMP_UNORD_Q);
                __mmask16 t;
#define STEP(q)                                                                            \
    t = _mm512_cmp_ps_mask(v##q, b##q, _CMP_GT_OQ);                                        \
    b##q = _mm512_mask_mov_ps(b##q, t, v##q);                                              \
    p##q = _mm512_mask_mov_epi32(p##q, t, here);
                STEP(0) STEP(1) STEP(2) STEP(3)
#undef STEP
            }
            first = 0;
        }
        if (nan) { /* the exact step, for the whole pixel (it rewrites the same bits) */
            dc_pool_argmax_px_avx2(px);
            return;
        }
        const int64_t base = px->ibase + c0;
        put16_any(px->y + c0, b0, px->stream);
        put16_any(px->y + c0 + 16, b1, px->stream);
        put16_any(px->y + c0 + 32, b2, px->stream);
        put16_any(px->y + c0 + 48, b3, px->stream);
        put_index16(px->argmax + c0, p0, C, base, px->stream);
        put_index16(px->argmax + c0 + 16, p1, C, base + 16, px->stream);
        put_index16(px->argmax + c0 + 32, p2, C, base + 32, px->stream);
        put_index16(px->argmax + c0 + 48, p3, C, base + 48, px->stream);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int dc_pool_avx512_unused;
#endif
