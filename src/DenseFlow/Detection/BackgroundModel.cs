using DenseFlow.Model;
using DenseFlow.Training;

namespace DenseFlow.Detection;

/// <summary>
/// The background model of the likelihood-ratio score: a run of its own in RUN/background/, trained on
/// the run's data with each pixel replaced by a uniform random value with probability µ (Ren et al.
/// 2019), so it learns the low-level statistics and little of the semantic content.
/// </summary>
public static class BackgroundModel
{
    public const string DirectoryName = "background";

    /// <summary>µ of Ren et al. (their range is 0.1–0.3): 0.1 had the better worst-case AUROC of 0.1 and 0.2 on the synthetic sets (docs/OOD.md).</summary>
    public const double DefaultMutation = 0.1;

    public static RunDirectory Of(RunDirectory run) => new(Path.Combine(run.Path, DirectoryName));

    public static bool Exists(RunDirectory run)
    {
        var bg = Of(run);
        return File.Exists(bg.ModelFile) || File.Exists(bg.CheckpointFile);
    }

    /// <summary>
    /// A deliberately small DenseFlow for the background: one unit of one module per block, half the
    /// widths and a one-step dequantizer, at the main model's input shape. A small receptive field and
    /// capacity keep it to low-level statistics (Schirrmeister et al. 2020) and make it cheap to score.
    /// </summary>
    public static DenseFlowConfig ConfigFor(DenseFlowConfig main) => main with
    {
        UnitsPerBlock = main.UnitsPerBlock.Select(_ => 1).ToArray(),
        ModulesPerUnit = main.ModulesPerUnit.Select(_ => 1).ToArray(),
        GrowthRate = Math.Max(1, main.GrowthRate / 2),
        CouplingWidth = main.CouplingWidth.Select(w => Math.Max(4, w / 2)).ToArray(),
        DenseDepth = Math.Max(1, main.DenseDepth / 2),
        DenseGrowth = Math.Max(4, main.DenseGrowth / 2),
        DequantSteps = 1,
        DequantWidth = Math.Max(4, main.DequantWidth / 2),
        DequantDepth = 1,
        DequantGrowth = Math.Max(4, main.DequantGrowth / 2),
        DequantContextChannels = Math.Max(4, main.DequantContextChannels / 2),
        DequantContextDepth = 1,
        DequantContextGrowth = Math.Max(4, main.DequantContextGrowth / 2),
    };
}
