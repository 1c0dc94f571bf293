using DenseFlow.Model;
using DenseFlow.Noise;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Model;

/// <summary>The model refuses images it cannot score instead of returning a wrong bound.</summary>
public class InputCheckTests
{
    [Fact]
    public void AFiveBitModel_RefusesEightBitValues_AndScoresFiveBitOnes()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig() with { NumBits = 5 };
        using var model = new DenseFlowModel(config);
        model.eval();
        model.Noise = new SeededNoise(1);
        var ok = RandomImages(2, 2, config);   // 0..31
        Assert.True(model.LogLikelihood(ok).isfinite().all().item<bool>());

        var eightBit = ok.clone();
        eightBit[0, 0, 0, 0] = tensor(200L);
        var e = Assert.Throws<ArgumentException>(() => model.LogLikelihood(eightBit));
        Assert.Contains("0..31", e.Message);
        Assert.Contains("200", e.Message);
    }

    [Fact]
    public void WronglyShapedImages_AreRefusedNamingBothShapes()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = new DenseFlowModel(config);
        model.Noise = new SeededNoise(1);
        var e = Assert.Throws<ArgumentException>(() => model.LogLikelihood(zeros(new long[] { 2, config.Channels, config.Height + 1, config.Width }, dtype: ScalarType.Int64)));
        Assert.Contains($"expected shape (B,{config.Channels},{config.Height},{config.Width})", e.Message);
        Assert.Contains($"(2,{config.Channels},{config.Height + 1},{config.Width})", e.Message);
    }
}
