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
/// Cross-unit coupling (SPEC §5), an augmentation surjection: forward draws ε ~ N(0,I) of shape (B,k,H,W)
/// from the context's noise, turns it into e = μ(G) + σ(G)·ε conditioned on the block's earlier tensors
/// G (<see cref="TransformContext.Condition"/>) and appends it: y → concat(y, e). Seen as a bijection on
/// (G, ε) → (G, e) its log-det is Σ log σ; the bound also gains −log N(ε; 0, I). The inverse drops e.
/// </summary>
public sealed class CrossUnitCoupling : Transform
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

    /// <summary>
    /// concat(y, e) and the bound's term −log N(ε) + Σ log σ, per image; ε is drawn here, in block and unit
    /// order (SPEC §9), with y's batch size, height and width.
    /// </summary>
    public override (Tensor Output, Tensor LogDet) forward(Tensor y, TransformContext context)
    {
        var eps = context.Noise.StandardNormal(new[] { y.shape[0], NoiseChannels, y.shape[2], y.shape[3] }, y.dtype, y.device);
        var (e, term) = Augment(IsPreconditioned ? context.RequireCondition(nameof(CrossUnitCoupling)) : null, eps);
        return (cat(new[] { y, e }, 1), term);
    }

    /// <summary>Drops the k appended channels; g is never run and nothing is drawn.</summary>
    public override Tensor inverse(Tensor z, TransformContext context) => Drop(z);

    /// <summary>The inverse, which needs no context.</summary>
    public Tensor Drop(Tensor z) => z.narrow(1, 0, z.shape[1] - NoiseChannels);

    /// <summary>The noise e for given ε and the bound's term −log N(ε) + Σ log σ, per image.</summary>
    public (Tensor Noise, Tensor LogDet) Augment(Tensor? condition, Tensor eps)
    {
        var negLogN = -NormalLogDensity.Standard(eps);
        if (net is null) return (eps, negLogN);
        var (mu, logSigma) = net.forward(condition!);
        var e = mu + logSigma.exp() * eps;
        return (e, negLogN + logSigma.flatten(1).sum(1));
    }

    /// <summary>Only the bijective part (G, ε) → e and its log-det Σ log σ, for tests.</summary>
    public (Tensor Noise, Tensor LogDet) Reparameterize(Tensor condition, Tensor eps)
    {
        if (net is null) return (eps, zeros(eps.shape[0], dtype: eps.dtype, device: eps.device));
        var (mu, logSigma) = net.forward(condition);
        return (mu + logSigma.exp() * eps, logSigma.flatten(1).sum(1));
    }
}
