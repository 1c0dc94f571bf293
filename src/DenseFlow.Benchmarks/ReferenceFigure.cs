namespace DenseFlow.Benchmarks;

/// <summary>One figure of the reference implementation (shared/ANCHORS.md); ranges are given as low–high.</summary>
public sealed record ReferenceFigure(string Preset, string Measurement, double SecondsLow, double SecondsHigh, double ImagesPerSecond, double PeakRssGiB, bool Estimate = false);
