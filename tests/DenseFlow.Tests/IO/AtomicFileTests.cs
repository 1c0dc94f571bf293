using DenseFlow.IO;

namespace DenseFlow.Tests.IO;

/// <summary>The one temp-file-and-rename writer: a failed write leaves the old file, a finished one replaces it whole.</summary>
public sealed class AtomicFileTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("denseflow-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AFailedWriteLeavesTheOldContentAndNoTemporaryFile()
    {
        string path = Path.Combine(_dir, "file.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100]);
            throw new IOException("No space left on device (simulated)");
        }));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void WritesReplaceCreateDirectoriesAndMatchFileWriteAllText()
    {
        string path = Path.Combine(_dir, "a", "b", "notes.json");
        AtomicFile.WriteAllText(path, "first, longer content");
        AtomicFile.WriteAllText(path, "ünïcode");
        string reference = Path.Combine(_dir, "reference.json");
        File.WriteAllText(reference, "ünïcode");
        Assert.Equal(File.ReadAllBytes(reference), File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void CopyIsByteForByteAndAMissingSourceChangesNothing()
    {
        string source = Path.Combine(_dir, "source.bin"), target = Path.Combine(_dir, "target.bin");
        var data = new byte[200_000];
        new Random(5).NextBytes(data);
        File.WriteAllBytes(source, data);
        File.WriteAllBytes(target, [9]);
        AtomicFile.Copy(source, target);
        Assert.Equal(data, File.ReadAllBytes(target));

        File.WriteAllBytes(target, [9]);
        Assert.Throws<FileNotFoundException>(() => AtomicFile.Copy(Path.Combine(_dir, "missing.bin"), target));
        Assert.Equal(new byte[] { 9 }, File.ReadAllBytes(target));
    }
}
