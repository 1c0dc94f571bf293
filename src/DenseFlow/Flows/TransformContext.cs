using DenseFlow.Noise;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// What one pass through the transforms carries besides the tensor: the noise source every stochastic
/// transform draws from (the only way noise reaches a layer, SPEC §9) and the per-pass options.
/// </summary>
public sealed class TransformContext
{
    public TransformContext(INoiseSource noise, ScalarType dtype = ScalarType.Float32)
    {
        Noise = noise;
        DType = dtype;
    }

    /// <summary>The source of every random draw of this pass.</summary>
    public INoiseSource Noise { get; }

    /// <summary>The model's floating dtype (the dequantizer turns integer images into it).</summary>
    public ScalarType DType { get; }

    /// <summary>Sampling temperature T: dropped halves are drawn from N(0, T²I) in the inverse.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>The dequantizer's context network output for x, computed once for many draws (null: compute it).</summary>
    public Tensor? DequantizerContext { get; init; }

    /// <summary>
    /// Dropped halves of the squeeze-and-drop transitions: forward appends each one (first transition
    /// first); with <see cref="ReplayDropped"/> the inverse takes them from here instead of drawing them.
    /// </summary>
    public List<Tensor>? Dropped { get; init; }

    /// <summary>The inverse uses <see cref="Dropped"/> (last transition first) rather than drawing.</summary>
    public bool ReplayDropped { get; init; }

    /// <summary>Called after each transform of a composite's forward with (index, output, term), for tests and checks.</summary>
    public Action<int, Tensor, Tensor>? Observe { get; init; }
}
