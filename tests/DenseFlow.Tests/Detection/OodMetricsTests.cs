using DenseFlow.Detection;

namespace DenseFlow.Tests.Detection;

/// <summary>AUROC, AUPRC and FPR at 95% TPR against values worked out by hand (OOD = positive, higher = more anomalous).</summary>
public class OodMetricsTests
{
    [Fact]
    public void PerfectlySeparatedScoresGiveOneOneZero()
    {
        double[] inDist = [1, 2, 3], ood = [4, 5];
        Assert.Equal(1.0, OodMetrics.Auroc(inDist, ood), 12);
        Assert.Equal(1.0, OodMetrics.Auprc(inDist, ood), 12);
        Assert.Equal(0.0, OodMetrics.FprAtTpr(inDist, ood), 12);
        // Reversed: every OOD score is below every in-distribution one.
        Assert.Equal(0.0, OodMetrics.Auroc(ood, inDist), 12);
        Assert.Equal(1.0, OodMetrics.FprAtTpr(ood, inDist), 12);
    }

    [Fact]
    public void TiesCountOneHalfAndEnterTogether()
    {
        // Pairs (ood, in): (2,1) = 1, (2,2) = ½, (2,2) = ½, (3,·) = 3 → 5/6.
        double[] inDist = [1, 2, 2], ood = [2, 3];
        Assert.Equal(5.0 / 6, OodMetrics.Auroc(inDist, ood), 12);
        // Thresholds 3: recall ½ at precision 1; 2: recall 1 at precision 2/4 → ½·1 + ½·½ = ¾.
        Assert.Equal(0.75, OodMetrics.Auprc(inDist, ood), 12);
        // 95% of 2 positives needs both: threshold 2, where 2 of 3 in-distribution scores are called anomalous.
        Assert.Equal(2.0 / 3, OodMetrics.FprAtTpr(inDist, ood), 12);
    }

    [Fact]
    public void AllTiedScoresAreChance()
    {
        double[] inDist = [7, 7, 7], ood = [7, 7];
        Assert.Equal(0.5, OodMetrics.Auroc(inDist, ood), 12);
        Assert.Equal(0.4, OodMetrics.Auprc(inDist, ood), 12); // one threshold: recall 1 at precision 2/5
        Assert.Equal(1.0, OodMetrics.FprAtTpr(inDist, ood), 12);
    }

    [Fact]
    public void FprAt95CountsNineteenOfTwentyPositives()
    {
        var ood = Enumerable.Range(1, 20).Select(i => (double)i).ToArray();
        double[] inDist = [0.5, 1.5, 25];
        // 19 positives first reached at threshold 2 (scores 2..20); in-distribution ≥ 2: only 25.
        Assert.Equal(1.0 / 3, OodMetrics.FprAtTpr(inDist, ood), 12);
        // Pairs with the OOD score higher: 20 above 0.5, 19 above 1.5, none above 25 → 39 of 60.
        Assert.Equal(39.0 / 60, OodMetrics.Auroc(inDist, ood), 12);
    }

    [Fact]
    public void RocCurveRunsFromZeroToOneAndItsAreaIsTheAuroc()
    {
        double[] inDist = [0.1, 0.4, 0.35, 0.8], ood = [0.35, 0.9, 0.7, 0.2, 0.6];
        var roc = OodMetrics.RocCurve(inDist, ood);
        Assert.Equal((0.0, 0.0), (roc[0].FalsePositiveRate, roc[0].TruePositiveRate));
        Assert.Equal((1.0, 1.0), (roc[^1].FalsePositiveRate, roc[^1].TruePositiveRate));
        double trapezoid = 0;
        for (int i = 1; i < roc.Count; i++)
            trapezoid += (roc[i].FalsePositiveRate - roc[i - 1].FalsePositiveRate) * (roc[i].TruePositiveRate + roc[i - 1].TruePositiveRate) / 2;
        Assert.Equal(OodMetrics.Auroc(inDist, ood), trapezoid, 12);
        // By pairs: 0.9 beats 4, 0.7 beats 3, 0.6 beats 3, 0.35 beats 1 and ties 1, 0.2 beats 1 → 12.5 / 20.
        Assert.Equal(12.5 / 20, OodMetrics.Auroc(inDist, ood), 12);
    }

    [Fact]
    public void EmptyOrNaNInputIsRefused()
    {
        Assert.Throws<ArgumentException>(() => OodMetrics.Auroc([], [1.0]));
        Assert.Throws<ArgumentException>(() => OodMetrics.Auprc([1.0], [double.NaN]));
    }
}
