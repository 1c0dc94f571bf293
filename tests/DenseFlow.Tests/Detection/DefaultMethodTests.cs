using DenseFlow.Detection;

namespace DenseFlow.Tests.Detection;

/// <summary>
/// The default OOD score as docs/OOD.md states it: `complexity` (PNG), which needs no background model, unless the
/// model does not code its own training images better than PNG does, in which case plain `bpd` with a reason.
/// </summary>
public class DefaultMethodTests
{
    static TypicalBpd Typical(double meanBpd, double pngBpd) =>
        TypicalBpd.FromScores([meanBpd - 0.1, meanBpd + 0.1], k: 1, seed: 0, modelStamp: "m", pngBpd: pngBpd);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WithoutTypicalBpd_TheDefaultIsPngComplexity_WithOrWithoutBackground(bool hasBackground)
    {
        var (method, reason) = OodMethods.Choose(hasBackground, null);
        Assert.Equal(OodMethod.Complexity, method);
        Assert.Null(reason);
    }

    [Fact]
    public void AModelThatBeatsPng_KeepsComplexity()
    {
        var (method, reason) = OodMethods.Choose(false, Typical(3.6, 5.24));
        Assert.Equal(OodMethod.Complexity, method);
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
        Assert.Equal(OodMethod.Complexity, method);
    }
}
