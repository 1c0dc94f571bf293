using DenseFlow.Model;
using DenseFlow.Noise;
using DenseFlow.Tests.Model;
using DenseFlow.Tests.Training;
using DenseFlow.Toolbox;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Toolbox;

public class InterpolationTests
{
    [Fact]
    public void SlerpOfOrthogonalUnitVectorsFollowsTheCircle()
    {
        using var a = tensor(new double[] { 1, 0 });
        using var b = tensor(new double[] { 0, 1 });
        foreach (double t in new[] { 0.25, 0.5, 0.9 })
        {
            using var p = Interpolation.Slerp(a, b, t);
            // On the unit circle at angle t·π/2 (hand-computed: cos, sin of the angle).
            TestUtil.AssertClose(tensor(new[] { Math.Cos(t * Math.PI / 2), Math.Sin(t * Math.PI / 2) }), p, 1e-12, $"slerp at {t}");
        }
        using var mid = Interpolation.Lerp(a, b, 0.5);
        TestUtil.AssertClose(tensor(new[] { 0.5, 0.5 }), mid, 0, "lerp mid-point");
    }

    [Fact]
    public void SlerpAndLerpEndPointsAreTheInputsBitForBit()
    {
        using var a = TestUtil.Randn(1, ScalarType.Float32, 1, 4, 3, 3);
        using var b = TestUtil.Randn(2, ScalarType.Float32, 1, 4, 3, 3);
        foreach (var kind in new[] { InterpolationKind.Spherical, InterpolationKind.Linear })
        {
            Assert.True(TestUtil.Same(a, Interpolation.Between(a, b, 0, kind)));
            Assert.True(TestUtil.Same(b, Interpolation.Between(a, b, 1, kind)));
        }
        // Parallel vectors fall back to the straight line instead of dividing by sin 0.
        using var twice = a * 2;
        TestUtil.AssertClose(a * 1.5, Interpolation.Slerp(a, twice, 0.5), 1e-6, "slerp of parallel vectors");
    }

    [Fact]
    public void AllLatentsDecodeBackToTheImages()
    {
        using var model = TestUtil.BuildInitialised(TinyModels.FashionMnist, 11);
        using var x = TestUtil.RandomImages(12, 4, model.Config);
        foreach (INoiseSource noise in new INoiseSource[] { new MeanNoise(), new SeededNoise(3) })
        {
            model.Noise = noise;
            using var latents = model.EncodeLatents(x);
            Assert.Equal(model.Transitions.Count, latents.Dropped.Count);
            Assert.Equal(model.Plan.LatentShape, latents.Final.shape.Skip(1).Select(d => (int)d).ToArray());
            using var back = model.DecodeLatents(latents);
            Assert.True(TestUtil.Same(x, back), $"decode(encode(x)) differs from x in {back.ne(x).sum().item<long>()} pixels");
        }
    }

    [Fact]
    public void InterpolationEndPointsDecodeToTheInputImagesExactly()
    {
        using var model = TestUtil.BuildInitialised(TinyModels.FashionMnist, 21);
        model.Noise = new MeanNoise();
        using var x = TestUtil.RandomImages(22, 4, model.Config);
        using var starts = x.narrow(0, 0, 2);
        using var ends = x.narrow(0, 2, 2);
        foreach (var kind in new[] { InterpolationKind.Spherical, InterpolationKind.Linear })
        {
            using var images = Interpolation.Images(model, starts, ends, 5, kind).view(2, 5, 1, 28, 28);
            Assert.True(TestUtil.Same(starts, images.select(1, 0)), $"{kind}: first image of each row is not the start image");
            Assert.True(TestUtil.Same(ends, images.select(1, 4)), $"{kind}: last image of each row is not the end image");
            // The path moves: a mid-point is neither end.
            Assert.False(TestUtil.Same(starts, images.select(1, 2)));
        }
    }

    [Fact]
    public void TemperatureScalesTheLatentsAsSamplingDoes()
    {
        using var model = TestUtil.BuildInitialised(TinyModels.FashionMnist, 31);
        model.Noise = new MeanNoise();
        using var x = TestUtil.RandomImages(32, 2, model.Config);
        using var a = model.EncodeLatents(x.narrow(0, 0, 1));
        using var b = model.EncodeLatents(x.narrow(0, 1, 1));
        using var path = Interpolation.Path(model, a, b, 3, InterpolationKind.Linear, temperature: 0.5);
        // End point at T = 0.5: z = loc + 0.5·(z − loc) of the prior, dropped halves halved.
        using var loc = model.Prior.FromNoise(zeros_like(a.Final));
        TestUtil.AssertClose(loc + 0.5 * (a.Final - loc), path.Final.narrow(0, 0, 1), 1e-5, "final latent at T = 0.5");
        for (int d = 0; d < a.Dropped.Count; d++)
            TestUtil.AssertClose(a.Dropped[d] * 0.5, path.Dropped[d].narrow(0, 0, 1), 1e-6, $"dropped half {d} at T = 0.5");
    }
}
