using DenseFlow.Benchmarks;
using DenseFlow.Model;

namespace DenseFlow.Tests.Benchmarks;

public sealed class ConvFlopsTests
{
    [Theory]
    [InlineData("df-74-10", 32.85)]
    [InlineData("small32x1", 6.92)]
    public void Forward_conv_work_matches_the_reference_figures(string preset, double anchorGflop)
    {
        double ours = ConvFlops.ForwardGflopsPerImage(Presets.Get(preset));
        Assert.InRange(ours, anchorGflop * 0.995, anchorGflop * 1.005);
    }

    [Fact]
    public void Breakdown_adds_up_and_the_invertible_convs_are_counted_by_default()
    {
        var b = ConvFlops.Breakdown(Presets.Get("df-74-10"));
        Assert.Equal(b.Total, ConvFlops.ForwardGflopsPerImage(Presets.Get("df-74-10")), 9);
        Assert.Equal(b.WithoutInvertible1x1, ConvFlops.ForwardGflopsPerImage(Presets.Get("df-74-10"), includeInvertible1x1: false), 9);
        Assert.True(b.Invertible1x1 > 0 && b.NoiseNets > 0 && b.DequantizerContext > 0 && b.DequantizerCouplings > 0);
        Assert.True(b.Sampling < b.Total && b.PerDraw < b.Total);
    }

    [Fact]
    public void Calibration_conv_work_is_counted_as_2_mac()
    {
        // 2 · 48 · 48 · 9 · 32 · 32 · 64
        Assert.Equal(2.717908992, Benchmark.CalibrationGflop, 9);
    }

    [Fact]
    public void Configurations_without_noise_nets_or_dequantizer_count_less()
    {
        var c = Presets.Get("small32x1");
        double full = ConvFlops.ForwardGflopsPerImage(c);
        var white = ConvFlops.Breakdown(c with { Augmentation = DenseFlow.Flows.AugmentationKind.White });
        var uniform = ConvFlops.Breakdown(c with { Dequantization = DequantizationKind.Uniform });
        Assert.Equal(0, white.NoiseNets);
        Assert.Equal(0, uniform.DequantizerContext + uniform.DequantizerCouplings + uniform.DequantizerInvertible1x1);
        Assert.True(white.Total < full && uniform.Total < full);
    }
}
