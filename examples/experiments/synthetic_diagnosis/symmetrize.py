"""Writes a PLE checkpoint whose task2 parameters equal task1's (and the layer-1 shared gate's task2 rows equal its
task1 rows), so the model is symmetric under swapping the tasks; and a CSV whose y2 equals y1."""
import json, struct, sys, os
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inspect_ple import load

def save(path, tensors):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        b = np.ascontiguousarray(tensors[k], dtype=np.float32).tobytes()
        header[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))

src, dst = sys.argv[1], sys.argv[2]
p = {k: v.copy() for k, v in load(src).items()}
for k in list(p):
    if "task2" in k:
        p[k] = p[k.replace("task2", "task1")].copy()
w, b = p["ple.layer1.gate_shared.weight"], p["ple.layer1.gate_shared.bias"]
w[2:4] = w[0:2]; b[2:4] = b[0:2]
os.makedirs(dst, exist_ok=True)
save(os.path.join(dst, "model.safetensors"), p)
if len(sys.argv) > 3:
    data = np.loadtxt(sys.argv[3], delimiter=",", skiprows=1)
    data[:, -1] = data[:, -2]
    hdr = open(sys.argv[3]).readline().strip()
    np.savetxt(sys.argv[4], data, delimiter=",", header=hdr, comments="", fmt="%.9g")
