using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// g_k of the cross-unit coupling (SPEC §5): conv3×3(n→4n) → ReLU → zero-init conv1×1(4n→2k);
/// returns μ (first k channels) and log σ = 2·tanh(u/2).
/// </summary>
public sealed class NoiseNet : nn.Module<Tensor, (Tensor Mu, Tensor LogSigma)>
{
    readonly Conv2d hidden;
    readonly Conv2d output;

    public NoiseNet(int inChannels, int noiseChannels) : base(nameof(NoiseNet))
    {
        hidden = nn.Conv2d(inChannels, 4 * inChannels, 3, padding: 1);
        output = nn.Conv2d(4 * inChannels, 2 * noiseChannels, 1);
        using (no_grad()) { output.weight!.zero_(); output.bias!.zero_(); }
        RegisterComponents();
    }

    public override (Tensor Mu, Tensor LogSigma) forward(Tensor g)
    {
        using var h = hidden.forward(g).relu_(); // in place: the conv saves its input, not its output
        using var o = output.forward(h);
        var parts = o.chunk(2, 1);
        return (parts[0], 2 * tanh(parts[1] / 2));
    }
}
