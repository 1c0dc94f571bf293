using DenseFlow.Model;
using DenseFlow.Noise;
using TorchSharp;
using static DenseFlow.Tests.Model.TestUtil;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Nets;

/// <summary>Recomputing the coupling networks in the backward pass must not change anything a training step computes.</summary>
public class RecomputationTests
{
    /// <summary>One training-mode forward + backward; returns the loss, every gradient and every buffer afterwards.</summary>
    static (double Loss, Dictionary<string, Tensor> Grads, Dictionary<string, Tensor> Buffers) Step(double fraction, DenseFlowConfig config)
    {
        using var model = BuildInitialised(config, 300);
        model.RecomputeFraction = fraction;
        Assert.Equal(fraction, model.RecomputeFraction);
        model.train();
        model.Noise = new SeededNoise(301);
        var x = RandomImages(302, 4, config);
        var loss = -model.LogLikelihood(x).mean();
        loss.backward();
        var grads = model.named_parameters().Where(p => p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => p.parameter.grad is { } g ? g.detach().clone().MoveToOuterDisposeScope() : zeros(1).MoveToOuterDisposeScope());
        var buffers = model.named_buffers().ToDictionary(b => b.name, b => b.buffer.detach().clone().MoveToOuterDisposeScope());
        return (loss.item<float>(), grads, buffers);
    }

    [Theory]
    [InlineData(CouplingKind.Dense, 1.0)]
    [InlineData(CouplingKind.Dense, 0.5)]
    [InlineData(CouplingKind.Glow, 1.0)]
    public void RecomputedCouplings_GiveTheSameLossGradientsAndBatchNormStatistics(CouplingKind coupling, double fraction)
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig() with { Coupling = coupling };
        var kept = Step(0, config);
        var recomputed = Step(fraction, config);
        Assert.Equal(kept.Loss, recomputed.Loss);
        Assert.Equal(kept.Grads.Keys, recomputed.Grads.Keys);
        int nonZero = 0;
        foreach (var (name, g) in kept.Grads)
        {
            AssertClose(g, recomputed.Grads[name], 1e-6 * Math.Max(1, g.abs().max().item<float>()), $"gradient of {name}");
            if (g.abs().max().item<float>() > 0) nonZero++;
        }
        Assert.True(nonZero > kept.Grads.Count / 2, $"only {nonZero} of {kept.Grads.Count} gradients are non-zero");
        // BatchNorm's running statistics are updated once per step, not once more by the recomputation.
        if (coupling == CouplingKind.Dense) Assert.Contains(kept.Buffers.Keys, k => k.EndsWith("running_mean"));
        foreach (var (name, b) in kept.Buffers)
            Assert.True(Same(b, recomputed.Buffers[name]), $"buffer {name} differs after the step");
    }

    [Fact]
    public void A_fraction_recomputes_the_first_couplings_in_forward_order()
    {
        var config = TinyConfig();
        using var model = new DenseFlowModel(config);
        var couplings = model.modules().Where(m => m is DenseFlow.Flows.AffineCoupling or DenseFlow.Flows.ConditionalAffineCoupling).ToList();
        bool On(nn.Module m) => ((DenseFlow.Nets.IRecomputable)m).Recompute;
        Assert.True(couplings.Count >= 4);
        Assert.IsType<DenseFlow.Flows.ConditionalAffineCoupling>(couplings[0]); // the dequantizer runs first
        Assert.All(couplings, c => Assert.False(On(c)));
        model.RecomputeFraction = 0.5;
        int expected = (int)Math.Ceiling(couplings.Count / 2.0);
        Assert.Equal(Enumerable.Range(0, couplings.Count).Select(i => i < expected), couplings.Select(On));
        model.RecomputeFraction = 1;
        Assert.All(couplings, c => Assert.True(On(c)));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.RecomputeFraction = 1.5);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.RecomputeFraction = double.NaN);
    }

    [Fact]
    public void Recomputation_IsOffByDefault_AndDoesNothingWithoutAutograd()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 310);
        Assert.Equal(0, model.RecomputeFraction);
        var x = RandomImages(311, 2, config);
        model.eval();
        model.Noise = new SeededNoise(312);
        Tensor plain;
        using (no_grad()) plain = model.LogLikelihood(x);
        model.RecomputeFraction = 1;
        model.Noise = new SeededNoise(312);
        Tensor recomputed;
        using (no_grad()) recomputed = model.LogLikelihood(x);
        Assert.True(Same(plain, recomputed));
    }
}
