using DenseFlow.Nets;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Affine coupling (SPEC §3): x₁ = first ceil(C/2) channels condition, x₂ = the rest is transformed.
/// The network's 2·floor(C/2) outputs are laid out per channel as [s₀,t₀,s₁,t₁,…];
/// log σ = 2·tanh(s/2), y₂ = t + exp(log σ)·x₂, log-det = Σ log σ.
/// </summary>
public sealed class AffineCoupling : Bijection, IRecomputable
{
    readonly nn.Module<Tensor, Tensor> net;

    public AffineCoupling(nn.Module<Tensor, Tensor> net) : base(nameof(AffineCoupling))
    {
        this.net = net;
        RegisterComponents();
    }

    public bool Recompute { get; set; }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        var (x1, x2) = Split(x);
        var (logSigma, t) = ScaleAndShift(Recompute ? Recomputation.Forward(net, x1) : net.forward(x1), x2.shape);
        var y2 = t + logSigma.exp() * x2;
        return (cat(new[] { x1, y2 }, 1), logSigma.flatten(1).sum(1));
    }

    public override Tensor inverse(Tensor y)
    {
        var (y1, y2) = Split(y);
        var (logSigma, t) = ScaleAndShift(net.forward(y1), y2.shape);
        return cat(new[] { y1, (y2 - t) * (-logSigma).exp() }, 1);
    }

    internal static (Tensor, Tensor) Split(Tensor x)
    {
        long c = x.shape[1], first = (c + 1) / 2;
        var parts = x.split(new[] { first, c - first }, 1);
        return (parts[0], parts[1]);
    }

    /// <summary>(B,2K,H,W) interleaved [s,t] → log σ and t, each (B,K,H,W).</summary>
    internal static (Tensor LogSigma, Tensor Shift) ScaleAndShift(Tensor parameters, long[] targetShape)
    {
        var p = parameters.view(targetShape[0], targetShape[1], 2, targetShape[2], targetShape[3]);
        var s = p.select(2, 0);
        var t = p.select(2, 1);
        return (2 * tanh(s / 2), t);
    }
}
