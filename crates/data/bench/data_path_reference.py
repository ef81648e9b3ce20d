#!/usr/bin/env python3
"""The reference for `data_path_bench`: the same file read by pyarrow and pandas, one thread.

    data_path_reference.py FILE [--columns a,b,c] [--repeats N] [--warmup N]

FILE is a `.parquet` or `.csv` file (CSV with a header line). `--columns` restricts the read to those columns (the
driver passes the ones plec reads); without it every column is read. Contenders, run in turn in each repeat:

- Parquet: `pyarrow` = `pyarrow.parquet.read_table(use_threads=False)`; `pandas` =
  `pandas.read_parquet(engine="pyarrow", use_threads=False)` (the same read plus the conversion to a DataFrame).
- CSV: `pyarrow` = `pyarrow.csv.read_csv` with `use_threads=False`, types inferred (integers and floats parsed);
  `pyarrow_strings` = the same with every column read as strings, which is what plec's CSV reader produces (plec
  parses numbers later, while encoding); `pandas` = `pandas.read_csv(engine="c")` (single-threaded).

`--warmup N` (default 1) untimed rounds of every contender come first (the first call in a process pays for
pyarrow's lazy initialisation). `pyarrow.set_cpu_count(1)` and `pyarrow.set_io_thread_count(1)` keep pyarrow on
one thread. Results are dropped outside the timed region. Output: `sample NAME SECONDS` per contender and repeat, then `median NAME SECONDS`.

Install into the benchmark venv (not in git) from PyPI:

    .native/bench-venv/bin/pip install pyarrow pandas

Measured with pyarrow 26.0.1 and pandas 3.1.1 (Python 3.11). The driver is `run_data_path.sh`.
"""

import argparse
import gc
import statistics
import sys
import time

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

try:
    import pandas as pd
except ImportError:  # pandas is the optional second reference
    pd = None


def contenders(path, columns):
    if path.endswith(".parquet") or path.endswith(".pq"):
        yield "pyarrow", lambda: pq.read_table(path, columns=columns, use_threads=False)
        if pd is not None:
            yield "pandas", lambda: pd.read_parquet(path, engine="pyarrow", columns=columns, use_threads=False)
        return
    read = pacsv.ReadOptions(use_threads=False)
    typed = pacsv.ConvertOptions(include_columns=columns)
    yield "pyarrow", lambda: pacsv.read_csv(path, read_options=read, convert_options=typed)
    if columns is None:
        columns = pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=False)).schema.names
    strings = pacsv.ConvertOptions(include_columns=columns, column_types={c: pa.string() for c in columns})
    yield "pyarrow_strings", lambda: pacsv.read_csv(path, read_options=read, convert_options=strings)
    if pd is not None:
        yield "pandas", lambda: pd.read_csv(path, usecols=columns, engine="c")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--columns", help="comma-separated columns to read (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    columns = args.columns.split(",") if args.columns else None
    runs = list(contenders(args.file, columns))
    samples = {name: [] for name, _ in runs}
    rows = None
    warmup = max(args.warmup, 0)
    for round in range(warmup + max(args.repeats, 1)):
        for name, run in runs:
            gc.collect()
            started = time.perf_counter()
            result = run()
            seconds = time.perf_counter() - started
            rows = len(result) if rows is None else rows
            if len(result) != rows:
                sys.exit(f"{name} read {len(result)} rows, another contender {rows}")
            del result
            if round < warmup:
                continue
            samples[name].append(seconds)
            print(f"sample {name} {seconds:.6f}", flush=True)
    print(f"rows {rows}")
    print(f"versions pyarrow {pa.__version__} pandas {pd.__version__ if pd is not None else 'absent'}")
    for name, values in samples.items():
        print(f"median {name} {statistics.median(values):.6f}")


if __name__ == "__main__":
    main()
