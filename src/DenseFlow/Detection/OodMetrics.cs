namespace DenseFlow.Detection;

/// <summary>
/// Detection metrics for "higher score = more anomalous", the out-of-distribution images being the
/// positives. Hand-written because they are a few lines each and no kept library has them with ties
/// handled as here: AUROC by average ranks (a tie counts one half), AUPRC as average precision over
/// the distinct thresholds (tied scores enter together), FPR at the first threshold reaching 95% TPR.
/// </summary>
public static class OodMetrics
{
    /// <summary>P(score of an OOD image &gt; score of an in-distribution image) + ½ P(equal): the Mann–Whitney U / (n₀n₁).</summary>
    public static double Auroc(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution)
    {
        Check(inDistribution, outOfDistribution);
        var all = inDistribution.Select(s => (Score: s, Ood: false)).Concat(outOfDistribution.Select(s => (Score: s, Ood: true)))
            .OrderBy(p => p.Score).ToArray();
        double rankSum = 0;
        for (int i = 0; i < all.Length;)
        {
            int j = i;
            while (j < all.Length && all[j].Score == all[i].Score) j++;
            // Ranks i+1..j share their average.
            double rank = (i + 1 + j) / 2.0;
            for (int t = i; t < j; t++) if (all[t].Ood) rankSum += rank;
            i = j;
        }
        double n1 = outOfDistribution.Count, n0 = inDistribution.Count;
        return (rankSum - n1 * (n1 + 1) / 2) / (n1 * n0);
    }

    /// <summary>The ROC curve from (0, 0) to (1, 1), one point per distinct score, highest threshold first.</summary>
    public static IReadOnlyList<RocPoint> RocCurve(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution)
    {
        Check(inDistribution, outOfDistribution);
        var points = new List<RocPoint> { new(double.PositiveInfinity, 0, 0) };
        foreach (var (threshold, tp, fp) in Thresholds(inDistribution, outOfDistribution))
            points.Add(new RocPoint(threshold, fp / (double)inDistribution.Count, tp / (double)outOfDistribution.Count));
        return points;
    }

    /// <summary>Average precision Σ (Rᵢ − Rᵢ₋₁)·Pᵢ over the distinct thresholds, OOD = positive class.</summary>
    public static double Auprc(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution)
    {
        Check(inDistribution, outOfDistribution);
        double ap = 0, lastRecall = 0;
        foreach (var (_, tp, fp) in Thresholds(inDistribution, outOfDistribution))
        {
            double recall = tp / (double)outOfDistribution.Count;
            double precision = tp + fp == 0 ? 1 : tp / (double)(tp + fp);
            ap += (recall - lastRecall) * precision;
            lastRecall = recall;
        }
        return ap;
    }

    /// <summary>False-positive rate at the highest threshold whose true-positive rate is at least <paramref name="tpr"/>.</summary>
    public static double FprAtTpr(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution, double tpr = 0.95)
    {
        Check(inDistribution, outOfDistribution);
        // Compare counts, not rates, so 95% of 20 is exactly 19 positives.
        double needed = tpr * outOfDistribution.Count;
        foreach (var (_, tp, fp) in Thresholds(inDistribution, outOfDistribution))
            if (tp >= needed - 1e-9) return fp / (double)inDistribution.Count;
        return 1;
    }

    /// <summary>(threshold, true positives, false positives) for every distinct score, highest first; tied scores enter together.</summary>
    static IEnumerable<(double Threshold, int Tp, int Fp)> Thresholds(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution)
    {
        var all = inDistribution.Select(s => (Score: s, Ood: false)).Concat(outOfDistribution.Select(s => (Score: s, Ood: true)))
            .OrderByDescending(p => p.Score).ToArray();
        int tp = 0, fp = 0;
        for (int i = 0; i < all.Length;)
        {
            double threshold = all[i].Score;
            while (i < all.Length && all[i].Score == threshold)
            {
                if (all[i].Ood) tp++; else fp++;
                i++;
            }
            yield return (threshold, tp, fp);
        }
    }

    static void Check(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution)
    {
        ArgumentNullException.ThrowIfNull(inDistribution);
        ArgumentNullException.ThrowIfNull(outOfDistribution);
        if (inDistribution.Count == 0 || outOfDistribution.Count == 0)
            throw new ArgumentException("detection metrics need at least one in-distribution and one out-of-distribution score");
        if (inDistribution.Any(double.IsNaN) || outOfDistribution.Any(double.IsNaN))
            throw new ArgumentException("detection metrics: a score is NaN");
    }
}
