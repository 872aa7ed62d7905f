/* harness.h - the tiny C test harness. Each Tests/c/test_NAME.c defines `void suite_NAME(void)`
 * made of CHECK()s; main.c runs every suite and ends with "N passed, N failed". */
#ifndef DECONV_TEST_HARNESS_H
#define DECONV_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>

/** Counts one check; prints the failure with file:line and a printf-style explanation. */
int th_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...);
#define CHECK(cond, ...) th_check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

/** Fills n floats with a poison pattern (a quiet NaN with payload 0x7fc0dead). */
void th_poison(float *p, int64_t n);
/** 1 when every one of the n floats still holds the poison pattern. */
int th_is_poisoned(const float *p, int64_t n);
/** Same for int64 buffers (poison 0x5a5a5a5a5a5a5a5a). */
void th_poison_i64(int64_t *p, int64_t n);
int th_is_poisoned_i64(const int64_t *p, int64_t n);

/** Deterministic PRNG (splitmix64) for randomized tests. */
uint64_t th_rand(uint64_t *state);
/** Uniform integer in [lo, hi]. */
int64_t th_rand_int(uint64_t *state, int64_t lo, int64_t hi);
/** Uniform float in [-1, 1). */
float th_rand_float(uint64_t *state);

#endif
