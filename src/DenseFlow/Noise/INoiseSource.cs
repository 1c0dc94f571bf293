using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Noise;

/// <summary>
/// The one place every random draw of the model comes from (SPEC §9). Draws happen in a fixed
/// order, so replaying a recorded list reproduces the reference implementation exactly.
/// </summary>
public interface INoiseSource
{
    /// <summary>A standard-normal tensor of the given shape.</summary>
    Tensor StandardNormal(long[] shape, ScalarType dtype, Device device);

    /// <summary>A U(0,1) tensor of the given shape (uniform dequantization only).</summary>
    Tensor Uniform(long[] shape, ScalarType dtype, Device device);
}

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
