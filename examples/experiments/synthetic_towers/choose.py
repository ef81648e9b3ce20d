#!/usr/bin/env python3
"""Applies the tower-remedy protocol's rule (../synthetic_towers_protocol.md) to validation results.

usage: choose.py NAME=OUT_DIR ... > ../synthetic_towers_validation.md

Each OUT_DIR holds a results.md written by `plec experiment synthetic --split validation`. For each candidate,
every family's mean validation MSE over tasks, seeds and correlations (single-task: each task's single-task model
on its own task); the candidate with the lowest mean of the three family means is chosen. Standard library only.
"""
import re
import statistics
import sys

FAMILIES = [("single-task", ("single_task1", "single_task2")), ("MMoE", ("mmoe",)), ("PLE", ("ple",))]
# A run this far above the noise floor (0.01) is counted as failed (a dead or half-dead tower): the converged runs
# of the earlier sweeps are all below 0.0195 (EXPERIMENTS.md section 2).
FAILED_ABOVE = 0.025


def runs(path):
    """(correlation, run, seed) -> {metric: value} from the `## Runs` tables."""
    text = open(path).read()
    if "validation MSE" not in text.splitlines()[0]:
        sys.exit(f"{path}: not scored on the validation split")
    out, correlation, header = {}, None, None
    for line in text[text.index("## Runs"):].splitlines():
        m = re.match(r"### correlation (\S+)", line)
        if m:
            correlation, header = m.group(1), None
        elif line.startswith("| run |"):
            header = [c.strip() for c in line.strip("|").split("|")]
        elif line.startswith("| ") and header and not line.startswith("| ---"):
            cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
            out[(correlation, cells["run"], cells["seed"])] = {
                k: float(v) for k, v in cells.items() if k.startswith("mean_squared_error") and v != "—"
            }
    return out


def family_values(table, arms):
    return [v for (_, run, _), metrics in sorted(table.items()) if run in arms for v in metrics.values()]


def main():
    candidates = [arg.split("=", 1) for arg in sys.argv[1:]]
    rows = []
    for name, folder in candidates:
        table = runs(f"{folder}/results.md")
        seeds = sorted({s for (_, _, s) in table})
        values = {family: family_values(table, arms) for family, arms in FAMILIES}
        means = {family: statistics.fmean(v) for family, v in values.items()}
        failed = {family: f"{sum(x > FAILED_ABOVE for x in v)}/{len(v)}" for family, v in values.items()}
        rows.append((name, seeds, means, failed, statistics.fmean(means.values()), len(table)))
    print("# Synthetic sweep, tower remedies: validation MSE per candidate\n")
    print("Protocol and rule: [`synthetic_towers_protocol.md`](synthetic_towers_protocol.md). Each cell: the "
          "family's mean validation MSE over both tasks, seeds and the four correlations; in brackets the task "
          f"scores above {FAILED_ABOVE} (failed runs) out of all. Written by `synthetic_towers/choose.py`.\n")
    print("| candidate | runs | " + " | ".join(f for f, _ in FAMILIES) + " | mean of the three |")
    print("| --- | --- |" + " --- |" * (len(FAMILIES) + 1))
    for name, seeds, means, failed, overall, n in rows:
        cells = [f"{means[f]:.5f} ({failed[f]})" for f, _ in FAMILIES]
        print(f"| {name} | {n} (seeds {', '.join(seeds)}) | " + " | ".join(cells) + f" | {overall:.5f} |")
    best = min(rows, key=lambda r: r[4])
    print(f"\nLowest mean of the three: **{best[0]}** ({best[4]:.5f}).")
    ties = [r[0] for r in rows if r[4] <= best[4] * 1.01]
    print(f"Candidates within 1% of it (the protocol's tie rule picks the smallest change among them): {', '.join(ties)}.")
    for family, _ in FAMILIES:
        own = min(rows, key=lambda r: r[2][family])
        print(f"- {family}'s own best: {own[0]} ({own[2][family]:.5f})")


if __name__ == "__main__":
    main()
