using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>x ↦ x + offset (SPEC §1: the dequantized image is shifted by −½). Volume preserving.</summary>
public sealed class Shift : Bijection
{
    readonly double _offset;

    public Shift(double offset) : base(nameof(Shift)) { _offset = offset; }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x) => (x + _offset, ZeroLogDet(x));

    public override Tensor inverse(Tensor y) => y - _offset;
}
