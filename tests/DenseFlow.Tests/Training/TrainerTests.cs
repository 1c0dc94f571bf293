using DenseFlow.Data;
using DenseFlow.Model;
using DenseFlow.Training;
using DenseFlow.Training.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Training;

public class TrainerTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    static TrainingOptions Options(long maxSteps) => new()
    {
        Dataset = "fashion-mnist", TrainLimit = 256, EvalImages = 64, BatchSize = 16, Seed = 7, WarmupSteps = 5,
        LearningRate = 2e-3, MaxSteps = maxSteps, CheckpointEverySteps = 4, SamplesPerEpoch = 4, MaxBadSteps = 3,
    };

    static (IImageDataset Train, IImageDataset Test) Data(TrainingOptions o) =>
        (Datasets.Open("fashion-mnist", null, "train", new DatasetOptions { Limit = o.TrainLimit }),
         Datasets.Open("fashion-mnist", null, "test", new DatasetOptions { Limit = 64 }));

    static double TestBpd(DenseFlowModel model, IImageDataset test)
    {
        using var scope = NewDisposeScope();
        model.eval();
        using var noise = new Noise.SeededNoise(123);
        var saved = model.Noise;
        model.Noise = noise;
        var x = new ImageBatcher(test, 64, false, 0, Augmentation.None, false).GetRange(0, test.Count);
        using var _ = no_grad();
        double bpd = model.BitsPerDim(x).mean().to(ScalarType.Float64).item<double>();
        model.Noise = saved;
        return bpd;
    }

    [Fact]
    public void TrainingOnRealImagesLowersTestBpd()
    {
        var o = Options(maxSteps: 48) with { CheckpointEverySteps = 0 };
        var (train, test) = Data(o);
        using var model = new DenseFlowModel(TinyModels.FashionMnist);
        double before = TestBpd(model, test);
        using (var trainer = new Trainer(model, o, train, test, _dir, resume: false))
        {
            var result = trainer.Run();
            Assert.Equal(48, result.Steps);
        }
        double after = TestBpd(model, test);
        Assert.True(after < before - 0.5, $"test bpd went from {before:F3} to {after:F3}");
        var run = new RunDirectory(_dir);
        Assert.True(File.Exists(run.CheckpointFile));
        Assert.True(File.Exists(run.ModelFile));
        Assert.True(File.Exists(run.CurveFile));
        Assert.Contains(MetricsLog.Read(run.MetricsFile), r => r.TryGetProperty("test_bpd", out _));
    }

    [Fact]
    public void ResumingFromACheckpointIsBitExact()
    {
        var o = Options(maxSteps: 12);
        var (train, test) = Data(o);
        string straight = Path.Combine(_dir, "straight"), resumed = Path.Combine(_dir, "resumed");

        using var a = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 5);
        using (var t = new Trainer(a, o, train, test, straight, resume: false)) t.Run();

        // Stop at step 6 ("killed after a checkpoint"), then resume in a fresh model and trainer.
        using (var b = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 5))
        using (var t = new Trainer(b, o with { MaxSteps = 6 }, train, test, resumed, resume: false)) t.Run();
        using var c = new DenseFlowModel(TinyModels.FashionMnist);
        using (var t = new Trainer(c, o, train, test, resumed, resume: true))
        {
            Assert.Equal(6, t.State.Step);
            t.Run();
        }

        var pa = a.state_dict();
        var pc = c.state_dict();
        Assert.Equal(pa.Keys.OrderBy(k => k), pc.Keys.OrderBy(k => k));
        foreach (var (name, value) in pa)
            Assert.True(value.eq(pc[name]).all().item<bool>(), $"parameter {name} differs after resume");

        var lossA = MetricsLog.Series(MetricsLog.Read(Path.Combine(straight, "metrics.jsonl")), "train_bpd");
        var lossC = MetricsLog.Series(MetricsLog.Read(Path.Combine(resumed, "metrics.jsonl")), "train_bpd");
        Assert.Equal(12, lossA.Count);
        Assert.Equal(lossA, lossC);
    }

    [Fact]
    public void CheckpointOfAnotherConfigurationIsRefusedNamingTheParameter()
    {
        var o = Options(maxSteps: 1);
        var (train, test) = Data(o);
        using (var m = new DenseFlowModel(TinyModels.FashionMnist))
        using (var t = new Trainer(m, o, train, test, _dir, resume: false)) t.Run();
        using var other = new DenseFlowModel(TinyModels.FashionMnist with { CouplingWidth = [12, 8] });
        var e = Assert.Throws<TrainingException>(() => Checkpoint.Load(Path.Combine(_dir, Checkpoint.FileName), other, null));
        Assert.Contains("checkpoint.bin", e.Message);
        Assert.Contains("blocks.0.units.0.modules.0.coupling.net", e.Message);
    }

    [Fact]
    public void FailedCheckpointWriteKeepsThePreviousCheckpoint()
    {
        var o = Options(maxSteps: 1);
        var (train, test) = Data(o);
        using var m = new DenseFlowModel(TinyModels.FashionMnist);
        using (var t = new Trainer(m, o, train, test, _dir, resume: false)) t.Run();
        string path = Path.Combine(_dir, Checkpoint.FileName);
        byte[] before = File.ReadAllBytes(path);
        using var opt = new Adamax(m.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        Assert.Throws<IOException>(() => Checkpoint.Save(path, m, opt, new TrainingState { Step = 99 }, s => new FailingStream(s, failAfter: 10_000)));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Equal(1, Checkpoint.ReadState(path).Step);
    }

    [Fact]
    public void TruncatedCheckpointGivesAClearError()
    {
        var o = Options(maxSteps: 1);
        var (train, test) = Data(o);
        using var m = new DenseFlowModel(TinyModels.FashionMnist);
        using (var t = new Trainer(m, o, train, test, _dir, resume: false)) t.Run();
        string path = Path.Combine(_dir, Checkpoint.FileName);
        var bytes = File.ReadAllBytes(path);
        string cut = Path.Combine(_dir, "cut.bin");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<TrainingException>(() => Checkpoint.Load(cut, m, null));
        Assert.Contains("cut.bin", e.Message);
    }

    [Fact]
    public void AdamaxMatchesTheReferenceUpdate()
    {
        // One parameter, two steps, computed by hand from torch.optim.Adamax's definition.
        var p = new TorchSharp.Modules.Parameter(tensor(new double[] { 1.0, -2.0 }));
        using var opt = new Adamax(new[] { ("p", (Tensor)p) });
        double[] g1 = { 0.5, -0.1 }, g2 = { -0.2, 0.3 };
        double[] expected = { 1.0, -2.0 }, m = new double[2], u = new double[2];
        int step = 0;
        foreach (var g in new[] { g1, g2 })
        {
            p.grad = tensor(g);
            opt.Apply(0.01);
            step++;
            for (int i = 0; i < 2; i++)
            {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                u[i] = Math.Max(0.999 * u[i], Math.Abs(g[i]) + 1e-8);
                expected[i] -= 0.01 / (1 - Math.Pow(0.9, step)) * m[i] / u[i];
            }
        }
        var got = p.data<double>().ToArray();
        Assert.Equal(expected[0], got[0], 12);
        Assert.Equal(expected[1], got[1], 12);
    }

    [Fact]
    public void AdamaxWithDroppedGradientsTrainsExactlyAsWithZeroedOnes()
    {
        // ZeroGrad drops .grad (backward then writes fresh buffers); torch 1.13 zeroes it and backward adds into
        // it. Three steps of the same model, draws and batch either way: every parameter bit for bit equal.
        var x = DenseFlow.Tests.Model.TestUtil.RandomImages(5, 8, TinyModels.FashionMnist);
        double[][] Train(bool dropGradients)
        {
            using var noise = new Noise.SeededNoise(11);
            using var model = new DenseFlowModel(TinyModels.FashionMnist, noise, initSeed: 3);
            var named = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, (Tensor)p.parameter)).ToList();
            using var opt = new Adamax(named);
            model.train();
            for (int step = 0; step < 3; step++)
            {
                if (dropGradients) opt.ZeroGrad();
                else foreach (var (_, t) in named) t.grad?.zero_();
                using var scope = NewDisposeScope();
                (-model.LogLikelihood(x).mean()).backward();
                opt.Apply(1e-3);
            }
            return named.Select(p => p.Item2.detach().to(ScalarType.Float64).data<double>().ToArray()).ToArray();
        }
        var dropped = Train(true);
        var zeroed = Train(false);
        Assert.Equal(zeroed.Length, dropped.Length);
        for (int i = 0; i < zeroed.Length; i++) Assert.Equal(zeroed[i], dropped[i]);
    }

    [Fact]
    public void AdamaxTreatsADroppedGradientAsZeroOnceAParameterHasHadOne()
    {
        // torch 1.13 keeps a zeroed .grad, so a parameter that got no gradient this step still moves (its
        // momentum); one that never had a gradient is left alone.
        var p = new TorchSharp.Modules.Parameter(tensor(new double[] { 1.0, -2.0 }));
        var q = new TorchSharp.Modules.Parameter(tensor(new double[] { 3.0 }));
        using var opt = new Adamax(new[] { ("p", (Tensor)p), ("q", (Tensor)q) });
        double[] g1 = { 0.5, -0.1 };
        p.grad = tensor(g1);
        opt.Apply(0.01);
        opt.ZeroGrad();
        Assert.Null(p.grad);
        opt.Apply(0.01);
        double[] expected = { 1.0, -2.0 }, m = new double[2], u = new double[2];
        for (int step = 1; step <= 2; step++)
            for (int i = 0; i < 2; i++)
            {
                double g = step == 1 ? g1[i] : 0;
                m[i] = 0.9 * m[i] + 0.1 * g;
                u[i] = Math.Max(0.999 * u[i], Math.Abs(g) + 1e-8);
                expected[i] -= 0.01 / (1 - Math.Pow(0.9, step)) * m[i] / u[i];
            }
        var got = p.data<double>().ToArray();
        Assert.Equal(expected[0], got[0], 12);
        Assert.Equal(expected[1], got[1], 12);
        Assert.Equal(3.0, q.data<double>()[0]);
        Assert.All(opt.State().Where(s => s.Name.EndsWith(".q")), s => Assert.Equal(0.0, s.Value.abs().max().item<double>()));
    }

    [Fact]
    public void WarmupThenConstantOrDecay()
    {
        var official = new LearningRateSchedule(ScheduleKind.Official, 1e-3, 100, 0.9);
        Assert.Equal(1e-5, official.At(0, 0), 12);
        Assert.Equal(1e-3, official.At(99, 0), 12);
        Assert.Equal(1e-3, official.At(5000, 7), 12);
        var paper = official with { Kind = ScheduleKind.Paper };
        Assert.Equal(1e-3 * Math.Pow(0.9, 3), paper.At(5000, 3), 12);
        var cosine = official with { Kind = ScheduleKind.Cosine };
        Assert.Equal(1e-5, cosine.At(0, 0, 0), 12); // warm-up still applies
        Assert.Equal(1e-3, cosine.At(100, 0, 0), 12);
        Assert.Equal(0.5e-3, cosine.At(1000, 9, 0.5), 12);
        Assert.Equal(0, cosine.At(2000, 9, 1), 12);
        Assert.Equal(0, cosine.At(2000, 9, 1.2), 12); // a run resumed past its budget does not climb back
    }

    /// <summary>The trainer drives the cosine schedule by the share of --max-steps done, and refuses it without a budget.</summary>
    [Fact]
    public void CosineScheduleFollowsTheStepBudget()
    {
        var o = Options(maxSteps: 8) with { Schedule = ScheduleKind.Cosine, WarmupSteps = 0, CheckpointEverySteps = 0, SamplesPerEpoch = 0 };
        var (train, test) = Data(o);
        using (var model = new DenseFlowModel(TinyModels.FashionMnist))
        using (var trainer = new Trainer(model, o, train, test, _dir, resume: false))
            trainer.Run();
        var lrs = MetricsLog.Read(new RunDirectory(_dir).MetricsFile).Where(r => r.TryGetProperty("lr", out _))
            .Select(r => (Step: r.GetProperty("step").GetInt64(), Lr: r.GetProperty("lr").GetDouble())).ToArray();
        Assert.Equal(8, lrs.Length);
        foreach (var (step, lr) in lrs) // the logged step counts the step just taken, which ran at share (step − 1) / 8
            Assert.Equal(2e-3 * 0.5 * (1 + Math.Cos(Math.PI * (step - 1) / 8.0)), lr, 12);

        using var again = new DenseFlowModel(TinyModels.FashionMnist);
        var e = Assert.Throws<TrainingException>(() => new Trainer(again, o with { MaxSteps = null }, train, test, Path.Combine(_dir, "no-budget"), resume: false));
        Assert.Contains("--schedule cosine", e.Message);
    }
}
