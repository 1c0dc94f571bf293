using DenseFlow.Noise;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// A DenseFlow block (SPEC §2, §5): units U₀…U_{S−1}; before every unit but the first, the cross-unit
/// coupling appends k noise channels conditioned on concat(x⁽⁰⁾, y₀, …, y_{k−2}).
/// </summary>
public sealed class DenseFlowBlock : nn.Module<Tensor, (Tensor Output, Tensor LogDet)>
{
    readonly ModuleList<FlowUnit> units;
    readonly ModuleList<CrossUnitCoupling> noise;
    readonly Func<INoiseSource> _noiseSource;
    public int NoiseChannels { get; }

    public DenseFlowBlock(IReadOnlyList<FlowUnit> unitList, IReadOnlyList<CrossUnitCoupling> couplings, int noiseChannels, Func<INoiseSource> noiseSource)
        : base(nameof(DenseFlowBlock))
    {
        if (noiseChannels > 0 && couplings.Count != unitList.Count - 1)
            throw new ArgumentException("a block needs one cross-unit coupling per unit after the first");
        units = new ModuleList<FlowUnit>(unitList.ToArray());
        noise = new ModuleList<CrossUnitCoupling>(couplings.ToArray());
        NoiseChannels = noiseChannels;
        _noiseSource = noiseSource;
        RegisterComponents();
    }

    public IReadOnlyList<FlowUnit> Units => units.ToList();
    public IReadOnlyList<CrossUnitCoupling> Couplings => noise.ToList();

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        var earlier = new List<Tensor> { x };
        var (y, logDet) = units[0].forward(x);
        for (int k = 1; k < units.Count; k++)
        {
            if (NoiseChannels > 0)
            {
                // G_k = concat(x⁽⁰⁾, y₀, …, y_{k−2}); the draw happens here, in block and unit order (SPEC §9).
                var condition = earlier.Count == 1 ? earlier[0] : cat(earlier.ToArray(), 1);
                var eps = _noiseSource().StandardNormal(new[] { y.shape[0], NoiseChannels, y.shape[2], y.shape[3] }, y.dtype, y.device);
                var (e, noiseTerm) = noise[k - 1].forward(condition, eps);
                earlier.Add(y);
                y = cat(new[] { y, e }, 1);
                logDet = logDet + noiseTerm;
            }
            var (next, ld) = units[k].forward(y);
            y = next;
            logDet = logDet + ld;
        }
        return (y, logDet);
    }

    /// <summary>Runs U_k⁻¹ and drops the appended noise channels; g is never run when sampling.</summary>
    public Tensor inverse(Tensor z)
    {
        for (int k = units.Count - 1; k >= 0; k--)
        {
            z = units[k].inverse(z);
            if (k > 0 && NoiseChannels > 0) z = z.narrow(1, 0, z.shape[1] - NoiseChannels);
        }
        return z;
    }
}
