/* fast/wino_avx2.c - conv_wino.c's transforms (wino_xform.h) built for AVX2. */
#include "fast/fast.h"

#if defined(__x86_64__) || defined(__i386__)
#define WX_TGT __attribute__((target("avx2")))
#define WX_NAME(x) x##_avx2
#include "fast/wino_xform.h"

const dc_wino_xf DC_WINO_XF_AVX2 = {dc_wino_in_avx2, dc_wino_out_avx2, dc_wino_u_avx2};
#else
typedef int dc_wino_avx2_unused;
#endif
