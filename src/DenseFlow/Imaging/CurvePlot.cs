using System.Globalization;
using SkiaSharp;
using DenseFlow.IO;

namespace DenseFlow.Imaging;

/// <summary>One named line of a <see cref="CurvePlot"/>, e.g. "train bpd" per step.</summary>
public sealed record CurveSeries(string Label, IReadOnlyList<(double X, double Y)> Points)
{
    public static CurveSeries FromArrays(string label, IEnumerable<double> xs, IEnumerable<double> ys) =>
        new(label, xs.Zip(ys).Select(p => (p.First, p.Second)).ToList());
}

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

    /// <summary>
    /// Always use the built-in pixel font instead of a system font. The output then no longer depends on
    /// which fonts are installed (the pixel font is also the automatic fallback when none is usable).
    /// </summary>
    public bool BuiltInFont { get; init; }
}

/// <summary>
/// Renders training curves (several (x, y) series on shared axes) to a PNG with title, ticks, grid,
/// axis labels and legend. Non-finite points are skipped and empty input gives empty axes, so the
/// training loop can call it unconditionally.
/// </summary>
public static class CurvePlot
{
    // matplotlib's tab10, so the plots look familiar next to the Python reference.
    static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28),
        new(0x94, 0x67, 0xbd), new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f),
        new(0xbc, 0xbd, 0x22), new(0x17, 0xbe, 0xcf),
    ];

    static readonly SKColor TextColor = new(0x22, 0x22, 0x22);
    static readonly SKColor AxisColor = new(0x44, 0x44, 0x44);
    static readonly SKColor GridColor = new(0xe3, 0xe3, 0xe3);

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
        var finite = all.Select(s => s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList()).ToList();

        var info = new SKImageInfo(options.Width, options.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var surface = SKSurface.Create(info)
            ?? throw new InvalidOperationException("SkiaSharp could not create a raster surface.");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);

        using var text = TextPainter.Create(options.BuiltInFont);
        var plot = new SKRect(76, 46, options.Width - 24, options.Height - 58);

        var points = finite.SelectMany(p => p).ToList();
        var (xMin, xMax) = AxisRange(points.Select(p => p.X), padFraction: 0.02, null, null);
        var (yMin, yMax) = AxisRange(points.Select(p => p.Y), padFraction: 0.05, options.YMin, options.YMax);
        float MapX(double x) => plot.Left + (float)((x - xMin) / (xMax - xMin)) * plot.Width;
        float MapY(double y) => plot.Bottom - (float)((y - yMin) / (yMax - yMin)) * plot.Height;

        using var gridPaint = new SKPaint { Color = GridColor, StrokeWidth = 1, IsAntialias = false, Style = SKPaintStyle.Stroke };
        using var axisPaint = new SKPaint { Color = AxisColor, StrokeWidth = 1, IsAntialias = false, Style = SKPaintStyle.Stroke };
        const float tickSize = 11, labelSize = 13, titleSize = 16, tickLength = 5;

        // Tick density follows the plot size so labels never run into each other on small plots.
        foreach (var (value, step) in Ticks(xMin, xMax, target: Math.Clamp((int)(plot.Width / 110), 2, 8)))
        {
            float x = MathF.Round(MapX(value)) + 0.5f; // half-pixel: crisp 1px lines
            canvas.DrawLine(x, plot.Top, x, plot.Bottom, gridPaint);
            canvas.DrawLine(x, plot.Bottom, x, plot.Bottom + tickLength, axisPaint);
            text.Draw(canvas, FormatTick(value, step), x, plot.Bottom + tickLength + 10, tickSize, TextColor, SKTextAlign.Center);
        }
        foreach (var (value, step) in Ticks(yMin, yMax, target: Math.Clamp((int)(plot.Height / 60), 2, 7)))
        {
            float y = MathF.Round(MapY(value)) + 0.5f;
            canvas.DrawLine(plot.Left, y, plot.Right, y, gridPaint);
            canvas.DrawLine(plot.Left - tickLength, y, plot.Left, y, axisPaint);
            text.Draw(canvas, FormatTick(value, step), plot.Left - tickLength - 4, y, tickSize, TextColor, SKTextAlign.Right);
        }
        canvas.DrawRect(plot, axisPaint);

        // Series, clipped to the plot area so strokes and markers never cover the tick labels.
        canvas.Save();
        canvas.ClipRect(plot);
        for (int i = 0; i < all.Count; i++)
            DrawSeries(canvas, finite[i], Palette[i % Palette.Length], MapX, MapY);
        if (points.Count == 0)
            text.Draw(canvas, "no data", plot.MidX, plot.MidY, labelSize, AxisColor, SKTextAlign.Center);
        canvas.Restore();

        text.Draw(canvas, options.Title, options.Width / 2f, 23, titleSize, TextColor, SKTextAlign.Center);
        text.Draw(canvas, options.XLabel, plot.MidX, options.Height - 16, labelSize, TextColor, SKTextAlign.Center);
        canvas.Save();
        canvas.RotateDegrees(-90, 20, plot.MidY);
        text.Draw(canvas, options.YLabel, 20, plot.MidY, labelSize, TextColor, SKTextAlign.Center);
        canvas.Restore();

        DrawLegend(canvas, text, all, finite, plot);

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp failed to encode the PNG.");
        return data.ToArray();
    }

    static void DrawSeries(SKCanvas canvas, List<(double X, double Y)> points, SKColor color,
        Func<double, float> mapX, Func<double, float> mapY)
    {
        if (points.Count == 0) return;
        using var paint = new SKPaint
        {
            Color = color, StrokeWidth = 1.8f, IsAntialias = true, Style = SKPaintStyle.Stroke,
            StrokeJoin = SKStrokeJoin.Round, StrokeCap = SKStrokeCap.Round,
        };
        if (points.Count > 1)
        {
            using var path = new SKPath();
            path.MoveTo(mapX(points[0].X), mapY(points[0].Y));
            for (int i = 1; i < points.Count; i++) path.LineTo(mapX(points[i].X), mapY(points[i].Y));
            canvas.DrawPath(path, paint);
        }
        if (points.Count <= MaxMarkedPoints)
        {
            paint.Style = SKPaintStyle.Fill;
            foreach (var (x, y) in points) canvas.DrawCircle(mapX(x), mapY(y), 3.2f, paint);
        }
    }

    static void DrawLegend(SKCanvas canvas, TextPainter text, List<CurveSeries> all,
        List<List<(double X, double Y)>> finite, SKRect plot)
    {
        const float size = 12, rowHeight = 18, swatch = 22, pad = 8;
        var rows = Enumerable.Range(0, all.Count).Where(i => !string.IsNullOrEmpty(all[i].Label)).ToList();
        if (rows.Count == 0) return;

        float textWidth = rows.Max(i => text.Measure(all[i].Label, size));
        var box = SKRect.Create(plot.Right - pad - (pad + swatch + 6 + textWidth + pad), plot.Top + pad,
            pad + swatch + 6 + textWidth + pad, rows.Count * rowHeight + pad);
        using (var fill = new SKPaint { Color = SKColors.White.WithAlpha(225), Style = SKPaintStyle.Fill })
            canvas.DrawRect(box, fill);
        using (var border = new SKPaint { Color = new SKColor(0xbb, 0xbb, 0xbb), Style = SKPaintStyle.Stroke, StrokeWidth = 1 })
            canvas.DrawRect(box, border);

        using var paint = new SKPaint { StrokeWidth = 1.8f, IsAntialias = true, StrokeCap = SKStrokeCap.Round };
        for (int r = 0; r < rows.Count; r++)
        {
            int i = rows[r];
            float y = box.Top + pad / 2 + rowHeight * (r + 0.5f);
            float x0 = box.Left + pad;
            paint.Color = Palette[i % Palette.Length];
            paint.Style = SKPaintStyle.Stroke;
            canvas.DrawLine(x0, y, x0 + swatch, y, paint);
            if (finite[i].Count is > 0 and <= MaxMarkedPoints)
            {
                paint.Style = SKPaintStyle.Fill;
                canvas.DrawCircle(x0 + swatch / 2, y, 3.2f, paint);
            }
            text.Draw(canvas, all[i].Label, x0 + swatch + 6, y, size, TextColor, SKTextAlign.Left);
        }
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

    /// <summary>Tick positions at 1, 2 or 5 times a power of ten, about <paramref name="target"/> of them.</summary>
    static IEnumerable<(double Value, double Step)> Ticks(double min, double max, int target)
    {
        double raw = (max - min) / target;
        if (!double.IsFinite(raw) || raw <= 0) yield break;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / magnitude;
        double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude;
        if (!double.IsFinite(step) || step <= 0) yield break;

        double first = Math.Ceiling(min / step - 1e-9);
        for (int i = 0; i < 50; i++)
        {
            double v = (first + i) * step;
            if (v > max + step * 1e-9) yield break;
            yield return (Math.Abs(v) < step * 1e-9 ? 0 : v, step);
        }
    }

    /// <summary>Just enough decimals for the tick step; thousands as "k" and millions as "M" (step axes).</summary>
    static string FormatTick(double value, double step)
    {
        var inv = CultureInfo.InvariantCulture;
        if (Math.Abs(value) >= 1e15 || (value != 0 && Math.Abs(value) < 1e-4 && step < 1e-4))
            return value.ToString("0.##e0", inv);
        foreach (var (scale, suffix) in new[] { (1e6, "M"), (1e3, "k") })
        {
            if (step >= scale / 10 && Math.Abs(value) >= scale)
                return (value / scale).ToString("F" + Decimals(step / scale), inv) + suffix;
        }
        return value.ToString("F" + Decimals(step), inv);
    }

    static int Decimals(double step) => Math.Clamp(-(int)Math.Floor(Math.Log10(step) + 1e-9), 0, 10);

    /// <summary>Draws text with a system font when one is usable, else with <see cref="PixelFont"/>.</summary>
    sealed class TextPainter : IDisposable
    {
        readonly SKFont? _font;

        TextPainter(SKTypeface? typeface)
        {
            if (typeface != null) _font = new SKFont(typeface) { Subpixel = true, Edging = SKFontEdging.Antialias };
        }

        public static TextPainter Create(bool builtInOnly)
        {
            if (builtInOnly) return new TextPainter(null);
            try
            {
                // Prefer a sans face; the NoDependencies default is whatever font file was found first.
                var manager = SKFontManager.Default;
                foreach (string family in new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica" })
                {
                    var candidate = manager.MatchFamily(family);
                    if (IsUsable(candidate)) return new TextPainter(candidate);
                }
                var fallback = SKTypeface.Default;
                if (IsUsable(fallback)) return new TextPainter(fallback);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Font discovery failing must not cost us the plot; the pixel font needs nothing.
            }
            return new TextPainter(null);
        }

        static bool IsUsable(SKTypeface? typeface)
        {
            if (typeface == null || typeface.GlyphCount == 0) return false;
            using var font = new SKFont(typeface, 12);
            return font.ContainsGlyphs("0123456789.-kM stepbitsdim");
        }

        public float Measure(string s, float size)
        {
            if (_font == null) return PixelFont.Measure(s, size);
            _font.Size = size;
            return _font.MeasureText(s);
        }

        /// <summary>Draws <paramref name="s"/> vertically centred (on capital height) at <paramref name="yMiddle"/>.</summary>
        public void Draw(SKCanvas canvas, string s, float x, float yMiddle, float size, SKColor color, SKTextAlign align)
        {
            if (string.IsNullOrEmpty(s)) return;
            using var paint = new SKPaint { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };
            if (_font == null)
            {
                float width = PixelFont.Measure(s, size);
                float left = align switch { SKTextAlign.Center => x - width / 2, SKTextAlign.Right => x - width, _ => x };
                PixelFont.Draw(canvas, s, MathF.Round(left), MathF.Round(yMiddle - PixelFont.Height(size) / 2), size, paint);
                return;
            }
            _font.Size = size;
            float capHeight = _font.Metrics.CapHeight > 0 ? _font.Metrics.CapHeight : size * 0.7f;
            canvas.DrawText(s, x, yMiddle + capHeight / 2, align, _font, paint);
        }

        public void Dispose()
        {
            // Only the font: typefaces may be SkiaSharp's shared instances (e.g. SKTypeface.Default).
            _font?.Dispose();
        }
    }
}
