using DenseFlow.Data;
using TorchSharp;

namespace DenseFlow.Tests.Data;

public sealed class ImageBatcherTests
{
    /// <summary>Image i is filled with values derived from i, so a batch reveals which images it holds.</summary>
    private static InMemoryDataset Numbered(int count, ImageShape shape)
    {
        var pixels = new byte[count * shape.Size];
        for (int i = 0; i < count; i++)
            for (int p = 0; p < shape.Size; p++)
                pixels[i * shape.Size + p] = (byte)((i * 13 + p) % 256);
        return new InMemoryDataset("numbered", shape, pixels);
    }

    private static long[] Values(torch.Tensor t) => t.data<long>().ToArray();

    [Fact]
    public void BatchRows_AreThoseRowsOfTheWholeAugmentedBatch()
    {
        var ds = Numbered(50, new ImageShape(3, 8, 8));
        var batcher = new ImageBatcher(ds, 7, shuffle: true, seed: 5, Augmentation.FlipAndShift, dropLast: true);
        using var whole = batcher.GetBatch(2, 3);
        using var rank0 = batcher.GetBatchRows(2, 3, 0, 4);
        using var rank1 = batcher.GetBatchRows(2, 3, 4, 3);
        Assert.Equal(Values(whole.narrow(0, 0, 4)), Values(rank0));
        Assert.Equal(Values(whole.narrow(0, 4, 3)), Values(rank1));
        Assert.Throws<ArgumentOutOfRangeException>(() => batcher.GetBatchRows(2, 3, 4, 4));
    }

    [Fact]
    public void SameSeedEpochBatch_GivesIdenticalTensors_EvenFromANewBatcher()
    {
        var ds = Numbered(50, new ImageShape(3, 8, 8));
        var a = new ImageBatcher(ds, 8, shuffle: true, seed: 5, Augmentation.FlipAndShift, dropLast: true);
        var b = new ImageBatcher(ds, 8, shuffle: true, seed: 5, Augmentation.FlipAndShift, dropLast: true);

        using var first = a.GetBatch(3, 4);
        using var other = a.GetBatch(1, 0); // moves a's cached epoch elsewhere
        using var again = a.GetBatch(3, 4);
        using var resumed = b.GetBatch(3, 4);

        Assert.Equal(new long[] { 8, 3, 8, 8 }, first.shape);
        Assert.Equal(torch.ScalarType.Int64, first.dtype);
        Assert.Equal(Values(first), Values(again));
        Assert.Equal(Values(first), Values(resumed));
    }

    [Fact]
    public void Epochs_HaveDifferentPermutations_AndSeedsDiffer()
    {
        var ds = Numbered(40, new ImageShape(1, 2, 2));
        var batcher = new ImageBatcher(ds, 10, shuffle: true, seed: 1, Augmentation.None, dropLast: false);

        var e0 = batcher.GetOrder(0);
        var e1 = batcher.GetOrder(1);
        Assert.NotEqual(e0, e1);
        Assert.Equal(Enumerable.Range(0, 40), e0.Order());
        Assert.NotEqual(e0, new ImageBatcher(ds, 10, true, seed: 2, Augmentation.None, false).GetOrder(0));

        // The batch holds the images the order names.
        using var batch = batcher.GetBatch(1, 2);
        var values = Values(batch);
        for (int i = 0; i < 10; i++)
            Assert.Equal((e1[20 + i] * 13) % 256, values[i * 4]);
    }

    [Fact]
    public void NoShuffle_DropLast_And_GetRange()
    {
        var ds = Numbered(10, new ImageShape(1, 2, 2));
        var keep = new ImageBatcher(ds, 4, shuffle: false, seed: 0, Augmentation.None, dropLast: false);
        var drop = new ImageBatcher(ds, 4, shuffle: false, seed: 0, Augmentation.None, dropLast: true);
        Assert.Equal(3, keep.BatchesPerEpoch);
        Assert.Equal(2, drop.BatchesPerEpoch);

        using var tail = keep.GetBatch(0, 2);
        Assert.Equal(new long[] { 2, 1, 2, 2 }, tail.shape);
        Assert.Equal(8 * 13, Values(tail)[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => drop.GetBatch(0, 2));

        var augmented = new ImageBatcher(ds, 4, shuffle: true, seed: 3, Augmentation.FlipAndShift, dropLast: false);
        using var range = augmented.GetRange(3, 5);
        Assert.Equal(new long[] { 5, 1, 2, 2 }, range.shape);
        var expected = new byte[5 * 4];
        for (int i = 0; i < 5; i++) ds.CopyImage(3 + i, expected.AsSpan(i * 4, 4));
        Assert.Equal(expected.Select(v => (long)v), Values(range));
    }

    [Fact]
    public void Augment_FlipAndShift_ReplicatesEdges()
    {
        // One 3×4 channel:  1  2  3  4 /  5  6  7  8 /  9 10 11 12
        var shape = new ImageShape(1, 3, 4);
        byte[] image = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        var output = new long[12];

        ImageBatcher.Augment(image, shape, flip: true, shiftX: 0, shiftY: 0, output);
        Assert.Equal(new long[] { 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9 }, output);

        // Content moves right by 1 and down by 1; the left column and top row repeat the edge.
        ImageBatcher.Augment(image, shape, flip: false, shiftX: 1, shiftY: 1, output);
        Assert.Equal(new long[] { 1, 1, 2, 3, 1, 1, 2, 3, 5, 5, 6, 7 }, output);

        // Flip first, then move left by 2 and up by 1.
        ImageBatcher.Augment(image, shape, flip: true, shiftX: -2, shiftY: -1, output);
        Assert.Equal(new long[] { 6, 5, 5, 5, 10, 9, 9, 9, 10, 9, 9, 9 }, output);
    }

    [Fact]
    public void Augmentation_KeepsValuesInRange_AndVariesByPosition()
    {
        var ds = Numbered(64, new ImageShape(3, 32, 32));
        var batcher = new ImageBatcher(ds, 64, shuffle: false, seed: 9, Augmentation.FlipAndShift, dropLast: false);
        using var batch = batcher.GetBatch(0, 0);
        var values = Values(batch);
        Assert.All(values, v => Assert.InRange(v, 0, 255));

        // Each augmented image equals its source under one of the allowed (flip, shift) combinations.
        int max = ImageBatcher.MaxShift(32);
        Assert.Equal(1, max);
        Assert.Equal(3, ImageBatcher.MaxShift(64));
        var seen = new HashSet<(bool, int, int)>();
        var source = new byte[ds.Shape.Size];
        var candidate = new long[ds.Shape.Size];
        for (int i = 0; i < 64; i++)
        {
            ds.CopyImage(i, source);
            var actual = values[(i * ds.Shape.Size)..((i + 1) * ds.Shape.Size)];
            var match = (from flip in new[] { false, true }
                         from sx in Enumerable.Range(-max, 2 * max + 1)
                         from sy in Enumerable.Range(-max, 2 * max + 1)
                         select (flip, sx, sy)).Where(c =>
            {
                ImageBatcher.Augment(source, ds.Shape, c.flip, c.sx, c.sy, candidate);
                return candidate.AsSpan().SequenceEqual(actual);
            }).ToList();
            Assert.NotEmpty(match);
            seen.Add(match[0]);
        }
        Assert.True(seen.Count >= 6, $"only {seen.Count} distinct augmentations in 64 images");
        Assert.Contains(seen, s => s.Item1);
        Assert.Contains(seen, s => !s.Item1);
    }
}
