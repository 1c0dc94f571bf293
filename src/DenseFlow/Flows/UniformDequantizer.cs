using DenseFlow.Noise;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>Uniform dequantization: u ~ U(0,1)^D, contribution −D·ln 2^bits.</summary>
public sealed class UniformDequantizer : Transform, IDequantizer
{
    readonly int _bins;

    public UniformDequantizer(int numBits) : base(nameof(UniformDequantizer)) { _bins = 1 << numBits; }

    public Tensor? Context(Tensor x, ScalarType dtype) => null;

    public (Tensor V, Tensor LogDet) Dequantize(Tensor x, Tensor? context, INoiseSource noise, ScalarType dtype)
    {
        var u = noise.Uniform(x.shape, dtype, x.device);
        long d = x.shape[1] * x.shape[2] * x.shape[3];
        var ld = full(x.shape[0], -d * Math.Log(_bins), dtype: dtype, device: x.device);
        return ((x.to_type(dtype) + u) / _bins, ld);
    }

    public Tensor Quantize(Tensor v) => (v * _bins).floor().clamp(0, _bins - 1).to_type(ScalarType.Int64);

    /// <summary>The dequantizer as a surjection: integer x → v with its bound term, noise from the context.</summary>
    public override (Tensor Output, Tensor LogDet) forward(Tensor x, TransformContext context) =>
        Dequantize(x, context.DequantizerContext, context.Noise, context.DType);

    /// <summary>Its inverse is quantization.</summary>
    public override Tensor inverse(Tensor v, TransformContext context) => Quantize(v);
}
