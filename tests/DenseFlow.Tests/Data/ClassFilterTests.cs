using System.Buffers.Binary;
using DenseFlow.Data;

namespace DenseFlow.Tests.Data;

/// <summary>DatasetOptions.Classes / ExcludeClasses on IDX datasets with a label file.</summary>
public class ClassFilterTests
{
    static byte[] Labels(byte[] labels)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, 0x801);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), (uint)labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    /// <summary>Six 2×2 test images, image i filled with the value i, labelled 0, 9, 1, 9, 2, 3.</summary>
    static TempDirectory Fixture(byte[]? labels = null, bool gzipLabels = false)
    {
        var dir = new TempDirectory();
        var pixels = Enumerable.Range(0, 6).SelectMany(i => Enumerable.Repeat((byte)i, 4)).ToArray();
        File.WriteAllBytes(dir.Combine("t10k-images-idx3-ubyte"), TestFiles.Idx(pixels, 6, 2, 2));
        var l = Labels(labels ?? [0, 9, 1, 9, 2, 3]);
        if (gzipLabels) File.WriteAllBytes(dir.Combine("t10k-labels-idx1-ubyte.gz"), TestFiles.Gzip(l));
        else File.WriteAllBytes(dir.Combine("t10k-labels-idx1-ubyte"), l);
        return dir;
    }

    static int[] Values(IImageDataset d) => Enumerable.Range(0, d.Count).Select(i => (int)TestFiles.Image(d, i)[0]).ToArray();

    [Fact]
    public void ExcludeAndIncludeKeepTheRightImagesInOrder()
    {
        using var dir = Fixture(gzipLabels: true);
        Assert.Equal(new[] { 0, 2, 4, 5 }, Values(Datasets.Open("mnist", dir.Path, "test", new DatasetOptions { ExcludeClasses = [9] })));
        Assert.Equal(new[] { 1, 3 }, Values(Datasets.Open("mnist", dir.Path, "test", new DatasetOptions { Classes = [9] })));
        Assert.Equal(new[] { 4 }, Values(Datasets.Open("mnist", dir.Path, "test", new DatasetOptions { Classes = [2, 9], ExcludeClasses = [9] })));
        // The limit applies after the filter.
        Assert.Equal(new[] { 0, 2 }, Values(Datasets.Open("fashion-mnist", dir.Path, "test", new DatasetOptions { ExcludeClasses = [9], Limit = 2 })));
    }

    [Fact]
    public void BadLabelsAreOneClearError()
    {
        using (var dir = Fixture(labels: [0, 1, 2]))
        {
            var e = Assert.Throws<DatasetException>(() => Datasets.Open("mnist", dir.Path, "test", new DatasetOptions { Classes = [1] }));
            Assert.Contains("3 test labels for 6 images", e.Message);
        }
        using (var dir = Fixture())
        {
            File.Delete(dir.Combine("t10k-labels-idx1-ubyte"));
            var e = Assert.Throws<DatasetException>(() => Datasets.Open("mnist", dir.Path, "test", new DatasetOptions { ExcludeClasses = [9] }));
            Assert.Contains("no mnist test labels", e.Message);
            // Without a filter the labels are not needed.
            Assert.Equal(6, Datasets.Open("mnist", dir.Path, "test").Count);
        }
        using (var dir = Fixture())
        {
            var e = Assert.Throws<DatasetException>(() => Datasets.Open("mnist", dir.Path, "test", new DatasetOptions { Classes = [7] }));
            Assert.Contains("no images left", e.Message);
        }
    }
}
