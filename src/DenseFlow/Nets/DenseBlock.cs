using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// One dense layer: conv1×1(c→c) → ReLU → conv3×3(c→growth, pad 1) → ReLU, concatenated to its input.
/// The input is passed as the list of earlier outputs (<see cref="Grow"/>), so autograd need not keep
/// the concatenation (<see cref="ConcatConv1x1"/>).
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

    /// <summary>The layer's new channels, from the concatenation of <paramref name="pieces"/>.</summary>
    public Tensor Grow(IReadOnlyList<Tensor> pieces)
    {
        using var h1 = nn.functional.relu(ConcatConv1x1.Forward(bottleneck, pieces));
        using var h2 = conv.forward(h1);
        return nn.functional.relu(h2);
    }

    public override Tensor forward(Tensor x)
    {
        using var grown = Grow([x]);
        return cat(new[] { x, grown }, 1);
    }
}

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

    /// <summary>The gated conv of the concatenation of <paramref name="pieces"/> (<see cref="ConcatConv1x1"/>).</summary>
    public Tensor Forward(IReadOnlyList<Tensor> pieces)
    {
        using var h = ConcatConv1x1.Forward(conv, pieces);
        var parts = h.chunk(3, 1);
        return parts[0] + parts[1] * sigmoid(parts[2]);
    }

    public override Tensor forward(Tensor x) => Forward([x]);
}

/// <summary>
/// Dense block (SPEC §4, §6): `depth` dense layers growing the width by `growth` each, then a gated
/// (or plain) 1×1 conv to `outChannels`. No normalisation, no dropout.
/// </summary>
public sealed class DenseBlock : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<DenseLayer> layers;
    readonly nn.Module<Tensor, Tensor> gate;

    public DenseBlock(int inChannels, int outChannels, int depth, int growth, bool gated = true) : base(nameof(DenseBlock))
    {
        layers = new ModuleList<DenseLayer>();
        for (int i = 0; i < depth; i++) layers.Add(new DenseLayer(inChannels + i * growth, growth));
        int width = inChannels + depth * growth;
        gate = gated ? new GatedConv1x1(width, outChannels) : nn.Conv2d(width, outChannels, 1);
        RegisterComponents();
    }

    public int Depth => layers.Count;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // The growing concatenation, kept as its pieces: x, then each layer's new channels.
        var pieces = new List<Tensor> { x };
        foreach (var layer in layers) pieces.Add(layer.Grow(pieces));
        var output = gate switch
        {
            GatedConv1x1 gated => gated.Forward(pieces),
            Conv2d plain => ConcatConv1x1.Forward(plain, pieces),
            _ => throw new InvalidOperationException("unexpected dense block output layer"),
        };
        return output.MoveToOuterDisposeScope();
    }
}
