using DenseFlow.Distributed;
using DenseFlow.Flows;
using DenseFlow.Nets;
using DenseFlow.Noise;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Model;

/// <summary>
/// DenseFlow (SPEC §1): a prior and a sequence of transforms — dequantize (a surjection) → shift by −½ →
/// squeeze → block₀ → transition (squeeze-and-drop) → block₁ → … → last block — then the per-channel
/// Gaussian prior. Every random draw comes from <see cref="Noise"/> through the pass's
/// <see cref="TransformContext"/>, in SPEC §9 order.
/// </summary>
public sealed class DenseFlowModel : nn.Module
{
    public DenseFlowConfig Config { get; }
    public ArchitecturePlan Plan { get; }

    /// <summary>The source of every random draw (SPEC §9). Replace it to replay recorded draws.</summary>
    public INoiseSource Noise { get; set; }

    /// <summary>
    /// Share of the coupling networks recomputed in the backward pass instead of keeping their
    /// activations (<see cref="Nets.Recomputation"/>): 0 = none (the default), 1 = all. They are taken in
    /// forward order — dequantizer, block 0, block 1, … — so a fraction covers the highest resolutions
    /// first. Each saves that network's activations for one more forward of it; losses, gradients and
    /// results are the same at any fraction.
    /// </summary>
    public double RecomputeFraction
    {
        get => _recomputeFraction;
        set
        {
            if (!(value >= 0 && value <= 1))
                throw new ArgumentOutOfRangeException(nameof(value), value, "the recomputed fraction of coupling networks must be in [0, 1]");
            _recomputeFraction = value;
            var couplings = modules().OfType<IRecomputable>().ToList();
            int recomputed = (int)Math.Ceiling(value * couplings.Count - 1e-9);
            for (int i = 0; i < couplings.Count; i++) couplings[i].Recompute = i < recomputed;
        }
    }

    double _recomputeFraction;

    /// <summary>
    /// Memory layout of every dense block's activations (<see cref="Nets.ActivationLayout"/>); Auto by
    /// default. Results are the same in each, to float rounding.
    /// </summary>
    public ActivationLayout ActivationLayout
    {
        get => _activationLayout;
        set
        {
            _activationLayout = value;
            foreach (var block in modules().OfType<DenseBlock>()) block.Layout = value;
        }
    }

    ActivationLayout _activationLayout = ActivationLayout.Auto;

    /// <summary>The ranks whose statistics ActNorm and BatchNorm use, as <see cref="UseStatisticsOf"/> last set them.</summary>
    public (ICommunicator? Group, bool SynchronizeBatchNorm) StatisticsGroup { get; private set; } = (null, true);

    /// <summary>
    /// Data-parallel training: ActNorm's data-dependent initialisation, and BatchNorm when
    /// <paramref name="synchronizeBatchNorm"/>, use the statistics of the global batch of <paramref name="group"/>'s
    /// ranks. Null (the default) uses this process's batch.
    /// </summary>
    public void UseStatisticsOf(ICommunicator? group, bool synchronizeBatchNorm = true)
    {
        StatisticsGroup = (group, synchronizeBatchNorm);
        foreach (var norm in modules().OfType<ActNorm>()) norm.StatisticsGroup = group;
        foreach (var net in modules().OfType<DenseNystromCouplingNet>()) net.StatisticsGroup = synchronizeBatchNorm ? group : null;
    }

    // Field names are the state_dict names (TorchSharp registers fields by name).
    readonly Transform dequantizer;
    readonly ModuleList<DenseFlowBlock> blocks;
    readonly ModuleList<Transition> transitions;
    readonly DiagonalGaussian prior;

    // The flow after dequantization, cascaded in one loop: shift, squeeze, block₀, transition₀, block₁, ….
    // Assigned after RegisterComponents, so its layers keep their state names under blocks.* and transitions.*.
    readonly CompositeTransform flow;

    /// <param name="initSeed">Seeds torch's global generator before the weights are initialised, so a seed gives the same initial model.</param>
    public DenseFlowModel(DenseFlowConfig config, INoiseSource? noise = null, long? initSeed = null) : base(nameof(DenseFlowModel))
    {
        Config = config;
        Plan = config.Plan(); // validates: a bad configuration is refused before any weight exists
        Host.OneDnnCheck.Ensure(Console.Error);   // once per process: oneDNN off where its convolutions are wrong
        if (initSeed is { } seed) torch.random.manual_seed(seed);
        Noise = noise ?? new SeededNoise(0);

        // 1. Dequantization (SPEC §6).
        if (config.Dequantization == DequantizationKind.Variational)
        {
            var vd = new VariationalDequantizer(config.Channels, config.Height, config.Width, config.NumBits, config.DequantSteps,
                config.DequantContextChannels, config.DequantWidth, config.DequantDepth, config.DequantGrowth,
                config.DequantContextDepth, config.DequantContextGrowth);
            dequantizer = vd;
        }
        else
        {
            var ud = new UniformDequantizer(config.NumBits);
            dequantizer = ud;
        }

        // 2–4. Blocks of units of Glow-like modules, with transitions between blocks (SPEC §2–§5).
        blocks = new ModuleList<DenseFlowBlock>();
        transitions = new ModuleList<Transition>();
        foreach (var bp in Plan.Blocks)
        {
            blocks.Add(BuildBlock(config, bp));
            if (bp.Index != Plan.Blocks.Count - 1) transitions.Add(new Transition());
        }

        // 5. Final prior: learned per-channel Gaussian (official) or fixed N(0, I) (paper).
        prior = new DiagonalGaussian(Plan.LatentShape[0], learned: config.Prior == PriorKind.Learned);

        RegisterComponents();

        var sequence = new List<Transform> { new Shift(-0.5), new Squeeze() };
        for (int b = 0; b < blocks.Count; b++)
        {
            sequence.Add(blocks[b]);
            if (b < transitions.Count) sequence.Add(transitions[b]);
        }
        flow = new CompositeTransform(sequence);
    }

    DenseFlowBlock BuildBlock(DenseFlowConfig c, BlockPlan bp)
    {
        var units = new List<FlowUnit>();
        foreach (int width in bp.UnitWidths)
        {
            var modules = Enumerable.Range(0, bp.ModulesPerUnit).Select(_ => new GlowModule(width, CouplingNet(c, bp, width)));
            units.Add(new FlowUnit(modules));
        }
        int k = c.EffectiveGrowth;
        var couplings = k == 0 ? new List<CrossUnitCoupling>()
            : bp.NoiseNetInputs.Select(n => new CrossUnitCoupling(n, k, c.Augmentation == AugmentationKind.Preconditioned)).ToList();
        return new DenseFlowBlock(units, couplings, k);
    }

    static nn.Module<Tensor, Tensor> CouplingNet(DenseFlowConfig c, BlockPlan bp, int width)
    {
        int condition = width - width / 2, transformed = width / 2;
        return c.Coupling == CouplingKind.Dense
            ? new DenseNystromCouplingNet(condition, 2 * transformed, bp.CouplingWidth, c.DenseDepth, c.DenseGrowth, bp.Landmarks)
            : new GlowCouplingNet(condition, 2 * transformed, bp.CouplingWidth);
    }

    public IReadOnlyList<DenseFlowBlock> Blocks => blocks.ToList();
    public IReadOnlyList<Transition> Transitions => transitions.ToList();
    public IDequantizer Dequantizer => (IDequantizer)dequantizer;
    /// <summary>The transforms after dequantization (shift, squeeze, blocks and transitions), in forward order.</summary>
    public CompositeTransform Flow => flow;

    /// <summary>A pass's context: this model's noise source and dtype.</summary>
    TransformContext Pass(Tensor? dequantizerContext = null, double temperature = 1.0, List<Tensor>? dropped = null,
        bool replayDropped = false, Action<int, Tensor, Tensor>? observe = null) =>
        new(Noise, DType)
        {
            DequantizerContext = dequantizerContext, Temperature = temperature, Dropped = dropped,
            ReplayDropped = replayDropped, Observe = observe,
        };
    public DiagonalGaussian Prior => prior;

    /// <summary>The model's floating dtype (of its prior or first parameter).</summary>
    public ScalarType DType => parameters().FirstOrDefault()?.dtype ?? ScalarType.Float32;
    public Device Device => parameters().FirstOrDefault()?.device ?? CPU;

    /// <summary>Trainable parameter count.</summary>
    public long ParameterCount => parameters().Where(p => p.requires_grad).Sum(p => p.numel());
    public long DequantizerParameterCount => dequantizer.parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    /// <summary>
    /// Flow part from the dequantized v: shift, squeeze, blocks and transitions. Returns z and Σ terms.
    /// <paramref name="observe"/> sees each transform's output as (1 + its index, output, term);
    /// <paramref name="dropped"/> collects the transitions' dropped halves.
    /// </summary>
    public (Tensor Z, Tensor LogDet) FlowForward(Tensor v, Action<int, Tensor, Tensor>? observe = null, List<Tensor>? dropped = null) =>
        flow.forward(v, Pass(dropped: dropped, observe: observe is null ? null : (i, y, term) => observe(i + 1, y, term)));

    /// <summary>
    /// The single-sample lower bound L(x) per image in nats (SPEC §1), with its terms.
    /// <paramref name="context"/> may carry the dequantizer's context for x, computed once for many draws.
    /// </summary>
    public BoundTerms Bound(Tensor x, Tensor? context = null, Action<int, Tensor, Tensor>? observe = null)
    {
        CheckImages(x);
        var (v, dequantTerm) = dequantizer.forward(x, Pass(dequantizerContext: context));
        observe?.Invoke(0, v, dequantTerm);
        var (z, flowLogDet) = FlowForward(v, observe);
        var logPrior = prior.LogProb(z);
        var logLik = dequantTerm + flowLogDet + logPrior;
        return new BoundTerms(logLik, z, dequantTerm, flowLogDet, logPrior);
    }

    /// <summary>log-likelihood bound per image (nats).</summary>
    public Tensor LogLikelihood(Tensor x, Tensor? context = null)
    {
        using var scope = NewDisposeScope();
        return Bound(x, context).LogLikelihood.MoveToOuterDisposeScope();
    }

    /// <summary>bits/dim = −L(x)/(D·ln 2), per image.</summary>
    public Tensor BitsPerDim(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (-LogLikelihood(x) / (Config.Dimensions * Math.Log(2))).MoveToOuterDisposeScope();
    }

    /// <summary>Dequantizer context for x (null for uniform dequantization).</summary>
    public Tensor? DequantizerContext(Tensor x) => Dequantizer.Context(x, DType);

    /// <summary>Encodes integer images to the final latent z (one dequantization draw).</summary>
    public Tensor Encode(Tensor x)
    {
        using var scope = NewDisposeScope();
        CheckImages(x);
        var (v, _) = dequantizer.forward(x, Pass());
        return FlowForward(v).Z.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Encodes integer images to all their latents: one dequantization draw and one draw per cross-unit
    /// coupling from <see cref="Noise"/> (SPEC §9 order), the final z and every dropped half. With the
    /// same draws, <see cref="DecodeLatents"/> gives the images back.
    /// </summary>
    public FlowLatents EncodeLatents(Tensor x)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        CheckImages(x);
        var (v, _) = dequantizer.forward(x, Pass());
        var dropped = new List<Tensor>();
        var (z, _) = FlowForward(v, observe: null, dropped: dropped);
        return new FlowLatents(z, dropped).MoveToOuterDisposeScope();
    }

    /// <summary>Continuous v from all latents: the inverse of the flow with the dropped halves given (no draws).</summary>
    public Tensor DecodeLatentsToContinuous(FlowLatents latents)
    {
        if (latents.Dropped.Count != transitions.Count)
            throw new ArgumentException($"latents: {latents.Dropped.Count} dropped halves given, the model has {transitions.Count} transitions");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return flow.inverse(latents.Final, Pass(dropped: latents.Dropped.ToList(), replayDropped: true)).MoveToOuterDisposeScope();
    }

    /// <summary>Integer images from all latents (<see cref="DecodeLatentsToContinuous"/>, then quantization).</summary>
    public Tensor DecodeLatents(FlowLatents latents)
    {
        using var scope = NewDisposeScope();
        return Dequantizer.Quantize(DecodeLatentsToContinuous(latents)).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes a latent z to continuous v ∈ data space (before quantization), drawing the dropped halves at temperature T.</summary>
    public Tensor DecodeToContinuous(Tensor z, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        return flow.inverse(z, Pass(temperature: temperature)).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes a latent z to integer images.</summary>
    public Tensor Decode(Tensor z, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        return Dequantizer.Quantize(DecodeToContinuous(z, temperature)).MoveToOuterDisposeScope();
    }

    /// <summary>Latent noise → z at temperature T: the prior's standard deviation is scaled by T.</summary>
    public Tensor SampleLatent(long n, double temperature = 1.0)
    {
        var shape = new long[] { n, Plan.LatentShape[0], Plan.LatentShape[1], Plan.LatentShape[2] };
        using var eps = Noise.StandardNormal(shape, DType, Device);
        return prior.FromNoise(eps, temperature);
    }

    /// <summary>n integer images in 0..255 at temperature T (SPEC §8). Draws: prior first, then dropped halves from the last transition to the first.</summary>
    public Tensor Sample(long n, double temperature = 1.0)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return Decode(SampleLatent(n, temperature), temperature).MoveToOuterDisposeScope();
    }

    /// <summary>Continuous v of n samples (before quantization), for checks on rounding boundaries.</summary>
    public Tensor SampleContinuous(long n, double temperature = 1.0)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return DecodeToContinuous(SampleLatent(n, temperature), temperature).MoveToOuterDisposeScope();
    }

    void CheckImages(Tensor x)
    {
        var s = Config.InputShape;
        if (x.dim() != 4 || x.shape[1] != s[0] || x.shape[2] != s[1] || x.shape[3] != s[2])
            throw new ArgumentException($"images: expected shape (B,{s[0]},{s[1]},{s[2]}), got ({string.Join(",", x.shape)})");
        // Only a model of fewer than 8 bits can be given values past its bins (8-bit data); the default pays no check.
        if (Config.NumBits < 8 && x.numel() > 0)
        {
            using var max = x.max().to(ScalarType.Int64);
            long top = max.item<long>();
            if (top >= 1L << Config.NumBits)
                throw new ArgumentException($"images: values must be in 0..{(1 << Config.NumBits) - 1} for a model of num_bits {Config.NumBits}, got {top}");
        }
    }
}
