"""ONNX Runtime runner: a one-node Conv / ConvTranspose model (NCHW, ONNX's layout) with TF's
pads given explicitly, weights as initializers, intra_op_num_threads set."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from common import args, emit, median_ms  # noqa: E402
from layers import SUITE, pads  # noqa: E402


def model(kind, n, inp, cin, cout, k, s, pad, out, rng):
    r = len(inp)
    p = pads(kind, pad, inp, out, k, s)
    pads_onnx = [b for b, _ in p] + [a for _, a in p]
    if kind == "conv_transpose":
        w = rng.standard_normal((cin, cout, *([k] * r)), dtype=np.float32)
        node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], kernel_shape=[k] * r,
                                strides=[s] * r, pads=pads_onnx)
    else:
        w = rng.standard_normal((cout, cin, *([k] * r)), dtype=np.float32)
        node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[k] * r,
                                strides=[s] * r, pads=pads_onnx)
    g = helper.make_graph(
        [node], "layer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, cin, *inp])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, cout, *out])],
        [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m.SerializeToString()


def main():
    a = args()
    rng = np.random.default_rng(0)
    for kind, name, n, inp, cin, cout, k, s, pad, out in SUITE:
        if a.filter and a.filter not in name:
            continue
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(model(kind, n, inp, cin, cout, k, s, pad, out, rng), so,
                                    providers=["CPUExecutionProvider"])
        x = rng.standard_normal((n, cin, *inp), dtype=np.float32)
        y = sess.run(None, {"x": x})[0]
        assert y.shape == (n, cout, *out), (name, y.shape)
        emit("onnxruntime", name, median_ms(lambda: sess.run(None, {"x": x}), a.min_time),
             a.threads)


if __name__ == "__main__":
    main()
