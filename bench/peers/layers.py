"""The benchmark suite (/work/shared/reference/benchmark-suite.md), shared by the peer runners.

Every layer: kind, name, N, input spatial, Cin, Cout, k, s, padding, output spatial. Pads are
TF's (SAME: the odd extra pad at the end, computed from the forward conv's input size)."""

SUITE = [
    ("conv_transpose", "dcgan1", 8, (4, 4), 1024, 512, 5, 2, "SAME", (8, 8)),
    ("conv_transpose", "dcgan2", 8, (8, 8), 512, 256, 5, 2, "SAME", (16, 16)),
    ("conv_transpose", "dcgan3", 8, (16, 16), 256, 128, 5, 2, "SAME", (32, 32)),
    ("conv_transpose", "dcgan4", 8, (32, 32), 128, 3, 5, 2, "SAME", (64, 64)),
    ("conv_transpose", "unet_up", 1, (32, 32), 512, 256, 2, 2, "VALID", (64, 64)),
    ("conv_transpose", "fcn_k4", 1, (28, 28), 256, 128, 4, 2, "SAME", (56, 56)),
    ("conv_transpose", "seed_small", 1, (3, 3), 4, 2, 3, 2, "SAME", (6, 6)),
    ("conv_transpose", "mnist_k3s2", 32, (14, 14), 32, 1, 3, 2, "SAME", (28, 28)),
    ("conv_transpose", "vol3d", 10, (1, 4, 4), 512, 512, 3, 2, "SAME", (2, 7, 7)),
    ("conv", "vgg3x3", 1, (56, 56), 128, 128, 3, 1, "SAME", (56, 56)),
    ("conv", "down_s2", 8, (32, 32), 64, 128, 3, 2, "SAME", (16, 16)),
    ("conv", "lenet_c1", 64, (28, 28), 1, 32, 5, 1, "SAME", (28, 28)),
    ("conv", "lenet_c2", 64, (14, 14), 32, 64, 5, 1, "SAME", (14, 14)),
]


def pads(kind, padding, inp, out, k, s):
    """(before, after) per spatial dim, as TF: for a transposed conv the forward conv runs from
    `out` (its input) to `inp`."""
    res = []
    for i, o in zip(inp, out):
        if padding == "VALID":
            res.append((0, 0))
            continue
        fwd_in = o if kind == "conv_transpose" else i
        fwd_out = i if kind == "conv_transpose" else o
        total = max(0, (fwd_out - 1) * s + k - fwd_in)
        res.append((total // 2, total - total // 2))
    return res
