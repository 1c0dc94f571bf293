using DenseFlow.Flows;
using DenseFlow.Noise;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Flows;

/// <summary>Uniform dequantization (SPEC §6's ablation baseline): v = (x + u)/2^bits, bound term −D·ln 2^bits per image.</summary>
public class UniformDequantizerTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(5)]
    public void ReplayedDrawsGiveTheFormula_AndQuantizationInvertsIt(int bits)
    {
        using var scope = NewDisposeScope();
        int bins = 1 << bits;
        using var g = new Generator(7, CPU);
        var x = randint(0, bins, new long[] { 2, 3, 4, 5 }, dtype: ScalarType.Int64, generator: g);
        var u = rand(new long[] { 2, 3, 4, 5 }, dtype: ScalarType.Float64, generator: g);
        var dq = new UniformDequantizer(bits);

        var (v, term) = dq.Dequantize(x, null, new ReplayNoise([u]), ScalarType.Float64);

        Assert.True(v.allclose((x.to_type(ScalarType.Float64) + u) / bins, rtol: 0, atol: 1e-15));
        // D = 3·4·5 = 60 dimensions, each a bin of width 1/2^bits: −60·bits·ln 2 per image, whatever the draw.
        double expected = -60 * bits * Math.Log(2);
        Assert.Equal(new long[] { 2 }, term.shape);
        foreach (var t in term.data<double>()) Assert.Equal(expected, t, 10);
        Assert.True(dq.Quantize(v).eq(x).all().item<bool>());
    }
}
