using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>Gated 1×1 conv: conv to 3·out channels split (a,b,c) → a + b·sigmoid(c).</summary>
public sealed class GatedConv1x1 : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly int _out;

    public GatedConv1x1(int inChannels, int outChannels) : base(nameof(GatedConv1x1))
    {
        _out = outChannels;
        conv = nn.Conv2d(inChannels, 3 * outChannels, 1);
        RegisterComponents();
    }

    public Conv2d Conv => conv;

    public override Tensor forward(Tensor x)
    {
        using var h = conv.forward(x);
        var parts = h.chunk(3, 1);
        return parts[0] + parts[1] * sigmoid(parts[2]);
    }
}
