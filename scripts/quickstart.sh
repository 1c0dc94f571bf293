#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, train the CPU preset on
# Fashion-MNIST for a bounded time, evaluate test bits/dim, write samples and the training curve.
# Usage: bash scripts/quickstart.sh [MINUTES] [RUN_DIR]   (defaults: 10 minutes, runs/fashion-mnist-<time>)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
minutes=${1:-10}
run=${2:-runs/fashion-mnist-$(date +%Y%m%d-%H%M%S)}

dotnet build src/DenseFlow.Cli -c Release -nologo -v q
denseflow() { dotnet src/DenseFlow.Cli/bin/Release/net10.0/denseflow.dll "$@"; }

denseflow train --dataset fashion-mnist --minutes "$minutes" --out "$run"
denseflow eval --run "$run" --k 16 --limit 500 --json > "$run/eval.json"
bpd=$(grep -o '"bpd": *[0-9.]*' "$run/eval.json" | head -1 | grep -o '[0-9.]*$' || true)
denseflow sample --run "$run" -n 64 --temperature 0.8 --out "$run/samples-t0.8.png" --scale 2
echo
echo "test bits/dim: ${bpd:-see $run/eval.json} (importance-weighted bound, K = 16, first 500 test images)"
echo "results in $run:"
echo "  training curve   $run/curve.png"
echo "  samples          $run/samples-t0.8.png and $run/samples/ (one grid per epoch)"
echo "  test bits/dim    $run/eval.json"
echo "  metrics          $run/metrics.jsonl (TensorBoard: $run/tensorboard)"
echo "  model            $run/model.dfn (checkpoint: $run/checkpoint.bin)"
