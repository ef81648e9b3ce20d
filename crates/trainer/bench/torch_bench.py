"""PyTorch eager reference for plec's training throughput on the example config's model shape.

Same model as examples/ple_taobao.config (16 features of dim 16 -> 256 inputs; 3 extraction layers
[1024,512,256]x(2+2 per task... see LAYERS), towers [256,128,64] + Linear(1), two BCE towers), a plain eager
loop over experts as a hand-written PyTorch module would do, sparse Adagrad (torch.optim.Adagrad on sparse
embedding gradients) for the tables and Adam for the rest, on in-memory synthetic batches (uniform ids).
Prints one JSON line per repeat and a summary line with the median samples/s.
"""

import argparse
import json
import time

import torch
import torch.nn as nn

# Rows of the example config's 16 tables (user_id ... brand, pid (hash 20), price (98 boundaries -> 99)).
TABLE_ROWS = [1141730, 98, 14, 3, 8, 5, 5, 3, 6, 20, 846812, 12961, 423438, 255877, 461498, 99]
DIM = 16
# (experts per task, shared experts, hidden units) per extraction layer.
LAYERS = [(2, 2, [1024, 512, 256]), (3, 3, [256, 128, 64]), (4, 4, [128, 64, 32])]
TOWER = [256, 128, 64]
TASKS = 2


def mlp(width, units):
    layers = []
    for u in units:
        layers += [nn.Linear(width, u), nn.ReLU()]
        width = u
    return nn.Sequential(*layers)


class Cgc(nn.Module):
    def __init__(self, width, per_task, shared, units, last):
        super().__init__()
        self.task_experts = nn.ModuleList(
            [nn.ModuleList([mlp(width, units) for _ in range(per_task)]) for _ in range(TASKS)])
        self.shared_experts = nn.ModuleList([mlp(width, units) for _ in range(shared)])
        self.task_gates = nn.ModuleList([nn.Linear(width, per_task + shared) for _ in range(TASKS)])
        self.shared_gate = None if last else nn.Linear(width, TASKS * per_task + shared)

    def forward(self, xs, s):
        shared_out = [e(s) for e in self.shared_experts]
        task_out = [[e(x) for e in experts] for x, experts in zip(xs, self.task_experts)]
        ys = []
        for t, x in enumerate(xs):
            experts = torch.stack(task_out[t] + shared_out, dim=1)
            gate = torch.softmax(self.task_gates[t](x), dim=-1).unsqueeze(-1)
            ys.append((experts * gate).sum(1))
        s_next = None
        if self.shared_gate is not None:
            experts = torch.stack([o for outs in task_out for o in outs] + shared_out, dim=1)
            gate = torch.softmax(self.shared_gate(s), dim=-1).unsqueeze(-1)
            s_next = (experts * gate).sum(1)
        return ys, s_next


class Ple(nn.Module):
    def __init__(self):
        super().__init__()
        self.tables = nn.ModuleList([nn.Embedding(rows, DIM, sparse=True) for rows in TABLE_ROWS])
        width = DIM * len(TABLE_ROWS)
        layers = []
        for i, (per_task, shared, units) in enumerate(LAYERS):
            layers.append(Cgc(width, per_task, shared, units, i == len(LAYERS) - 1))
            width = units[-1]
        self.layers = nn.ModuleList(layers)
        self.towers = nn.ModuleList([nn.Sequential(mlp(width, TOWER), nn.Linear(TOWER[-1], 1)) for _ in range(TASKS)])

    def forward(self, ids):
        x = torch.cat([table(i) for table, i in zip(self.tables, ids)], dim=1)
        xs, s = [x] * TASKS, x
        for layer in self.layers:
            xs, s_next = layer(xs, s)
            s = s_next if s_next is not None else s
        return [tower(x).squeeze(1) for tower, x in zip(self.towers, xs)]


def linear_shapes():
    """(in, out) of every Linear of the model, in forward order."""
    shapes = []
    width = DIM * len(TABLE_ROWS)
    for i, (per_task, shared, units) in enumerate(LAYERS):
        experts = TASKS * per_task + shared
        w = width
        for u in units:
            shapes += [(w, u)] * experts
            w = u
        shapes += [(width, per_task + shared)] * TASKS
        if i < len(LAYERS) - 1:
            shapes.append((width, TASKS * per_task + shared))
        width = units[-1]
    w = width
    for u in TOWER:
        shapes += [(w, u)] * TASKS
        w = u
    shapes += [(w, 1)] * TASKS
    return shapes


def gemm_floor(args):
    """Seconds per step of the dense matmuls alone (forward, grad-input, grad-weight of every Linear)."""
    shapes = linear_shapes()
    tensors = []
    for n_in, n_out in shapes:
        x = torch.randn(args.batch, n_in)
        w = torch.randn(n_out, n_in)
        g = torch.randn(args.batch, n_out)
        tensors.append((x, w, g))

    def step():
        for x, w, g in tensors:
            torch.mm(x, w.t())
            torch.mm(g, w)
            torch.mm(g.t(), x)

    for _ in range(args.warmup):
        step()
    rates = []
    for r in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        rate = args.steps * args.batch / (time.perf_counter() - start)
        print(json.dumps({"impl": "gemm_floor", "repeat": r, "samples_per_s": round(rate, 1)}), flush=True)
        rates.append(rate)
    rates.sort()
    flops = sum(6 * n_in * n_out for n_in, n_out in shapes)
    median = rates[len(rates) // 2]
    print(json.dumps({"impl": "gemm_floor", "median_samples_per_s": round(median, 1), "batch": args.batch,
                      "threads": args.threads, "train_flops_per_sample": flops,
                      "gflops_per_s": round(median * flops / 1e9, 1), "torch": torch.__version__}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gemm-floor", action="store_true", help="time the dense matmuls alone (see above)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.gemm_floor:
        gemm_floor(args)
        return
    torch.manual_seed(0)
    model = Ple()
    sparse = torch.optim.Adagrad(model.tables.parameters(), lr=0.001)
    dense_params = [p for n, p in model.named_parameters() if not n.startswith("tables.")]
    dense = torch.optim.Adam(dense_params, lr=0.001)
    gen = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(4):
        ids = [torch.randint(0, rows, (args.batch,), generator=gen) for rows in TABLE_ROWS]
        labels = [(torch.rand(args.batch, generator=gen) < 0.1).float() for _ in range(TASKS)]
        batches.append((ids, labels))
    loss_fn = nn.BCEWithLogitsLoss()

    def step(i):
        ids, labels = batches[i % 4]
        logits = model(ids)
        loss = sum(loss_fn(l, y) for l, y in zip(logits, labels))
        sparse.zero_grad(set_to_none=True)
        dense.zero_grad(set_to_none=True)
        loss.backward()
        sparse.step()
        dense.step()

    i = 0
    for _ in range(args.warmup):
        step(i)
        i += 1
    rates = []
    for r in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            step(i)
            i += 1
        rate = args.steps * args.batch / (time.perf_counter() - start)
        print(json.dumps({"impl": "pytorch_eager", "repeat": r, "samples_per_s": round(rate, 1)}), flush=True)
        rates.append(rate)
    rates.sort()
    print(json.dumps({"impl": "pytorch_eager", "median_samples_per_s": round(rates[len(rates) // 2], 1),
                      "batch": args.batch, "threads": args.threads, "steps": args.steps,
                      "repeats": args.repeats, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
