using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// One dense layer: conv1×1(c→c) → ReLU → conv3×3(c→growth, pad 1) → ReLU, concatenated to its input.
/// </summary>
public sealed class DenseLayer : nn.Module<Tensor, Tensor>
{
    readonly Conv2d bottleneck;
    readonly Conv2d conv;

    public DenseLayer(int inChannels, int growth) : base(nameof(DenseLayer))
    {
        bottleneck = nn.Conv2d(inChannels, inChannels, 1);
        conv = nn.Conv2d(inChannels, growth, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // ReLU in place: a conv saves its input, not its output, so the pre-activation is never needed again;
        // this skips an allocation and a copy per ReLU and frees nothing autograd keeps (same results, bit for bit).
        using var h1 = bottleneck.forward(x).relu_();
        using var h3 = conv.forward(h1).relu_();
        return cat(new[] { x, h3 }, 1);
    }
}
