using DenseFlow.IO;

namespace DenseFlow.Imaging;

/// <summary>
/// Renders training curves (several (x, y) series on shared axes) to a PNG with ScottPlot: title, ticks, grid,
/// axis labels and legend. Non-finite points are skipped and empty input gives empty axes, so the training
/// loop can call it unconditionally. Colours follow ScottPlot's default palette (matplotlib's tab10).
/// </summary>
public static class CurvePlot
{
    const int MaxMarkedPoints = 60; // sparse series (e.g. test bpd per epoch) also get dots

    public static void Save(string path, IEnumerable<CurveSeries> series, CurvePlotOptions? options = null) =>
        AtomicFile.WriteAllBytes(path, RenderPng(series, options));

    public static byte[] RenderPng(IEnumerable<CurveSeries> series, CurvePlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        options ??= new CurvePlotOptions();
        if (options.Width < 160 || options.Height < 120)
            throw new ArgumentOutOfRangeException(nameof(options), "The plot must be at least 160x120 pixels.");

        var all = series.ToList();
        var plot = new ScottPlot.Plot();
        var points = new List<(double X, double Y)>();
        foreach (var s in all)
        {
            // ScottPlot's axes break on spans that overflow a double: clip to ±1e100, far beyond any bits/dim.
            var finite = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y))
                .Select(p => (X: Math.Clamp(p.X, -1e100, 1e100), Y: Math.Clamp(p.Y, -1e100, 1e100))).ToList();
            points.AddRange(finite);
            // Every series takes its palette colour, even an empty one, so a series keeps its colour across plots.
            var line = plot.Add.Scatter(finite.Select(p => p.X).ToArray(), finite.Select(p => p.Y).ToArray());
            line.LineWidth = 2;
            line.MarkerSize = finite.Count <= MaxMarkedPoints ? 7 : 0;
            if (!string.IsNullOrEmpty(s.Label)) line.LegendText = s.Label;
        }
        // Limits chosen here rather than by ScottPlot's autoscale: it must survive ±1e308, single points and fixed ranges.
        var (xMin, xMax) = AxisRange(points.Select(p => p.X), padFraction: 0.02, null, null);
        var (yMin, yMax) = AxisRange(points.Select(p => p.Y), padFraction: 0.05, options.YMin, options.YMax);
        plot.Axes.SetLimits(xMin, xMax, yMin, yMax);
        if (points.Count == 0) plot.Add.Text("no data", (xMin + xMax) / 2, (yMin + yMax) / 2);
        plot.Title(options.Title);
        plot.XLabel(options.XLabel);
        plot.YLabel(options.YLabel);
        if (all.Any(s => !string.IsNullOrEmpty(s.Label))) plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        return plot.GetImageBytes(options.Width, options.Height, ScottPlot.ImageFormat.Png);
    }

    /// <summary>Data range with some padding; degenerate ranges (one point, constant series) are widened.</summary>
    static (double Min, double Max) AxisRange(IEnumerable<double> values, double padFraction, double? fixedMin, double? fixedMax)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in values) { min = Math.Min(min, v); max = Math.Max(max, v); }
        if (min > max) { min = 0; max = 1; } // no data

        double span = max - min;
        if (!double.IsFinite(span)) span = double.MaxValue; // +-1e308 data: still finite bounds below
        if (span <= Math.Max(Math.Abs(min), Math.Abs(max)) * 1e-12)
        {
            double half = Math.Abs(min) > 1e-12 ? Math.Abs(min) * 0.05 : 0.5;
            min -= half;
            max += half;
        }
        else
        {
            min -= span * padFraction;
            max += span * padFraction;
        }

        if (fixedMin is double lo && double.IsFinite(lo)) min = lo;
        if (fixedMax is double hi && double.IsFinite(hi)) max = hi;
        if (!(max > min)) max = min + 1; // inconsistent fixed bounds
        return (min, max);
    }
}
