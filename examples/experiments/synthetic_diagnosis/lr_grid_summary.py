"""Validation MSE of the lr grid: per model and lr, mean over correlations, seeds and the model's tasks."""
import glob, json, collections, statistics as st
vals = collections.defaultdict(list)      # (model, lr) -> [mse]
per = collections.defaultdict(list)       # (model, lr, corr, task) -> [mse]
for f in sorted(glob.glob("runs/lr-*/corr-*/*/seed-*/val.txt")):
    parts = f.split("/")
    lr, c, m = parts[1][3:], parts[2][5:], parts[3]
    lines = open(f).read().splitlines()
    if not lines: continue
    d = json.loads(lines[-1])
    for k, v in d.items():
        if k.startswith("mean_squared_error_"):
            t = k.rsplit("_", 1)[1]
            vals[(m, lr)].append(v); per[(m, lr, c, t)].append(v)
models = ["single_task1", "single_task2", "mmoe", "ple"]
lrs = sorted({k[1] for k in vals}, key=float)
print("mean validation MSE (n runs x tasks)")
for m in models:
    print(f"{m:13s}", "  ".join(f"lr {lr}: {st.mean(vals[(m, lr)]):.5f} (n={len(vals[(m, lr)])})" for lr in lrs if vals[(m, lr)]))
print()
for m in models:
    for lr in lrs:
        row = []
        for c in ["0", "0.5", "0.9", "1"]:
            for t in ["task1", "task2"]:
                v = per.get((m, lr, c, t))
                if v: row.append(f"P{c} {t} " + "/".join(f"{x:.4f}" for x in v))
        if row: print(m, lr, " | ".join(row))
