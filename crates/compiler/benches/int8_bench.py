#!/usr/bin/env python3
"""plec's layouts and precisions against the generic paths a user could take instead, in one interleaved run
(issue 24's table; issue 15's int8-only comparison is this script with fewer contenders).

    python crates/compiler/benches/int8_bench.py --float WIDE_F32.onnx --int8 WIDE_INT8.onnx \
        --eval EVAL.parquet --labels clk,buy [--qd-source FUSED_F32.onnx] [--weights W.safetensors --spec S.json] \
        [--plec target/debug/plec] [--out DIR] [--batches 1,64,256,1024,8192] [--extra NAME=MODEL ...] \
        [--profile NAME ...]

Contenders: `float32` and `int8` (plec's, `--float` / `--int8`), every `--extra` plec model (e.g. the explicit
and fused layouts), `qd_plec`: ONNX Runtime's `quantize_dynamic` of `--qd-source` (default `--float`); with
`--weights` (the model's safetensors) the GEMM floor (ort_throughput.gemm_floor_model: every Linear as a Gemm on
its own input, nothing else); where torch imports (ort_throughput's bench venv) and `--spec` (bench_prep's spec
JSON) is given, also `torch_onnx` (torch.onnx.export of the same PLE written in PyTorch, table-row inputs: no
feature transforms), `qd_torch` (`quantize_dynamic` of that file) and `torch_eager`.

- `quantize_dynamic`: Gemm -> MatMul + Add first (its dynamic quantizer handles MatMul, not Gemm), then
  `quantize_dynamic(weight_type=QInt8, op_types_to_quantize=["MatMul"])`, its defaults otherwise (per-tensor
  weights); metadata kept, so `plec predict` runs it.
- Latency / throughput: ONNX Runtime CPU, 2 intra-op threads (no spinning), every contender called round-robin
  (REPEATS timed calls each after 3 warm-ups), medians; random raw inputs from the signature (as
  crates/compiler/benches/ort_throughput.py), table rows for the torch contenders, random activations for the floor.
- Accuracy (plec-input models): `plec predict` of every model over the eval rows; exact AUC (ranks, ties
  averaged) per task against the label columns, and the largest |probability - float32 probability|.
- Peak memory: a fresh process per model that creates the session and runs one batch of 256: its VmHWM (not
  ru_maxrss, which Linux carries over from the parent across exec), Python, numpy and onnxruntime included.
- Batch 1 against the memory floor: bytes of the non-table initializers (dense weights, gates, scales) divided by
  this machine's copy bandwidth (numpy, 512 MB); `--profile NAME` also prints where batch-1 time goes in NAME
  (ONNX Runtime's node profile: feature transforms, dense matmuls with their quantization, everything else).
- The CPU (`lscpu` model name and the SIMD flags that pick ONNX Runtime's kernels) and the load average are printed.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.path.insert(0, str(Path(__file__).parent))
import ort_throughput  # noqa: E402  (same folder: random raw inputs, the GEMM floor, the PyTorch PLE)

REPEATS = {1: 1000, 64: 300, 256: 100, 1024: 30, 8192: 10}
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


def make_quantize_dynamic(src, out_dir, name="quantize_dynamic"):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    mm = out_dir / ("%s.matmul.onnx" % name)
    qd = out_dir / ("%s.onnx" % name)
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


def predict(plec, model, eval_path, labels, out, rewritten=False):
    """`rewritten`: a file another tool rewrote (quantize_dynamic), whose graph no longer matches the sha256 plec
    recorded: loaded without the integrity check."""
    skip = ["--skip-integrity-check"] if rewritten else []
    subprocess.run([plec, "predict", str(model), "--input", str(eval_path), "--output", str(out),
                    "--keep-columns", ",".join(labels)] + skip, check=True, capture_output=True)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def cpu_info():
    """`lscpu` model name and the flags that decide ONNX Runtime's CPU kernels."""
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    simd = [f for f in flags if f.startswith(("avx", "amx", "fma")) or f in ("f16c",)]
    return {"model": fields.get("Model name", "?").strip(), "cpus": fields.get("CPU(s)", "?").strip(), "simd": simd,
            "flags": flags}


def copy_bandwidth():
    """Bytes moved per second by numpy copying 512 MB (read + write), best of 5."""
    a = np.ones(128 << 20, np.float32)
    b = np.empty_like(a)
    best = min(_timed(lambda: np.copyto(b, a)) for _ in range(5))
    return 2 * a.nbytes / best


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def dense_bytes(path):
    """Bytes of the initializers that are not embedding tables: what a batch-1 call must stream."""
    model = onnx.load(str(path), load_external_data=False)
    total = 0
    for t in model.graph.initializer:
        if t.name.startswith(("embedding.", "features.joint_")):  # parameter tables, joint tables (fused, wide)
            continue
        total += len(t.raw_data) if t.raw_data else numpy_helper.to_array(t).nbytes
    return total


def table_rows(spec, batch, rng):
    """One int64 row index per feature: the torch contenders' inputs."""
    return {f["name"]: rng.integers(0, spec["tables"][f["encoding"]["Embedding"]["table"]]["rows"], size=batch)
            .astype(np.int64) for f in spec["features"]}


def feeds_for(kind, sess, spec, batch, rng):
    if kind == "rows":
        return table_rows(spec, batch, rng)
    if kind == "floor":
        return {i.name: rng.standard_normal((batch, i.shape[1])).astype(np.float32) for i in sess.get_inputs()}
    return ort_throughput.raw_inputs(sess, None, batch, rng)


def peak_memory(path, feeds):
    """VmHWM of a fresh process that creates the session and runs `feeds` (saved to a temporary .npz)."""
    with tempfile.NamedTemporaryFile(suffix=".npz", delete=False) as f:
        np.savez(f, **{k: v for k, v in feeds.items()})
        npz = f.name
    code = (
        "import sys, numpy as np\n"
        "sys.path.insert(0, %r)\n"
        "import int8_bench as b\n"
        "s = b.session(%r)\n"
        "d = np.load(%r, allow_pickle=True)\n"
        "s.run(None, {k: d[k] for k in d.files})\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])\n"
    ) % (str(Path(__file__).parent), str(path), npz)
    try:
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(npz)
    return int(out.strip().splitlines()[-1]) * 1024


def time_interleaved(fns, batch):
    """Median seconds per call of each function, called round-robin so that background load hits all alike."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    samples = {name: [] for name in fns}
    for _ in range(REPEATS.get(batch, max(10, 25600 // batch))):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) for name, v in samples.items()}


def profile_batch1(path, calls=300):
    """Where one batch-1 call spends its time: ONNX Runtime's node profile, summed by kind, in µs per call."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.enable_profiling = True
    so.profile_file_prefix = str(Path(path).with_suffix("")) + ".profile"
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feeds = ort_throughput.raw_inputs(sess, None, 1, np.random.default_rng(1))
    for _ in range(20):
        sess.run(None, feeds)
    wall = min(_timed(lambda: sess.run(None, feeds)) for _ in range(calls))
    events = json.loads(Path(sess.end_profiling()).read_text())
    dense_ops = {"Gemm", "MatMul", "MatMulIntegerToFloat", "DynamicQuantizeLinear", "DynamicQuantizeMatMul",
                 "FusedGemm", "FusedMatMul", "QGemm", "MatMulInteger"}
    kinds, nodes = {"transforms": 0.0, "dense": 0.0, "glue": 0.0}, set()
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        name, op = e["name"][: -len("_kernel_time")], e["args"].get("op_name", "")
        nodes.add(name)
        if name.startswith(("features.", "embedding.", "seq.", "sequence.")) or ".quant" in name and "embedding" in name:
            kind = "transforms"
        elif op in dense_ops and not name.startswith("features."):
            kind = "dense"
        else:
            kind = "glue"
        kinds[kind] += e["dur"]
    return {"nodes_run": len(nodes), "fastest_call_us": wall * 1e6,
            **{k: v / (calls + 20) for k, v in kinds.items()}}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--float", required=True, help="plec float32 model (the reference for speed ratios and accuracy)")
    p.add_argument("--int8", required=True, help="plec int8 model")
    p.add_argument("--qd-source", help="plec float32 model to run quantize_dynamic on (default: --float)")
    p.add_argument("--eval", required=True)
    p.add_argument("--labels", required=True, help="label columns, in tower order")
    p.add_argument("--weights", help="the model's weights (safetensors): GEMM floor and torch contenders")
    p.add_argument("--spec", help="the model's spec JSON (bench_prep weights writes it): torch contenders")
    p.add_argument("--plec", default="target/debug/plec")
    p.add_argument("--out", default="target/bench-int8")
    p.add_argument("--batches", default="1,64,256,1024,8192")
    p.add_argument("--extra", action="append", default=[], metavar="NAME=MODEL",
                   help="another plec model to measure alongside (e.g. another layout or int8 option)")
    p.add_argument("--profile", action="append", default=[], metavar="NAME", help="profile this contender at batch 1")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cpu = cpu_info()
    print("CPU: %s (%s CPUs), SIMD flags: %s; ONNX Runtime %s, %d intra-op threads" % (
        cpu["model"], cpu["cpus"], " ".join(cpu["simd"]), ort.__version__, THREADS), flush=True)
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg(), flush=True)

    models = {"float32": Path(args.float), "int8": Path(args.int8)}
    for extra in args.extra:
        name, path = extra.split("=", 1)
        models[name] = Path(path)
    qd_source = Path(args.qd_source or args.float)
    print("quantize_dynamic of %s ..." % qd_source, flush=True)
    models["qd_plec"] = make_quantize_dynamic(qd_source, out, "qd_plec")
    kinds = {n: "raw" for n in models}
    weights = ort_throughput.read_safetensors(args.weights) if args.weights else None
    spec = json.loads(Path(args.spec).read_text()) if args.spec else None
    torch = None
    if weights is not None and spec is not None:
        try:
            import torch  # noqa: F811 - optional: only in ort_throughput's bench venv
        except ImportError:
            print("torch not importable here: no torch contenders (run under ort_throughput's bench venv)", flush=True)
    eager = None
    if torch is not None:
        torch.set_num_threads(THREADS)
        eager = ort_throughput.torch_model(spec, weights)
        models["torch_onnx"] = out / "torch_export.onnx"
        ort_throughput.export_torch(eager, spec, models["torch_onnx"])
        models["qd_torch"] = make_quantize_dynamic(models["torch_onnx"], out, "qd_torch")
        kinds.update(torch_onnx="rows", qd_torch="rows")
    if weights is not None:
        models["gemm_floor"] = out / "gemm_floor.onnx"
        flops, floor_bytes = ort_throughput.gemm_floor_model(weights, models["gemm_floor"])
        kinds["gemm_floor"] = "floor"
    sizes = {n: m.stat().st_size for n, m in models.items()}
    print("file sizes: %s" % ", ".join("%s %.1f MB" % (n, s / 1e6) for n, s in sizes.items()), flush=True)

    labels = args.labels.split(",")
    accuracy = {}
    preds = {n: predict(args.plec, m, args.eval, labels, out / ("%s.csv" % n), rewritten=n.startswith("qd_"))
             for n, m in models.items() if kinds[n] == "raw"}
    prob_cols = [c for c in preds["float32"] if c.startswith("probs") and not c.endswith(("_0", "_2"))]
    for n in preds:
        accuracy[n] = {}
        for col, label in zip(prob_cols, labels):
            auc = exact_auc(preds[n][col], preds[n][label])
            diff = float(np.abs(preds[n][col] - preds["float32"][col]).max())
            accuracy[n][col] = {"auc": auc, "max_abs_diff": diff}
        print("%s: %s" % (n, ", ".join("%s AUC %.6f (delta %+.6f) max|dp| %.2e" % (
            c, v["auc"], v["auc"] - accuracy["float32"][c]["auc"], v["max_abs_diff"]) for c, v in accuracy[n].items())),
            flush=True)

    sessions = {n: session(m) for n, m in models.items()}
    memory = {n: peak_memory(m, feeds_for(kinds[n], sessions[n], spec, 256, np.random.default_rng(0)))
              for n, m in models.items()}
    print("peak RSS: %s" % ", ".join("%s %.0f MB" % (n, v / 1e6) for n, v in memory.items()), flush=True)
    bandwidth = copy_bandwidth()
    streamed = {n: dense_bytes(m) for n, m in models.items() if kinds[n] == "raw"}
    print("copy bandwidth %.1f GB/s; dense bytes: %s" % (bandwidth / 1e9, ", ".join(
        "%s %.1f MB" % (n, b / 1e6) for n, b in streamed.items())), flush=True)

    timing = {}
    for batch in [int(b) for b in args.batches.split(",")]:
        rng = np.random.default_rng(batch)
        fns = {}
        for n, s in sessions.items():
            feeds = feeds_for(kinds[n], s, spec, batch, rng)
            if kinds[n] == "floor":
                # Its outputs are every Linear's activations: kept inside ONNX Runtime (ort_throughput's reason).
                binding = s.io_binding()
                for key, value in feeds.items():
                    binding.bind_cpu_input(key, value)
                for o in s.get_outputs():
                    binding.bind_output(o.name, "cpu")
                fns[n] = lambda s=s, binding=binding: s.run_with_iobinding(binding)
            else:
                fns[n] = lambda s=s, feeds=feeds: s.run(None, feeds)
        if eager is not None:
            rows = tuple(torch.from_numpy(v) for v in table_rows(spec, batch, rng).values())

            def run_eager(rows=rows):
                with torch.inference_mode():
                    eager(*rows)

            fns["torch_eager"] = run_eager
        timing[batch] = time_interleaved(fns, batch)
        print("batch %d: %s" % (batch, ", ".join("%s %.3f ms" % (n, t * 1e3) for n, t in timing[batch].items())),
              flush=True)
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg(), flush=True)

    print("\nratios, > 1: the first is faster (one run):")
    extras = [n for n in models if n not in ("float32", "int8", "qd_plec", "qd_torch", "torch_onnx", "gemm_floor")]
    pairs = [("float32", "torch_onnx"), ("int8", "qd_plec"), ("int8", "qd_torch"), ("int8", "float32"),
             ("int8", "torch_onnx"), ("float32", "gemm_floor")] + [
                 ("int8" if "int8" in n else "float32", n) for n in extras]
    pairs = [(a, b) for a, b in pairs if all(x in timing[next(iter(timing))] for x in (a, b))]
    print("  batch " + "".join("%22s" % ("%s/%s" % (a, b)) for a, b in pairs))
    for batch, t in timing.items():
        print("  %5d " % batch + "".join("%21.2fx" % (t[b] / t[a]) for a, b in pairs))
    if 1 in timing:
        print("batch 1 against the memory floor (dense bytes / copy bandwidth): %s" % ", ".join(
            "%s %.3f ms floor, %.2f of it" % (n, b / bandwidth * 1e3, b / bandwidth / timing[1][n])
            for n, b in streamed.items()))
    profiles = {}
    for name in args.profile:
        profiles[name] = profile_batch1(models[name])
        print("batch-1 profile of %s (µs per call): %s" % (name, ", ".join("%s %.0f" % kv for kv in profiles[name].items())),
              flush=True)
    (out / "results.json").write_text(json.dumps(
        {"cpu": cpu, "sizes": sizes, "accuracy": accuracy, "peak_rss": memory, "copy_bandwidth": bandwidth,
         "dense_bytes": streamed, "profiles": profiles, "timing": {str(k): v for k, v in timing.items()}}, indent=1))


if __name__ == "__main__":
    main()
