#!/usr/bin/env python3
"""A MODEL (not a measurement) of data-parallel DF-74-10 training with `mpiexec -n N denseflow train`.

Step time on N GPUs = compute + host staging of the gradients + bucketed ring all-reduce + the small
latency-bound all-reduces (synchronised BatchNorm, ActNorm init, the per-step decision). Our trainer
all-reduces after the backward pass (no overlap), so nothing is hidden. Every constant is an assumption
stated below; change them and rerun.  Usage: python3 bench/scaling-model.py
"""
import math

PARAMS = 130.6e6                 # DF-74-10 trainable parameters (denseflow info --preset df-74-10)
GRAD_BYTES = PARAMS * 4          # float32 gradients
TRAIN_FLOP_PER_IMAGE = 3 * 32.85e9  # forward 32.85 GFLOP/image (docs/PERFORMANCE.md), training ~3x
BATCH_PER_GPU = 32
BUCKET_BYTES = 4 * (1 << 22)     # GradientBuckets.BucketElements float32
ALPHA = 10e-6                    # per-message network latency (s)
SMALL_ALLREDUCES = 5 * 78 + 1    # ≤78 BatchNorm layers x (count, mean, var forward + 2 backward), + 1 decision
SMALL_STAGING = 20e-6            # device<->host copy + sync per small all-reduce (s)
GPUS = {                         # effective FP32 conv throughput, effective PCIe bandwidth (assumed)
    "V100": (6.0e12, 12e9),      # ~40% of 15.7 TFLOP/s peak; PCIe 3.0 x16
    "A100": (12.0e12, 24e9),     # FP32/TF32 mix; PCIe 4.0 x16
}

def step(gpu, n, gbps):
    flops, pcie = GPUS[gpu]
    compute = TRAIN_FLOP_PER_IMAGE * BATCH_PER_GPU / flops
    staging = 2 * GRAD_BYTES / pcie                      # device->host and back
    buckets = math.ceil(GRAD_BYTES / BUCKET_BYTES)
    ring = 2 * (n - 1) / n * GRAD_BYTES / (gbps / 8 * 1e9) + 2 * (n - 1) * ALPHA * buckets
    small = SMALL_ALLREDUCES * (SMALL_STAGING + math.log2(n) * ALPHA)
    comm = staging + ring + small
    return compute, comm, compute / (compute + comm)

print(f"gradient bytes per step: {GRAD_BYTES / 1e6:.0f} MB in {math.ceil(GRAD_BYTES / BUCKET_BYTES)} buckets; "
      f"{TRAIN_FLOP_PER_IMAGE * BATCH_PER_GPU / 1e12:.2f} TFLOP per GPU per step at batch {BATCH_PER_GPU}/GPU")
print("| GPU | link | compute s | " + " | ".join(f"N={n}: comm s / eff." for n in (2, 4, 8, 16, 32, 64)) + " |")
print("|---|---|---|" + "---|" * 6)
for gpu in GPUS:
    for gbps in (25, 100, 400):
        cells = []
        for n in (2, 4, 8, 16, 32, 64):
            c, m, e = step(gpu, n, gbps)
            cells.append(f"{m:.3f} / {100 * e:.0f}%")
        print(f"| {gpu} | {gbps} Gb/s | {c:.3f} | " + " | ".join(cells) + " |")
