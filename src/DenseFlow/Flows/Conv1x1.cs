using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Invertible 1×1 convolution (SPEC §3): a full C×C matrix W, orthogonal init, no bias;
/// log-det = H·W·log|det W|; the inverse applies W⁻¹.
/// </summary>
public sealed class Conv1x1 : Bijection
{
    readonly Parameter weight;
    public int Channels { get; }

    public Conv1x1(int channels) : base(nameof(Conv1x1))
    {
        Channels = channels;
        weight = new Parameter(empty(channels, channels));
        using (no_grad()) nn.init.orthogonal_(weight);
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        var z = nn.functional.conv2d(x, weight.view(Channels, Channels, 1, 1));
        var (_, logAbsDet) = linalg.slogdet(weight);
        long hw = x.shape[2] * x.shape[3];
        return (z, logAbsDet.mul(hw).expand(x.shape[0]));
    }

    public override Tensor inverse(Tensor z)
    {
        var inv = linalg.inv(weight);
        return nn.functional.conv2d(z, inv.view(Channels, Channels, 1, 1));
    }
}
