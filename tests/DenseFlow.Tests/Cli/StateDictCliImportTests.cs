using DenseFlow.Model;
using DenseFlow.Tests.IO;

namespace DenseFlow.Tests.Cli;

/// <summary>`denseflow import state_dict.pt`: a plain PyTorch state dict (DataParallel's `module.` prefix) through the CLI.</summary>
public class StateDictCliImportTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-sdimport-" + Guid.NewGuid().ToString("N"));

    public StateDictCliImportTests() { Directory.CreateDirectory(_dir); }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    [Fact]
    public void ImportingAStateDictGivesTheRunTheFixturesWeights()
    {
        string npz = Path.Combine(FixturePaths.OfficialSmall, "weights.npz");
        string pt = Path.Combine(_dir, "state_dict.pt");
        var official = ReferenceWeights.Read(npz);
        using (var stream = File.Create(pt))
            TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(stream, official.ToDictionary(kv => "module." + kv.Key, kv => kv.Value));
        foreach (var t in official.Values) t.Dispose();

        string run = Path.Combine(_dir, "run");
        var (code, output, err) = CliTests.Run("import", pt, "--config", Path.Combine(FixturePaths.OfficialSmall, "config.json"), "--out", run);
        Assert.True(code == 0, output + err);

        // The run's weights are the fixture's (loaded here from weights.npz, the format the fixture replay test checks).
        using var imported = new DenseFlow.Training.RunDirectory(run).LoadModel();
        using var expected = new DenseFlowModel(imported.Config);
        ReferenceWeights.Load(expected, npz);
        var want = expected.state_dict();
        var got = imported.state_dict();
        Assert.Equal(want.Keys.Order(), got.Keys.Order());
        foreach (var (name, t) in want) Assert.True(t.eq(got[name]).all().item<bool>(), name);

        // A truncated state dict is a failure (exit 1) naming the file, and creates no run.
        string broken = Path.Combine(_dir, "broken.pt");
        var bytes = File.ReadAllBytes(pt);
        File.WriteAllBytes(broken, bytes[..(bytes.Length / 3)]);
        string run2 = Path.Combine(_dir, "run2");
        var (bc, bo, be) = CliTests.Run("import", broken, "--config", Path.Combine(FixturePaths.OfficialSmall, "config.json"), "--out", run2);
        Assert.True(bc == 1, bo + be);
        Assert.Single(be.Trim().Split('\n'));
        Assert.Contains(broken, be);
        Assert.False(File.Exists(Path.Combine(run2, "model.dfn")));
    }
}
