using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>A unit (SPEC §2): a sequence of Glow-like modules at one width.</summary>
public sealed class FlowUnit : Bijection
{
    // Not `modules`, which would hide Module.modules(); the state name stays `modules`.
    [ComponentName(Name = "modules")]
    readonly ModuleList<GlowModule> steps;

    public FlowUnit(IEnumerable<GlowModule> modules) : base(nameof(FlowUnit))
    {
        steps = new ModuleList<GlowModule>(modules.ToArray());
        RegisterComponents();
    }

    public IReadOnlyList<GlowModule> Modules => steps.ToList();

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        Tensor? logDet = null;
        var input = x;
        foreach (var m in steps)
        {
            // One scope per module: its temporaries are freed as soon as it is done (autograd keeps what it needs).
            using var scope = NewDisposeScope();
            var (y, ld) = m.forward(x);
            // The previous module's output, once consumed, is released too: Dispose drops only our handle (autograd keeps
            // its own where m saved x), so an activation nothing saved is freed now instead of at the caller's scope end.
            if (!ReferenceEquals(x, input)) x.Dispose();
            x = y.MoveToOuterDisposeScope();
            logDet = (logDet is null ? ld : logDet + ld).MoveToOuterDisposeScope();
        }
        return (x, logDet ?? ZeroLogDet(x));
    }

    public override Tensor inverse(Tensor y)
    {
        for (int i = steps.Count - 1; i >= 0; i--)
        {
            using var scope = NewDisposeScope();
            y = steps[i].inverse(y).MoveToOuterDisposeScope();
        }
        return y;
    }
}
