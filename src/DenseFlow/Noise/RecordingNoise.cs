using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Noise;

/// <summary>Records every draw of an inner source, so a pass can be replayed later.</summary>
public sealed class RecordingNoise : INoiseSource
{
    readonly INoiseSource _inner;
    public List<Tensor> Draws { get; } = new();

    public RecordingNoise(INoiseSource inner) { _inner = inner; }

    public Tensor StandardNormal(long[] shape, ScalarType dtype, Device device) => Keep(_inner.StandardNormal(shape, dtype, device));
    public Tensor Uniform(long[] shape, ScalarType dtype, Device device) => Keep(_inner.Uniform(shape, dtype, device));

    Tensor Keep(Tensor t)
    {
        var copy = t.detach().clone();
        copy.DetachFromDisposeScope();
        Draws.Add(copy);
        return t;
    }
}
