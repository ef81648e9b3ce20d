#!/usr/bin/env bash
# The data path against pyarrow and pandas, same files, same run, one thread each:
#
#   crates/data/bench/run_data_path.sh [--rounds N] [--rows N]
#
# Generates 1 M taobao rows (`plec datagen taobao`, seed 1) as Parquet and CSV under out/data-path-bench/ if they
# are not there, builds `data_path_bench` (crates/data/examples), then runs N rounds (default 7); each round runs,
# for each format, one process of plec (read, encode, raw inputs, its decoding library alone) and one of the
# reference (data_path_reference.py: pyarrow, pandas), alternating which goes first; each process makes one
# untimed warm-up pass and then one timed pass. Prints the load average before and after and a markdown table of
# medians over the rounds (min-max beside them) with the ratios plec read / other (below 1: plec is faster). The
# raw log is kept in out/data-path-bench/run-<time>.log.
#
# Needs target/release/plec (for datagen; `cargo build --release`) and pyarrow + pandas in PYTHON (default
# .native/bench-venv/bin/python; `.native/bench-venv/bin/pip install pyarrow pandas`).
set -euo pipefail
cd "$(dirname "$0")/../../.."

rounds=7
rows=1000000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --rows) rows="$2"; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--rows N]" >&2; exit 2 ;;
    esac
done

python="${PYTHON:-.native/bench-venv/bin/python}"
config=examples/ple_taobao.config
data="out/data-path-bench/rows-$rows"
bench=target/release/examples/data_path_bench
reference=crates/data/bench/data_path_reference.py

"$python" -c "import pyarrow, pandas" 2>/dev/null || {
    echo "$python lacks pyarrow/pandas: .native/bench-venv/bin/pip install pyarrow pandas" >&2
    exit 1
}
cargo build --quiet --release -p plec-data --example data_path_bench
for format in parquet csv; do
    if [[ ! -f "$data/$format/train.$format" ]]; then
        [[ -x target/release/plec ]] || { echo "target/release/plec is missing: cargo build --release" >&2; exit 1; }
        target/release/plec datagen taobao --rows "$rows" --format "$format" -o "$data/$format" >&2
    fi
done

cat "$data/parquet/train.parquet" "$data/csv/train.csv" >/dev/null  # both files in the page cache
log="out/data-path-bench/run-$(date -u +%Y%m%dT%H%M%SZ).log"
{
    echo "start $(date -u '+%Y-%m-%d %H:%M:%S') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
    "$python" -c "import pyarrow, pandas, sys
print('versions python', sys.version.split()[0], 'pyarrow', pyarrow.__version__, 'pandas', pandas.__version__)"
    for format in parquet csv; do
        echo "size $format $(stat -c %s "$data/$format/train.$format")"
    done
} >"$log"
columns=$("$bench" "$config" "$data/parquet/train.parquet" --warmup 0 --repeats 1 | sed -n 's/^columns //p')

for round in $(seq 1 "$rounds"); do
    for format in parquet csv; do
        file="$data/$format/train.$format"
        run_plec() { "$bench" "$config" "$file" --warmup 1 --repeats 1 | sed -n "s/^sample /plec $format /p"; }
        run_reference() {
            "$python" "$reference" "$file" --columns "$columns" --warmup 1 --repeats 1 |
                sed -n "s/^sample /reference $format /p"
        }
        if (( round % 2 )); then run_plec; run_reference; else run_reference; run_plec; fi >>"$log"
    done
    echo "round $round of $rounds done" >&2
done
echo "end $(date -u '+%Y-%m-%d %H:%M:%S') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$log"

"$python" - "$log" "$rows" <<'EOF'
import statistics, sys

log, rows = sys.argv[1], int(sys.argv[2])
samples, sizes, notes = {}, {}, []
for line in open(log):
    parts = line.split()
    if parts[0] in ("plec", "reference"):
        samples.setdefault((parts[0], parts[1], parts[2]), []).append(float(parts[3]))
    elif parts[0] == "size":
        sizes[parts[1]] = int(parts[2])
    else:
        notes.append(line.strip())

def median(key):
    values = samples.get(key)
    return statistics.median(values) if values else None

def cell(key):
    values = samples.get(key)
    if not values:
        return "—"
    m = median(key)
    return f"{m:.3f} s ({min(values):.3f}-{max(values):.3f}; {rows / m / 1e6:.2f} M rows/s)"

def ratio(format, name, program="reference"):
    plec, ref = median(("plec", format, "read")), median((program, format, name))
    return f"**{plec / ref:.2f}**" if plec and ref else "—"

rounds = len(samples.get(("plec", "parquet", "read"), []))
print(f"{rows:,} taobao rows, median of {rounds} rounds (min-max), one thread each; {log}")
for note in notes:
    print(f"- {note}")
print()
mb = {f: sizes.get(f, 0) / 1e6 for f in ("parquet", "csv")}
print(f"| step | Parquet ({mb['parquet']:.1f} MB) | plec / ref | CSV ({mb['csv']:.1f} MB) | plec / ref |")
print("|---|---|---|---|---|")
print(f"| plec: read (`BatchReader`, 18 columns) | {cell(('plec', 'parquet', 'read'))} | | "
      f"{cell(('plec', 'csv', 'read'))} | |")
print(f"| pyarrow `read_table` / `read_csv` (typed) | {cell(('reference', 'parquet', 'pyarrow'))} | "
      f"{ratio('parquet', 'pyarrow')} | {cell(('reference', 'csv', 'pyarrow'))} | {ratio('csv', 'pyarrow')} |")
print(f"| pyarrow `read_csv`, every column as strings | — | | {cell(('reference', 'csv', 'pyarrow_strings'))} | "
      f"{ratio('csv', 'pyarrow_strings')} |")
print(f"| pandas `read_parquet` / `read_csv` | {cell(('reference', 'parquet', 'pandas'))} | "
      f"{ratio('parquet', 'pandas')} | {cell(('reference', 'csv', 'pandas'))} | {ratio('csv', 'pandas')} |")
print(f"| decoding library alone (parquet crate / csv crate, no conversion) | "
      f"{cell(('plec', 'parquet', 'decode_only'))} | {ratio('parquet', 'decode_only', 'plec')} | "
      f"{cell(('plec', 'csv', 'decode_only'))} | {ratio('csv', 'decode_only', 'plec')} |")
print(f"| plec: encode for training (`encode`) | {cell(('plec', 'parquet', 'encode'))} | | "
      f"{cell(('plec', 'csv', 'encode'))} | |")
print(f"| plec: raw graph inputs + range check (`raw_inputs`, `check_raw`) | {cell(('plec', 'parquet', 'raw'))} | | "
      f"{cell(('plec', 'csv', 'raw'))} | |")
EOF
