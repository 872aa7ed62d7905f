"""ctypes bindings of include/deconv.h: the structs laid out exactly as the C compiler does
(ctypes applies the platform's C alignment rules), and the entry points the harness calls.
layout_check.c prints the C side's sizes and offsets; check_layout() compares them."""
import ctypes as C
import json

import numpy as np

MAX_SPATIAL = 3
MAX_RANK = 5
MESSAGE_SIZE = 256

STATUS = [
    "OK", "NULL_POINTER", "STRUCT_SIZE", "INVALID_ENUM", "INVALID_ARGUMENT", "INVALID_SHAPE",
    "SHAPE_MISMATCH", "OUTPUT_SIZE", "INVALID_OUTPUT_SHAPE", "COUNT_MISMATCH", "OVERFLOW",
    "INDEX_OUT_OF_RANGE", "OVERLAP", "WORKSPACE_TOO_SMALL", "NO_MEMORY", "SYSTEM",
]
LAYOUT = {"last": 0, "first": 1}
PADDING = {"VALID": 0, "SAME": 1, "EXPLICIT": 2}
ACTIVATION = {"none": 0, "relu": 1, "relu6": 2, "leaky_relu": 3, "sigmoid": 4, "tanh": 5,
              "clamp": 6}


class Shape(C.Structure):
    _fields_ = [("rank", C.c_int32), ("dims", C.c_int64 * MAX_RANK)]


class ConvParams(C.Structure):
    _fields_ = [
        ("struct_size", C.c_size_t), ("flags", C.c_uint32), ("spatial_rank", C.c_int32),
        ("layout", C.c_int), ("padding", C.c_int),
        ("strides", C.c_int64 * MAX_SPATIAL), ("dilations", C.c_int64 * MAX_SPATIAL),
        ("pads", C.c_int64 * (2 * MAX_SPATIAL)),
        ("activation", C.c_int), ("alpha", C.c_float), ("clamp_min", C.c_float),
        ("clamp_max", C.c_float),
    ]


class PoolParams(C.Structure):
    _fields_ = [
        ("struct_size", C.c_size_t), ("flags", C.c_uint32), ("spatial_rank", C.c_int32),
        ("layout", C.c_int), ("padding", C.c_int),
        ("ksize", C.c_int64 * MAX_SPATIAL), ("strides", C.c_int64 * MAX_SPATIAL),
        ("pads", C.c_int64 * (2 * MAX_SPATIAL)),
        ("count_include_pad", C.c_int32), ("include_batch_in_index", C.c_int32),
        ("normalize", C.c_int32),
    ]


class Error(C.Structure):
    _fields_ = [("status", C.c_int), ("message", C.c_char * MESSAGE_SIZE)]


def layout_description():
    """Sizes and field offsets, in the same form layout_check.c prints."""
    out = {}
    for name, cls in (("deconv_shape", Shape), ("deconv_conv_params", ConvParams),
                      ("deconv_pool_params", PoolParams), ("deconv_error", Error)):
        out[name] = {"size": C.sizeof(cls),
                     "fields": {f: getattr(cls, f).offset for f, _ in cls._fields_}}
    return out


def check_layout(c_json_text):
    """Returns a list of differences between ctypes' layout and the C compiler's."""
    c_side = json.loads(c_json_text)
    mine = layout_description()
    diffs = []
    for name, desc in c_side.items():
        if mine[name]["size"] != desc["size"]:
            diffs.append(f"sizeof({name}): C {desc['size']}, ctypes {mine[name]['size']}")
        for field, off in desc["fields"].items():
            got = mine[name]["fields"].get(field)
            if got != off:
                diffs.append(f"offsetof({name}, {field}): C {off}, ctypes {got}")
    return diffs


F32P = np.ctypeslib.ndpointer(np.float32, flags="C_CONTIGUOUS")
I64P = np.ctypeslib.ndpointer(np.int64, flags="C_CONTIGUOUS")
P = C.POINTER


def make_shape(dims):
    s = Shape()
    s.rank = len(dims)
    for i, d in enumerate(dims):
        s.dims[i] = int(d)
    return s


class Lib:
    def __init__(self, path):
        lib = C.CDLL(path)
        self.lib = lib
        st = C.c_int
        lib.deconv_version.restype = C.c_int
        lib.deconv_status_string.restype = C.c_char_p
        lib.deconv_status_string.argtypes = [C.c_int]
        lib.deconv_context_create.restype = st
        lib.deconv_context_create.argtypes = [C.c_int32, P(C.c_void_p), P(Error)]
        lib.deconv_context_destroy.restype = None
        lib.deconv_context_destroy.argtypes = [C.c_void_p]
        lib.deconv_conv_output_shape.restype = st
        lib.deconv_conv_output_shape.argtypes = [P(ConvParams), P(Shape), P(Shape), P(Shape),
                                                 P(C.c_int64), P(Error)]
        lib.deconv_conv_transpose_output_range.restype = st
        lib.deconv_conv_transpose_output_range.argtypes = [
            P(ConvParams), P(Shape), P(Shape), P(C.c_int64), P(C.c_int64), P(Error)]
        lib.deconv_pool_output_shape.restype = st
        lib.deconv_pool_output_shape.argtypes = [P(PoolParams), P(Shape), P(Shape),
                                                 P(C.c_int64), P(Error)]
        lib.deconv_conv.restype = st
        lib.deconv_conv.argtypes = [C.c_void_p, P(ConvParams), P(Shape), C.c_void_p, C.c_int64,
                                    P(Shape), C.c_void_p, C.c_int64, C.c_void_p, C.c_int64,
                                    C.c_void_p, C.c_int64, P(Error)]
        lib.deconv_conv_transpose.restype = st
        lib.deconv_conv_transpose.argtypes = [
            C.c_void_p, P(ConvParams), P(Shape), C.c_void_p, C.c_int64, P(Shape), C.c_void_p,
            C.c_int64, C.c_void_p, C.c_int64, P(Shape), C.c_void_p, C.c_int64, P(Error)]
        for name in ("deconv_max_pool", "deconv_avg_pool"):
            f = getattr(lib, name)
            f.restype = st
            f.argtypes = [C.c_void_p, P(PoolParams), P(Shape), C.c_void_p, C.c_int64,
                          C.c_void_p, C.c_int64, P(Error)]
        lib.deconv_max_pool_with_argmax.restype = st
        lib.deconv_max_pool_with_argmax.argtypes = [
            C.c_void_p, P(PoolParams), P(Shape), C.c_void_p, C.c_int64, C.c_void_p, C.c_int64,
            C.c_void_p, C.c_int64, P(Error)]
        lib.deconv_max_unpool.restype = st
        lib.deconv_max_unpool.argtypes = [
            C.c_void_p, P(PoolParams), P(Shape), C.c_void_p, C.c_int64, C.c_void_p, C.c_int64,
            P(Shape), C.c_void_p, C.c_int64, P(Error)]
        lib.deconv_avg_unpool.restype = st
        lib.deconv_avg_unpool.argtypes = [
            C.c_void_p, P(PoolParams), P(Shape), C.c_void_p, C.c_int64, P(Shape), C.c_void_p,
            C.c_int64, P(Error)]

    def version(self):
        return self.lib.deconv_version()

    def context(self, threads):
        h = C.c_void_p()
        err = Error()
        st = self.lib.deconv_context_create(threads, C.byref(h), C.byref(err))
        if st != 0:
            raise RuntimeError(f"deconv_context_create: {STATUS[st]} {err.message.decode()}")
        return h

    def destroy(self, ctx):
        self.lib.deconv_context_destroy(ctx)


def ptr(a):
    """Data pointer of a numpy array (None for an empty one, as a C caller may pass NULL)."""
    return None if a is None or a.size == 0 else a.ctypes.data_as(C.c_void_p)


def status_name(code):
    return STATUS[code] if 0 <= code < len(STATUS) else f"status {code}"
