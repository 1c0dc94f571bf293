namespace DenseFlow.Data;

/// <summary>
/// Bilinear resizing of 8-bit interleaved (HWC) images, reproducing Pillow's
/// <c>Image.resize(size, Image.BILINEAR)</c> (Resample.c) exactly: pixel centres at +0.5
/// (as torch align_corners=False), a triangle filter whose support widens by the scale factor
/// when shrinking (antialiasing, so 178→64 averages ~3 source pixels instead of sampling 2),
/// 22-bit fixed-point weights, and a horizontal pass rounded to bytes before the vertical pass.
/// This is what torchvision's Resize does on PIL images, which the reference DenseFlow
/// preprocessing (CelebA, image folders) uses. Implemented by hand rather than via SkiaSharp
/// so the result is bit-for-bit reproducible and independent of Skia's sampler.
/// </summary>
public static class BilinearResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes a <paramref name="width"/>×<paramref name="height"/> image with <paramref name="channels"/> interleaved channels.</summary>
    public static byte[] Resize(ReadOnlySpan<byte> source, int width, int height, int channels, int newWidth, int newHeight)
    {
        if (source.Length != width * height * channels)
            throw new ArgumentException($"Expected {width}x{height}x{channels} bytes, got {source.Length}.", nameof(source));
        if (newWidth < 1 || newHeight < 1) throw new ArgumentOutOfRangeException(nameof(newWidth), "Target size must be positive.");

        // Like Pillow, a pass whose size does not change is skipped (it would be the identity anyway).
        byte[] horizontal = newWidth == width
            ? source.ToArray()
            : ResampleHorizontal(source, width, height, channels, newWidth);
        return newHeight == height
            ? horizontal
            : ResampleVertical(horizontal, newWidth, height, channels, newHeight);
    }

    private static byte[] ResampleHorizontal(ReadOnlySpan<byte> src, int width, int height, int channels, int newWidth)
    {
        var (bounds, weights, kernelSize) = Coefficients(width, newWidth);
        var dst = new byte[newWidth * height * channels];
        for (int y = 0; y < height; y++)
        {
            int srcRow = y * width * channels, dstRow = y * newWidth * channels;
            for (int x = 0; x < newWidth; x++)
            {
                int start = bounds[2 * x], taps = bounds[2 * x + 1], k = x * kernelSize;
                for (int c = 0; c < channels; c++)
                {
                    int sum = 1 << (PrecisionBits - 1);
                    for (int t = 0; t < taps; t++)
                        sum += src[srcRow + (start + t) * channels + c] * weights[k + t];
                    dst[dstRow + x * channels + c] = Clip8(sum);
                }
            }
        }
        return dst;
    }

    private static byte[] ResampleVertical(byte[] src, int width, int height, int channels, int newHeight)
    {
        var (bounds, weights, kernelSize) = Coefficients(height, newHeight);
        int rowBytes = width * channels;
        var dst = new byte[newHeight * rowBytes];
        for (int y = 0; y < newHeight; y++)
        {
            int start = bounds[2 * y], taps = bounds[2 * y + 1], k = y * kernelSize;
            for (int i = 0; i < rowBytes; i++)
            {
                int sum = 1 << (PrecisionBits - 1);
                for (int t = 0; t < taps; t++)
                    sum += src[(start + t) * rowBytes + i] * weights[k + t];
                dst[y * rowBytes + i] = Clip8(sum);
            }
        }
        return dst;
    }

    /// <summary>Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter.</summary>
    private static (int[] Bounds, int[] Weights, int KernelSize) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 1.0 * filterScale; // the bilinear filter has support 1
        int kernelSize = (int)Math.Ceiling(support) * 2 + 1;

        var bounds = new int[outSize * 2];
        var weights = new int[outSize * kernelSize];
        var w = new double[kernelSize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.Max((int)(center - support + 0.5), 0); // (int) truncates toward zero, as in C
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;

            double total = 0;
            for (int x = 0; x < xmax; x++)
            {
                w[x] = Triangle((x + xmin - center + 0.5) * ss);
                total += w[x];
            }
            for (int x = 0; x < xmax; x++)
            {
                double normalized = total != 0 ? w[x] / total : w[x];
                weights[xx * kernelSize + x] = normalized < 0
                    ? (int)(-0.5 + normalized * (1 << PrecisionBits))
                    : (int)(0.5 + normalized * (1 << PrecisionBits));
            }
            bounds[2 * xx] = xmin;
            bounds[2 * xx + 1] = xmax;
        }
        return (bounds, weights, kernelSize);
    }

    private static double Triangle(double x)
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    private static byte Clip8(int value)
    {
        int shifted = value >> PrecisionBits;
        return shifted < 0 ? (byte)0 : shifted > 255 ? (byte)255 : (byte)shifted;
    }
}
