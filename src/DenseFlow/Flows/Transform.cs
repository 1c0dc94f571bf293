using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// The single contract of every layer of the model (SPEC §1): forward maps (x, context) to (z, term),
/// the term per image (shape (B,)) being log|det J| for a bijection or the bound contribution of a
/// surjection (squeeze-and-drop, augmentation, dequantization); inverse maps z back, drawing what
/// the forward dropped from the context's noise source.
/// </summary>
public abstract class Transform : nn.Module<Tensor, TransformContext, (Tensor Output, Tensor LogDet)>
{
    protected Transform(string name) : base(name) { }

    public abstract Tensor inverse(Tensor z, TransformContext context);

    /// <summary>Zero term of the right batch size, dtype and device.</summary>
    protected static Tensor ZeroLogDet(Tensor x) => zeros(x.shape[0], dtype: x.dtype, device: x.device);
}
