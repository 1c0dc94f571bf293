using DenseFlow.Data;
using DenseFlow.Model;
using DenseFlow.Training;
using DenseFlow.Training.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Training;

public class NumericalSafetyTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-nan-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    static TrainingOptions Options => new()
    {
        Dataset = "fashion-mnist", TrainLimit = 128, EvalImages = 16, BatchSize = 16, Seed = 3, WarmupSteps = 2,
        MaxSteps = 10, CheckpointEverySteps = 3, SamplesPerEpoch = 0, MaxBadSteps = 3,
    };

    static (IImageDataset, IImageDataset) Data() =>
        (Datasets.Open("fashion-mnist", null, "train", new DatasetOptions { Limit = 128 }),
         Datasets.Open("fashion-mnist", null, "test", new DatasetOptions { Limit = 16 }));

    [Fact]
    public void NonFiniteStepsAreSkippedCountedAndTheRunGoesOn()
    {
        var (train, test) = Data();
        using var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 1);
        using var trainer = new Trainer(model, Options, train, test, _dir, resume: false);
        var warnings = new List<string>();
        trainer.Warning += warnings.Add;
        trainer.LossFault = step => step is 4 or 7;
        var result = trainer.Run();
        Assert.Equal(10, result.Steps);
        Assert.Equal(2, trainer.State.BadStepsTotal);
        Assert.Equal(2, warnings.Count(w => w.Contains("non-finite")));
        foreach (var p in model.parameters()) Assert.True(p.isfinite().all().item<bool>());
        // Skipped steps write no train record; the others do.
        Assert.Equal(8, MetricsLog.Read(Path.Combine(_dir, "metrics.jsonl")).Count(r => r.TryGetProperty("train_bpd", out _)));
    }

    [Fact]
    public void TooManyConsecutiveBadStepsStopTheRunAndRestoreTheLastCheckpoint()
    {
        var (train, test) = Data();
        using var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 1);
        using var trainer = new Trainer(model, Options, train, test, _dir, resume: false);
        trainer.LossFault = step => step >= 5;
        var e = Assert.Throws<TrainingException>(() => trainer.Run());
        Assert.Contains("step 7", e.Message);
        Assert.Contains("restored the last good checkpoint", e.Message);
        // Checkpoints come every 3 steps; the one at step 6 holds only applied (finite) updates.
        Assert.Equal(6, trainer.State.Step);

        // The restored weights are the checkpoint's.
        using var fromDisk = new DenseFlowModel(TinyModels.FashionMnist);
        Checkpoint.Load(Path.Combine(_dir, Checkpoint.FileName), fromDisk, null);
        var a = model.state_dict();
        foreach (var (name, t) in fromDisk.state_dict()) Assert.True(t.eq(a[name]).all().item<bool>(), name);
    }
}
