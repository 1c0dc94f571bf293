using DenseFlow.IO;

namespace DenseFlow.Detection;

/// <summary>One ROC curve per method in one PNG, drawn with ScottPlot.</summary>
public static class RocPlot
{
    public static void Save(string path, string title, IEnumerable<(string Name, double Auroc, IReadOnlyList<RocPoint> Curve)> curves, int width = 720, int height = 560)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, auroc, curve) in curves)
        {
            var line = plot.Add.ScatterLine(curve.Select(p => p.FalsePositiveRate).ToArray(), curve.Select(p => p.TruePositiveRate).ToArray());
            line.LegendText = $"{name} (AUROC {auroc.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)})";
            line.LineWidth = 2;
        }
        var chance = plot.Add.Line(0, 0, 1, 1);
        chance.LineColor = ScottPlot.Colors.Gray;
        chance.LinePattern = ScottPlot.LinePattern.Dashed;
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.Title(title);
        plot.XLabel("false positive rate (in-distribution called anomalous)");
        plot.YLabel("true positive rate (OOD detected)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png));
    }
}
