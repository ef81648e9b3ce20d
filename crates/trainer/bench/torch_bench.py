"""PyTorch eager reference for plec's training throughput, one of three model shapes (--model):

- example: examples/ple_taobao.config (16 features of dim 16 -> 256 inputs; 3 extraction layers, see MODELS).
- taobao_ple: TorchEasyRec's tests/configs/torcheasyrec/taobao_ple.config (16 features of dim 16; 2 extraction
  layers [1024,512,256] / [256,128,64], 2 experts per task and 1 shared).
- taobao_ple_has_sequence: the same plus its click_50_seq group: queries adgroup_id, cate_id, brand and the
  three click_50_seq__* sequences (lengths uniform in 0..=100) in tables of their own, reduced by a DIN encoder
  (attn_mlp [32, 8]) written as TorchEasyRec's tzrec/modules/sequence.py writes it; its 48 columns follow the
  256 (304 inputs).

Towers [256,128,64] + Linear(1), two BCE towers; a plain eager loop over experts as a hand-written PyTorch
module would do (the same as TorchEasyRec's ExtractionNet), sparse Adagrad (torch.optim.Adagrad on sparse
embedding gradients) for the tables and Adam for the rest, lr 0.001 both, on in-memory synthetic batches
(uniform ids). Prints one JSON line per repeat and a summary line with the median samples/s.
"""

import argparse
import json
import time
import warnings

# The venv has torch alone; numpy is never used here.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

DIM = 16
TOWER = [256, 128, 64]
TASKS = 2
# TorchEasyRec's taobao tables in feature-group order (user_id ... pid, adgroup_id ... price).
TAOBAO_ROWS = [1141730, 98, 14, 3, 8, 5, 5, 3, 6, 2, 846812, 12961, 423438, 255877, 461498, 101]
# tables: rows per feature table; layers: (experts per task, shared experts, hidden units) per extraction layer;
# sequence: the one sequence group (query and sequence table rows, sequence_length, DIN attn_mlp) or None.
MODELS = {
    # examples/ple_taobao.config: user_id ... brand, pid (hash 20), price (98 boundaries -> 99).
    "example": {
        "tables": [1141730, 98, 14, 3, 8, 5, 5, 3, 6, 20, 846812, 12961, 423438, 255877, 461498, 99],
        "layers": [(2, 2, [1024, 512, 256]), (3, 3, [256, 128, 64]), (4, 4, [128, 64, 32])],
        "sequence": None,
    },
    "taobao_ple": {
        "tables": TAOBAO_ROWS,
        "layers": [(2, 1, [1024, 512, 256]), (2, 1, [256, 128, 64])],
        "sequence": None,
    },
    "taobao_ple_has_sequence": {
        "tables": TAOBAO_ROWS,
        "layers": [(2, 1, [1024, 512, 256]), (2, 1, [256, 128, 64])],
        # adgroup_id, cate_id, brand as queries and as click_50_seq__* sequences.
        "sequence": {"query": [846812, 12961, 461498], "sequence": [846812, 12961, 461498], "length": 100,
                     "attn_mlp": [32, 8]},
    },
}


def mlp(width, units):
    layers = []
    for u in units:
        layers += [nn.Linear(width, u), nn.ReLU()]
        width = u
    return nn.Sequential(*layers)


class Din(nn.Module):
    """TorchEasyRec's DINEncoder.forward, with its inputs built as its EmbeddingGroup builds them: the queries and
    the sequences looked up in tables of their own (an EmbeddingCollection), the sequences' jagged values padded
    to [B, T, Ds] with T the batch's longest length (to_padded_dense)."""

    def __init__(self, seq):
        super().__init__()
        self.query_tables = nn.ModuleList([nn.Embedding(rows, DIM, sparse=True) for rows in seq["query"]])
        self.sequence_tables = nn.ModuleList([nn.Embedding(rows, DIM, sparse=True) for rows in seq["sequence"]])
        self.query_dim = DIM * len(seq["query"])
        self.sequence_dim = DIM * len(seq["sequence"])
        self.mlp = mlp(4 * self.sequence_dim, seq["attn_mlp"])
        self.linear = nn.Linear(seq["attn_mlp"][-1], 1)

    def forward(self, query_ids, sequence_ids, lengths, slots, longest):
        batch = lengths.size(0)
        query = torch.cat([t(i) for t, i in zip(self.query_tables, query_ids)], dim=-1)
        # Jagged lookup, then scatter into the zero-padded [B * T] slots (what jagged_to_padded_dense does).
        parts = []
        for table, ids in zip(self.sequence_tables, sequence_ids):
            values = table(ids)
            padded = values.new_zeros(batch * longest, DIM).index_copy(0, slots, values)
            parts.append(padded.view(batch, longest, DIM))
        sequence = torch.cat(parts, dim=-1)

        max_seq_length = sequence.size(1)
        sequence_mask = torch.arange(max_seq_length).unsqueeze(0) < lengths.unsqueeze(1)
        if self.query_dim < self.sequence_dim:
            query = F.pad(query, (0, self.sequence_dim - self.query_dim))
        queries = query.unsqueeze(1).expand(-1, max_seq_length, -1)
        attn_input = torch.cat([queries, sequence, queries - sequence, queries * sequence], dim=-1)
        attn_output = self.mlp(attn_input)
        attn_output = self.linear(attn_output)
        attn_output = attn_output.transpose(1, 2)
        padding = torch.ones_like(attn_output) * (-(2**31) + 1)
        scores = torch.where(sequence_mask.unsqueeze(1), attn_output, padding)
        scores = F.softmax(scores, dim=-1)
        return torch.matmul(scores, sequence).squeeze(1)


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
    def __init__(self, config):
        super().__init__()
        self.tables = nn.ModuleList([nn.Embedding(rows, DIM, sparse=True) for rows in config["tables"]])
        self.din = Din(config["sequence"]) if config["sequence"] else None
        width = group_width(config)
        layers = []
        for i, (per_task, shared, units) in enumerate(config["layers"]):
            layers.append(Cgc(width, per_task, shared, units, i == len(config["layers"]) - 1))
            width = units[-1]
        self.layers = nn.ModuleList(layers)
        self.towers = nn.ModuleList([nn.Sequential(mlp(width, TOWER), nn.Linear(TOWER[-1], 1)) for _ in range(TASKS)])

    def forward(self, ids, seq=None):
        parts = [table(i) for table, i in zip(self.tables, ids)]
        if self.din is not None:
            # The encoder's output follows the group's features.
            parts.append(self.din(*seq))
        x = torch.cat(parts, dim=1)
        xs, s = [x] * TASKS, x
        for layer in self.layers:
            xs, s_next = layer(xs, s)
            s = s_next if s_next is not None else s
        return [tower(x).squeeze(1) for tower, x in zip(self.towers, xs)]


def group_width(config):
    """Columns of the group input: the features, then the DIN output (the sequence width)."""
    seq = config["sequence"]
    return DIM * len(config["tables"]) + (DIM * len(seq["sequence"]) if seq else 0)


def linear_shapes(config):
    """(in, out) of every Linear of the model, in forward order (no sequence encoder)."""
    shapes = []
    width = group_width(config)
    layers = config["layers"]
    for i, (per_task, shared, units) in enumerate(layers):
        experts = TASKS * per_task + shared
        w = width
        for u in units:
            shapes += [(w, u)] * experts
            w = u
        shapes += [(width, per_task + shared)] * TASKS
        if i < len(layers) - 1:
            shapes.append((width, TASKS * per_task + shared))
        width = units[-1]
    w = width
    for u in TOWER:
        shapes += [(w, u)] * TASKS
        w = u
    shapes += [(w, 1)] * TASKS
    return shapes


def gemm_floor(args, config):
    """Seconds per step of the dense matmuls alone (forward, grad-input, grad-weight of every Linear)."""
    shapes = linear_shapes(config)
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
    print(json.dumps({"impl": "gemm_floor", "model": args.model, "median_samples_per_s": round(median, 1),
                      "batch": args.batch,
                      "threads": args.threads, "train_flops_per_sample": flops,
                      "gflops_per_s": round(median * flops / 1e9, 1), "torch": torch.__version__}), flush=True)


def sequence_batch(seq, batch, gen):
    """Query ids, per-feature jagged sequence ids (all features share the lengths, uniform in 0..=length), the
    lengths, each value's slot in the padded [B * T] layout, and T. Slots and T are computed with the batch, as
    plec's ModelInput pads its positions outside the timed step."""
    query_ids = [torch.randint(0, rows, (batch,), generator=gen) for rows in seq["query"]]
    lengths = torch.randint(0, seq["length"] + 1, (batch,), generator=gen)
    total = int(lengths.sum())
    sequence_ids = [torch.randint(0, rows, (total,), generator=gen) for rows in seq["sequence"]]
    longest = int(lengths.max()) if batch else 0
    rows = torch.repeat_interleave(torch.arange(batch), lengths)
    starts = torch.cumsum(lengths, 0) - lengths
    positions = torch.arange(total) - torch.repeat_interleave(starts, lengths)
    slots = rows * longest + positions
    return query_ids, sequence_ids, lengths, slots, longest


def inference(args, model, batches):
    """Median milliseconds per eval-mode forward call on the prepared batches."""
    model.eval()
    times = []
    with torch.inference_mode():
        for i in range(args.warmup):
            model(batches[i % 4][0], batches[i % 4][1])
        for i in range(args.steps * args.repeats):
            ids, seq, _ = batches[i % 4]
            start = time.perf_counter()
            model(ids, seq)
            times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"impl": "pytorch_eager_inference", "model": args.model, "batch": args.batch,
                      "median_ms": round(median * 1e3, 3), "rows_per_s": round(args.batch / median, 1),
                      "calls": len(times), "threads": args.threads, "torch": torch.__version__}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=sorted(MODELS), default="example", help="model shape (see above)")
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gemm-floor", action="store_true", help="time the dense matmuls alone (see above)")
    parser.add_argument("--inference", action="store_true",
                        help="time eval-mode forward calls instead of training steps: median ms per call over "
                             "--steps calls x --repeats (inputs are table rows and pre-padded sequences, so no "
                             "feature transform or string splitting is timed)")
    args = parser.parse_args()
    config = MODELS[args.model]
    torch.set_num_threads(args.threads)
    # Unchecked sparse gradients, as by default; saying so silences Adagrad's warning on every run.
    torch.sparse.check_sparse_tensor_invariants.disable()
    if args.gemm_floor:
        if config["sequence"]:
            parser.error("--gemm-floor covers models without a sequence encoder")
        gemm_floor(args, config)
        return
    torch.manual_seed(0)
    model = Ple(config)
    sparse_params = [p for n, p in model.named_parameters() if n.startswith("tables.") or "_tables." in n]
    dense_params = [p for n, p in model.named_parameters() if not (n.startswith("tables.") or "_tables." in n)]
    sparse = torch.optim.Adagrad(sparse_params, lr=0.001)
    dense = torch.optim.Adam(dense_params, lr=0.001)
    gen = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(4):
        ids = [torch.randint(0, rows, (args.batch,), generator=gen) for rows in config["tables"]]
        seq = sequence_batch(config["sequence"], args.batch, gen) if config["sequence"] else None
        labels = [(torch.rand(args.batch, generator=gen) < 0.1).float() for _ in range(TASKS)]
        batches.append((ids, seq, labels))
    loss_fn = nn.BCEWithLogitsLoss()
    if args.inference:
        inference(args, model, batches)
        return

    def step(i):
        ids, seq, labels = batches[i % 4]
        logits = model(ids, seq)
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
    print(json.dumps({"impl": "pytorch_eager", "model": args.model,
                      "median_samples_per_s": round(rates[len(rates) // 2], 1),
                      "batch": args.batch, "threads": args.threads, "steps": args.steps,
                      "repeats": args.repeats, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
