using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// The one place Gaussian log-densities are written (SPEC §1, §5, §6): per image, summed over every
/// dimension but the batch.
/// </summary>
public static class NormalLogDensity
{
    public static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>log N(x; 0, I) per image: the transition's dropped half and the cross-unit noise ε.</summary>
    public static Tensor Standard(Tensor x) => (-HalfLog2Pi - 0.5 * x.square()).flatten(1).sum(1);

    /// <summary>log N(z; loc, exp(log_scale)²) per image, loc and log_scale broadcast over z.</summary>
    public static Tensor Diagonal(Tensor z, Tensor loc, Tensor logScale)
    {
        var inner = -0.5 * (-2 * logScale).exp() * (z - loc).square();
        return (inner - HalfLog2Pi - logScale).flatten(1).sum(1);
    }
}
