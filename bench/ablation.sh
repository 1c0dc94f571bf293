#!/usr/bin/env bash
# The paper's Table 4 ablation (DenseFlow-45-6 on CIFAR-10), scaled to Fashion-MNIST so it fits a CPU:
# six variants trained on the same images in the same order from the same seed, each scored with the
# importance-weighted bound, results written to docs/ABLATION.md.
#
# Scaling rule (one rule for all six): the architecture is the fmnist-cpu preset (28×28 has two
# scales, so DenseFlow-45-6's three blocks become fmnist-cpu's two: units 3,2, modules per unit 2,3);
# the widths DenseFlow-45-6 and fmnist-cpu share scale by fmnist-cpu's coupling width over
# DenseFlow-45-6's, 32/48 = 2/3: growth rate k = 6 → 4, and the Glow coupling's hidden width
# 512 → 341. The Table 4 switches are applied exactly as the 32×32 presets ablation-1…6 do:
#   1  no augmentation, Glow coupling; the Glow baseline keeps each block's module count in one unit (1,1 units × 6,6 modules, k = 0)
#   2  white-noise augmentation, Glow coupling       3  preconditioned augmentation, Glow coupling
#   4  no augmentation, DenseFlow coupling           5  white-noise augmentation, DenseFlow coupling
#   6  preconditioned augmentation, DenseFlow coupling (= fmnist-cpu)
#
# Budget: up to STEPS optimisation steps of batch 64 for every variant (equal training images), seed SEED,
# warm-up WARMUP steps; training runs in chunks of CHUNK steps, each under the shared CPU lock
# (/tmp/cpu.lock), so other work can interleave. Evaluation: IWBO with K = IWBO_K on the first
# EVAL_IMAGES test images (the same images for every variant), one chunk per variant under the lock.
#
# Usage:   bash bench/ablation.sh                      # the real run: hours of CPU (see below)
#          STEPS=4 CHUNK=2 EVAL_IMAGES=8 IWBO_K=2 OUT=/tmp/abl DOC=/tmp/abl/ABLATION.md bash bench/ablation.sh   # smoke
# At fmnist-cpu's ~30 images/s, the default 3,000 steps are ~1.8 h per variant, ~10 h for all six.
# A variant whose run already has STEPS steps is not retrained (delete its directory to start again);
# an interrupted one continues from its checkpoint (resuming is bit-exact on CPU), and a finished
# evaluation (ablation-N.eval.json) is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=${STEPS:-3000}
CHUNK=${CHUNK:-250}
WARMUP=${WARMUP:-200}
SEED=${SEED:-0}
IWBO_K=${IWBO_K:-100}
EVAL_IMAGES=${EVAL_IMAGES:-1000}
OUT=${OUT:-runs/ablation}
DOC=${DOC:-docs/ABLATION.md}
LOCK=${LOCK:-/tmp/cpu.lock}

command -v jq > /dev/null || { echo "bench/ablation.sh: needs jq (apt-get install -y jq)" >&2; exit 1; }
# DENSEFLOW_DLL: a built denseflow.dll to use instead of building this tree (a copy keeps a long run
# independent of rebuilds of the working tree).
if [[ -n ${DENSEFLOW_DLL:-} ]]; then DF=(dotnet "$DENSEFLOW_DLL")
else flock "$LOCK" dotnet build src/DenseFlow.Cli -c Release -nologo -v q >&2; DF=(dotnet src/DenseFlow.Cli/bin/Release/net10.0/denseflow.dll); fi
mkdir -p "$OUT"

# Variant configurations, all derived from the fmnist-cpu preset by the rule above.
"${DF[@]}" info --preset fmnist-cpu --json > "$OUT/fmnist-cpu.json"
variant() { # row coupling augmentation
  local row=$1 coupling=$2 aug=$3 width=32
  [[ $coupling == glow ]] && width=341
  if [[ $row == 1 ]]; then
    jq --argjson w $width '.units_per_block = [1, 1] | .modules_per_unit = [6, 6] | .growth_rate = 0
      | .coupling = "glow" | .augmentation = "none" | .coupling_width = [$w, $w]' "$OUT/fmnist-cpu.json"
  else
    jq --arg c "$coupling" --arg a "$aug" --argjson w $width \
      '.coupling = $c | .augmentation = $a | .coupling_width = [$w, $w]' "$OUT/fmnist-cpu.json"
  fi > "$OUT/ablation-$row.json"
}
variant 1 glow none
variant 2 glow white
variant 3 glow preconditioned
variant 4 dense none
variant 5 dense white
variant 6 dense preconditioned

# Training runs in rounds of CHUNK steps over all six variants, so that at every round's end all six have
# seen the same images; with DEADLINE (Unix seconds) no round is started that would end after it, and the
# evaluation uses the steps every variant reached. Each variant's training seconds are summed in
# ablation-N.seconds (wall time of its chunks, process start included).
steps_of() { jq -s 'map(select(.step != null) | .step) | max // 0' "$1/metrics.jsonl" 2> /dev/null || echo 0; }
target=0
while (( target < STEPS )); do
  next=$(( target + CHUNK < STEPS ? target + CHUNK : STEPS ))
  if [[ -n ${DEADLINE:-} && -n ${round_seconds:-} ]] && (( $(date +%s) + round_seconds > DEADLINE )); then
    echo "ablation: deadline — stopping at $target steps per variant"; break
  fi
  round_start=$(date +%s)
  for row in 1 2 3 4 5 6; do
    run="$OUT/ablation-$row"
    done_steps=0
    [[ -f $run/checkpoint.bin ]] && done_steps=$(steps_of "$run")
    (( done_steps >= next )) && continue
    echo "ablation-$row: steps $done_steps → $next of $STEPS"
    t0=$(date +%s)
    if [[ -f $run/checkpoint.bin ]]; then
      flock "$LOCK" "${DF[@]}" train --resume "$run" --max-steps "$next"
    else
      flock "$LOCK" "${DF[@]}" train --dataset fashion-mnist --config "$OUT/ablation-$row.json" --seed "$SEED" --batch 64 \
        --warmup "$WARMUP" --max-steps "$next" --checkpoint-every "$CHUNK" --eval-images 64 --samples 0 --out "$run"
    fi
    echo $(( $(cat "$OUT/ablation-$row.seconds" 2> /dev/null || echo 0) + $(date +%s) - t0 )) > "$OUT/ablation-$row.seconds"
  done
  round_seconds=$(( $(date +%s) - round_start ))
  target=$next
done
trained=$STEPS
for row in 1 2 3 4 5 6; do s=$(steps_of "$OUT/ablation-$row"); (( s < trained )) && trained=$s; done
echo "ablation: evaluating at $trained steps per variant"

for row in 1 2 3 4 5 6; do
  result="$OUT/ablation-$row.eval.json"
  [[ -f $result ]] && continue
  flock "$LOCK" "${DF[@]}" eval --run "$OUT/ablation-$row" --split test --limit "$EVAL_IMAGES" --k "$IWBO_K" --json > "$result.tmp"
  mv "$result.tmp" "$result"
done

# docs/ABLATION.md
describe=("" "no augmentation, Glow coupling (one unit per block)" "white noise, Glow coupling" "preconditioned, Glow coupling"
          "no augmentation, DenseFlow coupling" "white noise, DenseFlow coupling" "preconditioned, DenseFlow coupling")
paper=("" 3.42 3.40 3.37 3.14 3.08 3.07)
{
  echo "# Table 4 ablation, scaled to Fashion-MNIST"
  echo
  echo "Made by \`bench/ablation.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $trained steps of batch 64 per variant"
  echo "(the same $(( trained * 64 )) training images in the same order, seed $SEED, warm-up $WARMUP), IWBO with"
  echo "K = $IWBO_K on the first $EVAL_IMAGES Fashion-MNIST test images. Scaling rule: see the script's header"
  echo "(fmnist-cpu architecture; widths × 32/48). The paper's column is DenseFlow-45-6 on CIFAR-10 after"
  echo "300 + 10 epochs: compare the order of the rows, not the values. Same figures again:"
  echo "\`STEPS=$trained CHUNK=$CHUNK WARMUP=$WARMUP SEED=$SEED IWBO_K=$IWBO_K EVAL_IMAGES=$EVAL_IMAGES bash bench/ablation.sh\`"
  echo "(resuming between chunks is bit-exact on CPU, so CHUNK does not change them)."
  echo
  echo "| # | augmentation, coupling | parameters | training wall time (s) | test IWBO bits/dim | test ELBO bits/dim | paper (CIFAR-10) |"
  echo "|---|---|---|---|---|---|---|"
  for row in 1 2 3 4 5 6; do
    r="$OUT/ablation-$row.eval.json"
    params=$("${DF[@]}" info --config "$OUT/ablation-$row.json" | grep -o 'trainable parameters: [0-9,]*' | cut -d' ' -f3)
    printf '| %s | %s | %s | %s | %.4f | %.4f | %s |\n' "$row" "${describe[$row]}" "${params:-?}" "$(cat "$OUT/ablation-$row.seconds" 2> /dev/null || echo ?)" \
      "$(jq .bpd "$r")" "$(jq .elbo_bpd "$r")" "${paper[$row]}"
  done
  # The reading of the figures is written by hand below this marker; a new run keeps it (re-read it!).
  marker='<!-- reading: kept by bench/ablation.sh -->'
  if [[ -f $DOC ]] && grep -qF "$marker" "$DOC"; then echo; awk -v m="$marker" '$0 == m { keep = 1 } keep' "$DOC"; fi
} > "$DOC.tmp"
mv "$DOC.tmp" "$DOC"
echo "wrote $DOC"
