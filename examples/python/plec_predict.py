"""Score rows with a plec model using plain ONNX Runtime (no plec installed).

    python plec_predict.py MODEL.onnx [INPUTS.json] [--json] [--threads N]

The model carries its feature signature as JSON in its metadata (key `plec.signature`): one input per feature
(int64 ids, strings or floats; shape [batch], [batch, len] for multi-valued ids padded with the missing value, or
[batch, N] for wide dense values; a sequence feature is one string per row, its positions joined by the
signature's delimiter) and the outputs. Raw values go in; the graph hashes, bucketizes and looks up.

INPUTS.json holds {"inputs": {NAME: {"shape": [...], "values": [...]}}} with values row-major; null stands for a
missing float (NaN). Without it, two example rows are built from the signature: typical values, then all missing.
Outputs are printed per row, or with --json as {"outputs": {NAME: {"shape": [...], "values": [...]}}} (NaN as
null; float32 values printed exactly).

Before scoring, the model's graph and external data are checked against the sha256 `plec compile` recorded in the
metadata (`check_integrity`: a few lines, no ONNX library): a damaged copy of the file stops the service at
start-up instead of scoring with a damaged embedding row that no test looks up.
"""
import argparse
import hashlib
import json
import math
import os

import numpy as np
import onnxruntime as ort

SIGNATURE_KEY = "plec.signature"
GRAPH_KEY = "plec.graph_sha256"
EXTERNAL_KEY = "plec.external_data_sha256"
EXTERNAL_NAME_KEY = "plec.external_data"
DTYPES = {"int64": np.int64, "float": np.float32, "string": object}


def graph_span(data):
    """Where the graph (ModelProto field 7) lies in a serialized model: a walk of the top-level protobuf fields."""
    def varint(pos):
        value, shift = 0, 0
        while True:
            byte = data[pos]
            value |= (byte & 0x7F) << shift
            pos, shift = pos + 1, shift + 7
            if byte < 0x80:
                return value, pos
    pos, span = 0, None
    while pos < len(data):
        tag, pos = varint(pos)
        wire = tag & 7
        if wire == 0:
            _, pos = varint(pos)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length, pos = varint(pos)
            if tag >> 3 == 7:
                span = (pos, pos + length)
            pos += length
        else:
            raise ValueError(f"wire type {wire} at byte {pos}: not an ONNX model")
    if span is None or pos != len(data):
        raise ValueError("no graph, or a truncated file: not an intact ONNX model")
    return span


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_integrity(path, metadata):
    """The check a service does once at start-up: the graph and its external data file have the sha256 that
    `plec compile` recorded (`plec.graph_sha256`, `plec.external_data_sha256`), so no damaged copy scores."""
    with open(path, "rb") as f:
        data = f.read()
    start, end = graph_span(data)
    if hashlib.sha256(data[start:end]).hexdigest() != metadata.get(GRAPH_KEY):
        raise SystemExit(f"{path}: the graph differs from `{GRAPH_KEY}`: the file is damaged; copy or compile it again")
    if EXTERNAL_KEY in metadata:
        external = os.path.join(os.path.dirname(path), metadata.get(EXTERNAL_NAME_KEY, ""))
        if sha256_file(external) != metadata[EXTERNAL_KEY]:
            raise SystemExit(f"{external}: differs from `{EXTERNAL_KEY}`: the file is damaged; copy it again")


def load(path, threads):
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    if SIGNATURE_KEY not in metadata:
        raise SystemExit(f"{path}: no `{SIGNATURE_KEY}` metadata: not a plec model")
    check_integrity(path, metadata)
    return session, json.loads(metadata[SIGNATURE_KEY])


def example_value(spec):
    """A typical raw value for one input (the first valid id, vocabulary word or boundary); for a sequence input,
    two positions of such values joined by its delimiter."""
    transform = spec.get("transform") or {}
    sequence = spec.get("sequence")
    if sequence:
        element = example_value({**spec, "dtype": sequence["element"], "sequence": None})
        return sequence["delimiter"].join([str(element)] * 2)
    if spec["dtype"] == "int64":
        return (spec.get("valid_range") or [0, 1])[0]
    if spec["dtype"] == "string":
        if "vocab_list" in transform and transform["vocab_list"]:
            return transform["vocab_list"][0]
        if "vocab_dict" in transform and transform["vocab_dict"]:
            return transform["vocab_dict"][0][0]
        return "example"
    return float((transform.get("boundaries") or [0.5])[0])


def example_inputs(signature):
    """Two rows: typical values, then every value missing."""
    inputs = {}
    for spec in signature["inputs"]:
        width = 1 if len(spec["shape"]) == 1 else (spec["shape"][1] if isinstance(spec["shape"][1], int) else 2)
        missing = math.nan if spec["dtype"] == "float" else spec["missing"]
        values = [example_value(spec)] * width + [missing] * width
        shape = [2] if len(spec["shape"]) == 1 else [2, width]
        inputs[spec["name"]] = np.array(values, dtype=DTYPES[spec["dtype"]]).reshape(shape)
    return inputs


def file_inputs(signature, path):
    with open(path, encoding="utf-8") as f:
        given = json.load(f)["inputs"]
    inputs = {}
    for spec in signature["inputs"]:
        tensor = given[spec["name"]]
        values = [math.nan if v is None else v for v in tensor["values"]]
        inputs[spec["name"]] = np.array(values, dtype=DTYPES[spec["dtype"]]).reshape(tensor["shape"])
    return inputs


def as_json(value):
    return None if math.isnan(value) else float(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("inputs", nargs="?")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    session, signature = load(args.model, args.threads)
    inputs = file_inputs(signature, args.inputs) if args.inputs else example_inputs(signature)
    names = [o["name"] for o in signature["outputs"]]
    results = session.run(names, inputs)

    if args.json:
        outputs = {
            name: {"shape": list(r.shape), "values": [as_json(v) for v in r.astype(np.float32).ravel().tolist()]}
            for name, r in zip(names, results)
        }
        print(json.dumps({"outputs": outputs}))
        return
    for row in range(results[0].shape[0]):
        print(f"row {row}: " + ", ".join(f"{n}={np.array2string(r[row], precision=6)}" for n, r in zip(names, results)))


if __name__ == "__main__":
    main()
