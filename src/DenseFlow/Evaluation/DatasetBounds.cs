using DenseFlow.Data;
using DenseFlow.Model;
using static TorchSharp.torch;

namespace DenseFlow.Evaluation;

/// <summary>Per-image bounds of a dataset, in nats: the ELBO and, with K &gt; 1, the IWBO (SPEC §8).</summary>
public sealed record ImageBounds(double[] Elbo, double[]? Iwbo)
{
    /// <summary>The tightest bound computed: the IWBO when K &gt; 1, else the ELBO.</summary>
    public double[] Best => Iwbo ?? Elbo;
}

/// <summary>
/// The dataset-level bound loop shared by `eval` and `score`: images in order, the model's own noise source,
/// so the same seed gives the same figures.
/// </summary>
public static class DatasetBounds
{
    /// <param name="batch">images per pass for the ELBO; with K &gt; 1 at most 256 / drawsPerPass images go in one pass</param>
    /// <param name="advance">called with the number of images finished after each pass</param>
    public static ImageBounds Evaluate(DenseFlowModel model, ImageBatcher batcher, int count, int batch, int k, int drawsPerPass, Action<int>? advance = null)
    {
        var elbo = new double[count];
        double[]? iwbo = k > 1 ? new double[count] : null;
        int step = k > 1 ? Math.Max(1, Math.Min(batch, Math.Max(1, 256 / drawsPerPass))) : batch;
        for (int done = 0; done < count; done += step)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(step, count - done);
            var x = batcher.GetRange(done, n).to(model.Device);
            if (k > 1)
            {
                var bound = Likelihood.ImportanceWeighted(model, x, k, drawsPerPass, out var all);
                Array.Copy(bound.cpu().data<double>().ToArray(), 0, iwbo!, done, n);
                // The ELBO is the mean of the same single-sample bounds.
                Array.Copy(all.mean(new long[] { 1 }).cpu().data<double>().ToArray(), 0, elbo, done, n);
            }
            else
            {
                using var _ = no_grad();
                Array.Copy(model.LogLikelihood(x).to(ScalarType.Float64).cpu().data<double>().ToArray(), 0, elbo, done, n);
            }
            advance?.Invoke(n);
        }
        return new ImageBounds(elbo, iwbo);
    }
}
