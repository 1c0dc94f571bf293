using DenseFlow.Data;
using DenseFlow.Detection;

namespace DenseFlow.Tests.Detection;

/// <summary>
/// The knn score against a brute-force loop over every pair of images, the leave-one-out distances of the
/// training images (their own image never counts, an exact duplicate does), and the complexity-knn sum.
/// </summary>
public class NeighbourScoreTests
{
    static readonly ImageShape Shape = new(1, 4, 3);

    static InMemoryDataset Random(string name, int count, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[count * Shape.Size];
        rng.NextBytes(pixels);
        return new InMemoryDataset(name, Shape, pixels);
    }

    static byte[] Image(IImageDataset d, int i)
    {
        var b = new byte[d.Shape.Size];
        d.CopyImage(i, b);
        return b;
    }

    /// <summary>Mean of the k smallest Euclidean distances from <paramref name="query"/> to the references, skipping index <paramref name="self"/>, in [0, 1] pixel units per √D.</summary>
    static double BruteForce(byte[] query, IImageDataset refs, int k, int self = -1)
    {
        var d = new List<double>();
        for (int r = 0; r < refs.Count; r++)
        {
            if (r == self) continue;
            var img = Image(refs, r);
            double s = 0;
            for (int j = 0; j < img.Length; j++) s += (query[j] - img[j]) * (double)(query[j] - img[j]);
            d.Add(Math.Sqrt(s));
        }
        d.Sort();
        return d.Take(k).Average() / (255 * Math.Sqrt(query.Length));
    }

    [Fact]
    public void TheKnnScoreIsTheMeanDistanceToTheKNearestTrainingImages()
    {
        var train = Random("train", 40, 1);
        var test = Random("test", 7, 2);
        using var reference = new NeighbourReference(train, k: 3);
        var scores = reference.Distances(test);
        for (int i = 0; i < test.Count; i++)
            Assert.Equal(BruteForce(Image(test, i), train, 3), scores[i], 10);
        // A training image itself is at distance 0 from its first neighbour: the score counts it (no leave-one-out here).
        Assert.Equal(BruteForce(Image(train, 5), train, 3), reference.Distances(new LimitedDataset(train, 6))[5], 10);
    }

    [Fact]
    public void LeaveOneOutDropsTheImageItselfButNotItsDuplicate()
    {
        var pixels = new byte[30 * Shape.Size];
        new Random(3).NextBytes(pixels);
        // Image 4 is an exact copy of image 2.
        Array.Copy(pixels, 2 * Shape.Size, pixels, 4 * Shape.Size, Shape.Size);
        var train = new InMemoryDataset("train", Shape, pixels);
        using var reference = new NeighbourReference(train, k: 2);
        var loo = reference.LeaveOneOut(10);
        for (int i = 0; i < 10; i++)
            Assert.Equal(BruteForce(Image(train, i), train, 2, self: i), loo[i], 10);
        // The duplicate is at distance 0: image 2's mean is (0 + its nearest other image) / 2.
        var others = new InMemoryDataset("others", Shape, Others(pixels, 2, 4));
        Assert.Equal(BruteForce(Image(train, 2), others, 1) / 2, loo[2], 10);
        Assert.Equal(loo[2], loo[4], 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => reference.LeaveOneOut(31));
    }

    /// <summary>All images but <paramref name="a"/> and <paramref name="b"/>.</summary>
    static byte[] Others(byte[] pixels, int a, int b)
    {
        int n = pixels.Length / Shape.Size;
        return Enumerable.Range(0, n).Where(i => i != a && i != b).SelectMany(i => pixels.Skip(i * Shape.Size).Take(Shape.Size)).ToArray();
    }

    [Fact]
    public void TheCombinedScoreIsTheSumOfTheStandardisedScores()
    {
        double[] c = [1, 2, 3, 6], n = [0.1, 0.1, 0.2, 0.4];
        var scale = CombinedScale.From(c, n);
        // By hand: mean 3, sample spread √(14/3); mean 0.2, spread √(0.06/3).
        Assert.Equal(3, scale.ComplexityMean, 12);
        Assert.Equal(Math.Sqrt(14.0 / 3), scale.ComplexitySpread, 12);
        Assert.Equal(0.2, scale.NeighbourMean, 12);
        Assert.Equal(Math.Sqrt(0.06 / 3), scale.NeighbourSpread, 12);
        var s = scale.Score([3, 10], [0.2, 0.2 + Math.Sqrt(0.02)]);
        Assert.Equal(0, s[0], 12);
        Assert.Equal(7 / Math.Sqrt(14.0 / 3) + 1, s[1], 12);
        Assert.Throws<ArgumentException>(() => CombinedScale.From([1, 1, 1], [0.1, 0.2, 0.3]));
        Assert.Throws<ArgumentException>(() => scale.Score([1, 2], [0.1]));
    }

    [Fact]
    public void TheMethodScoresUseTheMeasurements()
    {
        var m = new ImageMeasurements([4.0, 5.0], null, [3.0, 3.5], null, new Dictionary<string, double>(), [0.2, 0.3]);
        Assert.Equal([0.2, 0.3], OodScorer.Scores(OodMethod.Neighbours, m));
        var scale = new CombinedScale(1, 0.5, 0.2, 0.1);
        var combined = OodScorer.Scores(OodMethod.ComplexityNeighbours, m, scale: scale);
        Assert.Equal((4.0 - 3.0 - 1) / 0.5 + 0, combined[0], 12);
        Assert.Equal((5.0 - 3.5 - 1) / 0.5 + (0.3 - 0.2) / 0.1, combined[1], 12);
        Assert.Throws<InvalidOperationException>(() => OodScorer.Scores(OodMethod.ComplexityNeighbours, m));
    }

    [Fact]
    public void ImagesOfAnotherSizeAreRefused()
    {
        using var reference = new NeighbourReference(Random("train", 10, 1), k: 2);
        var other = new InMemoryDataset("other", new ImageShape(1, 5, 5), new byte[2 * 25]);
        var e = Assert.Throws<ArgumentException>(() => reference.Distances(other));
        Assert.Contains("other", e.Message);
        Assert.Throws<ArgumentException>(() => new NeighbourReference(Random("small", 2, 1), k: 2));
    }
}
