using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Transition between blocks, "squeeze and drop" (SPEC §1), a surjection: squeeze, keep the first half
/// of the channels and score the dropped half under N(0, I) (its bound term). The inverse draws the
/// dropped half from N(0, T²I), or takes it from the context's recorded halves.
/// </summary>
public sealed class Transition : Transform
{
    readonly Tensor buffer;

    public Transition() : base(nameof(Transition))
    {
        // The reference keeps a zero buffer here (its device/dtype anchor); kept so imports can check it.
        buffer = zeros(1);
        RegisterComponents();
    }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x, TransformContext context)
    {
        var (kept, dropped, logP) = Split(x);
        context.Dropped?.Add(dropped);
        return (kept, logP);
    }

    static (Tensor Kept, Tensor Dropped, Tensor LogP) Split(Tensor x)
    {
        var halves = Squeeze.Apply(x).chunk(2, 1);
        return (halves[0], halves[1], NormalLogDensity.Standard(halves[1]));
    }

    public override Tensor inverse(Tensor kept, TransformContext context)
    {
        Tensor dropped;
        if (context.ReplayDropped)
        {
            var given = context.Dropped ?? throw new ArgumentException("transition inverse: no dropped halves given to replay");
            if (given.Count == 0) throw new ArgumentException("transition inverse: more transitions than dropped halves given");
            dropped = given[^1];
            given.RemoveAt(given.Count - 1);
        }
        else
        {
            dropped = context.Noise.StandardNormal(kept.shape, kept.dtype, kept.device);
            if (context.Temperature != 1.0) dropped = dropped * context.Temperature;
        }
        return inverse(kept, dropped);
    }

    /// <summary>The inverse with the dropped half given (as <see cref="Model.FlowLatents"/> hold it).</summary>
    public Tensor inverse(Tensor kept, Tensor dropped) => Squeeze.Unapply(cat(new[] { kept, dropped }, 1));
}
