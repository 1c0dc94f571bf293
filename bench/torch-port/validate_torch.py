"""Checks the PyTorch translation (denseflow_torch.py) against the official-small reference fixture.

The same replay as our C# src/DenseFlow/Evaluation/ReferenceVerification.cs: build the fixture's
model (official-small), load checkpoint.pt strictly, eval mode, replay the recorded draws of one
log_prob pass (case.npz noise_000...) and compare the per-image log-likelihood (1e-2 nats absolute)
and the final latent z (1e-4); then replay the recorded sampling draws and compare the images
(as C#: at most 0.5% of pixels may differ, by at most 1, from float32 rounding at quantisation
boundaries). Per-transform outputs and the bound's terms are printed to localise a mismatch.

Exit codes: 0 PASS, 1 FAIL, 2 missing or malformed fixture file (one line naming the file).

    /usr/bin/python3 bench/torch-port/validate_torch.py [--fixture DIR] [--weights FILE] [--threads N]
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import denseflow_torch as df  # noqa: E402

LOGLIK_TOLERANCE = 1e-2    # nats, absolute
LATENT_TOLERANCE = 1e-4
DIFFERING_PIXEL_FRACTION = 0.005


class FixtureError(Exception):
    pass


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"validate_torch.py: {message}", file=sys.stderr)
        sys.exit(2)


def read_config(fixture_dir):
    """The DenseFlow configuration equivalent to the fixture's `constructor_args` (ReferenceVerification.ReadConfig)."""
    path = os.path.join(fixture_dir, "config.json")
    if not os.path.isfile(path):
        raise FixtureError(f"{path}: missing (expected the fixture's config.json)")
    try:
        with open(path) as f:
            args = json.load(f)["constructor_args"]
        units = [int(v) for v in args["block_config"]]
        return df.DenseFlowConfig(
            input_shape=tuple(int(v) for v in args["data_shape"]),
            units_per_block=tuple(units),
            modules_per_unit=tuple(int(v) for v in args["layers_config"]),
            coupling_width=tuple(int(v) for v in args["layer_mid_chnls"]),
            growth_rate=int(args["growth_rate"]),
            num_bits=int(args.get("num_bits", 8)),
            landmarks=tuple(4 for _ in units),
        )
    except (ValueError, KeyError, TypeError) as e:
        raise FixtureError(f"{path}: malformed (expected constructor_args with data_shape, block_config, layers_config, "
                           f"layer_mid_chnls, growth_rate): {type(e).__name__}: {e}")


def read_case(path):
    if not os.path.isfile(path):
        raise FixtureError(f"{path}: missing (expected the fixture's case.npz)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: np.array(npz[k]) for k in npz.files}
    except Exception as e:
        raise FixtureError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})")


def run(fixture_dir, weights):
    if not os.path.isdir(fixture_dir):
        raise FixtureError(f"{fixture_dir}: fixture directory not found")
    config = read_config(fixture_dir)
    case_path = os.path.join(fixture_dir, "case.npz")
    arrays = read_case(case_path)

    def need(key, dtype=None, shape=None):
        if key not in arrays:
            raise FixtureError(f"{case_path}: entry '{key}' missing")
        a = arrays[key]
        if dtype is not None and a.dtype != dtype:
            raise FixtureError(f"{case_path}: entry '{key}' has dtype {a.dtype}, expected {dtype}")
        if shape is not None and list(a.shape) != list(shape):
            raise FixtureError(f"{case_path}: entry '{key}' has shape {list(a.shape)}, expected {list(shape)}")
        return a

    try:
        model = df.DenseFlowModel(config)
    except df.ConfigError as e:
        raise FixtureError(f"{os.path.join(fixture_dir, 'config.json')}: {e}")
    try:
        df.load_official(model, df.read_official(weights), weights)
    except df.WeightImportError as e:
        raise FixtureError(str(e))
    model.eval()

    x_np = need("x", np.int64)
    if x_np.ndim != 4 or tuple(x_np.shape[1:]) != tuple(config.input_shape):
        raise FixtureError(f"{case_path}: entry 'x' has shape {list(x_np.shape)}, expected (B,{','.join(map(str, config.input_shape))})")
    batch = x_np.shape[0]
    x = torch.from_numpy(x_np)
    official_loglik = need("loglik", shape=[batch]).astype(np.float64)
    official_z = torch.from_numpy(need("z", shape=[batch, *model.plan.latent_shape]).astype(np.float64))
    log_prob_draws = [torch.from_numpy(arrays[k]) for k in sorted(k for k in arrays if k.startswith("noise_"))]
    sample_draws = [torch.from_numpy(arrays[k]) for k in sorted(k for k in arrays if k.startswith("sample_noise_"))]
    if not log_prob_draws:
        raise FixtureError(f"{case_path}: no recorded draws (expected noise_000...)")

    outputs = []

    def observe(index, output, _log_det):
        key = f"transform_out_{index:02d}"
        if key in arrays and list(arrays[key].shape) == list(output.shape):
            outputs.append((key, (output.double() - torch.from_numpy(arrays[key]).double()).abs().max().item()))

    replay = df.ReplayNoise(log_prob_draws)
    model.noise = replay
    try:
        with torch.no_grad():
            terms = model.bound(x, observe=observe)
    except RuntimeError as e:
        if str(e).startswith("replay noise:"):
            raise FixtureError(f"{case_path}: {e}")
        raise
    if replay.remaining != 0:
        raise FixtureError(f"{case_path}: {replay.remaining} recorded log_prob draws were not used")

    ours = terms.log_likelihood.double().numpy()
    loglik_diff = np.abs(ours - official_loglik)
    z_diff = (terms.latent.double() - official_z).abs().max().item()

    print(f"fixture {fixture_dir}, weights {weights}: official-small, {model.parameter_count:,} parameters, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("per image log-likelihood (nats):")
    for i in range(batch):
        print(f"  image {i}: official {official_loglik[i]:.4f}  ours {ours[i]:.4f}  diff {ours[i] - official_loglik[i]:+.2e}")
    for name, ours_t in (("ldj_dequant", terms.dequant_term), ("ldj_flow", terms.flow_log_det), ("logp_prior", terms.prior_log_prob)):
        if name in arrays and arrays[name].shape == (batch,):
            print(f"  term {name}: max |diff| {np.abs(ours_t.double().numpy() - arrays[name]).max():.2e}")
    for key, d in outputs:
        print(f"  {key}: max |diff| {d:.2e}")

    sample_ok, sample_msg = True, "no sampling draws in the fixture: not checked"
    if sample_draws and "sample_x" in arrays:
        sample_x = torch.from_numpy(need("sample_x", np.int64))
        model.noise = df.ReplayNoise(sample_draws)
        try:
            sampled = model.sample(sample_x.shape[0])
        except RuntimeError as e:
            raise FixtureError(f"{case_path}: sampling replay: {e}")
        if list(sampled.shape) != list(sample_x.shape):
            raise FixtureError(f"{case_path}: entry 'sample_x' has shape {list(sample_x.shape)}, the model sampled {list(sampled.shape)}")
        pixel_diff = (sampled - sample_x).abs()
        differing, max_pixel = int(pixel_diff.gt(0).sum()), int(pixel_diff.max())
        sample_ok = differing <= DIFFERING_PIXEL_FRACTION * sample_x.numel() and max_pixel <= 1
        sample_msg = f"{differing} of {sample_x.numel()} pixels differ, max |diff| {max_pixel} (allowed {DIFFERING_PIXEL_FRACTION:.1%}, 1)"

    loglik_ok = float(loglik_diff.max()) <= LOGLIK_TOLERANCE
    z_ok = z_diff <= LATENT_TOLERANCE
    print(f"loglik: max |diff| {loglik_diff.max():.3e} nats (tolerance {LOGLIK_TOLERANCE:g}) {'ok' if loglik_ok else 'FAIL'}")
    print(f"z:      max |diff| {z_diff:.3e} (tolerance {LATENT_TOLERANCE:g}) {'ok' if z_ok else 'FAIL'}")
    print(f"sample: {sample_msg} {'ok' if sample_ok else 'FAIL'}")
    passed = loglik_ok and z_ok and sample_ok
    print(f"{'PASS' if passed else 'FAIL'}: max loglik |diff| {loglik_diff.max():.3e} nats, max z |diff| {z_diff:.3e}")
    return passed


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    default_fixture = os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "fixtures", "official-small"))
    if not os.path.isdir(default_fixture):
        default_fixture = "/work/shared/fixtures/official-small"
    p = OneLineParser(description="Validate the PyTorch DenseFlow translation against the official-small fixture.")
    p.add_argument("--fixture", default=default_fixture, help="fixture directory (default: %(default)s)")
    p.add_argument("--weights", default=None, help="weight file (default: FIXTURE/checkpoint.pt)")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (default: torch's own)")
    a = p.parse_args(argv)
    if a.threads < 0:
        p.error(f"--threads must be zero (torch's default) or positive, got {a.threads}")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    weights = a.weights or os.path.join(a.fixture, "checkpoint.pt")
    try:
        return 0 if run(a.fixture, weights) else 1
    except FixtureError as e:
        print(f"validate_torch.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
