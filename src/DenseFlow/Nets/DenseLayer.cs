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
        using var h1 = nn.functional.relu(bottleneck.forward(x));
        using var h2 = conv.forward(h1);
        using var h3 = nn.functional.relu(h2);
        return cat(new[] { x, h3 }, 1);
    }
}
