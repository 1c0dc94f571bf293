using DenseFlow.Noise;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Transition between blocks, "squeeze and drop" (SPEC §1): squeeze, keep the first half of the
/// channels and score the dropped half under N(0, I). Sampling draws the dropped half from N(0, T²I).
/// </summary>
public sealed class Transition : nn.Module<Tensor, (Tensor Output, Tensor LogDet)>
{
    readonly Tensor buffer;
    static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    public Transition() : base(nameof(Transition))
    {
        // The reference keeps a zero buffer here (its device/dtype anchor); kept so imports can check it.
        buffer = zeros(1);
        RegisterComponents();
    }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        var squeezed = Squeeze.Apply(x);
        var halves = squeezed.chunk(2, 1);
        var logP = (-HalfLog2Pi - 0.5 * halves[1].square()).flatten(1).sum(1);
        return (halves[0], logP);
    }

    public Tensor inverse(Tensor kept, INoiseSource noise, double temperature)
    {
        var dropped = noise.StandardNormal(kept.shape, kept.dtype, kept.device);
        if (temperature != 1.0) dropped = dropped * temperature;
        return inverse(kept, dropped);
    }

    /// <summary>The inverse with the dropped half given (as <see cref="Model.FlowLatents"/> hold it).</summary>
    public Tensor inverse(Tensor kept, Tensor dropped) => Squeeze.Unapply(cat(new[] { kept, dropped }, 1));
}
