#!/usr/bin/env bash
# Issue 12's study: which training settings make fmnist-cpu learn fastest per image and per CPU-second.
# Each candidate trains from seed 0 on the same images in the same order for IMAGES training images
# (or, with MINUTES set, for that many minutes of training), then its test bound is measured on the first EVAL_IMAGES test images with K = IWBO_K (the same
# images and draws for every candidate), with the WEIGHTS weights (live by default, or ema).
# One line per candidate goes to $OUT/study.tsv:
#   name, arguments, images, steps, training seconds, images/s, test bpd, calibration conv GFLOP/s.
# A candidate's arguments may hold --config FILE (an architecture) instead of the default --preset fmnist-cpu;
# a configuration does not carry fmnist-cpu's recipe, so give it explicitly (RECIPE below does).
# With MINUTES set, the calibration conv (forward + backward) is measured just before each candidate, so
# images/s can be read against the machine's speed at that moment (it drifts within a session).
# Usage: bash bench/learning-study.sh NAME "TRAIN ARGS" [NAME "TRAIN ARGS" ...]
#   e.g. IMAGES=12800 bash bench/learning-study.sh base "--batch 64 --lr 1e-3 --warmup 200" lr2 "--batch 64 --lr 2e-3 --warmup 100"
# Run one study at a time (two CPU-heavy processes on two cores collapse both).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${IMAGES:-12800}
EVAL_IMAGES=${EVAL_IMAGES:-500}
IWBO_K=${IWBO_K:-1}
WEIGHTS=${WEIGHTS:-live}   # live or ema (the latter needs --ema in every candidate; fmnist-cpu's recipe has it)
MINUTES=${MINUTES:-}
OUT=${OUT:-runs/learning-study}
command -v jq > /dev/null || { echo "bench/learning-study.sh: needs jq (apt-get install -y jq)" >&2; exit 1; }
(( $# >= 2 && $# % 2 == 0 )) || { echo "usage: bash bench/learning-study.sh NAME \"TRAIN ARGS\" [NAME \"TRAIN ARGS\" ...]" >&2; exit 2; }
if [[ -n ${DENSEFLOW_DLL:-} ]]; then DF=(dotnet "$DENSEFLOW_DLL")
else dotnet build src/DenseFlow.Cli -c Release -nologo -v q >&2; DF=(dotnet src/DenseFlow.Cli/bin/Release/net10.0/denseflow.dll); fi
mkdir -p "$OUT"
[[ -f $OUT/study.tsv ]] || printf 'name\targs\timages\tsteps\ttrain_s\timages_per_s\ttest_bpd\tcalib_gflops\n' > "$OUT/study.tsv"
while (( $# )); do
  name=$1 args=$2; shift 2
  run="$OUT/$name"
  read -ra extra <<< "$args"
  model=(--preset fmnist-cpu)
  batch=16   # fmnist-cpu's recipe (src/DenseFlow/Training/TrainingRecipe.cs) unless the candidate sets --batch
  for ((i = 0; i < ${#extra[@]}; i++)); do
    [[ ${extra[i]} == --batch ]] && batch=${extra[i+1]}
    [[ ${extra[i]} == --config ]] && model=()
  done
  calib=nan
  if [[ -n $MINUTES ]]; then
    budget=(--minutes "$MINUTES")
    "${DF[@]}" bench --preset fmnist-cpu --only calibration --repeats 3 --json "$run.calib.json" > /dev/null 2>&1 \
      && calib=$(jq .calibration_fwd_bwd_gflops "$run.calib.json")
    echo "== $name: $args, $MINUTES minutes (calibration conv $calib GFLOP/s fwd+bwd)"
  else
    budget=(--max-steps $(( (IMAGES + batch - 1) / batch )))
    echo "== $name: $args, ${budget[1]} steps of batch $batch"
  fi
  t0=$(date +%s.%N)
  "${DF[@]}" train --dataset fashion-mnist "${model[@]}" --seed 0 "${budget[@]}" --eval-images 64 --samples 0 \
    --checkpoint-every 1000000 --out "$run" --overwrite "${extra[@]}" > "$run.train.log" 2>&1
  t1=$(date +%s.%N)
  last=$(grep '"train_bpd"' "$run/metrics.jsonl" | tail -1)
  steps=$(jq .step <<< "$last") images=$(jq .images <<< "$last")
  "${DF[@]}" eval --run "$run" --split test --limit "$EVAL_IMAGES" --k "$IWBO_K" --weights "$WEIGHTS" --json > "$run.eval.json"
  bpd=$(jq .bpd "$run.eval.json")
  secs=$(echo "$t1 - $t0" | bc)
  printf '%s\t%s\t%d\t%d\t%.0f\t%.1f\t%.4f\t%s\n' "$name" "$args" "$images" "$steps" "$secs" "$(echo "$images / $secs" | bc -l)" "$bpd" "$calib" | tee -a "$OUT/study.tsv"
done
