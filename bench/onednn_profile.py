#!/usr/bin/env python3
"""Where a training step's oneDNN time goes: aggregates ONEDNN_VERBOSE=1 output per primitive.

    python3 bench/onednn_profile.py LOG STEPS [--last K] [--json]

LOG is the stdout of a process run with ONEDNN_VERBOSE=1 (oneDNN 3.x lines `onednn_verbose,v1,primitive,exec,...`
from TorchSharp's libtorch, or oneDNN 2.x lines `onednn_verbose,exec,...` from PyTorch 1.13); STEPS is how many
training steps it ran (each with a backward pass), to report per step. With --last K only the last K steps count
(the timed ones: the first steps also fault fresh memory in and ran up to 5x slower per call); steps are found where a
forward convolution follows backward ones. The calibration conv (64x48x32x32) is
left out. Convolutions are grouped by pass (forward, backward data, backward weights), kernel size and map size,
with their GFLOP/s (FLOP = 2 MAC); reorders (NCHW <-> oneDNN's blocked layout) by activations and weights.
`bench/onednn-profile.sh` runs a step under it.
"""
import collections
import json
import re
import sys

CONV = re.compile(r'mb(\d+)_(?:g\d+)?ic(\d+)oc(\d+)_ih(\d+)oh(\d+)kh(\d+)sh\d+dh\d+ph\d+_iw(\d+)ow(\d+)kw(\d+)')
CALIBRATION = ('mb64_ic48oc48_ih32', '64x48x32x32', '48x48x3x3')


def records(lines):
    """(primitive, implementation, propagation, problem, milliseconds) of every executed primitive."""
    for line in lines:
        f = line.rstrip('\n').split(',')
        if f[0] != 'onednn_verbose':
            continue
        if len(f) > 4 and f[1] == 'v1' and f[2] == 'primitive' and f[3] == 'exec':
            f = f[4:]          # 3.x: v1,primitive,exec,cpu,kind,impl,prop,...
        elif len(f) > 2 and f[1] == 'exec':
            f = f[2:]          # 2.x: exec,cpu,kind,impl,prop,...
        else:
            continue
        try:
            yield f[1], f[2], f[3], f[-2], float(f[-1])
        except (IndexError, ValueError):
            continue


def last_steps(lines, k):
    """The verbose lines of the last k training steps, and how many steps the log holds (its backward passes).
    A step after the first starts at a forward convolution that follows backward ones."""
    starts, backward_passes, in_backward = [], 0, False
    for i, line in enumerate(lines):
        rec = next(records([line]), None)
        if rec is None or rec[0] != 'convolution' or any(c in rec[3] for c in CALIBRATION):
            continue
        if rec[2].startswith('backward'):
            backward_passes += not in_backward
            in_backward = True
        elif in_backward:
            starts.append(i)
            in_backward = False
    first = backward_passes - k   # index of the first kept step, 0-based
    if not 0 <= first < backward_passes:
        return [], backward_passes
    return (lines if first == 0 else lines[starts[first - 1]:]), backward_passes


def profile(lines, steps):
    groups = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for kind, impl, prop, problem, ms in records(lines):
        if any(c in problem for c in CALIBRATION):
            continue
        if kind == 'convolution':
            m = CONV.match(problem)
            if not m:
                continue
            mb, ic, oc, ih, oh, kh, iw, ow, kw = map(int, m.groups())
            key = ('conv', prop, f'{kh}x{kw}', f'{ih}x{iw}')
            flop = 2.0 * mb * ic * oc * oh * ow * kh * kw
        elif kind == 'reorder':
            dims = problem.split('x')
            weights = len(dims) == 4 and dims[2] == dims[3] and int(dims[2]) <= 3 or len(dims) < 4
            key = ('reorder', 'weights/bias' if weights else 'activations', '', '')
            flop = 0.0
        else:
            key = (kind, prop, '', '')
            flop = 0.0
        g = groups[key]
        g[0] += 1
        g[1] += ms
        g[2] += flop
    rows = [{'primitive': k[0], 'pass': k[1], 'kernel': k[2], 'map': k[3], 'calls_per_step': c / steps,
             'ms_per_step': ms / steps, 'gflops': (fl / ms / 1e6) if ms > 0 and fl > 0 else None}
            for k, (c, ms, fl) in groups.items()]
    rows.sort(key=lambda r: -r['ms_per_step'])
    return rows


def implementations(lines, steps):
    """Calls and time per step by oneDNN implementation (e.g. brg_conv_fwd:avx512_core, jit:uni), per primitive kind."""
    groups = collections.defaultdict(lambda: [0, 0.0])
    for kind, impl, prop, problem, ms in records(lines):
        if any(c in problem for c in CALIBRATION):
            continue
        g = groups[(kind, impl)]
        g[0] += 1
        g[1] += ms
    return sorted(({'primitive': k[0], 'implementation': k[1], 'calls_per_step': c / steps, 'ms_per_step': ms / steps}
                   for k, (c, ms) in groups.items()), key=lambda r: -r['ms_per_step'])


def main(argv):
    if len(argv) < 3:
        sys.exit('usage: onednn_profile.py LOG STEPS [--last K] [--json]')
    try:
        steps = int(argv[2])
        if steps < 1:
            raise ValueError
    except ValueError:
        sys.exit(f'onednn_profile.py: STEPS must be a positive integer, got {argv[2]!r}')
    try:
        with open(argv[1], encoding='utf-8', errors='replace') as f:
            lines = f.readlines()
        if '--last' in argv[3:]:
            i = argv.index('--last')
            try:
                last = int(argv[i + 1]) if i + 1 < len(argv) else 0
            except ValueError:
                last = 0
            if not 1 <= last <= steps:
                sys.exit(f'onednn_profile.py: --last needs a step count from 1 to STEPS ({steps})')
            kept, found = last_steps(lines, last)
            if found == 0:
                sys.exit(f'onednn_profile.py: {argv[1]} has no backward convolutions in oneDNN verbose lines (run with ONEDNN_VERBOSE=1)')
            lines = kept
            if found != steps:
                sys.exit(f'onednn_profile.py: {argv[1]} holds {found} training steps, STEPS says {steps}')
            steps = last
        rows = profile(lines, steps)
        impls = implementations(lines, steps)
    except OSError as e:
        sys.exit(f'onednn_profile.py: cannot read {argv[1]}: {e.strerror}')
    if not rows:
        sys.exit(f'onednn_profile.py: {argv[1]} has no oneDNN verbose lines (run with ONEDNN_VERBOSE=1)')
    if '--json' in argv[3:]:
        print(json.dumps({'groups': rows, 'implementations': impls}))
        return
    total = sum(r['ms_per_step'] for r in rows)
    conv = sum(r['ms_per_step'] for r in rows if r['primitive'] == 'conv')
    reorder = sum(r['ms_per_step'] for r in rows if r['primitive'] == 'reorder')
    other = max(0.0, total - conv - reorder)
    print(f'oneDNN time per step: {total:.0f} ms = convolutions {conv:.0f} ms ({conv / total:.0%}) '
          f'+ reorders {reorder:.0f} ms ({reorder / total:.0%})' + (f' + other {other:.0f} ms' if other >= 0.5 else ''))
    print(f'| primitive | pass | kernel | map | calls/step | ms/step | share | GFLOP/s |')
    print(f'|---|---|---|---|---|---|---|---|')
    for r in rows:
        if r['ms_per_step'] < 0.005 * total:
            continue
        gf = f"{r['gflops']:.0f}" if r['gflops'] else ''
        print(f"| {r['primitive']} | {r['pass']} | {r['kernel']} | {r['map']} | {r['calls_per_step']:.0f} | "
              f"{r['ms_per_step']:.1f} | {r['ms_per_step'] / total:.1%} | {gf} |")

    print()
    print('| primitive | implementation | calls/step | ms/step |')
    print('|---|---|---|---|')
    for r in impls:
        if r['ms_per_step'] >= 0.005 * total:
            print(f"| {r['primitive']} | {r['implementation']} | {r['calls_per_step']:.0f} | {r['ms_per_step']:.1f} |")


if __name__ == '__main__':
    main(sys.argv)
