using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Squeeze ×2 (SPEC §1): (C,H,W) → (4C,H/2,W/2); input channel c at sub-pixel (dy,dx) goes to
/// output channel 4c + 2dy + dx. Volume preserving.
/// </summary>
public sealed class Squeeze : Bijection
{
    public Squeeze() : base(nameof(Squeeze)) { }

    public override (Tensor Output, Tensor LogDet) forward(Tensor x) => (Apply(x), ZeroLogDet(x));

    public override Tensor inverse(Tensor z) => Unapply(z);

    public static Tensor Apply(Tensor x)
    {
        long b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        return x.view(b, c, h / 2, 2, w / 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h / 2, w / 2);
    }

    public static Tensor Unapply(Tensor z)
    {
        long b = z.shape[0], c = z.shape[1] / 4, h = z.shape[2], w = z.shape[3];
        return z.reshape(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, h * 2, w * 2);
    }
}
