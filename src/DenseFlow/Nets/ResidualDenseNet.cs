using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// Conditioner of a dequantizer coupling (SPEC §6): conv1×1 → 64, residual DenseBlock(64; depth 4,
/// growth 64, gated), zero-init conv1×1 → out.
/// </summary>
public sealed class ResidualDenseNet : nn.Module<Tensor, Tensor>
{
    readonly Conv2d input;
    readonly DenseBlock dense;
    readonly Conv2d output;

    public ResidualDenseNet(int inChannels, int outChannels, int width, int depth, int growth) : base(nameof(ResidualDenseNet))
    {
        input = nn.Conv2d(inChannels, width, 1);
        dense = new DenseBlock(width, width, depth, growth, gated: true);
        output = nn.Conv2d(width, outChannels, 1);
        using (no_grad()) { output.weight!.zero_(); output.bias!.zero_(); }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = input.forward(x);
        h = h + dense.forward(h);
        return output.forward(h).MoveToOuterDisposeScope();
    }
}
