using DenseFlow.Flows;

namespace DenseFlow.Model;

/// <summary>Sizes of one block, derived from the configuration (SPEC §2).</summary>
public sealed record BlockPlan(
    int Index, int InChannels, int Height, int Width, int Units, int ModulesPerUnit,
    int[] UnitWidths, int[] NoiseNetInputs, int CouplingWidth, int Landmarks, int OutChannels);

/// <summary>
/// The whole shape plan: where each block runs, at which widths. Building it validates the
/// configuration, so a bad one is refused before any weight is allocated.
/// </summary>
public sealed record ArchitecturePlan(DenseFlowConfig Config, IReadOnlyList<BlockPlan> Blocks, int[] LatentShape, int DroppedDimensions)
{
    public static ArchitecturePlan From(DenseFlowConfig c)
    {
        void Require(bool ok, string message) { if (!ok) throw new ConfigException(message); }

        Require(c.InputShape is { Length: 3 }, "input_shape: expected three numbers C, H, W");
        Require(c.InputShape.All(v => v > 0), $"input_shape: sizes must be positive, got [{string.Join(", ", c.InputShape)}]");
        int blocks = c.UnitsPerBlock?.Length ?? 0;
        Require(blocks > 0, "units_per_block: at least one block is needed");
        foreach (var (name, list) in new[] { ("modules_per_unit", c.ModulesPerUnit), ("coupling_width", c.CouplingWidth), ("landmarks", c.Landmarks) })
            Require(list != null && list.Length == blocks, $"{name}: expected {blocks} values (one per block), got {list?.Length ?? 0}");
        for (int b = 0; b < blocks; b++)
        {
            Require(c.UnitsPerBlock![b] > 0, $"block {b}: units_per_block must be positive, got {c.UnitsPerBlock[b]}");
            Require(c.ModulesPerUnit[b] > 0, $"block {b}: modules_per_unit must be positive, got {c.ModulesPerUnit[b]}");
            Require(c.CouplingWidth[b] > 0, $"block {b}: coupling_width must be positive, got {c.CouplingWidth[b]}");
            Require(c.Coupling == CouplingKind.Glow || c.CouplingWidth[b] % 2 == 0,
                $"block {b}: coupling_width {c.CouplingWidth[b]} must be even (the attention runs at width P/2)");
            Require(c.Landmarks[b] > 0, $"block {b}: landmarks must be positive, got {c.Landmarks[b]}");
        }
        Require(c.GrowthRate >= 0, $"growth_rate must be zero or positive, got {c.GrowthRate}");
        Require(c.Augmentation == AugmentationKind.None || c.GrowthRate > 0 || c.UnitsPerBlock!.All(u => u == 1),
            "growth_rate must be positive when noise augmentation is on and a block has several units");
        Require(c.DenseDepth > 0 && c.DenseGrowth > 0, $"dense_depth and dense_growth must be positive, got {c.DenseDepth} and {c.DenseGrowth}");
        Require(c.NumBits is >= 1 and <= 8, $"num_bits must be between 1 and 8, got {c.NumBits}");
        Require(c.DequantSteps > 0 && c.DequantContextChannels > 0 && c.DequantWidth > 0 && c.DequantDepth > 0
                && c.DequantGrowth > 0 && c.DequantContextDepth > 0 && c.DequantContextGrowth > 0,
            "dequantizer sizes must be positive");

        int ch = c.Channels, h = c.Height, w = c.Width;
        Require(h % 2 == 0 && w % 2 == 0, $"input: the initial squeeze needs even H and W, got {h}×{w}");
        ch *= 4; h /= 2; w /= 2;
        int k = c.EffectiveGrowth;
        var plans = new List<BlockPlan>();
        int dropped = 0;
        for (int b = 0; b < blocks; b++)
        {
            int units = c.UnitsPerBlock![b];
            var widths = Enumerable.Range(0, units).Select(s => ch + s * k).ToArray();
            foreach (var width in widths)
                Require(width % 2 == 0, $"block {b}: unit width {width} is odd; the channel switch needs even widths (change growth_rate)");
            Require(c.Coupling == CouplingKind.Glow || (h * w) % c.Landmarks[b] == 0,
                $"block {b}: H·W = {h}×{w} = {h * w} is not divisible by its {c.Landmarks[b]} attention landmarks");
            // n_k = k·C + k_g·(k−1)(k−2)/2 inputs for the noise net before unit k.
            var noiseInputs = k == 0 ? Array.Empty<int>()
                : Enumerable.Range(1, units - 1).Select(s => s * ch + k * (s - 1) * (s - 2) / 2).ToArray();
            int outCh = widths[^1];
            plans.Add(new BlockPlan(b, ch, h, w, units, c.ModulesPerUnit[b], widths, noiseInputs, c.CouplingWidth[b], c.Landmarks[b], outCh));
            if (b != blocks - 1)
            {
                Require(h % 2 == 0 && w % 2 == 0, $"block {b}: the transition after it needs an even size, got {h}×{w}");
                int squeezed = outCh * 4;
                dropped += squeezed / 2 * (h / 2) * (w / 2);
                ch = squeezed / 2; h /= 2; w /= 2;
            }
            else ch = outCh;
        }
        return new ArchitecturePlan(c, plans, new[] { ch, h, w }, dropped);
    }
}
