/* main.c - runs every suite listed in the generated suites.inc. */
#include "harness.h"

#include <stdarg.h>
#include <string.h>

static long g_passed, g_failed;

int th_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...) {
    if (ok) {
        g_passed++;
        return 1;
    }
    g_failed++;
    fprintf(stderr, "FAIL %s:%d: %s: ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

static const uint32_t POISON_F32 = 0x7fc0deadu;
static const uint64_t POISON_I64 = 0x5a5a5a5a5a5a5a5aull;

void th_poison(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) memcpy(&p[i], &POISON_F32, sizeof POISON_F32);
}
int th_is_poisoned(const float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&p[i], &POISON_F32, sizeof POISON_F32) != 0) return 0;
    return 1;
}
void th_poison_i64(int64_t *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) memcpy(&p[i], &POISON_I64, sizeof POISON_I64);
}
int th_is_poisoned_i64(const int64_t *p, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&p[i], &POISON_I64, sizeof POISON_I64) != 0) return 0;
    return 1;
}

uint64_t th_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
int64_t th_rand_int(uint64_t *s, int64_t lo, int64_t hi) {
    return lo + (int64_t)(th_rand(s) % (uint64_t)(hi - lo + 1));
}
float th_rand_float(uint64_t *s) {
    return (float)((double)(th_rand(s) >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

#define SUITE(name) void suite_##name(void);
#include "suites.inc"
#undef SUITE

int main(int argc, char **argv) {
    /* Optional argument: run only suites whose name contains it. */
    const char *only = argc > 1 ? argv[1] : NULL;
#define SUITE(name)                                                       \
    if (!only || strstr(#name, only)) {                                   \
        long before = g_failed;                                           \
        suite_##name();                                                   \
        fprintf(stderr, "suite %-20s %s\n", #name,                        \
                g_failed == before ? "ok" : "FAILED");                    \
    }
#include "suites.inc"
#undef SUITE
    printf("%ld passed, %ld failed\n", g_passed, g_failed);
    return g_failed == 0 && g_passed > 0 ? 0 : 1;
}
