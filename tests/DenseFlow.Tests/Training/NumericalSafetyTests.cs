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

    [Fact]
    public void ANonFiniteGradientWithAFiniteLossIsSkippedAndLeavesTheWeightsAsTheyWere()
    {
        var (train, test) = Data();
        using var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 2);
        using var trainer = new Trainer(model, Options with { MaxSteps = 4, CheckpointEverySteps = 0 }, train, test, _dir, resume: false);
        var warnings = new List<string>();
        trainer.Warning += warnings.Add;
        Dictionary<string, Tensor>? beforeFault = null;
        trainer.Progress += p =>
        {
            // After step 2 (index 1): keep the weights the faulty step 3 (index 2) must not change.
            if (p.Step == 2) beforeFault = model.named_parameters().ToDictionary(x => x.name, x => { var c = x.parameter.detach().clone(); c.DetachFromDisposeScope(); return c; });
            if (p.Step == 3)
                foreach (var (name, value) in model.named_parameters())
                    Assert.True(value.eq(beforeFault![name]).all().item<bool>(), $"{name} changed in the step with a NaN gradient");
        };
        trainer.GradientFault = step => step == 2;
        trainer.Run();
        Assert.Equal(1, trainer.State.BadStepsTotal);
        Assert.Contains(warnings, w => w.Contains("step 2: non-finite gradient"));
        Assert.NotNull(beforeFault);
        foreach (var p in model.parameters()) Assert.True(p.isfinite().all().item<bool>());
        // The steps around it were applied: the weights moved on after the faulty step.
        Assert.Contains(model.named_parameters(), x => !x.parameter.eq(beforeFault![x.name]).all().item<bool>());
    }

    [Fact]
    public void TheInverseErrorWarningFiresAboveItsThresholdOnly()
    {
        var (train, test) = Data();
        var warnings = new List<string>();
        using (var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 2))
        using (var trainer = new Trainer(model, Options with { MaxSteps = 2, CheckpointEverySteps = 0, InverseErrorWarning = 0 }, train, test, _dir, resume: false))
        {
            trainer.Warning += warnings.Add;
            trainer.Run();
        }
        // A float32 round trip is never exact to 0: the warning must fire, naming the error it saw.
        Assert.Contains(warnings, w => w.Contains("inverse error max|x − f⁻¹(f(x))|") && w.Contains("exceeds"));
        warnings.Clear();
        using (var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 2))
        using (var trainer = new Trainer(model, Options with { MaxSteps = 2, CheckpointEverySteps = 0 }, train, test, Path.Combine(_dir, "default"), resume: false))
        {
            trainer.Warning += warnings.Add;
            trainer.Run();
        }
        Assert.DoesNotContain(warnings, w => w.Contains("inverse error"));
    }
}
