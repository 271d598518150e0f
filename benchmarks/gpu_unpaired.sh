#!/usr/bin/env bash
# Every GPU measurement of the unpaired methods, in one go:
#   1. the GPU-marked tests of the unpaired methods (graph vs eager, pools inside the captured step, default path);
#   2. i2i bench of CycleGAN (resnet_9blocks), U-GAT-IT light and U-GAT-IT full at 256², batch 1: img/s (it/s at
#      batch 1) and peak memory, beside the fp32 baseline of the same run;
#   3. training CycleGAN and U-GAT-IT light on selfie2anime for EPOCHS + EPOCHS epochs, then `i2i eval` on the test
#      split (cycle PSNR/SSIM, identity L1; FID/KID when FID_WEIGHTS names the Inception weights file) and the grids.
# Usage: benchmarks/gpu_unpaired.sh PATH/TO/selfie2anime OUT_DIR
#   Environment overrides: EPOCHS (epochs at each learning rate, default 50), METHODS ("cyclegan ugatit_light"),
#   PYTHON (python3), BENCH_ARGS (extra i2i bench options), TRAIN_ARGS (extra i2i train options), FID_WEIGHTS.
#   A dry run on a CPU (tiny networks, 64-pixel crops, one epoch):
#   PYTHON=.venv/bin/python EPOCHS=1 BENCH_ARGS="--steps 1 --warmup 1 --repeats 1 --inference-batches 1 \
#   --data.crop_size 64 --data.load_size 72 --method.generator.ngf 8" TRAIN_ARGS="--data.crop_size 64 \
#   --data.load_size 72 --method.generator.ngf 8 --train.max_steps 3" SKIP_FULL=1 \
#   benchmarks/gpu_unpaired.sh ../shared/datasets/selfie2anime /tmp/unpaired_suite
# Results: OUT_DIR/{gpu_tests.log,bench_*.json,bench_*.txt,train_*.log,eval_*/summary.json,eval_*/grid.png}
set -euo pipefail
data=${1:?usage: gpu_unpaired.sh PATH/TO/selfie2anime OUT_DIR}
out=${2:?usage: gpu_unpaired.sh PATH/TO/selfie2anime OUT_DIR}
mkdir -p "$out"
epochs=${EPOCHS:-50}
python=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
i2i=("$python" -m i2i.cli)
recipe() {
    case $1 in
        cyclegan) echo configs/cyclegan/selfie2anime.yaml ;;
        ugatit_light) echo configs/ugatit/selfie2anime_light.yaml ;;
        ugatit_full) echo configs/ugatit/selfie2anime.yaml ;;
    esac
}

"$python" -m pytest -q -m gpu tests/training/test_unpaired_engine.py -p no:cacheprovider 2>&1 \
    | tee "$out/gpu_tests.log" | tail -3

benched="cyclegan ugatit_light"
[ -z "${SKIP_FULL:-}" ] && benched="$benched ugatit_full"
for method in $benched; do
    # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
    "${i2i[@]}" bench --config "$(recipe "$method")" --data.root "$data" ${BENCH_ARGS:-} \
        --out "$out/bench_$method.json" | tee "$out/bench_$method.txt"
done

fid=()
[ -n "${FID_WEIGHTS:-}" ] && fid=(--fid-weights "$FID_WEIGHTS")
for method in ${METHODS:-cyclegan ugatit_light}; do
    start=$(date +%s.%N)
    # shellcheck disable=SC2086  # TRAIN_ARGS is a list of options
    "${i2i[@]}" train --config "$(recipe "$method")" --data.root "$data" --name "$method" --out_dir "$out/runs" \
        --train.n_epochs "$epochs" --train.n_epochs_decay "$epochs" --train.progress false ${TRAIN_ARGS:-} \
        2>&1 | tee "$out/train_$method.log" | tail -3
    end=$(date +%s.%N)
    echo "$method: $("$python" -c "print(f'{$end - $start:.1f}')") s wall (training incl. start-up)" | tee -a "$out/summary.txt"
    "${i2i[@]}" eval "$out/runs/$method" --data "$data" --split test --out "$out/eval_$method" "${fid[@]}" \
        | tee -a "$out/summary.txt"
done
