"""DenseFlow in PyTorch 1.13: a translation of DenseFlow.NET's C# model into PyTorch.

It exists to measure the reference framework on the same machine as our C# code, doing the same
computation. Every class below mirrors one C# class of src/DenseFlow/ (Flows/, Nets/, Model/,
Noise/), with the same names (snake_case), the same operations in the same order and the same
parameter names, so `model.state_dict()` keys are our C# state names. Official (reference) weights
are loaded through OFFICIAL_NAMES, a translation of Model/OfficialNames.cs.

Eager mode, NCHW, float32, plain nn.Conv2d / torch.cat: no channels_last, no jit. The C# model's
options that only change speed or memory (recomputation, activation layout) are left out: the C#
default in training mode is channels-first without recomputation, which is what this computes.
"""

import math
import re
from dataclasses import dataclass
from typing import Callable, List, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ───────────────────────────── Noise/INoiseSource.cs ─────────────────────────────

class SeededNoise:
    """Draws from a seeded torch generator: the same seed gives the same numbers run after run.

    Drawn on the CPU in float32 (as the reference does for the cross-unit noise), then moved:
    results do not depend on the device or dtype of the model."""

    def __init__(self, seed: int = 0):
        self._generator = torch.Generator(device="cpu")
        self._generator.manual_seed(int(seed))

    def standard_normal(self, shape, dtype, device):
        cpu = torch.randn(tuple(shape), dtype=torch.float32, generator=self._generator)
        return cpu.to(dtype=dtype, device=device)

    def uniform(self, shape, dtype, device):
        cpu = torch.rand(tuple(shape), dtype=torch.float32, generator=self._generator)
        return cpu.to(dtype=dtype, device=device)


class ReplayNoise:
    """Replays recorded draws in order; a shape mismatch or running out is an error."""

    def __init__(self, draws):
        self._draws = list(draws)
        self._next = 0

    @property
    def used(self):
        return self._next

    @property
    def remaining(self):
        return len(self._draws) - self._next

    def standard_normal(self, shape, dtype, device):
        return self._take(shape, dtype, device)

    def uniform(self, shape, dtype, device):
        return self._take(shape, dtype, device)

    def _take(self, shape, dtype, device):
        shape = [int(s) for s in shape]
        if self._next >= len(self._draws):
            raise RuntimeError(f"replay noise: draw {self._next} requested (shape {shape}) but only {len(self._draws)} were recorded")
        t = self._draws[self._next]
        if list(t.shape) != shape:
            raise RuntimeError(f"replay noise: draw {self._next} has shape {list(t.shape)}, the model asked for {shape}")
        self._next += 1
        return t.to(dtype=dtype, device=device).clone()


class RecordingNoise:
    """Records every draw of an inner source, so a pass can be replayed later."""

    def __init__(self, inner):
        self._inner = inner
        self.draws = []

    def standard_normal(self, shape, dtype, device):
        return self._keep(self._inner.standard_normal(shape, dtype, device))

    def uniform(self, shape, dtype, device):
        return self._keep(self._inner.uniform(shape, dtype, device))

    def _keep(self, t):
        self.draws.append(t.detach().clone())
        return t


# ───────────────────────────── Model/DenseFlowConfig.cs, ArchitecturePlan.cs ─────────────────────────────

class ConfigError(Exception):
    """A configuration that does not fit (C# ConfigException)."""


COUPLING_KINDS = ("dense", "glow")
AUGMENTATION_KINDS = ("preconditioned", "white", "none")  # Flows/CrossUnitCoupling.cs AugmentationKind
DEQUANTIZATION_KINDS = ("variational", "uniform")
PRIOR_KINDS = ("learned", "standard")


@dataclass(frozen=True)
class DenseFlowConfig:
    """Everything that defines a DenseFlow architecture (SPEC §1–§6); lists are per block."""
    input_shape: tuple = (3, 32, 32)          # C, H, W of the images
    units_per_block: tuple = (6, 4, 1)        # S_b; the number of blocks is its length
    modules_per_unit: tuple = (5, 6, 20)      # M_b
    growth_rate: int = 10                     # k: noise channels appended before every unit but the first
    coupling_width: tuple = (48, 48, 48)      # projection width P of the coupling network
    dense_depth: int = 7
    dense_growth: int = 64
    landmarks: tuple = (4, 4, 4)              # Nyström landmarks per block
    coupling: str = "dense"
    augmentation: str = "preconditioned"
    dequantization: str = "variational"
    prior: str = "learned"
    num_bits: int = 8
    # The dequantizer's settings are hard-coded in the reference; exposed for completeness.
    dequant_steps: int = 4
    dequant_context_channels: int = 64
    dequant_width: int = 64
    dequant_depth: int = 4
    dequant_growth: int = 64
    dequant_context_depth: int = 4
    dequant_context_growth: int = 16

    @property
    def channels(self):
        return self.input_shape[0]

    @property
    def height(self):
        return self.input_shape[1]

    @property
    def width(self):
        return self.input_shape[2]

    @property
    def dimensions(self):
        return self.input_shape[0] * self.input_shape[1] * self.input_shape[2]

    @property
    def blocks(self):
        return len(self.units_per_block)

    @property
    def effective_growth(self):
        """Noise channels actually appended (0 without augmentation)."""
        return 0 if self.augmentation == "none" else self.growth_rate

    def plan(self):
        return ArchitecturePlan.from_config(self)


class BlockPlan(NamedTuple):
    """Sizes of one block, derived from the configuration (SPEC §2)."""
    index: int
    in_channels: int
    height: int
    width: int
    units: int
    modules_per_unit: int
    unit_widths: List[int]
    noise_net_inputs: List[int]
    coupling_width: int
    landmarks: int
    out_channels: int


class ArchitecturePlan(NamedTuple):
    """The whole shape plan; building it validates the configuration."""
    config: DenseFlowConfig
    blocks: List[BlockPlan]
    latent_shape: List[int]
    dropped_dimensions: int

    @staticmethod
    def from_config(c: DenseFlowConfig) -> "ArchitecturePlan":
        def require(ok, message):
            if not ok:
                raise ConfigError(message)

        require(c.coupling in COUPLING_KINDS, f"coupling: expected one of {', '.join(COUPLING_KINDS)}, got '{c.coupling}'")
        require(c.augmentation in AUGMENTATION_KINDS, f"augmentation: expected one of {', '.join(AUGMENTATION_KINDS)}, got '{c.augmentation}'")
        require(c.dequantization in DEQUANTIZATION_KINDS, f"dequantization: expected one of {', '.join(DEQUANTIZATION_KINDS)}, got '{c.dequantization}'")
        require(c.prior in PRIOR_KINDS, f"prior: expected one of {', '.join(PRIOR_KINDS)}, got '{c.prior}'")
        require(c.input_shape is not None and len(c.input_shape) == 3, "input_shape: expected three numbers C, H, W")
        require(all(v > 0 for v in c.input_shape), f"input_shape: sizes must be positive, got {list(c.input_shape)}")
        blocks = len(c.units_per_block or ())
        require(blocks > 0, "units_per_block: at least one block is needed")
        for name, lst in (("modules_per_unit", c.modules_per_unit), ("coupling_width", c.coupling_width), ("landmarks", c.landmarks)):
            require(lst is not None and len(lst) == blocks, f"{name}: expected {blocks} values (one per block), got {len(lst or ())}")
        for b in range(blocks):
            require(c.units_per_block[b] > 0, f"block {b}: units_per_block must be positive, got {c.units_per_block[b]}")
            require(c.modules_per_unit[b] > 0, f"block {b}: modules_per_unit must be positive, got {c.modules_per_unit[b]}")
            require(c.coupling_width[b] > 0, f"block {b}: coupling_width must be positive, got {c.coupling_width[b]}")
            require(c.coupling == "glow" or c.coupling_width[b] % 2 == 0,
                    f"block {b}: coupling_width {c.coupling_width[b]} must be even (the attention runs at width P/2)")
            require(c.landmarks[b] > 0, f"block {b}: landmarks must be positive, got {c.landmarks[b]}")
        require(c.growth_rate >= 0, f"growth_rate must be zero or positive, got {c.growth_rate}")
        require(c.augmentation == "none" or c.growth_rate > 0 or all(u == 1 for u in c.units_per_block),
                "growth_rate must be positive when noise augmentation is on and a block has several units")
        require(c.dense_depth > 0 and c.dense_growth > 0, f"dense_depth and dense_growth must be positive, got {c.dense_depth} and {c.dense_growth}")
        require(1 <= c.num_bits <= 8, f"num_bits must be between 1 and 8, got {c.num_bits}")
        require(c.dequant_steps > 0 and c.dequant_context_channels > 0 and c.dequant_width > 0 and c.dequant_depth > 0
                and c.dequant_growth > 0 and c.dequant_context_depth > 0 and c.dequant_context_growth > 0,
                "dequantizer sizes must be positive")

        ch, h, w = c.channels, c.height, c.width
        require(h % 2 == 0 and w % 2 == 0, f"input: the initial squeeze needs even H and W, got {h}×{w}")
        ch *= 4
        h //= 2
        w //= 2
        k = c.effective_growth
        plans = []
        dropped = 0
        for b in range(blocks):
            units = c.units_per_block[b]
            widths = [ch + s * k for s in range(units)]
            for width in widths:
                require(width % 2 == 0, f"block {b}: unit width {width} is odd; the channel switch needs even widths (change growth_rate)")
            require(c.coupling == "glow" or (h * w) % c.landmarks[b] == 0,
                    f"block {b}: H·W = {h}×{w} = {h * w} is not divisible by its {c.landmarks[b]} attention landmarks")
            # n_k = k·C + k_g·(k−1)(k−2)/2 inputs for the noise net before unit k.
            noise_inputs = [] if k == 0 else [s * ch + k * (s - 1) * (s - 2) // 2 for s in range(1, units)]
            out_ch = widths[-1]
            plans.append(BlockPlan(b, ch, h, w, units, c.modules_per_unit[b], widths, noise_inputs, c.coupling_width[b], c.landmarks[b], out_ch))
            if b != blocks - 1:
                require(h % 2 == 0 and w % 2 == 0, f"block {b}: the transition after it needs an even size, got {h}×{w}")
                squeezed = out_ch * 4
                dropped += squeezed // 2 * (h // 2) * (w // 2)
                ch = squeezed // 2
                h //= 2
                w //= 2
            else:
                ch = out_ch
        return ArchitecturePlan(c, plans, [ch, h, w], dropped)


# ───────────────────────────── Model/Presets.cs ─────────────────────────────

GLOW_ABLATION_WIDTH = 512  # hidden width of the Glow coupling network in the ablations


def _df45(aug, coupling):
    width = GLOW_ABLATION_WIDTH if coupling == "glow" else 48
    return DenseFlowConfig(input_shape=(3, 32, 32), units_per_block=(5, 3, 1), modules_per_unit=(3, 5, 15), growth_rate=6,
                           coupling_width=(width, width, width), landmarks=(4, 4, 4), augmentation=aug, coupling=coupling)


PRESETS = {
    "df-74-10": ("DenseFlow-74-10, the paper's model for CIFAR-10, ImageNet and CelebA (32×32×3)", lambda: DenseFlowConfig(
        input_shape=(3, 32, 32), units_per_block=(6, 4, 1), modules_per_unit=(5, 6, 20), growth_rate=10,
        coupling_width=(48, 48, 48), landmarks=(4, 4, 4))),
    "df-45-6": ("DenseFlow-45-6, the paper's ablation model (32×32×3)", lambda: _df45("preconditioned", "dense")),
    "ablation-1": ("Table 4 row 1: Glow baseline, 3 blocks × 15 modules, Glow coupling", lambda: DenseFlowConfig(
        input_shape=(3, 32, 32), units_per_block=(1, 1, 1), modules_per_unit=(15, 15, 15), growth_rate=0,
        coupling_width=(GLOW_ABLATION_WIDTH,) * 3, landmarks=(4, 4, 4), augmentation="none", coupling="glow")),
    "ablation-2": ("Table 4 row 2: white-noise augmentation, Glow coupling", lambda: _df45("white", "glow")),
    "ablation-3": ("Table 4 row 3: preconditioned augmentation, Glow coupling", lambda: _df45("preconditioned", "glow")),
    "ablation-4": ("Table 4 row 4: no augmentation, DenseFlow coupling", lambda: _df45("none", "dense")),
    "ablation-5": ("Table 4 row 5: white-noise augmentation, DenseFlow coupling", lambda: _df45("white", "dense")),
    "ablation-6": ("Table 4 row 6: preconditioned augmentation, DenseFlow coupling (= df-45-6)", lambda: _df45("preconditioned", "dense")),
    "small32x1": ("The ANCHORS.md benchmark model: 1×32×32, units 3,2,1, modules 2,3,4, width 32, growth 8", lambda: DenseFlowConfig(
        input_shape=(1, 32, 32), units_per_block=(3, 2, 1), modules_per_unit=(2, 3, 4), growth_rate=8,
        coupling_width=(32, 32, 32), landmarks=(4, 4, 4))),
    "official-small": ("The reference fixture's model: 3×32×32, units 2,2,1, modules 1,2,2, width 16, growth 4", lambda: DenseFlowConfig(
        input_shape=(3, 32, 32), units_per_block=(2, 2, 1), modules_per_unit=(1, 2, 2), growth_rate=4,
        coupling_width=(16, 16, 16), landmarks=(4, 4, 4))),
    "fmnist-cpu": ("CPU preset for Fashion-MNIST at 28×28: two scales (14×14, 7×7), sized for minutes on 2 cores", lambda: DenseFlowConfig(
        input_shape=(1, 28, 28), units_per_block=(3, 2), modules_per_unit=(2, 3), growth_rate=4,
        coupling_width=(32, 32), landmarks=(4, 7), dense_depth=4, dense_growth=32,
        dequant_width=32, dequant_context_channels=32, dequant_depth=2, dequant_growth=32, dequant_steps=2,
        dequant_context_depth=2, dequant_context_growth=16)),
}


def preset(name: str) -> DenseFlowConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}' (expected one of: {', '.join(PRESETS)})")
    return PRESETS[name][1]()


# ───────────────────────────── Nets/ ─────────────────────────────

class DenseLayer(nn.Module):
    """One dense layer: conv1×1(c→c) → ReLU → conv3×3(c→growth, pad 1) → ReLU, concatenated to its input."""

    def __init__(self, in_channels, growth):
        super().__init__()
        self.bottleneck = nn.Conv2d(in_channels, in_channels, 1)
        self.conv = nn.Conv2d(in_channels, growth, 3, padding=1)

    def forward(self, x):
        h1 = F.relu(self.bottleneck(x))
        h2 = self.conv(h1)
        h3 = F.relu(h2)
        return torch.cat([x, h3], 1)


class GatedConv1x1(nn.Module):
    """Gated 1×1 conv: conv to 3·out channels split (a,b,c) → a + b·sigmoid(c)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self._out = out_channels
        self.conv = nn.Conv2d(in_channels, 3 * out_channels, 1)

    def forward(self, x):
        parts = self.conv(x).chunk(3, 1)
        return parts[0] + parts[1] * torch.sigmoid(parts[2])


class DenseBlock(nn.Module):
    """Dense block (SPEC §4, §6): `depth` dense layers growing the width by `growth` each, then a gated
    (or plain) 1×1 conv to `out_channels`. No normalisation, no dropout. (NCHW only: the C# Auto layout
    is channels-first in training mode.)"""

    def __init__(self, in_channels, out_channels, depth, growth, gated=True):
        super().__init__()
        self.layers = nn.ModuleList([DenseLayer(in_channels + i * growth, growth) for i in range(depth)])
        width = in_channels + depth * growth
        self.gate = GatedConv1x1(width, out_channels) if gated else nn.Conv2d(width, out_channels, 1)

    def forward(self, x):
        h = x
        for layer in self.layers:
            h = layer(h)
        return self.gate(h)


class NystromAttention(nn.Module):
    """Nyström attention exactly as the reference codes it (SPEC §4), which differs from the textbook:
    tokens are a raw reshape of the contiguous (B,3E,H,W) buffer to (B,HW,3E) (no permute);
    landmarks are segment means divided by √(HW); every softmax runs over the second-to-last axis;
    A₂⁺ comes from 6 Newton–Schulz iterations; out = A₁·A₂⁺·(A₃·v) + v."""

    PINV_ITERATIONS = 6

    def __init__(self, channels, embed_dim, landmarks):
        super().__init__()
        self._embed = embed_dim
        self.landmarks = landmarks
        self.qkv = nn.Conv2d(channels, 3 * embed_dim, 1)
        self.out = nn.Conv2d(embed_dim, channels, 1)

    def forward(self, x):
        n, _, h, w = x.shape
        hw = h * w
        q, k, v = self.qkv(x).reshape(n, hw, 3 * self._embed).chunk(3, -1)
        norm = math.sqrt(hw)
        q_land = q.reshape(n, self.landmarks, hw // self.landmarks, self._embed).mean(-2).div(norm)
        k_land = k.reshape(n, self.landmarks, hw // self.landmarks, self._embed).mean(-2).div(norm)

        a1 = torch.matmul(q, k_land.transpose(-1, -2)).softmax(-2)
        a2 = torch.matmul(q_land, k_land.transpose(-1, -2)).softmax(-2)
        a3 = torch.matmul(q_land, k.transpose(-1, -2)).softmax(-2)
        a2_pinv = self.iterative_pseudo_inverse(a2)

        out_ = torch.matmul(torch.matmul(a1, a2_pinv), torch.matmul(a3, v)).add(v)
        return self.out(out_.reshape(n, -1, h, w))

    @staticmethod
    def iterative_pseudo_inverse(k, iterations=PINV_ITERATIONS):
        """Newton–Schulz iterations for the Moore–Penrose inverse, starting from Kᵀ/(‖K‖₁‖K‖∞)."""
        eye = torch.eye(k.shape[-1], dtype=k.dtype, device=k.device)
        abs_ = k.abs()
        max_col_sum = abs_.sum(-2, keepdim=True).amax(-1, keepdim=True)
        max_row_sum = abs_.sum(-1, keepdim=True).amax(-2, keepdim=True)
        v = k.transpose(-1, -2).div(max_col_sum * max_row_sum)
        for _ in range(iterations):
            kv = torch.matmul(k, v)
            v = torch.matmul(0.25 * v, 13 * eye - torch.matmul(kv, 15 * eye - torch.matmul(kv, 7 * eye - kv)))
        return v


def _zero_conv(in_channels, out_channels, kernel, padding=0):
    """A conv whose weights and bias start at zero, so the network it ends starts as a constant."""
    conv = nn.Conv2d(in_channels, out_channels, kernel, padding=padding)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
    return conv


class DenseNystromCouplingNet(nn.Module):
    """The intra-unit coupling network, DenseFlow's "dense + Nyström" fusion (SPEC §4):
    conv1×1 projection → [Nyström attention ‖ dense block] → BatchNorm → ReLU → conv1×1 blend →
    zero-initialised conv1×1 output, so every coupling starts as the identity."""

    def __init__(self, in_channels, out_channels, width, dense_depth, dense_growth, landmarks):
        super().__init__()
        self.input = nn.Conv2d(in_channels, width, 1)
        self.attention = NystromAttention(width, width // 2, landmarks)
        self.dense = DenseBlock(width, width, dense_depth, dense_growth, gated=True)
        self.mix_norm = nn.BatchNorm2d(2 * width, eps=1e-5, momentum=0.1)
        self.mix_conv = nn.Conv2d(2 * width, width, 1, bias=False)
        self.output = _zero_conv(width, out_channels, 1)

    def forward(self, x):
        h = self.input(x)
        fused = torch.cat([self.attention(h), self.dense(h)], 1)
        mixed = self.mix_conv(F.relu(self.mix_norm(fused)))
        return self.output(mixed)


class GlowCouplingNet(nn.Module):
    """Glow's coupling network, for the Table 4 ablations (SPEC §4): conv3×3 → ReLU → conv1×1 → ReLU →
    zero-initialised conv3×3."""

    def __init__(self, in_channels, out_channels, width):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 1)
        self.output = _zero_conv(width, out_channels, 3, padding=1)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        return self.output(h)


class NoiseNet(nn.Module):
    """g_k of the cross-unit coupling (SPEC §5): conv3×3(n→4n) → ReLU → zero-init conv1×1(4n→2k);
    returns μ (first k channels) and log σ = 2·tanh(u/2)."""

    def __init__(self, in_channels, noise_channels):
        super().__init__()
        self.hidden = nn.Conv2d(in_channels, 4 * in_channels, 3, padding=1)
        self.output = _zero_conv(4 * in_channels, 2 * noise_channels, 1)

    def forward(self, g):
        h = F.relu(self.hidden(g))
        o = self.output(h)
        parts = o.chunk(2, 1)
        return parts[0], 2 * torch.tanh(parts[1] / 2)


class DequantizerContextNet(nn.Module):
    """Context network of the variational dequantizer (SPEC §6): from x_c = 2x/255 − 1,
    DenseBlock(C→64; depth 4, growth 16, gated) → conv2×2 stride 2 → DenseBlock(64→64; depth 4, growth 16, gated)."""

    def __init__(self, channels, context_channels, depth, growth, num_bits):
        super().__init__()
        self._max_value = (1 << num_bits) - 1
        self.dense_in = DenseBlock(channels, context_channels, depth, growth, gated=True)
        self.down = nn.Conv2d(context_channels, context_channels, 2, stride=2)
        self.dense_out = DenseBlock(context_channels, context_channels, depth, growth, gated=True)

    def forward(self, x, dtype=torch.float32):
        """x: integer images in 0..255; returns (B,64,H/2,W/2)."""
        xc = x.to(dtype) * (2.0 / self._max_value) - 1
        return self.dense_out(self.down(self.dense_in(xc)))


class ResidualDenseNet(nn.Module):
    """Conditioner of a dequantizer coupling (SPEC §6): conv1×1 → 64, residual DenseBlock(64; depth 4,
    growth 64, gated), zero-init conv1×1 → out."""

    def __init__(self, in_channels, out_channels, width, depth, growth):
        super().__init__()
        self.input = nn.Conv2d(in_channels, width, 1)
        self.dense = DenseBlock(width, width, depth, growth, gated=True)
        self.output = _zero_conv(width, out_channels, 1)

    def forward(self, x):
        h = self.input(x)
        h = h + self.dense(h)
        return self.output(h)


# ───────────────────────────── Flows/ ─────────────────────────────

def _zero_log_det(x):
    """Zero log-det of the right batch size, dtype and device."""
    return torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)


class Bijection(nn.Module):
    """The single contract of every invertible layer: forward returns the output and the per-image
    log|det J| (shape (B,)); inverse returns the input."""

    def inverse(self, y):
        raise NotImplementedError


class ActNorm(Bijection):
    """Activation normalisation (SPEC §3): z = (x − shift)·exp(−log_scale), log-det = −H·W·Σ log_scale.
    Initialised from the first training-mode batch; the `initialized` buffer is saved with the weights,
    so loading a model never initialises it again."""

    EPS = 1e-6

    def __init__(self, channels):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.zeros(1))

    @property
    def is_initialized(self):
        return float(self.initialized.to(torch.float64).item()) != 0

    def forward(self, x):
        if self.training and not self.is_initialized:
            self._initialize_from(x)
        z = (x - self.shift) * torch.exp(-self.log_scale)
        hw = x.shape[2] * x.shape[3]
        log_det = (-self.log_scale).sum().mul(hw).expand(x.shape[0])
        return z, log_det

    def inverse(self, z):
        return self.shift + z * torch.exp(self.log_scale)

    def _initialize_from(self, x):
        with torch.no_grad():
            mean = x.mean(dim=(0, 2, 3), keepdim=True)
            std = x.std(dim=(0, 2, 3), unbiased=True, keepdim=True)
            self.shift.copy_(mean)
            self.log_scale.copy_((std + self.EPS).log())
            self.initialized.fill_(1)


class Conv1x1(Bijection):
    """Invertible 1×1 convolution (SPEC §3): a full C×C matrix W, orthogonal init, no bias;
    log-det = H·W·log|det W|; the inverse applies W⁻¹."""

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        self.weight = nn.Parameter(torch.empty(channels, channels))
        with torch.no_grad():
            nn.init.orthogonal_(self.weight)

    def forward(self, x):
        c = self.channels
        z = F.conv2d(x, self.weight.view(c, c, 1, 1))
        _, log_abs_det = torch.linalg.slogdet(self.weight)
        hw = x.shape[2] * x.shape[3]
        return z, log_abs_det.mul(hw).expand(x.shape[0])

    def inverse(self, z):
        c = self.channels
        inv = torch.linalg.inv(self.weight)
        return F.conv2d(z, inv.view(c, c, 1, 1))


def _split(x):
    """x₁ = first ceil(C/2) channels, x₂ = the rest."""
    c = x.shape[1]
    first = (c + 1) // 2
    parts = x.split([first, c - first], 1)
    return parts[0], parts[1]


def _scale_and_shift(parameters, target_shape):
    """(B,2K,H,W) interleaved [s,t] → log σ and t, each (B,K,H,W)."""
    p = parameters.view(target_shape[0], target_shape[1], 2, target_shape[2], target_shape[3])
    s = p.select(2, 0)
    t = p.select(2, 1)
    return 2 * torch.tanh(s / 2), t


class AffineCoupling(Bijection):
    """Affine coupling (SPEC §3): x₁ = first ceil(C/2) channels condition, x₂ = the rest is transformed.
    The network's 2·floor(C/2) outputs are laid out per channel as [s₀,t₀,s₁,t₁,…];
    log σ = 2·tanh(s/2), y₂ = t + exp(log σ)·x₂, log-det = Σ log σ."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        x1, x2 = _split(x)
        log_sigma, t = _scale_and_shift(self.net(x1), x2.shape)
        y2 = t + log_sigma.exp() * x2
        return torch.cat([x1, y2], 1), log_sigma.flatten(1).sum(1)

    def inverse(self, y):
        y1, y2 = _split(y)
        log_sigma, t = _scale_and_shift(self.net(y1), y2.shape)
        return torch.cat([y1, (y2 - t) * (-log_sigma).exp()], 1)


class ConditionalAffineCoupling(nn.Module):
    """Conditional affine coupling of the dequantizer (SPEC §6): like AffineCoupling, but the
    conditioner sees concat(first half, context)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, context):
        x1, x2 = _split(x)
        condition = torch.cat([x1, context], 1)
        log_sigma, t = _scale_and_shift(self.net(condition), x2.shape)
        y2 = t + log_sigma.exp() * x2
        return torch.cat([x1, y2], 1), log_sigma.flatten(1).sum(1)

    def inverse(self, y, context):
        y1, y2 = _split(y)
        log_sigma, t = _scale_and_shift(self.net(torch.cat([y1, context], 1)), y2.shape)
        return torch.cat([y1, (y2 - t) * (-log_sigma).exp()], 1)


class ChannelSwitch(Bijection):
    """Switch (SPEC §3): [a, b] → [b, a] with chunk(2), so a has ceil(C/2) channels. The inverse splits
    with the explicit sizes [floor, ceil], so it is a true inverse for odd C too."""

    def forward(self, x):
        c = x.shape[1]
        first = (c + 1) // 2
        parts = x.split([first, c - first], 1)
        return torch.cat([parts[1], parts[0]], 1), _zero_log_det(x)

    def inverse(self, z):
        c = z.shape[1]
        first = (c + 1) // 2
        parts = z.split([c - first, first], 1)
        return torch.cat([parts[1], parts[0]], 1)


class Squeeze(Bijection):
    """Squeeze ×2 (SPEC §1): (C,H,W) → (4C,H/2,W/2); input channel c at sub-pixel (dy,dx) goes to
    output channel 4c + 2dy + dx. Volume preserving."""

    def forward(self, x):
        return Squeeze.apply(x), _zero_log_det(x)

    def inverse(self, z):
        return Squeeze.unapply(z)

    @staticmethod
    def apply(x):
        b, c, h, w = x.shape
        return x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h // 2, w // 2)

    @staticmethod
    def unapply(z):
        b, c4, h, w = z.shape
        c = c4 // 4
        return z.reshape(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, h * 2, w * 2)


class Sigmoid(Bijection):
    """Sigmoid (SPEC §6, last step of the dequantizer): u = σ(a); log-det = Σ[−softplus(−a) − softplus(a)].
    The reference keeps a `temperature` buffer fixed at 1; it is registered so imports can check it."""

    def __init__(self):
        super().__init__()
        self.register_buffer("temperature", torch.ones(1))

    def forward(self, x):
        a = x * self.temperature
        ld = (self.temperature.log() - F.softplus(-a) - F.softplus(a)).flatten(1).sum(1)
        return torch.sigmoid(a), ld

    def inverse(self, z):
        return (z.log() - (-z).log1p()) / self.temperature


class DiagonalGaussian(nn.Module):
    """Per-channel Gaussian with `loc` and `log_scale` of shape (1,C,1,1), both zero at init (SPEC §1, §6):
    the final prior (learned in the official code) and the dequantizer's base distribution."""

    def __init__(self, channels, learned=True):
        super().__init__()
        self.learned = learned
        if learned:
            self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
            self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        else:
            # A fixed N(0, I): not parameters, and not saved.
            self.register_buffer("loc", torch.zeros(1, channels, 1, 1), persistent=False)
            self.register_buffer("log_scale", torch.zeros(1, channels, 1, 1), persistent=False)

    def log_prob(self, z):
        inner = -0.5 * (-2 * self.log_scale).exp() * (z - self.loc).square()
        return (inner - HALF_LOG_2PI - self.log_scale).flatten(1).sum(1)

    def from_noise(self, eps, temperature=1.0):
        """z = loc + T·exp(log_scale)·ε."""
        scale = self.log_scale.exp()
        return self.loc + scale * eps if temperature == 1.0 else self.loc + temperature * scale * eps


class GlowModule(Bijection):
    """The Glow-like module of SPEC §3: ActNorm → 1×1 conv → affine coupling → switch."""

    def __init__(self, channels, coupling_net):
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.conv = Conv1x1(channels)
        self.coupling = AffineCoupling(coupling_net)
        self.channel_switch = ChannelSwitch()

    def forward(self, x):
        h1, ld1 = self.actnorm(x)
        h2, ld2 = self.conv(h1)
        h3, ld3 = self.coupling(h2)
        h4, _ = self.channel_switch(h3)
        return h4, ld1 + ld2 + ld3

    def inverse(self, y):
        return self.actnorm.inverse(self.conv.inverse(self.coupling.inverse(self.channel_switch.inverse(y))))


class FlowUnit(Bijection):
    """A unit (SPEC §2): a sequence of Glow-like modules at one width."""

    def __init__(self, modules):
        super().__init__()
        # Registered as "modules" (our C# state name) straight in _modules: nn.Module.modules() is a
        # method, so add_module refuses the name and the list is reached through glow_modules.
        self._modules["modules"] = nn.ModuleList(modules)

    @property
    def glow_modules(self):
        return self._modules["modules"]

    def forward(self, x):
        log_det = None
        for m in self.glow_modules:
            x, ld = m(x)
            log_det = ld if log_det is None else log_det + ld
        return x, (log_det if log_det is not None else _zero_log_det(x))

    def inverse(self, y):
        for m in reversed(list(self.glow_modules)):
            y = m.inverse(y)
        return y


class CrossUnitCoupling(nn.Module):
    """Cross-unit coupling (SPEC §5): draws ε ~ N(0,I) of shape (B,k,H,W) and turns it into
    e = μ(G) + σ(G)·ε conditioned on the block's earlier tensors G. Seen as a bijection on (G, ε) → (G, e)
    its log-det is Σ log σ; the bound also gains −log N(ε; 0, I)."""

    def __init__(self, condition_channels, noise_channels, preconditioned):
        super().__init__()
        self.noise_channels = noise_channels
        self.net = NoiseNet(condition_channels, noise_channels) if preconditioned else None

    @property
    def is_preconditioned(self):
        return self.net is not None

    def forward(self, condition, eps):
        """The noise e and the bound's term −log N(ε) + Σ log σ, per image."""
        neg_log_n = (0.5 * eps.square() + HALF_LOG_2PI).flatten(1).sum(1)
        if self.net is None:
            return eps, neg_log_n
        mu, log_sigma = self.net(condition)
        e = mu + log_sigma.exp() * eps
        return e, neg_log_n + log_sigma.flatten(1).sum(1)


class DenseFlowBlock(nn.Module):
    """A DenseFlow block (SPEC §2, §5): units U₀…U_{S−1}; before every unit but the first, the cross-unit
    coupling appends k noise channels conditioned on concat(x⁽⁰⁾, y₀, …, y_{k−2})."""

    def __init__(self, unit_list, couplings, noise_channels, noise_source: Callable):
        super().__init__()
        if noise_channels > 0 and len(couplings) != len(unit_list) - 1:
            raise ValueError("a block needs one cross-unit coupling per unit after the first")
        self.units = nn.ModuleList(unit_list)
        self.noise = nn.ModuleList(couplings)
        self.noise_channels = noise_channels
        self._noise_source = noise_source

    def forward(self, x):
        earlier = [x]
        y, log_det = self.units[0](x)
        for k in range(1, len(self.units)):
            if self.noise_channels > 0:
                # G_k = concat(x⁽⁰⁾, y₀, …, y_{k−2}); the draw happens here, in block and unit order (SPEC §9).
                condition = earlier[0] if len(earlier) == 1 else torch.cat(earlier, 1)
                eps = self._noise_source().standard_normal([y.shape[0], self.noise_channels, y.shape[2], y.shape[3]], y.dtype, y.device)
                e, noise_term = self.noise[k - 1](condition, eps)
                earlier.append(y)
                y = torch.cat([y, e], 1)
                log_det = log_det + noise_term
            nxt, ld = self.units[k](y)
            y = nxt
            log_det = log_det + ld
        return y, log_det

    def inverse(self, z):
        """Runs U_k⁻¹ and drops the appended noise channels; g is never run when sampling."""
        for k in range(len(self.units) - 1, -1, -1):
            z = self.units[k].inverse(z)
            if k > 0 and self.noise_channels > 0:
                z = z.narrow(1, 0, z.shape[1] - self.noise_channels)
        return z


class Transition(nn.Module):
    """Transition between blocks, "squeeze and drop" (SPEC §1): squeeze, keep the first half of the
    channels and score the dropped half under N(0, I). Sampling draws the dropped half from N(0, T²I)."""

    def __init__(self):
        super().__init__()
        # The reference keeps a zero buffer here (its device/dtype anchor); kept so imports can check it.
        self.register_buffer("buffer", torch.zeros(1))

    def forward(self, x):
        squeezed = Squeeze.apply(x)
        halves = squeezed.chunk(2, 1)
        log_p = (-HALF_LOG_2PI - 0.5 * halves[1].square()).flatten(1).sum(1)
        return halves[0], log_p

    def inverse(self, kept, noise, temperature):
        dropped = noise.standard_normal(list(kept.shape), kept.dtype, kept.device)
        if temperature != 1.0:
            dropped = dropped * temperature
        return Squeeze.unapply(torch.cat([kept, dropped], 1))


class VariationalDequantizer(nn.Module):
    """Variational dequantization (SPEC §6): u ~ q(u|x) is a conditional flow on (4C, H/2, W/2) — a learned
    per-channel Gaussian base, steps of [1×1 conv, conditional affine coupling], a final 1×1 conv,
    unsqueeze and sigmoid. Integer x → v = (x + u)/2^bits with bound contribution −D·ln2^bits − log q(u|x)."""

    def __init__(self, channels, height, width, num_bits, steps, context_channels, net_width, depth, growth,
                 context_depth, context_growth):
        super().__init__()
        self._bins = 1 << num_bits
        c4 = 4 * channels
        self._sample_shape = (c4, height // 2, width // 2)
        self.context = DequantizerContextNet(channels, context_channels, context_depth, context_growth, num_bits)
        self.base = DiagonalGaussian(c4)
        self.convs = nn.ModuleList([Conv1x1(c4) for _ in range(steps + 1)])
        self.couplings = nn.ModuleList([
            ConditionalAffineCoupling(ResidualDenseNet(c4 - c4 // 2 + context_channels, 2 * (c4 // 2), net_width, depth, growth))
            for _ in range(steps)])
        self.sigmoid = Sigmoid()

    @property
    def steps(self):
        return len(self.couplings)

    def get_context(self, x, dtype):
        """Work that does not depend on the draws (the context network), done once per image."""
        return self.context(x, dtype)

    def sample_with_log_prob(self, context, eps):
        """u ~ q(u|x) and log q(u|x) from base noise ε (SPEC §6)."""
        z = self.base.from_noise(eps)
        log_q = self.base.log_prob(z)
        for i in range(len(self.couplings)):
            h, ld = self.convs[i](z)
            log_q = log_q - ld
            h2, ld2 = self.couplings[i](h, context)
            log_q = log_q - ld2
            z = h2
        last, ld_last = self.convs[len(self.couplings)](z)
        log_q = log_q - ld_last
        u, ld_sig = self.sigmoid(Squeeze.unapply(last))
        return u, log_q - ld_sig

    def dequantize(self, x, context, noise, dtype):
        if context is None:
            context = self.get_context(x, dtype)
        eps = noise.standard_normal([x.shape[0], *self._sample_shape], dtype, x.device)
        u, log_q = self.sample_with_log_prob(context, eps)
        v = (x.to(dtype) + u) / self._bins
        d = x.shape[1] * x.shape[2] * x.shape[3]
        return v, -log_q - d * math.log(self._bins)

    def quantize(self, v):
        """x = clamp(⌊2^bits·v⌋, 0, 2^bits − 1)."""
        return (v * self._bins).floor().clamp(0, self._bins - 1).to(torch.int64)


class UniformDequantizer(nn.Module):
    """Uniform dequantization: u ~ U(0,1)^D, contribution −D·ln 2^bits."""

    def __init__(self, num_bits):
        super().__init__()
        self._bins = 1 << num_bits

    def get_context(self, x, dtype):
        return None

    def dequantize(self, x, context, noise, dtype):
        u = noise.uniform(list(x.shape), dtype, x.device)
        d = x.shape[1] * x.shape[2] * x.shape[3]
        ld = torch.full((x.shape[0],), -d * math.log(self._bins), dtype=dtype, device=x.device)
        return (x.to(dtype) + u) / self._bins, ld

    def quantize(self, v):
        return (v * self._bins).floor().clamp(0, self._bins - 1).to(torch.int64)


# ───────────────────────────── Model/DenseFlowModel.cs ─────────────────────────────

class BoundTerms(NamedTuple):
    """What one pass of the single-sample bound produced, per image."""
    log_likelihood: torch.Tensor
    latent: torch.Tensor
    dequant_term: torch.Tensor
    flow_log_det: torch.Tensor
    prior_log_prob: torch.Tensor


class DenseFlowModel(nn.Module):
    """DenseFlow (SPEC §1): dequantize → shift by −½ → squeeze → block₀ → transition → block₁ → … → last
    block → per-channel Gaussian prior. Every random draw comes from `noise`, in SPEC §9 order."""

    def __init__(self, config: DenseFlowConfig, noise=None, init_seed: Optional[int] = None):
        super().__init__()
        self.config = config
        self.plan = config.plan()  # validates: a bad configuration is refused before any weight exists
        if init_seed is not None:
            torch.manual_seed(init_seed)
        self.noise = noise if noise is not None else SeededNoise(0)

        # 1. Dequantization (SPEC §6).
        if config.dequantization == "variational":
            self.dequantizer = VariationalDequantizer(
                config.channels, config.height, config.width, config.num_bits, config.dequant_steps,
                config.dequant_context_channels, config.dequant_width, config.dequant_depth, config.dequant_growth,
                config.dequant_context_depth, config.dequant_context_growth)
        else:
            self.dequantizer = UniformDequantizer(config.num_bits)

        # 2–4. Blocks of units of Glow-like modules, with transitions between blocks (SPEC §2–§5).
        self.blocks = nn.ModuleList()
        self.transitions = nn.ModuleList()
        for bp in self.plan.blocks:
            self.blocks.append(self._build_block(config, bp))
            if bp.index != len(self.plan.blocks) - 1:
                self.transitions.append(Transition())

        # 5. Final prior: learned per-channel Gaussian (official) or fixed N(0, I) (paper).
        self.prior = DiagonalGaussian(self.plan.latent_shape[0], learned=config.prior == "learned")

    def _build_block(self, c, bp):
        units = []
        for width in bp.unit_widths:
            modules = []
            for _ in range(bp.modules_per_unit):
                net = self._coupling_net(c, bp, width)  # as in C#: the net is built before the module's own layers
                modules.append(GlowModule(width, net))
            units.append(FlowUnit(modules))
        k = c.effective_growth
        couplings = [] if k == 0 else [CrossUnitCoupling(n, k, c.augmentation == "preconditioned") for n in bp.noise_net_inputs]
        return DenseFlowBlock(units, couplings, k, lambda: self.noise)

    @staticmethod
    def _coupling_net(c, bp, width):
        condition, transformed = width - width // 2, width // 2
        if c.coupling == "dense":
            return DenseNystromCouplingNet(condition, 2 * transformed, bp.coupling_width, c.dense_depth, c.dense_growth, bp.landmarks)
        return GlowCouplingNet(condition, 2 * transformed, bp.coupling_width)

    @property
    def dtype(self):
        p = next(self.parameters(), None)
        return p.dtype if p is not None else torch.float32

    @property
    def device(self):
        p = next(self.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    @property
    def parameter_count(self):
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @property
    def dequantizer_parameter_count(self):
        return sum(p.numel() for p in self.dequantizer.parameters() if p.requires_grad)

    def flow_forward(self, v, observe=None, dropped=None):
        """Flow part from the dequantized v: shift, squeeze, blocks and transitions. Returns z and Σ log-dets."""
        h = Squeeze.apply(v - 0.5)
        if observe is not None:
            observe(1, v - 0.5, torch.zeros(v.shape[0], dtype=v.dtype, device=v.device))
            observe(2, h, torch.zeros(v.shape[0], dtype=v.dtype, device=v.device))
        log_det = torch.zeros(v.shape[0], dtype=v.dtype, device=v.device)
        index = 3
        for b in range(len(self.blocks)):
            y, ld = self.blocks[b](h)
            if observe is not None:
                observe(index, y, ld)
            index += 1
            log_det = log_det + ld
            h = y
            if b < len(self.transitions):
                kept, ld_t = self.transitions[b](h)
                if dropped is not None:
                    dropped.append(Squeeze.apply(h).narrow(1, kept.shape[1], kept.shape[1]))
                if observe is not None:
                    observe(index, kept, ld_t)
                index += 1
                log_det = log_det + ld_t
                h = kept
        return h, log_det

    def bound(self, x, context=None, observe=None):
        """The single-sample lower bound L(x) per image in nats (SPEC §1), with its terms."""
        self._check_images(x)
        dtype = self.dtype
        v, dequant_term = self.dequantizer.dequantize(x, context, self.noise, dtype)
        if observe is not None:
            observe(0, v, dequant_term)
        z, flow_log_det = self.flow_forward(v, observe)
        log_prior = self.prior.log_prob(z)
        log_lik = dequant_term + flow_log_det + log_prior
        return BoundTerms(log_lik, z, dequant_term, flow_log_det, log_prior)

    def log_likelihood(self, x, context=None):
        """log-likelihood bound per image (nats)."""
        return self.bound(x, context).log_likelihood

    def bits_per_dim(self, x):
        """bits/dim = −L(x)/(D·ln 2), per image."""
        return -self.log_likelihood(x) / (self.config.dimensions * math.log(2))

    def encode(self, x):
        """Encodes integer images to the final latent z (one dequantization draw)."""
        self._check_images(x)
        v, _ = self.dequantizer.dequantize(x, None, self.noise, self.dtype)
        return self.flow_forward(v)[0]

    def decode_to_continuous(self, z, temperature=1.0):
        """Decodes a latent z to continuous v (before quantization), drawing the dropped halves at temperature T."""
        h = z
        for b in range(len(self.blocks) - 1, -1, -1):
            h = self.blocks[b].inverse(h)
            if b > 0:
                h = self.transitions[b - 1].inverse(h, self.noise, temperature)
        return Squeeze.unapply(h) + 0.5

    def decode(self, z, temperature=1.0):
        return self.dequantizer.quantize(self.decode_to_continuous(z, temperature))

    def sample_latent(self, n, temperature=1.0):
        """Latent noise → z at temperature T: the prior's standard deviation is scaled by T."""
        shape = [n, *self.plan.latent_shape]
        eps = self.noise.standard_normal(shape, self.dtype, self.device)
        return self.prior.from_noise(eps, temperature)

    def sample(self, n, temperature=1.0):
        """n integer images at temperature T (SPEC §8). Draws: prior first, then dropped halves from the last transition to the first."""
        with torch.no_grad():
            return self.decode(self.sample_latent(n, temperature), temperature)

    def sample_continuous(self, n, temperature=1.0):
        with torch.no_grad():
            return self.decode_to_continuous(self.sample_latent(n, temperature), temperature)

    def _check_images(self, x):
        s = self.config.input_shape
        if x.dim() != 4 or tuple(x.shape[1:]) != tuple(s):
            raise ValueError(f"images: expected shape (B,{s[0]},{s[1]},{s[2]}), got ({','.join(str(d) for d in x.shape)})")


def build(name_or_config, noise=None, init_seed=None) -> DenseFlowModel:
    config = preset(name_or_config) if isinstance(name_or_config, str) else name_or_config
    return DenseFlowModel(config, noise, init_seed)


# ───────────────────────────── Model/OfficialNames.cs, ReferenceWeights.cs ─────────────────────────────

class WeightImportError(Exception):
    """A reference weight file or state_dict that cannot be used: the message says what was expected."""


def _nn(layer_part):
    """A dense layer's bottleneck conv is nn.0 and its 3×3 conv nn.2 (nn.1 is the ReLU)."""
    return "0" if layer_part == "bottleneck" else "2"


_ENC = "transforms.0.encoder"
_COUPLING = "transforms.2.coupling_net.0.dn.transform"


def _block(b):
    return f"transforms.{3 + 2 * b}"


def _module(m):
    return f"{_block(int(m[1]))}.blocks.{int(m[2])}.transforms.{int(m[3])}"


# The one table between our parameter names and the reference implementation's state_dict names
# (SPEC §10), translated from OfficialNames.cs. Top level there: transforms.0 dequantizer,
# transforms.1 shift, transforms.2 squeeze, then blocks (3, 5, …) and transitions (4, 6, …)
# alternating; base_dist is the final prior.
OFFICIAL_NAMES = [(re.compile("^" + p + "$"), f) for p, f in [
    # Variational dequantizer (SPEC §6).
    (r"dequantizer\.context\.dense_in\.layers\.(\d+)\.(bottleneck|conv)\.(weight|bias)", lambda m, c: f"{_ENC}.context_init.1.{int(m[1])}.nn.{_nn(m[2])}.{m[3]}"),
    (r"dequantizer\.context\.dense_in\.gate\.conv\.(weight|bias)", lambda m, c: f"{_ENC}.context_init.1.{c.dequant_context_depth}.conv.{m[1]}"),
    (r"dequantizer\.context\.down\.(weight|bias)", lambda m, c: f"{_ENC}.context_init.2.{m[1]}"),
    (r"dequantizer\.context\.dense_out\.layers\.(\d+)\.(bottleneck|conv)\.(weight|bias)", lambda m, c: f"{_ENC}.context_init.3.{int(m[1])}.nn.{_nn(m[2])}.{m[3]}"),
    (r"dequantizer\.context\.dense_out\.gate\.conv\.(weight|bias)", lambda m, c: f"{_ENC}.context_init.3.{c.dequant_context_depth}.conv.{m[1]}"),
    (r"dequantizer\.base\.(loc|log_scale)", lambda m, c: f"{_ENC}.base_dist.{m[1]}"),
    (r"dequantizer\.convs\.(\d+)\.weight", lambda m, c: f"{_ENC}.transforms.{2 * int(m[1])}.weight"),
    (r"dequantizer\.couplings\.(\d+)\.net\.input\.(weight|bias)", lambda m, c: f"{_ENC}.transforms.{2 * int(m[1]) + 1}.coupling_net.0.transform.0.{m[2]}"),
    (r"dequantizer\.couplings\.(\d+)\.net\.dense\.layers\.(\d+)\.(bottleneck|conv)\.(weight|bias)", lambda m, c: f"{_ENC}.transforms.{2 * int(m[1]) + 1}.coupling_net.0.transform.1.dense.{int(m[2])}.nn.{_nn(m[3])}.{m[4]}"),
    (r"dequantizer\.couplings\.(\d+)\.net\.dense\.gate\.conv\.(weight|bias)", lambda m, c: f"{_ENC}.transforms.{2 * int(m[1]) + 1}.coupling_net.0.transform.1.dense.{c.dequant_depth}.conv.{m[2]}"),
    (r"dequantizer\.couplings\.(\d+)\.net\.output\.(weight|bias)", lambda m, c: f"{_ENC}.transforms.{2 * int(m[1]) + 1}.coupling_net.0.transform.2.{m[2]}"),
    # transforms: [conv, coupling] × steps, conv, unsqueeze, sigmoid.
    (r"dequantizer\.sigmoid\.temperature", lambda m, c: f"{_ENC}.transforms.{2 * c.dequant_steps + 2}.temperature"),

    # Glow-like modules (SPEC §3) and their dense + Nyström coupling networks (SPEC §4).
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.actnorm\.(shift|log_scale|initialized)", lambda m, c: f"{_module(m)}.transforms.0.{m[4]}"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.conv\.weight", lambda m, c: f"{_module(m)}.transforms.1.weight"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.input\.(weight|bias)", lambda m, c: f"{_module(m)}.{_COUPLING}.0.{m[4]}"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.dense\.layers\.(\d+)\.(bottleneck|conv)\.(weight|bias)", lambda m, c: f"{_module(m)}.{_COUPLING}.1.dense.{int(m[4])}.nn.{_nn(m[5])}.{m[6]}"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.dense\.gate\.conv\.(weight|bias)", lambda m, c: f"{_module(m)}.{_COUPLING}.1.dense.{c.dense_depth}.conv.{m[4]}"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.attention\.qkv\.(weight|bias)", lambda m, c: f"{_module(m)}.{_COUPLING}.1.mha.qkv.{m[4]}"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.attention\.out\.(weight|bias)", lambda m, c: f"{_module(m)}.{_COUPLING}.1.mha.out_transform.{m[4]}"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.mix_norm\.(weight|bias|running_mean|running_var|num_batches_tracked)", lambda m, c: f"{_module(m)}.{_COUPLING}.1.mix_conv.0.{m[4]}"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.mix_conv\.weight", lambda m, c: f"{_module(m)}.{_COUPLING}.1.mix_conv.2.weight"),
    (r"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.output\.(weight|bias)", lambda m, c: f"{_module(m)}.{_COUPLING}.2.{m[4]}"),

    # Cross-unit coupling networks g_k (SPEC §5), transitions and the final prior (SPEC §1).
    (r"blocks\.(\d+)\.noise\.(\d+)\.net\.hidden\.(weight|bias)", lambda m, c: f"{_block(int(m[1]))}.noise_params.{int(m[2])}.transformation.0.{m[3]}"),
    (r"blocks\.(\d+)\.noise\.(\d+)\.net\.output\.(weight|bias)", lambda m, c: f"{_block(int(m[1]))}.noise_params.{int(m[2])}.transformation.2.{m[3]}"),
    (r"transitions\.(\d+)\.buffer", lambda m, c: f"transforms.{4 + 2 * int(m[1])}.dist.buffer"),
    (r"prior\.(loc|log_scale)", lambda m, c: f"base_dist.{m[1]}"),
]]


def official_constants(c: DenseFlowConfig):
    """Reference entries with no counterpart here: constants that an import checks instead of loading."""
    return {
        "transforms.0.ldj_per_dim": -c.num_bits * math.log(2),
        "transforms.1._shift": -0.5,
        "transforms.1._scale": 1.0,
    }


def to_official(ours: str, config: DenseFlowConfig) -> str:
    """The reference name of one of our state entries; raises when it has none (e.g. the Glow-coupling ablations)."""
    for pattern, official in OFFICIAL_NAMES:
        m = pattern.match(ours)
        if m:
            return official(m, config)
    raise WeightImportError(f"parameter '{ours}' has no counterpart in the reference implementation (only the official architecture can be imported)")


def is_official_architecture(c: DenseFlowConfig) -> bool:
    """Whether the reference code can build this configuration (dense coupling, preconditioned noise, variational dequantization, learned prior)."""
    return c.coupling == "dense" and c.augmentation == "preconditioned" and c.dequantization == "variational" and c.prior == "learned"


def load_official(model: DenseFlowModel, state_dict, source: str = "state_dict"):
    """Copies every parameter and buffer from a reference state dict into the model; strict both ways:
    every entry of ours filled (shape checked), every reference entry used (constants checked)."""
    config = model.config
    if not is_official_architecture(config):
        raise WeightImportError(f"{source}: the configuration is not the official architecture (coupling dense, augmentation "
                                "preconditioned, variational dequantization, learned prior), so reference weights cannot be imported")
    if not isinstance(state_dict, dict) or not state_dict:
        raise WeightImportError(f"{source}: expected a non-empty dict of tensors (a state_dict)")
    # DataParallel checkpoints prefix every key with `module.`.
    if all(k.startswith("module.") for k in state_dict):
        state_dict = {k[len("module."):]: v for k, v in state_dict.items()}
    used = set()
    with torch.no_grad():
        for name, target in model.state_dict(keep_vars=True).items():
            key = to_official(name, config)
            if key not in state_dict:
                raise WeightImportError(f"{source}: missing entry '{key}' (for our '{name}', shape {list(target.shape)})")
            value = state_dict[key]
            if not torch.is_tensor(value):
                raise WeightImportError(f"{source}: entry '{key}' is a {type(value).__name__}, not a tensor")
            if list(value.shape) != list(target.shape):
                raise WeightImportError(f"{source}: entry '{key}' has shape {list(value.shape)}, the configuration expects {list(target.shape)}")
            target.copy_(value.to(dtype=target.dtype, device=target.device))
            used.add(key)
    for key, expected in official_constants(config).items():
        if key not in state_dict:
            continue
        actual = float(torch.as_tensor(state_dict[key]).to(torch.float64).item())
        if abs(actual - expected) > 1e-5:
            raise WeightImportError(f"{source}: constant '{key}' is {actual}, expected {expected}")
        used.add(key)
    unexpected = sorted(k for k in state_dict if k not in used)
    if unexpected:
        raise WeightImportError(f"{source}: {len(unexpected)} entries do not fit the configuration, first '{unexpected[0]}'")


def read_official(path: str):
    """Reads a reference weight file: checkpoint.pt ({'model': state_dict, ...}), a plain state_dict.pt, or weights.npz."""
    import os
    if not os.path.isfile(path):
        raise WeightImportError(f"{path}: weight file not found")
    if path.lower().endswith(".npz"):
        import numpy as np
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: torch.from_numpy(np.array(npz[k])) for k in npz.files}
        except Exception as e:
            raise WeightImportError(f"{path}: not a readable .npz file ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:
        raise WeightImportError(f"{path}: not a readable PyTorch file ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    # checkpoint.pt: {'current_epoch': …, 'model': state_dict}; state_dict.pt: the dict itself.
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict):
        raise WeightImportError(f"{path}: expected a state_dict, or a dict with key 'model'")
    tensors = {k: v for k, v in obj.items() if torch.is_tensor(v)}
    if not tensors:
        raise WeightImportError(f"{path}: no tensors found (expected a state_dict, or a dict with key 'model')")
    return tensors


# ───────────────────────────── Benchmarks/ConvFlops.cs (for GFLOP/s figures) ─────────────────────────────

def conv2d_gflop(cin, cout, kernel, out_h, out_w, batch=1):
    """GFLOP of one Conv2d (no bias): 2·in·out·k²·outH·outW·batch / 1e9."""
    return 2.0 * cin * cout * kernel * kernel * out_h * out_w * batch / 1e9


def forward_conv_gflop_per_image(c: DenseFlowConfig):
    """Forward conv GFLOP per image (FLOP = 2·MAC; biases, attention products, element-wise ops not counted),
    including the invertible 1×1 convs: ConvFlops.ForwardGflopsPerImage."""
    def mac(cin, cout, k=1):
        return float(cin) * cout * k * k

    def dense_block_mac(cin, cout, depth, growth, gated=True):
        m = 0.0
        for i in range(depth):
            ch = cin + i * growth
            m += mac(ch, ch) + mac(ch, growth, 3)
        return m + mac(cin + depth * growth, 3 * cout if gated else cout)

    def coupling_net_mac(width, p):
        condition, output = width - width // 2, 2 * (width // 2)
        if c.coupling == "glow":
            return mac(condition, p, 3) + mac(p, p) + mac(p, output, 3)
        e = p // 2
        return mac(condition, p) + mac(p, 3 * e) + mac(e, p) + dense_block_mac(p, p, c.dense_depth, c.dense_growth) + mac(2 * p, p) + mac(p, output)

    plan = c.plan()
    total = 0.0
    k = c.effective_growth
    noise_nets = c.augmentation == "preconditioned" and k > 0
    for bp in plan.blocks:
        hw = float(bp.height) * bp.width
        for width in bp.unit_widths:
            total += bp.modules_per_unit * coupling_net_mac(width, bp.coupling_width) * hw
            total += bp.modules_per_unit * mac(width, width) * hw
        if noise_nets:
            for n in bp.noise_net_inputs:
                total += (mac(n, 4 * n, 3) + mac(4 * n, 2 * k)) * hw
    if c.dequantization == "variational":
        full, half = float(c.height) * c.width, float(c.height // 2) * (c.width // 2)
        c4, cc = 4 * c.channels, c.dequant_context_channels
        total += dense_block_mac(c.channels, cc, c.dequant_context_depth, c.dequant_context_growth) * full
        total += mac(cc, cc, 2) * half + dense_block_mac(cc, cc, c.dequant_context_depth, c.dequant_context_growth) * half
        cin, cout = c4 - c4 // 2 + cc, 2 * (c4 // 2)
        total += c.dequant_steps * (mac(cin, c.dequant_width) + dense_block_mac(c.dequant_width, c.dequant_width, c.dequant_depth, c.dequant_growth)
                                    + mac(c.dequant_width, cout)) * half
        total += (c.dequant_steps + 1) * mac(c4, c4) * half
    return 2 * total / 1e9


if __name__ == "__main__":
    import sys
    names = sys.argv[1:] or ["official-small", "small32x1", "df-74-10"]
    for name in names:
        m = build(name)
        print(f"{name}: {m.parameter_count:,} trainable parameters ({m.dequantizer_parameter_count:,} in the dequantizer), "
              f"latent {m.plan.latent_shape}, {forward_conv_gflop_per_image(m.config):.3f} forward conv GFLOP/image")
