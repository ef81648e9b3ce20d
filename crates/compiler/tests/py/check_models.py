"""Checks plec-compiled ONNX models against an independent numpy implementation of docs/semantics.md.

Usage: check_models.py MANIFEST.json

The manifest lists cases: {"name", "spec" (ModelSpec JSON), "weights" (safetensors), "models": {layout: path},
"expose_gates": bool, "seed": int}. For every model: onnx.checker.check_model(full_check=True), then ONNX Runtime on
random raw inputs with edge cases (missing ids, out-of-range ids, OOV strings, values exactly on boundaries, NaN,
+-inf, empty and long multi-value rows) against this file's own forward pass, which reads the safetensors file
itself and applies BatchNorm unfolded, in float64. Layouts of one case must agree with each other too.
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


def embed_feature(f, x, tables, table_names, weights=None):
    enc = f["encoding"]
    if "Dense" in enc:
        d = enc["Dense"]
        v = np.asarray(x, dtype=np.float64)
        v = np.where(np.isnan(v), np.float64(np.float32(d["default_value"])), v)
        return v.reshape(len(v), -1)
    e = enc["Embedding"]
    table = tables["embedding.%s.weight" % table_names[e["table"]]]
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


def forward(spec, W, inputs):
    table_names = [t["name"] for t in spec["tables"]]
    x = np.concatenate(
        [embed_feature(f, inputs[f["name"]], W, table_names, inputs.get(f["name"] + "__weight")) for f in spec["features"]],
        axis=1,
    )
    towers = spec["towers"]
    xs = [x] * len(towers)
    s = x
    gates = {}
    for L in spec["layers"]:
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
    for t, y in zip(towers, xs):
        h = y if t["mlp"] is None else mlp(W, "tower.%s" % t["name"], t["mlp"], y)
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


def make_inputs(spec, rng):
    feeds, raw = {}, {}
    for f in spec["features"]:
        enc = f["encoding"]
        name = f["name"]
        if "Dense" in enc:
            vd = enc["Dense"]["value_dim"]
            v = rng.normal(size=(BATCH, max(vd, 1))).astype(np.float32)
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
            vals = [raw_scalar(e["transform"], rng, i) for i in range(BATCH)]
            feeds[name] = np.array(vals, dtype=np_type)
            raw[name] = vals
        else:
            rows = []
            for i in range(BATCH):
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
                w = rng.uniform(-2, 2, size=(BATCH, MULTI_LEN)).astype(np.float32)
                w[rng.random(w.shape) < 0.1] = 0.0
                for i, row in enumerate(rows):
                    for j, v in enumerate(row):
                        if is_missing(v, vt):
                            w[i, j] = np.nan
                feeds[name + "__weight"] = w
                raw[name + "__weight"] = w
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
        feeds, raw = make_inputs(spec, rng)
        want, want_gates = forward(spec, W, raw)
        results = {}
        for layout, path in sorted(case["models"].items()):
            label = "%s[%s]" % (case["name"], layout)
            try:
                onnx.checker.check_model(onnx.load(path), full_check=True)
            except Exception as e:  # noqa: BLE001 - report every failure
                failures.append("%s: onnx checker: %s" % (label, e))
                continue
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            names = [o.name for o in sess.get_outputs()]
            got = dict(zip(names, sess.run(None, feeds)))
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
            checked += 1
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
                    failures.append("%s: %s %s vs %s differ by %.3g" % (case["name"], name, layouts[0], other, d))
    print("checked %d models in %d cases" % (checked, len(manifest)))
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
