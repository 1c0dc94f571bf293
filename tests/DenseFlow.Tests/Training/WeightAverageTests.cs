using DenseFlow.Data;
using DenseFlow.Model;
using DenseFlow.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Training;

/// <summary>The weight average of `train --ema`: the formula, exact resume, and runs without one.</summary>
public class WeightAverageTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-ema-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    static TrainingOptions Options(long maxSteps, double? ema) => new()
    {
        Dataset = "fashion-mnist", TrainLimit = 128, EvalImages = 16, BatchSize = 16, Seed = 3, WarmupSteps = 2,
        LearningRate = 5e-3, MaxSteps = maxSteps, CheckpointEverySteps = 2, SamplesPerEpoch = 0, EmaDecay = ema,
    };

    static (IImageDataset Train, IImageDataset Test) Data() =>
        (Datasets.Open("fashion-mnist", null, "train", new DatasetOptions { Limit = 128 }),
         Datasets.Open("fashion-mnist", null, "test", new DatasetOptions { Limit = 16 }));

    static Dictionary<string, double[]> Parameters(DenseFlowModel model) =>
        model.named_parameters().Where(p => p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => p.parameter.detach().to(ScalarType.Float64).cpu().data<double>().ToArray());

    [Fact]
    public void Average_follows_the_decay_formula_step_by_step_and_is_what_model_ema_holds()
    {
        const double decay = 0.2; // (1 + t)/(10 + t) is 0.18 at t = 1, so the cap applies from step 2 on
        var (train, test) = Data();
        using var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 11);
        Dictionary<string, double[]> expected;
        Dictionary<string, double[]> live;
        using (var trainer = new Trainer(model, Options(3, decay), train, test, _dir, resume: false))
        {
            expected = Parameters(model);
            long step = 0;
            trainer.Progress += _ =>
            {
                step++;
                double d = Math.Min(decay, (1.0 + step) / (10.0 + step));
                foreach (var (name, now) in Parameters(model))
                {
                    var avg = expected[name];
                    for (int i = 0; i < avg.Length; i++) avg[i] = d * avg[i] + (1 - d) * now[i];
                }
            };
            trainer.Run();
            Assert.Equal(3, step);
            live = Parameters(model);
            var stored = trainer.Average!.State().ToDictionary(e => e.Name, e => e.Value.to(ScalarType.Float64).cpu().data<double>().ToArray());
            Assert.Equal(expected.Count, stored.Count);
            foreach (var (name, avg) in expected)
            {
                var got = stored[WeightAverage.StatePrefix + name];
                for (int i = 0; i < avg.Length; i++)
                    Assert.True(Math.Abs(got[i] - avg[i]) <= 1e-6 + 1e-5 * Math.Abs(avg[i]), $"{name}[{i}]: average {got[i]}, formula {avg[i]}");
            }
        }

        // The run's files: model.dfn the live weights, model-ema.dfn the average; auto loads the average.
        var run = new RunDirectory(_dir);
        File.WriteAllText(run.OptionsFile, Options(3, decay).ToJson());
        using var averaged = run.LoadModel(weights: RunWeights.Auto);
        using var last = run.LoadModel(weights: RunWeights.Live);
        Assert.True(run.LoadsAverage(RunWeights.Auto));
        int differing = 0;
        foreach (var (name, avg) in Parameters(averaged))
        {
            var e = expected[name];
            for (int i = 0; i < avg.Length; i++) Assert.True(Math.Abs(avg[i] - e[i]) <= 1e-6 + 1e-5 * Math.Abs(e[i]), $"model-ema.dfn {name}[{i}]");
            if (!avg.SequenceEqual(live[name])) differing++;
        }
        Assert.True(differing > 0, "the average equals the live weights: nothing was averaged");
        foreach (var (name, w) in Parameters(last)) Assert.Equal(live[name], w);
    }

    [Fact]
    public void Resuming_restores_the_average_bit_for_bit()
    {
        var (train, test) = Data();
        string straight = Path.Combine(_dir, "straight"), resumed = Path.Combine(_dir, "resumed");
        Dictionary<string, double[]> a, c;
        using (var m = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 4))
        using (var t = new Trainer(m, Options(6, 0.9), train, test, straight, resume: false))
        {
            t.Run();
            a = t.Average!.State().ToDictionary(e => e.Name, e => e.Value.to(ScalarType.Float64).data<double>().ToArray());
        }
        using (var m = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 4))
        using (var t = new Trainer(m, Options(4, 0.9), train, test, resumed, resume: false)) t.Run();
        using (var m = new DenseFlowModel(TinyModels.FashionMnist))
        using (var t = new Trainer(m, Options(6, 0.9), train, test, resumed, resume: true))
        {
            Assert.Equal(4, t.State.Step);
            Assert.Equal(4 * 16, t.State.ImagesSeen);
            t.Run();
            c = t.Average!.State().ToDictionary(e => e.Name, e => e.Value.to(ScalarType.Float64).data<double>().ToArray());
        }
        Assert.Equal(a.Keys.OrderBy(k => k), c.Keys.OrderBy(k => k));
        foreach (var (name, v) in a) Assert.True(v.SequenceEqual(c[name]), $"average of {name} differs after resume");
    }

    [Fact]
    public void A_run_without_an_average_loads_its_live_weights_and_refuses_ema()
    {
        var (train, test) = Data();
        using var model = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 2);
        using (var t = new Trainer(model, Options(2, null), train, test, _dir, resume: false))
        {
            Assert.Null(t.Average);
            t.Run();
        }
        var run = new RunDirectory(_dir);
        File.WriteAllText(run.OptionsFile, Options(2, null).ToJson());
        Assert.False(File.Exists(run.AveragedModelFile));
        Assert.False(run.LoadsAverage(RunWeights.Auto));
        using var loaded = run.LoadModel(weights: RunWeights.Auto);
        var expected = Parameters(model);
        foreach (var (name, w) in Parameters(loaded)) Assert.Equal(expected[name], w);
        var e = Assert.Throws<TrainingException>(() => run.LoadModel(weights: RunWeights.Averaged));
        Assert.Contains(_dir, e.Message);
        Assert.Contains("--ema", e.Message);

        // Turning the average on when resuming starts it from the current weights.
        using var m2 = new DenseFlowModel(TinyModels.FashionMnist);
        using var t2 = new Trainer(m2, Options(3, 0.5), train, test, _dir, resume: true);
        var start = t2.Average!.State().ToDictionary(x => x.Name, x => x.Value.to(ScalarType.Float64).data<double>().ToArray());
        foreach (var (name, w) in Parameters(m2)) Assert.Equal(w, start[WeightAverage.StatePrefix + name]);
    }
}
