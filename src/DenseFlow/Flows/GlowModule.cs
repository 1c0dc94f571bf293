using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>The Glow-like module of SPEC §3: ActNorm → 1×1 conv → affine coupling → switch.</summary>
public sealed class GlowModule : Bijection
{
    // Field names are the state_dict names (TorchSharp registers fields by name).
    readonly ActNorm actnorm;
    readonly Conv1x1 conv;
    readonly AffineCoupling coupling;
    readonly ChannelSwitch channel_switch = new();

    public ActNorm ActNorm => actnorm;
    public Conv1x1 Conv => conv;
    public AffineCoupling Coupling => coupling;

    public GlowModule(int channels, nn.Module<Tensor, Tensor> couplingNet) : base(nameof(GlowModule))
    {
        actnorm = new ActNorm(channels);
        conv = new Conv1x1(channels);
        coupling = new AffineCoupling(couplingNet);
        RegisterComponents();
    }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        var (h1, ld1) = ActNorm.forward(x);
        var (h2, ld2) = Conv.forward(h1);
        var (h3, ld3) = Coupling.forward(h2);
        var (h4, _) = channel_switch.forward(h3);
        return (h4, ld1 + ld2 + ld3);
    }

    public override Tensor inverse(Tensor y) =>
        ActNorm.inverse(Conv.inverse(Coupling.inverse(channel_switch.inverse(y))));
}
