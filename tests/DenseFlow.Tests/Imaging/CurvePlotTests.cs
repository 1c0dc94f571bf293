using DenseFlow.Imaging;

namespace DenseFlow.Tests.Imaging;

public sealed class CurvePlotTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("denseflow-plot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly (byte R, byte G, byte B) Blue = (0x1f, 0x77, 0xb4), Orange = (0xff, 0x7f, 0x0e);

    static CurveSeries TrainCurve(int steps = 400) => new("train bpd",
        Enumerable.Range(0, steps).Select(i => ((double)i * 10, 8.0 * Math.Exp(-i / 60.0) + 3.2 + 0.05 * Math.Sin(i))).ToList());

    static CurveSeries TestCurve() => new("test bpd",
        Enumerable.Range(1, 4).Select(e => (e * 1000.0, 8.0 * Math.Exp(-e * 100 / 60.0) + 3.3)).ToList());

    /// <summary>Saves, checks the file is a PNG of the requested size and returns its pixels (3,H,W).</summary>
    byte[] SaveAndLoad(IEnumerable<CurveSeries> series, CurvePlotOptions? options = null)
    {
        options ??= new CurvePlotOptions();
        string path = Path.Combine(_dir, "curve.png");
        CurvePlot.Save(path, series, options);

        Assert.False(File.Exists(path + ".tmp"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(path)[..4]);
        byte[] chw = Png.LoadChw(path, out int c, out int h, out int w);
        Assert.Equal((3, options.Height, options.Width), (c, h, w));
        return chw;
    }

    static int CountColor(byte[] chw, int h, int w, (byte R, byte G, byte B) color, int tolerance = 30,
        int top = 0, int bottom = int.MaxValue)
    {
        int plane = h * w, count = 0;
        for (int y = top; y < Math.Min(h, bottom); y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                if (Math.Abs(chw[i] - color.R) <= tolerance && Math.Abs(chw[plane + i] - color.G) <= tolerance
                    && Math.Abs(chw[2 * plane + i] - color.B) <= tolerance)
                    count++;
            }
        return count;
    }

    [Fact]
    public void DrawsBothSeriesAtRequestedSize()
    {
        byte[] px = SaveAndLoad([TrainCurve(), TestCurve()]);
        Assert.True(CountColor(px, 500, 900, Blue) > 500, "train line missing");
        Assert.True(CountColor(px, 500, 900, Orange) > 50, "test markers/line missing");
    }

    [Fact]
    public void DrawsTheTitleAboveThePlot()
    {
        var options = new CurvePlotOptions { Width = 640, Height = 360, Title = "DenseFlow MNIST" };
        byte[] px = SaveAndLoad([TrainCurve()], options);
        // The title band (above the plot area) holds nothing but the title text; without a title it is blank.
        Assert.True(CountColor(px, 360, 640, (0x22, 0x22, 0x22), tolerance: 60, top: 0, bottom: 30) > 30, "title not rendered");
        byte[] untitled = SaveAndLoad([TrainCurve()], options with { Title = "" });
        Assert.True(CountColor(untitled, 360, 640, (0x22, 0x22, 0x22), tolerance: 60, top: 0, bottom: 10) < 5, "text where no title was asked for");
    }

    [Fact]
    public void SkipsNonFiniteAndSurvivesEmptyAndSinglePoints()
    {
        var messy = new CurveSeries("messy",
            [(0, double.NaN), (1, 4.0), (2, double.PositiveInfinity), (double.NaN, 3), (3, 3.5), (4, double.NegativeInfinity)]);
        var single = new CurveSeries("single", [(5, 3.7)]);
        var empty = new CurveSeries("empty", []);

        byte[] px = SaveAndLoad([messy, single, empty]);
        Assert.True(CountColor(px, 500, 900, Blue) > 20);
        Assert.True(CountColor(px, 500, 900, Orange) > 10, "single point marker missing");
    }

    [Fact]
    public void NoDataStillGivesAxes()
    {
        SaveAndLoad([]);
        SaveAndLoad([new CurveSeries("nan only", [(0, double.NaN), (double.PositiveInfinity, 1)])]);
        byte[] px = SaveAndLoad([new CurveSeries("", [(7, 3.0)])], new CurvePlotOptions { Width = 200, Height = 150 });
        Assert.True(CountColor(px, 150, 200, (0x22, 0x22, 0x22), tolerance: 40) > 100, "axes missing");
    }

    [Fact]
    public void FixedYRangeAndExtremeValuesDoNotThrow()
    {
        SaveAndLoad([new CurveSeries("huge", [(0, -1e308), (1, 1e308), (2, 1e-300)])]);
        SaveAndLoad([TrainCurve()], new CurvePlotOptions { YMin = 3, YMax = 5 });
        SaveAndLoad([TrainCurve()], new CurvePlotOptions { YMin = 5, YMax = 3 }); // inconsistent: no crash
    }

    [Fact]
    public void RejectsTinyCanvas() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CurvePlot.RenderPng([TrainCurve()], new CurvePlotOptions { Width = 10 }));
}
