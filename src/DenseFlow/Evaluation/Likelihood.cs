using DenseFlow.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Evaluation;

/// <summary>The bounds of SPEC §8, per image.</summary>
public static class Likelihood
{
    /// <summary>bits/dim of a log-likelihood in nats: −L/(D·ln 2).</summary>
    public static double BitsPerDim(double logLikelihood, int dimensions) => -logLikelihood / (dimensions * Math.Log(2));

    /// <summary>
    /// Importance-weighted bound log P̂(x) = logsumexp_k L_k(x) − ln K over K joint draws of all noise.
    /// The dequantizer's context (independent of the draws) is computed once per image; the K draws are
    /// batched <paramref name="drawsPerPass"/> at a time. Returns (B,) float64, and optionally every L_k.
    /// </summary>
    public static Tensor ImportanceWeighted(DenseFlowModel model, Tensor x, int k, int drawsPerPass, out Tensor allBounds)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"--k must be at least 1, got {k}");
        if (drawsPerPass < 1) throw new ArgumentOutOfRangeException(nameof(drawsPerPass), $"draws per pass must be at least 1, got {drawsPerPass}");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var context = model.DequantizerContext(x);
        var chunks = new List<Tensor>();
        for (int done = 0; done < k; done += drawsPerPass)
        {
            using var inner = NewDisposeScope();
            int n = Math.Min(drawsPerPass, k - done);
            // Image-major layout: row i·n + j is draw j of image i.
            var xr = x.repeat_interleave(n, 0);
            var cr = context?.repeat_interleave(n, 0);
            var bound = model.LogLikelihood(xr, cr).to(ScalarType.Float64).view(b, n);
            chunks.Add(bound.MoveToOuterDisposeScope());
        }
        var all = cat(chunks.ToArray(), 1);
        var iwbo = all.logsumexp(1) - Math.Log(k);
        allBounds = all.MoveToOuterDisposeScope();
        return iwbo.MoveToOuterDisposeScope();
    }

    public static Tensor ImportanceWeighted(DenseFlowModel model, Tensor x, int k, int drawsPerPass)
    {
        var r = ImportanceWeighted(model, x, k, drawsPerPass, out var all);
        all.Dispose();
        return r;
    }
}
