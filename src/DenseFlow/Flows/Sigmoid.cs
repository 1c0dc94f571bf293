using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Sigmoid (SPEC §6, last step of the dequantizer): u = σ(a); log-det = Σ[−softplus(−a) − softplus(a)].
/// The reference keeps a `temperature` buffer fixed at 1; it is registered so imports can check it.
/// </summary>
public sealed class Sigmoid : Bijection
{
    readonly Tensor temperature;

    public Sigmoid() : base(nameof(Sigmoid))
    {
        temperature = ones(1);
        RegisterComponents();
    }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        var a = x * temperature;
        var ld = (temperature.log() - nn.functional.softplus(-a) - nn.functional.softplus(a)).flatten(1).sum(1);
        return (sigmoid(a), ld);
    }

    public override Tensor inverse(Tensor z) => (z.log() - (-z).log1p()) / temperature;
}
