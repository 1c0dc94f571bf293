#!/usr/bin/env bash
# DenseFlow.NET against PyTorch 1.13 on this machine: the same training step (bench/torch-port, our model
# translated to PyTorch and checked against the official fixture), the two run as alternating processes
# (ABBA), one at a time, each bracketed by the same calibration conv. Prints every pair and the medians.
# Needs Debian's python3-torch (apt-get install -y python3-torch).
# Usage: bash bench/compare-torch.sh [PRESET] [BATCH] [PAIRS] [WARMUP] [REPEATS]   (small32x1 32 6 1 5)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-small32x1}; batch=${2:-32}; pairs=${3:-6}; warmup=${4:-1}; repeats=${5:-5}
[[ $batch == 32 || $batch == 64 ]] || { echo "bench/compare-torch.sh: BATCH must be 32 or 64, got '$batch'" >&2; exit 2; }
[[ $pairs =~ ^[1-9][0-9]*$ && $warmup =~ ^[0-9]+$ && $repeats =~ ^[1-9][0-9]*$ ]] \
  || { echo "bench/compare-torch.sh: PAIRS, WARMUP and REPEATS must be integers (PAIRS, REPEATS ≥ 1)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null \
  || { echo "bench/compare-torch.sh: needs Debian's python3-torch (apt-get install -y python3-torch)" >&2; exit 2; }
dotnet build src/DenseFlow.Cli -c Release -nologo -v q >&2
out=$(mktemp -d /tmp/compare-torch.XXXXXX)
trap 'rm -rf "$out"' EXIT
for ((i = 1; i <= pairs; i++)); do
  order=(ours torch); (( i % 2 == 0 )) && order=(torch ours)
  for who in "${order[@]}"; do
    if [[ $who == ours ]]; then
      src/DenseFlow.Cli/bin/Release/net10.0/denseflow bench --child \
        "{\"name\":\"train_b$batch\",\"preset\":\"$preset\",\"warmup\":$warmup,\"repeats\":$repeats,\"calibration_repeats\":1,\"seed\":1}" \
        | grep '^{' | tail -1 > "$out/$i-ours.json"
    else
      /usr/bin/python3 bench/torch-port/bench_torch.py --preset "$preset" --batch "$batch" --warmup "$warmup" \
        --repeats "$repeats" | grep '^{' | tail -1 > "$out/$i-torch.json"
    fi
    echo "$(date +%H:%M:%S) pair $i: $who done" >&2
  done
done
python3 - "$out" "$pairs" "$preset" "$batch" <<'PY'
import json, statistics as st, sys
out, pairs, preset, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
# ANCHORS.md: the reference's images/s and its PyTorch calibration conv (fwd+bwd mid-point).
reference = {('small32x1', 32): 9.8, ('small32x1', 64): 10.0, ('df-74-10', 32): 1.74, ('df-74-10', 64): 1.75}.get((preset, batch))
rows = []
for i in range(1, pairs + 1):
    o = json.load(open(f'{out}/{i}-ours.json')); t = json.load(open(f'{out}/{i}-torch.json'))
    oc, tc = o['calibration_gflops'], t['calibration_fwd_bwd_gflops']
    r = dict(ours=o['median_seconds'], torch=t['median_seconds'], ratio=t['median_seconds'] / o['median_seconds'])
    if reference:
        r['norm_ours'] = o['images_per_second'] / reference / (oc / 198)
        r['norm_torch'] = t['images_per_second'] / reference / (tc / 198)
    rows.append(r)
    print(f"pair {i}: DenseFlow.NET {o['median_seconds']:.3f} s (calib {oc:.1f} GFLOP/s, CPU share {o['cpu_share']:.2f}, "
          f"peak RSS {o['peak_rss_bytes'] / 2**30:.2f} GiB) | PyTorch {t['torch_version']} {t['median_seconds']:.3f} s "
          f"(calib {tc:.1f}, CPU share {t['cpu_share']:.2f}, peak RSS {t['peak_rss_bytes'] / 2**30:.2f} GiB) | "
          f"PyTorch time / ours {r['ratio']:.3f}" + (f" | normalised to ANCHORS.md: ours {r['norm_ours']:.2f}, PyTorch {r['norm_torch']:.2f}" if reference else ''))
m = lambda k: st.median(r[k] for r in rows)
print(f"{preset} batch {batch}, {pairs} pairs: median step DenseFlow.NET {m('ours'):.3f} s, PyTorch {m('torch'):.3f} s; "
      f"median PyTorch time / ours {m('ratio'):.3f}" + (f"; median normalised to ANCHORS.md: ours {m('norm_ours'):.2f}, PyTorch {m('norm_torch'):.2f}" if reference else ''))
PY
