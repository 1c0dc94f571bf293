using DenseFlow.Data;

namespace DenseFlow.Tests.Data;

public sealed class Cifar10DatasetTests : IDisposable
{
    private const int Record = 3073;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes a batch file of <paramref name="count"/> records; record r of file f has label r and pixels Pattern(f*10+r).</summary>
    private static void WriteBatch(string path, int fileId, int count)
    {
        var bytes = new byte[count * Record];
        for (int r = 0; r < count; r++)
        {
            bytes[r * Record] = (byte)r;
            TestFiles.Pattern(3072, fileId * 10 + r).CopyTo(bytes, r * Record + 1);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void Reads_Train_And_Test_FromNestedFolder_InOrder()
    {
        string nested = _dir.Combine("cifar-10-batches-bin");
        for (int f = 1; f <= 5; f++) WriteBatch(Path.Combine(nested, $"data_batch_{f}.bin"), f, count: f == 3 ? 1 : 2);
        WriteBatch(Path.Combine(nested, "test_batch.bin"), 9, count: 3);

        var train = Datasets.Open("cifar10", _dir.Path, "train");
        Assert.Equal(new ImageShape(3, 32, 32), train.Shape);
        Assert.Equal(9, train.Count);
        // Index 4 is file 3's only record, index 5 file 4's first record, index 8 file 5's second.
        Assert.Equal(TestFiles.Pattern(3072, 30), TestFiles.Image(train, 4));
        Assert.Equal(TestFiles.Pattern(3072, 40), TestFiles.Image(train, 5));
        Assert.Equal(TestFiles.Pattern(3072, 51), TestFiles.Image(train, 8));
        Assert.Equal(TestFiles.Pattern(3072, 10), TestFiles.Image(train, 0));

        var test = Datasets.Open("cifar10", nested, "test");
        Assert.Equal(3, test.Count);
        Assert.Equal(TestFiles.Pattern(3072, 92), TestFiles.Image(test, 2));
    }

    [Fact]
    public void SizeNotMultipleOfRecord_ThrowsNamingFile()
    {
        File.WriteAllBytes(_dir.Combine("test_batch.bin"), new byte[Record * 2 - 5]);

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("cifar10", _dir.Path, "test"));
        Assert.Contains("test_batch.bin", e.Message);
        Assert.Contains("3073", e.Message);
    }

    [Fact]
    public void MissingBatch_ThrowsNamingFile()
    {
        for (int f = 1; f <= 4; f++) WriteBatch(_dir.Combine($"data_batch_{f}.bin"), f, 1);

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("cifar10", _dir.Path, "train"));
        Assert.Contains("data_batch_5.bin", e.Message);
    }
}
