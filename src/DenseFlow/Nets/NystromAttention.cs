using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// Nyström attention exactly as the reference codes it (SPEC §4), which differs from the textbook:
/// tokens are a raw reshape of the contiguous (B,3E,H,W) buffer to (B,HW,3E) (no permute);
/// landmarks are segment means divided by √(HW); every softmax runs over the second-to-last axis;
/// A₂⁺ comes from 6 Newton–Schulz iterations; out = A₁·A₂⁺·(A₃·v) + v.
/// </summary>
public sealed class NystromAttention : nn.Module<Tensor, Tensor>
{
    readonly Conv2d qkv;
    readonly Conv2d @out;
    readonly int _embed;
    public int Landmarks { get; }
    public const int PinvIterations = 6;

    public NystromAttention(int channels, int embedDim, int landmarks) : base(nameof(NystromAttention))
    {
        _embed = embedDim;
        Landmarks = landmarks;
        qkv = nn.Conv2d(channels, 3 * embedDim, 1);
        @out = nn.Conv2d(embedDim, channels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], h = x.shape[2], w = x.shape[3], hw = h * w;
        var tokens = qkv.forward(x).reshape(n, hw, 3 * _embed).chunk(3, -1);
        Tensor q = tokens[0], k = tokens[1], v = tokens[2];
        double norm = Math.Sqrt(hw);
        var qLand = q.reshape(n, Landmarks, hw / Landmarks, _embed).mean(new long[] { -2 }).div(norm);
        var kLand = k.reshape(n, Landmarks, hw / Landmarks, _embed).mean(new long[] { -2 }).div(norm);

        var a1 = matmul(q, kLand.transpose(-1, -2)).softmax(-2);
        var a2 = matmul(qLand, kLand.transpose(-1, -2)).softmax(-2);
        var a3 = matmul(qLand, k.transpose(-1, -2)).softmax(-2);
        var a2Pinv = IterativePseudoInverse(a2);

        var out_ = matmul(matmul(a1, a2Pinv), matmul(a3, v)).add(v);
        return @out.forward(out_.reshape(n, -1, h, w)).MoveToOuterDisposeScope();
    }

    /// <summary>Newton–Schulz iterations for the Moore–Penrose inverse, starting from Kᵀ/(‖K‖₁‖K‖∞).</summary>
    public static Tensor IterativePseudoInverse(Tensor k, int iterations = PinvIterations)
    {
        var eye = torch.eye(k.shape[^1], dtype: k.dtype, device: k.device);
        var abs = k.abs();
        var maxColSum = abs.sum(-2, keepdim: true).amax(new long[] { -1 }, keepdim: true);
        var maxRowSum = abs.sum(-1, keepdim: true).amax(new long[] { -2 }, keepdim: true);
        var v = k.transpose(-1, -2).div(maxColSum * maxRowSum);
        for (int i = 0; i < iterations; i++)
        {
            var kv = matmul(k, v);
            v = matmul(0.25 * v, 13 * eye - matmul(kv, 15 * eye - matmul(kv, 7 * eye - kv)));
        }
        return v;
    }
}
