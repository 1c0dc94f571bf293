namespace DenseFlow.Imaging;

public sealed record CurvePlotOptions
{
    public int Width { get; init; } = 900;
    public int Height { get; init; } = 500;
    public string Title { get; init; } = "Training curve";
    public string XLabel { get; init; } = "step";
    public string YLabel { get; init; } = "bits/dim";

    /// <summary>Fix the y range, e.g. to keep the huge bits/dim of the first steps from flattening the rest.</summary>
    public double? YMin { get; init; }
    public double? YMax { get; init; }
}
