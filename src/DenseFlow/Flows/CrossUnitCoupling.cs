using DenseFlow.Nets;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>How the k noise channels appended before a unit are made (SPEC §2, Table 4).</summary>
public enum AugmentationKind
{
    /// <summary>e = μ + σ·ε with (μ, log σ) = g(G): the paper's preconditioned noise.</summary>
    Preconditioned,
    /// <summary>e = ε ~ N(0, I): plain white noise, no g network.</summary>
    White,
    /// <summary>No channels appended.</summary>
    None,
}

/// <summary>
/// Cross-unit coupling (SPEC §5): draws ε ~ N(0,I) of shape (B,k,H,W) and turns it into
/// e = μ(G) + σ(G)·ε conditioned on the block's earlier tensors G. Seen as a bijection on (G, ε) → (G, e)
/// its log-det is Σ log σ; the bound also gains −log N(ε; 0, I).
/// </summary>
public sealed class CrossUnitCoupling : nn.Module<Tensor, Tensor, (Tensor Noise, Tensor LogDet)>
{
    readonly NoiseNet? net;
    public int NoiseChannels { get; }

    public CrossUnitCoupling(int conditionChannels, int noiseChannels, bool preconditioned) : base(nameof(CrossUnitCoupling))
    {
        NoiseChannels = noiseChannels;
        if (preconditioned)
        {
            net = new NoiseNet(conditionChannels, noiseChannels);
        }
        RegisterComponents();
    }

    public bool IsPreconditioned => net is not null;

    /// <summary>The noise e and the bound's term −log N(ε) + Σ log σ, per image.</summary>
    public override (Tensor Noise, Tensor LogDet) forward(Tensor condition, Tensor eps)
    {
        var negLogN = -NormalLogDensity.Standard(eps);
        if (net is null) return (eps, negLogN);
        var (mu, logSigma) = net.forward(condition);
        var e = mu + logSigma.exp() * eps;
        return (e, negLogN + logSigma.flatten(1).sum(1));
    }

    /// <summary>
    /// Draws ε of shape (B, k, H, W) from the context's noise source (SPEC §9: in block and unit order)
    /// and returns e with its bound term, as <see cref="forward"/>; <paramref name="like"/> gives B, H, W.
    /// </summary>
    public (Tensor Noise, Tensor LogDet) Augment(Tensor condition, Tensor like, TransformContext context)
    {
        var eps = context.Noise.StandardNormal(new[] { like.shape[0], NoiseChannels, like.shape[2], like.shape[3] }, like.dtype, like.device);
        return forward(condition, eps);
    }

    /// <summary>Only the bijective part (G, ε) → e and its log-det Σ log σ, for tests.</summary>
    public (Tensor Noise, Tensor LogDet) Transform(Tensor condition, Tensor eps)
    {
        if (net is null) return (eps, zeros(eps.shape[0], dtype: eps.dtype, device: eps.device));
        var (mu, logSigma) = net.forward(condition);
        return (mu + logSigma.exp() * eps, logSigma.flatten(1).sum(1));
    }
}
