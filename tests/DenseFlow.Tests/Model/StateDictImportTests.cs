using DenseFlow.Model;
using DenseFlow.Tests.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Model;

/// <summary>A plain `state_dict.pt` with DataParallel's `module.` prefix imports like weights.npz.</summary>
public class StateDictImportTests : IDisposable
{
    readonly string _path = Path.Combine(Path.GetTempPath(), $"denseflow-state-dict-{Guid.NewGuid():N}.pt");

    public void Dispose()
    {
        if (File.Exists(_path)) File.Delete(_path);
    }

    [Fact]
    public void PlainStateDictWithModulePrefixImportsTheSameWeights()
    {
        string npz = Path.Combine(FixturePaths.OfficialSmall, "weights.npz");
        var official = ReferenceWeights.Read(npz);
        var prefixed = official.ToDictionary(kv => "module." + kv.Key, kv => kv.Value);
        using (var stream = File.Create(_path))
            TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(stream, prefixed);

        var config = DenseFlow.Evaluation.ReferenceVerification.ReadConfig(FixturePaths.OfficialSmall);
        using var fromPt = new DenseFlowModel(config);
        ReferenceWeights.Load(fromPt, _path);
        using var fromNpz = new DenseFlowModel(config);
        ReferenceWeights.Load(fromNpz, npz);
        var expected = fromNpz.state_dict();
        foreach (var (name, t) in fromPt.state_dict()) Assert.True(t.eq(expected[name]).all().item<bool>(), name);
        foreach (var t in official.Values) t.Dispose();
    }
}
