"""Checks plec-compiled ONNX models against an independent numpy implementation of docs/semantics.md.

Usage: check_models.py MANIFEST.json

The manifest lists cases: {"name", "spec" (ModelSpec JSON), "weights" (safetensors), "models": {layout: path},
"expose_gates": bool, "seed": int}. For every model: onnx.checker.check_model(full_check=True), then ONNX Runtime on
random raw inputs with edge cases (missing ids, out-of-range ids, OOV strings, values exactly on boundaries, NaN,
+-inf, empty and long multi-value rows) against this file's own forward pass, which reads the safetensors file
itself and applies BatchNorm unfolded, in float64. Layouts of one case must agree with each other too.
Specs with sequence groups (section 2b) are also run on a batch whose sequences are all empty and on a one-row
batch; their sequence inputs are the raw `delimiter`-joined text, with empty cells, empty positions (`1||3`),
over-long rows, unknown keys and out-of-range ids.
Exits non-zero, listing every failure.
"""

import json
import math
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort

# Tolerances, in one place. Reference is float64; the model float32.
PROB_ATOL = 2e-5
VALUE_ATOL = 1e-4
VALUE_RTOL = 1e-4
LAYOUT_PROB_ATOL = 1e-6  # explicit vs fused, probabilities
LAYOUT_VALUE_ATOL = 1e-5  # explicit vs fused, logits / regression values
NORM_EPS = 1e-5
BATCH = 96
MULTI_LEN = 12
MASKED_SCORE = -2147483647.0  # tzrec's -(2^31) + 1; here only documentation: masked positions are left out


# ---------------------------------------------------------------- safetensors (own reader, not the Rust code)
def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b : 8 + n + e], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


# ---------------------------------------------------------------- murmur3_x86_32 (Appleby's reference, seed 0)
def murmur3_32(data: bytes, seed=0) -> int:
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF
    nblocks = len(data) // 4
    for i in range(nblocks):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = rotl(k, 15)
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = rotl(h, 13)
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[4 * nblocks :]
    k = 0
    for i, b in enumerate(tail):
        k |= b << (8 * i)
    if tail:
        k = (k * c1) & 0xFFFFFFFF
        k = rotl(k, 15)
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


assert murmur3_32(b"hello") == 0x248BFA47
assert murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723


# ---------------------------------------------------------------- section 2: raw value -> row
def transform_kind(t):
    ((kind, arg),) = t.items()
    return kind, arg


def value_type(transform):
    kind, _ = transform_kind(transform)
    return {"num_buckets": "int", "hash_bucket": "str", "vocab_list": "str", "vocab_dict": "str", "boundaries": "float"}[kind]


def is_missing(v, vt):
    if vt == "int":
        return v == -1
    if vt == "str":
        return v == ""
    return math.isnan(v)


def parse_default(text, vt):
    if vt == "int":
        return int(text.strip())
    if vt == "float":
        return float(np.float32(float(text.strip())))
    return text


def lookup(transform, v):
    """Row of a present value, or None (zero vector)."""
    kind, arg = transform_kind(transform)
    if kind == "num_buckets":
        return int(v) if 0 <= v < arg else None
    if kind == "hash_bucket":
        return murmur3_32(v.encode("utf-8")) % arg
    if kind == "vocab_list":
        return arg.index(v) + 2 if v in arg else 1
    if kind == "vocab_dict":
        return dict((k, r) for k, r in arg).get(v)
    if kind == "boundaries":
        b = np.asarray(arg, dtype=np.float32)
        return int(np.searchsorted(b, np.float32(v), side="right"))
    raise ValueError(kind)


def table_param(t):
    """Parameter name of a spec table: bag tables `embedding.`, sequence tables `sequence_embedding.`."""
    prefix = "sequence_embedding" if t.get("collection") == "sequence" else "embedding"
    return "%s.%s.weight" % (prefix, t["name"])


def embed_feature(f, x, tables, table_names, weights=None):
    enc = f["encoding"]
    if "Dense" in enc:
        d = enc["Dense"]
        v = np.asarray(x, dtype=np.float64)
        v = np.where(np.isnan(v), np.float64(np.float32(d["default_value"])), v)
        return v.reshape(len(v), -1)
    e = enc["Embedding"]
    table = tables[table_names[e["table"]]]
    transform = e["transform"]
    vt = value_type(transform)
    default = None if e["default_value"] is None else parse_default(e["default_value"], vt)
    out = np.zeros((len(x), table.shape[1]))
    kind, _ = transform_kind(transform)
    for i, value in enumerate(x):
        if e["multi"] is None:
            if is_missing(value, vt):
                if default is not None:
                    value = default
                elif kind == "vocab_list":
                    out[i] = table[0]
                    continue
                else:
                    continue
            r = lookup(transform, value)
            if r is not None:
                out[i] = table[r]
        elif e["multi"].get("weighted"):
            # Weighted sum over present ids with a row (validation allows sum only; NaN weights are pads).
            for v, w in zip(value, weights[i]):
                r = None if is_missing(v, vt) else lookup(transform, v)
                if r is not None and not np.isnan(w):
                    out[i] += np.float64(w) * table[r]
        else:
            present = [v for v in value if not is_missing(v, vt)]
            rows = [r for r in (lookup(transform, v) for v in present) if r is not None]
            if not present:
                # No value at all is a missing value: the default's row, or vocab_list's row 0.
                if default is not None:
                    r = lookup(transform, default)
                    rows = [] if r is None else [r]
                elif kind == "vocab_list":
                    rows = [0]
            if not rows:
                continue
            s = table[rows].sum(axis=0)
            out[i] = s / len(rows) if e["multi"]["pooling"] == "mean" else s
    return out


# ---------------------------------------------------------------- sections 3-5
def activation(a, h):
    if a == "identity":
        return h
    if a == "relu":
        return np.maximum(h, 0)
    if a == "sigmoid":
        return 1 / (1 + np.exp(-h))
    if a == "tanh":
        return np.tanh(h)
    if a == "gelu":
        return 0.5 * h * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
    if a == "silu":
        return h / (1 + np.exp(-h))
    ((kind, arg),) = a.items()
    if kind == "leaky_relu":
        return np.where(h >= 0, h, h * arg["negative_slope"])
    if kind == "elu":
        return np.where(h > 0, h, arg["alpha"] * (np.exp(h) - 1))
    raise ValueError(a)


def mlp(W, module, spec_mlp, x):
    for j, layer in enumerate(spec_mlp["layers"]):
        p = "%s.fc_%d" % (module, j)
        h = x @ W[p + ".weight"].T
        if layer["bias"]:
            h = h + W[p + ".bias"]
        if layer["norm"] == "batch":
            h = (h - W[p + ".bn.running_mean"]) / np.sqrt(W[p + ".bn.running_var"] + NORM_EPS)
            h = h * W[p + ".bn.weight"] + W[p + ".bn.bias"]
        elif layer["norm"] == "layer":
            mu = h.mean(axis=-1, keepdims=True)
            var = ((h - mu) ** 2).mean(axis=-1, keepdims=True)
            h = (h - mu) / np.sqrt(var + NORM_EPS) * W[p + ".ln.weight"] + W[p + ".ln.bias"]
        x = activation(layer["activation"], h)
    return x


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def gate(W, name, x, experts, gates):
    g = softmax(x @ W[name + ".weight"].T + W[name + ".bias"])
    gates[name + ".softmax"] = g
    return np.einsum("be,ebu->bu", g, np.stack(experts))


# ---------------------------------------------------------------- section 2b: sequences and encoders
def split_positions(text, delimiter, max_length):
    """The kept positions of one cell: "" is no position; "1||3" three, the middle one empty."""
    positions = [] if text == "" else text.split(delimiter)
    return positions[:max_length] if max_length > 0 else positions


def position_vector(sf, text, W, table_names):
    enc = sf["encoding"]
    if "Dense" in enc:
        v = np.float64(np.float32(enc["Dense"]["default_value"])) if text == "" else np.float64(np.float32(float(text)))
        return np.array([v])
    e = enc["Embedding"]
    table = W[table_names[e["table"]]]
    kind, _ = transform_kind(e["transform"])
    if text == "":
        return table[0].copy() if kind == "vocab_list" else np.zeros(table.shape[1])
    if kind == "num_buckets":
        value = int(text)
    elif kind == "boundaries":
        value = float(np.float32(float(text)))
    else:
        value = text
    r = lookup(e["transform"], value)
    return np.zeros(table.shape[1]) if r is None else table[r].copy()


def sequence_group(group, W, table_names, inputs, batch):
    """Per row: the query vector (or None) and the list of position vectors (n of them)."""
    query = None
    if group["query"]:
        query = np.concatenate([embed_feature(f, inputs[f["name"]], W, table_names) for f in group["query"]], axis=1)
    rows = []
    for i in range(batch):
        per_feature = []
        for sf in group["sequence"]:
            texts = split_positions(inputs[sf["name"]][i], sf["delimiter"], sf["max_length"])
            per_feature.append([position_vector(sf, t, W, table_names) for t in texts])
        n = len(per_feature[0])  # the first feature's length
        rows.append([np.concatenate([pf[t] for pf in per_feature]) for t in range(n)])
    return query, rows


def attend(scores, positions, width):
    if not positions:
        return np.zeros(width)
    w = softmax(np.asarray(scores))
    return (w[:, None] * np.stack(positions)).sum(axis=0)


def encode(spec, W, i, encoder, query, rows):
    group = spec["sequence_groups"][encoder["input"]]
    width = group["sequence_width"]
    out = np.zeros((len(rows), width))
    kind = encoder["kind"]
    msl = encoder["max_seq_length"]
    module = "seq_encoder.%s.%d" % (spec["group_name"], i)
    for b, positions in enumerate(rows):
        positions = positions[:msl] if msl > 0 else positions
        if kind == "simple_attention":
            out[b] = attend([p @ query[b] for p in positions], positions, width)
        elif "pooling" in kind:
            total = np.sum(positions, axis=0) if positions else np.zeros(width)
            out[b] = total / max(len(positions), 1) if kind["pooling"]["pooling"] == "mean" else total
        else:
            q = np.concatenate([query[b], np.zeros(width - len(query[b]))])
            scores = []
            for p in positions:
                h = mlp(W, module, kind["din"]["mlp"], np.concatenate([q, p, q - p, q * p])[None, :])
                scores.append((h @ W[module + ".output.weight"].T + W[module + ".output.bias"])[0, 0])
            out[b] = attend(scores, positions, width)
    return out


def forward(spec, W, inputs):
    table_names = [table_param(t) for t in spec["tables"]]
    parts = [embed_feature(f, inputs[f["name"]], W, table_names, inputs.get(f["name"] + "__weight")) for f in spec["features"]]
    batch = len(parts[0])
    groups = [sequence_group(g, W, table_names, inputs, batch) for g in spec.get("sequence_groups", [])]
    for i, encoder in enumerate(spec.get("encoders", [])):
        query, rows = groups[encoder["input"]]
        parts.append(encode(spec, W, i, encoder, query, rows))
    x = np.concatenate(parts, axis=1)
    towers = spec["towers"]
    # DBMTL (tzrec/models/dbmtl.py): net = bottom_mlp(net) before the MMoE.
    if spec.get("bottom_mlp") is not None:
        x = mlp(W, "bottom_mlp", spec["bottom_mlp"], x)
    xs = [x] * len(towers)
    s = x
    gates = {}
    for L in spec["layers"]:
        if L.get("module") == "mmoe":
            # tzrec/modules/mmoe.py: experts stacked on dim 1, gate = softmax(gate_finals[i](gate_mlps[i](x) or x)).
            experts = [mlp(W, "mmoe.expert_%d" % e, L["shared_expert"], s) for e in range(L["shared_experts"])]
            ys = []
            for i, t in enumerate(towers):
                name = "mmoe.gate_%s" % t["name"]
                h = xs[i] if L.get("gate_mlp") is None else mlp(W, name, L["gate_mlp"], xs[i])
                ys.append(gate(W, name, h, experts, gates))
            xs = ys
            continue
        ln = L["name"]
        task = [
            [mlp(W, "ple.%s.task_%s.expert_%d" % (ln, t["name"], e), L["task_expert"], xs[i]) for e in range(L["experts_per_task"])]
            for i, t in enumerate(towers)
        ]
        shared = [mlp(W, "ple.%s.shared.expert_%d" % (ln, e), L["shared_expert"], s) for e in range(L["shared_experts"])]
        ys = [gate(W, "ple.%s.gate_%s" % (ln, t["name"]), xs[i], task[i] + shared, gates) for i, t in enumerate(towers)]
        if L["has_shared_gate"]:
            s = gate(W, "ple.%s.gate_shared" % ln, s, [e for es in task for e in es] + shared, gates)
        xs = ys
    outs = {}
    relation_net = []
    for t, y in zip(towers, xs):
        h = y if t["mlp"] is None else mlp(W, "tower.%s" % t["name"], t["mlp"], y)
        rel = t.get("relation")
        if rel is not None:
            # DBMTL: cat([task_net[t]] + [relation_net[r] for r in relation_tower_names], dim=1) -> relation_mlp.
            h = mlp(W, "tower.%s.relation" % t["name"], rel["mlp"], np.concatenate([h] + [relation_net[r] for r in rel["towers"]], axis=1))
        relation_net.append(h)
        z = h @ W["tower.%s.output.weight" % t["name"]].T + W["tower.%s.output.bias" % t["name"]]
        for o in t["outputs"]:
            kind = o["kind"]
            if kind == "logits":
                outs[o["name"]] = z[:, 0] if t["num_class"] == 1 else z
            elif kind == "probs":
                outs[o["name"]] = 1 / (1 + np.exp(-z[:, 0])) if t["num_class"] == 1 else softmax(z)
            elif kind == "probs1":
                outs[o["name"]] = softmax(z)[:, 1]
            elif kind == "regression":
                outs[o["name"]] = z[:, 0]
    return outs, gates


# ---------------------------------------------------------------- raw inputs with edge cases
def string_pool(transform, rng):
    kind, arg = transform_kind(transform)
    words = ["", "", "zzz-oov", "日本", "123", "-7", " padded ", "hello"]
    if kind == "vocab_list":
        words += list(arg) * 3
    elif kind == "vocab_dict":
        words += [k for k, _ in arg] * 3
    else:
        words += ["w%d" % rng.integers(0, 1000) for _ in range(20)]
    return words


def raw_scalar(transform, rng, i):
    """The i-th value of a column: the first rows are edge cases, the rest random."""
    kind, arg = transform_kind(transform)
    if kind == "num_buckets":
        edge = [-1, arg, arg + 100, -5, 0, arg - 1]
        return edge[i] if i < len(edge) else int(rng.integers(-1, arg + 2))
    if kind == "boundaries":
        b = [float(np.float32(v)) for v in arg]
        edge = b + [float("nan"), float("inf"), float("-inf"), b[0] - 1, b[-1] + 1, float(np.nextafter(np.float32(b[0]), np.float32(-1e9)))]
        if i < len(edge):
            return edge[i]
        if rng.random() < 0.15:
            return float("nan")
        return float(np.float32(rng.uniform(b[0] - 2, b[-1] + 2)))
    pool = string_pool(transform, rng)
    return pool[i] if i < len(pool) else pool[int(rng.integers(0, len(pool)))]


def position_text(sf, rng):
    """One random position's text (may be "", an unknown key, an id out of range); never holds the delimiter."""
    enc = sf["encoding"]
    if rng.random() < 0.1:
        return ""
    if "Dense" in enc:
        return repr(float(np.float32(rng.normal())))
    transform = enc["Embedding"]["transform"]
    kind, arg = transform_kind(transform)
    if kind == "num_buckets":
        return str(int(rng.integers(-1, arg + 3)))
    if kind == "boundaries":
        b = [float(np.float32(v)) for v in arg]
        return repr(b[int(rng.integers(0, len(b)))] if rng.random() < 0.2 else float(np.float32(rng.uniform(b[0] - 2, b[-1] + 2))))
    pool = [w for w in string_pool(transform, rng) if sf["delimiter"] not in w]
    return pool[int(rng.integers(0, len(pool)))]


def sequence_counts(group, rng, batch, mode):
    """Positions per row: edge cases first (empty, over-long, `a||b`, one position), then random."""
    max_length = group["sequence"][0]["max_length"] or 10
    if mode == "empty":
        return [0] * batch
    if mode == "one":
        return [1] * batch
    edge = [0, max_length + 3, 3, 1, 2]
    return [edge[i] if i < len(edge) else int(rng.integers(0, max_length + 3)) for i in range(batch)]


def make_sequence_inputs(spec, rng, batch, mode, feeds, raw):
    for group in spec.get("sequence_groups", []):
        counts = sequence_counts(group, rng, batch, mode)
        for sf in group["sequence"]:
            if sf["name"] in feeds:
                continue  # a sequence two groups share: one input
            cells = []
            for i, n in enumerate(counts):
                texts = [position_text(sf, rng) for _ in range(n)]
                if mode == "random" and i == 2:
                    texts[1] = ""  # "a||b"
                if mode == "random" and i == 4:
                    texts = ["", ""]  # "|": two empty positions
                while len(texts) == 1 and texts[0] == "":
                    texts[0] = position_text(sf, rng)  # one empty position would read as an empty sequence
                cells.append(sf["delimiter"].join(texts))
            feeds[sf["name"]] = np.array(cells, dtype=object)
            raw[sf["name"]] = cells


def make_inputs(spec, rng, batch=BATCH, mode="random"):
    """Raw inputs of every graph input; `mode` ("random", "empty", "one") shapes the sequences."""
    feeds, raw = {}, {}
    query = [f for g in spec.get("sequence_groups", []) for f in g["query"]]
    seen = set()
    for f in spec["features"] + query:
        if f["name"] in seen:
            continue
        seen.add(f["name"])
        enc = f["encoding"]
        name = f["name"]
        if "Dense" in enc:
            vd = enc["Dense"]["value_dim"]
            v = rng.normal(size=(batch, max(vd, 1))).astype(np.float32)
            v[rng.random(v.shape) < 0.2] = np.nan
            v[0, :] = np.nan
            raw[name] = v if vd > 1 else v[:, 0]
            feeds[name] = raw[name]
            continue
        e = enc["Embedding"]
        vt = value_type(e["transform"])
        np_type = {"int": np.int64, "str": object, "float": np.float32}[vt]
        pad = {"int": -1, "str": "", "float": float("nan")}[vt]
        if e["multi"] is None:
            vals = [raw_scalar(e["transform"], rng, i) for i in range(batch)]
            feeds[name] = np.array(vals, dtype=np_type)
            raw[name] = vals
        else:
            rows = []
            for i in range(batch):
                if i == 0:
                    n = 0  # empty row
                elif i == 1:
                    n = MULTI_LEN  # long, full row
                else:
                    n = int(rng.integers(0, MULTI_LEN + 1))
                vals = [raw_scalar(e["transform"], rng, int(rng.integers(0, 4 * BATCH))) for _ in range(n)]
                rows.append(vals + [pad] * (MULTI_LEN - n))
            feeds[name] = np.array(rows, dtype=np_type)
            raw[name] = rows
            if e["multi"].get("weighted"):
                # Weights in [-2, 2) with some exact zeros; NaN at the pads, as the runtime pads them.
                w = rng.uniform(-2, 2, size=(batch, MULTI_LEN)).astype(np.float32)
                w[rng.random(w.shape) < 0.1] = 0.0
                for i, row in enumerate(rows):
                    for j, v in enumerate(row):
                        if is_missing(v, vt):
                            w[i, j] = np.nan
                feeds[name + "__weight"] = w
                raw[name + "__weight"] = w
    make_sequence_inputs(spec, rng, batch, mode, feeds, raw)
    return feeds, raw


# ---------------------------------------------------------------- checks
def main():
    manifest = json.load(open(sys.argv[1]))
    failures = []
    checked = 0
    for case in manifest:
        spec = json.load(open(case["spec"]))
        W = read_safetensors(case["weights"])
        rng = np.random.default_rng(case.get("seed", 0))
        batches = [("", make_inputs(spec, rng))]
        if spec.get("sequence_groups"):
            batches.append((" (every sequence empty)", make_inputs(spec, rng, BATCH, "empty")))
            batches.append((" (one row, one position)", make_inputs(spec, rng, 1, "one")))
        sessions = {}
        for layout, path in sorted(case["models"].items()):
            try:
                onnx.checker.check_model(onnx.load(path), full_check=True)
            except Exception as e:  # noqa: BLE001 - report every failure
                failures.append("%s[%s]: onnx checker: %s" % (case["name"], layout, e))
                continue
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            sessions[layout] = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            checked += 1
        for what, (feeds, raw) in batches:
            failures.extend(check_batch(case, spec, W, sessions, feeds, raw, what))
    print("checked %d models in %d cases" % (checked, len(manifest)))
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


def check_batch(case, spec, W, sessions, feeds, raw, what):
    """Every layout's outputs on one batch against numpy and against each other; returns the failures."""
    failures = []
    want, want_gates = forward(spec, W, raw)
    results = {}
    for layout, sess in sorted(sessions.items()):
        label = "%s[%s]%s" % (case["name"], layout, what)
        try:
            outputs = sess.run(None, feeds)
        except Exception as e:  # noqa: BLE001 - report every failure
            failures.append("%s: onnxruntime: %s" % (label, e))
            continue
        names = [o.name for o in sess.get_outputs()]
        got = dict(zip(names, outputs))
        results[layout] = got
        expected_names = list(want) + (sorted(want_gates) if case.get("expose_gates") else [])
        if sorted(names) != sorted(expected_names):
            failures.append("%s: outputs %s, expected %s" % (label, names, expected_names))
        for name, ref in list(want.items()) + (list(want_gates.items()) if case.get("expose_gates") else []):
            if name not in got:
                continue
            out = got[name]
            if out.shape != ref.shape:
                failures.append("%s: %s has shape %s, expected %s" % (label, name, out.shape, ref.shape))
                continue
            is_prob = name.startswith("probs") or name.endswith(".softmax")
            if is_prob:
                ok = np.allclose(out, ref, atol=PROB_ATOL, rtol=0)
            else:
                ok = np.allclose(out, ref, atol=VALUE_ATOL, rtol=VALUE_RTOL)
            if not ok or not np.all(np.isfinite(out)):
                diff = np.abs(out - ref)
                row = int(np.unravel_index(np.nanargmax(diff), diff.shape)[0])
                failures.append(
                    "%s: %s differs from numpy by %.3g (row %d: got %s, want %s)"
                    % (label, name, np.nanmax(diff), row, out[row], ref[row])
                )
    layouts = sorted(results)
    for other in layouts[1:]:
        a, b = results[layouts[0]], results[other]
        for name in a:
            if name not in b:
                continue
            is_prob = name.startswith("probs") or name.endswith(".softmax")
            tol = LAYOUT_PROB_ATOL if is_prob else LAYOUT_VALUE_ATOL
            d = float(np.max(np.abs(a[name] - b[name]))) if a[name].size else 0.0
            if d > tol:
                failures.append("%s%s: %s %s vs %s differ by %.3g" % (case["name"], what, name, layouts[0], other, d))
    return failures


if __name__ == "__main__":
    main()
