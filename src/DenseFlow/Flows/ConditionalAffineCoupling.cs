using DenseFlow.Nets;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Conditional affine coupling of the dequantizer (SPEC §6): like <see cref="AffineCoupling"/>,
/// but the conditioner sees concat(first half, <see cref="TransformContext.Condition"/>). Deterministic
/// given the condition, so it draws nothing.
/// </summary>
public sealed class ConditionalAffineCoupling : Transform, IRecomputable
{
    readonly nn.Module<Tensor, Tensor> net;

    public ConditionalAffineCoupling(nn.Module<Tensor, Tensor> net) : base(nameof(ConditionalAffineCoupling))
    {
        this.net = net;
        RegisterComponents();
    }

    public bool Recompute { get; set; }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x, TransformContext context)
    {
        var (x1, x2) = AffineCoupling.Split(x);
        var condition = cat(new[] { x1, context.RequireCondition(nameof(ConditionalAffineCoupling)) }, 1);
        var (logSigma, t) = AffineCoupling.ScaleAndShift(Recompute ? Recomputation.Forward(net, condition) : net.forward(condition), x2.shape);
        var y2 = t + logSigma.exp() * x2;
        return (cat(new[] { x1, y2 }, 1), logSigma.flatten(1).sum(1));
    }

    public override Tensor inverse(Tensor y, TransformContext context)
    {
        var (y1, y2) = AffineCoupling.Split(y);
        var (logSigma, t) = AffineCoupling.ScaleAndShift(net.forward(cat(new[] { y1, context.RequireCondition(nameof(ConditionalAffineCoupling)) }, 1)), y2.shape);
        return cat(new[] { y1, (y2 - t) * (-logSigma).exp() }, 1);
    }
}
