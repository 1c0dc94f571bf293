namespace DenseFlow.Detection;

/// <summary>
/// Means and spreads, over training images, of the two scores the complexity-knn score adds: each is
/// standardised first, so neither dominates by its units (complexity is in bits/dim, the neighbour
/// distance in pixel units). The training images' neighbour distances are leave-one-out ones.
/// </summary>
public sealed record CombinedScale(double ComplexityMean, double ComplexitySpread, double NeighbourMean, double NeighbourSpread)
{
    public static CombinedScale From(IReadOnlyList<double> complexity, IReadOnlyList<double> neighbour)
    {
        if (complexity.Count < 2 || neighbour.Count < 2) throw new ArgumentException("the combined score's scale needs at least two training images");
        var (cm, cs) = MeanAndSpread(complexity);
        var (nm, ns) = MeanAndSpread(neighbour);
        if (cs == 0 || ns == 0) throw new ArgumentException("the combined score's scale: a score is the same on every training image");
        return new CombinedScale(cm, cs, nm, ns);
    }

    /// <summary>(c − mean_c) / spread_c + (n − mean_n) / spread_n per image.</summary>
    public double[] Score(IReadOnlyList<double> complexity, IReadOnlyList<double> neighbour)
    {
        if (complexity.Count != neighbour.Count) throw new ArgumentException($"{complexity.Count} complexity scores, {neighbour.Count} neighbour distances");
        return complexity.Select((c, i) => (c - ComplexityMean) / ComplexitySpread + (neighbour[i] - NeighbourMean) / NeighbourSpread).ToArray();
    }

    static (double Mean, double Spread) MeanAndSpread(IReadOnlyList<double> v)
    {
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)));
    }
}
