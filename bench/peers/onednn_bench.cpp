// oneDNN runner: convolution_forward / deconvolution_forward, forward_inference, NHWC/NDHWC
// activations (as libdeconv), weights in the primitive's preferred format (format_tag::any,
// prepared once and not timed), threads from OMP_NUM_THREADS. Prints one JSON line per layer.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace dnnl;

struct Layer {
    const char *kind, *name;
    long n;
    std::vector<long> in;
    long cin, cout, k, s;
    bool same;
    std::vector<long> out;
};

static const Layer SUITE[] = {
    {"conv_transpose", "dcgan1", 8, {4, 4}, 1024, 512, 5, 2, true, {8, 8}},
    {"conv_transpose", "dcgan2", 8, {8, 8}, 512, 256, 5, 2, true, {16, 16}},
    {"conv_transpose", "dcgan3", 8, {16, 16}, 256, 128, 5, 2, true, {32, 32}},
    {"conv_transpose", "dcgan4", 8, {32, 32}, 128, 3, 5, 2, true, {64, 64}},
    {"conv_transpose", "unet_up", 1, {32, 32}, 512, 256, 2, 2, false, {64, 64}},
    {"conv_transpose", "fcn_k4", 1, {28, 28}, 256, 128, 4, 2, true, {56, 56}},
    {"conv_transpose", "seed_small", 1, {3, 3}, 4, 2, 3, 2, true, {6, 6}},
    {"conv_transpose", "mnist_k3s2", 32, {14, 14}, 32, 1, 3, 2, true, {28, 28}},
    {"conv_transpose", "vol3d", 10, {1, 4, 4}, 512, 512, 3, 2, true, {2, 7, 7}},
    {"conv", "vgg3x3", 1, {56, 56}, 128, 128, 3, 1, true, {56, 56}},
    {"conv", "down_s2", 8, {32, 32}, 64, 128, 3, 2, true, {16, 16}},
    {"conv", "lenet_c1", 64, {28, 28}, 1, 32, 5, 1, true, {28, 28}},
    {"conv", "lenet_c2", 64, {14, 14}, 32, 64, 5, 1, true, {14, 14}},
};

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

static void fill(memory &m, float v) {
    float *p = static_cast<float *>(m.get_data_handle());
    std::fill(p, p + m.get_desc().get_size() / sizeof(float), v);
}

int main(int argc, char **argv) {
    const char *filter = nullptr;
    double min_time = 0.5;
    int threads = 1;
    bool nchw = false; // --layout nchw: channels-first activations (oneDNN's plain nchw/ncdhw)
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
        else if (!std::strcmp(argv[i], "--layout") && i + 1 < argc) nchw = !std::strcmp(argv[++i], "nchw");
        else if (!std::strcmp(argv[i], "--min-time") && i + 1 < argc) min_time = atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    }
    engine eng(engine::kind::cpu, 0);
    stream st(eng);
    for (const Layer &L : SUITE) {
        if (filter && !std::strstr(L.name, filter)) continue;
        const bool tr = !std::strcmp(L.kind, "conv_transpose");
        const size_t r = L.in.size();
        memory::dims src{L.n, L.cin}, dst{L.n, L.cout}, wei{L.cout, L.cin}, strides, pl, pr;
        for (size_t i = 0; i < r; i++) {
            src.push_back(L.in[i]);
            dst.push_back(L.out[i]);
            wei.push_back(L.k);
            strides.push_back(L.s);
            // TF pads: the forward conv runs from out to in for a transposed conv.
            const long fin = tr ? L.out[i] : L.in[i], fout = tr ? L.in[i] : L.out[i];
            const long total = L.same ? std::max(0L, (fout - 1) * L.s + L.k - fin) : 0;
            pl.push_back(total / 2);
            pr.push_back(total - total / 2);
        }
        const auto tag = nchw ? (r == 3 ? memory::format_tag::ncdhw : memory::format_tag::nchw)
                              : (r == 3 ? memory::format_tag::ndhwc : memory::format_tag::nhwc);
        memory::desc src_md(src, memory::data_type::f32, tag);
        memory::desc dst_md(dst, memory::data_type::f32, tag);
        memory::desc wei_md(wei, memory::data_type::f32, memory::format_tag::any);
        primitive prim;
        memory::desc wei_real;
        if (tr) {
            deconvolution_forward::primitive_desc pd(eng, prop_kind::forward_inference,
                                                     algorithm::deconvolution_direct, src_md,
                                                     wei_md, dst_md, strides, pl, pr);
            prim = deconvolution_forward(pd);
            wei_real = pd.weights_desc();
        } else {
            convolution_forward::primitive_desc pd(eng, prop_kind::forward_inference,
                                                   algorithm::convolution_direct, src_md, wei_md,
                                                   dst_md, strides, pl, pr);
            prim = convolution_forward(pd);
            wei_real = pd.weights_desc();
        }
        memory ms(src_md, eng), mw(wei_real, eng), md(dst_md, eng);
        fill(ms, 0.5f);
        fill(mw, 0.01f);
        auto run = [&] {
            prim.execute(st, {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}});
            st.wait();
        };
        run();
        std::vector<double> t;
        const double start = now();
        while (t.size() < 2000 && (t.size() < 5 || now() - start < min_time)) {
            const double t0 = now();
            run();
            t.push_back(now() - t0);
        }
        std::sort(t.begin(), t.end());
        const size_t n = t.size();
        const double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
        /* fastest_ms: for looking at noise only; the tables use the median */
        std::printf("{\"peer\": \"onednn\", \"name\": \"%s\", \"median_ms\": %.6f, "
                    "\"fastest_ms\": %.6f, \"threads\": %d}\n",
                    L.name, med * 1e3, t[0] * 1e3, threads);
        std::fflush(stdout);
    }
    return 0;
}
