#!/usr/bin/env python3
"""`plec compile --precision int8` against the float32 model it comes from and against ONNX Runtime's own
`quantize_dynamic` of that float32 model (the path a user would take instead).

    .native/venv/bin/python crates/compiler/benches/int8_bench.py --float F32.onnx --int8 INT8.onnx \
        --eval EVAL.parquet --labels clk,buy [--plec target/debug/plec] [--out DIR] [--batches 1,256,8192]
        [--extra NAME=MODEL ...]

- `quantize_dynamic`: Gemm -> MatMul + Add first (its dynamic quantizer handles MatMul, not Gemm), then
  `quantize_dynamic(weight_type=QInt8, op_types_to_quantize=["MatMul"])`, its defaults otherwise (per-tensor
  weights); metadata kept, so `plec predict` runs it.
- Latency / throughput: ONNX Runtime CPU, 2 intra-op threads (no spinning), the three sessions called round-robin
  (1,000 / 100 / 10 timed calls per model at batch 1 / 256 / 8192 after 3 warm-ups), medians; random raw inputs
  from the signature (as crates/compiler/benches/ort_throughput.py).
- Accuracy: `plec predict` of every model over the eval rows; exact AUC (ranks, ties averaged) per task against
  the label columns, and the largest |probability - float32 probability|.
- Peak memory: a fresh process per model that creates the session and runs one batch of 256: its VmHWM (not
  ru_maxrss, which Linux carries over from the parent across exec), Python, numpy and onnxruntime included.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.path.insert(0, str(Path(__file__).parent))
import ort_throughput  # noqa: E402  (same folder: the one generator of random raw inputs from a signature)

REPEATS = {1: 1000, 256: 100, 8192: 10}
THREADS = 2


def gemm_to_matmul(src, dst):
    model = onnx.load(src)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    nodes = []
    for n in g.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Gemm" and attrs.get("transB") == 1 and n.input[1] in inits and set(attrs) <= {"transB"}:
            w = numpy_helper.to_array(inits[n.input[1]])
            wt = numpy_helper.from_array(np.ascontiguousarray(w.T), n.input[1] + ".t")
            g.initializer.remove(inits[n.input[1]])
            g.initializer.append(wt)
            out = n.output[0]
            if len(n.input) > 2 and n.input[2]:
                nodes.append(helper.make_node("MatMul", [n.input[0], wt.name], [out + ".mm"], name=n.name + ".mm"))
                nodes.append(helper.make_node("Add", [out + ".mm", n.input[2]], [out], name=n.name))
            else:
                nodes.append(helper.make_node("MatMul", [n.input[0], wt.name], [out], name=n.name))
        else:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(model, dst)


def make_quantize_dynamic(src, out_dir):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    mm = out_dir / "matmul.onnx"
    qd = out_dir / "quantize_dynamic.onnx"
    gemm_to_matmul(src, str(mm))
    quantize_dynamic(str(mm), str(qd), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    # quantize_dynamic keeps metadata_props? Make sure (plec predict reads the signature from there).
    src_meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    q = onnx.load(str(qd))
    have = {p.key for p in q.metadata_props}
    missing = [k for k in src_meta if k not in have]
    if missing:
        for k in missing:
            q.metadata_props.append(onnx.StringStringEntryProto(key=k, value=src_meta[k]))
        onnx.save(q, str(qd))
    mm.unlink()
    return qd


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def time_interleaved(sessions, batches):
    rng = np.random.default_rng(0)
    results = {}
    for batch in batches:
        feeds = ort_throughput.raw_inputs(next(iter(sessions.values())), None, batch, rng)
        for s in sessions.values():
            for _ in range(3):
                s.run(None, feeds)
        samples = {name: [] for name in sessions}
        for _ in range(REPEATS[batch]):
            for name, s in sessions.items():
                start = time.perf_counter()
                s.run(None, feeds)
                samples[name].append(time.perf_counter() - start)
        results[batch] = {name: statistics.median(v) for name, v in samples.items()}
        print("batch %d: %s" % (batch, ", ".join("%s %.3f ms" % (n, t * 1e3) for n, t in results[batch].items())),
              flush=True)
    return results


def peak_memory(path):
    code = (
        "import sys, numpy as np\n"
        "sys.path.insert(0, %r)\n"
        "import int8_bench as b\n"
        "s = b.session(%r)\n"
        "s.run(None, b.ort_throughput.raw_inputs(s, None, 256, np.random.default_rng(0)))\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])\n"
    ) % (str(Path(__file__).parent), str(path))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) * 1024


def exact_auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    full = np.empty(len(s))
    full[order] = ranks
    pos = labels > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (full[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def predict(plec, model, eval_path, labels, out):
    subprocess.run([plec, "predict", str(model), "--input", str(eval_path), "--output", str(out),
                    "--keep-columns", ",".join(labels)], check=True, capture_output=True)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--float", required=True)
    p.add_argument("--int8", required=True)
    p.add_argument("--eval", required=True)
    p.add_argument("--labels", required=True, help="label columns, in tower order")
    p.add_argument("--plec", default="target/debug/plec")
    p.add_argument("--out", default="target/bench-int8")
    p.add_argument("--batches", default="1,256,8192")
    p.add_argument("--extra", action="append", default=[], metavar="NAME=MODEL",
                   help="another model to measure alongside (e.g. an int8 compile with other options)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("quantize_dynamic of %s ..." % args.float, flush=True)
    qd = make_quantize_dynamic(Path(args.float), out)
    models = {"float32": Path(args.float), "int8": Path(args.int8), "quantize_dynamic": qd}
    for extra in args.extra:
        name, path = extra.split("=", 1)
        models[name] = Path(path)
    sizes = {n: m.stat().st_size for n, m in models.items()}
    print("file sizes: %s" % ", ".join("%s %.1f MB" % (n, s / 1e6) for n, s in sizes.items()), flush=True)

    labels = args.labels.split(",")
    preds = {n: predict(args.plec, m, args.eval, labels, out / ("%s.csv" % n)) for n, m in models.items()}
    accuracy = {}
    prob_cols = [c for c in preds["float32"] if c.startswith("probs") and not c.endswith(("_0", "_2"))]
    for n in models:
        accuracy[n] = {}
        for col, label in zip(prob_cols, labels):
            auc = exact_auc(preds[n][col], preds[n][label])
            diff = float(np.abs(preds[n][col] - preds["float32"][col]).max())
            accuracy[n][col] = {"auc": auc, "max_abs_diff": diff}
    for n in models:
        print("%s: %s" % (n, ", ".join("%s AUC %.6f (delta %+.6f) max|dp| %.2e" % (
            c, v["auc"], v["auc"] - accuracy["float32"][c]["auc"], v["max_abs_diff"]) for c, v in accuracy[n].items())),
            flush=True)

    memory = {n: peak_memory(m) for n, m in models.items()}
    print("peak RSS: %s" % ", ".join("%s %.0f MB" % (n, v / 1e6) for n, v in memory.items()), flush=True)

    sessions = {n: session(m) for n, m in models.items()}
    timing = time_interleaved(sessions, [int(b) for b in args.batches.split(",")])
    for batch, t in timing.items():
        f = t["float32"]
        print("batch %d ratios vs float32 (>1 faster): %s; int8 / quantize_dynamic %.2fx" % (
            batch, ", ".join("%s %.2fx" % (n, f / v) for n, v in t.items() if n != "float32"),
            t["quantize_dynamic"] / t["int8"]))
    (out / "results.json").write_text(json.dumps(
        {"sizes": sizes, "accuracy": accuracy, "peak_rss": memory, "timing": {str(k): v for k, v in timing.items()}},
        indent=1))


if __name__ == "__main__":
    main()
