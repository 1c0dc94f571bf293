using System.Globalization;
using System.Text.Json;
using DenseFlow.Tests.Data;
using DenseFlow.Tests.Training;

namespace DenseFlow.Tests.Cli;

/// <summary>`train --exclude-classes`, `train-background`, `ood` and `score --method` end to end on a tiny model.</summary>
public class OodCliTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-ood-" + Guid.NewGuid().ToString("N"));

    public OodCliTests() { Directory.CreateDirectory(_dir); }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    static void AssertOneLineError(int expectedCode, (int Code, string Out, string Err) r, string expected)
    {
        Assert.True(r.Code == expectedCode, $"exit {r.Code}: {r.Out}{r.Err}");
        Assert.Contains(expected, r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void OodEndToEndOnATinyModelAndItsBadInputs()
    {
        string config = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(config, TinyModels.FashionMnist.ToJson());
        string bgConfig = Path.Combine(_dir, "tiny-bg.json");
        File.WriteAllText(bgConfig, (TinyModels.FashionMnist with { UnitsPerBlock = [1, 1] }).ToJson());
        string run = Path.Combine(_dir, "run");
        var train = Run("train", "--dataset", "fashion-mnist", "--config", config, "--max-steps", "30", "--batch", "16", "--lr", "3e-3",
            "--train-limit", "200", "--eval-images", "16", "--warmup", "4", "--samples", "0", "--exclude-classes", "9", "--out", run);
        Assert.True(train.Code == 0, train.Out + train.Err);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json"))))
            Assert.Equal(9, doc.RootElement.GetProperty("exclude_classes")[0].GetInt32());

        // Asking for the ratio before there is a background model: one line, exit 2, nothing written.
        string noJson = Path.Combine(_dir, "none.json");
        AssertOneLineError(2, Run("ood", "--run", run, "--ood-synthetic", "noise", "--limit", "8", "--methods", "ratio", "--json", noJson), "train-background");
        Assert.False(File.Exists(noJson));
        AssertOneLineError(2, Run("score", "--run", run, "--limit", "4", "--method", "ratio", "--out", Path.Combine(_dir, "r.csv")), "background");

        var bg = Run("train-background", "--run", run, "--config", bgConfig, "--max-steps", "10", "--batch", "16", "--mutation", "0.2");
        Assert.True(bg.Code == 0, bg.Out + bg.Err);
        Assert.True(File.Exists(Path.Combine(run, "background", "model.dfn")));
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "background", "run.json"))))
            Assert.Equal(0.2, doc.RootElement.GetProperty("mutation").GetDouble(), 12);
        AssertOneLineError(2, Run("train-background", "--run", run, "--config", bgConfig, "--max-steps", "10"), "already holds a background model");
        // A background of fewer bits than the data is refused before the old one is touched.
        var before = Directory.GetFiles(Path.Combine(run, "background"), "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        string fiveBit = Path.Combine(_dir, "five-bit.json");
        File.WriteAllText(fiveBit, (DenseFlow.Model.DenseFlowConfig.Load(bgConfig) with { NumBits = 5 }).ToJson());
        AssertOneLineError(2, Run("train-background", "--run", run, "--config", fiveBit, "--max-steps", "10", "--overwrite"), "num_bits 5");
        foreach (var (file, bytes) in before) Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(bytes), $"{file} changed");

        // Uniform noise against the test images: well-formed JSON, noise ranked anomalous by the default method.
        string json = Path.Combine(_dir, "noise.json");
        string outDir = Path.Combine(_dir, "noise-out");
        var ood = Run("ood", "--run", run, "--ood-synthetic", "noise", "--limit", "24", "--typical-images", "32", "--out", outDir, "--json", json);
        Assert.True(ood.Code == 0, ood.Out + ood.Err);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var root = doc.RootElement;
            string def = root.GetProperty("default_method").GetString()!;
            var methods = root.GetProperty("methods");
            foreach (var name in new[] { "bpd", "complexity", "complexity-webp", "ratio", "typicality", "knn", "complexity-knn" })
            {
                var m = methods.GetProperty(name);
                foreach (var field in new[] { "auroc", "auprc", "fpr_at_95_tpr" })
                    Assert.InRange(m.GetProperty(field).GetDouble(), 0.0, 1.0);
            }
            Assert.True(methods.GetProperty(def).GetProperty("auroc").GetDouble() >= 0.9, $"default {def}: {methods.GetProperty(def)}");
            // Noise is far from every training image, whatever the model learned.
            Assert.Equal(1.0, methods.GetProperty("knn").GetProperty("auroc").GetDouble(), 12);
            Assert.True(root.GetProperty("typicality_test").GetProperty("ood").GetProperty("atypical").GetBoolean());
        }
        Assert.True(File.Exists(Path.Combine(outDir, "roc.png")));
        var csv = File.ReadAllLines(Path.Combine(outDir, "scores.csv"));
        Assert.StartsWith("set,index,image,ood,bpd,background_bpd,png_bpd,webp_bpd,score_bpd", csv[0]);
        Assert.Equal(1 + 48, csv.Length);

        // The held-out class as the OOD set.
        var held = Run("ood", "--run", run, "--ood-classes", "9", "--limit", "16", "--methods", "bpd", "--json", Path.Combine(_dir, "held.json"), "--out", Path.Combine(_dir, "held"));
        Assert.True(held.Code == 0, held.Out + held.Err);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "held.json"))))
            Assert.Equal(16, doc.RootElement.GetProperty("ood").GetProperty("images").GetInt32());

        // score --method writes that method's score next to bpd; complexity = bpd − PNG bits/dim, so it is smaller.
        string scoreCsv = Path.Combine(_dir, "complexity.csv");
        var score = Run("score", "--run", run, "--limit", "6", "--method", "complexity", "--out", scoreCsv);
        Assert.True(score.Code == 0, score.Out + score.Err);
        var lines = File.ReadAllLines(scoreCsv);
        Assert.Equal("index,image,bpd,complexity", lines[0]);
        Assert.All(lines.Skip(1), l =>
        {
            var p = l.Split(',');
            Assert.True(double.Parse(p[3], CultureInfo.InvariantCulture) < double.Parse(p[2], CultureInfo.InvariantCulture));
        });

        // score --method knn gives the in-distribution test images the distances ood gave them (same images, same reference).
        string knnCsv = Path.Combine(_dir, "knn.csv");
        var knn = Run("score", "--run", run, "--limit", "6", "--method", "knn", "--out", knnCsv);
        Assert.True(knn.Code == 0, knn.Out + knn.Err);
        var knnLines = File.ReadAllLines(knnCsv);
        Assert.Equal("index,image,bpd,knn", knnLines[0]);
        int column = Array.IndexOf(csv[0].Split(','), "score_knn");
        Assert.True(column > 0, csv[0]);
        for (int i = 0; i < 6; i++)
            Assert.Equal(double.Parse(csv[1 + i].Split(',')[column], CultureInfo.InvariantCulture), double.Parse(knnLines[1 + i].Split(',')[3], CultureInfo.InvariantCulture), 12);

        // A run that names no training data (no run.json, as after import): complexity is the default, the scores
        // that need training images are left out, and asking for one is one line naming the missing file.
        string bare = Path.Combine(_dir, "bare");
        Directory.CreateDirectory(bare);
        foreach (var f in Directory.GetFiles(run).Where(f => f.EndsWith(".dfn") || f.EndsWith("config.json")))
            File.Copy(f, Path.Combine(bare, Path.GetFileName(f)));
        string bareJson = Path.Combine(_dir, "bare.json");
        var bareOod = Run("ood", "--run", bare, "--dataset", "fashion-mnist", "--ood-synthetic", "noise", "--limit", "8", "--out", Path.Combine(_dir, "bare-out"), "--json", bareJson);
        Assert.True(bareOod.Code == 0, bareOod.Out + bareOod.Err);
        using (var doc = JsonDocument.Parse(File.ReadAllText(bareJson)))
        {
            Assert.Equal("complexity", doc.RootElement.GetProperty("default_method").GetString());
            var names = doc.RootElement.GetProperty("methods").EnumerateObject().Select(p => p.Name).ToArray();
            Assert.DoesNotContain("knn", names);
            Assert.DoesNotContain("typicality", names);
        }
        AssertOneLineError(2, Run("ood", "--run", bare, "--dataset", "fashion-mnist", "--ood-synthetic", "noise", "--limit", "8", "--methods", "knn", "--out", Path.Combine(_dir, "bare-out2")), "run.json is missing");
        Assert.False(Directory.Exists(Path.Combine(_dir, "bare-out2")));

        // Bad input: one line, exit 2 (usage) or 1 (failure), nothing written.
        string badOut = Path.Combine(_dir, "bad-out");
        string badJson = Path.Combine(_dir, "bad.json");
        AssertOneLineError(2, Run("ood", "--run", run, "--out", badOut, "--json", badJson), "no OOD set");
        AssertOneLineError(2, Run("ood", "--run", run, "--ood-folder", Path.Combine(_dir, "missing"), "--out", badOut), "directory not found");
        AssertOneLineError(2, Run("ood", "--run", run, "--ood-synthetic", "sparkles", "--out", badOut), "--ood-synthetic must be one of");

        string wrongSize = Path.Combine(_dir, "mnist32");
        Directory.CreateDirectory(wrongSize);
        File.WriteAllBytes(Path.Combine(wrongSize, "t10k-images-idx3-ubyte"), TestFiles.Idx(new byte[3 * 32 * 32], 3, 32, 32));
        AssertOneLineError(2, Run("ood", "--run", run, "--ood-dataset", "mnist", "--ood-data", wrongSize, "--out", badOut, "--json", badJson), "images are 1×32×32");

        string wrongChannels = Path.Combine(_dir, "cifar");
        Directory.CreateDirectory(wrongChannels);
        File.WriteAllBytes(Path.Combine(wrongChannels, "test_batch.bin"), new byte[2 * 3073]);
        AssertOneLineError(2, Run("ood", "--run", run, "--ood-dataset", "cifar10", "--ood-data", wrongChannels, "--out", badOut, "--json", badJson), "images are 3×32×32");

        string emptyRun = Path.Combine(_dir, "empty-run");
        Directory.CreateDirectory(emptyRun);
        AssertOneLineError(1, Run("ood", "--run", emptyRun, "--ood-synthetic", "noise", "--out", badOut, "--json", badJson), "no model.dfn or checkpoint.bin");
        Assert.False(Directory.Exists(badOut));
        Assert.False(File.Exists(badJson));
        Assert.False(Directory.Exists(Path.Combine(emptyRun, "ood")));
    }
}
