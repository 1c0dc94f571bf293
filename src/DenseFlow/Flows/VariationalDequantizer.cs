using DenseFlow.Nets;
using DenseFlow.Noise;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Variational dequantization (SPEC §6): u ~ q(u|x) is a conditional flow on (4C, H/2, W/2) — a learned
/// per-channel Gaussian base, steps of [1×1 conv, conditional affine coupling], a final 1×1 conv,
/// unsqueeze and sigmoid.
/// </summary>
public sealed class VariationalDequantizer : Transform, IDequantizer
{
    readonly DequantizerContextNet context;
    readonly DiagonalGaussian @base;
    readonly ModuleList<Conv1x1> convs;
    readonly ModuleList<ConditionalAffineCoupling> couplings;
    readonly Sigmoid sigmoid;
    readonly int _bins;
    readonly long[] _sampleShape;

    public VariationalDequantizer(int channels, int height, int width, int numBits, int steps, int contextChannels,
        int netWidth, int depth, int growth, int contextDepth, int contextGrowth) : base(nameof(VariationalDequantizer))
    {
        _bins = 1 << numBits;
        int c4 = 4 * channels;
        _sampleShape = new long[] { c4, height / 2, width / 2 };
        context = new DequantizerContextNet(channels, contextChannels, contextDepth, contextGrowth, numBits);
        @base = new DiagonalGaussian(c4);
        convs = new ModuleList<Conv1x1>();
        couplings = new ModuleList<ConditionalAffineCoupling>();
        for (int i = 0; i <= steps; i++) convs.Add(new Conv1x1(c4));
        for (int i = 0; i < steps; i++)
            couplings.Add(new ConditionalAffineCoupling(new ResidualDenseNet(c4 - c4 / 2 + contextChannels, 2 * (c4 / 2), netWidth, depth, growth)));
        sigmoid = new Sigmoid();
        RegisterComponents();
    }

    public int Steps => couplings.Count;

    public Tensor? Context(Tensor x, ScalarType dtype) => context.Forward(x, dtype);

    /// <summary>u ~ q(u|x) and log q(u|x) from base noise ε (SPEC §6).</summary>
    public (Tensor U, Tensor LogQ) SampleWithLogProb(Tensor context, Tensor eps)
    {
        var z = @base.FromNoise(eps);
        return RunFlow(z, @base.LogProb(z), context, subtract: true);
    }

    /// <summary>The flow's transforms in forward order: [1×1 conv, conditional coupling] × steps, then a 1×1 conv.</summary>
    IEnumerable<Transform> FlowSteps()
    {
        for (int i = 0; i < couplings.Count; i++)
        {
            yield return convs[i];
            yield return couplings[i];
        }
        yield return convs[couplings.Count];
    }

    /// <summary>z₀ → u (steps, unsqueeze, sigmoid), adding each log-det to <paramref name="total"/> or subtracting it (log q).</summary>
    (Tensor U, Tensor Total) RunFlow(Tensor z, Tensor total, Tensor condition, bool subtract)
    {
        var conditional = TransformContext.Conditional(condition);
        foreach (var step in FlowSteps())
        {
            var (h, ld) = step.forward(z, conditional);
            total = subtract ? total - ld : total + ld;
            z = h;
        }
        var (u, ldSig) = sigmoid.forward(Squeeze.Unapply(z));
        return (u, subtract ? total - ldSig : total + ldSig);
    }

    public (Tensor V, Tensor LogDet) Dequantize(Tensor x, Tensor? context, INoiseSource noise, ScalarType dtype)
    {
        context ??= Context(x, dtype)!;
        var eps = noise.StandardNormal(new[] { x.shape[0], _sampleShape[0], _sampleShape[1], _sampleShape[2] }, dtype, x.device);
        var (u, logQ) = SampleWithLogProb(context, eps);
        var v = (x.to_type(dtype) + u) / _bins;
        long d = x.shape[1] * x.shape[2] * x.shape[3];
        return (v, -logQ - d * Math.Log(_bins));
    }

    public Tensor Quantize(Tensor v) => (v * _bins).floor().clamp(0, _bins - 1).to_type(ScalarType.Int64);

    /// <summary>The dequantizer as a surjection: integer x → v with its bound term, noise from the context.</summary>
    public override (Tensor Output, Tensor LogDet) forward(Tensor x, TransformContext context) =>
        Dequantize(x, context.DequantizerContext, context.Noise, context.DType);

    /// <summary>Its inverse is quantization.</summary>
    public override Tensor inverse(Tensor v, TransformContext context) => Quantize(v);

    /// <summary>The dequantizer's steps, for tests: z₀ → u with the forward log-dets, given a context.</summary>
    public (Tensor U, Tensor LogDet) FlowForward(Tensor z, Tensor context) =>
        RunFlow(z, zeros(z.shape[0], dtype: z.dtype, device: z.device), context, subtract: false);

    /// <summary>Inverse of <see cref="FlowForward"/>.</summary>
    public Tensor FlowInverse(Tensor u, Tensor context)
    {
        var conditional = TransformContext.Conditional(context);
        var z = Squeeze.Apply(sigmoid.inverse(u));
        foreach (var step in FlowSteps().Reverse()) z = step.inverse(z, conditional);
        return z;
    }
}
