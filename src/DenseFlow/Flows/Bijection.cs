using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// A deterministic invertible transform: forward returns the output and the per-image log|det J|
/// (shape (B,)); inverse returns the input. Neither needs the context.
/// </summary>
public abstract class Bijection : Transform
{
    protected Bijection(string name) : base(name) { }

    public abstract (Tensor Output, Tensor LogDet) forward(Tensor x);

    public abstract Tensor inverse(Tensor y);

    public sealed override (Tensor Output, Tensor LogDet) forward(Tensor x, TransformContext context) => forward(x);

    public sealed override Tensor inverse(Tensor z, TransformContext context) => inverse(z);
}
