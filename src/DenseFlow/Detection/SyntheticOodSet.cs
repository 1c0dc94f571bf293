using DenseFlow.Data;

namespace DenseFlow.Detection;

/// <summary>The synthetic out-of-distribution sets, each made from in-distribution images.</summary>
public enum SyntheticKind
{
    /// <summary>255 − x: the same shapes with the low-level statistics turned around (a white background).</summary>
    Inverted,
    /// <summary>Every pixel one value, drawn uniformly from 0..255 per image: the simplest possible image.</summary>
    Constant,
    /// <summary>Every pixel independently uniform in 0..255: the most complex image.</summary>
    Noise,
    /// <summary>Gaussian blur, σ = 1 pixel (kernel radius 3, edges clamped): smoother than any training image.</summary>
    Blur,
    /// <summary>Contrast halved around the image's mean, as torchvision's adjust_contrast(0.5): mean + 0.5·(x − mean).</summary>
    Contrast,
}

/// <summary>
/// A synthetic OOD set: image i is a deterministic function of source image i and (seed, i), so a
/// command reproduces the same set on every machine. Built from the in-distribution test split by `ood --ood-synthetic`.
/// </summary>
public sealed class SyntheticOodSet : IImageDataset
{
    const long SyntheticStream = 0x53594E54; // "SYNT"
    const double BlurSigma = 1.0;
    const int BlurRadius = 3;
    const double ContrastFactor = 0.5;
    static readonly double[] BlurKernel = GaussianKernel(BlurSigma, BlurRadius);

    readonly IImageDataset _source;
    readonly long _seed;

    public SyntheticKind Kind { get; }

    public static IReadOnlyDictionary<string, SyntheticKind> Names { get; } = new Dictionary<string, SyntheticKind>
    {
        ["inverted"] = SyntheticKind.Inverted, ["constant"] = SyntheticKind.Constant, ["noise"] = SyntheticKind.Noise,
        ["blur"] = SyntheticKind.Blur, ["contrast"] = SyntheticKind.Contrast,
    };

    public static string NameOf(SyntheticKind kind) => Names.First(p => p.Value == kind).Key;

    public SyntheticOodSet(IImageDataset source, SyntheticKind kind, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        Kind = kind;
        _seed = seed;
    }

    public string Name => $"{NameOf(Kind)}({_source.Name})";
    public ImageShape Shape => _source.Shape;
    public int Count => _source.Count;

    public void CopyImage(int index, Span<byte> chw)
    {
        var rng = SplitMix64.For(_seed, index, SyntheticStream, (long)Kind);
        switch (Kind)
        {
            case SyntheticKind.Constant:
                chw.Fill((byte)rng.NextInt(256));
                return;
            case SyntheticKind.Noise:
                for (int i = 0; i < chw.Length; i++) chw[i] = (byte)rng.NextInt(256);
                return;
        }
        _source.CopyImage(index, chw);
        switch (Kind)
        {
            case SyntheticKind.Inverted:
                for (int i = 0; i < chw.Length; i++) chw[i] = (byte)(255 - chw[i]);
                break;
            case SyntheticKind.Blur:
                Blur(chw, Shape);
                break;
            case SyntheticKind.Contrast:
                // One mean over all channels (torchvision takes the grayscale mean; for one channel they agree).
                double mean = 0;
                foreach (byte b in chw) mean += b;
                mean /= chw.Length;
                for (int i = 0; i < chw.Length; i++)
                    chw[i] = (byte)Math.Clamp(Math.Round(mean + ContrastFactor * (chw[i] - mean), MidpointRounding.ToEven), 0, 255);
                break;
        }
    }

    static double[] GaussianKernel(double sigma, int radius)
    {
        var k = Enumerable.Range(-radius, 2 * radius + 1).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray();
        double sum = k.Sum();
        return k.Select(v => v / sum).ToArray();
    }

    /// <summary>Separable Gaussian blur of each channel, edges clamped, rounded back to 8 bits.</summary>
    static void Blur(Span<byte> chw, ImageShape shape)
    {
        int h = shape.Height, w = shape.Width;
        var rows = new double[h * w];
        for (int c = 0; c < shape.Channels; c++)
        {
            var p = chw.Slice(c * h * w, h * w);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double s = 0;
                    for (int t = -BlurRadius; t <= BlurRadius; t++) s += BlurKernel[t + BlurRadius] * p[y * w + Math.Clamp(x + t, 0, w - 1)];
                    rows[y * w + x] = s;
                }
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double s = 0;
                    for (int t = -BlurRadius; t <= BlurRadius; t++) s += BlurKernel[t + BlurRadius] * rows[Math.Clamp(y + t, 0, h - 1) * w + x];
                    p[y * w + x] = (byte)Math.Clamp(Math.Round(s, MidpointRounding.ToEven), 0, 255);
                }
        }
    }
}
