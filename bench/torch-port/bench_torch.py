"""Training-step benchmark of the PyTorch translation (denseflow_torch.py): what PyTorch itself achieves
on this machine for the step our C# benchmark times (src/DenseFlow.Benchmarks/Benchmark.cs, `Train`).

One measurement per process, as the C# child protocol does (`RunOne`):
  1. calibration conv, forward and forward+backward (Benchmark.BracketCalibration: 2 warm-up, 10 timed);
  2. peak RSS reset (/proc/self/clear_refs, where allowed);
  3. model built with torch.manual_seed(seed), train mode; random 8-bit images (int64);
  4. one first step (initialises ActNorm), --warmup untimed steps, --repeats timed steps; each step is
     optimizer.zero_grad(); loss = mean bits/dim of the single-sample bound (−L(x)/(D ln 2));
     loss.backward(); torch.optim.Adamax(lr=1e-3).step(); timed by phase (the optimizer phase includes
     zero_grad, as in C# TimedTrainingStep);
  5. peak RSS (VmHWM) read; calibration conv again, right after the timed steps.

Prints a human summary, then one JSON line (last line of stdout). Bad arguments: one line, exit 2.

    /usr/bin/python3 bench/torch-port/bench_torch.py --preset small32x1 --batch 32 --warmup 1 --repeats 5
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import denseflow_torch as df  # noqa: E402

# Benchmark.cs: Conv2d 3×3, 48→48, padding 1, on 64×48×32×32.
CALIBRATION_BATCH, CALIBRATION_CHANNELS, CALIBRATION_SIZE = 64, 48, 32
BRACKET_REPEATS = 10
CALIBRATION_GFLOP = df.conv2d_gflop(CALIBRATION_CHANNELS, CALIBRATION_CHANNELS, 3, CALIBRATION_SIZE, CALIBRATION_SIZE, CALIBRATION_BATCH)  # 2.718


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"bench_torch.py: {message}", file=sys.stderr)
        sys.exit(2)


# ───────────────────────────── process memory (ProcessMemory.cs) ─────────────────────────────

def _status_kb(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    parts = line[len(key):].split()
                    return int(parts[0]) if parts else 0
    except OSError:
        pass
    return 0


def peak_rss_bytes():
    return _status_kb("VmHWM:") * 1024


def current_rss_bytes():
    return _status_kb("VmRSS:") * 1024


def try_reset_peak():
    """Resets VmHWM to the current RSS by writing 5 to /proc/self/clear_refs (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return None


# ───────────────────────────── timing (Benchmark.cs) ─────────────────────────────

def median(values):
    return statistics.median(values) if values else float("nan")


def time_runs(warmup, repeats, run):
    """`warmup` untimed runs, then `repeats` timed; also the process's CPU share over the timed runs
    (process CPU time ÷ (wall time × threads))."""
    for _ in range(warmup):
        run(False)
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    seconds = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(True)
        seconds.append(time.perf_counter() - t)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    return seconds, cpu / max(1e-9, wall * torch.get_num_threads())


def calibration(seed, backward, warmup=2, repeats=BRACKET_REPEATS):
    """Benchmark.Calibration: nn.Conv2d(48,48,3,padding=1) with bias on randn 64×48×32×32; forward under
    no_grad, or forward + autograd.grad wrt input, weight and bias with a randn output gradient.
    Returns (GFLOP/s from the median, CPU share); forward+backward counts 3× the forward's GFLOP."""
    n, c, s = CALIBRATION_BATCH, CALIBRATION_CHANNELS, CALIBRATION_SIZE
    torch.manual_seed(seed)
    conv = nn.Conv2d(c, c, 3, padding=1)
    x = torch.randn(n, c, s, s).requires_grad_(backward)
    grad = torch.randn(n, c, s, s)
    inputs = [x, *conv.parameters()]

    def run(_timed):
        if not backward:
            with torch.no_grad():
                conv(x)
        else:
            y = conv(x)
            # autograd.grad computes d/dx and d/dw (2× the forward's work) without accumulating into .grad.
            torch.autograd.grad([y], inputs, [grad])

    seconds, share = time_runs(max(warmup, 2), max(1, repeats), run)
    gflop = CALIBRATION_GFLOP * (3 if backward else 1)
    return gflop / median(seconds), share


def bracket_calibration(seed):
    """Forward and forward+backward calibration, each 2 warm-up + 10 timed runs."""
    fwd, fwd_share = calibration(seed, backward=False)
    fwd_bwd, fwd_bwd_share = calibration(seed, backward=True)
    return {"fwd": fwd, "fwd_bwd": fwd_bwd, "fwd_share": fwd_share, "fwd_bwd_share": fwd_bwd_share}


def images(config, n, seed):
    """Uniform random 8-bit images, int64 (Benchmark.Images: generator seeded with seed + 12345)."""
    g = torch.Generator(device="cpu")
    g.manual_seed(seed + 12345)
    return torch.randint(0, 1 << config.num_bits, (n, *config.input_shape), dtype=torch.int64, generator=g)


def timed_training_step(model, optimizer, x, scale):
    """One training step timed by phase: forward, backward, optimizer (incl. zero_grad), total."""
    t_start = time.perf_counter()
    optimizer.zero_grad(set_to_none=False)  # torch 1.13's default; zeroes in place as our C# Adamax.ZeroGrad
    t0 = time.perf_counter() - t_start
    loss = -model.log_likelihood(x).mean() / scale
    t1 = time.perf_counter() - t_start
    loss.backward()
    t2 = time.perf_counter() - t_start
    optimizer.step()
    t3 = time.perf_counter() - t_start
    return t1 - t0, t2 - t1, t3 - t2 + t0, t3, float(loss.detach())


# ───────────────────────────── main ─────────────────────────────

def parse_args(argv):
    p = OneLineParser(description="Training-step benchmark of the PyTorch DenseFlow translation (one batch size per process).")
    p.add_argument("--preset", default="small32x1", help=f"one of: {', '.join(df.PRESETS)} (default: %(default)s)")
    p.add_argument("--batch", type=int, default=32, help="images per step (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps after the first (ActNorm-initialising) step (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=5, help="timed steps (default: %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads, torch.set_num_threads (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="seed of the model init, the images and the noise (default: %(default)s)")
    a = p.parse_args(argv)
    if a.preset not in df.PRESETS:
        p.error(f"--preset: unknown preset '{a.preset}' (expected one of: {', '.join(df.PRESETS)})")
    if a.batch < 1:
        p.error(f"--batch must be at least 1, got {a.batch}")
    if a.warmup < 0:
        p.error(f"--warmup must be zero or more, got {a.warmup}")
    if a.repeats < 1:
        p.error(f"--repeats must be at least 1, got {a.repeats}")
    if a.threads < 1:
        p.error(f"--threads must be at least 1, got {a.threads}")
    if a.seed < 0:
        p.error(f"--seed must be zero or more, got {a.seed}")
    return a


def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    threads = torch.get_num_threads()
    config = df.preset(a.preset)
    load_start = load_average()

    # The machine's conv speed drifts from minute to minute (shared hosts), so the measurement
    # brackets itself with the calibration conv, run just before and just after it.
    cal_before = bracket_calibration(a.seed)

    rss_start = current_rss_bytes()
    reset = try_reset_peak()

    torch.manual_seed(a.seed)
    model = df.DenseFlowModel(config, df.SeededNoise(a.seed))
    model.train()
    x = images(config, a.batch, a.seed)
    optimizer = torch.optim.Adamax([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    scale = config.dimensions * math.log(2)
    forward, backward, update, losses = [], [], [], []

    def step(timed):
        f, b, u, _, loss = timed_training_step(model, optimizer, x, scale)
        losses.append(loss)
        if timed:
            forward.append(f)
            backward.append(b)
            update.append(u)

    first = time.perf_counter()
    step(False)  # the first training-mode step initialises ActNorm
    first_seconds = time.perf_counter() - first
    seconds, share = time_runs(a.warmup, a.repeats, step)
    peak = peak_rss_bytes()

    cal_after = bracket_calibration(a.seed)

    med = median(seconds)
    ips = a.batch / med
    phases = {"forward": median(forward), "backward": median(backward), "optimizer": median(update)}
    gflop_per_image = df.forward_conv_gflop_per_image(config)
    model_gflops = gflop_per_image * ips * 3
    cal_fwd = (cal_before["fwd"] + cal_after["fwd"]) / 2
    cal_fwd_bwd = (cal_before["fwd_bwd"] + cal_after["fwd_bwd"]) / 2
    spread = abs(cal_after["fwd_bwd"] - cal_before["fwd_bwd"]) / cal_fwd_bwd
    spread_fwd = abs(cal_after["fwd"] - cal_before["fwd"]) / cal_fwd
    if not all(math.isfinite(v) for v in losses):
        print("bench_torch.py: warning: a loss was not finite", file=sys.stderr)

    result = {
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "machine": f"{cpu_model()}, {os.cpu_count()} logical CPUs",
        "threads": threads,
        "preset": a.preset,
        "batch": a.batch,
        "warmup": a.warmup,
        "repeats": a.repeats,
        "seed": a.seed,
        "parameter_count": model.parameter_count,
        "seconds": seconds,
        "median_seconds": med,
        "images_per_second": ips,
        "phases": phases,
        "first_step_seconds": first_seconds,
        "peak_rss_bytes": peak,
        "peak_rss_reset": reset,
        "rss_at_start_bytes": rss_start,
        "cpu_share": share,
        "conv_gflop_per_image": gflop_per_image,
        "model_gflops": model_gflops,
        "calibration_gflop": CALIBRATION_GFLOP,
        "calibration_fwd_gflops": cal_fwd,
        "calibration_fwd_bwd_gflops": cal_fwd_bwd,
        "calibration_spread": spread,
        "calibration_fwd_spread": spread_fwd,
        "calibration_before": cal_before,
        "calibration_after": cal_after,
        "fraction_of_calibration": model_gflops / cal_fwd_bwd if cal_fwd_bwd > 0 else None,
        "losses_bpd": losses,
        "load_average_start": load_start,
        "load_average_end": load_average(),
    }

    mib = 1 / 1048576
    print(f"PyTorch {torch.__version__}, {threads} threads, {cpu_model()}")
    print(f"preset {a.preset} ({model.parameter_count:,} parameters), batch {a.batch}, warm-up {a.warmup}, {a.repeats} timed steps")
    print(f"step: median {med:.4f} s ({', '.join(f'{s:.4f}' for s in seconds)}), {ips:.2f} images/s; first step {first_seconds:.4f} s")
    print(f"phases (median s): forward {phases['forward']:.4f}, backward {phases['backward']:.4f}, optimizer {phases['optimizer']:.4f}")
    print(f"loss (bpd): first {losses[0]:.4f}, last {losses[-1]:.4f}")
    print(f"peak RSS {peak * mib:.0f} MiB (reset {'yes' if reset else 'no'}, RSS at start {rss_start * mib:.0f} MiB); CPU share {share:.2f}")
    print(f"model: {gflop_per_image:.3f} forward conv GFLOP/image, {model_gflops:.1f} GFLOP/s (fwd+bwd counted 3x), "
          f"{result['fraction_of_calibration']:.3f} of calibration fwd+bwd")
    print(f"calibration (GFLOP/s, before/after): fwd {cal_before['fwd']:.1f}/{cal_after['fwd']:.1f}, "
          f"fwd+bwd {cal_before['fwd_bwd']:.1f}/{cal_after['fwd_bwd']:.1f}; spread {spread:.3f} (fwd {spread_fwd:.3f})")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
