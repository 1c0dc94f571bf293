namespace DenseFlow.Evaluation;

/// <summary>Per-image bounds of a dataset, in nats: the ELBO and, with K &gt; 1, the IWBO (SPEC §8).</summary>
public sealed record ImageBounds(double[] Elbo, double[]? Iwbo)
{
    /// <summary>The tightest bound computed: the IWBO when K &gt; 1, else the ELBO.</summary>
    public double[] Best => Iwbo ?? Elbo;
}
