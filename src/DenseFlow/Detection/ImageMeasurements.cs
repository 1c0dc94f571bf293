namespace DenseFlow.Detection;

/// <summary>What every score is computed from, per image, and how long each part took.</summary>
public sealed record ImageMeasurements(double[] Bpd, double[]? BackgroundBpd, double[]? PngBpd, double[]? WebpBpd, IReadOnlyDictionary<string, double> Seconds,
    double[]? NeighbourDistance = null)
{
    public int Count => Bpd.Length;
}
