using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// Context network of the variational dequantizer (SPEC §6): from x_c = 2x/255 − 1,
/// DenseBlock(C→64; depth 4, growth 16, gated) → conv2×2 stride 2 → DenseBlock(64→64; depth 4, growth 16, gated).
/// </summary>
public sealed class DequantizerContextNet : nn.Module<Tensor, Tensor>
{
    readonly DenseBlock dense_in;
    readonly Conv2d down;
    readonly DenseBlock dense_out;
    readonly int _maxValue;

    public DequantizerContextNet(int channels, int contextChannels, int depth, int growth, int numBits) : base(nameof(DequantizerContextNet))
    {
        _maxValue = (1 << numBits) - 1;
        dense_in = new DenseBlock(channels, contextChannels, depth, growth, gated: true);
        down = nn.Conv2d(contextChannels, contextChannels, 2, stride: 2);
        dense_out = new DenseBlock(contextChannels, contextChannels, depth, growth, gated: true);
        RegisterComponents();
    }

    /// <summary>x: integer images (any integer or float dtype) in 0..255; returns (B,64,H/2,W/2).</summary>
    public Tensor Forward(Tensor x, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var xc = x.to_type(dtype) * (2.0 / _maxValue) - 1;
        return dense_out.forward(down.forward(dense_in.forward(xc))).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x) => Forward(x, ScalarType.Float32);
}
