/* fast/cpu.c - which micro-kernel level this CPU runs. Detection asks the compiler's cpuid
 * helper (which also checks that the OS saves the wide registers); no environment variable is
 * read. A level can be forced only by the tests, to check the lower levels against the
 * reference on a machine that supports higher ones. */
#include "fast/fast.h"

static int g_forced = -1; /* tests only */

int dc_fast_isa_supported(int isa) {
    switch (isa) {
    case DC_ISA_PORTABLE: return 1;
    case DC_ISA_AVX2:
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
        return 0;
#endif
    case DC_ISA_AVX512:
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
        /* The level also runs the AVX2 kernels. The helper checks XCR0 (OS saves zmm). */
        return dc_fast_isa_supported(DC_ISA_AVX2) && __builtin_cpu_supports("avx512f");
#else
        return 0;
#endif
    case DC_ISA_NEON:
#if defined(__aarch64__)
        return 1; /* AdvSIMD is architectural on AArch64 */
#else
        return 0;
#endif
    default: return 0;
    }
}

int dc_fast_isa(void) {
    if (g_forced >= 0 || g_forced == DC_FAST_OFF) return g_forced;
    for (int isa = DC_ISA_COUNT - 1; isa > 0; isa--)
        if (dc_fast_isa_supported(isa)) return isa;
    return DC_ISA_PORTABLE;
}

int dc_fast_force_isa(int isa) {
    if (isa == -1 || isa == DC_FAST_OFF) {
        g_forced = isa;
        return 1;
    }
    if (!dc_fast_isa_supported(isa)) return 0;
    g_forced = isa;
    return 1;
}

const char *dc_fast_isa_name(int isa) {
    switch (isa) {
    case DC_ISA_PORTABLE: return "portable";
    case DC_ISA_AVX2: return "avx2";
    case DC_ISA_AVX512: return "avx512";
    case DC_ISA_NEON: return "neon";
    default: return "unknown";
    }
}
