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

    /// <summary>
    /// The conditioning tensor of a conditional transform (nflows' <c>context</c>): the earlier tensors G
    /// of a cross-unit coupling, the dequantizer's context features for its couplings.
    /// </summary>
    public Tensor? Condition { get; init; }

    /// <summary>This context with another conditioning tensor; the noise source, dropped halves and options are shared.</summary>
    public TransformContext WithCondition(Tensor condition) => new(Noise, DType)
    {
        Temperature = Temperature, DequantizerContext = DequantizerContext, Dropped = Dropped, ReplayDropped = ReplayDropped,
        Observe = Observe, Condition = condition,
    };

    /// <summary>A context for deterministic conditional transforms: it carries only the condition, and any draw from it throws.</summary>
    public static TransformContext Conditional(Tensor condition) => new(NoDraws.Instance, condition.dtype) { Condition = condition };

    /// <summary>The condition, or an error naming the transform that needs one.</summary>
    public Tensor RequireCondition(string transform) =>
        Condition ?? throw new InvalidOperationException($"{transform} is conditional: its TransformContext needs a Condition");

    sealed class NoDraws : INoiseSource
    {
        public static readonly NoDraws Instance = new();

        public Tensor StandardNormal(long[] shape, ScalarType dtype, Device device) => throw Refuse();

        public Tensor Uniform(long[] shape, ScalarType dtype, Device device) => throw Refuse();

        static InvalidOperationException Refuse() => new("this TransformContext is for deterministic transforms and has no noise source");
    }
}
