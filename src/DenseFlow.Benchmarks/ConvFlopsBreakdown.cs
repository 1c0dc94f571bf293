namespace DenseFlow.Benchmarks;

/// <summary>
/// Forward convolution work for one image, in GFLOP (FLOP = 2·MAC; biases, activations, the Nyström
/// attention's matrix products and every element-wise op are not counted), split by part of the model.
/// </summary>
public sealed record ConvFlopsBreakdown(
    double CouplingNets, double Invertible1x1, double NoiseNets,
    double DequantizerContext, double DequantizerCouplings, double DequantizerInvertible1x1)
{
    /// <summary>Everything: the figure ANCHORS.md quotes (df-74-10 32.85, small32x1 6.92 GFLOP).</summary>
    public double Total => CouplingNets + Invertible1x1 + NoiseNets + DequantizerContext + DequantizerCouplings + DequantizerInvertible1x1;

    /// <summary>Without the invertible 1×1 convolutions (of the flow and of the dequantizer).</summary>
    public double WithoutInvertible1x1 => Total - Invertible1x1 - DequantizerInvertible1x1;

    /// <summary>The part that depends on the dequantization draw: all but the dequantizer's context net (IWBO runs the context once per image).</summary>
    public double PerDraw => Total - DequantizerContext;

    /// <summary>What sampling runs: the blocks' coupling nets and 1×1 convs (inverses); no noise nets, no dequantizer nets.</summary>
    public double Sampling => CouplingNets + Invertible1x1;
}
