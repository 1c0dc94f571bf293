namespace DenseFlow.Imaging;

/// <summary>One named line of a <see cref="CurvePlot"/>, e.g. "train bpd" per step.</summary>
public sealed record CurveSeries(string Label, IReadOnlyList<(double X, double Y)> Points);
