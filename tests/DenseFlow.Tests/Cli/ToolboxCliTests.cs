using System.Globalization;
using System.Text.Json;
using DenseFlow.Data;
using DenseFlow.Imaging;
using DenseFlow.Model;
using DenseFlow.Noise;
using DenseFlow.Tests.Model;
using DenseFlow.Tests.Training;
using DenseFlow.Toolbox;
using DenseFlow.Tests.Toolbox;
using static DenseFlow.Tests.Cli.CliTests;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Cli;

/// <summary>interpolate, neighbours and fid run in-process on a tiny untrained (perturbed) Fashion-MNIST model.</summary>
public class ToolboxCliTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-toolbox-" + Guid.NewGuid().ToString("N"));
    readonly string _run;

    public ToolboxCliTests()
    {
        Directory.CreateDirectory(_dir);
        _run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(_run);
        using var model = TestUtil.BuildInitialised(TinyModels.FashionMnist, 5);
        ModelFile.Save(model, Path.Combine(_run, "model.dfn"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    string F(string name) => Path.Combine(_dir, name);

    static void AssertOneLineError(int expectedCode, (int Code, string Out, string Err) r, string expected)
    {
        Assert.True(r.Code == expectedCode, $"exit {r.Code}, expected {expectedCode}: {r.Out}{r.Err}");
        Assert.Contains(expected, r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Fact]
    public void InterpolateDatasetAndFileEndPointsAreTheInputs()
    {
        var r = Run("interpolate", "--run", _run, "--dataset", "fashion-mnist", "--indices", "3,8", "--steps", "4", "--out", F("i.png"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("end points decode to the input images exactly", r.Out);
        var grid = Png.LoadChw(F("i.png"), out int c, out int h, out int w);
        Assert.Equal((1, 28 + 4, 4 * 30 + 2), (c, h, w));

        // The grid's first and last cells are test images 3 and 8, pixel for pixel.
        var ds = Datasets.Open("fashion-mnist", null, "test");
        foreach (var (index, column) in new[] { (3, 0), (8, 3) })
        {
            var expected = new byte[28 * 28];
            ds.CopyImage(index, expected);
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    Assert.Equal(expected[y * 28 + x], grid[(2 + y) * w + 2 + column * 30 + x]);
        }

        // The same from PNG files, with linear interpolation.
        var a = new byte[28 * 28]; ds.CopyImage(3, a); Png.Save(F("a.png"), a, 1, 28, 28);
        var b = new byte[28 * 28]; ds.CopyImage(8, b); Png.Save(F("b.png"), b, 1, 28, 28);
        var r2 = Run("interpolate", "--run", _run, "--images", $"{F("a.png")},{F("b.png")}", "--method", "linear", "--steps", "4", "--out", F("j.png"));
        Assert.True(r2.Code == 0, r2.Out + r2.Err);
        Assert.Contains("exactly", r2.Out);
    }

    [Fact]
    public void InterpolateRefusesBadInputWithOneLineAndWritesNothing()
    {
        AssertOneLineError(2, Run("interpolate", "--run", _run, "--dataset", "fashion-mnist", "--indices", "0,10000", "--out", F("x.png")),
            "index 10000 is out of range for fashion-mnist test (0..9999)");
        AssertOneLineError(2, Run("interpolate", "--run", _run, "--dataset", "fashion-mnist", "--indices", "0,1,2", "--out", F("x.png")), "pairs");
        Png.Save(F("big.png"), new byte[32 * 32], 1, 32, 32);
        Png.Save(F("ok.png"), new byte[28 * 28], 1, 28, 28);
        AssertOneLineError(2, Run("interpolate", "--run", _run, "--images", $"{F("ok.png")},{F("big.png")}", "--out", F("x.png")),
            "big.png: image is 32×32, the model takes 28×28");
        AssertOneLineError(2, Run("interpolate", "--run", _run, "--images", $"{F("ok.png")},{F("missing.png")}", "--out", F("x.png")), "missing.png: file not found");
        AssertOneLineError(2, Run("interpolate", "--run", _run, "--images", $"{F("ok.png")},{F("ok.png")}", "--method", "cubic", "--out", F("x.png")),
            "--method must be one of spherical, linear");
        Assert.False(File.Exists(F("x.png")));
    }

    [Fact]
    public void NeighboursMatchABruteForceSearchOfTheTrainingImages()
    {
        var r = Run("neighbours", "--run", _run, "-n", "3", "-k", "2", "--dataset", "fashion-mnist", "--limit", "300", "--seed", "4", "--out", F("nn.png"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        var rows = File.ReadAllLines(F("nn.csv"));
        Assert.Equal("sample,space,rank,index,distance", rows[0]);
        Assert.Equal(1 + 3 * 2, rows.Length);

        // The same samples (seed 4, one batch), searched by a plain loop over the 300 images.
        using var model = new DenseFlow.Training.RunDirectory(_run).LoadModel();
        model.eval();
        using var noise = new SeededNoise(4);
        model.Noise = noise;
        using var samples = model.Sample(3).to(ScalarType.Float64).flatten(1);
        var s = TestUtil.ToDoubles(samples);
        var ds = Datasets.Open("fashion-mnist", null, "train");
        var image = new byte[784];
        var distances = new double[3][];
        for (int i = 0; i < 3; i++) distances[i] = new double[300];
        for (int j = 0; j < 300; j++)
        {
            ds.CopyImage(j, image);
            for (int i = 0; i < 3; i++)
                distances[i][j] = Math.Sqrt(Enumerable.Range(0, 784).Sum(p => Math.Pow((s[i * 784 + p] - image[p]) / 255.0, 2)));
        }
        foreach (var line in rows.Skip(1))
        {
            var f = line.Split(',');
            int sample = int.Parse(f[0]), rank = int.Parse(f[2]), index = int.Parse(f[3]);
            double distance = double.Parse(f[4], CultureInfo.InvariantCulture);
            Assert.Equal("pixel", f[1]);
            var expected = distances[sample].Select((d, j) => (d, j)).OrderBy(p => p.d).ElementAt(rank - 1);
            Assert.Equal(expected.j, index);
            Assert.Equal(expected.d, distance, 9);
        }
        Assert.True(File.Exists(F("nn.png")));
    }

    [Fact]
    public void NeighboursInFeatureSpaceWithTheStandInNetwork()
    {
        var r = Run("neighbours", "--run", _run, "-n", "2", "-k", "3", "--dataset", "fashion-mnist", "--limit", "40",
            "--inception", TestDataFiles.StandInInception, "--out", F("nf.png"), "--csv", F("nf.csv"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        var rows = File.ReadAllLines(F("nf.csv")).Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(2 * 3 * 2, rows.Length);
        Assert.Equal(6, rows.Count(f => f[1] == "inception"));
        // Distances ascend with rank within each sample and space.
        foreach (var g in rows.GroupBy(f => (f[0], f[1])))
        {
            var d = g.OrderBy(f => int.Parse(f[2])).Select(f => double.Parse(f[4], CultureInfo.InvariantCulture)).ToArray();
            for (int i = 1; i < d.Length; i++) Assert.True(d[i] >= d[i - 1]);
        }
    }

    [Fact]
    public void FidEndToEndWithTheStandInNetworkAgreesWithAnIndependentComputation()
    {
        string json = F("fid.json");
        // Batches of 7: several partial sums of the statistics and a short last batch.
        var r = Run("fid", "--run", _run, "--inception", TestDataFiles.StandInInception, "-n", "24", "--temperature", "0.7,1.0",
            "--dataset", "fashion-mnist", "--limit", "30", "--batch", "7", "--json", json);
        Assert.True(r.Code == 0, r.Out + r.Err);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var results = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(2, results.Length);
        Assert.Equal(8, doc.RootElement.GetProperty("feature_dimensions").GetInt32());
        Assert.Equal(30, doc.RootElement.GetProperty("dataset_images").GetInt32());

        // Independently: features of the same images, torch.cov statistics, Tr √(Σ₁Σ₂) from the general eigenvalues.
        using var net = InceptionFeatures.Load(TestDataFiles.StandInInception);
        var ds = Datasets.Open("fashion-mnist", null, "train");
        using var real = net.Features(DatasetImages.Load(ds, 0, 30));
        using var model = new DenseFlow.Training.RunDirectory(_run).LoadModel();
        model.eval();
        foreach (var (result, t) in results.Zip(new[] { 0.7, 1.0 }))
        {
            Assert.Equal(t, result.GetProperty("temperature").GetDouble());
            using var noise = new SeededNoise(0);
            model.Noise = noise;
            // The command samples batch by batch (7, 7, 7, 3) from one seeded source per temperature.
            using var fake = net.Features(cat(new[] { 7, 7, 7, 3 }.Select(m => model.Sample(m, t)).ToArray(), 0));
            double expected = Fid(real, fake);
            double fid = result.GetProperty("fid").GetDouble();
            Assert.True(fid > 0, $"FID {fid}");
            Assert.Equal(expected, fid, 6);
        }
    }

    static double Fid(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var ca = cov(a.t()); var cb = cov(b.t());
        var eig = TestUtil.ToDoubles(linalg.eigvals(ca.matmul(cb)).real);
        return (a.mean(new long[] { 0 }) - b.mean(new long[] { 0 })).square().sum().item<double>()
               + ca.trace().item<double>() + cb.trace().item<double>() - 2 * eig.Sum(l => Math.Sqrt(Math.Max(0, l)));
    }

    [Fact]
    public void FidRefusesMissingOrWrongWeightsWithOneLineAndWritesNothing()
    {
        string json = F("bad.json");
        AssertOneLineError(2, Run("fid", "--run", _run, "--inception", F("inception-2015-12-05.pt"), "--json", json), "file not found");
        File.WriteAllText(F("fake.pt"), "not a network");
        AssertOneLineError(1, Run("fid", "--run", _run, "--inception", F("fake.pt"), "--dataset", "fashion-mnist", "--limit", "4", "-n", "4", "--json", json),
            "not a TorchScript file");
        AssertOneLineError(2, Run("fid", "--run", _run, "--inception", TestDataFiles.StandInInception, "--temperature", "0.8,-1"), "--temperature must be a positive number");
        AssertOneLineError(2, Run("fid", "--run", _run), "--inception is required");
        Assert.False(File.Exists(json));
    }
}
