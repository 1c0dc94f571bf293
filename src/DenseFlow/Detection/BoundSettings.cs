namespace DenseFlow.Detection;

/// <summary>How the models' bounds are computed: K importance samples (1 = single-sample bound), batching and the draws' seed.</summary>
public sealed record BoundSettings(int K = 1, int Batch = 64, long Seed = 0)
{
    public int DrawsPerPass => Math.Min(K, 64);
}
