#!/usr/bin/env bash
# The benchmark harness: builds the tool and runs `denseflow bench` with the given options, writing the
# report to bench/results/<preset>-<time>.json unless --json is given.
# Usage: bash bench/run.sh [--preset small32x1|df-74-10|… | --config FILE] [--only LIST] [--repeats N] [--recompute on|F] …
#   bash bench/run.sh --preset small32x1
#   bash bench/run.sh --preset df-74-10 --only calibration,train --repeats 5 --recompute on
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/DenseFlow.Cli -c Release -nologo -v q >&2
args=("$@")
if [[ " $* " != *" --json "* ]]; then
  preset=small32x1
  for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[$i]} == --preset ]] && preset=${args[$((i + 1))]:-$preset}; done
  mkdir -p bench/results
  args+=(--json "bench/results/${preset}-$(date +%Y%m%d-%H%M%S).json")
fi
exec src/DenseFlow.Cli/bin/Release/net10.0/denseflow bench "${args[@]}"
