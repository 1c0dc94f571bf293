using System.Globalization;
using DenseFlow.Tests.Model;
using DenseFlow.Toolbox;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Toolbox;

public class InceptionFeaturesTests
{
    [Fact]
    public void ResizeMatchesPilBicubicOnFloatImages()
    {
        // The image of make_pil_bicubic_reference.py and what PIL 9.4 made of it at 299×299.
        var pixels = new double[7 * 6];
        for (int i = 0; i < 7; i++) for (int j = 0; j < 6; j++) pixels[i * 6 + j] = (37 * i + 11 * j * j) % 256;
        using var image = tensor(pixels, new long[] { 1, 1, 7, 6 }, dtype: ScalarType.Float64);
        using var resized = PilBicubicResize.Resize(image, 299, 299);
        var lines = File.ReadAllLines(TestDataFiles.Path("pil-bicubic-299.csv")).Skip(1).ToArray();
        Assert.True(lines.Length > 100);
        foreach (var line in lines)
        {
            var f = line.Split(',');
            int r = int.Parse(f[0], CultureInfo.InvariantCulture), c = int.Parse(f[1], CultureInfo.InvariantCulture);
            double expected = double.Parse(f[2], CultureInfo.InvariantCulture);
            double actual = resized[0, 0, r, c].item<float>();
            Assert.True(Math.Abs(expected - actual) <= 2e-5 * Math.Max(1, Math.Abs(expected)), $"({r},{c}): PIL {expected}, ours {actual}");
        }
    }

    [Fact]
    public void ResizeWeightsAreNormalisedSoAConstantImageStaysConstant()
    {
        using var m = PilBicubicResize.Matrix(28, 299);
        TestUtil.AssertClose(ones(299, dtype: ScalarType.Float64), m.sum(1), 1e-12, "row sums");
        using var flat = full(new long[] { 2, 3, 28, 28 }, 77.0);
        TestUtil.AssertClose(full(new long[] { 2, 3, 299, 299 }, 77.0), PilBicubicResize.Resize(flat, 299, 299), 1e-4, "constant image");
    }

    [Fact]
    public void StandInNetworkLoadsAndItsFeaturesAreThoseOfItsLayers()
    {
        using var net = InceptionFeatures.Load(TestDataFiles.StandInInception);
        using var images = TestUtil.Randn(1, ScalarType.Float64, 3, 1, 28, 28).mul(60).add(120).clamp(0, 255).round().to(ScalarType.Int64);
        using var features = net.Features(images);
        Assert.Equal(new long[] { 3, 8 }, features.shape);

        // Independently: the stand-in's layers are conv(5×5, stride 4) → tanh → global mean, on (x − 128)/128 of the
        // grey image repeated to RGB and resized to 299×299. Its weights are read from the file's parameters.
        using var file = jit.load(TestDataFiles.StandInInception);
        var p = file.named_parameters().ToDictionary(t => t.name, t => t.parameter);
        using var input = InceptionFeatures.Preprocess(images);
        Assert.Equal(new long[] { 3, 3, 299, 299 }, input.shape);
        TestUtil.AssertClose(input.select(1, 0), input.select(1, 2), 0, "grey repeated to three channels");
        using var expected = nn.functional.conv2d(input, p["layers.conv.weight"], p["layers.conv.bias"], strides: new long[] { 4, 4 })
            .tanh().mean(new long[] { 2, 3 });
        TestUtil.AssertClose(expected, features, 1e-5, "features vs the layers computed by hand");
        // Input normalisation: pixel 128 maps to 0, 255 to 127/128.
        using var grey = full(new long[] { 1, 1, 28, 28 }, 255L);
        Assert.Equal(127.0 / 128, InceptionFeatures.Preprocess(grey)[0, 0, 150, 150].item<float>(), 5);
    }

    [Fact]
    public void AFileThatIsNotTorchScriptIsRefusedClearly()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"not-inception-{Guid.NewGuid():N}.pt");
        File.WriteAllBytes(path, new byte[] { 0x89, 0x50, 0x4e, 0x47, 1, 2, 3 });
        try
        {
            var e = Assert.Throws<InceptionFileException>(() => InceptionFeatures.Load(path));
            Assert.Contains("not a TorchScript file", e.Message);
            Assert.DoesNotContain("\n", e.Message);
        }
        finally { File.Delete(path); }
        Assert.Throws<InceptionFileException>(() => InceptionFeatures.Load(path));
    }
}
