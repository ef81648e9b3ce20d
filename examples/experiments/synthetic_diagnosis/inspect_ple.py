"""Independent numpy forward of a PLE checkpoint (spec section 3-5) on x ~ N(0, I): gate weights, dead ReLUs."""
import json, struct, sys
import numpy as np

def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        assert v["dtype"] == "F32"
        out[k] = np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"])
    return out

relu = lambda z: np.maximum(z, 0)
def softmax(z):
    z = z - z.max(-1, keepdims=True); e = np.exp(z); return e / e.sum(-1, keepdims=True)
def lin(p, name, x):
    return x @ p[name + ".weight"].T + p[name + ".bias"]

def mlp(p, prefix, h):
    """The ReLU layers fc_0, fc_1, ... under prefix."""
    j = 0
    while f"{prefix}.fc_{j}.weight" in p:
        h = relu(lin(p, f"{prefix}.fc_{j}", h)); j += 1
    return h

def tower_inputs(p, x, tasks=("task1", "task2")):
    """Each task's tower input: the extraction layers (MMoE: one layer of shared experts only), gates over
    [own..., shared...], the shared gate over [every task's..., shared...] where a layer has one."""
    def experts(L, owner):
        return len({k for k in p if k.startswith(f"ple.{L}.{owner}.expert_") and k.endswith(".fc_0.weight")})
    xs, s = {t: x for t in tasks}, x
    for L in sorted({k.split(".")[1] for k in p if k.startswith("ple.")}):
        ex = {t: [mlp(p, f"ple.{L}.task_{t}.expert_{e}", xs[t]) for e in range(experts(L, "task_" + t))] for t in tasks}
        sh = [mlp(p, f"ple.{L}.shared.expert_{e}", s) for e in range(experts(L, "shared"))]
        new = {}
        for t in tasks:
            g = softmax(lin(p, f"ple.{L}.gate_{t}", xs[t])); E = ex[t] + sh
            new[t] = sum(g[:, [i]] * E[i] for i in range(len(E)))
        if f"ple.{L}.gate_shared.weight" in p:
            g = softmax(lin(p, f"ple.{L}.gate_shared", s)); E = [e for t in tasks for e in ex[t]] + sh
            s = sum(g[:, [i]] * E[i] for i in range(len(E)))
        xs = new
    return xs

if __name__ == '__main__':
    p = load(sys.argv[1])
    towers = ["task1", "task2"]
    layers = sorted({k.split(".")[1] for k in p if k.startswith("ple.")})
    rng = np.random.default_rng(0)
    d = p["ple.%s.gate_task1.weight" % layers[0]].shape[1]
    x = rng.standard_normal((20000, d)).astype(np.float32)
    xs = {t: x for t in towers}; s = x
    for li, L in enumerate(layers):
        ne = len({k.split(".")[3] for k in p if k.startswith(f"ple.{L}.task_task1.expert_")})
        ns = len({k.split(".")[3] for k in p if k.startswith(f"ple.{L}.shared.expert_")}) if any(k.startswith(f"ple.{L}.shared") for k in p) else 0
        outs = {}
        def expert(prefix, inp):
            h = relu(lin(p, prefix + ".fc_0", inp))
            return h
        for t in towers:
            outs[t] = [expert(f"ple.{L}.task_{t}.expert_{e}", xs[t]) for e in range(ne)]
        sh = [expert(f"ple.{L}.shared.expert_{e}", s) for e in range(ns)]
        new = {}
        for t in towers:
            g = softmax(lin(p, f"ple.{L}.gate_{t}", xs[t]))
            ex = outs[t] + sh
            new[t] = sum(g[:, i:i+1] * ex[i] for i in range(len(ex)))
            print(f"{L} gate_{t}: mean weights", np.round(g.mean(0), 3))
            dead = [int((e.max(0) <= 0).sum()) for e in ex]
            active = [round(float((e > 0).mean()), 2) for e in ex]
            print(f"   experts read by {t}: dead units per expert {dead}; active fraction {active}")
            print(f"   output {t}: dead dims {(new[t].max(0) <= 0).sum()} / {new[t].shape[1]}, std per dim {np.round(new[t].std(0), 2)}")
        if f"ple.{L}.gate_shared.weight" in p:
            g = softmax(lin(p, f"ple.{L}.gate_shared", s))
            print(f"{L} gate_shared: mean weights", np.round(g.mean(0), 3))
            ex = outs["task1"] + outs["task2"] + sh
            s = sum(g[:, i:i+1] * ex[i] for i in range(len(ex)))
        xs = new
    for t in towers:
        h = relu(lin(p, f"tower.{t}.fc_0", xs[t]))
        print(f"tower {t}: dead units {(h.max(0) <= 0).sum()}/{h.shape[1]}, active frac {np.round((h > 0).mean(0), 2)}")
        print(f"   head weight {np.round(p[f'tower.{t}.output.weight'], 2)} bias {p[f'tower.{t}.output.bias']}")
        y = lin(p, f"tower.{t}.output", h)
        print(f"   prediction std {y.std():.3f}")
