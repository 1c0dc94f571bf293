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
        // The landmarks are means over equal segments of the token sequence (SPEC §4), so they must divide H·W.
        if (hw % Landmarks != 0)
            throw new ArgumentException($"Nyström attention: {Landmarks} landmarks do not divide H·W = {h}×{w} = {hw} tokens", nameof(x));
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

    /// <summary>
    /// Newton–Schulz iterations for the Moore–Penrose inverse, starting from Kᵀ/(‖K‖₁‖K‖∞):
    /// V ← ¼V(13I − KV(15I − KV(7I − KV))), the reference's update, with each "cI − M, then multiply" as one
    /// fused baddbmm (A(cI − B) = cA − AB): 4 ops per iteration instead of 11, the same up to rounding.
    /// </summary>
    public static Tensor IterativePseudoInverse(Tensor k, int iterations = PinvIterations)
    {
        using var scope = NewDisposeScope();
        long n = k.shape[^1];
        var matrices = k.reshape(-1, n, n);
        var abs = matrices.abs();
        var maxColSum = abs.sum(-2, keepdim: true).amax(new long[] { -1 }, keepdim: true);
        var maxRowSum = abs.sum(-1, keepdim: true).amax(new long[] { -2 }, keepdim: true);
        var v = matrices.transpose(-1, -2).div(maxColSum * maxRowSum);
        for (int i = 0; i < iterations; i++)
        {
            var kv = matrices.bmm(v);
            var a = ScaledMinusProduct(kv, kv, 7, 1);        // KV(7I − KV)
            var b = ScaledMinusProduct(kv, a, 15, 1);        // KV(15I − a)
            v = ScaledMinusProduct(v, b, 13 * 0.25f, 0.25f); // ¼V(13I − b)
        }
        return v.reshape(k.shape).MoveToOuterDisposeScope();
    }

    /// <summary>c·A − s·A·B, batched. TorchSharp's <c>x.baddbmm(y, input, beta, alpha)</c> is β·input + α·(x·y).</summary>
    static Tensor ScaledMinusProduct(Tensor a, Tensor b, float c, float s) => a.baddbmm(b, a, beta: c, alpha: -s);
}
