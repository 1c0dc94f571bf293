using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// Glow's coupling network, for the Table 4 ablations (SPEC §4): conv3×3 → ReLU → conv1×1 → ReLU →
/// zero-initialised conv3×3.
/// </summary>
public sealed class GlowCouplingNet : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv1;
    readonly Conv2d conv2;
    readonly Conv2d output;

    public GlowCouplingNet(int inChannels, int outChannels, int width) : base(nameof(GlowCouplingNet))
    {
        conv1 = nn.Conv2d(inChannels, width, 3, padding: 1);
        conv2 = nn.Conv2d(width, width, 1);
        output = nn.Conv2d(width, outChannels, 3, padding: 1);
        using (no_grad()) { output.weight!.zero_(); output.bias!.zero_(); }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // ReLU in place: each conv saves its input, not its output.
        var h = conv1.forward(x).relu_();
        h = conv2.forward(h).relu_();
        return output.forward(h).MoveToOuterDisposeScope();
    }
}
