using DenseFlow.Evaluation;
using DenseFlow.Flows;
using DenseFlow.Model;
using DenseFlow.Noise;
using TorchSharp;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Model;

/// <summary>SPEC §1, §8, §9 on a tiny model: exact reconstruction, sampling, draw order, importance-weighted bound.</summary>
public sealed class DenseFlowModelTests
{
    [Fact]
    public void TinyConfig_PlanHasExpectedShapes()
    {
        var plan = TinyConfig().Plan();
        Assert.Equal(2, plan.Blocks.Count);
        Assert.Equal(new[] { 12, 14 }, plan.Blocks[0].UnitWidths);
        Assert.Equal((4, 4), (plan.Blocks[0].Height, plan.Blocks[0].Width));
        Assert.Equal(new[] { 28 }, plan.Blocks[1].UnitWidths);
        Assert.Equal(new[] { 28, 2, 2 }, plan.LatentShape);
        Assert.Equal(28 * 2 * 2, plan.DroppedDimensions);
        // Every data dimension and every appended noise dimension ends up in the latent or in a dropped half.
        int noise = plan.Blocks.Sum(b => (b.Units - 1) * 2 * b.Height * b.Width);
        Assert.Equal(32, noise);
        Assert.Equal(TinyConfig().Dimensions + noise, plan.LatentShape.Aggregate(1, (a, b) => a * b) + plan.DroppedDimensions);
    }

    [Fact]
    public void SingleBlock_DecodeOfEncode_ReturnsTheImagesExactly()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig([2]);
        using var model = BuildInitialised(config, 200, ScalarType.Float64);
        var x = RandomImages(201, 3, config);

        var recording = new RecordingNoise(new SeededNoise(202));
        model.Noise = recording;
        var z = model.Encode(x);
        Assert.Equal(new long[] { 3, 14, 4, 4 }, z.shape);
        Assert.Equal(2, recording.Draws.Count); // dequantizer ε, then one cross-unit ε

        // The continuous path: decoding z gives exactly the dequantized v of the same draws.
        var (v, _) = model.Dequantizer.Dequantize(x, null, new ReplayNoise(recording.Draws), ScalarType.Float64);
        AssertClose(v, model.DecodeToContinuous(z), 1e-10, "DecodeToContinuous(Encode(x)) vs v");

        var decoded = model.Decode(z);
        Assert.Equal(ScalarType.Int64, decoded.dtype);
        Assert.True(Same(decoded, x), $"Decode(Encode(x)) differs from x in {decoded.ne(x).sum().item<long>()} pixels");
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-10)]
    public void TwoBlocks_InverseWithTheTrueDroppedHalf_RestoresV(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 210, dtype);
        var x = RandomImages(211, 3, config);
        CheckKeptPathRoundTrip(model, x, 212, tolerance, exactImages: dtype == ScalarType.Float64);
    }

    /// <summary>
    /// v → z with recorded draws, then z → v with the true dropped halves replayed through the model's own
    /// transition inverses (DecodeToContinuous), also step by step through DenseFlowBlock.inverse.
    /// </summary>
    internal static void CheckKeptPathRoundTrip(DenseFlowModel model, Tensor x, long seed, double tolerance, bool exactImages)
    {
        using var scope = NewDisposeScope();
        var dtype = model.DType;
        var (v, _) = model.Dequantizer.Dequantize(x, null, new SeededNoise(seed), dtype);
        var outputs = new Dictionary<int, Tensor>();
        model.Noise = new SeededNoise(seed + 1);
        var (z, _) = model.FlowForward(v, (i, output, _) => outputs[i] = output);
        int blocks = model.Blocks.Count;
        Assert.Equal(2 * blocks + 1, outputs.Count); // shift, squeeze, blocks and transitions

        // Dropped halves, first transition first; the model draws them last transition first.
        var dropped = new List<Tensor>();
        for (int b = 0; b < blocks - 1; b++)
        {
            var blockOut = outputs[3 + 2 * b];
            var halves = Squeeze.Apply(blockOut).chunk(2, 1);
            AssertClose(halves[0], outputs[4 + 2 * b], 0, $"transition {b} keeps the first half");
            dropped.Add(halves[1]);
        }
        dropped.Reverse();

        model.Noise = new ReplayNoise(dropped);
        var vBack = model.DecodeToContinuous(z);
        AssertClose(v, vBack, tolerance, "DecodeToContinuous(z) with the true dropped halves vs v");

        // Step by step: each block's inverse restores its input.
        for (int b = blocks - 1; b >= 0; b--)
        {
            var blockIn = outputs[b == 0 ? 2 : 4 + 2 * (b - 1)];
            AssertClose(blockIn, model.Blocks[b].inverse(outputs[3 + 2 * b]), tolerance, $"block {b} inverse");
        }

        if (exactImages)
        {
            model.Noise = new ReplayNoise(dropped);
            var decoded = model.Decode(z);
            Assert.True(Same(decoded, x), $"Decode(z) differs from x in {decoded.ne(x).sum().item<long>()} pixels");
        }
    }

    [Fact]
    public void Bound_DrawsDequantizerNoiseFirst_ThenCrossUnitNoiseInBlockOrder()
    {
        using var scope = NewDisposeScope();
        // The standard prior, so that the prior term can be checked by hand below.
        var config = TinyConfig() with { UnitsPerBlock = [3, 2], Prior = PriorKind.Standard };
        using var model = BuildInitialised(config, 220);
        var recording = new RecordingNoise(new SeededNoise(221));
        model.Noise = recording;
        var terms = model.Bound(RandomImages(222, 2, config));
        var shapes = recording.Draws.Select(d => string.Join(",", d.shape)).ToArray();
        // dequantizer base (2,12,4,4); block 0 before units 1 and 2 (2,2,4,4); block 1 before unit 1 (2,2,2,2).
        Assert.Equal(new[] { "2,12,4,4", "2,2,4,4", "2,2,4,4", "2,2,2,2" }, shapes);
        // The prior term is the N(0, I) log-density of the latent, computed here by hand in float64.
        var z = terms.Latent.to(ScalarType.Float64).reshape(2, -1);
        var prior = ToDoubles(terms.PriorLogProb);
        for (int i = 0; i < 2; i++)
        {
            var zi = ToDoubles(z[i]);
            double expected = -0.5 * zi.Sum(v => v * v) - 0.5 * zi.Length * Math.Log(2 * Math.PI);
            Assert.True(Math.Abs(prior[i] - expected) <= 1e-4 * Math.Abs(expected), $"image {i}: prior term {prior[i]}, N(0, I) log-density {expected}");
        }
    }

    /// <summary>SPEC §5: G_k = concat(x⁽⁰⁾, y₀, …, y_{k−2}), e = μ + σ·ε appended after y_{k−1}, checked by hand for 4 units.</summary>
    [Fact]
    public void Block_CrossUnitCoupling_ConditionsOnInputAndEarlierUnitOutputs()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig() with { UnitsPerBlock = [4, 1] };
        Assert.Equal(new[] { 12, 24, 38 }, config.Plan().Blocks[0].NoiseNetInputs); // n_k = k·C + k_g(k−1)(k−2)/2
        using var model = BuildInitialised(config, 225, ScalarType.Float64);
        var block = model.Blocks[0];
        Assert.Equal(4, block.Units.Count);
        Assert.Equal(3, block.Couplings.Count);
        var x = Randn(226, ScalarType.Float64, 2, 12, 4, 4);
        var eps = Enumerable.Range(0, 3).Select(i => Randn(227 + i, ScalarType.Float64, 2, 2, 4, 4)).ToList();

        var (y, logDet) = block.forward(x, new TransformContext(new ReplayNoise(eps), ScalarType.Float64));

        var (expected, expectedLd) = block.Units[0].forward(x);
        var outputs = new List<Tensor> { x, expected };
        for (int k = 1; k < 4; k++)
        {
            var condition = cat(outputs.Take(k).ToArray(), 1); // x⁽⁰⁾, y₀, …, y_{k−2}
            var (e, term) = block.Couplings[k - 1].Augment(condition, eps[k - 1]);
            var (next, ld) = block.Units[k].forward(cat(new[] { expected, e }, 1));
            expected = next;
            outputs.Add(next);
            expectedLd = expectedLd + term + ld;
        }
        Assert.Equal(new long[] { 2, 18, 4, 4 }, y.shape);
        AssertClose(expected, y, 1e-10, "block output vs SPEC §5 by hand");
        AssertClose(expectedLd, logDet, 1e-8, "block log-det vs SPEC §5 by hand");
        AssertClose(x, block.inverse(y), 1e-10, "block inverse drops the noise channels");
    }

    [Fact]
    public void Sample_ReturnsInt64ImagesInRange_DrawingPriorThenDroppedHalves()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 230);
        var recording = new RecordingNoise(new SeededNoise(231));
        model.Noise = recording;
        var samples = model.Sample(5);
        Assert.Equal(ScalarType.Int64, samples.dtype);
        Assert.Equal(new long[] { 5, 3, 8, 8 }, samples.shape);
        Assert.True(samples.min().item<long>() >= 0 && samples.max().item<long>() <= 255, "sample values outside 0..255");
        Assert.True(samples.unique().Item1.numel() > 10, "samples are (nearly) constant");
        Assert.Equal(2, recording.Draws.Count);
        Assert.All(recording.Draws, d => Assert.Equal(new long[] { 5, 28, 2, 2 }, d.shape));
        // Draw 0 is the prior's latent, draw 1 the dropped half: decoding them in that role gives the samples,
        // in the swapped roles other images.
        Tensor DecodeFrom(Tensor priorDraw, Tensor droppedDraw)
        {
            model.Noise = new ReplayNoise(new[] { priorDraw });
            var z = model.SampleLatent(5);
            model.Noise = new ReplayNoise(new[] { droppedDraw });
            return model.Decode(z);
        }
        Assert.True(Same(DecodeFrom(recording.Draws[0], recording.Draws[1]), samples), "samples are not Decode(prior(draw 0)) with draw 1 as the dropped half");
        Assert.False(Same(DecodeFrom(recording.Draws[1], recording.Draws[0]), samples), "swapping the roles of the two draws gives the same samples");

        // The same seed gives the same samples.
        model.Noise = new SeededNoise(231);
        Assert.True(Same(model.Sample(5), samples), "same seed, different samples");
    }

    [Fact]
    public void ImportanceWeighted_WithOneDraw_EqualsTheSingleSampleBound()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 240);
        var x = RandomImages(241, 3, config);
        model.Noise = new SeededNoise(242);
        var iw = Likelihood.ImportanceWeighted(model, x, 1, 1);
        model.Noise = new SeededNoise(242);
        var single = model.LogLikelihood(x);
        Assert.Equal(ScalarType.Float64, iw.dtype);
        Assert.Equal(new long[] { 3 }, iw.shape);
        AssertClose(single, iw, 1e-4, "IWBO(K=1) vs LogLikelihood");
    }

    [Fact]
    public void ImportanceWeighted_WithEightDraws_IsTheLogMeanExpOfSeparatelyComputedBounds()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 250);
        var x = RandomImages(251, 2, config);
        var recording = new RecordingNoise(new SeededNoise(252));
        model.Noise = recording;
        var iw = ToDoubles(Likelihood.ImportanceWeighted(model, x, 8, 3, out var all));
        Assert.Equal(new long[] { 2, 8 }, all.shape);
        // Passes of 3, 3 and 2 draws, each drawing the same noise tensors (dequantizer, then cross-unit) for all its rows.
        Assert.Equal(0, recording.Draws.Count % 3);
        int perPass = recording.Draws.Count / 3;
        int[] drawsInPass = { 3, 3, 2 };
        // Independently: each (image, draw) bound on its own, from its rows of the recorded noise, then a
        // float64 logsumexp written out here.
        for (int i = 0; i < 2; i++)
        {
            var bounds = new List<double>();
            for (int p = 0; p < 3; p++)
                for (int j = 0; j < drawsInPass[p]; j++)
                {
                    long row = i * drawsInPass[p] + j;
                    model.Noise = new ReplayNoise(recording.Draws.Skip(perPass * p).Take(perPass).Select(d => d.narrow(0, row, 1)).ToList());
                    bounds.Add(model.LogLikelihood(x.narrow(0, i, 1)).to(ScalarType.Float64).item<double>());
                }
            double max = bounds.Max();
            double expected = max + Math.Log(bounds.Sum(b => Math.Exp(b - max))) - Math.Log(8);
            Assert.True(Math.Abs(iw[i] - expected) <= 1e-5 * Math.Abs(expected), $"image {i}: IWBO {iw[i]}, logsumexp of separate bounds {expected}");
            Assert.True(bounds.Max() - bounds.Min() > 1e-3, $"image {i}: the 8 draws give identical bounds");
        }

        // Layout: with all 8 draws in one pass, row i of allBounds is image i's draws.
        model.Noise = new SeededNoise(253);
        Likelihood.ImportanceWeighted(model, x, 8, 8, out var onePass);
        model.Noise = new SeededNoise(253);
        var direct = model.LogLikelihood(x.repeat_interleave(8, 0)).view(2, 8);
        // Same rows in one batch either way: only float32 rounding (relative ~1e-7 of bounds of thousands of nats,
        // and it varies with the thread count) separates them; a wrong layout moves rows by whole draws.
        double scale = direct.abs().max().item<float>();
        AssertClose(direct, onePass, 1e-6 * scale, "allBounds layout (image-major)");
    }

    [Fact]
    public void Float64Model_GivesFiniteBitsPerDim_CloseToFloat32()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = BuildInitialised(config, 260);
        var x = RandomImages(261, 3, config);
        model.Noise = new SeededNoise(262);
        var bpd32 = model.BitsPerDim(x);
        model.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, model.DType);
        model.Noise = new SeededNoise(262);
        var bpd64 = model.BitsPerDim(x);
        Assert.Equal(ScalarType.Float64, bpd64.dtype);
        Assert.True(bpd64.isfinite().all().item<bool>(), "float64 bits/dim not finite");
        Assert.True(bpd64.gt(0).all().item<bool>(), "bits/dim must be positive for 8-bit data");
        AssertClose(bpd32, bpd64, 1e-4, "float64 vs float32 bits/dim");
        var bpd = ToDoubles(bpd64);
        model.Noise = new SeededNoise(262);
        var ll = ToDoubles(model.LogLikelihood(x));
        for (int i = 0; i < 3; i++) Assert.Equal(Likelihood.BitsPerDim(ll[i], config.Dimensions), bpd[i], 9);
    }

    /// <summary>Fails while ActNorm.IsInitialized reads its float64 buffer as float (see BijectionTests).</summary>
    [Fact]
    public void Float64Model_TrainModeForward_InitialisesActNorm()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        using var model = new DenseFlowModel(config, new SeededNoise(270));
        model.to(ScalarType.Float64);
        model.train();
        var ll = model.LogLikelihood(RandomImages(271, 4, config));
        Assert.True(ll.isfinite().all().item<bool>());
        Assert.All(model.Blocks.SelectMany(b => b.Units).SelectMany(u => u.Modules), m => Assert.True(m.ActNorm.IsInitialized));
    }

    [Theory]
    [InlineData(CouplingKind.Glow, AugmentationKind.White, DequantizationKind.Uniform, PriorKind.Standard)]
    [InlineData(CouplingKind.Dense, AugmentationKind.None, DequantizationKind.Variational, PriorKind.Standard)]
    [InlineData(CouplingKind.Glow, AugmentationKind.Preconditioned, DequantizationKind.Uniform, PriorKind.Learned)]
    public void Variants_RunAndRoundTripTheKeptPath(CouplingKind coupling, AugmentationKind augmentation, DequantizationKind dequantization, PriorKind prior)
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig() with { Coupling = coupling, Augmentation = augmentation, Dequantization = dequantization, Prior = prior };
        using var model = BuildInitialised(config, 280, ScalarType.Float64);
        var x = RandomImages(281, 2, config);
        model.Noise = new SeededNoise(282);
        var ll = model.LogLikelihood(x);
        Assert.True(ll.isfinite().all().item<bool>());
        CheckKeptPathRoundTrip(model, x, 283, 1e-10, exactImages: true);
        if (prior == PriorKind.Standard) Assert.DoesNotContain(model.state_dict().Keys, k => k.StartsWith("prior."));
        if (augmentation == AugmentationKind.None) Assert.Equal(12, model.Plan.Blocks[0].OutChannels);
    }
}
