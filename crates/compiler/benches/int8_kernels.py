#!/usr/bin/env python3
"""One Linear (+ Relu) in ONNX Runtime, float32 Gemm against the int8 kernels `--precision int8` could use.

    .native/venv/bin/python crates/compiler/benches/int8_kernels.py [INxOUT ...]   (default: 256x1024 1024x512
        512x256 256x128 128x64 64x32 256x6)

Contenders (weights symmetric per output channel): `f32` Gemm transB=1; `dqmm` com.microsoft.DynamicQuantizeMatMul
with int8 weights (what plec emits); `dqmm_u8` the same with uint8 weights (zero point 128); `chain`
DynamicQuantizeLinear + MatMulInteger + Cast + Mul + Add (what ONNX Runtime fuses). 2 intra-op threads, no
spinning; batch 1 / 256 / 8192 with 2,000 / 200 / 10 calls per repeat, 3 repeats alternating the contenders,
medians in ms; `err` is the largest |difference| from the float32 output (inputs |N(0, 1)|, weights N(0, 0.05)).
"""
import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

KINDS = ["f32", "dqmm", "dqmm_u8", "chain"]


def model(kind, K, N):
    rng = np.random.default_rng(K * 7 + N)
    W = rng.standard_normal((N, K)).astype(np.float32) * 0.05
    b = rng.standard_normal(N).astype(np.float32) * 0.01
    inits = [nh.from_array(b, "b")]
    nodes = []
    s = np.abs(W).max(1) / 127
    q = np.clip(np.round(W / s[:, None]), -127, 127).astype(np.int8)
    if kind == "f32":
        inits.append(nh.from_array(W, "W"))
        nodes.append(h.make_node("Gemm", ["x", "W", "b"], ["g"], transB=1))
    elif kind == "dqmm":
        inits += [nh.from_array(q.T.copy(), "Wq"), nh.from_array(s.astype(np.float32), "ws")]
        nodes.append(h.make_node("DynamicQuantizeMatMul", ["x", "Wq", "ws", "", "b"], ["g"], domain="com.microsoft"))
    elif kind == "dqmm_u8":
        qu = (q.astype(np.int16) + 128).astype(np.uint8)
        inits += [nh.from_array(qu.T.copy(), "Wq"), nh.from_array(s.astype(np.float32), "ws"),
                  nh.from_array(np.full(N, 128, np.uint8), "wz")]
        nodes.append(h.make_node("DynamicQuantizeMatMul", ["x", "Wq", "ws", "wz", "b"], ["g"], domain="com.microsoft"))
    else:
        inits += [nh.from_array(q.T.copy(), "Wq"), nh.from_array(s.astype(np.float32), "ws")]
        nodes += [h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
                  h.make_node("MatMulInteger", ["xq", "Wq", "xz"], ["acc"]),
                  h.make_node("Cast", ["acc"], ["accf"], to=1),
                  h.make_node("Mul", ["xs", "ws"], ["sc"]),
                  h.make_node("Mul", ["accf", "sc"], ["m"]),
                  h.make_node("Add", ["m", "b"], ["g"])]
    nodes.append(h.make_node("Relu", ["g"], ["y"]))
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, ["B", K])],
                         [h.make_tensor_value_info("y", T.FLOAT, ["B", N])], inits)
    ops = [h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)]
    return h.make_model(graph, opset_imports=ops, ir_version=8).SerializeToString()


def main():
    shapes = sys.argv[1:] or ["256x1024", "1024x512", "512x256", "256x128", "128x64", "64x32", "256x6"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    rng = np.random.default_rng(0)
    for shape in shapes:
        K, N = (int(v) for v in shape.split("x"))
        sess = {k: ort.InferenceSession(model(k, K, N), so, providers=["CPUExecutionProvider"]) for k in KINDS}
        for B, it in [(1, 2000), (256, 200), (8192, 10)]:
            x = np.abs(rng.standard_normal((B, K))).astype(np.float32)
            ts = {k: [] for k in sess}
            for _ in range(3):
                for k, s in sess.items():
                    s.run(None, {"x": x})
                    t = time.perf_counter()
                    for _ in range(it):
                        s.run(None, {"x": x})
                    ts[k].append((time.perf_counter() - t) / it * 1e3)
            ref = sess["f32"].run(None, {"x": x})[0]
            print("%dx%d batch %d: %s" % (K, N, B, " ".join(
                "%s=%.4f ms (err %.1e)" % (k, np.median(v), np.abs(sess[k].run(None, {"x": x})[0] - ref).max())
                for k, v in ts.items())), flush=True)


if __name__ == "__main__":
    main()
