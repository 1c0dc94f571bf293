using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// A DenseFlow block (SPEC §2, §5): units U₀…U_{S−1}; before every unit but the first, the cross-unit
/// coupling appends k noise channels conditioned on concat(x⁽⁰⁾, y₀, …, y_{k−2}).
/// </summary>
public sealed class DenseFlowBlock : Transform
{
    readonly ModuleList<FlowUnit> units;
    readonly ModuleList<CrossUnitCoupling> noise;
    public int NoiseChannels { get; }

    public DenseFlowBlock(IReadOnlyList<FlowUnit> unitList, IReadOnlyList<CrossUnitCoupling> couplings, int noiseChannels)
        : base(nameof(DenseFlowBlock))
    {
        if (noiseChannels > 0 && couplings.Count != unitList.Count - 1)
            throw new ArgumentException("a block needs one cross-unit coupling per unit after the first");
        units = new ModuleList<FlowUnit>(unitList.ToArray());
        noise = new ModuleList<CrossUnitCoupling>(couplings.ToArray());
        NoiseChannels = noiseChannels;
        RegisterComponents();
    }

    public IReadOnlyList<FlowUnit> Units => units.ToList();
    public IReadOnlyList<CrossUnitCoupling> Couplings => noise.ToList();

    public override (Tensor Output, Tensor LogDet) forward(Tensor x, TransformContext context)
    {
        var earlier = new List<Tensor> { x };
        var (y, logDet) = units[0].forward(x);
        for (int k = 1; k < units.Count; k++)
        {
            if (NoiseChannels > 0)
            {
                // G_k = concat(x⁽⁰⁾, y₀, …, y_{k−2}); the draw happens here, in block and unit order (SPEC §9).
                var condition = earlier.Count == 1 ? earlier[0] : cat(earlier.ToArray(), 1);
                earlier.Add(y);
                var (augmented, noiseTerm) = noise[k - 1].forward(y, context.WithCondition(condition));
                y = augmented;
                logDet = logDet + noiseTerm;
            }
            var (next, ld) = units[k].forward(y);
            // concat(y, e) is consumed by the unit (whose first ActNorm does not save it): release it now, not at the end of the forward.
            if (NoiseChannels > 0) y.Dispose();
            y = next;
            logDet = logDet + ld;
        }
        return (y, logDet);
    }

    /// <summary>Runs U_k⁻¹ and the couplings' inverses (dropping the appended noise); g is never run and nothing is drawn.</summary>
    public override Tensor inverse(Tensor z, TransformContext context) => inverse(z);

    /// <summary>The inverse, which needs no context.</summary>
    public Tensor inverse(Tensor z)
    {
        for (int k = units.Count - 1; k >= 0; k--)
        {
            z = units[k].inverse(z);
            if (k > 0 && NoiseChannels > 0) z = noise[k - 1].Drop(z);
        }
        return z;
    }
}
