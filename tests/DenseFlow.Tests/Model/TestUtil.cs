using DenseFlow.Model;
using DenseFlow.Noise;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Model;

/// <summary>Shared helpers of the model tests: perturbing zero-initialised layers, autograd Jacobians, tiny models.</summary>
internal static class TestUtil
{
    /// <summary>
    /// Adds N(0, std²) to every parameter (so the zero-initialised last convs stop making couplings the identity,
    /// while the 1×1 convs stay well-conditioned) and gives BatchNorm non-trivial running statistics.
    /// </summary>
    public static void Perturb(nn.Module module, long seed, double std = 0.1)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)seed, CPU);
        foreach (var (_, p) in module.named_parameters())
            p.add_(randn(p.shape, dtype: ScalarType.Float64, generator: g).mul(std).to(p.dtype));
        foreach (var (name, b) in module.named_buffers())
        {
            if (name.EndsWith("running_mean"))
                b.copy_(randn(b.shape, dtype: ScalarType.Float64, generator: g).mul(0.2).to(b.dtype));
            else if (name.EndsWith("running_var"))
                b.copy_(rand(b.shape, dtype: ScalarType.Float64, generator: g).mul(0.8).add(0.6).to(b.dtype));
        }
    }

    public static Tensor Randn(long seed, ScalarType dtype, params long[] shape)
    {
        using var g = new Generator((ulong)seed, CPU);
        using var t = randn(shape, dtype: ScalarType.Float64, generator: g);
        return t.to(dtype);
    }

    public static Tensor RandomImages(long seed, long n, DenseFlowConfig config)
    {
        using var g = new Generator((ulong)seed, CPU);
        return randint(0, 1 << config.NumBits, new long[] { n, config.Channels, config.Height, config.Width }, dtype: ScalarType.Int64, generator: g);
    }

    /// <summary>Same shape, dtype and every element equal.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var eq = a.eq(b).all();
        return eq.item<bool>();
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.detach().to(ScalarType.Float64) - b.detach().to(ScalarType.Float64)).abs().max().item<double>();
    }

    public static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double d = MaxAbsDiff(expected, actual);
        Assert.True(d <= tolerance, $"{what}: max |difference| {d:E3} exceeds {tolerance:E1}");
    }

    public static double[] ToDoubles(Tensor t)
    {
        using var d = t.detach().to(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }

    /// <summary>
    /// The Jacobian (D_out × D_in) of a per-image map at a single image x1 (batch 1), by autograd: the image is
    /// replicated D_out times, replica i's output element i is differentiated, so one backward pass gives every row.
    /// Valid because the map treats images independently (BatchNorm in eval mode).
    /// </summary>
    public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor x1)
    {
        Assert.Equal(1, x1.shape[0]);
        long dIn = x1.numel();
        long dOut;
        using (no_grad()) dOut = f(x1).numel();
        var shape = x1.shape.ToArray();
        shape[0] = dOut;
        var xs = x1.detach().expand(shape).clone().requires_grad_(true);
        var y = f(xs).reshape(dOut, dOut);
        var selected = y.diagonal().sum();
        var grad = torch.autograd.grad(new[] { selected }, new[] { xs })[0];
        return grad.reshape(dOut, dIn).detach();
    }

    /// <summary>log|det J| of a square Jacobian.</summary>
    public static double LogAbsDet(Tensor jacobian)
    {
        Assert.Equal(jacobian.shape[0], jacobian.shape[1]);
        var (sign, logAbs) = linalg.slogdet(jacobian);
        Assert.NotEqual(0.0, sign.item<double>());
        return logAbs.item<double>();
    }

    /// <summary>
    /// Checks a per-image bijection on a batch: inverse(forward(x)) == x and, for every image, the reported log-det
    /// equals log|det ∂forward/∂x| from the autograd Jacobian.
    /// </summary>
    public static void CheckBijection(Func<Tensor, (Tensor Output, Tensor LogDet)> forward, Func<Tensor, Tensor> inverse, Tensor x,
        double inverseTolerance = 1e-10, double logDetTolerance = 1e-8)
    {
        using var scope = NewDisposeScope();
        var (y, logDet) = forward(x);
        Assert.Equal(new[] { x.shape[0] }, logDet.shape);
        var back = inverse(y);
        AssertClose(x, back, inverseTolerance, "inverse(forward(x)) vs x");
        // The map must not be trivial (otherwise a wrong log-det of 0 could pass).
        Assert.True(!x.shape.SequenceEqual(y.shape) || MaxAbsDiff(x, y) > 1e-3, "forward is (numerically) the identity");
        var lds = ToDoubles(logDet);
        for (long i = 0; i < x.shape[0]; i++)
        {
            var xi = x.narrow(0, i, 1);
            var jac = Jacobian(t => forward(t).Output, xi);
            double expected = LogAbsDet(jac);
            Assert.True(Math.Abs(expected - lds[i]) <= logDetTolerance,
                $"image {i}: log-det {lds[i]:R}, log|det J| by autograd {expected:R} (difference {Math.Abs(expected - lds[i]):E3})");
        }
    }

    /// <summary>The tiny two-block configuration of the model tests (plan: 12×4×4 → 28×2×2).</summary>
    public static DenseFlowConfig TinyConfig(int[]? unitsPerBlock = null) => new()
    {
        InputShape = [3, 8, 8],
        UnitsPerBlock = unitsPerBlock ?? [2, 1],
        ModulesPerUnit = unitsPerBlock is { Length: 1 } ? [1] : [1, 1],
        GrowthRate = 2,
        CouplingWidth = unitsPerBlock is { Length: 1 } ? [8] : [8, 8],
        Landmarks = unitsPerBlock is { Length: 1 } ? [4] : [4, 4],
        DenseDepth = 2,
        DenseGrowth = 8,
        DequantSteps = 1,
        DequantWidth = 8,
        DequantContextChannels = 8,
        DequantDepth = 1,
        DequantGrowth = 8,
        DequantContextDepth = 1,
        DequantContextGrowth = 4,
    };

    /// <summary>
    /// Builds a model, runs one training-mode pass (ActNorm data init, BatchNorm statistics), perturbs every
    /// parameter so no coupling is the identity, and leaves it in eval mode. The data init runs in float32
    /// (see ActNormFloat64 test); pass <paramref name="dtype"/> to convert afterwards.
    /// </summary>
    public static DenseFlowModel BuildInitialised(DenseFlowConfig config, long seed, ScalarType dtype = ScalarType.Float32, double std = 0.05)
    {
        torch.manual_seed(seed);
        var model = new DenseFlowModel(config, new SeededNoise(seed));
        model.train();
        using (no_grad())
        {
            using var scope = NewDisposeScope();
            model.LogLikelihood(RandomImages(seed + 1, 8, config));
        }
        Perturb(model, seed + 2, std);
        model.eval();
        if (dtype != ScalarType.Float32) model.to(dtype);
        return model;
    }
}
