"""Per task: tower units active (>5% of inputs x ~ N(0, I)) and partially active (5%..95%), by an independent numpy
forward of a PLE checkpoint."""
import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
from inspect_ple import lin, load, relu, tower_inputs
T = ["task1", "task2"]
def tower_active(p, x):
    xs = tower_inputs(p, x, T)
    return {t: (relu(lin(p, f"tower.{t}.fc_0", xs[t])) > 0).mean(0) for t in T}
if __name__ == "__main__":
    x = np.random.default_rng(0).standard_normal((10000, 128)).astype(np.float32)
    for f in sys.argv[1:]:
        a = tower_active(load(f), x)
        print(f, " ".join(f"{t}: alive {(a[t] > .05).sum()} partial {((a[t] > .05) & (a[t] < .95)).sum()}" for t in T))
