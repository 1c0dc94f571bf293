namespace DenseFlow.Benchmarks;

/// <summary>One row comparing a measurement with the reference implementation's figure (ANCHORS.md).</summary>
public sealed record ReferenceComparison(
    string Name, double OurImagesPerSecond, double ReferenceImagesPerSecond, double Ratio,
    double OurCalibrationGflops, double ReferenceCalibrationGflops, double NormalisedRatio, bool ReferenceIsEstimate)
{
    /// <summary>
    /// As <see cref="NormalisedRatio"/>, with our figure and our calibration each divided by its CPU share first
    /// (per CPU-second of this process): steadier when other work shares the cores and its load changes during the run.
    /// </summary>
    public double? CpuNormalisedRatio { get; init; }
}
