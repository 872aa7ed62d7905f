/* fast/wino_avx512.c - conv_wino.c's transforms (wino_xform.h) built for AVX-512F. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#define WX_TGT __attribute__((target("avx512f")))
#define WX_NAME(x) x##_avx512
#include "fast/wino_xform.h"

const dc_wino_xf DC_WINO_XF_AVX512 = {dc_wino_in_avx512, dc_wino_out_avx512, dc_wino_u_avx512};
#else
typedef int dc_wino_avx512_unused;
#endif
