using DenseFlow.Tests.Training;

namespace DenseFlow.Tests.Cli;

/// <summary>
/// One tiny Fashion-MNIST run trained once through the CLI and shared by the tests of a class
/// (12 steps at batch 16 on 96 images: seconds). Tests that change a run copy it first.
/// </summary>
public sealed class TinyRun : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "denseflow-tinyrun-" + Guid.NewGuid().ToString("N"));
    public string Run => Path.Combine(Root, "run");
    public string Config => Path.Combine(Root, "tiny.json");

    public TinyRun()
    {
        Directory.CreateDirectory(Root);
        File.WriteAllText(Config, TinyModels.FashionMnist.ToJson());
        var (code, output, err) = CliTests.Run(TrainArgs(Run, "--max-steps", "12"));
        if (code != 0) throw new InvalidOperationException($"training the shared tiny run failed ({code}): {output}{err}");
    }

    /// <summary>train arguments of a tiny run into <paramref name="outDir"/>, followed by <paramref name="extra"/>.</summary>
    public string[] TrainArgs(string outDir, params string[] extra) =>
        new[] { "train", "--dataset", "fashion-mnist", "--config", Config, "--batch", "16", "--lr", "3e-3", "--warmup", "2",
                "--train-limit", "96", "--eval-images", "16", "--samples", "0", "--out", outDir }.Concat(extra).ToArray();

    /// <summary>A fresh copy of the run (files and sub-folders) at <paramref name="target"/>.</summary>
    public string CopyTo(string target)
    {
        foreach (var file in Directory.GetFiles(Run, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(Run, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return target;
    }

    /// <summary>Every file under <paramref name="dir"/> by relative path, with its bytes.</summary>
    public static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    public static void AssertSameFiles(Dictionary<string, byte[]> before, string dir)
    {
        var after = Snapshot(dir);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} changed");
    }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, true);
    }
}
