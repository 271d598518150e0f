#!/usr/bin/env bash
# Every GPU measurement of the pix2pix training engine, in one go (about 10 minutes on an H100):
#   1. the GPU-marked correctness tests (bf16 vs fp32, graph vs eager, compiled vs eager, device cache);
#   2. i2i bench on the paper's facades recipe at batch 1 and batch 64 (fast path vs fp32 baseline);
#   3. time to quality: the reference's 30-epoch facades schedule in bf16 and in fp32, each scored on the test split.
# Usage: benchmarks/gpu_suite.sh PATH/TO/facades OUT_DIR
#   Environment overrides: CONFIG (recipe), EPOCHS (epochs at each learning rate), PRECISIONS ("bf16 fp32"),
#   PYTHON (python3), BENCH_ARGS (extra i2i bench options). A dry run on a CPU:
#   PYTHON=.venv/bin/python CONFIG=configs/pix2pix/facades-mini.yaml EPOCHS=1 PRECISIONS=fp32 \
#   BENCH_ARGS="--steps 2 --warmup 1 --repeats 1" benchmarks/gpu_suite.sh datasets/facades-mini /tmp/suite
# Results: OUT_DIR/{gpu_tests.log,bench_b1.json,bench_b64.json,train_*.log,eval_*/summary.json,summary.txt}
set -euo pipefail
data=${1:?usage: gpu_suite.sh PATH/TO/facades OUT_DIR}
out=${2:?usage: gpu_suite.sh PATH/TO/facades OUT_DIR}
mkdir -p "$out"
config=${CONFIG:-configs/pix2pix/facades.yaml}
epochs=${EPOCHS:-15}
python=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
i2i=("$python" -m i2i.cli)

"$python" -m pytest -q -m gpu tests -p no:cacheprovider 2>&1 | tee "$out/gpu_tests.log" | tail -5

# shellcheck disable=SC2086  # BENCH_ARGS is a list of options
"${i2i[@]}" bench --config "$config" --data.root "$data" ${BENCH_ARGS:-} --out "$out/bench_b1.json" \
    | tee "$out/bench_b1.txt"
# shellcheck disable=SC2086
"${i2i[@]}" bench --config "$config" --data.root "$data" ${BENCH_ARGS:-} --train.batch_size 64 \
    --data.num_workers 8 --out "$out/bench_b64.json" | tee "$out/bench_b64.txt"

for precision in ${PRECISIONS:-bf16 fp32}; do
    name="schedule$((2 * epochs))-$precision"
    start=$(date +%s.%N)
    "${i2i[@]}" train --config "$config" --data.root "$data" --name "$name" \
        --out_dir "$out/runs" --train.n_epochs "$epochs" --train.n_epochs_decay "$epochs" --train.precision "$precision" \
        --train.val_every never --train.sample_every never --train.checkpoint_every never --train.progress false \
        2>&1 | tee "$out/train_$precision.log" | tail -3
    end=$(date +%s.%N)
    "${i2i[@]}" eval "$out/runs/$name" --data "$data" --split test --out "$out/eval_$precision" | tail -2
    "$python" - "$precision" "$start" "$end" "$out/eval_$precision/summary.json" <<'PY' | tee -a "$out/summary.txt"
import json, sys
precision, start, end, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = json.load(open(path))
print(f"{precision}: {end - start:.1f} s wall (training incl. start-up); test PSNR {s['psnr']:.2f} dB, "
      f"SSIM {s['ssim']:.4f}, L1 {s['l1']:.4f} ({s['count']} images)")
PY
done
