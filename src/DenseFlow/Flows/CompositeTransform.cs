using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// A sequence of transforms cascaded in one loop: forward sums their terms, inverse runs them in
/// reverse order.
/// </summary>
public sealed class CompositeTransform : Transform
{
    readonly ModuleList<Transform> transforms;

    public CompositeTransform(IEnumerable<Transform> sequence) : base(nameof(CompositeTransform))
    {
        transforms = new ModuleList<Transform>(sequence.ToArray());
        RegisterComponents();
    }

    public IReadOnlyList<Transform> Transforms => transforms.ToList();

    public override (Tensor Output, Tensor LogDet) forward(Tensor x, TransformContext context)
    {
        var total = ZeroLogDet(x);
        var input = x;
        for (int i = 0; i < transforms.Count; i++)
        {
            var (y, term) = transforms[i].forward(x, context);
            context.Observe?.Invoke(i, y, term);
            // An intermediate output, once consumed, is released: autograd holds it only where it saved it, so this
            // frees dead activations now rather than at the end of the forward. Observers see every output and may keep them.
            if (context.Observe is null && !ReferenceEquals(x, input) && !ReferenceEquals(x, y)) x.Dispose();
            total = total + term;
            x = y;
        }
        return (x, total);
    }

    public override Tensor inverse(Tensor z, TransformContext context)
    {
        for (int i = transforms.Count - 1; i >= 0; i--) z = transforms[i].inverse(z, context);
        return z;
    }
}
