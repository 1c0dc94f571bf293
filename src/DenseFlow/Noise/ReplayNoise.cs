using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Noise;

/// <summary>Replays recorded draws in order; a shape mismatch or running out is an error.</summary>
public sealed class ReplayNoise : INoiseSource
{
    readonly IReadOnlyList<Tensor> _draws;
    int _next;

    public ReplayNoise(IReadOnlyList<Tensor> draws) { _draws = draws; }

    public int Used => _next;
    public int Remaining => _draws.Count - _next;

    public Tensor StandardNormal(long[] shape, ScalarType dtype, Device device) => Next(shape, dtype, device);
    public Tensor Uniform(long[] shape, ScalarType dtype, Device device) => Next(shape, dtype, device);

    Tensor Next(long[] shape, ScalarType dtype, Device device)
    {
        if (_next >= _draws.Count)
            throw new InvalidOperationException($"replay noise: draw {_next} requested (shape [{string.Join(",", shape)}]) but only {_draws.Count} were recorded");
        var t = _draws[_next];
        if (!t.shape.SequenceEqual(shape))
            throw new InvalidOperationException($"replay noise: draw {_next} has shape [{string.Join(",", t.shape)}], the model asked for [{string.Join(",", shape)}]");
        _next++;
        return t.to(dtype, device).clone();
    }
}
