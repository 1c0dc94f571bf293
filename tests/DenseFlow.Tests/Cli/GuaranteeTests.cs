using System.Globalization;
using System.Text.Json;
using DenseFlow.Data;
using DenseFlow.Imaging;
using DenseFlow.Model;
using DenseFlow.Noise;
using DenseFlow.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Cli;

/// <summary>Guarantees of the README and the help texts that a plausible bug would break (issue #14, item 5).</summary>
public class GuaranteeTests : IClassFixture<TinyRun>, IDisposable
{
    readonly TinyRun _tiny;
    readonly Xunit.Abstractions.ITestOutputHelper _log;
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-guarantee-" + Guid.NewGuid().ToString("N"));

    public GuaranteeTests(TinyRun tiny, Xunit.Abstractions.ITestOutputHelper log)
    {
        _tiny = tiny;
        _log = log;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    static void AssertOneLine(string err, params string[] contains)
    {
        Assert.Single(err.Trim().Split('\n'));
        foreach (var c in contains) Assert.Contains(c, err);
        Assert.DoesNotContain("   at ", err);
    }

    static double ElboBpd(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("elbo_bpd").GetDouble();
    }

    [Theory]
    [InlineData("eval", "--split")]
    [InlineData("score", "--split")]
    [InlineData("ood", "--ood-split")]
    public void ABadSplitIsRefusedAlikeByEveryCommand(string command, string option)
    {
        string[] extra = command switch { "ood" => ["--ood-dataset", "mnist"], "score" => ["--out", Path.Combine(_dir, "s.csv")], _ => [] };
        var (code, output, err) = Run([command, "--run", _tiny.Run, option, "validation", .. extra]);
        Assert.True(code == 2, output + err);
        AssertOneLine(err, $"{option} must be train, test or valid, got 'validation'");
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("bad-magic")]
    public void ACorruptModelFileFailsWithExitOneNamingTheFile(string damage)
    {
        string run = _tiny.CopyTo(Path.Combine(_dir, "run"));
        string model = Path.Combine(run, "model.dfn");
        byte[] bytes = File.ReadAllBytes(model);
        if (damage == "truncated") File.WriteAllBytes(model, bytes[..(bytes.Length / 2)]);
        else { bytes[0] ^= 0xFF; bytes[1] ^= 0xFF; File.WriteAllBytes(model, bytes); }

        var (code, output, err) = Run("eval", "--run", run, "--limit", "4");
        Assert.True(code == 1, output + err);
        AssertOneLine(err, model);

        string png = Path.Combine(_dir, "s.png");
        var (sc, so, se) = Run("sample", "--run", run, "-n", "2", "--out", png);
        Assert.True(sc == 1, so + se);
        AssertOneLine(se, model);
        Assert.False(File.Exists(png));
    }

    [Fact]
    public void ADatasetDirectoryWithoutTheDatasetFailsWithExitOneNamingTheDirectory()
    {
        string empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        var (code, output, err) = Run("eval", "--run", _tiny.Run, "--dataset", "fashion-mnist", "--data", empty, "--limit", "4");
        Assert.True(code == 1, output + err);
        AssertOneLine(err, empty);

        string csv = Path.Combine(_dir, "scores.csv");
        var (sc, so, se) = Run("score", "--run", _tiny.Run, "--dataset", "fashion-mnist", "--data", empty, "--method", "bpd", "--out", csv);
        Assert.True(sc == 1, so + se);
        AssertOneLine(se, empty);
        Assert.False(File.Exists(csv));
    }

    [Fact]
    public void FineTuneStartsFromTheSourceWeightsAndLeavesTheSourceUntouched()
    {
        string source = _tiny.CopyTo(Path.Combine(_dir, "source"));
        var before = TinyRun.Snapshot(source);
        var sourceState = Checkpoint.ReadState(Path.Combine(source, Checkpoint.FileName));
        string target = Path.Combine(_dir, "finetuned");
        var (code, output, err) = Run("finetune", "--run", source, "--out", target, "--max-steps", "3");
        Assert.True(code == 0, output + err);

        // The source run is byte for byte as it was.
        TinyRun.AssertSameFiles(before, source);

        // The budget: --max-steps 3 counts from where the source stood.
        var state = Checkpoint.ReadState(Path.Combine(target, Checkpoint.FileName));
        Assert.Equal(sourceState.Step + 3, state.Step);
        var options = TrainingOptions.Load(Path.Combine(target, "run.json"));
        Assert.True(options.FineTune);
        Assert.Equal(sourceState.Step + 3, options.MaxSteps);

        // The metrics continue the source's: its records first, then the fine-tuning phase's at later steps.
        var sourceLines = File.ReadAllLines(Path.Combine(source, "metrics.jsonl"));
        var lines = File.ReadAllLines(Path.Combine(target, "metrics.jsonl"));
        Assert.Equal(sourceLines, lines[..sourceLines.Length]);
        Assert.True(lines.Length > sourceLines.Length);
        Assert.All(lines[sourceLines.Length..], l => Assert.True(JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64() > sourceState.Step));

        // Three Adamax steps at lr 2e-5 move each parameter by at most 3 × 2e-5 (Adamax's step is bounded by lr),
        // so the fine-tuned weights lie within 1e-4 of the source's; fresh weights (as from a restart) would not.
        using var sourceModel = new RunDirectory(source).LoadModel();
        using var tuned = new RunDirectory(target).LoadModel();
        using var fresh = new DenseFlowModel(sourceModel.Config, initSeed: 0);
        var tunedParams = tuned.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var freshParams = fresh.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double maxMove = 0, maxFromFresh = 0;
        foreach (var (name, p) in sourceModel.named_parameters())
        {
            maxMove = Math.Max(maxMove, Model.TestUtil.MaxAbsDiff(p, tunedParams[name]));
            maxFromFresh = Math.Max(maxFromFresh, Model.TestUtil.MaxAbsDiff(p, freshParams[name]));
        }
        _log.WriteLine($"fine-tuning moved parameters by at most {maxMove:E3}; source vs fresh weights: {maxFromFresh:E3}");
        Assert.True(maxMove <= 1e-4, $"fine-tuning moved a parameter by {maxMove}");
        Assert.True(maxMove > 0, "fine-tuning did not change the weights");
        Assert.True(maxFromFresh > 1e-2, $"the source run's weights are only {maxFromFresh} from fresh ones: the check would not tell them apart");
    }

    [Fact]
    public void EvalDoubleIsTheLibrarysFloat64BoundOfTheSameImages()
    {
        var (c64, j64, e64) = Run("eval", "--run", _tiny.Run, "--limit", "8", "--double", "--json");
        Assert.True(c64 == 0, j64 + e64);
        var (c32, j32, e32) = Run("eval", "--run", _tiny.Run, "--limit", "8", "--json");
        Assert.True(c32 == 0, j32 + e32);
        using (var doc = JsonDocument.Parse(j64)) Assert.Equal("float64", doc.RootElement.GetProperty("dtype").GetString());

        // Independently: the run's model cast to float64, the first 8 test images, the seed-0 draws.
        double expected;
        using (var m = new RunDirectory(_tiny.Run).LoadModel())
        using (var noise = new SeededNoise(0))
        {
            m.eval();
            m.to(ScalarType.Float64);
            m.Noise = noise;
            var test = Datasets.Open("fashion-mnist", null, "test", new DatasetOptions { Limit = 8 });
            using var x = new ImageBatcher(test, 8, false, 0, Augmentation.None, false).GetRange(0, 8);
            using var _ = no_grad();
            using var ll = m.LogLikelihood(x);
            Assert.Equal(ScalarType.Float64, ll.dtype);
            expected = -ll.data<double>().ToArray().Average() / (28 * 28 * Math.Log(2));
        }
        double got = ElboBpd(j64), single = ElboBpd(j32);
        _log.WriteLine($"eval --double {got:R} bpd, library float64 {expected:R}, float32 {single:R}");
        Assert.True(Math.Abs(got - expected) <= 1e-12 * expected, $"eval --double {got} bpd, the library's float64 {expected}");
        // float32 keeps ~7 digits of a log-likelihood of a few thousand nats summed over a few dozen layers:
        // the two bounds agree to far better than 1e-3 bpd.
        Assert.True(Math.Abs(got - single) < 1e-3, $"float64 {got} vs float32 {single} bpd");
    }

    static byte[][] SampleImages(string dir) =>
        Directory.GetFiles(dir, "*.png").Order(StringComparer.Ordinal).Select(f => Png.LoadChw(f, out _, out _, out _)).ToArray();

    /// <summary>Mean over pixels of the standard deviation across the samples.</summary>
    static double PixelSpread(byte[][] images)
    {
        int d = images[0].Length;
        double total = 0;
        for (int i = 0; i < d; i++)
        {
            double mean = images.Average(im => (double)im[i]);
            total += Math.Sqrt(images.Average(im => (im[i] - mean) * (im[i] - mean)));
        }
        return total / d;
    }

    [Fact]
    public void SampleTemperatureScalesTheDrawsAndBadTemperaturesAreRefused()
    {
        var spread = new Dictionary<string, double>();
        foreach (var t in new[] { "1", "0.5", "0.1" })
        {
            string each = Path.Combine(_dir, "t" + t);
            var (code, output, err) = Run("sample", "--run", _tiny.Run, "-n", "16", "--seed", "3", "--temperature", t, "--out", Path.Combine(_dir, $"t{t}.png"), "--individual", each);
            Assert.True(code == 0, output + err);
            spread[t] = PixelSpread(SampleImages(each));
        }
        _log.WriteLine($"pixel spread at T = 1, 0.5, 0.1: {spread["1"]:F3}, {spread["0.5"]:F3}, {spread["0.1"]:F3}");
        Assert.True(spread["1"] > spread["0.5"] && spread["0.5"] > spread["0.1"], $"pixel spread at T = 1, 0.5, 0.1: {spread["1"]}, {spread["0.5"]}, {spread["0.1"]}");

        // At T = 0.5 the images are the library's samples at 0.5 with the same seed.
        using (var m = new RunDirectory(_tiny.Run).LoadModel())
        using (var noise = new SeededNoise(3))
        {
            m.eval();
            m.Noise = noise;
            using var images = m.Sample(16, 0.5).to(ScalarType.Byte).cpu();
            var expected = images.data<byte>().ToArray();
            var got = SampleImages(Path.Combine(_dir, "t0.5")).SelectMany(b => b).ToArray();
            Assert.Equal(expected, got);
        }

        foreach (var bad in new[] { "0", "-1", "NaN", "Infinity" })
        {
            string png = Path.Combine(_dir, "bad.png");
            var (code, _, err) = Run("sample", "--run", _tiny.Run, "-n", "2", "--temperature", bad, "--out", png);
            Assert.Equal(2, code);
            AssertOneLine(err, "--temperature must be a positive number", $"'{bad}'");
            Assert.False(File.Exists(png));
        }
    }

    static string ImageFolder(string dir, int channels, int size, int count = 3)
    {
        Directory.CreateDirectory(dir);
        var rng = new Random(5);
        for (int i = 0; i < count; i++)
        {
            var pixels = new byte[channels * size * size];
            rng.NextBytes(pixels);
            Png.Save(Path.Combine(dir, $"img_{i}.png"), pixels, channels, size, size);
        }
        return dir;
    }

    [Fact]
    public void WrongSizedImagesAreRefusedByEvalAndScoreNamingBothSizes()
    {
        string wrong = ImageFolder(Path.Combine(_dir, "wrong"), 1, 32);
        var (code, output, err) = Run("eval", "--run", _tiny.Run, "--dataset", "folder", "--data", wrong);
        Assert.True(code == 2, output + err);
        AssertOneLine(err, "1×32×32", "1×28×28");

        string csv = Path.Combine(_dir, "scores.csv");
        var (sc, so, se) = Run("score", "--run", _tiny.Run, "--dataset", "folder", "--data", wrong, "--method", "bpd", "--out", csv);
        Assert.True(sc == 2, so + se);
        AssertOneLine(se, "1×32×32", "1×28×28");
        Assert.False(File.Exists(csv));

        // Images of the model's size in a folder are evaluated and scored, one CSV row each.
        string right = ImageFolder(Path.Combine(_dir, "right"), 1, 28);
        var (rc, ro, re) = Run("eval", "--run", _tiny.Run, "--dataset", "folder", "--data", right, "--json");
        Assert.True(rc == 0, ro + re);
        using (var doc = JsonDocument.Parse(ro)) Assert.Equal(3, doc.RootElement.GetProperty("images").GetInt32());
        var (kc, ko, ke) = Run("score", "--run", _tiny.Run, "--dataset", "folder", "--data", right, "--method", "bpd", "--out", csv);
        Assert.True(kc == 0, ko + ke);
        Assert.Equal(4, File.ReadAllLines(csv).Length);
    }
}
