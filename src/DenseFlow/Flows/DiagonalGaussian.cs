using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Per-channel Gaussian with `loc` and `log_scale` of shape (1,C,1,1), both zero at init (SPEC §1, §6):
/// the final prior (learned in the official code) and the dequantizer's base distribution.
/// </summary>
public sealed class DiagonalGaussian : nn.Module
{
    readonly Tensor loc;
    readonly Tensor log_scale;
    public bool Learned { get; }

    public DiagonalGaussian(int channels, bool learned = true) : base(nameof(DiagonalGaussian))
    {
        Learned = learned;
        if (learned)
        {
            loc = new Parameter(zeros(1, channels, 1, 1));
            log_scale = new Parameter(zeros(1, channels, 1, 1));
        }
        else
        {
            // A fixed N(0, I): not parameters, and not saved.
            loc = zeros(1, channels, 1, 1);
            log_scale = zeros(1, channels, 1, 1);
            register_buffer("loc", loc, persistent: false);
            register_buffer("log_scale", log_scale, persistent: false);
        }
        RegisterComponents();
    }

    public Tensor LogProb(Tensor z) => NormalLogDensity.Diagonal(z, loc, log_scale);

    /// <summary>z = loc + T·exp(log_scale)·ε.</summary>
    public Tensor FromNoise(Tensor eps, double temperature = 1.0)
    {
        var scale = log_scale.exp();
        return temperature == 1.0 ? loc + scale * eps : loc + temperature * scale * eps;
    }

    /// <summary>The inverse of <see cref="FromNoise"/> at T = 1: ε = (z − loc)·exp(−log_scale).</summary>
    public Tensor ToNoise(Tensor z) => (z - loc) * (-log_scale).exp();
}
