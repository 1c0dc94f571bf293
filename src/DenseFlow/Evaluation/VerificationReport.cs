namespace DenseFlow.Evaluation;

public sealed record VerificationReport(
    string WeightFile, int Dimensions, IReadOnlyList<ImageComparison> Images, double MaxLatentDifference,
    long SampledPixels, long DifferingPixels, long MaxPixelDifference, IReadOnlyList<(string Name, double MaxAbsDiff)> TransformOutputs)
{
    public const double LogLikTolerancePerDim = 1e-5;
    public const double LatentTolerance = 1e-4;
    public const double DifferingPixelFraction = 0.005;

    public double MaxLogLikDifferencePerDim => Images.Max(i => Math.Abs(i.Difference)) / Dimensions;
    public bool LogLikOk => MaxLogLikDifferencePerDim <= LogLikTolerancePerDim;
    public bool LatentOk => MaxLatentDifference <= LatentTolerance;
    public bool SamplesOk => DifferingPixels <= DifferingPixelFraction * SampledPixels && MaxPixelDifference <= 1;
    public bool Passed => LogLikOk && LatentOk && SamplesOk;
}
