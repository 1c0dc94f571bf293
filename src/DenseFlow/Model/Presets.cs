using DenseFlow.Flows;

namespace DenseFlow.Model;

/// <summary>Named configurations: the paper's models, its Table 4 ablations and CPU-sized presets.</summary>
public static class Presets
{
    static DenseFlowConfig DF45(AugmentationKind aug, CouplingKind coupling) => new()
    {
        InputShape = [3, 32, 32], UnitsPerBlock = [5, 3, 1], ModulesPerUnit = [3, 5, 15], GrowthRate = 6,
        CouplingWidth = coupling == CouplingKind.Glow ? [GlowAblationWidth, GlowAblationWidth, GlowAblationWidth] : [48, 48, 48],
        Landmarks = [4, 4, 4], Augmentation = aug, Coupling = coupling,
    };

    /// <summary>Hidden width of the Glow coupling network in the ablations (the paper does not state it; Glow's own is 512).</summary>
    public const int GlowAblationWidth = 512;

    static readonly Dictionary<string, (string Description, Func<DenseFlowConfig> Make)> All = new()
    {
        ["df-74-10"] = ("DenseFlow-74-10, the paper's model for CIFAR-10, ImageNet and CelebA (32×32×3)", () => new DenseFlowConfig
        {
            InputShape = [3, 32, 32], UnitsPerBlock = [6, 4, 1], ModulesPerUnit = [5, 6, 20], GrowthRate = 10,
            CouplingWidth = [48, 48, 48], Landmarks = [4, 4, 4],
        }),
        ["df-45-6"] = ("DenseFlow-45-6, the paper's ablation model (32×32×3)", () => DF45(AugmentationKind.Preconditioned, CouplingKind.Dense)),
        // Table 4: (latent augmentation, preconditioned noise, DenseFlow coupling).
        ["ablation-1"] = ("Table 4 row 1: Glow baseline, 3 blocks × 15 modules, Glow coupling", () => new DenseFlowConfig
        {
            InputShape = [3, 32, 32], UnitsPerBlock = [1, 1, 1], ModulesPerUnit = [15, 15, 15], GrowthRate = 0,
            CouplingWidth = [GlowAblationWidth, GlowAblationWidth, GlowAblationWidth], Landmarks = [4, 4, 4],
            Augmentation = AugmentationKind.None, Coupling = CouplingKind.Glow,
        }),
        ["ablation-2"] = ("Table 4 row 2: white-noise augmentation, Glow coupling", () => DF45(AugmentationKind.White, CouplingKind.Glow)),
        ["ablation-3"] = ("Table 4 row 3: preconditioned augmentation, Glow coupling", () => DF45(AugmentationKind.Preconditioned, CouplingKind.Glow)),
        ["ablation-4"] = ("Table 4 row 4: no augmentation, DenseFlow coupling", () => DF45(AugmentationKind.None, CouplingKind.Dense)),
        ["ablation-5"] = ("Table 4 row 5: white-noise augmentation, DenseFlow coupling", () => DF45(AugmentationKind.White, CouplingKind.Dense)),
        ["ablation-6"] = ("Table 4 row 6: preconditioned augmentation, DenseFlow coupling (= df-45-6)", () => DF45(AugmentationKind.Preconditioned, CouplingKind.Dense)),
        ["small32x1"] = ("The ANCHORS.md benchmark model: 1×32×32, units 3,2,1, modules 2,3,4, width 32, growth 8", () => new DenseFlowConfig
        {
            InputShape = [1, 32, 32], UnitsPerBlock = [3, 2, 1], ModulesPerUnit = [2, 3, 4], GrowthRate = 8,
            CouplingWidth = [32, 32, 32], Landmarks = [4, 4, 4],
        }),
        ["official-small"] = ("The reference fixture's model: 3×32×32, units 2,2,1, modules 1,2,2, width 16, growth 4", () => new DenseFlowConfig
        {
            InputShape = [3, 32, 32], UnitsPerBlock = [2, 2, 1], ModulesPerUnit = [1, 2, 2], GrowthRate = 4,
            CouplingWidth = [16, 16, 16], Landmarks = [4, 4, 4],
        }),
        ["fmnist-cpu"] = ("CPU preset for Fashion-MNIST at 28×28: two scales (14×14, 7×7), sized for minutes on 2 cores", () => FashionMnistCpu),
        ["fmnist-cpu-short"] = ("fmnist-cpu with dense depth 2: cheaper steps, better for budgets of 5 minutes or less on 2 cores", () => FashionMnistCpuShort),
    };

    /// <summary>
    /// Fashion-MNIST at its native 28×28: squeeze to 4×14×14, block 0 (3 units × 2 modules, k = 4),
    /// transition to 8×7×7 (H·W = 49, so 7 landmarks), block 1 (2 units × 3 modules). Dense depth 4 won over 2 at
    /// 10 minutes though 2 is cheaper per step and won at 5 (docs/TRAINING.md, round 4).
    /// </summary>
    public static DenseFlowConfig FashionMnistCpu => new()
    {
        InputShape = [1, 28, 28], UnitsPerBlock = [3, 2], ModulesPerUnit = [2, 3], GrowthRate = 4,
        CouplingWidth = [32, 32], Landmarks = [4, 7], DenseDepth = 4, DenseGrowth = 32,
        DequantWidth = 32, DequantContextChannels = 32, DequantDepth = 2, DequantGrowth = 32, DequantSteps = 2,
        DequantContextDepth = 2, DequantContextGrowth = 16,
    };

    /// <summary>
    /// fmnist-cpu with two dense layers per coupling network instead of four: a step costs 0.63 of fmnist-cpu's, which
    /// wins at 2 and 5 minutes on 2 cores and loses at 10 (docs/TRAINING.md, round 4).
    /// </summary>
    public static DenseFlowConfig FashionMnistCpuShort => FashionMnistCpu with { DenseDepth = 2 };

    public static IEnumerable<string> Names => All.Keys;
    public static string Describe(string name) => All[name].Description;

    public static DenseFlowConfig Get(string name) =>
        All.TryGetValue(name, out var p) ? p.Make()
            : throw new ConfigException($"unknown preset '{name}' (expected one of: {string.Join(", ", All.Keys)})");

    public static bool Exists(string name) => All.ContainsKey(name);
}
