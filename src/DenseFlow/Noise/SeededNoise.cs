using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Noise;

/// <summary>Draws from a seeded torch generator: the same seed gives the same numbers run after run.</summary>
public sealed class SeededNoise : INoiseSource, IDisposable
{
    readonly Generator _generator;

    public SeededNoise(long seed) { _generator = new Generator((ulong)seed, CPU); }

    /// <summary>The generator state, for exact resume of a training run.</summary>
    public byte[] GetState()
    {
        using var s = _generator.get_state();
        return s.bytes.ToArray();
    }

    public void SetState(byte[] state)
    {
        using var t = tensor(state, dtype: ScalarType.Byte);
        _generator.set_state(t);
    }

    // Drawn on the CPU in float32 (as the reference does for the cross-unit noise), then moved:
    // results do not depend on the device or dtype of the model.
    public Tensor StandardNormal(long[] shape, ScalarType dtype, Device device)
    {
        using var cpu = randn(shape, dtype: ScalarType.Float32, generator: _generator);
        return cpu.to(dtype, device);
    }

    public Tensor Uniform(long[] shape, ScalarType dtype, Device device)
    {
        using var cpu = rand(shape, dtype: ScalarType.Float32, generator: _generator);
        return cpu.to(dtype, device);
    }

    public void Dispose() => _generator.Dispose();
}
