#!/usr/bin/env bash
# The long-run checks of docs/PERFORMANCE.md and docs/RELIABILITY.md: resident memory and open files
# over many training steps. Writes bench/results/soak-*.json and .csv.
# Usage: bash bench/soak.sh [short|long]
#   short: fmnist-cpu, 1,000 steps at batch 16 (~17 min on 2 cores)
#   long:  bench/configs/soak-tiny.json, 10,000 steps at batch 16 (~17 min)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
dotnet build src/DenseFlow.Cli -c Release -nologo -v q >&2
mkdir -p bench/results
stamp=$(date +%Y%m%d-%H%M%S)
denseflow=src/DenseFlow.Cli/bin/Release/net10.0/denseflow
case "${1:-short}" in
  short) exec "$denseflow" soak --preset fmnist-cpu --steps 1000 --batch 16 --sample-every 25 \
           --json "bench/results/soak-fmnist-cpu-$stamp.json" --csv "bench/results/soak-fmnist-cpu-$stamp.csv" ;;
  long)  exec "$denseflow" soak --config bench/configs/soak-tiny.json --steps 10000 --batch 16 --sample-every 100 --checkpoint-every 500 \
           --json "bench/results/soak-tiny-$stamp.json" --csv "bench/results/soak-tiny-$stamp.csv" ;;
  *) echo "bench/soak.sh: expected short or long, got '$1'" >&2; exit 2 ;;
esac
