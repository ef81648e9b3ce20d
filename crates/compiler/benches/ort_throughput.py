#!/usr/bin/env python3
"""Benchmark of plec's compiled example model against PyTorch.

    python3 crates/compiler/benches/ort_throughput.py [--config examples/ple_taobao.config] [--out target/bench-compile]
        [--compile-only]

Measures, on ONNX Runtime CPU with 2 intra-op threads (median of repeats, warm-up excluded):
  - plec explicit, fused and wide layouts (raw feature inputs: transforms run in the graph),
  - the same PLE written in PyTorch and exported with torch.onnx.export (table-row inputs: no transforms),
  - PyTorch eager (2 threads, inference mode),
  - the "GEMM floor": a graph of only the model's Linear layers (experts, gates, towers), each one Gemm on its own
    graph input, no transforms, activations or mixing -- what ONNX Runtime needs for the dense arithmetic alone,
    in this run; at batch 1 it is the cost of streaming the dense weights from memory,
at batch 1, 256 and 8192 (calls interleaved round-robin, so background load hits all alike; intra-op threads do
not spin between calls, so one session's idle threads do not steal the cores from the next); plus compile time and
peak RSS of `plec compile` (load + check + lower + write) for the config with random weights (seed 0), against
its reference in the same run: a fresh Python process that loads the same weights, builds the PyTorch model and
runs torch.onnx.export (`--compile-only` measures just these). Prints a table and writes <out>/results.json.

PyTorch lives in its own venv, .native/bench-venv (torch==2.13.0, ~4.7 GB with its CUDA wheels), created by this
script on first use (elsewhere if PLEC_BENCH_VENV says so); the test venv (.native/venv) stays small.
int8_bench.py, run under that venv, is the wider table (int8, quantize_dynamic, more batch sizes, accuracy).
"""

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BENCH_VENV = Path(os.environ.get("PLEC_BENCH_VENV", ROOT / ".native" / "bench-venv"))
PINS = ["torch==2.13.0", "numpy==2.2.6", "onnx==1.20.1", "onnxruntime==1.31.1"]
BATCHES = [1, 256, 8192]
THREADS = 2
# Timed runs per batch size (after 3 warm-up runs); batch-1 latency needs many.
REPEATS = {1: 1000, 256: 100, 8192: 10}
COMPILE_REPEATS = 3


def ensure_venv():
    python = BENCH_VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == BENCH_VENV.resolve():
        return
    stamp = BENCH_VENV / ".plec-pins"
    if not (stamp.is_file() and stamp.read_text() == " ".join(PINS)):
        print("creating %s (%s)" % (BENCH_VENV, " ".join(PINS)), file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", str(BENCH_VENV)])
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet"] + PINS)
        stamp.write_text(" ".join(PINS))
    os.execv(str(python), [str(python), __file__] + sys.argv[1:])


# A child forked from a big process inherits its RSS until exec, and ru_maxrss counts that: so the measured
# command runs under this tiny wrapper, started from a fresh interpreter that has imported nothing heavy.
RSS_WRAPPER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(p.pid, 0)
print('{"status": %d, "peak_rss_kb": %d}' % (status, usage.ru_maxrss), file=sys.stderr)
"""


def run_child(cmd):
    """Runs cmd; returns (stdout, peak RSS in MB of that command alone)."""
    proc = subprocess.run(
        ["/usr/bin/env", "python3", "-c", RSS_WRAPPER] + [str(c) for c in cmd], cwd=ROOT, capture_output=True, check=True
    )
    report = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    if report["status"] != 0:
        raise SystemExit("failed: %s" % " ".join(map(str, cmd)))
    return proc.stdout.decode(), report["peak_rss_kb"] / 1024.0


def read_safetensors(path):
    import numpy as np

    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    return {
        k: np.frombuffer(data[8 + n + v["data_offsets"][0] : 8 + n + v["data_offsets"][1]], dtype="<f4").reshape(v["shape"])
        for k, v in header.items()
        if k != "__metadata__"
    }


def torch_model(spec, weights):
    """The PLE of docs/semantics.md in PyTorch, reading table rows (one int64 per feature)."""
    import torch
    from torch import nn

    for f in spec["features"]:
        assert "Embedding" in f["encoding"] and f["encoding"]["Embedding"]["multi"] is None, "bench supports single ids"

    def linear(prefix, bias=True):
        w = torch.from_numpy(weights[prefix + ".weight"].copy())
        lin = nn.Linear(w.shape[1], w.shape[0], bias=bias)
        lin.weight.data = w
        if bias:
            lin.bias.data = torch.from_numpy(weights[prefix + ".bias"].copy())
        return lin

    def mlp(module, m):
        layers = []
        for j, layer in enumerate(m["layers"]):
            assert layer["norm"] == "none" and layer["activation"] == "relu", "bench supports plain ReLU MLPs"
            layers += [linear("%s.fc_%d" % (module, j), layer["bias"]), nn.ReLU()]
        return nn.Sequential(*layers)

    class Ple(nn.Module):
        def __init__(self):
            super().__init__()
            self.tables = nn.ModuleList()
            for t in spec["tables"]:
                w = torch.from_numpy(weights["embedding.%s.weight" % t["name"]].copy())
                self.tables.append(nn.Embedding.from_pretrained(w))
            self.table_of = [f["encoding"]["Embedding"]["table"] for f in spec["features"]]
            self.towers = [t["name"] for t in spec["towers"]]
            self.layers = nn.ModuleList()
            for L in spec["layers"]:
                ln = L["name"]
                mod = nn.Module()
                mod.task = nn.ModuleList(
                    nn.ModuleList(mlp("ple.%s.task_%s.expert_%d" % (ln, t, e), L["task_expert"]) for e in range(L["experts_per_task"]))
                    for t in self.towers
                )
                mod.shared = nn.ModuleList(mlp("ple.%s.shared.expert_%d" % (ln, e), L["shared_expert"]) for e in range(L["shared_experts"]))
                mod.gates = nn.ModuleList(linear("ple.%s.gate_%s" % (ln, t)) for t in self.towers)
                mod.shared_gate = linear("ple.%s.gate_shared" % ln) if L["has_shared_gate"] else None
                self.layers.append(mod)
            self.tower_mlps = nn.ModuleList(mlp("tower.%s" % t["name"], t["mlp"]) if t["mlp"] else nn.Identity() for t in spec["towers"])
            self.heads = nn.ModuleList(linear("tower.%s.output" % t) for t in self.towers)

        def forward(self, *rows):
            x = torch.cat([self.tables[t](r) for t, r in zip(self.table_of, rows)], dim=1)
            xs = [x] * len(self.towers)
            s = x
            for mod in self.layers:
                task = [[e(xs[i]) for e in experts] for i, experts in enumerate(mod.task)]
                shared = [e(s) for e in mod.shared]
                ys = []
                for i, gate in enumerate(mod.gates):
                    g = torch.softmax(gate(xs[i]), dim=-1)
                    ys.append(torch.einsum("be,ebu->bu", g, torch.stack(task[i] + shared)))
                if mod.shared_gate is not None:
                    g = torch.softmax(mod.shared_gate(s), dim=-1)
                    s = torch.einsum("be,ebu->bu", g, torch.stack([e for es in task for e in es] + shared))
                xs = ys
            outs = []
            for y, tower_mlp, head in zip(xs, self.tower_mlps, self.heads):
                logits = head(tower_mlp(y)).squeeze(1)
                outs += [logits, torch.sigmoid(logits)]
            return tuple(outs)

    return Ple().eval()


def gemm_floor_model(weights, path):
    """Every dense Linear of the model as one Gemm (transB=1, bias) on its own input `<name>.x`: the dense
    arithmetic alone, with ONNX Runtime's pre-packed weights, and nothing else."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inputs, outputs, inits = [], [], [], []
    for name in sorted(weights):
        if not name.endswith(".weight") or name.startswith("embedding.") or weights[name].ndim != 2:
            continue
        prefix = name[: -len(".weight")]
        w = weights[name]
        args = [prefix + ".x", name]
        inits.append(numpy_helper.from_array(np.ascontiguousarray(w), name))
        if prefix + ".bias" in weights:
            inits.append(numpy_helper.from_array(np.ascontiguousarray(weights[prefix + ".bias"]), prefix + ".bias"))
            args.append(prefix + ".bias")
        inputs.append(helper.make_tensor_value_info(prefix + ".x", TensorProto.FLOAT, ["batch", w.shape[1]]))
        outputs.append(helper.make_tensor_value_info(prefix + ".y", TensorProto.FLOAT, ["batch", w.shape[0]]))
        nodes.append(helper.make_node("Gemm", args, [prefix + ".y"], name=prefix, transB=1))
    graph = helper.make_graph(nodes, "gemm_floor", inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    flops = sum(2 * t.dims[0] * t.dims[1] for t in inits if len(t.dims) == 2)
    weight_bytes = sum(4 * int(np.prod(t.dims)) for t in inits)
    return flops, weight_bytes


def time_interleaved(fns, batch):
    """Median seconds per call of each function; calls are interleaved round-robin so that load from other
    processes hits every contender alike."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    samples = {name: [] for name in fns}
    for _ in range(REPEATS[batch]):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def raw_inputs(session, spec, batch, rng):
    """Raw feature values for a plec model, from its signature."""
    import numpy as np

    meta = session.get_modelmeta().custom_metadata_map
    signature = json.loads(meta["plec.signature"])
    feeds = {}
    lengths = {}  # a sequence group's rows have one length across its sub-features: 0-100 positions
    for inp in signature["inputs"]:
        sequence = inp.get("sequence")
        if inp["dtype"] == "int64":
            lo, hi = inp["valid_range"]
            feeds[inp["name"]] = rng.integers(lo, hi, size=batch).astype(np.int64)
        elif inp["dtype"] == "string" and sequence and sequence["element"] == "int64":
            group = (sequence["groups"] or [inp["name"]])[0]
            n = lengths.setdefault(group, rng.integers(0, 101, size=batch))
            lo, hi = inp["valid_range"]
            sep = sequence["delimiter"]
            feeds[inp["name"]] = np.array([sep.join(map(str, rng.integers(lo, hi, size=k))) for k in n], dtype=object)
        elif inp["dtype"] == "string":
            feeds[inp["name"]] = np.array(["v%d" % v for v in rng.integers(0, 1000, size=batch)], dtype=object)
        else:
            feeds[inp["name"]] = rng.uniform(0, 1000, size=batch).astype(np.float32)
    return feeds


def export_torch(model, spec, path):
    """torch.onnx.export of the PyTorch PLE (table-row inputs), legacy exporter first."""
    import numpy as np
    import torch

    example = tuple(
        torch.from_numpy(np.random.default_rng(0).integers(0, spec["tables"][f["encoding"]["Embedding"]["table"]]["rows"], size=4).astype(np.int64))
        for f in spec["features"]
    )
    names = [f["name"] for f in spec["features"]]
    outputs = [o for t in spec["towers"] for o in ("logits_" + t["name"], "probs_" + t["name"])]
    export_kwargs = dict(
        input_names=names,
        output_names=outputs,
        dynamic_axes={n: {0: "batch"} for n in names + outputs},
        opset_version=17,
    )
    try:
        torch.onnx.export(model, example, str(path), dynamo=False, **export_kwargs)
    except Exception as e:  # noqa: BLE001 - older/newer exporters differ; say which one ran
        print("legacy exporter failed (%s); using dynamo=True" % e, file=sys.stderr)
        torch.onnx.export(model, example, str(path), dynamo=True, **export_kwargs)


def torch_export_child(spec_path, weights_path, out_path):
    """The reference for `plec compile`: load the weights, build the model, export it; prints the seconds taken
    (imports excluded, as plec's process start is)."""
    import torch  # noqa: F401 - imported before the clock starts

    start = time.perf_counter()
    spec = json.loads(Path(spec_path).read_text())
    model = torch_model(spec, read_safetensors(weights_path))
    export_torch(model, spec, out_path)
    print(json.dumps({"export_s": time.perf_counter() - start}))


def print_compile(results):
    print("compile (median of %d, example config, random weights; plec: load + check + lower + write; torch: load +"
          " build + export):" % COMPILE_REPEATS)
    plec = results["compile"]["explicit"]
    for layout, c in results["compile"].items():
        print(
            "  %-17s %.2f s, peak RSS %.0f MB (weights %.0f MB, %.2fx), model %.0f MB, %d nodes; time vs plec explicit %.2fx"
            % (layout, c["median_s"], c["peak_rss_mb"], c["weights_mb"], c["peak_rss_mb"] / c["weights_mb"], c["model_mb"],
               c["nodes"], c["median_s"] / plec["median_s"])
        )


def main():
    ensure_venv()
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=str(ROOT / "examples" / "ple_taobao.config"))
    parser.add_argument("--out", default=str(ROOT / "target" / "bench-compile"))
    parser.add_argument("--compile-only", action="store_true", help="only compile time and memory, plec vs torch.onnx.export")
    parser.add_argument("--torch-export-child", nargs=3, metavar=("SPEC", "WEIGHTS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_export_child:
        torch_export_child(*args.torch_export_child)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "plec-compiler", "--example", "bench_prep"], cwd=ROOT)
    prep = ROOT / "target" / "release" / "examples" / "bench_prep"
    weights_path = out / "weights.safetensors"
    run_child([prep, "weights", args.config, weights_path, "0"])
    spec_path = out / "weights.safetensors.spec.json"
    spec = json.loads(spec_path.read_text())

    results = {"compile": {}, "throughput": {}, "threads": THREADS}
    models = {}
    for layout in ["explicit", "fused", "wide"]:
        path = out / ("plec_%s.onnx" % layout)
        times, rss = [], []
        for _ in range(COMPILE_REPEATS):
            stdout, peak = run_child([prep, "compile", args.config, weights_path, path, layout])
            times.append(json.loads(stdout)["compile_s"])
            rss.append(peak)
        info = json.loads(stdout)
        results["compile"][layout] = {
            "median_s": statistics.median(times),
            "peak_rss_mb": max(rss),
            "weights_mb": info["weights_bytes"] / 1e6,
            "nodes": info["nodes"],
            "model_mb": path.stat().st_size / 1e6,
        }
        models["plec_" + layout] = path

    # The reference compile: a fresh interpreter loads the same weights, builds the PyTorch model and exports it.
    torch_path = out / "torch_export.onnx"
    times, rss = [], []
    for _ in range(COMPILE_REPEATS):
        stdout, peak = run_child([sys.executable, __file__, "--torch-export-child", spec_path, weights_path, torch_path])
        times.append(json.loads(stdout)["export_s"])
        rss.append(peak)
    results["compile"]["torch.onnx.export"] = {
        "median_s": statistics.median(times),
        "peak_rss_mb": max(rss),
        "weights_mb": results["compile"]["explicit"]["weights_mb"],
        "nodes": len(onnx.load(str(torch_path), load_external_data=False).graph.node),
        "model_mb": torch_path.stat().st_size / 1e6,
    }
    models["torch_export"] = torch_path
    if args.compile_only:
        (out / "results.json").write_text(json.dumps(results, indent=2))
        print_compile(results)
        return

    weights = read_safetensors(weights_path)
    model = torch_model(spec, weights)
    rows_of = lambda batch, rng: tuple(
        torch.from_numpy(rng.integers(0, spec["tables"][f["encoding"]["Embedding"]["table"]]["rows"], size=batch).astype(np.int64))
        for f in spec["features"]
    )
    names = [f["name"] for f in spec["features"]]

    floor_path = out / "gemm_floor.onnx"
    flops, weight_bytes = gemm_floor_model(weights, floor_path)
    models["gemm_floor"] = floor_path
    results["dense_flops_per_row"] = flops
    results["dense_weight_bytes"] = weight_bytes

    torch.set_num_threads(THREADS)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sessions = {k: ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"]) for k, p in models.items()}
    for batch in BATCHES:
        rng = np.random.default_rng(batch)
        rows = rows_of(batch, rng)
        row_feeds = {n: r.numpy() for n, r in zip(names, rows)}
        fns = {}
        for name, sess in sessions.items():
            if name == "torch_export":
                feeds = row_feeds
            elif name == "gemm_floor":
                feeds = {i.name: rng.standard_normal((batch, i.shape[1])).astype(np.float32) for i in sess.get_inputs()}
            else:
                feeds = raw_inputs(sess, spec, batch, rng)
            if name == "gemm_floor":
                # Its outputs are every Linear's activations (~50 KB per row): keep them inside ONNX Runtime
                # instead of copying them into numpy on every call, which the real models never pay.
                binding = sess.io_binding()
                for key, value in feeds.items():
                    binding.bind_cpu_input(key, value)
                for o in sess.get_outputs():
                    binding.bind_output(o.name, "cpu")
                fns[name] = lambda sess=sess, binding=binding: sess.run_with_iobinding(binding)
            else:
                fns[name] = lambda sess=sess, feeds=feeds: sess.run(None, feeds)

        def eager():
            with torch.inference_mode():
                model(*rows)

        fns["torch_eager"] = eager
        entry = time_interleaved(fns, batch)
        results["throughput"][batch] = {k: {"median_ms": v * 1e3, "rows_per_s": batch / v} for k, v in entry.items()}

    (out / "results.json").write_text(json.dumps(results, indent=2))
    print_compile(results)
    print("median ms per batch, %d threads (rows/s):" % THREADS)
    cols = ["plec_explicit", "plec_fused", "plec_wide", "torch_export", "torch_eager", "gemm_floor"]
    print("  batch " + "".join("%22s" % c for c in cols))
    for batch, entry in results["throughput"].items():
        cells = "".join("%12.3f (%7.0f)" % (entry[c]["median_ms"], entry[c]["rows_per_s"]) for c in cols)
        print("  %5d %s" % (batch, cells))
    print("ratios (>1 = the first is faster); GEMM floor: %.2f MFLOP per row, %.1f MB of dense weights" % (flops / 1e6, weight_bytes / 1e6))
    print("  batch  explicit/torch_export  fused/torch_export  fused/explicit  fused/gemm_floor  floor GFLOP/s  floor GB/s")
    for batch, entry in results["throughput"].items():
        ms = {c: entry[c]["median_ms"] for c in cols}
        print(
            "  %5d %22.2fx %18.2fx %14.2fx %16.2fx %14.0f %11.1f"
            % (
                batch,
                ms["torch_export"] / ms["plec_explicit"],
                ms["torch_export"] / ms["plec_fused"],
                ms["plec_explicit"] / ms["plec_fused"],
                ms["gemm_floor"] / ms["plec_fused"],
                flops * batch / (ms["gemm_floor"] * 1e6),
                weight_bytes / (ms["gemm_floor"] * 1e6),
            )
        )


if __name__ == "__main__":
    main()
