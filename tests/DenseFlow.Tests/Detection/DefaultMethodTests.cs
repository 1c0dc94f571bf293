using DenseFlow.Detection;

namespace DenseFlow.Tests.Detection;

/// <summary>
/// The default OOD score as docs/OOD.md states it: `complexity-knn`, which needs no background model but the run's
/// training images; `complexity` (PNG) when the run names none; plain `bpd` with a reason when the model does not
/// code its own training images better than PNG does.
/// </summary>
public class DefaultMethodTests
{
    static TypicalBpd Typical(double meanBpd, double pngBpd) =>
        TypicalBpd.FromScores([meanBpd - 0.1, meanBpd + 0.1], k: 1, seed: 0, modelStamp: "m", pngBpd: pngBpd);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WithoutTrainingData_TheDefaultIsPngComplexity_WithOrWithoutBackground_AndSaysWhy(bool hasBackground)
    {
        var (method, reason) = OodMethods.Choose(hasBackground, null);
        Assert.Equal(OodMethod.Complexity, method);
        Assert.Contains("names no training data", reason);
        Assert.Equal(OodMethod.Complexity, OodMethods.DefaultFor(hasBackground, hasTrainingData: false));
    }

    [Fact]
    public void AModelThatBeatsPng_KeepsComplexityKnn()
    {
        var (method, reason) = OodMethods.Choose(false, Typical(3.6, 5.24));
        Assert.Equal(OodMethod.ComplexityNeighbours, method);
        Assert.Null(reason);
    }

    [Theory]
    [InlineData(5.5, 5.24)]
    [InlineData(5.24, 5.24)] // not below PNG: the boundary falls back too
    public void AModelNoBetterThanPng_FallsBackToBpd_AndSaysWhy(double meanBpd, double pngBpd)
    {
        var (method, reason) = OodMethods.Choose(false, Typical(meanBpd, pngBpd));
        Assert.Equal(OodMethod.Bpd, method);
        Assert.NotNull(reason);
        Assert.Contains($"{meanBpd:F3}", reason);
        Assert.Contains($"is not below PNG's {pngBpd:F3}", reason);
    }

    [Fact]
    public void AnUnknownPngFigure_DoesNotTriggerTheFallback()
    {
        // Caches written before the PNG figure existed carry 0: no evidence the model is weak.
        var (method, _) = OodMethods.Choose(false, Typical(5.5, 0));
        Assert.Equal(OodMethod.ComplexityNeighbours, method);
    }
}
