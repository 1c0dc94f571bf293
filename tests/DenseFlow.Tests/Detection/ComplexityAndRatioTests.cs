using DenseFlow.Data;
using DenseFlow.Detection;
using DenseFlow.Evaluation;
using DenseFlow.Model;
using DenseFlow.Noise;
using DenseFlow.Tests.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Detection;

public class ComplexityAndRatioTests
{
    /// <summary>Garment-like test images: a bright blob on a dark background, with some texture.</summary>
    static InMemoryDataset Garments(int count, int channels = 1)
    {
        var shape = new ImageShape(channels, 28, 28);
        var pixels = new byte[count * shape.Size];
        var rng = new Random(5);
        for (int n = 0; n < count; n++)
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < 28; y++)
                    for (int x = 0; x < 28; x++)
                    {
                        bool inside = Math.Abs(x - 14) < 6 + n && Math.Abs(y - 14) < 10;
                        pixels[n * shape.Size + c * 784 + y * 28 + x] = inside ? (byte)(150 + rng.Next(100)) : (byte)0;
                    }
        return new InMemoryDataset("garments", shape, pixels);
    }

    [Theory]
    [InlineData(1, LosslessCodec.Png)]
    [InlineData(3, LosslessCodec.Png)]
    [InlineData(1, LosslessCodec.Webp)]
    [InlineData(3, LosslessCodec.Webp)]
    public void TheComplexityTermIsTheLengthOfTheFileTheCodecWrites(int channels, LosslessCodec codec)
    {
        var images = Garments(3, channels);
        var perImage = CompressedLength.BitsPerDim(images, codec);
        using var dir = new DenseFlow.Tests.Data.TempDirectory();
        for (int i = 0; i < images.Count; i++)
        {
            var chw = DenseFlow.Tests.Data.TestFiles.Image(images, i);
            string path = dir.Combine($"{i}.{codec}");
            File.WriteAllBytes(path, CompressedLength.Encode(chw, images.Shape, codec));
            Assert.Equal(new FileInfo(path).Length * 8.0 / images.Shape.Size, perImage[i], 12);

            // The file is a real, lossless image of the right format: decoding gives the pixels back.
            using var decoded = SKBitmap.Decode(path);
            using var codecInfo = SKCodec.Create(path);
            Assert.Equal(codec == LosslessCodec.Png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Webp, codecInfo.EncodedFormat);
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    var color = decoded.GetPixel(x, y);
                    Assert.Equal(chw[y * 28 + x], color.Red);
                    if (channels == 3) Assert.Equal(chw[2 * 784 + y * 28 + x], color.Blue);
                }
        }
        // Level 9 with every filter is no larger than Skia's default PNG encoding.
        if (codec == LosslessCodec.Png)
        {
            var chw = DenseFlow.Tests.Data.TestFiles.Image(images, 0);
            using var bitmap = new SKBitmap(new SKImageInfo(28, 28, channels == 1 ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Opaque));
            if (channels == 1) System.Runtime.InteropServices.Marshal.Copy(chw, 0, bitmap.GetPixels(), 784);
            else for (int y = 0; y < 28; y++) for (int x = 0; x < 28; x++) bitmap.SetPixel(x, y, new SKColor(chw[y * 28 + x], chw[784 + y * 28 + x], chw[1568 + y * 28 + x]));
            using var plain = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            Assert.True(perImage[0] * images.Shape.Size / 8 <= plain.Size, $"{perImage[0] * images.Shape.Size / 8} > {plain.Size}");
        }
    }

    static double[] DirectBpd(DenseFlowModel model, Tensor x, long seed)
    {
        using var noise = new SeededNoise(seed);
        model.Noise = noise;
        using var _ = no_grad();
        var ll = model.LogLikelihood(x).to(ScalarType.Float64).data<double>().ToArray();
        return ll.Select(l => -l / (model.Config.Dimensions * Math.Log(2))).ToArray();
    }

    [Fact]
    public void RatioAndComplexityAreTheDifferencesOfTheirParts()
    {
        var images = Garments(4);
        using var main = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 1);
        using var background = new DenseFlowModel(TinyModels.FashionMnist with { UnitsPerBlock = [1, 1] }, initSeed: 2);
        DenseFlow.Tests.Model.TestUtil.Perturb(main, 11, 0.05);
        DenseFlow.Tests.Model.TestUtil.Perturb(background, 12, 0.05);
        main.eval();
        background.eval();
        var settings = new BoundSettings(K: 1, Batch: 64, Seed: 9);
        var m = OodScorer.Measure(main, background, images, [OodMethod.Ratio, OodMethod.Complexity], settings);

        // The same draws: each model with its own stream from the same seed, on the same batch, computed here directly.
        using var x = new ImageBatcher(images, 4, false, 0, Augmentation.None, false).GetRange(0, 4);
        var bpdMain = DirectBpd(main, x, 9);
        var bpdBackground = DirectBpd(background, x, 9);
        var ratio = OodScorer.Scores(OodMethod.Ratio, m);
        var complexity = OodScorer.Scores(OodMethod.Complexity, m);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(bpdMain[i], m.Bpd[i], 9);
            Assert.Equal(bpdMain[i] - bpdBackground[i], ratio[i], 9);
            var png = CompressedLength.Encode(DenseFlow.Tests.Data.TestFiles.Image(images, i), images.Shape, LosslessCodec.Png);
            Assert.Equal(bpdMain[i] - png.Length * 8.0 / 784, complexity[i], 9);
        }
        Assert.NotEqual(bpdMain[0], bpdBackground[0]);
    }

    [Fact]
    public void IwboRatioUsesTheBoundOfBothModels()
    {
        var images = Garments(2);
        using var main = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 1);
        using var background = new DenseFlowModel(TinyModels.FashionMnist, initSeed: 3);
        main.eval();
        background.eval();
        var settings = new BoundSettings(K: 3, Batch: 8, Seed: 4);
        var m = OodScorer.Measure(main, background, images, [OodMethod.Ratio], settings);
        double[] Iwbo(DenseFlowModel model)
        {
            using var noise = new SeededNoise(4);
            model.Noise = noise;
            using var x = new ImageBatcher(images, 2, false, 0, Augmentation.None, false).GetRange(0, 2);
            using var b = Likelihood.ImportanceWeighted(model, x, 3, 3);
            return b.data<double>().ToArray().Select(l => Likelihood.BitsPerDim(l, 784)).ToArray();
        }
        var a = Iwbo(main);
        var c = Iwbo(background);
        var ratio = OodScorer.Scores(OodMethod.Ratio, m);
        for (int i = 0; i < 2; i++) Assert.Equal(a[i] - c[i], ratio[i], 9);
    }
}
