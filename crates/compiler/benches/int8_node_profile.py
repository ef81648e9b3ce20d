#!/usr/bin/env python3
"""Where int8 time goes: ONNX Runtime's node profile of several models, their sessions in one process and called
alternately (so load from other processes hits them alike), kernel time per call summed by layer block (expert
blocks by layer and depth, their ReLUs apart), feature transforms and the rest.

    python crates/compiler/benches/int8_node_profile.py --batch 256 --calls 20 NAME=MODEL.onnx [NAME=MODEL.onnx ...]

Random raw inputs from the signature (ort_throughput.raw_inputs), 2 intra-op threads, no spinning.
"""

import argparse
import collections
import json
import re
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).parent))
import ort_throughput  # noqa: E402

BLOCK = re.compile(r"ple\.(layer\d+)\.\w+\.expert_\d+\.(fc_\d+)")


def bucket(node):
    m = BLOCK.match(node)
    if m:
        return "%s.%s%s" % (m.group(1), m.group(2), ".relu" if node.endswith(".relu") else "")
    if node.startswith(("features.", "embedding.")):
        return "transforms"
    if ".fc_" in node or "gate" in node or "tower" in node:
        return "gates, towers"
    return "other"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("models", nargs="+", metavar="NAME=MODEL")
    a = p.parse_args()
    models = dict(m.split("=", 1) for m in a.models)
    sessions = {}
    for name, path in models.items():
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(path).with_suffix("")) + ".nodes"
        sessions[name] = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = ort_throughput.raw_inputs(next(iter(sessions.values())), None, a.batch, np.random.default_rng(3))
    for _ in range(3):
        for s in sessions.values():
            s.run(None, feeds)
    for _ in range(a.calls):
        for s in sessions.values():
            s.run(None, feeds)
    rows, nodes, ops = collections.defaultdict(dict), {}, {}
    for name, s in sessions.items():
        seen, by_op = set(), collections.Counter()
        for e in json.loads(Path(s.end_profiling()).read_text()):
            if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
                continue
            node = e["name"][: -len("_kernel_time")]
            seen.add(node)
            ms = e["dur"] / (a.calls + 3) / 1e3
            key = bucket(node)
            rows[key][name] = rows[key].get(name, 0.0) + ms
            by_op[e["args"].get("op_name", "")] += ms
        nodes[name], ops[name] = len(seen), by_op
    total = {n: sum(r.get(n, 0.0) for r in rows.values()) for n in models}
    print("batch %d, kernel ms per call (%d calls each, alternating)" % (a.batch, a.calls))
    print("  %-18s" % "" + "".join("%14s" % n for n in models))
    print("  %-18s" % "total" + "".join("%14.2f" % total[n] for n in models))
    print("  %-18s" % "nodes run" + "".join("%14d" % nodes[n] for n in models))
    for key in sorted(rows):
        print("  %-18s" % key + "".join("%14.2f" % rows[key].get(n, 0.0) for n in models))
    for n in models:
        print("  %s by op: %s" % (n, ", ".join("%s %.2f" % kv for kv in ops[n].most_common(6))))


if __name__ == "__main__":
    main()
