using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Switch (SPEC §3): [a, b] → [b, a] with chunk(2), so a has ceil(C/2) channels. The inverse splits
/// with the explicit sizes [floor, ceil], so it is a true inverse for odd C too.
/// </summary>
public sealed class ChannelSwitch : Bijection
{
    public ChannelSwitch() : base(nameof(ChannelSwitch)) { }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        long c = x.shape[1], first = (c + 1) / 2;
        var parts = x.split(new[] { first, c - first }, 1);
        return (cat(new[] { parts[1], parts[0] }, 1), ZeroLogDet(x));
    }

    public override Tensor inverse(Tensor z)
    {
        long c = z.shape[1], first = (c + 1) / 2;
        var parts = z.split(new[] { c - first, first }, 1);
        return cat(new[] { parts[1], parts[0] }, 1);
    }
}
