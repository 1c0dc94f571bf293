using DenseFlow.Flows;
using DenseFlow.Nets;
using DenseFlow.Noise;
using TorchSharp;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Flows;

/// <summary>
/// SPEC §3–§6 bijections in float64 with every parameter perturbed (no zero-initialised identity):
/// inverse(forward(x)) == x and log-det == log|det J| with J from autograd.
/// </summary>
public sealed class BijectionTests
{
    const ScalarType F64 = ScalarType.Float64;

    static Tensor Input(long seed, params long[] shape) => Randn(seed, F64, shape);

    static DenseNystromCouplingNet DenseNet(int channels) =>
        new(channels - channels / 2, 2 * (channels / 2), width: 8, denseDepth: 2, denseGrowth: 4, landmarks: 4);

    // ---- ActNorm -------------------------------------------------------------------------------------

    [Fact]
    public void ActNorm_DataInit_Float32_NormalisesFirstBatchAndNeverAgain()
    {
        using var scope = NewDisposeScope();
        var actnorm = new ActNorm(4);
        actnorm.train();
        var x = Randn(1, ScalarType.Float32, 8, 4, 4, 4) * tensor(new float[] { 0.5f, 1f, 2f, 3f }).view(1, 4, 1, 1)
                + tensor(new float[] { -1f, 0f, 2f, 5f }).view(1, 4, 1, 1);
        Assert.False(actnorm.IsInitialized);
        var (z, _) = actnorm.forward(x);
        Assert.True(actnorm.IsInitialized);
        var mean = x.mean(new long[] { 0, 2, 3 }, keepdim: true);
        var std = x.std(new long[] { 0, 2, 3 }, unbiased: true, keepdim: true);
        AssertClose(mean, actnorm.Shift, 1e-5, "shift = per-channel mean");
        AssertClose((std + 1e-6).log(), actnorm.LogScale, 1e-5, "log_scale = log(unbiased std + 1e-6)");
        AssertClose(zeros(1, 4, 1, 1), z.mean(new long[] { 0, 2, 3 }, keepdim: true), 1e-5, "normalised mean");
        AssertClose(ones(1, 4, 1, 1), z.std(new long[] { 0, 2, 3 }, unbiased: true, keepdim: true), 1e-4, "normalised std");
        Assert.Equal(1.0, actnorm.state_dict()["initialized"].to(F64).item<double>());

        // A second training-mode batch must not re-initialise.
        var shiftBefore = actnorm.Shift.detach().clone();
        var logScaleBefore = actnorm.LogScale.detach().clone();
        actnorm.forward(Randn(2, ScalarType.Float32, 8, 4, 4, 4) * 7 + 3);
        AssertClose(shiftBefore, actnorm.Shift, 0, "shift after a second batch");
        AssertClose(logScaleBefore, actnorm.LogScale, 0, "log_scale after a second batch");
    }

    /// <summary>
    /// Fails while ActNorm.IsInitialized calls initialized.item&lt;float&gt;() on a float64 buffer
    /// (TorchSharp throws "Single is not compatible with Float64"), i.e. no float64 model can run in training mode.
    /// </summary>
    [Fact]
    public void ActNorm_Float64_TrainModeDataInit_Works()
    {
        using var scope = NewDisposeScope();
        var actnorm = new ActNorm(3);
        actnorm.to(F64);
        actnorm.train();
        var x = Input(3, 6, 3, 4, 4) * 2 + 1;
        var (z, _) = actnorm.forward(x);
        Assert.True(actnorm.IsInitialized);
        AssertClose(x.mean(new long[] { 0, 2, 3 }, keepdim: true), actnorm.Shift, 1e-12, "shift = per-channel mean (float64)");
        AssertClose(zeros(1, 3, 1, 1, dtype: F64), z.mean(new long[] { 0, 2, 3 }, keepdim: true), 1e-10, "normalised mean (float64)");
    }

    [Fact]
    public void ActNorm_IsBijection_WithExactLogDet()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(10);
        var actnorm = new ActNorm(4);
        actnorm.train();
        actnorm.forward(Randn(11, ScalarType.Float32, 8, 4, 4, 4) * 2 + 1); // data init (float32, see test above)
        actnorm.to(F64);
        actnorm.eval();
        Perturb(actnorm, 12, 0.3);
        CheckBijection(actnorm.forward, actnorm.inverse, Input(13, 2, 4, 4, 4));
    }

    // ---- 1×1 convolution, couplings ------------------------------------------------------------------

    [Fact]
    public void Conv1x1_IsBijection_WithExactLogDet()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(20);
        var conv = new Conv1x1(4);
        conv.to(F64);
        Perturb(conv, 21, 0.3);
        CheckBijection(conv.forward, conv.inverse, Input(22, 2, 4, 4, 4));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void AffineCoupling_DenseNystromNet_IsBijection_WithExactLogDet(int channels)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(30 + channels);
        var coupling = new AffineCoupling(DenseNet(channels));
        coupling.to(F64);
        coupling.eval();
        Perturb(coupling, 31);
        var x = Input(32, 2, channels, 4, 4);
        CheckCoupling(coupling.forward, x);
        CheckBijection(coupling.forward, coupling.inverse, x);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void AffineCoupling_GlowNet_IsBijection_WithExactLogDet(int channels)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(40 + channels);
        var coupling = new AffineCoupling(new GlowCouplingNet(channels - channels / 2, 2 * (channels / 2), 8));
        coupling.to(F64);
        Perturb(coupling, 41);
        var x = Input(42, 2, channels, 4, 4);
        CheckCoupling(coupling.forward, x);
        CheckBijection(coupling.forward, coupling.inverse, x);
    }

    /// <summary>The first ceil(C/2) channels pass unchanged, the rest change, and the scale part is active.</summary>
    static void CheckCoupling(Func<Tensor, (Tensor Output, Tensor LogDet)> forward, Tensor x)
    {
        using var scope = NewDisposeScope();
        long c = x.shape[1], first = (c + 1) / 2;
        var (y, ld) = forward(x);
        AssertClose(x.narrow(1, 0, first), y.narrow(1, 0, first), 0, "conditioning half");
        Assert.True(MaxAbsDiff(x.narrow(1, first, c - first), y.narrow(1, first, c - first)) > 1e-3, "transformed half unchanged: coupling is the identity");
        Assert.True(ld.abs().min().item<double>() > 1e-4, "log-det is zero: scale part of the coupling is inactive");
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void ChannelSwitch_SwapsHalves_AndIsTrueInverse(int channels)
    {
        using var scope = NewDisposeScope();
        var sw = new ChannelSwitch();
        var x = Input(50, 2, channels, 4, 4);
        long first = (channels + 1) / 2;
        var (y, ld) = sw.forward(x);
        AssertClose(cat(new[] { x.narrow(1, first, channels - first), x.narrow(1, 0, first) }, 1), y, 0, "switch [a,b] -> [b,a]");
        AssertClose(zeros(2, dtype: F64), ld, 0, "switch log-det");
        AssertClose(y, sw.forward(sw.inverse(y)).Output, 0, "forward(inverse(y))");
        CheckBijection(sw.forward, sw.inverse, x);
    }

    [Fact]
    public void Squeeze_MapsSubPixelsToChannels_AndIsVolumePreserving()
    {
        using var scope = NewDisposeScope();
        var squeeze = new Squeeze();
        var x = Input(60, 2, 3, 4, 6);
        var (y, _) = squeeze.forward(x);
        Assert.Equal(new long[] { 2, 12, 2, 3 }, y.shape);
        var xs = ToDoubles(x);
        var ys = ToDoubles(y);
        for (int b = 0; b < 2; b++)
        for (int c = 0; c < 3; c++)
        for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++)
        {
            int dy = i % 2, dx = j % 2;
            int outC = 4 * c + 2 * dy + dx;
            double expected = xs[((b * 3 + c) * 4 + i) * 6 + j];
            double actual = ys[((b * 12 + outC) * 2 + i / 2) * 3 + j / 2];
            Assert.Equal(expected, actual);
        }
        CheckBijection(squeeze.forward, squeeze.inverse, x);
    }

    [Fact]
    public void Sigmoid_IsBijection_WithExactLogDet()
    {
        using var scope = NewDisposeScope();
        var sigmoid = new Sigmoid();
        sigmoid.to(F64);
        CheckBijection(sigmoid.forward, sigmoid.inverse, Input(70, 2, 2, 4, 4) * 2);
    }

    // ---- Dequantizer -----------------------------------------------------------------------------------

    [Fact]
    public void ConditionalAffineCoupling_WithFixedContext_IsBijection_WithExactLogDet()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(80);
        var coupling = new ConditionalAffineCoupling(new ResidualDenseNet(2 + 3, 4, 8, 1, 4));
        coupling.to(F64);
        Perturb(coupling, 81);
        var context = Input(82, 1, 3, 4, 4);
        (Tensor, Tensor) Forward(Tensor t) => coupling.forward(t, TransformContext.Conditional(context.expand(t.shape[0], -1, -1, -1)));
        Tensor Inverse(Tensor t) => coupling.inverse(t, TransformContext.Conditional(context.expand(t.shape[0], -1, -1, -1)));
        var x = Input(83, 2, 4, 4, 4);
        CheckCoupling(Forward, x);
        CheckBijection(Forward, Inverse, x);

        // The context matters.
        var other = coupling.forward(x, TransformContext.Conditional(Input(84, 2, 3, 4, 4))).Output;
        Assert.True(MaxAbsDiff(other, Forward(x).Item1) > 1e-3, "coupling ignores its context");

        // Without a condition it refuses, naming itself, rather than coupling on nothing.
        var error = Assert.Throws<InvalidOperationException>(() => coupling.forward(x, new TransformContext(new MeanNoise(), F64)));
        Assert.Contains(nameof(ConditionalAffineCoupling), error.Message);
        // A conditional context has no noise source: a transform that drew from it would fail loudly.
        Assert.Throws<InvalidOperationException>(() => TransformContext.Conditional(context).Noise.StandardNormal(new long[] { 1 }, F64, x.device));
    }

    static VariationalDequantizer TinyDequantizer(long seed)
    {
        torch.manual_seed(seed);
        var dq = new VariationalDequantizer(channels: 1, height: 4, width: 4, numBits: 8, steps: 2, contextChannels: 3,
            netWidth: 8, depth: 1, growth: 4, contextDepth: 1, contextGrowth: 4);
        dq.to(F64);
        Perturb(dq, seed + 1);
        return dq;
    }

    [Fact]
    public void VariationalDequantizer_Flow_IsBijection_WithExactLogDet()
    {
        using var scope = NewDisposeScope();
        var dq = TinyDequantizer(90);
        var context = Input(92, 1, 3, 2, 2);
        (Tensor, Tensor) Forward(Tensor z) => dq.FlowForward(z, context.expand(z.shape[0], -1, -1, -1));
        Tensor Inverse(Tensor u) => dq.FlowInverse(u, context.expand(u.shape[0], -1, -1, -1));
        var z = Input(93, 2, 4, 2, 2);
        var (u, _) = Forward(z);
        Assert.Equal(new long[] { 2, 1, 4, 4 }, u.shape);
        Assert.True(u.gt(0).all().item<bool>() && u.lt(1).all().item<bool>(), "u must lie in (0,1)");
        CheckBijection(Forward, Inverse, z);
    }

    [Fact]
    public void VariationalDequantizer_LogQ_IsBaseDensityMinusFlowLogDet_AndDequantizeUsesIt()
    {
        using var scope = NewDisposeScope();
        var dq = TinyDequantizer(95);
        var x = randint(0, 256, new long[] { 2, 1, 4, 4 }, dtype: ScalarType.Int64);
        var context = dq.Context(x, F64)!;
        Assert.Equal(new long[] { 2, 3, 2, 2 }, context.shape);
        var eps = Input(96, 2, 4, 2, 2);

        var (u, logQ) = dq.SampleWithLogProb(context, eps);
        var p = dq.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        var loc = p["base.loc"];
        var logScale = p["base.log_scale"];
        Assert.True(loc.abs().max().item<double>() > 0, "base loc still zero after perturbation");
        var z0 = loc + logScale.exp() * eps;
        var logBase = (-0.5 * (z0 - loc).square() * (-2 * logScale).exp() - logScale - 0.5 * Math.Log(2 * Math.PI)).flatten(1).sum(1);
        var (u2, ld) = dq.FlowForward(z0, context);
        AssertClose(u, u2, 1e-12, "SampleWithLogProb u vs FlowForward(z0)");
        AssertClose(logBase - ld, logQ, 1e-9, "log q(u|x) = log p_base(z0) - sum of log-dets");

        var (v, term) = dq.Dequantize(x, context, new ReplayNoise(new[] { eps }), F64);
        AssertClose((x.to(F64) + u) / 256, v, 1e-12, "v = (x + u)/256");
        AssertClose(-logQ - 16 * Math.Log(256), term, 1e-9, "bound contribution -D ln256 - log q");
        Assert.True(Same(dq.Quantize(v), x), "Quantize(v) must give back x");
    }

    // ---- Module, unit, cross-unit coupling ---------------------------------------------------------------

    [Fact]
    public void GlowModule_IsBijection_WithExactLogDet()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(100);
        var module = new GlowModule(4, DenseNet(4));
        module.to(F64);
        module.eval();
        Perturb(module, 101);
        CheckBijection(module.forward, module.inverse, Input(102, 2, 4, 4, 4));
    }

    [Fact]
    public void FlowUnit_IsBijection_WithExactLogDet()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(110);
        var unit = new FlowUnit(new[] { new GlowModule(4, DenseNet(4)), new GlowModule(4, DenseNet(4)) });
        unit.to(F64);
        unit.eval();
        Perturb(unit, 111);
        var x = Input(112, 2, 4, 4, 4);
        CheckBijection(unit.forward, unit.inverse, x);

        // The unit is the composition of its modules.
        var (y, ld) = unit.forward(x);
        var (h, ld0) = unit.Modules[0].forward(x);
        var (h2, ld1) = unit.Modules[1].forward(h);
        AssertClose(h2, y, 1e-12, "unit output = module 1 ∘ module 0");
        AssertClose(ld0 + ld1, ld, 1e-10, "unit log-det = sum of module log-dets");
    }

    [Fact]
    public void CrossUnitCoupling_IsBijectionOnConditionAndNoise_WithLogDetSumLogSigma()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(120);
        const int n = 4, k = 2;
        var coupling = new CrossUnitCoupling(n, k, preconditioned: true);
        coupling.to(F64);
        Perturb(coupling, 121);
        var g = Input(122, 2, n, 4, 4);
        var eps = Input(123, 2, k, 4, 4);

        // (G, ε) → (G, e) as one map on the concatenation; its inverse uses μ = T(G, 0) and σ = T(G, 1) − μ.
        (Tensor, Tensor) Forward(Tensor t)
        {
            var (e, ld) = coupling.Reparameterize(t.narrow(1, 0, n), t.narrow(1, n, k));
            return (cat(new[] { t.narrow(1, 0, n), e }, 1), ld);
        }
        Tensor Inverse(Tensor t)
        {
            var cond = t.narrow(1, 0, n);
            var mu = coupling.Reparameterize(cond, zeros_like(t.narrow(1, n, k))).Noise;
            var sigma = coupling.Reparameterize(cond, ones_like(t.narrow(1, n, k))).Noise - mu;
            return cat(new[] { cond, (t.narrow(1, n, k) - mu) / sigma }, 1);
        }
        var input = cat(new[] { g, eps }, 1);
        CheckBijection(Forward, Inverse, input);
        var (eOut, logDet) = coupling.Reparameterize(g, eps);
        Assert.True(MaxAbsDiff(eOut, eps) > 1e-3, "e = ε: the noise network is inactive");
        Assert.True(logDet.abs().min().item<double>() > 1e-4, "Σ log σ = 0: the noise scale is inactive");

        // forward adds −log N(ε; 0, I) to the bijection's log-det.
        var (e2, term) = coupling.Augment(g, eps);
        AssertClose(eOut, e2, 0, "Augment noise vs Reparameterize");
        var negLogN = (0.5 * eps.square() + 0.5 * Math.Log(2 * Math.PI)).flatten(1).sum(1);
        AssertClose(logDet + negLogN, term, 1e-10, "Augment term = Σ log σ − log N(ε)");

        // As a transform: y → concat(y, e) with ε drawn from the context's noise and G its condition;
        // the inverse drops e again.
        var y = Input(124, 2, 3, 4, 4);
        var context = new TransformContext(new ReplayNoise(new[] { eps }), F64).WithCondition(g);
        var (augmented, term2) = coupling.forward(y, context);
        AssertClose(cat(new[] { y, eOut }, 1), augmented, 0, "forward = concat(y, e)");
        AssertClose(term, term2, 0, "forward term = Augment term");
        AssertClose(y, coupling.inverse(augmented, context), 0, "inverse drops the noise channels");
        var error = Assert.Throws<InvalidOperationException>(() => coupling.forward(y, new TransformContext(new MeanNoise(), F64)));
        Assert.Contains(nameof(CrossUnitCoupling), error.Message);
    }

    [Fact]
    public void CrossUnitCoupling_WhiteNoise_AppendsEpsilon()
    {
        using var scope = NewDisposeScope();
        var coupling = new CrossUnitCoupling(4, 2, preconditioned: false);
        Assert.False(coupling.IsPreconditioned);
        Assert.Empty(coupling.parameters());
        var g = Input(130, 2, 4, 4, 4);
        var eps = Input(131, 2, 2, 4, 4);
        var (e, term) = coupling.Augment(null, eps);
        AssertClose(eps, e, 0, "white noise e = ε");
        // White noise needs no condition.
        var (augmented, _) = coupling.forward(g, new TransformContext(new ReplayNoise(new[] { eps }), eps.dtype));
        AssertClose(cat(new[] { g, eps }, 1), augmented, 0, "white noise forward = concat(y, ε)");
        AssertClose((0.5 * eps.square() + 0.5 * Math.Log(2 * Math.PI)).flatten(1).sum(1), term, 1e-10, "white noise term = −log N(ε)");
    }
}
