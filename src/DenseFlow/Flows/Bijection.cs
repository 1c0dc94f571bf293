using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// The single contract of every invertible layer: forward returns the output and the per-image
/// log|det J| (shape (B,)); inverse returns the input.
/// </summary>
public abstract class Bijection : nn.Module<Tensor, (Tensor Output, Tensor LogDet)>
{
    protected Bijection(string name) : base(name) { }

    public abstract Tensor inverse(Tensor y);

    /// <summary>Zero log-det of the right batch size, dtype and device.</summary>
    protected static Tensor ZeroLogDet(Tensor x) => zeros(x.shape[0], dtype: x.dtype, device: x.device);
}
