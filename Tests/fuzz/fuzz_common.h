/* fuzz_common.h - shared by the libFuzzer targets: a reader that turns the fuzzer's bytes into
 * parameters (running out of bytes gives zeros, never an error), exact-size buffers, poison,
 * and the failure report. A target reports a finding with FUZZ_FAIL, which prints and aborts
 * so libFuzzer saves the input as a crash artifact. */
#ifndef DECONV_FUZZ_COMMON_H
#define DECONV_FUZZ_COMMON_H

#include <deconv.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz;

static inline uint8_t fz_u8(fz *f) {
    if (f->n == 0) return 0;
    f->n--;
    return *f->p++;
}
static inline uint64_t fz_u64(fz *f) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | fz_u8(f);
    return v;
}
/* A small value in [lo, hi] most of the time; with `wild` set, sometimes any int64 or an
 * edge value, so validation sees the whole range. */
static inline int64_t fz_int(fz *f, int64_t lo, int64_t hi, int wild) {
    const uint8_t sel = fz_u8(f);
    if (wild && sel >= 240) {
        static const int64_t edges[] = {0, -1, INT64_MIN, INT64_MAX, (int64_t)1 << 31,
                                        ((int64_t)1 << 32) + 1, (int64_t)1 << 40,
                                        ((int64_t)1 << 40) + 1, (int64_t)1 << 62, -2};
        if (sel < 250) return edges[sel - 240];
        return (int64_t)fz_u64(f);
    }
    return lo + (int64_t)(sel % (uint64_t)(hi - lo + 1));
}

/* Exactly n elements (a 1-byte block for n <= 0, never dereferenced): any access past the
 * declared count is an ASan heap-buffer-overflow. */
static inline void *fz_alloc(int64_t n, size_t elem) {
    return malloc(n > 0 ? (size_t)n * elem : 1);
}

#define FZ_POISON_F32 0x7fc0deadu
#define FZ_POISON_I64 0x5a5a5a5a5a5a5a5aull
static inline void fz_poison(float *p, int64_t n) {
    const uint32_t v = FZ_POISON_F32;
    for (int64_t i = 0; i < n; i++) memcpy(&p[i], &v, 4);
}
static inline void fz_poison_i64(int64_t *p, int64_t n) {
    const uint64_t v = FZ_POISON_I64;
    for (int64_t i = 0; i < n; i++) memcpy(&p[i], &v, 8);
}
/* Number of elements still holding the poison. */
static inline int64_t fz_poisoned(const float *p, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &p[i], 4);
        k += v == FZ_POISON_F32;
    }
    return k;
}
static inline int64_t fz_poisoned_i64(const int64_t *p, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, &p[i], 8);
        k += v == FZ_POISON_I64;
    }
    return k;
}

/* Values for data buffers: mostly in [-1, 1), deterministic from a seed. */
static inline uint64_t fz_rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline void fz_fill(float *p, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)((double)(fz_rng(&seed) >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

static inline int64_t fz_shape_count(const deconv_shape *s, int64_t limit) {
    int64_t n = 1;
    /* A zero dim makes the product 0 whatever the others are (the fuzzer found the library
     * rightly accepting count 0 for [2^40, 6, 0, 0, 1] while this helper said "too big"). */
    for (int i = 0; i < s->rank && i < DECONV_MAX_RANK; i++)
        if (s->dims[i] == 0) {
            for (int j = 0; j < s->rank && j < DECONV_MAX_RANK; j++)
                if (s->dims[j] < 0) return -1;
            return 0;
        }
    for (int i = 0; i < s->rank && i < DECONV_MAX_RANK; i++) {
        if (s->dims[i] < 0) return -1;
        if (s->dims[i] != 0 && n > limit / s->dims[i]) return -1;
        n *= s->dims[i];
    }
    return n;
}

#define FUZZ_FAIL(...)                                                                        \
    do {                                                                                      \
        fprintf(stderr, "FUZZ FINDING %s:%d: ", __FILE__, __LINE__);                         \
        fprintf(stderr, __VA_ARGS__);                                                         \
        fputc('\n', stderr);                                                                  \
        abort();                                                                              \
    } while (0)

/* Every failing call must say why: status in range, matching error.status, a non-empty,
 * terminated message. */
static inline void fz_check_error(deconv_status st, const deconv_error *e) {
    if ((int)st < 0 || (int)st >= DECONV_STATUS_COUNT) FUZZ_FAIL("status %d out of range", (int)st);
    if (e->status != st) FUZZ_FAIL("error.status %d != returned %d", (int)e->status, (int)st);
    if (!memchr(e->message, '\0', sizeof e->message)) FUZZ_FAIL("message not terminated");
    if (st != DECONV_OK && e->message[0] == '\0') FUZZ_FAIL("status %d with an empty message", (int)st);
    if (st == DECONV_OK && e->message[0] != '\0') FUZZ_FAIL("OK with message \"%s\"", e->message);
}

#endif
