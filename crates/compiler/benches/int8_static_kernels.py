#!/usr/bin/env python3
"""One static int8 layer (uint8 in, ReLU'd uint8 out, int32 bias) in ONNX Runtime, every way the graph can say it,
and the ways to turn concatenated uint8 expert outputs back into float (BENCHMARKS.md, issue 24, fourth attempt).

    .native/venv/bin/python crates/compiler/benches/int8_static_kernels.py [INxOUT ...]
        (default: 256x1024 1024x512 512x256 256x128)

Layer contenders (weights symmetric per output channel, int8): `qgemm` com.microsoft.QGemm with the bias as its C
input (what static int8 emitted first); `qgemm_nobias` the same without C (not a contender: shows what the bias
costs); `conv_sym` com.microsoft.QLinearConv {channels_last=1} over a [1, batch, 1, in] view, all weight zero points
0 (ONNX Runtime's indirect convolution kernel); `conv_gemm` the same with channel 0's zero point -1 and its weights
one lower (same values; ONNX Runtime's GEMM kernel with per-tile requantization); `mmitf`
MatMulIntegerToFloat + Relu + QuantizeLinear. `d` is the largest difference in output levels from `qgemm`.
Then uint8 -> float over [batch, channels]: DequantizeLinear per channel, per tensor, Cast + Mul, Cast alone.
2 intra-op threads, no spinning; batch 1 / 256 / 8192 with 2,000 / 200 / 10 calls per repeat, 5 repeats alternating
the contenders, medians in ms.
"""
import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

LAYERS = ["qgemm", "qgemm_nobias", "conv_sym", "conv_gemm", "mmitf"]
TO_FLOAT = ["dq_per_channel", "dq_per_tensor", "cast_mul", "cast"]
CALLS = [(1, 2000), (256, 200), (8192, 10)]


def opsets():
    return [h.make_opsetid("", 21), h.make_opsetid("com.microsoft", 1)]


def layer(kind, K, N):
    rng = np.random.default_rng(K * 7 + N)
    w = rng.standard_normal((N, K)).astype(np.float32) * 0.05
    s = np.abs(w).max(1) / 63
    q = np.clip(np.round(w / s[:, None]), -63, 63).astype(np.int8)
    bias = (rng.standard_normal(N) * 50).astype(np.int32)
    zw = np.zeros(N, np.int8)
    if kind == "conv_gemm":
        q = q.copy()
        q[0] -= 1
        zw[0] = -1
    inits = [nh.from_array(np.array(0.02, np.float32), "sa"), nh.from_array(np.array(0, np.uint8), "za"),
             nh.from_array(s.astype(np.float32), "sw"), nh.from_array(zw, "zw"),
             nh.from_array(np.array(0.05, np.float32), "sy"), nh.from_array(np.array(0, np.uint8), "zy")]
    nodes = []
    if kind.startswith("qgemm"):
        inits += [nh.from_array(q, "W"), nh.from_array(bias, "bias")]
        c = "bias" if kind == "qgemm" else ""
        nodes.append(h.make_node("QGemm", ["x", "sa", "za", "W", "sw", "zw", c, "sy", "zy"], ["y"],
                                 domain="com.microsoft", transB=1))
    elif kind.startswith("conv"):
        inits += [nh.from_array(q.reshape(N, K, 1, 1), "W"), nh.from_array(bias, "bias"),
                  nh.from_array(np.array([1, -1, 1, K], np.int64), "nhwc"),
                  nh.from_array(np.array([-1, N], np.int64), "rows")]
        nodes += [h.make_node("Reshape", ["x", "nhwc"], ["x4"]),
                  h.make_node("QLinearConv", ["x4", "sa", "za", "W", "sw", "zw", "sy", "zy", "bias"], ["y4"],
                              domain="com.microsoft", channels_last=1),
                  h.make_node("Reshape", ["y4", "rows"], ["y"])]
    else:
        fbias = (bias * 0.02 * s).astype(np.float32)
        inits += [nh.from_array(q.T.copy(), "W"), nh.from_array(fbias, "fb")]
        nodes += [h.make_node("MatMulIntegerToFloat", ["x", "W", "sa", "sw", "za", "", "fb"], ["f"],
                              domain="com.microsoft"),
                  h.make_node("Relu", ["f"], ["r"]), h.make_node("QuantizeLinear", ["r", "sy", "zy"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.UINT8, ["B", K])],
                     [h.make_tensor_value_info("y", T.UINT8, ["B", N])], inits)
    return h.make_model(g, opset_imports=opsets(), ir_version=10).SerializeToString()


def to_float(kind, C):
    inits = [nh.from_array(np.full(C, 0.05, np.float32), "sc"), nh.from_array(np.zeros(C, np.uint8), "zc"),
             nh.from_array(np.array(0.05, np.float32), "s1"), nh.from_array(np.array(0, np.uint8), "z1")]
    nodes = {
        "dq_per_channel": [h.make_node("DequantizeLinear", ["x", "sc", "zc"], ["y"], axis=1)],
        "dq_per_tensor": [h.make_node("DequantizeLinear", ["x", "s1", "z1"], ["y"])],
        "cast_mul": [h.make_node("Cast", ["x"], ["c"], to=1), h.make_node("Mul", ["c", "sc"], ["y"])],
        "cast": [h.make_node("Cast", ["x"], ["y"], to=1)],
    }[kind]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.UINT8, ["B", C])],
                     [h.make_tensor_value_info("y", T.FLOAT, ["B", C])], inits)
    return h.make_model(g, opset_imports=opsets(), ir_version=10).SerializeToString()


def timed(sessions, x):
    ts = {k: [] for k in sessions}
    it = dict(CALLS)[x.shape[0]]
    for _ in range(5):
        for k, s in sessions.items():
            s.run(None, {"x": x})
            t = time.perf_counter()
            for _ in range(it):
                s.run(None, {"x": x})
            ts[k].append((time.perf_counter() - t) / it * 1e3)
    return {k: float(np.median(v)) for k, v in ts.items()}


def main():
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    rng = np.random.default_rng(0)
    for shape in sys.argv[1:] or ["256x1024", "1024x512", "512x256", "256x128"]:
        K, N = (int(v) for v in shape.split("x"))
        sessions = {k: ort.InferenceSession(layer(k, K, N), so, providers=["CPUExecutionProvider"]) for k in LAYERS}
        for B, _ in CALLS:
            x = rng.integers(0, 256, (B, K)).astype(np.uint8)
            ms = timed(sessions, x)
            ref = sessions["qgemm"].run(None, {"x": x})[0].astype(int)
            diff = {k: int(np.abs(s.run(None, {"x": x})[0].astype(int) - ref).max()) for k, s in sessions.items()}
            print("%s batch %d: %s" % (shape, B, "  ".join("%s %.4f (d %d)" % (k, ms[k], diff[k]) for k in LAYERS)))
    for C in [1536, 576]:
        sessions = {k: ort.InferenceSession(to_float(k, C), so, providers=["CPUExecutionProvider"]) for k in TO_FLOAT}
        for B, _ in CALLS:
            ms = timed(sessions, rng.integers(0, 256, (B, C)).astype(np.uint8))
            print("uint8 -> float %d channels, batch %d: %s" % (C, B, "  ".join("%s %.4f" % (k, ms[k]) for k in TO_FLOAT)))


if __name__ == "__main__":
    main()
