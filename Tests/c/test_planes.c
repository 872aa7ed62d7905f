/* test_planes.c - conv_planes.c's kernels called directly on their contract (fast.h): the
 * planes kernel on any pixel count, channel count and tap count (every 16-pixel and 16-channel
 * tail, several passes of taps), checked bit for bit against an fmaf chain over the channels;
 * the lines kernel on one and two line phases, 1..4 channels, several row phases, any lane
 * masks, and lines of any length, checked bit for bit against sums in tap order. Nothing outside what the
 * contract names may be written. The drivers reach only the shapes of real problems. */
#include "harness.h"

#include "fast/fast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)

#define GUARD 40

static float *aligned_floats(int64_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, (size_t)n * sizeof(float)) == 0 ? p : NULL;
}

/* Calls whose taps one pass does (the AVX-512 kernel then keeps its transposes in
 * registers) and calls of several passes, each with whole blocks and a channel tail. */
static int one_pass_calls, multi_pass_calls;
/* Calls that split the pixels between the two planes inside a block, and with a whole block
 * after the split (one-pass and multi-pass calls alike). */
static int split_calls, split_block_after;

static int planes_call(const dc_planes_kernels *K, uint64_t *rng, int idx) {
    const int64_t pixels = th_rand_int(rng, 1, 70), cin = th_rand_int(rng, 1, 70);
    const int64_t ntaps = th_rand_int(rng, 1, 40);
    if (pixels > 32 && cin > 16 && cin % 16 != 0) {
        one_pass_calls += ntaps <= DC_PLANES_PASS_MAX;
        multi_pass_calls += ntaps > DC_PLANES_PASS_MAX;
    }
    const int64_t pst = (pixels + 15) / 16 * 16 + th_rand_int(rng, 0, 2) * 16 + GUARD;
    float *x = aligned_floats(pixels * cin), *w = aligned_floats(cin * ntaps);
    float *scr = aligned_floats(32 * cin), *p = aligned_floats(ntaps * pst + 16);
    float *p2 = aligned_floats(ntaps * pst + 16);
    /* half the calls put the pixels from `split` on into the second planes (fast.h) */
    const int64_t split = th_rand_int(rng, 0, 1) ? pixels : th_rand_int(rng, 1, pixels);
    split_calls += split < pixels && split % 8 != 0;
    split_block_after += pixels - split >= 32;
    int ok = 1;
    for (int64_t i = 0; i < pixels * cin; i++) x[i] = th_rand_float(rng);
    for (int64_t i = 0; i < cin * ntaps; i++) w[i] = th_rand_float(rng);
    th_poison(p, ntaps * pst + 16);
    th_poison(p2, ntaps * pst + 16);
    dc_planes_args u = {x, w, p + 16, scr, pixels, cin, ntaps, pst, split, p2 + 16};
    K->planes(&u);
    ok &= CHECK(th_is_poisoned(p, 16) && th_is_poisoned(p2, 16),
                "planes call %d: wrote before the first plane", idx);
    for (int64_t t = 0; t < ntaps && ok; t++) {
        const float *pt = p + 16 + t * pst, *pt2 = p2 + 16 + t * pst;
        for (int64_t i = 0; i < pixels; i++) {
            const float got = i < split ? pt[i] : pt2[i - split];
            float s = 0.0f;
            for (int64_t c = 0; c < cin; c++) s = fmaf(w[c * ntaps + t], x[i * cin + c], s);
            if (!CHECK(memcmp(&s, &got, sizeof s) == 0,
                       "planes call %d (%lld pixels, split at %lld, %lld channels, %lld taps): "
                       "p[%lld][%lld] = %.9g, want %.9g",
                       idx, (long long)pixels, (long long)split, (long long)cin,
                       (long long)ntaps, (long long)t, (long long)i, (double)got, (double)s)) {
                ok = 0;
                break;
            }
        }
        ok &= CHECK(th_is_poisoned(pt + split, pst - split) &&
                        th_is_poisoned(pt2 + (pixels - split), pst - (pixels - split)),
                    "planes call %d: wrote past pixel %lld (split at %lld) of plane %lld", idx,
                    (long long)pixels, (long long)split, (long long)t);
    }
    free(p2);
    free(x);
    free(w);
    free(scr);
    free(p);
    return ok;
}

/* The lines kernel on 1..5 lines of up to 3 row phases. Each list is as conv_planes.c builds
 * it: a row phase's row taps (mostly 1 or 2, else 0 to 4) x a line phase's column taps (the
 * same), each column tap with any lane masks, and offsets anywhere inside p from base. One
 * call in ten has 5 or 6 row taps x 4 or 5 column taps: more than the AVX-512 kernel's
 * short-line tables hold. Counts the calls shaped for the short-line path (one channel, two
 * line phases, at most 32 outputs), with and without a phase too long for its tables, and
 * those shaped for its pairs of lines (stride 2, 1 or 2 row and column taps, more than 16
 * outputs). */
static int short_lines, short_lines_long, pair_lines;

static int lines_call(const dc_planes_kernels *K, uint64_t *rng, int idx) {
    enum { MAXT = 30, MAXB = 5, MAXR = 3, MAXC = 5 };
    const int nph = (int)th_rand_int(rng, 1, 2);
    const int nc = th_rand_int(rng, 0, 1) ? 1 : (int)th_rand_int(rng, 1, 4);
    const int64_t out = th_rand_int(rng, 0, 3) ? th_rand_int(rng, 1, 70) : th_rand_int(rng, 17, 32);
    const int64_t lines = th_rand_int(rng, 1, 5);
    const int64_t co_step = th_rand_int(rng, 0, 40);
    const int64_t nq = nph == 2 ? (out + 1) / 2 : out, nblk = (nq + 15) / 16;
    const int64_t s1 = th_rand_int(rng, 1, MAXR), r0 = th_rand_int(rng, 0, s1 - 1);
    const int64_t step = th_rand_int(rng, 0, 20), ys = out * nc + th_rand_int(rng, 0, 5);
    const int64_t plen = 800, base = th_rand_int(rng, 0, 100);
    float *p = aligned_floats(plen), *y = aligned_floats(lines * ys + GUARD);
    static dc_planes_tap taps[2 * MAXR][MAXT];
    static uint16_t masks[2][MAXC][MAXB]; /* [line phase][column tap][block] */
    const dc_planes_tap *tp[2 * MAXR];
    int32_t nt[2 * MAXR], rows[MAXR], cols[2];
    for (int64_t i = 0; i < plen; i++) p[i] = th_rand_float(rng);
    /* the bases lines use stay below base + step * (lines - 1) / s1 + step */
    const int64_t top = base + step * ((lines + s1 - 1) / s1 + 1) + 3 * co_step;
    const int wide = th_rand_int(rng, 0, 9) == 0;
    for (int f = 0; f < 2; f++) {
        cols[f] = (int32_t)(wide ? th_rand_int(rng, 4, 5)
                            : th_rand_int(rng, 0, 7) ? th_rand_int(rng, 1, 2)
                                                     : th_rand_int(rng, 0, 4));
        for (int32_t c = 0; c < cols[f]; c++)
            for (int64_t b = 0; b < nblk; b++) {
                const int64_t live = nq - 16 * b < 16 ? nq - 16 * b : 16;
                const int kind = (int)th_rand_int(rng, 0, 3);
                const uint32_t m = kind == 0 ? 0u : kind == 1 ? 0xffffu : (uint32_t)th_rand(rng);
                masks[f][c][b] = (uint16_t)(m & ((1u << live) - 1u));
            }
    }
    for (int r = 0; r < MAXR; r++)
        rows[r] = (int32_t)(wide ? th_rand_int(rng, 5, 6)
                            : th_rand_int(rng, 0, 7) ? th_rand_int(rng, 1, 2)
                                                     : th_rand_int(rng, 0, 4));
    for (int j = 0; j < 2 * MAXR; j++) {
        const int f = j % 2;
        tp[j] = taps[j];
        nt[j] = rows[j / 2] * cols[f];
        for (int32_t t = 0; t < nt[j]; t++) {
            taps[j][t].mask = masks[f][t % cols[f]];
            taps[j][t].off = th_rand_int(rng, -base, plen - top - 16 * nblk);
        }
    }
    if (nph == 2 && nc == 1 && out <= 32) {
        int longest = 0, pairs = s1 == 2 && out > 16;
        for (int j = 0; j < 2 * s1; j++) longest = nt[j] > longest ? nt[j] : longest;
        if (longest > 16) short_lines_long++;
        else short_lines++;
        for (int j = 0; j < 2; j++)
            pairs &= rows[j] >= 1 && rows[j] <= 2 && cols[j] >= 1 && cols[j] <= 2;
        pair_lines += pairs;
    }
    dc_planes_lines l;
    l.p = p;
    l.taps = tp;
    l.ntaps = nt;
    l.rows = rows;
    l.cols = cols;
    l.nph = nph;
    l.nc = nc;
    l.co_step = co_step;
    l.s1 = s1;
    l.r0 = r0;
    l.base = base;
    l.row_step = step;
    l.lines = lines;
    l.out = out;
    l.y_stride = ys;
    l.y = y;
    th_poison(y, lines * ys + GUARD);
    K->lines(&l);
    int ok = 1;
    int64_t r = r0, lb = base;
    for (int64_t li = 0; li < lines && ok; li++) {
        const float *yl = y + li * ys;
        for (int64_t o = 0; o < out * nc && ok; o++) {
            const int64_t x = o / nc, co = o % nc; /* pixel, channel */
            const int f = nph == 2 ? (int)(x % 2) : 0;
            const int64_t q = nph == 2 ? x / 2 : x;
            const int j = (int)(2 * r + f);
            float s = 0.0f;
            for (int32_t t = 0; t < nt[j]; t++)
                if (taps[j][t].mask[q / 16] >> (q % 16) & 1u)
                    s += p[lb + taps[j][t].off + co * co_step + q];
            ok &= CHECK(memcmp(&s, &yl[o], sizeof s) == 0,
                        "lines call %d (%d phases, %d channels, %lld pixels): line %lld y[%lld] = "
                        "%.9g, want %.9g",
                        idx, nph, nc, (long long)out, (long long)li, (long long)o, (double)yl[o],
                        (double)s);
        }
        ok &= CHECK(th_is_poisoned(yl + out * nc, ys - out * nc),
                    "lines call %d: line %lld wrote past %lld floats", idx, (long long)li,
                    (long long)(out * nc));
        if (++r == s1) r = 0, lb += step;
    }
    ok &= CHECK(th_is_poisoned(y + lines * ys, GUARD), "lines call %d: wrote past the last line",
                idx);
    free(p);
    free(y);
    return ok;
}

static const struct {
    const char *name;
    int isa;
    const dc_planes_kernels *k;
} SETS[] = {{"avx2", DC_ISA_AVX2, &DC_PLANES_AVX2}, {"avx512", DC_ISA_AVX512, &DC_PLANES_AVX512}};

void suite_planes(void) {
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0]; i++) {
        if (!dc_fast_isa_supported(SETS[i].isa)) {
            /* Not a skip: the level does not exist on this CPU, and the runner says so. */
            printf("suite_planes: this CPU does not run the %s level; its kernels are not tested "
                   "here\n",
                   SETS[i].name);
            continue;
        }
        uint64_t rng = 0x91a4e5ull;
        int ok = 1;
        one_pass_calls = multi_pass_calls = split_calls = split_block_after = 0;
        for (int call = 0; call < 300 && ok; call++) ok = planes_call(SETS[i].k, &rng, call);
        CHECK(one_pass_calls >= 10 && multi_pass_calls >= 20,
              "%s: %d one-pass and %d multi-pass planes calls with whole blocks and a channel "
              "tail; want 10 and 20",
              SETS[i].name, one_pass_calls, multi_pass_calls);
        CHECK(split_calls >= 50 && split_block_after >= 20,
              "%s: %d planes calls split inside a block and %d with a whole block after the "
              "split; want 50 and 20",
              SETS[i].name, split_calls, split_block_after);
        short_lines = short_lines_long = pair_lines = 0;
        for (int call = 0; call < 1200 && ok; call++) ok = lines_call(SETS[i].k, &rng, call);
        CHECK(ok, "the %s planes kernels failed (above)", SETS[i].name);
        CHECK(short_lines >= 20 && short_lines_long >= 3 && pair_lines >= 20,
              "%s: %d short-line calls, %d with a phase past 16 taps and %d in pairs of lines; "
              "want 20, 3 and 20",
              SETS[i].name, short_lines, short_lines_long, pair_lines);
    }
}

#else
void suite_planes(void) {
    printf("suite_planes: the planes kernels exist on x86 only; not tested here\n");
}
#endif
