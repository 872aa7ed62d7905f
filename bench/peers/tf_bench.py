"""TensorFlow runner: tf.function around tf.nn.conv{2,3}d(_transpose), NHWC/NDHWC, intra-op
threads set. Prints one JSON line per layer."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common import args, emit, median_ms  # noqa: E402
from layers import SUITE  # noqa: E402


def main():
    a = args()
    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    rng = np.random.default_rng(0)
    for kind, name, n, inp, cin, cout, k, s, pad, out in SUITE:
        if a.filter and a.filter not in name:
            continue
        r = len(inp)
        x = tf.constant(rng.standard_normal((n, *inp, cin), dtype=np.float32))
        strides = [1, *([s] * r), 1]
        if kind == "conv_transpose":
            w = tf.constant(rng.standard_normal((*([k] * r), cout, cin), dtype=np.float32))
            oshape = tf.constant([n, *out, cout])
            op = tf.nn.conv2d_transpose if r == 2 else tf.nn.conv3d_transpose
            f = tf.function(lambda x, w: op(x, w, oshape, strides, pad))
        else:
            w = tf.constant(rng.standard_normal((*([k] * r), cin, cout), dtype=np.float32))
            op = tf.nn.conv2d if r == 2 else tf.nn.conv3d
            f = tf.function(lambda x, w: op(x, w, strides, pad))
        f(x, w)
        emit("tensorflow", name, median_ms(lambda: f(x, w), a.min_time), a.threads)


if __name__ == "__main__":
    main()
