"""Independent numpy PLE forward (spec sections 3-5) on eval.csv: test MSE per task, to compare with eval_result."""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inspect_ple import load
relu = lambda z: np.maximum(z, 0)
def softmax(z):
    z = z - z.max(-1, keepdims=True); e = np.exp(z); return e / e.sum(-1, keepdims=True)
def lin(p, n, x): return x @ p[n + ".weight"].T.astype(np.float64) + p[n + ".bias"]
p = {k: v.astype(np.float64) for k, v in load(sys.argv[1]).items()}
data = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1)
x, y = data[:, :-2], {"task1": data[:, -2], "task2": data[:, -1]}
T = ["task1", "task2"]
def mlp(prefix, h):
    j = 0
    while f"{prefix}.fc_{j}.weight" in p:
        h = relu(lin(p, f"{prefix}.fc_{j}", h)); j += 1
    return h
xs, s = {t: x for t in T}, x
for L, last in [("layer1", False), ("layer2", True)]:
    ex = {t: [mlp(f"ple.{L}.task_{t}.expert_{e}", xs[t]) for e in range(2)] for t in T}
    sh = [mlp(f"ple.{L}.shared.expert_{e}", s) for e in range(4)]
    new = {}
    for t in T:
        g = softmax(lin(p, f"ple.{L}.gate_{t}", xs[t])); E = ex[t] + sh
        new[t] = sum(g[:, [i]] * E[i] for i in range(len(E)))
    if not last:
        g = softmax(lin(p, f"ple.{L}.gate_shared", s)); E = ex["task1"] + ex["task2"] + sh
        s = sum(g[:, [i]] * E[i] for i in range(len(E)))
    xs = new
for t in T:
    pred = lin(p, f"tower.{t}.output", mlp(f"tower.{t}", xs[t]))[:, 0]
    print(t, "numpy test MSE", np.mean((pred - y[t]) ** 2))
