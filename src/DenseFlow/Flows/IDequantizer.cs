using DenseFlow.Noise;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>A dequantizer (a <see cref="Transform"/> whose forward is <see cref="Dequantize"/>): integer x → continuous v = (x + u)/2^bits with its bound contribution −D·ln2^bits − log q(u|x).</summary>
public interface IDequantizer
{
    /// <summary>Work that does not depend on the draws (the context network), done once per image.</summary>
    Tensor? Context(Tensor x, ScalarType dtype);

    /// <summary>v and the bound contribution; <paramref name="context"/> is <see cref="Context"/> of x (repeated to x's batch).</summary>
    (Tensor V, Tensor LogDet) Dequantize(Tensor x, Tensor? context, INoiseSource noise, ScalarType dtype);

    /// <summary>x = clamp(⌊2^bits·v⌋, 0, 2^bits − 1).</summary>
    Tensor Quantize(Tensor v);
}
