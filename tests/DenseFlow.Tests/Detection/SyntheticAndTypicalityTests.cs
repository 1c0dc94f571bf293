using DenseFlow.Data;
using DenseFlow.Detection;

namespace DenseFlow.Tests.Detection;

public class SyntheticAndTypicalityTests
{
    static InMemoryDataset Images(int count, ImageShape shape, int salt = 1) =>
        new("test", shape, DenseFlow.Tests.Data.TestFiles.Pattern(count * shape.Size, salt));

    static byte[] Read(IImageDataset d, int i) => DenseFlow.Tests.Data.TestFiles.Image(d, i);

    [Fact]
    public void InvertedIs255MinusTheImage()
    {
        var src = Images(3, new ImageShape(1, 5, 4));
        var inv = new SyntheticOodSet(src, SyntheticKind.Inverted);
        for (int i = 0; i < 3; i++) Assert.Equal(Read(src, i).Select(b => (byte)(255 - b)), Read(inv, i));
    }

    [Fact]
    public void ConstantAndNoiseAreDeterministicPerSeedAndIndex()
    {
        var src = Images(4, new ImageShape(1, 6, 6));
        var c = new SyntheticOodSet(src, SyntheticKind.Constant, seed: 3);
        for (int i = 0; i < 4; i++) Assert.Single(Read(c, i).Distinct());
        var n1 = new SyntheticOodSet(src, SyntheticKind.Noise, seed: 3);
        var n2 = new SyntheticOodSet(src, SyntheticKind.Noise, seed: 3);
        var n3 = new SyntheticOodSet(src, SyntheticKind.Noise, seed: 4);
        Assert.Equal(Read(n1, 2), Read(n2, 2));
        Assert.NotEqual(Read(n1, 2), Read(n3, 2));
        Assert.NotEqual(Read(n1, 1), Read(n1, 2));
    }

    [Fact]
    public void BlurKeepsAConstantImageAndSpreadsAPoint()
    {
        var flat = new InMemoryDataset("flat", new ImageShape(1, 9, 9), Enumerable.Repeat((byte)77, 81).ToArray());
        Assert.All(Read(new SyntheticOodSet(flat, SyntheticKind.Blur), 0), b => Assert.Equal(77, b));
        var point = new byte[81];
        point[4 * 9 + 4] = 255;
        var blurred = Read(new SyntheticOodSet(new InMemoryDataset("p", new ImageShape(1, 9, 9), point), SyntheticKind.Blur), 0);
        // σ = 1: the centre keeps 255·(0.399)² ≈ 40.6, its 4-neighbours 255·0.399·0.242 ≈ 24.6.
        Assert.Equal(41, blurred[4 * 9 + 4]);
        Assert.Equal(25, blurred[4 * 9 + 5]);
        Assert.Equal(blurred[3 * 9 + 4], blurred[5 * 9 + 4]);
    }

    [Fact]
    public void ContrastHalvesTheDistanceToTheMean()
    {
        var src = new InMemoryDataset("c", new ImageShape(1, 1, 4), [0, 100, 200, 100]);
        // mean 100 → 50, 100, 150, 100.
        Assert.Equal(new byte[] { 50, 100, 150, 100 }, Read(new SyntheticOodSet(src, SyntheticKind.Contrast), 0));
    }

    [Fact]
    public void MutationReplacesAboutMuOfThePixels()
    {
        var src = new InMemoryDataset("m", new ImageShape(1, 100, 100), new byte[10000]);
        Assert.All(Read(new MutatedDataset(src, 0, 1), 0), b => Assert.Equal(0, b));
        var mutated = Read(new MutatedDataset(src, 0.3, 1), 0);
        // A replaced pixel is non-zero with probability 255/256.
        double changed = mutated.Count(b => b != 0) / 10000.0;
        Assert.InRange(changed, 0.3 * 255 / 256 - 0.02, 0.3 * 255 / 256 + 0.02);
        Assert.Equal(mutated, Read(new MutatedDataset(src, 0.3, 1), 0));
    }

    [Fact]
    public void TypicalityScoreAndBatchTest()
    {
        var typical = TypicalBpd.FromScores([3, 4, 5, 4], k: 1, seed: 0, modelStamp: "m");
        Assert.Equal(4.0, typical.Mean, 12);
        Assert.Equal(Math.Sqrt(2.0 / 3), typical.StandardDeviation, 12);
        Assert.Equal(new[] { 1.0, 0.5, 0.0 }, typical.Score([5.0, 3.5, 4.0]));
        // ε for sets of 4: two resample means of {3,4,5,4} lie in [3, 5], so they differ by at most 2.
        double eps = typical.Epsilon(4);
        Assert.InRange(eps, 0.0, 2.0);
        Assert.True(typical.Test([6.0, 6.5, 7.0, 6.0]).Atypical);
        Assert.False(typical.Test([4.0, 4.0, 4.0, 4.0]).Atypical);
        // Training bpds all equal: any distance is atypical, zero distance is not.
        var flat = TypicalBpd.FromScores([2, 2, 2], 1, 0, "m");
        Assert.Equal(0.0, flat.Epsilon(10), 12);
        Assert.True(flat.Test([2.01]).Atypical);
    }

    [Fact]
    public void TypicalCacheIsOnlyReusedForTheSameSettings()
    {
        using var dir = new DenseFlow.Tests.Data.TempDirectory();
        string file = dir.Combine("typical.json");
        TypicalBpd.FromScores([1, 2, 3], 4, 7, "model:1").Save(file);
        Assert.NotNull(TypicalBpd.TryLoad(file, 4, 7, 3, "model:1"));
        Assert.Null(TypicalBpd.TryLoad(file, 1, 7, 3, "model:1"));
        Assert.Null(TypicalBpd.TryLoad(file, 4, 8, 3, "model:1"));
        Assert.Null(TypicalBpd.TryLoad(file, 4, 7, 2, "model:1"));
        Assert.Null(TypicalBpd.TryLoad(file, 4, 7, 3, "model:2"));
    }
}
