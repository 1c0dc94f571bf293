using static TorchSharp.torch;

namespace DenseFlow.Toolbox;

/// <summary>
/// PIL's Image.resize(…, BICUBIC) on float ('F' mode) images, as clean-fid's "clean" preprocessing calls it: a
/// separable filter, horizontal pass first, each output a float64 sum stored as float32. Weights follow PIL's
/// precompute_coeffs (Resample.c): bicubic with a = −0.5, support 2 scaled by max(1, in/out), centre
/// (i + ½)·in/out, taps cut at the border and renormalised. Hand-written because no kept library
/// reproduces PIL's resampler (SkiaSharp's cubic is a different filter); written as matrices so it runs as
/// two matmuls per batch.
/// </summary>
public static class PilBicubicResize
{
    static double Bicubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    /// <summary>The (out, in) float64 matrix of one pass: out = M · in along that axis.</summary>
    public static Tensor Matrix(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 2.0 * filterScale;
        var m = new double[outSize * inSize];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int min = Math.Max((int)(center - support + 0.5), 0);
            int max = Math.Min((int)(center + support + 0.5), inSize);
            double total = 0;
            var w = new double[max - min];
            for (int x = min; x < max; x++) { w[x - min] = Bicubic((x - center + 0.5) / filterScale); total += w[x - min]; }
            for (int x = min; x < max; x++) m[o * inSize + x] = total != 0 ? w[x - min] / total : w[x - min];
        }
        return tensor(m, new long[] { outSize, inSize }, dtype: ScalarType.Float64);
    }

    /// <summary>Resizes (B, C, H, W) images to (B, C, outHeight, outWidth), float32.</summary>
    public static Tensor Resize(Tensor images, int outHeight, int outWidth)
    {
        using var scope = NewDisposeScope();
        var x = images.to(ScalarType.Float32).to(ScalarType.Float64);
        var horizontal = Matrix((int)x.shape[3], outWidth).to(x.device);
        var vertical = Matrix((int)x.shape[2], outHeight).to(x.device);
        // PIL keeps the intermediate image in float32.
        var h = x.matmul(horizontal.t()).to(ScalarType.Float32).to(ScalarType.Float64);
        return vertical.matmul(h).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
