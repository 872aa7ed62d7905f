/* fast/conv_planes.c - transposed convs (and stride-1 convs) with 1 to 4 output channels and
 * enough input channels (mnist_k3s2's last layer, dcgan4's RGB output, U-Net and autoencoder
 * heads), 1-D and 2-D, channels-last, as tap planes that are then summed.
 *
 * conv_dot1.c computes each output as one dot product over its taps x channels, vectorised
 * along the channels: every output then pays for a horizontal sum, and each of its x loads
 * feeds one FMA. Here the work is turned around. For every input pixel i, kernel tap t and
 * output channel co, P[t][co][i] = w[t][co] . x[i] (all the products a transposed conv makes,
 * none of them zero), vectorised along 16 pixels: the kernel transposes a 16-pixel block of x
 * in registers once, then every channel vector feeds one FMA per plane, with no horizontal
 * sum. Each output is then the sum of the plane entries of its phase's taps, a few vector adds
 * per 16 outputs. A stride-1 conv is the same with one phase. Timings: BENCHMARKS.md.
 *
 * Work units are (image, band of output rows along dim 1); a band computes the planes of the
 * input rows its outputs read (a few halo rows are computed twice). Every plane entry is one
 * fmaf chain over the channels in order and every output sums its taps in a fixed order, so
 * neither the bands, the thread count nor the ISA level change a bit. */
#include "fast/fast.h"

#include <math.h>
#include <string.h>

#define PL_MIN_CIN 8                            /* fewer channels: conv_dot1 or conv_col */
#define PL_MAX_CIN 1024                         /* the transposed block: 16 x cin floats */
#define PL_MAX_NC 4                             /* output channels */
#define PL_P_MAX_FLOATS ((int64_t)1 << 17)      /* a band's planes: at most 512 KiB (dcgan4's
                                                 * image: 333 KiB, so no halo rows) */
#define PL_MIN_UNITS 4                          /* small batches are split into row bands */
#define PL_SMALL_MACS 200000
#define PL_MAX_K 16                             /* per dim: tap lists live on the stack */

typedef struct plgeo {
    const dc_conv_problem *p;
    int64_t nc;                 /* output channels (1..4) */
    int64_t ntaps, nplanes;     /* k1 * k2 kernel positions, nc planes each */
    int64_t H, W;               /* input extents of dims 1 and 2 */
    int64_t s1, s2;             /* phases per dim (a transposed conv's strides, or 1) */
    int64_t off1_lo, off1_hi;   /* input row offsets any phase of dim 1 reads */
    int64_t rbot;               /* zero rows after the input's last row that lines read */
    int64_t org, pst;           /* a plane's (row 0, col 0), and the floats of one plane */
    int64_t nq2, nblk;          /* outputs of line phase 0 (the longest), in 16-blocks */
    int64_t band, nbands, units, rows_max;
    int small;
    int stream;                 /* a unit's last block takes the next image's first pixels */
    size_t off_w, off_scr, off_prog, off_mask, off_p, off_p2, slice;
} plgeo;

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }
/* The lowest n of 16 bits (n may be <= 0 or >= 16). */
static uint32_t low_bits(int64_t n) { return n <= 0 ? 0u : n >= 16 ? 0xFFFFu : (1u << n) - 1u; }
static double ceil16(double v) { return ceil(v / 16) * 16; }

/* Output positions q of dim j in phase r. */
static int64_t phase_rows(const dc_conv_problem *p, int j, int64_t r) {
    if (!p->transposed) return p->y.sp[j];
    const int64_t out = p->y.sp[j], s = p->s[j];
    return r < out ? (out - r + s - 1) / s : 0;
}

/* Lowest and highest input offset of dim j over all its phases and taps, as doubles (pads
 * and dilations can be huge); 0 when no phase has a tap. */
static void dim_offsets(const dc_conv_problem *p, int j, double *lo, double *hi) {
    int64_t as[PL_MAX_K], offs[PL_MAX_K];
    const int64_t nph = p->transposed ? p->s[j] : 1;
    int any = 0;
    *lo = *hi = 0;
    for (int64_t r = 0; r < nph; r++) {
        const int64_t n = dc_fast_dim_taps(p, j, r, as, offs);
        for (int64_t t = 0; t < n; t++) {
            if (!any || (double)offs[t] < *lo) *lo = (double)offs[t];
            if (!any || (double)offs[t] > *hi) *hi = (double)offs[t];
            any = 1;
        }
    }
}

/* A plane for bands of b output rows, in doubles (the claim checks them before any int64
 * arithmetic): [margin][zero rows above row 0][the band's rows][zero rows below the last
 * input row][tail]. Shifted reads of lines (up to the margin left and a block of 16 right)
 * stay inside it; rows outside the input read zeros, so lines need no test per row. */
typedef struct pllayout {
    double rows, org, pst, rbot, nq2;
} pllayout;

static pllayout plane_layout(const dc_conv_problem *p, double b) {
    pllayout l;
    double lo1, hi1, lo2, hi2;
    dim_offsets(p, 1, &lo1, &hi1);
    dim_offsets(p, 2, &lo2, &hi2);
    const double H = (double)p->x.sp[1], W = (double)p->x.sp[2];
    const double s1 = p->transposed ? (double)p->s[1] : 1.0;
    double margin = -lo2 > hi2 ? -lo2 : hi2;
    margin = ceil16(margin > 0 ? margin : 0);
    l.rows = floor((b - 1) / s1) + 2 + hi1 - lo1; /* input rows a band reads, at most */
    if (l.rows > H) l.rows = H;
    const double rtop = lo1 < 0 ? -lo1 : 0;
    l.rbot = floor(((double)p->y.sp[1] - 1) / s1) + hi1 + 1 - H;
    if (l.rbot < 0) l.rbot = 0;
    l.nq2 = (double)phase_rows(p, 2, 0);
    const double over = l.nq2 > W ? l.nq2 - W : 0;
    l.org = ceil16(margin + rtop * W);
    l.pst = ceil16(l.org + (l.rows + l.rbot) * W + 16 + over + margin);
    return l;
}

/* Output rows per band: all of them, split for small batches (so threads share the work) and
 * until a band's planes fit PL_P_MAX_FLOATS. Returns 0 when one row does not fit. */
static int64_t choose_band(const dc_conv_problem *p) {
    const int64_t out1 = p->y.sp[1];
    const double ntaps = (double)(p->k[1] * p->k[2] * p->cout_g);
    int64_t nb = p->y.n >= PL_MIN_UNITS ? 1 : (PL_MIN_UNITS + p->y.n - 1) / p->y.n;
    if (nb > out1) nb = out1;
    int64_t band = (out1 + nb - 1) / nb;
    while (ntaps * plane_layout(p, (double)band).pst > (double)PL_P_MAX_FLOATS) {
        if (band == 1) return 0;
        band = (band + 1) / 2;
    }
    return band;
}

int dc_fast_planes_claims(const dc_conv_problem *p, const dc_planes_kernels *k) {
    if (p->layout != DECONV_CHANNELS_LAST || p->groups != 1) return 0;
    if (p->cout_g > PL_MAX_NC || p->cout_g > k->max_nc) return 0;
    if (p->cin_g < PL_MIN_CIN || p->cin_g > PL_MAX_CIN) return 0;
    /* 1-D or 2-D: dim 0 is one position that reads input 0 */
    int64_t as0[1], offs0[1];
    if (p->k[0] != 1 || p->x.sp[0] != 1 || p->y.sp[0] != 1) return 0;
    if (dc_fast_dim_taps(p, 0, 0, as0, offs0) != 1 || offs0[0] != 0) return 0;
    if (p->k[1] > PL_MAX_K || p->k[2] > PL_MAX_K) return 0;
    /* planes are worth it where every product is used: transposed convs with one or two
     * phases along the line (the line kernels interleave two), and stride-1 convs */
    if (p->transposed ? p->s[2] > 2 : (p->s[1] != 1 || p->s[2] != 1)) return 0;
    if (p->transposed && p->s[1] > PL_MAX_K) return 0;
    /* pixels are read as one run of cin floats per pixel, rows back to back, and written as
     * nc floats per pixel */
    if (p->x.stride_sp[2] != p->cin_g || p->x.stride_sp[1] != p->x.sp[2] * p->cin_g) return 0;
    if (p->y.stride_sp[2] != p->cout_g || p->y.stride_c != 1) return 0;
    return choose_band(p) > 0;
}

static void plgeo_init(const dc_conv_problem *p, int packed, plgeo *g) {
    g->p = p;
    g->nc = p->cout_g;
    g->ntaps = p->k[1] * p->k[2];
    g->nplanes = g->ntaps * g->nc;
    g->H = p->x.sp[1];
    g->W = p->x.sp[2];
    g->s1 = p->transposed ? p->s[1] : 1;
    g->s2 = p->transposed ? p->s[2] : 1;
    double lo1, hi1;
    dim_offsets(p, 1, &lo1, &hi1);
    g->off1_lo = (int64_t)lo1;
    g->off1_hi = (int64_t)hi1;
    g->band = choose_band(p);
    g->nbands = (p->y.sp[1] + g->band - 1) / g->band;
    g->units = p->y.n * g->nbands;
    const pllayout l = plane_layout(p, (double)g->band);
    g->rows_max = (int64_t)l.rows;
    g->rbot = (int64_t)l.rbot;
    g->org = (int64_t)l.org;
    g->pst = (int64_t)l.pst;
    g->nq2 = (int64_t)l.nq2;
    g->nblk = (g->nq2 + 15) / 16;
    g->small = (double)p->x.count * (double)g->nplanes < PL_SMALL_MACS;
    /* Units of whole images whose planes read every input row, back to back in memory, with
     * a pixel count that leaves a partial 16-pixel block (mnist_k3s2's 196): the next image's
     * first pixels fill that block, into a second set of planes, instead of idle lanes
     * (about 4% of mnist_k3s2's time at 1 thread). Each plane entry is the same fmaf chain
     * whichever block computes it. */
    const int64_t hw = g->H * g->W;
    const int64_t ia = g->off1_lo > 0 ? g->off1_lo : 0;
    const int64_t ib = (p->y.sp[1] - 1) / g->s1 + g->off1_hi + 1;
    g->stream = g->nbands == 1 && p->y.n > 1 && ia == 0 && ib >= g->H && hw >= 16 &&
                hw % 16 != 0 && p->x.stride_n == hw * p->cin_g;
    size_t off = 0;
    g->off_w = off;
    if (!packed) off += round64((size_t)(g->nplanes * p->cin_g) * sizeof(float));
    g->off_scr = off;
    off += round64((size_t)(32 * p->cin_g) * sizeof(float)); /* two blocks' transposes */
    g->off_prog = off; /* the line programs: each of the ntaps taps is in one (r1, f) list */
    off += round64((size_t)g->ntaps * sizeof(dc_planes_tap));
    g->off_mask = off; /* each tap's lane masks, one per 16-output block */
    off += round64((size_t)(g->ntaps * g->nblk) * sizeof(uint16_t));
    g->off_p = off;
    off += round64((size_t)(g->nplanes * g->pst) * sizeof(float));
    g->off_p2 = off; /* the next image's planes, when streaming */
    if (g->stream) off += round64((size_t)(g->nplanes * g->pst) * sizeof(float));
    g->slice = off;
}

int dc_fast_planes_streams(const dc_conv_problem *p) {
    plgeo g;
    plgeo_init(p, 1, &g);
    return g.stream;
}

void dc_fast_planes_pack_b(const dc_conv_problem *p, const float *w, float *dst) {
    /* [cin][plane], plane (a1 * k2 + a2) * nc + co: the kernel broadcasts one channel's weight
     * for every plane. Input channel ci of output channel co is at co * cin + ci in a
     * transposed conv's filter [k..., cout, cin] and at ci * cout + co in a conv's
     * [k..., cin, cout]. */
    const int64_t k1 = p->k[1], k2 = p->k[2], nc = p->cout_g, cin = p->cin_g;
    const int64_t nplanes = k1 * k2 * nc;
    const int64_t sci = p->transposed ? 1 : nc, sco = p->transposed ? cin : 1;
    for (int64_t a1 = 0; a1 < k1; a1++)
        for (int64_t a2 = 0; a2 < k2; a2++)
            for (int64_t co = 0; co < nc; co++) {
                const float *src = w + a1 * p->w_stride_k[1] + a2 * p->w_stride_k[2] + co * sco;
                const int64_t pl = (a1 * k2 + a2) * nc + co;
                for (int64_t c = 0; c < cin; c++) dst[c * nplanes + pl] = src[c * sci];
            }
}

void dc_fast_planes_sizes(const dc_conv_problem *p, int packed, int32_t num_threads,
                          int64_t *units, size_t *workspace_bytes, int64_t *packed_floats) {
    plgeo g;
    plgeo_init(p, packed, &g);
    if (num_threads < 1) num_threads = 1;
    *units = g.small ? 1 : g.units;
    *workspace_bytes = g.slice * (size_t)num_threads + 64;
    *packed_floats = g.nplanes * p->cin_g;
}

/* The phase lists of dim j: per phase r, its kernel positions and input offsets. */
typedef struct dimtaps {
    int64_t n[PL_MAX_K], as[PL_MAX_K][PL_MAX_K], offs[PL_MAX_K][PL_MAX_K];
} dimtaps;

static void dim_lists(const dc_conv_problem *p, int j, int64_t nph, dimtaps *d) {
    for (int64_t r = 0; r < nph; r++) d->n[r] = dc_fast_dim_taps(p, j, r, d->as[r], d->offs[r]);
}

void dc_fast_planes_run(const dc_conv_args *a, int64_t begin, int64_t end, int32_t thread,
                        const dc_planes_kernels *k, const float *packed_b) {
    const dc_conv_problem *p = a->p;
    plgeo g;
    plgeo_init(p, packed_b != NULL, &g);
    if (g.small) begin = 0, end = g.units;
    if (begin >= end) return;
    char *base = (char *)(((uintptr_t)a->workspace + 63) & ~(uintptr_t)63);
    char *ws = base + (size_t)thread * g.slice;
    float *P = (float *)(ws + g.off_p), *Pnext = (float *)(ws + g.off_p2);
    const float *w = packed_b;
    if (!w) {
        dc_fast_planes_pack_b(p, a->w, (float *)(ws + g.off_w));
        w = (const float *)(ws + g.off_w);
    }
    dimtaps d1, d2;
    dim_lists(p, 1, g.s1, &d1);
    dim_lists(p, 2, g.s2, &d2);
    /* The line programs: for output-row phase r1 and line phase f, every (t1, t2) tap with
     * its plane offset from a line's base and, per 16-output block, the outputs whose input
     * column it reads. Rows outside the input read zero rows, so every line of a phase runs
     * the same program. */
    dc_planes_tap *prog = (dc_planes_tap *)(ws + g.off_prog);
    uint16_t *masks = (uint16_t *)(ws + g.off_mask);
    const dc_planes_tap *ptaps[2 * PL_MAX_K];
    int32_t pcount[2 * PL_MAX_K], prows[PL_MAX_K], pcols[2];
    int64_t np = 0;
    for (int i = 0; i < 2 * PL_MAX_K; i++) ptaps[i] = prog, pcount[i] = 0; /* unused phases */
    /* per column tap, the outputs [lo, hi) of its line phase whose input column it reads
     * (none: it reads only padding and has no entry) */
    int64_t clo[2][PL_MAX_K], chi[2][PL_MAX_K];
    for (int64_t f = 0; f < 2; f++) {
        pcols[f] = 0;
        for (int64_t t2 = 0; f < g.s2 && t2 < d2.n[f]; t2++) {
            const int64_t off2 = d2.offs[f][t2], nq2 = phase_rows(p, 2, f);
            clo[f][t2] = -off2 > 0 ? -off2 : 0;
            chi[f][t2] = g.W - off2 < nq2 ? g.W - off2 : nq2;
            if (clo[f][t2] < chi[f][t2]) pcols[f]++;
        }
    }
    for (int64_t r1 = 0; r1 < g.s1; r1++) {
        prows[r1] = (int32_t)d1.n[r1];
        for (int64_t f = 0; f < g.s2; f++) {
            ptaps[2 * r1 + f] = prog + np;
            for (int64_t t1 = 0; t1 < d1.n[r1]; t1++)
                for (int64_t t2 = 0; t2 < d2.n[f]; t2++) {
                    const int64_t off2 = d2.offs[f][t2], lo = clo[f][t2], hi = chi[f][t2];
                    if (lo >= hi) continue; /* reads only padding columns */
                    const int64_t t = d1.as[r1][t1] * p->k[2] + d2.as[f][t2];
                    uint16_t *m = masks + np * g.nblk;
                    for (int64_t b = 0; b < g.nblk; b++) /* bits [lo, hi) of the block */
                        m[b] = (uint16_t)(low_bits(hi - 16 * b) & ~low_bits(lo - 16 * b));
                    prog[np].off = g.org + t * g.nc * g.pst + d1.offs[r1][t1] * g.W + off2;
                    prog[np].mask = m;
                    np++;
                }
            pcount[2 * r1 + f] = (int32_t)(prog + np - ptaps[2 * r1 + f]);
        }
    }
    /* zero margins and zero rows; the planes kernel only writes the rows of a band */
    memset(P, 0, (size_t)(g.nplanes * g.pst) * sizeof(float));
    if (g.stream) memset(Pnext, 0, (size_t)(g.nplanes * g.pst) * sizeof(float));
    dc_planes_args pa;
    pa.w = w;
    pa.scratch = (float *)(ws + g.off_scr);
    pa.cin = p->cin_g;
    pa.ntaps = g.nplanes;
    pa.p_stride = g.pst;
    dc_planes_lines ln;
    ln.taps = ptaps;
    ln.ntaps = pcount;
    ln.rows = prows;
    ln.cols = pcols;
    ln.nph = (int32_t)g.s2;
    ln.s1 = g.s1;
    ln.row_step = g.W;
    ln.out = p->y.sp[2];
    ln.y_stride = p->y.stride_sp[1];
    ln.nc = (int32_t)g.nc;
    ln.co_step = g.pst;
    const int epilogue = a->bias || p->activation != DECONV_ACTIVATION_NONE;
    int64_t done = 0; /* pixels of this unit's image the last unit computed (streaming) */
    for (int64_t u = begin; u < end; u++) {
        const int64_t n = u / g.nbands, oa = (u % g.nbands) * g.band;
        const int64_t ob = oa + g.band < p->y.sp[1] ? oa + g.band : p->y.sp[1];
        /* the input rows [ia, ib) this band reads, and their planes */
        int64_t ia = oa / g.s1 + g.off1_lo, ib = (ob - 1) / g.s1 + g.off1_hi + 1;
        if (ia < 0) ia = 0;
        if (ia > g.H) ia = g.H;
        if (ib > g.H) ib = g.H;
        if (ib < ia) ib = ia;
        int64_t spill = 0;
        if (ib > ia) {
            pa.x = a->x + n * p->x.stride_n + ia * p->x.stride_sp[1] + done * p->cin_g;
            pa.p = P + g.org + done;
            pa.split = (ib - ia) * g.W - done;
            if (g.stream && u + 1 < end) spill = (k->block - pa.split % k->block) % k->block;
            pa.pixels = pa.split + spill;
            pa.p2 = Pnext + g.org;
            k->planes(&pa);
        }
        /* rows past the input's last one read zeros (an earlier band may have left rows;
         * whole images never write there) */
        if (ib == g.H && g.rbot > 0 && g.nbands > 1)
            for (int64_t t = 0; t < g.nplanes; t++)
                memset(P + g.org + t * g.pst + (ib - ia) * g.W, 0,
                       (size_t)(g.rbot * g.W) * sizeof(float));
        ln.p = P;
        ln.r0 = oa % g.s1;
        ln.base = (oa / g.s1 - ia) * g.W;
        ln.lines = ob - oa;
        ln.y = a->y + n * p->y.stride_n + oa * p->y.stride_sp[1];
        k->lines(&ln);
        if (g.stream) {
            float *t = P;
            P = Pnext, Pnext = t, done = spill;
        }
        if (!epilogue) continue;
        for (int64_t o1 = oa; o1 < ob; o1++)
            for (int64_t o2 = 0; o2 < p->y.sp[2]; o2++)
                for (int64_t co = 0; co < g.nc; co++) {
                    float *v = a->y + n * p->y.stride_n + o1 * p->y.stride_sp[1] +
                               o2 * p->y.stride_sp[2] + co;
                    const float b = a->bias ? a->bias[co] : 0.0f;
                    *v = p->activation != DECONV_ACTIVATION_NONE
                             ? dc_activate(p, a->bias ? *v + b : *v)
                             : *v + b;
                }
    }
}
