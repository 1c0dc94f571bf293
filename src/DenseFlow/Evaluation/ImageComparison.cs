namespace DenseFlow.Evaluation;

/// <summary>Per-image comparison with the reference's log-likelihood.</summary>
public sealed record ImageComparison(int Index, double Official, double Ours)
{
    public double Difference => Ours - Official;
}
