namespace DenseFlow.Data;

/// <summary>
/// CIFAR-10, binary version: records of 1 label byte followed by 3072 pixel bytes (the 32×32
/// R plane, then G, then B), i.e. already CHW. Train = data_batch_1..5.bin, test = test_batch.bin.
/// </summary>
public sealed class Cifar10Dataset : IImageDataset
{
    private const int ImageBytes = 3 * 32 * 32;
    private const int RecordBytes = 1 + ImageBytes;

    private readonly string[] _files;
    private readonly int[] _starts; // index of each file's first image; last element = Count
    private readonly Lazy<byte[]>[] _contents;

    public string Name => "cifar10";
    public ImageShape Shape { get; } = new(3, 32, 32);
    public int Count { get; }

    public static string[] FileNames(string split) => split switch
    {
        "train" => Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").ToArray(),
        "test" => ["test_batch.bin"],
        _ => throw new DatasetException($"unknown split '{split}' for cifar10 (expected train or test)"),
    };

    public Cifar10Dataset(string directory, string split)
    {
        var names = FileNames(split);
        // The official archive unpacks to cifar-10-batches-bin/; accept that folder or its parent.
        string nested = Path.Combine(directory, "cifar-10-batches-bin");
        string root = !File.Exists(Path.Combine(directory, names[0])) && Directory.Exists(nested) ? nested : directory;

        _files = names.Select(n => Path.Combine(root, n)).ToArray();
        _starts = new int[_files.Length + 1];
        for (int i = 0; i < _files.Length; i++)
        {
            var info = new FileInfo(_files[i]);
            if (!info.Exists)
                throw new DatasetException($"{_files[i]}: CIFAR-10 batch file not found (expected {string.Join(", ", names)} in {directory} or its cifar-10-batches-bin folder)");
            if (info.Length == 0 || info.Length % RecordBytes != 0)
                throw new DatasetException(
                    $"{_files[i]}: size {info.Length} is not a positive multiple of {RecordBytes} (expected 1 label + 3072 pixel bytes per image)");
            _starts[i + 1] = checked(_starts[i] + (int)(info.Length / RecordBytes));
        }
        Count = _starts[^1];

        // Files are read on first use (150 MB for train) and then kept.
        _contents = _files.Select(f => new Lazy<byte[]>(() => ReadFile(f))).ToArray();
    }

    public void CopyImage(int index, Span<byte> chw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int file = Array.BinarySearch(_starts, index);
        if (file < 0) file = ~file - 1;
        // Duplicate starts can't occur (every file holds at least one record), so this is the owning file.
        int local = index - _starts[file];
        _contents[file].Value.AsSpan(local * RecordBytes + 1, ImageBytes).CopyTo(chw);
    }

    private static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new DatasetException($"{path}: cannot read CIFAR-10 batch ({IdxReader.Oneline(e.Message)})", e);
        }
    }
}
