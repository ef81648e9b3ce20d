"""Independent numpy PLE forward (spec sections 3-5) on eval.csv: test MSE per task, to compare with eval_result."""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inspect_ple import lin, load, mlp, tower_inputs
p = {k: v.astype(np.float64) for k, v in load(sys.argv[1]).items()}
data = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1)
x, y = data[:, :-2], {"task1": data[:, -2], "task2": data[:, -1]}
xs = tower_inputs(p, x)
for t in ["task1", "task2"]:
    pred = lin(p, f"tower.{t}.output", mlp(p, f"tower.{t}", xs[t]))[:, 0]
    print(t, "numpy test MSE", np.mean((pred - y[t]) ** 2))
