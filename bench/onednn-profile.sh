#!/usr/bin/env bash
# One training step's oneDNN time by primitive (convolutions per pass / kernel / map size, reorders between
# NCHW and oneDNN's blocked layout): runs a `denseflow bench` training child with ONEDNN_VERBOSE=1 and
# aggregates its log with bench/onednn_profile.py over the timed steps (not the first ones, which fault fresh
# memory in). With --reference, also the PyTorch 1.13 port of the same model (bench/torch-port/, needs
# Debian's python3-torch) on the same preset and batch, right after.
# Usage: bash bench/onednn-profile.sh [PRESET] [BATCH] [--reference]      (defaults: small32x1 32)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=small32x1; batch=32; reference=0
for a in "$@"; do
  case "$a" in
    --reference) reference=1 ;;
    [0-9]*) batch=$a ;;
    -*) echo "bench/onednn-profile.sh: unknown option '$a' (expected PRESET, BATCH, --reference)" >&2; exit 2 ;;
    *) preset=$a ;;
  esac
done
[[ $batch == 32 || $batch == 64 ]] || { echo "bench/onednn-profile.sh: BATCH must be 32 or 64, got '$batch'" >&2; exit 2; }
dotnet build src/DenseFlow.Cli -c Release -nologo -v q >&2
log=$(mktemp /tmp/onednn-profile.XXXXXX)
trap 'rm -f "$log"' EXIT
step_summary='import json, sys; d = json.load(sys.stdin); p = d["phases"]
print("  %.2f s (forward %.2f, backward %.2f)" % (d["median_seconds"], p["forward"], p["backward"]))'
warmup=1; repeats=2; steps=$((1 + warmup + repeats))   # the ActNorm-initialising step, warm-up, timed steps
ONEDNN_VERBOSE=1 src/DenseFlow.Cli/bin/Release/net10.0/denseflow bench --child \
  "{\"name\":\"train_b$batch\",\"preset\":\"$preset\",\"warmup\":$warmup,\"repeats\":$repeats,\"calibration_repeats\":1,\"seed\":1}" > "$log"
echo "DenseFlow.NET (TorchSharp, libtorch 2.10), $preset, training step at batch $batch; median step under verbose logging:"
grep '^{' "$log" | tail -1 | python3 -c "$step_summary"
python3 bench/onednn_profile.py "$log" $steps --last $repeats
if (( reference )); then
  command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c 'import torch' 2>/dev/null \
    || { echo "bench/onednn-profile.sh: --reference needs Debian's python3-torch (apt-get install python3-torch)" >&2; exit 2; }
  # oneDNN 2.6 (PyTorch 1.13) reads DNNL_VERBOSE.
  DNNL_VERBOSE=1 /usr/bin/python3 bench/torch-port/bench_torch.py --preset "$preset" --batch "$batch" \
    --warmup $warmup --repeats $repeats > "$log"
  echo; echo "PyTorch 1.13 port (bench/torch-port), same preset and batch; median step under verbose logging:"
  grep '^{' "$log" | tail -1 | python3 -c "$step_summary"
  python3 bench/onednn_profile.py "$log" $steps --last $repeats
fi
