using DenseFlow.Model;
using DenseFlow.Nets;
using DenseFlow.Noise;
using TorchSharp;
using static DenseFlow.Tests.Model.TestUtil;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Nets;

/// <summary>The dense blocks' memory layout is a speed choice only: every layout must compute the same thing.</summary>
public class ActivationLayoutTests
{
    [Fact]
    public void A_channels_last_dense_block_returns_the_channels_first_result_in_channels_first_memory()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(7);
        using var block = new DenseBlock(8, 6, depth: 3, growth: 4, gated: true);
        DenseFlow.Tests.Model.TestUtil.Perturb(block, 8);
        var x = Randn(9, ScalarType.Float32, 2, 8, 16, 16);
        block.Layout = ActivationLayout.ChannelsFirst;
        var expected = block.forward(x);
        block.Layout = ActivationLayout.ChannelsLast;
        var actual = block.forward(x);
        Assert.True(actual.is_contiguous(), "the block's output must be contiguous NCHW, as its callers' views expect");
        AssertClose(expected, actual, 1e-5 * Math.Max(1, expected.abs().max().item<float>()), "dense block output");
        Assert.True(expected.abs().max().item<float>() > 0);
    }

    [Fact]
    public void Auto_uses_channels_last_on_cpu_in_eval_mode_and_in_training_only_with_avx512()
    {
        using var small = zeros(1, 4, 8, 8);
        using var large = zeros(1, 4, 16, 16);
        foreach (bool avx512 in new[] { false, true })
        {
            Assert.True(ActivationLayout.Auto.UseChannelsLast(small, training: false, avx512));
            Assert.True(ActivationLayout.Auto.UseChannelsLast(large, training: false, avx512));
            Assert.Equal(avx512, ActivationLayout.Auto.UseChannelsLast(small, training: true, avx512));
            Assert.Equal(avx512, ActivationLayout.Auto.UseChannelsLast(large, training: true, avx512));
        }
        // This machine's choice is its CPU's.
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, ActivationLayout.Auto.UseChannelsLast(large, training: true));
        Assert.True(ActivationLayout.ChannelsLast.UseChannelsLast(small, training: true));
        Assert.False(ActivationLayout.ChannelsFirst.UseChannelsLast(large, training: false));
    }

    [Theory]
    [InlineData("auto", ActivationLayout.Auto)]
    [InlineData("channels-first", ActivationLayout.ChannelsFirst)]
    [InlineData("NCHW", ActivationLayout.ChannelsFirst)]
    [InlineData("channels-last", ActivationLayout.ChannelsLast)]
    [InlineData("nhwc", ActivationLayout.ChannelsLast)]
    public void Layout_names_parse(string text, ActivationLayout expected) => Assert.Equal(expected, ActivationLayouts.Parse(text));

    [Fact]
    public void An_unknown_layout_name_is_refused_naming_the_choices()
    {
        var e = Assert.Throws<ArgumentException>(() => ActivationLayouts.Parse("hwcn"));
        Assert.Contains("channels-last", e.Message);
    }

    [Fact]
    public void Setting_the_model_layout_reaches_every_dense_block()
    {
        using var model = new DenseFlowModel(TinyConfig());
        var blocks = model.modules().OfType<DenseBlock>().ToList();
        Assert.True(blocks.Count > 4, $"only {blocks.Count} dense blocks found");
        Assert.All(blocks, b => Assert.Equal(ActivationLayout.Auto, b.Layout));
        model.ActivationLayout = ActivationLayout.ChannelsLast;
        Assert.All(blocks, b => Assert.Equal(ActivationLayout.ChannelsLast, b.Layout));
    }

    static (Tensor LogLik, Tensor Sample) Evaluate(DenseFlowModel model, DenseFlowConfig config, ActivationLayout layout)
    {
        model.ActivationLayout = layout;
        using var _ = no_grad();
        model.Noise = new SeededNoise(41);
        var logLik = model.LogLikelihood(RandomImages(42, 4, config));
        model.Noise = new SeededNoise(43);
        var sample = model.SampleContinuous(4);
        return (logLik.MoveToOuterDisposeScope(), sample.MoveToOuterDisposeScope());
    }

    [Fact]
    public void Every_layout_gives_the_same_log_likelihood_and_samples()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig() with { InputShape = [3, 32, 32] };
        using var model = BuildInitialised(config, 40);
        var first = Evaluate(model, config, ActivationLayout.ChannelsFirst);
        foreach (var layout in new[] { ActivationLayout.ChannelsLast, ActivationLayout.Auto })
        {
            var other = Evaluate(model, config, layout);
            AssertClose(first.LogLik, other.LogLik, 1e-5 * first.LogLik.abs().max().item<float>(), $"log-likelihood ({layout})");
            AssertClose(first.Sample, other.Sample, 1e-4 * Math.Max(1, first.Sample.abs().max().item<float>()), $"sample before quantisation ({layout})");
        }
    }

    static (double Loss, Dictionary<string, Tensor> Grads) TrainingStep(DenseFlowConfig config, ActivationLayout layout)
    {
        using var model = BuildInitialised(config, 50);
        model.ActivationLayout = layout;
        model.train();
        model.Noise = new SeededNoise(51);
        var loss = -model.LogLikelihood(RandomImages(52, 4, config)).mean();
        loss.backward();
        var grads = model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone().MoveToOuterDisposeScope());
        return (loss.item<float>(), grads);
    }

    [Fact]
    public void Every_layout_gives_the_same_training_loss_and_gradients()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig() with { InputShape = [3, 32, 32] };
        var first = TrainingStep(config, ActivationLayout.ChannelsFirst);
        Assert.True(first.Grads.Count > 20, $"only {first.Grads.Count} gradients");
        // Gradients are sums over pixels and images with cancellation: their rounding error scales with the largest gradient.
        double scale = first.Grads.Values.Max(g => g.abs().max().item<float>());
        foreach (var layout in new[] { ActivationLayout.ChannelsLast, ActivationLayout.Auto })
        {
            var other = TrainingStep(config, layout);
            Assert.True(Math.Abs(first.Loss - other.Loss) <= 1e-5 * Math.Abs(first.Loss), $"loss {first.Loss:R} vs {other.Loss:R} ({layout})");
            Assert.Equal(first.Grads.Keys.OrderBy(k => k), other.Grads.Keys.OrderBy(k => k));
            foreach (var (name, g) in first.Grads)
                AssertClose(g, other.Grads[name], 1e-4 * g.abs().max().item<float>() + 1e-5 * scale, $"gradient of {name} ({layout}; largest gradient {scale:E2})");
        }
    }
}
