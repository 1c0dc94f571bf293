using DenseFlow.Data;
using DenseFlow.Model;
using DenseFlow.Noise;
using DenseFlow.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Training;

/// <summary>BatchNorm statistics re-estimated for the weight average (SWA's update_bn).</summary>
public class BatchNormStatisticsTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-bnstats-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    static Dictionary<string, Tensor> Buffers(nn.Module m) =>
        m.named_buffers().ToDictionary(b => b.name, b => b.buffer.detach().clone());

    static Tensor Images(long seed, int n)
    {
        using var g = new Generator((ulong)seed, CPU);
        return randint(0, 256, new long[] { n, 1, 28, 28 }, dtype: ScalarType.Int64, generator: g);
    }

    [Fact]
    public void WithMomentumNull_TorchSharpsBatchNormKeepsThePlainAverageOfItsBatchStatistics()
    {
        // What Reestimate relies on, checked against statistics computed by hand: mean of the batch means, and of
        // the unbiased batch variances.
        using var scope = NewDisposeScope();
        var norm = nn.BatchNorm2d(3, momentum: 0.1);
        norm.reset_running_stats();
        norm.momentum = null;
        norm.train();
        using var g = new Generator(5, CPU);
        var batches = Enumerable.Range(0, 3).Select(i => randn(new long[] { 4, 3, 2, 2 }, generator: g) * (i + 1) + i).ToList();
        foreach (var b in batches) norm.forward(b);
        var dims = new long[] { 0, 2, 3 };
        var mean = stack(batches.Select(b => b.mean(dims)).ToArray()).mean(new long[] { 0 });
        var variance = stack(batches.Select(b => b.var(dims, unbiased: true)).ToArray()).mean(new long[] { 0 });
        Assert.True(norm.running_mean!.allclose(mean, rtol: 1e-5, atol: 1e-6), "running mean is not the average of the batch means");
        Assert.True(norm.running_var!.allclose(variance, rtol: 1e-5, atol: 1e-6), "running variance is not the average of the batch variances");
    }

    [Fact]
    public void Reestimate_DependsOnlyOnTheBatches_AndLeavesParametersNoiseAndModeAsTheyWere()
    {
        using var scope = NewDisposeScope();
        using var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 3);
        DenseFlow.Tests.Model.TestUtil.Perturb(model, 4);
        model.eval();
        var noise = new SeededNoise(9);
        model.Noise = noise;
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var batches = new[] { Images(1, 8), Images(2, 8) };

        Assert.Equal(0, BatchNormStatistics.Reestimate(model, i => batches[i], 0, seed: 7));
        var untouched = Buffers(model);
        Assert.All(untouched, b => Assert.True(Same(b.Value, model.named_buffers().First(n => n.name == b.Key).buffer), $"{b.Key} changed without batches"));
        int used = BatchNormStatistics.Reestimate(model, i => batches[i], 2, seed: 7);
        Assert.Equal(16, used);
        var first = Buffers(model);
        // Every BatchNorm learnt from both batches in training mode: two batches tracked, statistics away from the reset 0 and 1
        // (the first test shows that with momentum null these are the plain averages of the batch statistics).
        foreach (var n in model.modules().OfType<BatchNorm2d>())
        {
            Assert.Equal(2L, n.num_batches_tracked!.item<long>());
            Assert.True(n.running_mean!.abs().max().item<float>() > 1e-4, "running mean still the reset zeros");
            Assert.True((n.running_var! - 1).abs().max().item<float>() > 1e-4, "running variance still the reset ones");
        }
        // Whatever the statistics were before (here: perturbed again), the same batches and seed give the same ones.
        DenseFlow.Tests.Model.TestUtil.Perturb(model, 5, std: 0);
        Assert.Contains(model.named_buffers(), b => b.name.EndsWith("running_mean") && !Same(b.buffer, first[b.name]));
        BatchNormStatistics.Reestimate(model, i => batches[i], 2, seed: 7);
        foreach (var (name, b) in Buffers(model)) Assert.True(Same(b, first[name]), $"{name} depends on the statistics before");

        foreach (var (name, p) in model.named_parameters()) Assert.True(Same(p, parameters[name]), $"parameter {name} changed");
        Assert.False(model.training);
        Assert.Same(noise, model.Noise);
        Assert.All(model.modules().OfType<BatchNorm2d>(), n => Assert.Equal(0.1, n.momentum));
        // The model's own stream did not advance: its next draw is a fresh stream's first.
        using var fresh = new SeededNoise(9);
        Assert.True(Same(noise.StandardNormal([5], ScalarType.Float32, CPU), fresh.StandardNormal([5], ScalarType.Float32, CPU)));
    }

    [Fact]
    public void TheAveragedModelFileCarriesStatisticsOfItsOwn_AndTrainingIsUnchangedByThem()
    {
        var train = Datasets.Open("fashion-mnist", null, "train", new DatasetOptions { Limit = 128 });
        var test = Datasets.Open("fashion-mnist", null, "test", new DatasetOptions { Limit = 16 });
        var options = new TrainingOptions
        {
            Dataset = "fashion-mnist", TrainLimit = 128, EvalImages = 16, BatchSize = 16, Seed = 3, WarmupSteps = 2,
            LearningRate = 5e-3, MaxSteps = 6, CheckpointEverySteps = 100, SamplesPerEpoch = 0, EmaDecay = 0.5,
        };
        using var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 11);
        using (var trainer = new Trainer(model, options, train, test, _dir, resume: false)) trainer.Run();
        var run = new RunDirectory(_dir);
        using var live = run.LoadModel(weights: RunWeights.Live);
        using var averaged = ModelFile.Load(run.AveragedModelFile);
        var liveBuffers = Buffers(live);
        // The live model's statistics are those training left (the trainer put them back after each re-estimation) ...
        foreach (var (name, b) in Buffers(model)) Assert.True(Same(b, liveBuffers[name]), $"live {name} was not restored");
        // ... and the average's are its own.
        Assert.Contains(averaged.named_buffers(), b => b.name.EndsWith("running_mean") && !Same(b.buffer, liveBuffers[b.name]));
        // The average loaded from the checkpoint alone (a run still training has no model-ema.dfn) carries the live
        // statistics; the run directory gives it the ones the trainer wrote.
        File.WriteAllText(run.OptionsFile, options.ToJson());
        File.Move(run.AveragedModelFile, Path.Combine(_dir, "kept-ema.dfn"));
        using var fromCheckpoint = run.LoadModel(weights: RunWeights.Averaged);
        foreach (var (name, b) in Buffers(fromCheckpoint)) Assert.True(Same(b, liveBuffers[name]), $"{name}: the checkpoint's average should carry the live statistics");
        Assert.Equal(128, run.ReestimateAverageStatistics(fromCheckpoint)); // the 8 full batches of the 128 training images
        var written = Buffers(averaged);
        foreach (var (name, b) in Buffers(fromCheckpoint))
            Assert.True(b.allclose(written[name], rtol: 1e-5, atol: 1e-6), $"{name}: re-estimated on load differs from what the trainer wrote");
    }
}
