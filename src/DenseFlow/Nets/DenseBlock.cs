using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

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

    /// <summary>Memory layout of the activations inside the block; the output is always contiguous NCHW.</summary>
    public ActivationLayout Layout { get; set; } = ActivationLayout.Auto;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // In NHWC, oneDNN runs the 1×1 and 3×3 convs without reordering to its blocked layout at every call.
        bool channelsLast = Layout.UseChannelsLast(x, training);
        var h = channelsLast ? ActivationLayouts.ToChannelsLast(x) : x;
        foreach (var layer in layers) h = layer.forward(h);
        var y = gate.forward(h);
        // Callers (attention concat, coupling [s,t] views) get the layout they were written for.
        if (channelsLast) y = y.contiguous();
        return y.MoveToOuterDisposeScope();
    }
}
