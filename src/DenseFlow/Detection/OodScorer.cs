using System.Diagnostics;
using DenseFlow.Data;
using DenseFlow.Evaluation;
using DenseFlow.Model;
using DenseFlow.Noise;

namespace DenseFlow.Detection;

/// <summary>
/// Per-image out-of-distribution scores. Every model bits/dim goes through <see cref="DatasetBounds.Evaluate"/>
/// with a fresh seeded noise stream per model and set, so the same images and seed give the same
/// figures, and the background model sees the same sequence of draws as the main one.
/// </summary>
public static class OodScorer
{
    /// <summary>Per-image bits/dim of <paramref name="model"/> (the IWBO with K &gt; 1).</summary>
    public static double[] ModelBpd(DenseFlowModel model, IImageDataset images, BoundSettings settings, Action<int>? advance = null)
    {
        if (model.Config.ShapeMismatch(images.Shape) is { } mismatch) throw new ArgumentException($"{images.Name}: {mismatch}");
        var saved = model.Noise;
        using var noise = new SeededNoise(settings.Seed);
        model.Noise = noise;
        try
        {
            var batcher = new ImageBatcher(images, settings.Batch, shuffle: false, seed: 0, Augmentation.None, dropLast: false);
            var bounds = DatasetBounds.Evaluate(model, batcher, images.Count, settings.Batch, settings.K, settings.DrawsPerPass, advance);
            int d = model.Config.Dimensions;
            return bounds.Best.Select(ll => Likelihood.BitsPerDim(ll, d)).ToArray();
        }
        finally { model.Noise = saved; }
    }

    /// <summary>Everything <paramref name="methods"/> need for <paramref name="images"/>; <paramref name="advance"/> counts model passes (images × models).</summary>
    public static ImageMeasurements Measure(DenseFlowModel model, DenseFlowModel? background, IImageDataset images, IEnumerable<OodMethod> methods,
        BoundSettings settings, Action<int>? advance = null, NeighbourReference? neighbours = null)
    {
        var set = methods.ToHashSet();
        var seconds = new Dictionary<string, double>();
        T Timed<T>(string name, Func<T> f)
        {
            var sw = Stopwatch.StartNew();
            var r = f();
            seconds[name] = sw.Elapsed.TotalSeconds;
            return r;
        }
        var bpd = Timed("bpd", () => ModelBpd(model, images, settings, advance));
        double[]? bg = null;
        if (set.Any(OodMethods.NeedsBackground))
        {
            if (background is null) throw new InvalidOperationException("the ratio score needs a background model");
            bg = Timed("background_bpd", () => ModelBpd(background, images, settings, advance));
        }
        double[]? png = set.Any(OodMethods.NeedsPng) ? Timed("png", () => CompressedLength.BitsPerDim(images, LosslessCodec.Png)) : null;
        double[]? webp = set.Contains(OodMethod.ComplexityWebp) ? Timed("webp", () => CompressedLength.BitsPerDim(images, LosslessCodec.Webp)) : null;
        double[]? near = null;
        if (set.Any(OodMethods.NeedsNeighbours))
        {
            if (neighbours is null) throw new InvalidOperationException("the knn scores need the training images as a neighbour reference");
            near = Timed("neighbours", () => neighbours.Distances(images));
        }
        return new ImageMeasurements(bpd, bg, png, webp, seconds, near);
    }

    /// <summary>The per-image score of one method (higher = more anomalous).</summary>
    public static double[] Scores(OodMethod method, ImageMeasurements m, TypicalBpd? typical = null, CombinedScale? scale = null) => method switch
    {
        OodMethod.Bpd => (double[])m.Bpd.Clone(),
        OodMethod.Complexity => Difference(m.Bpd, m.PngBpd ?? throw Missing("PNG lengths")),
        OodMethod.ComplexityWebp => Difference(m.Bpd, m.WebpBpd ?? throw Missing("WebP lengths")),
        OodMethod.Ratio => Difference(m.Bpd, m.BackgroundBpd ?? throw Missing("the background model's bpd")),
        OodMethod.Typicality => (typical ?? throw Missing("the typical bpd")).Score(m.Bpd),
        OodMethod.Neighbours => (double[])(m.NeighbourDistance ?? throw Missing("the neighbour distances")).Clone(),
        OodMethod.ComplexityNeighbours => (scale ?? throw Missing("the training images' scale")).Score(
            Difference(m.Bpd, m.PngBpd ?? throw Missing("PNG lengths")), m.NeighbourDistance ?? throw Missing("the neighbour distances")),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>The mean bpd of the first <paramref name="images"/> training images, computed once and cached in the run directory.</summary>
    public static TypicalBpd Typical(DenseFlowModel model, IImageDataset train, string cacheFile, string modelStamp, BoundSettings settings, int images, Action<int>? advance = null)
    {
        int n = Math.Min(images, train.Count);
        if (TypicalBpd.TryLoad(cacheFile, settings.K, settings.Seed, n, modelStamp) is { } cached && cached.PngBpd > 0) return cached;
        var subset = new LimitedDataset(train, n);
        var bpd = ModelBpd(model, subset, settings, advance);
        var typical = TypicalBpd.FromScores(bpd, settings.K, settings.Seed, modelStamp, CompressedLength.BitsPerDim(subset, LosslessCodec.Png).Average());
        typical.Save(cacheFile);
        return typical;
    }

    /// <summary>
    /// The scale of the complexity-knn score from the typical bpd's training images (the first
    /// <see cref="TypicalBpd.Images"/> of <paramref name="train"/>, which must be the reference's first images):
    /// their complexity scores and their leave-one-out neighbour distances.
    /// </summary>
    public static CombinedScale Scale(TypicalBpd typical, IImageDataset train, NeighbourReference neighbours)
    {
        var subset = new LimitedDataset(train, typical.Images);
        var complexity = Difference(typical.Bpd, CompressedLength.BitsPerDim(subset, LosslessCodec.Png));
        return CombinedScale.From(complexity, neighbours.LeaveOneOut(typical.Images));
    }

    static double[] Difference(double[] a, double[] b) => a.Select((v, i) => v - b[i]).ToArray();
    static InvalidOperationException Missing(string what) => new($"this score needs {what}, which were not measured");
}
