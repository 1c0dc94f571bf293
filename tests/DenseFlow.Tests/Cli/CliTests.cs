using System.Globalization;
using System.Text.Json;
using DenseFlow.Cli;
using DenseFlow.IO;
using DenseFlow.Model;
using DenseFlow.Tests.IO;
using DenseFlow.Tests.Training;

namespace DenseFlow.Tests.Cli;

/// <summary>The command line, run in-process with its output captured.</summary>
public class CliTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-cli-" + Guid.NewGuid().ToString("N"));

    public CliTests() { Directory.CreateDirectory(_dir); }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try { return (DenseFlowCli.Run(args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    public static readonly string[] Commands = { "train", "finetune", "eval", "score", "ood", "train-background", "sample", "import", "info", "verify-reference", "bench", "soak", "interpolate", "neighbours", "fid", "mpi-check" };

    [Fact]
    public void EveryCommandHasHelp()
    {
        foreach (var c in Commands)
        {
            var (code, output, _) = Run(c, "--help");
            Assert.Equal(0, code);
            Assert.Contains($"denseflow {c}", output);
            Assert.Contains("Usage:", output);
            Assert.Contains("--help", output);
        }
        var (top, overview, _) = Run("--help");
        Assert.Equal(0, top);
        foreach (var c in Commands) Assert.Contains(c, overview);
    }

    [Theory]
    [InlineData("--only", "training", "--only: unknown benchmark measurement 'training'")]
    [InlineData("--recompute", "-1", "--recompute must be off, on or a fraction in [0, 1]")]
    [InlineData("--device", "tpu", "--device must be cpu or cuda[:N]")]
    [InlineData("--layout", "hwcn", "--layout must be one of auto, channels-first, channels-last, got 'hwcn'")]
    public void BadBenchValuesExitWithTwoBeforeMeasuring(string option, string value, string expected)
    {
        var (code, output, err) = Run("bench", "--preset", "small32x1", option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.DoesNotContain("calibration", output);
    }

    [Theory]
    [InlineData("--batch", "-3", "--batch must be a positive integer")]
    [InlineData("--batch", "abc", "--batch must be a positive integer")]
    [InlineData("--recompute", "1.5", "--recompute must be off, on or a fraction in [0, 1], got '1.5'")]
    [InlineData("--minutes", "-1", "--minutes must be a positive number")]
    [InlineData("--layout", "nchwc", "--layout must be one of auto, channels-first, channels-last, got 'nchwc'")]
    [InlineData("--preset", "nope", "unknown preset 'nope'")]
    [InlineData("--dataset", "svhn", "unknown dataset 'svhn'")]
    [InlineData("--data", "/nonexistent/dir", "/nonexistent/dir: directory not found")]
    public void BadTrainValuesExitWithTwoAndOneLine(string option, string value, string expected)
    {
        var (code, _, err) = Run("train", option, value, "--out", Path.Combine(_dir, "run"));
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(_dir, "run")));
    }

    [Fact]
    public void TrainRefusesAModelOfFewerBitsThanTheData()
    {
        string config = Path.Combine(_dir, "five-bit.json");
        File.WriteAllText(config, (DenseFlow.Tests.Training.TinyModels.FashionMnist with { NumBits = 5 }).ToJson());
        var (code, _, err) = Run("train", "--dataset", "fashion-mnist", "--config", config, "--max-steps", "1", "--out", Path.Combine(_dir, "run"));
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("num_bits 5, but the datasets hold 8-bit images", err);
        Assert.False(Directory.Exists(Path.Combine(_dir, "run")));
    }

    [Fact]
    public void UnknownCommandsOptionsAndMissingPathsAreUsageErrors()
    {
        Assert.Equal(2, Run("frobnicate").Code);
        Assert.Equal(2, Run("info", "--bogus").Code);
        var (code, _, err) = Run("eval", "--run", Path.Combine(_dir, "missing"));
        Assert.Equal(2, code);
        Assert.Contains("run directory not found", err);
        var (c2, _, e2) = Run("sample", "--run", _dir, "-n", "0", "--out", Path.Combine(_dir, "s.png"));
        Assert.Equal(2, c2);
        Assert.Contains("-n must be a positive integer", e2.Replace("--n", "-n"));
        var (c3, _, e3) = Run("info", "--config", Path.Combine(_dir, "nope.json"));
        Assert.Equal(2, c3);
        Assert.Contains("nope.json", e3);
    }

    [Theory]
    [InlineData("checkpoint.pt")]
    [InlineData("weights.npz")]
    public void ImportTheOfficialWeightsIntoARunThatReplaysTheFixture(string weightFile)
    {
        string run = Path.Combine(_dir, "imported");
        var (code, o, e) = Run("import", Path.Combine(FixturePaths.OfficialSmall, weightFile),
            "--config", Path.Combine(FixturePaths.OfficialSmall, "config.json"), "--out", run);
        Assert.True(code == 0, o + e);
        var (ic, io, _) = Run("info", "--run", run);
        Assert.Equal(0, ic);
        Assert.Contains("12,715,780", io);
        string png = Path.Combine(_dir, "imported.png");
        var (sc, so, se) = Run("sample", "--run", run, "-n", "4", "--out", png);
        Assert.True(sc == 0, so + se);
        Assert.True(new FileInfo(png).Length > 0);

        // The imported run's model replays the fixture's recorded draws to the official log-likelihoods.
        using var model = new DenseFlow.Training.RunDirectory(run).LoadModel();
        model.eval();
        Dictionary<string, DenseFlow.IO.NpyArray> arrays;
        using (var npz = DenseFlow.IO.Npz.Open(Path.Combine(FixturePaths.OfficialSmall, "case.npz"))) arrays = npz.ReadAll();
        var draws = arrays.Keys.Where(k => k.StartsWith("noise_")).OrderBy(k => k).Select(k => arrays[k].ToTensor(k)).ToList();
        model.Noise = new DenseFlow.Noise.ReplayNoise(draws);
        using var x = arrays["x"].ToTensor("x");
        using var _ = TorchSharp.torch.no_grad();
        var ours = model.LogLikelihood(x).to(TorchSharp.torch.ScalarType.Float64).data<double>().ToArray();
        var official = arrays["loglik"].ToDouble();
        Assert.Equal(official.Length, ours.Length);
        for (int i = 0; i < ours.Length; i++)
            Assert.True(Math.Abs(ours[i] - official[i]) <= 1e-5 * model.Config.Dimensions, $"image {i}: {ours[i]} vs official {official[i]}");

        // A second import into the same directory is refused and leaves the run as it was.
        byte[] before = File.ReadAllBytes(Path.Combine(run, "model.dfn"));
        var (again, _, againErr) = Run("import", Path.Combine(FixturePaths.OfficialSmall, weightFile), "--preset", "official-small", "--out", run);
        Assert.Equal(2, again);
        Assert.Single(againErr.Trim().Split('\n'));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(run, "model.dfn")));
    }

    [Fact]
    public void InfoReportsTheExactParameterCount()
    {
        var (code, output, _) = Run("info", "--preset", "df-74-10");
        Assert.Equal(0, code);
        Assert.Contains("130,647,294", output);
    }

    [Fact]
    public void InvalidConfigurationIsRefusedNamingTheBlock()
    {
        string path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, (TinyModels.FashionMnist with { Landmarks = [4, 4] }).ToJson());
        var (code, _, err) = Run("info", "--config", path);
        Assert.Equal(2, code);
        Assert.Contains("block 1", err);
        Assert.Contains("4 attention landmarks", err);
    }

    [Fact]
    public void VerifyReferencePassesOnTheOfficialFixtureAndFailsClearlyOnABrokenOne()
    {
        var (code, output, err) = Run("verify-reference", FixturePaths.OfficialSmall);
        Assert.True(code == 0, output + err);
        Assert.Contains("PASSED", output);
        var (bad, _, badErr) = Run("verify-reference", _dir);
        Assert.Equal(2, bad);
        Assert.Contains("config.json", badErr);
    }

    [Fact]
    public void TrainThenEvalSampleScoreAndRefuseToOverwrite()
    {
        string config = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(config, TinyModels.FashionMnist.ToJson());
        string run = Path.Combine(_dir, "run");
        var (code, output, err) = Run("train", "--dataset", "fashion-mnist", "--config", config, "--max-steps", "40", "--batch", "16", "--lr", "3e-3",
            "--train-limit", "200", "--eval-images", "32", "--warmup", "4", "--samples", "4", "--out", run);
        Assert.True(code == 0, output + err);
        foreach (var f in new[] { "checkpoint.bin", "model.dfn", "metrics.jsonl", "curve.png", "run.json", "config.json" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);

        // A second train into the same directory is refused and leaves the run intact.
        long size = new FileInfo(Path.Combine(run, "checkpoint.bin")).Length;
        var (again, _, againErr) = Run("train", "--dataset", "fashion-mnist", "--config", config, "--out", run);
        Assert.Equal(2, again);
        Assert.Contains("already holds a run", againErr);
        Assert.Equal(size, new FileInfo(Path.Combine(run, "checkpoint.bin")).Length);

        var (ec, json, ee) = Run("eval", "--run", run, "--limit", "8", "--k", "4", "--json");
        Assert.True(ec == 0, json + ee);
        using (var doc = JsonDocument.Parse(json))
        {
            Assert.Equal(4, doc.RootElement.GetProperty("k").GetInt32());
            Assert.Equal(8, doc.RootElement.GetProperty("images").GetInt32());
            Assert.True(doc.RootElement.GetProperty("iwbo_bpd").GetDouble() > 0);
        }
        // The single-sample figure is the model's own bits/dim of those 8 images with the seed-0 draws.
        var (e1, json1, ee1) = Run("eval", "--run", run, "--limit", "8", "--json");
        Assert.True(e1 == 0, json1 + ee1);
        using (var doc = JsonDocument.Parse(json1))
        using (var m = new DenseFlow.Training.RunDirectory(run).LoadModel())
        using (var noise = new DenseFlow.Noise.SeededNoise(0))
        {
            m.eval();
            m.Noise = noise;
            var test = DenseFlow.Data.Datasets.Open("fashion-mnist", null, "test", new DenseFlow.Data.DatasetOptions { Limit = 8 });
            using var x = new DenseFlow.Data.ImageBatcher(test, 8, false, 0, DenseFlow.Data.Augmentation.None, false).GetRange(0, 8);
            using var _ = TorchSharp.torch.no_grad();
            var ll = m.LogLikelihood(x).to(TorchSharp.torch.ScalarType.Float64).data<double>().ToArray();
            double expected = -ll.Average() / (28 * 28 * Math.Log(2));
            double got = doc.RootElement.GetProperty("elbo_bpd").GetDouble();
            Assert.True(Math.Abs(got - expected) <= 1e-9 * expected, $"eval ELBO {got} bpd, the model's own {expected}");
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("iwbo_bpd").ValueKind);
        }

        string png = Path.Combine(_dir, "samples.png");
        var (sc, so, se) = Run("sample", "--run", run, "-n", "6", "--out", png, "--individual", Path.Combine(_dir, "each"));
        Assert.True(sc == 0, so + se);
        Assert.True(File.Exists(png));
        Assert.Equal(6, Directory.GetFiles(Path.Combine(_dir, "each"), "*.png").Length);

        string csv = Path.Combine(_dir, "scores.csv");
        // Without --method, score writes bpd and the default OOD score; a 40-step model does not yet code its
        // images better than PNG, so the default falls back to bpd alone and says so.
        var (dc, dout, de) = Run("score", "--run", run, "--dataset", "fashion-mnist", "--limit", "10", "--out", csv);
        Assert.True(dc == 0, dout + de);
        Assert.Equal("index,image,bpd", File.ReadAllLines(csv)[0]);
        Assert.Contains("so the default is bpd instead of complexity", System.Text.RegularExpressions.Regex.Replace(dout, @"\s+", " "));
        var (rc, ro, re) = Run("score", "--run", run, "--dataset", "fashion-mnist", "--limit", "10", "--method", "bpd", "--out", csv);
        Assert.True(rc == 0, ro + re);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("index,image,bpd", lines[0]);
        Assert.Equal(11, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.True(double.Parse(l.Split(',')[2], CultureInfo.InvariantCulture) > 0));

        // Out-of-distribution: uniform-noise images score worse (higher bpd) than every test image.
        string noiseDir = Path.Combine(_dir, "noise");
        Directory.CreateDirectory(noiseDir);
        var rng = new Random(3);
        for (int i = 0; i < 10; i++)
        {
            var pixels = new byte[28 * 28];
            rng.NextBytes(pixels);
            DenseFlow.Imaging.Png.Save(Path.Combine(noiseDir, $"noise_{i}.png"), pixels, 1, 28, 28);
        }
        string noiseCsv = Path.Combine(_dir, "noise.csv");
        var (nc, no, ne) = Run("score", "--run", run, "--folder", noiseDir, "--method", "bpd", "--out", noiseCsv);
        Assert.True(nc == 0, no + ne);
        static double[] Bpd(string path) => File.ReadAllLines(path).Skip(1).Select(l => double.Parse(l.Split(',')[2], CultureInfo.InvariantCulture)).ToArray();
        Assert.True(Bpd(noiseCsv).Min() > Bpd(csv).Max(), $"noise {Bpd(noiseCsv).Min():F3} vs test {Bpd(csv).Max():F3}");
    }
}
