using DenseFlow.Evaluation;
using DenseFlow.Model;
using DenseFlow.Nets;
using DenseFlow.Tests.IO;
using TorchSharp;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Model;

/// <summary>SPEC §10 and the official-small fixture: the port reproduces the authors' PyTorch numbers.</summary>
public sealed class ReferenceFixtureTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("denseflow-fixture-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Fixture => FixturePaths.OfficialSmall;

    [Theory]
    [InlineData("weights.npz", ScalarType.Float32, ActivationLayout.Auto)]
    [InlineData("weights.npz", ScalarType.Float32, ActivationLayout.ChannelsFirst)]
    [InlineData("weights.npz", ScalarType.Float32, ActivationLayout.ChannelsLast)]
    [InlineData("checkpoint.pt", ScalarType.Float32, ActivationLayout.Auto)]
    [InlineData("weights.npz", ScalarType.Float64, ActivationLayout.Auto)]
    [InlineData("weights.npz", ScalarType.Float64, ActivationLayout.ChannelsFirst)]
    public void Verification_ReproducesTheReference(string weightFile, ScalarType dtype, ActivationLayout layout)
    {
        var report = ReferenceVerification.Run(Fixture, Path.Combine(Fixture, weightFile), dtype, layout);
        int d = report.Dimensions;
        Assert.Equal(3 * 32 * 32, d);
        Assert.Equal(4, report.Images.Count);
        foreach (var image in report.Images)
        {
            Assert.True(double.IsFinite(image.Ours) && image.Official < 0, $"image {image.Index}: ours {image.Ours}, official {image.Official}");
            Assert.True(Math.Abs(image.Difference) <= 1e-5 * d,
                $"image {image.Index}: log-likelihood {image.Ours:R} vs official {image.Official:R} (|diff| {Math.Abs(image.Difference):E3} > {1e-5 * d:E3})");
        }
        Assert.True(report.MaxLatentDifference <= 1e-4, $"max latent difference {report.MaxLatentDifference:E3}");
        Assert.Equal(4L * 3 * 32 * 32, report.SampledPixels);
        Assert.True(report.DifferingPixels <= 0.005 * report.SampledPixels, $"{report.DifferingPixels} of {report.SampledPixels} sampled pixels differ");
        Assert.True(report.MaxPixelDifference <= 1, $"a sampled pixel differs by {report.MaxPixelDifference}");

        Assert.Equal(8, report.TransformOutputs.Count);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"transform_out_{i:D2}"), report.TransformOutputs.Select(t => t.Name));
        foreach (var (name, diff) in report.TransformOutputs)
            Assert.True(diff <= 1e-4, $"{name}: max |difference| {diff:E3}");
        Assert.True(report.Passed);
    }

    [Fact]
    public void WeightFiles_CheckpointAndNpz_HoldTheSameStateDict()
    {
        using var scope = NewDisposeScope();
        var npz = ReferenceWeights.Read(Path.Combine(Fixture, "weights.npz"));
        var pt = ReferenceWeights.Read(Path.Combine(Fixture, "checkpoint.pt"));
        Assert.Equal(533, npz.Count);
        Assert.Equal(npz.Keys.OrderBy(k => k), pt.Keys.OrderBy(k => k));
        foreach (var (key, value) in npz)
        {
            Assert.Equal(value.shape, pt[key].shape);
            Assert.True(Same(value.to(ScalarType.Float64), pt[key].to(ScalarType.Float64)), $"'{key}' differs between the files");
        }
    }

    static (DenseFlowModel Model, Dictionary<string, Tensor> State) ModelAndState()
    {
        var config = ReferenceVerification.ReadConfig(Fixture);
        return (new DenseFlowModel(config), ReferenceWeights.Read(Path.Combine(Fixture, "weights.npz")));
    }

    [Fact]
    public void LoadInto_MissingKey_NamesTheKey()
    {
        using var scope = NewDisposeScope();
        var (model, state) = ModelAndState();
        using var _ = model;
        const string key = "transforms.5.blocks.1.transforms.0.transforms.2.coupling_net.0.dn.transform.1.mha.qkv.weight";
        Assert.True(state.Remove(key), "fixture key naming changed");
        var e = Assert.Throws<WeightImportException>(() => ReferenceWeights.LoadInto(model, state, "test-source"));
        Assert.Contains(key, e.Message);
        Assert.Contains("test-source", e.Message);
    }

    [Fact]
    public void LoadInto_WrongShape_NamesTheKey()
    {
        using var scope = NewDisposeScope();
        var (model, state) = ModelAndState();
        using var _ = model;
        const string key = "transforms.3.blocks.0.transforms.0.transforms.1.weight";
        var original = state[key];
        state[key] = zeros(original.shape[0] + 1, original.shape[1]);
        var e = Assert.Throws<WeightImportException>(() => ReferenceWeights.LoadInto(model, state, "test-source"));
        Assert.Contains(key, e.Message);
        Assert.Contains("shape", e.Message);
    }

    [Fact]
    public void LoadInto_UnexpectedKey_IsRefused()
    {
        using var scope = NewDisposeScope();
        var (model, state) = ModelAndState();
        using var _ = model;
        state["transforms.99.bogus"] = zeros(1);
        var e = Assert.Throws<WeightImportException>(() => ReferenceWeights.LoadInto(model, state, "test-source"));
        Assert.Contains("transforms.99.bogus", e.Message);
    }

    [Fact]
    public void MissingFixtureDirectory_ThrowsNamingIt()
    {
        string missing = Path.Combine(_dir, "no-such-fixture");
        var e = Assert.Throws<FixtureException>(() => ReferenceVerification.Run(missing));
        Assert.Contains(missing, e.Message);
    }

    [Theory]
    [InlineData("{ \"constructor_args\": { \"data_shape\": [3, 32, 32] } }")]
    [InlineData("{ \"something\": 1 }")]
    [InlineData("this is not json")]
    [InlineData("{ \"constructor_args\": { \"data_shape\": \"3x32x32\", \"block_config\": [1], \"layers_config\": [1], \"layer_mid_chnls\": [8], \"growth_rate\": 2 } }")]
    public void BogusConfig_ThrowsNamingTheFile(string json)
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), json);
        var e = Assert.Throws<FixtureException>(() => ReferenceVerification.Run(_dir));
        Assert.Contains(Path.Combine(_dir, "config.json"), e.Message);
    }

    [Fact]
    public void EmptyDirectory_ThrowsNamingConfigJson()
    {
        var e = Assert.Throws<FixtureException>(() => ReferenceVerification.Run(_dir));
        Assert.Contains(Path.Combine(_dir, "config.json"), e.Message);
    }

    [Fact]
    public void NoWeightFile_ThrowsNamingTheDirectory()
    {
        File.Copy(Path.Combine(Fixture, "config.json"), Path.Combine(_dir, "config.json"));
        var e = Assert.Throws<FixtureException>(() => ReferenceVerification.Run(_dir));
        Assert.Contains(_dir, e.Message);
        Assert.Contains("weights.npz", e.Message);
    }

    [Fact]
    public void NoCaseFile_ThrowsNamingIt()
    {
        File.Copy(Path.Combine(Fixture, "config.json"), Path.Combine(_dir, "config.json"));
        var e = Assert.Throws<FixtureException>(() => ReferenceVerification.Run(_dir, Path.Combine(Fixture, "weights.npz")));
        Assert.Contains(Path.Combine(_dir, "case.npz"), e.Message);
    }

    [Theory]
    [InlineData("weights.npz")]
    [InlineData("checkpoint.pt")]
    public void GarbageWeightFile_ThrowsNamingIt(string name)
    {
        File.Copy(Path.Combine(Fixture, "config.json"), Path.Combine(_dir, "config.json"));
        File.Copy(Path.Combine(Fixture, "case.npz"), Path.Combine(_dir, "case.npz"));
        string weights = Path.Combine(_dir, name);
        File.WriteAllBytes(weights, Enumerable.Range(0, 1000).Select(i => (byte)(i * 37)).ToArray());
        var e = Assert.Throws<FixtureException>(() => ReferenceVerification.Run(_dir, weights));
        Assert.Contains(weights, e.Message);
    }
}
