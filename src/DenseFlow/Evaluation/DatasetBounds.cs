using DenseFlow.Data;
using DenseFlow.Distributed;
using DenseFlow.Model;
using DenseFlow.Noise;
using static TorchSharp.torch;

namespace DenseFlow.Evaluation;

/// <summary>
/// The dataset-level bound loop shared by `eval`, `score`, `ood` and the trainer's per-epoch test bound: images in order, the model's own noise source,
/// so the same seed gives the same figures. Under MPI the passes are dealt round-robin to the ranks and the
/// per-image bounds summed back (each filled by exactly one rank, so the sum is exact): a rank advances the
/// shared noise stream over the passes it does not compute by drawing and discarding what they would draw,
/// so every figure is identical to the single-process run with the same seed.
/// </summary>
public static class DatasetBounds
{
    /// <param name="batch">images per pass for the ELBO; with K &gt; 1 at most 256 / drawsPerPass images go in one pass</param>
    /// <param name="advance">called with the number of images finished after each pass</param>
    /// <param name="comm">the ranks sharing the work (default: the process's <see cref="World"/>)</param>
    /// <param name="afterPass">called after each pass this rank computes with its first image index and its images, before the
    /// next pass draws noise (the trainer measures the inverse error of the first pass there)</param>
    public static ImageBounds Evaluate(DenseFlowModel model, ImageBatcher batcher, int count, int batch, int k, int drawsPerPass, Action<int>? advance = null,
        ICommunicator? comm = null, Action<int, Tensor>? afterPass = null)
    {
        comm ??= World.Current;
        var elbo = new double[count];
        double[]? iwbo = k > 1 ? new double[count] : null;
        int step = k > 1 ? Math.Max(1, Math.Min(batch, Math.Max(1, 256 / drawsPerPass))) : batch;
        var perImage = comm.Size > 1 && count > 0 ? DrawsPerImage(model, batcher, k, drawsPerPass) : null;
        int pass = 0;
        for (int done = 0; done < count; done += step, pass++)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(step, count - done);
            if (perImage is not null && pass % comm.Size != comm.Rank)
            {
                DrawShapeRecorder.Advance(model.Noise, perImage, n);
                advance?.Invoke(n);
                continue;
            }
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
            afterPass?.Invoke(done, x);
            advance?.Invoke(n);
        }
        if (perImage is not null)
        {
            comm.AllReduceSum(elbo);
            if (iwbo is not null) comm.AllReduceSum(iwbo);
        }
        return new ImageBounds(elbo, iwbo);
    }

    /// <summary>The draws of a pass over one image, from a dry pass that leaves the model's noise stream untouched.</summary>
    static List<NoiseDraw> DrawsPerImage(DenseFlowModel model, ImageBatcher batcher, int k, int drawsPerPass)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var saved = model.Noise;
        var recorder = new DrawShapeRecorder();
        try
        {
            model.Noise = recorder;
            var x = batcher.GetRange(0, 1).to(model.Device);
            if (k > 1) Likelihood.ImportanceWeighted(model, x, k, drawsPerPass);
            else model.LogLikelihood(x);
        }
        finally { model.Noise = saved; }
        return recorder.Draws;
    }
}
