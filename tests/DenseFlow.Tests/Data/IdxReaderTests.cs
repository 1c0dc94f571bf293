using DenseFlow.Data;

namespace DenseFlow.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_Gzipped_Train_And_Raw_Test_WithExactPixels()
    {
        var train = TestFiles.Pattern(3 * 28 * 28, salt: 1);
        var test = TestFiles.Pattern(2 * 28 * 28, salt: 2);
        File.WriteAllBytes(_dir.Combine("train-images-idx3-ubyte.gz"), TestFiles.Gzip(TestFiles.Idx(train, 3, 28, 28)));
        File.WriteAllBytes(_dir.Combine("train-labels-idx1-ubyte.gz"), [1, 2, 3]); // present but ignored
        File.WriteAllBytes(_dir.Combine("t10k-images-idx3-ubyte"), TestFiles.Idx(test, 2, 28, 28));

        var ds = Datasets.Open("fashion-mnist", _dir.Path, "train");
        Assert.Equal("fashion-mnist", ds.Name);
        Assert.Equal(new ImageShape(1, 28, 28), ds.Shape);
        Assert.Equal(3, ds.Count);
        Assert.Equal(train.AsSpan(2 * 784, 784).ToArray(), TestFiles.Image(ds, 2));

        var testDs = Datasets.Open("mnist", _dir.Path, "test");
        Assert.Equal(2, testDs.Count);
        Assert.Equal(test.AsSpan(784, 784).ToArray(), TestFiles.Image(testDs, 1));
    }

    [Fact]
    public void Truncated_ThrowsNamingFile()
    {
        var bytes = TestFiles.Idx(new byte[2 * 784], 3, 28, 28); // header says 3 images, data holds 2
        File.WriteAllBytes(_dir.Combine("t10k-images-idx3-ubyte.gz"), TestFiles.Gzip(bytes));

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("fashion-mnist", _dir.Path, "test"));
        Assert.Contains("t10k-images-idx3-ubyte.gz", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void CutOffGzipStream_ThrowsNamingFile()
    {
        var gz = TestFiles.Gzip(TestFiles.Idx(TestFiles.Pattern(5 * 784, 3), 5, 28, 28));
        File.WriteAllBytes(_dir.Combine("t10k-images-idx3-ubyte.gz"), gz[..(gz.Length / 2)]);

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("fashion-mnist", _dir.Path, "test"));
        Assert.Contains("t10k-images-idx3-ubyte.gz", e.Message);
    }

    [Fact]
    public void WrongMagic_ThrowsNamingFile()
    {
        // A labels file (magic 0x801) put where the images belong.
        File.WriteAllBytes(_dir.Combine("train-images-idx3-ubyte"), TestFiles.Idx(new byte[784], 1, 28, 28, magic: 0x801));

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("mnist", _dir.Path, "train"));
        Assert.Contains("train-images-idx3-ubyte", e.Message);
        Assert.Contains("magic", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void MissingFile_ThrowsNamingExpectedNames()
    {
        var e = Assert.Throws<DatasetException>(() => Datasets.Open("fashion-mnist", _dir.Path, "train"));
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message);
        Assert.Contains(_dir.Path, e.Message);
    }

    [Fact]
    public void InstalledFashionMnist_TestSplit_Has10000Images()
    {
        // CI installs Debian's dataset-fashion-mnist package, so the directory must exist.
        string dir = Datasets.FashionMnist.DefaultDirectory!;
        Assert.True(Directory.Exists(dir), $"{dir} is missing: apt-get install dataset-fashion-mnist");

        var ds = Datasets.Open("fashion-mnist", null, "test");
        Assert.Equal(10000, ds.Count);
        Assert.Equal(new ImageShape(1, 28, 28), ds.Shape);
        var first = TestFiles.Image(ds, 0);
        Assert.Contains(first, v => v > 0); // a real garment, not an empty frame
    }
}
