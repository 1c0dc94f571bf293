using DenseFlow.Model;
using DenseFlow.Noise;
using TorchSharp;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Model;

/// <summary>Our own model file: save → load keeps every number, ActNorm is never re-initialised, bad files are refused.</summary>
public sealed class ModelFileTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("denseflow-modelfile-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static IEnumerable<(string Name, Tensor Value)> ActNormState(DenseFlowModel model) =>
        model.state_dict().Where(kv => kv.Key.Contains(".actnorm.")).Select(kv => (kv.Key, kv.Value));

    [Fact]
    public void SaveThenLoad_GivesIdenticalLogLikelihood_AndKeepsActNorm()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 300);
        string path = Path.Combine(_dir, "model.dfn");
        ModelFile.Save(model, path);
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Equal(config.ToJson(), ModelFile.ReadConfig(path).ToJson());

        using var loaded = ModelFile.Load(path);
        loaded.eval();
        Assert.Equal(config.ToJson(), loaded.Config.ToJson());
        var saved = model.state_dict();
        var restored = loaded.state_dict();
        Assert.Equal(saved.Keys.OrderBy(k => k), restored.Keys.OrderBy(k => k));
        foreach (var (key, value) in saved)
            Assert.True(Same(value, restored[key]), $"'{key}' changed in the round trip");

        var x = RandomImages(301, 3, config);
        model.Noise = new SeededNoise(302);
        loaded.Noise = new SeededNoise(302);
        AssertClose(model.LogLikelihood(x), loaded.LogLikelihood(x), 0, "log-likelihood after save → load");

        // ActNorm is initialised in the file and a training-mode pass after loading must not re-initialise it.
        var actnorms = loaded.Blocks.SelectMany(b => b.Units).SelectMany(u => u.Modules).Select(m => m.ActNorm).ToList();
        Assert.NotEmpty(actnorms);
        Assert.All(actnorms, a => Assert.True(a.IsInitialized));
        Assert.All(ActNormState(loaded).Where(s => s.Name.EndsWith("initialized")), s => Assert.Equal(1.0, s.Value.to(ScalarType.Float64).item<double>()));
        var before = ActNormState(loaded).ToDictionary(s => s.Name, s => s.Value.detach().clone());
        loaded.train();
        loaded.LogLikelihood(RandomImages(303, 8, config).clamp(0, 40)); // very different statistics from the init batch
        foreach (var (name, value) in ActNormState(loaded))
            Assert.True(Same(before[name], value), $"'{name}' changed in a training-mode pass after loading");
        foreach (var (name, value) in ActNormState(model))
            Assert.True(Same(before[name], value), $"'{name}' differs from the saved model");
    }

    [Fact]
    public void LoadInto_ExistingModel_CopiesTheWeights()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 310);
        string path = Path.Combine(_dir, "model.dfn");
        ModelFile.Save(model, path);
        using var other = new DenseFlowModel(config);
        ModelFile.LoadInto(other, path);
        other.eval();
        var x = RandomImages(311, 2, config);
        model.Noise = new SeededNoise(312);
        other.Noise = new SeededNoise(312);
        AssertClose(model.LogLikelihood(x), other.LogLikelihood(x), 0, "log-likelihood after LoadInto");

        using var different = new DenseFlowModel(config with { GrowthRate = 4 });
        var e = Assert.Throws<ModelFileException>(() => ModelFile.LoadInto(different, path));
        Assert.Contains(path, e.Message);
    }

    /// <summary>
    /// Fails while the file does not record the dtype: ModelFile.Load always builds a float32 model and
    /// TorchSharp refuses the float64 tensors ("Mismatched tensor data types"), reported as a truncated file.
    /// </summary>
    [Fact]
    public void SaveThenLoad_Float64Model_RoundTrips()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 320, ScalarType.Float64);
        string path = Path.Combine(_dir, "model64.dfn");
        ModelFile.Save(model, path);
        using var loaded = ModelFile.Load(path);
        loaded.eval();
        var x = RandomImages(321, 2, config);
        model.Noise = new SeededNoise(322);
        loaded.Noise = new SeededNoise(322);
        // Bit for bit, as in float32: a file that narrowed the weights to float32 would differ by ~1e-7 relative.
        Assert.Equal(ScalarType.Float64, loaded.DType);
        var saved = model.state_dict();
        foreach (var (name, value) in loaded.state_dict())
            Assert.True(value.dtype == saved[name].dtype && Same(saved[name], value), $"'{name}' differs from the saved float64 model");
        AssertClose(model.LogLikelihood(x), loaded.LogLikelihood(x), 0, "float64 model after save → load");
    }

    [Fact]
    public void TruncatedFile_ThrowsNamingTheFile()
    {
        using var scope = NewDisposeScope();
        using var model = BuildInitialised(TinyConfig(), 330);
        string path = Path.Combine(_dir, "model.dfn");
        ModelFile.Save(model, path);
        var bytes = File.ReadAllBytes(path);
        foreach (int length in new[] { 0, 5, 16, 40, bytes.Length / 2, bytes.Length - 100, bytes.Length - 1 })
        {
            string cut = Path.Combine(_dir, $"cut-{length}.dfn");
            File.WriteAllBytes(cut, bytes.Take(length).ToArray());
            var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(cut));
            Assert.Contains(cut, e.Message);
        }
    }

    [Fact]
    public void WrongMagic_OrMissingFile_ThrowsNamingTheFile()
    {
        using var scope = NewDisposeScope();
        using var model = BuildInitialised(TinyConfig(), 340);
        string path = Path.Combine(_dir, "model.dfn");
        ModelFile.Save(model, path);
        var bytes = File.ReadAllBytes(path);
        bytes[0] ^= 0x55;
        string bad = Path.Combine(_dir, "bad-magic.dfn");
        File.WriteAllBytes(bad, bytes);
        var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(bad));
        Assert.Contains(bad, e.Message);
        Assert.Contains("magic", e.Message);
        e = Assert.Throws<ModelFileException>(() => ModelFile.ReadConfig(bad));
        Assert.Contains(bad, e.Message);

        string other = Path.Combine(_dir, "npz-not-model.dfn");
        File.Copy(Path.Combine(IO.FixturePaths.OfficialSmall, "config.json"), other);
        e = Assert.Throws<ModelFileException>(() => ModelFile.Load(other));
        Assert.Contains(other, e.Message);

        string missing = Path.Combine(_dir, "missing.dfn");
        e = Assert.Throws<ModelFileException>(() => ModelFile.Load(missing));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void AFileOfAnotherFormatVersionIsRefusedNamingFileAndVersion()
    {
        using var scope = NewDisposeScope();
        using var model = BuildInitialised(TinyConfig(), 310);
        string path = Path.Combine(_dir, "future.dfn");
        ModelFile.Save(model, path);
        var bytes = File.ReadAllBytes(path);
        // The version is the int32 right after the magic line.
        int at = "DENSEFLOW-NET\n".Length;
        Assert.Equal(ModelFile.FormatVersion, BitConverter.ToInt32(bytes, at));
        BitConverter.GetBytes(ModelFile.FormatVersion + 7).CopyTo(bytes, at);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
        Assert.Contains("future.dfn", e.Message);
        Assert.Contains($"version {ModelFile.FormatVersion + 7}", e.Message);
    }

    [Fact]
    public void AFailedSaveKeepsThePreviousFileAndLeavesNoTemporary()
    {
        using var scope = NewDisposeScope();
        using var model = BuildInitialised(TinyConfig(), 320);
        string path = Path.Combine(_dir, "model.dfn");
        ModelFile.Save(model, path);
        var before = File.ReadAllBytes(path);
        using var other = BuildInitialised(TinyConfig(), 321);
        Assert.Throws<IOException>(() => ModelFile.Save(other, path, s => new DenseFlow.Tests.Training.FailingStream(s, failAfter: before.Length / 2)));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
        using var loaded = ModelFile.Load(path);
        Assert.Equal(model.ParameterCount, loaded.ParameterCount);
    }
}
