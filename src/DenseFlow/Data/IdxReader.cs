using System.Buffers.Binary;
using System.IO.Compression;

namespace DenseFlow.Data;

/// <summary>
/// Reads MNIST-style IDX image files (magic 0x00000803: unsigned bytes, 3 dimensions, big-endian
/// sizes), raw or gzipped, as used by MNIST and Fashion-MNIST.
/// </summary>
public static class IdxReader
{
    private const uint ImagesMagic = 0x00000803;
    private const uint LabelsMagic = 0x00000801;

    /// <summary>File names tried for a split, in order; the Debian dataset packages ship the .gz names.</summary>
    public static string[] CandidateNames(string split) => split switch
    {
        "train" => ["train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "train-images.idx3-ubyte"],
        "test" => ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"],
        _ => throw new DatasetException($"unknown split '{split}' for IDX datasets (expected train or test)"),
    };

    /// <summary>Label file names tried for a split, in order.</summary>
    public static string[] LabelCandidateNames(string split) => split switch
    {
        "train" => ["train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
        "test" => ["t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"],
        _ => throw new DatasetException($"unknown split '{split}' for IDX datasets (expected train or test)"),
    };

    /// <summary>The class labels of <paramref name="split"/> found in <paramref name="directory"/>.</summary>
    public static byte[] OpenLabels(string name, string directory, string split)
    {
        var names = LabelCandidateNames(split);
        var path = names.Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists)
            ?? throw new DatasetException(
                $"{directory}: no {name} {split} labels (expected {string.Join(" or ", names)}; class filtering needs them)");
        return ReadLabels(path);
    }

    /// <summary>Reads an IDX label file (magic 0x00000801: one unsigned byte per item).</summary>
    public static byte[] ReadLabels(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var stream = IsGzip(file) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
            Span<byte> header = stackalloc byte[8];
            int got = ReadFully(stream, header);
            if (got < 8)
                throw new DatasetException($"{path}: truncated IDX label file (expected an 8-byte header, got {got} bytes)");
            uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (magic != LabelsMagic)
                throw new DatasetException($"{path}: not an IDX label file (expected magic 0x{LabelsMagic:X8}, found 0x{magic:X8})");
            uint count = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
            if (count > Array.MaxLength) throw new DatasetException($"{path}: implausible label count {count}");
            var labels = new byte[count];
            int read = ReadFully(stream, labels);
            if (read < count)
                throw new DatasetException($"{path}: truncated IDX label file (expected {count} labels, got {read})");
            return labels;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{path}: cannot read IDX label file ({Oneline(e.Message)})", e);
        }
    }

    /// <summary>Opens the images of <paramref name="split"/> found in <paramref name="directory"/>.</summary>
    public static InMemoryDataset Open(string name, string directory, string split)
    {
        var names = CandidateNames(split);
        var path = names.Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists)
            ?? throw new DatasetException(
                $"{directory}: no {name} {split} images (expected {string.Join(" or ", names)})");
        return Read(name, path);
    }

    /// <summary>Reads a whole IDX image file into memory (Fashion-MNIST train is 47 MB).</summary>
    public static InMemoryDataset Read(string name, string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var stream = IsGzip(file) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;

            Span<byte> header = stackalloc byte[16];
            int got = ReadFully(stream, header);
            if (got < 4)
                throw new DatasetException($"{path}: truncated IDX file (expected a 16-byte header, got {got} bytes)");
            uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (magic != ImagesMagic)
                throw new DatasetException(
                    $"{path}: not an IDX image file (expected magic 0x{ImagesMagic:X8}, found 0x{magic:X8})");
            if (got < 16)
                throw new DatasetException($"{path}: truncated IDX file (expected a 16-byte header, got {got} bytes)");

            uint count = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
            uint rows = BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
            uint cols = BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
            long total = (long)count * rows * cols;
            if (rows == 0 || cols == 0 || rows > 65536 || cols > 65536 || total > Array.MaxLength)
                throw new DatasetException($"{path}: implausible IDX dimensions {count}x{rows}x{cols}");

            var pixels = new byte[total];
            int read = ReadFully(stream, pixels);
            if (read < total)
                throw new DatasetException(
                    $"{path}: truncated IDX file (expected {count}x{rows}x{cols} = {total} pixel bytes, got {read})");
            return new InMemoryDataset(name, new ImageShape(1, (int)rows, (int)cols), pixels);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            // e.g. a corrupt or cut-off gzip stream.
            throw new DatasetException($"{path}: cannot read IDX file ({Oneline(e.Message)})", e);
        }
    }

    private static bool IsGzip(FileStream file)
    {
        // Detect by content rather than extension: some mirrors ship raw files named *.gz.
        Span<byte> magic = stackalloc byte[2];
        int n = ReadFully(file, magic);
        file.Position = 0;
        return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    internal static int ReadFully(Stream stream, Span<byte> buffer) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    internal static string Oneline(string message) => message.ReplaceLineEndings(" ").Trim();
}
