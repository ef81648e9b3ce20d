"""Per task: tower units active (>5% of inputs x ~ N(0, I)) and partially active (5%..95%), by an independent numpy
forward of a PLE checkpoint."""
import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
from inspect_ple import load
relu = lambda z: np.maximum(z, 0)
def softmax(z):
    z = z - z.max(-1, keepdims=True); e = np.exp(z); return e / e.sum(-1, keepdims=True)
def lin(p, n, x): return x @ p[n + ".weight"].T + p[n + ".bias"]
T = ["task1", "task2"]
def tower_active(p, x):
    mmoe = "ple.layer2.gate_task1.weight" not in p
    xs, s = {t: x for t in T}, x
    for L, last in ([("mmoe", True)] if mmoe else [("layer1", False), ("layer2", True)]):
        ne = 0 if mmoe else 2; ns = 8 if mmoe else 4
        ex = {t: [relu(lin(p, f"ple.{L}.task_{t}.expert_{e}.fc_0", xs[t])) for e in range(ne)] for t in T}
        sh = [relu(lin(p, f"ple.{L}.shared.expert_{e}.fc_0", s)) for e in range(ns)]
        new = {}
        for t in T:
            g = softmax(lin(p, f"ple.{L}.gate_{t}", xs[t])); E = ex[t] + sh
            new[t] = sum(g[:, [i]] * E[i] for i in range(len(E)))
        if not last:
            g = softmax(lin(p, f"ple.{L}.gate_shared", s)); E = ex["task1"] + ex["task2"] + sh
            s = sum(g[:, [i]] * E[i] for i in range(len(E)))
        xs = new
    return {t: (relu(lin(p, f"tower.{t}.fc_0", xs[t])) > 0).mean(0) for t in T}
if __name__ == "__main__":
    x = np.random.default_rng(0).standard_normal((10000, 128)).astype(np.float32)
    for f in sys.argv[1:]:
        a = tower_active(load(f), x)
        print(f, " ".join(f"{t}: alive {(a[t] > .05).sum()} partial {((a[t] > .05) & (a[t] < .95)).sum()}" for t in T))
