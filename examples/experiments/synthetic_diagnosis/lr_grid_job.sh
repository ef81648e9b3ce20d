#!/bin/bash
# job.sh MODEL CORR SEED LR: trains with the configs' 10 epochs at dense lr LR on the 100k training rows, then
# evaluates on the validation rows (eval stream rows 10000..19999, disjoint from the 10k test rows). Test is not read.
set -e
m=$1; c=$2; s=$3; lr=$4
P=${PLEC:-$(git rev-parse --show-toplevel)/target/release/plec}
dir=runs/lr-$lr/corr-$c/$m/seed-$s
[ -f $dir/val.txt ] && exit 0
mkdir -p $dir
sed "s/^            lr: 0.001$/            lr: $lr/" cfg/$m.exp.config > $dir/config
grep -q "lr: $lr$" $dir/config
nice -n 10 $P train --config $dir/config --train-input data/p$c/train.parquet --eval-input data/dummy/eval.parquet \
    --model-dir $dir/model --seed $s --threads 1 > $dir/train.log 2>&1
nice -n 10 $P evaluate --config $dir/config --checkpoint $dir/model --eval-input data/val-$c.csv --threads 1 > $dir/val.txt 2> $dir/eval.log
