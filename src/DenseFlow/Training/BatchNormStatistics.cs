using DenseFlow.Data;
using DenseFlow.Model;
using DenseFlow.Noise;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Training;

/// <summary>
/// BatchNorm running statistics re-estimated for the weights now in the model: the update_bn step of stochastic
/// weight averaging (Izmailov et al. 2018, "Averaging weights leads to wider optima and better generalization").
/// The statistics training leaves behind describe the live weights' activations; under the weight average
/// (`train --ema`) they do not match while the learning rate is high, and the averaged model scores worse than it is.
/// Each running mean and variance becomes the plain average of its batch statistics over the given batches.
/// </summary>
public static class BatchNormStatistics
{
    /// <summary>Training images a run's weight average has its statistics re-estimated on (a forward pass each, no gradients).</summary>
    public const int RunImages = 1024;

    public static bool HasBatchNorm(DenseFlowModel model) => model.modules().OfType<BatchNorm2d>().Any();

    /// <summary>
    /// The re-estimation a run's weight average gets, wherever it happens (the trainer, or loading the average from a
    /// checkpoint): epoch 0's first batches of the run's training batches (<see cref="TrainingData.Batches"/>), with a
    /// noise stream derived from the run's seed, so the same weights always get the same statistics.
    /// </summary>
    public static int ForRun(DenseFlowModel model, ImageBatcher train, long runSeed)
    {
        int count = Math.Min(train.BatchesPerEpoch, Math.Max(1, RunImages / Math.Max(1, train.BatchSize)));
        var device = model.Device;
        return Reestimate(model, i => train.GetBatch(0, i).to(device), count, runSeed * 1_000_003L + 7);
    }

    /// <summary>
    /// Resets every BatchNorm's running statistics and re-accumulates them over <paramref name="count"/> batches of
    /// integer images (<paramref name="batch"/>(i), made and freed one at a time) in training mode without gradients, drawing from its own noise stream (<paramref name="seed"/>), so
    /// the model's own noise source is not advanced. Momenta, the training/eval mode and the statistics group are
    /// restored afterwards; parameters are not touched. Returns the number of images used (0: nothing changed).
    /// </summary>
    public static int Reestimate(DenseFlowModel model, Func<int, Tensor> batch, int count, long seed)
    {
        var norms = model.modules().OfType<BatchNorm2d>().ToList();
        // No batch to learn from: keep the statistics there are rather than reset them to 0 and 1.
        if (norms.Count == 0 || count <= 0) return 0;
        var momenta = norms.Select(n => n.momentum).ToList();
        bool training = model.training;
        var savedNoise = model.Noise;
        var (group, synchronized) = model.StatisticsGroup;
        using var noise = new SeededNoise(seed);
        int images = 0;
        try
        {
            foreach (var n in norms) { n.reset_running_stats(); n.momentum = null; } // null: cumulative average
            model.UseStatisticsOf(null); // this process's batches alone: no collective calls
            model.train();
            // Only BatchNorm learns from these batches: an uninitialised ActNorm must not initialise from them.
            foreach (var a in model.modules().OfType<DenseFlow.Flows.ActNorm>()) a.eval();
            model.Noise = noise;
            using var _ = no_grad();
            for (int i = 0; i < count; i++)
            {
                using var scope = NewDisposeScope();
                var x = batch(i);
                model.Bound(x);
                images += (int)x.shape[0];
            }
        }
        finally
        {
            for (int i = 0; i < norms.Count; i++) norms[i].momentum = momenta[i];
            model.UseStatisticsOf(group, synchronized);
            model.Noise = savedNoise;
            model.train(training);
        }
        return images;
    }
}
