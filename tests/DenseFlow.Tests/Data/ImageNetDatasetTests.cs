using DenseFlow.Data;
using DenseFlow.IO;

namespace DenseFlow.Tests.Data;

public sealed class ImageNetDatasetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes an npz like image-net.org's: uint8 data [rows, 3·S·S] where row r is Pattern(id*10+r), plus labels.</summary>
    private static void WriteNpz(string path, int id, int rows, int size, bool compress)
    {
        int row = 3 * size * size;
        var data = new byte[rows * row];
        for (int r = 0; r < rows; r++) TestFiles.Pattern(row, id * 10 + r).CopyTo(data, r * row);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Npz.Write(path,
        [
            KeyValuePair.Create("data", new NpyArray(data, rows, row)),
            KeyValuePair.Create("labels", new NpyArray(Enumerable.Range(1, rows).Select(i => (long)i).ToArray(), rows)),
        ], compress);
    }

    [Fact]
    public void Imagenet32_Train_ReadsAllTenBatchesInOrder()
    {
        for (int i = 1; i <= 10; i++)
            WriteNpz(_dir.Combine($"train_data_batch_{i}.npz"), i, rows: i == 2 ? 3 : 1, size: 32, compress: i % 2 == 0);

        var ds = Datasets.Open("imagenet32", _dir.Path, "train");
        Assert.Equal(new ImageShape(3, 32, 32), ds.Shape);
        Assert.Equal(12, ds.Count);
        Assert.Equal(TestFiles.Pattern(3072, 10), TestFiles.Image(ds, 0));
        Assert.Equal(TestFiles.Pattern(3072, 22), TestFiles.Image(ds, 3));
        Assert.Equal(TestFiles.Pattern(3072, 30), TestFiles.Image(ds, 4));
        Assert.Equal(TestFiles.Pattern(3072, 100), TestFiles.Image(ds, 11));
    }

    [Fact]
    public void Imagenet64_Test_IsValData_InArchiveFolder_WithBoundedCache()
    {
        WriteNpz(_dir.Combine("Imagenet64_val_npz", "val_data.npz"), 7, rows: 2, size: 64, compress: true);

        var ds = Datasets.Open("imagenet64", _dir.Path, "test", new DatasetOptions { MaxCachedFiles = 1 });
        Assert.Equal(new ImageShape(3, 64, 64), ds.Shape);
        Assert.Equal(2, ds.Count);
        Assert.Equal(TestFiles.Pattern(3 * 64 * 64, 71), TestFiles.Image(ds, 1));
        Assert.Equal(TestFiles.Pattern(3 * 64 * 64, 70), TestFiles.Image(ds, 0));
    }

    [Fact]
    public void Cache_EvictsTheLeastRecentlyUsedFile_AndRereadsItCorrectly()
    {
        for (int i = 1; i <= 10; i++)
            WriteNpz(_dir.Combine($"train_data_batch_{i}.npz"), i, rows: 1, size: 32, compress: false);

        var ds = new ImageNetDataset("imagenet32", 32, _dir.Path, "train", maxCachedFiles: 2);
        Assert.Equal(TestFiles.Pattern(3072, 10), TestFiles.Image(ds, 0));
        Assert.Equal(TestFiles.Pattern(3072, 20), TestFiles.Image(ds, 1));
        Assert.Equal(TestFiles.Pattern(3072, 10), TestFiles.Image(ds, 0)); // file 1 is now the most recent
        Assert.Equal(TestFiles.Pattern(3072, 30), TestFiles.Image(ds, 2)); // evicts file 2, the least recent
        Assert.Equal(3, ds.FilesLoaded);
        Assert.Equal(2, ds.FilesCached);
        Assert.Equal(TestFiles.Pattern(3072, 10), TestFiles.Image(ds, 0)); // still cached
        Assert.Equal(3, ds.FilesLoaded);
        Assert.Equal(TestFiles.Pattern(3072, 20), TestFiles.Image(ds, 1)); // read again after eviction
        Assert.Equal(4, ds.FilesLoaded);
        Assert.Equal(2, ds.FilesCached);
    }

    [Fact]
    public void WrongRowLength_ThrowsNamingFileAndExpectedShape()
    {
        WriteNpz(_dir.Combine("val_data.npz"), 1, rows: 2, size: 64, compress: false); // 64×64 rows given to imagenet32

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("imagenet32", _dir.Path, "test"));
        Assert.Contains("val_data.npz", e.Message);
        Assert.Contains("uint8[N, 3072]", e.Message);
    }

    [Fact]
    public void CorruptNpz_ThrowsNamingFile()
    {
        File.WriteAllText(_dir.Combine("val_data.npz"), "not a zip file");

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("imagenet32", _dir.Path, "test"));
        Assert.Contains("val_data.npz", e.Message);
    }

    [Fact]
    public void MissingTrainBatch_ThrowsNamingFile()
    {
        for (int i = 1; i <= 9; i++) WriteNpz(_dir.Combine($"train_data_batch_{i}.npz"), i, 1, 32, false);

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("imagenet32", _dir.Path, "train"));
        Assert.Contains("train_data_batch_10.npz", e.Message);
    }
}
