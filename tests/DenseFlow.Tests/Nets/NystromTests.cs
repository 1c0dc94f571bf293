using DenseFlow.Nets;
using TorchSharp;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Nets;

/// <summary>SPEC §4: the Nyström attention exactly as the reference codes it.</summary>
public sealed class NystromTests
{
    const ScalarType F64 = ScalarType.Float64;

    /// <summary>Column-stochastic (softmax over the second-to-last axis), diagonally dominant, so well-conditioned.</summary>
    static Tensor SoftmaxMatrices(long seed, long batch, long n) =>
        (eye(n, dtype: F64) * 3 + Randn(seed, F64, batch, n, n) * 0.5).softmax(-2);

    static double RelativeError(Tensor a, Tensor b) => ((a - b).norm().item<double>()) / b.norm().item<double>();

    [Fact]
    public void IterativePseudoInverse_SatisfiesKKplusKApproxK()
    {
        using var scope = NewDisposeScope();
        var k = SoftmaxMatrices(500, 3, 6);
        var kPlus = NystromAttention.IterativePseudoInverse(k);
        Assert.Equal(k.shape, kPlus.shape);
        var kkk = matmul(matmul(k, kPlus), k);
        for (long b = 0; b < 3; b++)
        {
            double err = RelativeError(kkk[b], k[b]);
            Assert.True(err <= 1e-2, $"matrix {b}: ‖K K⁺ K − K‖/‖K‖ = {err:E3}");
            double errInv = RelativeError(kPlus[b], linalg.inv(k[b]));
            Assert.True(errInv <= 5e-2, $"matrix {b}: K⁺ vs K⁻¹ relative error {errInv:E3}");
        }

        // More iterations converge to the inverse.
        var converged = NystromAttention.IterativePseudoInverse(k, 30);
        AssertClose(linalg.inv(k), converged, 1e-8, "30 iterations vs exact inverse");
    }

    [Fact]
    public void IterativePseudoInverse_MatchesTheSpecFormula_PerMatrix()
    {
        using var scope = NewDisposeScope();
        var k = SoftmaxMatrices(510, 2, 4) * tensor(new double[] { 1, 3 }).view(2, 1, 1); // different norms per matrix
        var batched = NystromAttention.IterativePseudoInverse(k);
        for (long b = 0; b < 2; b++)
        {
            var single = ToMatrix(k[b]);
            var expected = NewtonSchulz(single, 6);
            AssertClose(FromMatrix(expected), batched[b], 1e-12, $"matrix {b}: library vs explicit Newton–Schulz");
            // Each matrix is normalised by its own norms: the batch does not mix.
            AssertClose(NystromAttention.IterativePseudoInverse(k[b].unsqueeze(0))[0], batched[b], 1e-14, $"matrix {b} alone vs in a batch");
        }
    }

    [Fact]
    public void Attention_UsesRawReshapeTokens_AsTheSpecFormula()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(520);
        const int channels = 4, embed = 2, landmarks = 4, h = 4, w = 4;
        var attention = new NystromAttention(channels, embed, landmarks);
        attention.to(F64);
        Perturb(attention, 521, 0.3);
        var x = Randn(522, F64, 2, channels, h, w);
        var actual = attention.forward(x);
        var p = attention.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        Assert.Equal(new[] { "out.bias", "out.weight", "qkv.bias", "qkv.weight" }, p.Keys.OrderBy(k => k, StringComparer.Ordinal));

        var expected = ManualAttention(x, p["qkv.weight"], p["qkv.bias"], p["out.weight"], p["out.bias"], embed, landmarks, rawReshape: true);
        AssertClose(expected, actual, 1e-10, "attention vs SPEC §4 formula with explicit loops");

        // The test can tell the layouts apart: the textbook (permuted) tokens give another answer.
        var permuted = ManualAttention(x, p["qkv.weight"], p["qkv.bias"], p["out.weight"], p["out.bias"], embed, landmarks, rawReshape: false);
        Assert.True(MaxAbsDiff(permuted, actual) > 1e-4, "raw-reshape and permuted layouts agree on this input: test is not sensitive");
    }

    [Fact]
    public void Attention_LandmarksMustDivideTokens()
    {
        using var scope = NewDisposeScope();
        var attention = new NystromAttention(4, 2, 3);
        var e = Assert.Throws<ArgumentException>(() => attention.forward(zeros(1, 4, 4, 4)));
        Assert.Contains("3 landmarks", e.Message);
        Assert.Contains("16 tokens", e.Message);
    }

    // ---- explicit reference computation -------------------------------------------------------------------

    static double[,] ToMatrix(Tensor t)
    {
        var d = ToDoubles(t);
        int r = (int)t.shape[0], c = (int)t.shape[1];
        var m = new double[r, c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) m[i, j] = d[i * c + j];
        return m;
    }

    static Tensor FromMatrix(double[,] m)
    {
        int r = m.GetLength(0), c = m.GetLength(1);
        var flat = new double[r * c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) flat[i * c + j] = m[i, j];
        return tensor(flat, dtype: F64).view(r, c);
    }

    static double[,] MatMul(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), k = a.GetLength(1), m = b.GetLength(1);
        Assert.Equal(k, b.GetLength(0));
        var c = new double[n, m];
        for (int i = 0; i < n; i++) for (int j = 0; j < m; j++)
        {
            double s = 0;
            for (int l = 0; l < k; l++) s += a[i, l] * b[l, j];
            c[i, j] = s;
        }
        return c;
    }

    static double[,] Transpose(double[,] a)
    {
        var t = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) t[j, i] = a[i, j];
        return t;
    }

    /// <summary>c·I − a.</summary>
    static double[,] ScaledIdentityMinus(double c, double[,] a)
    {
        int n = a.GetLength(0);
        var r = new double[n, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) r[i, j] = (i == j ? c : 0) - a[i, j];
        return r;
    }

    /// <summary>SPEC §4: V₀ = Kᵀ/(max column abs-sum · max row abs-sum); V ← ¼V(13I − KV(15I − KV(7I − KV))).</summary>
    static double[,] NewtonSchulz(double[,] k, int iterations)
    {
        int n = k.GetLength(0);
        double maxCol = 0, maxRow = 0;
        for (int j = 0; j < n; j++) { double s = 0; for (int i = 0; i < n; i++) s += Math.Abs(k[i, j]); maxCol = Math.Max(maxCol, s); }
        for (int i = 0; i < n; i++) { double s = 0; for (int j = 0; j < n; j++) s += Math.Abs(k[i, j]); maxRow = Math.Max(maxRow, s); }
        var v = Transpose(k);
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) v[i, j] /= maxCol * maxRow;
        for (int it = 0; it < iterations; it++)
        {
            var kv = MatMul(k, v);
            var inner = MatMul(kv, ScaledIdentityMinus(15, MatMul(kv, ScaledIdentityMinus(7, kv))));
            var quarterV = new double[n, n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) quarterV[i, j] = 0.25 * v[i, j];
            v = MatMul(quarterV, ScaledIdentityMinus(13, inner));
        }
        return v;
    }

    /// <summary>Softmax over the rows (the second-to-last axis): every column sums to one.</summary>
    static double[,] SoftmaxOverRows(double[,] s)
    {
        int r = s.GetLength(0), c = s.GetLength(1);
        var o = new double[r, c];
        for (int j = 0; j < c; j++)
        {
            double max = double.NegativeInfinity;
            for (int i = 0; i < r; i++) max = Math.Max(max, s[i, j]);
            double sum = 0;
            for (int i = 0; i < r; i++) sum += Math.Exp(s[i, j] - max);
            for (int i = 0; i < r; i++) o[i, j] = Math.Exp(s[i, j] - max) / sum;
        }
        return o;
    }

    /// <summary>
    /// The attention of SPEC §4 for each image with explicit loops. rawReshape: token t, feature f is element
    /// t·3E + f of the contiguous (3E,H,W) buffer (the reference); otherwise token t is pixel t (textbook layout).
    /// </summary>
    static Tensor ManualAttention(Tensor x, Tensor qkvW, Tensor qkvB, Tensor outW, Tensor outB, int e, int l, bool rawReshape)
    {
        int batch = (int)x.shape[0], cin = (int)x.shape[1], hw = (int)(x.shape[2] * x.shape[3]);
        var xs = ToDoubles(x);
        var wq = ToDoubles(qkvW); var bq = ToDoubles(qkvB);
        var wo = ToDoubles(outW); var bo = ToDoubles(outB);
        int c3 = 3 * e, seg = hw / l;
        var result = new double[batch * cin * hw];
        for (int b = 0; b < batch; b++)
        {
            // qkv conv1×1: buffer[c, p].
            var buffer = new double[c3 * hw];
            for (int c = 0; c < c3; c++) for (int pix = 0; pix < hw; pix++)
            {
                double s = bq[c];
                for (int i = 0; i < cin; i++) s += wq[c * cin + i] * xs[(b * cin + i) * hw + pix];
                buffer[c * hw + pix] = s;
            }
            var q = new double[hw, e]; var k = new double[hw, e]; var v = new double[hw, e];
            for (int t = 0; t < hw; t++) for (int f = 0; f < c3; f++)
            {
                double value = rawReshape ? buffer[t * c3 + f] : buffer[f * hw + t];
                if (f < e) q[t, f] = value; else if (f < 2 * e) k[t, f - e] = value; else v[t, f - 2 * e] = value;
            }
            var qL = new double[l, e]; var kL = new double[l, e];
            for (int i = 0; i < l; i++) for (int f = 0; f < e; f++)
            {
                double sq = 0, sk = 0;
                for (int s = 0; s < seg; s++) { sq += q[i * seg + s, f]; sk += k[i * seg + s, f]; }
                qL[i, f] = sq / seg / Math.Sqrt(hw);
                kL[i, f] = sk / seg / Math.Sqrt(hw);
            }
            var a1 = SoftmaxOverRows(MatMul(q, Transpose(kL)));   // (HW, L)
            var a2 = SoftmaxOverRows(MatMul(qL, Transpose(kL)));  // (L, L)
            var a3 = SoftmaxOverRows(MatMul(qL, Transpose(k)));   // (L, HW)
            var att = MatMul(MatMul(a1, NewtonSchulz(a2, 6)), MatMul(a3, v)); // (HW, E)
            var outBuffer = new double[e * hw];
            for (int t = 0; t < hw; t++) for (int f = 0; f < e; f++)
            {
                double value = att[t, f] + v[t, f];
                if (rawReshape) outBuffer[t * e + f] = value; else outBuffer[f * hw + t] = value;
            }
            for (int o = 0; o < cin; o++) for (int pix = 0; pix < hw; pix++)
            {
                double s = bo[o];
                for (int c = 0; c < e; c++) s += wo[o * e + c] * outBuffer[c * hw + pix];
                result[(b * cin + o) * hw + pix] = s;
            }
        }
        return tensor(result, dtype: F64).view(x.shape);
    }
}
