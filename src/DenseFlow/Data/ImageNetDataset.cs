using DenseFlow.IO;

namespace DenseFlow.Data;

/// <summary>
/// Downsampled ImageNet (32×32 or 64×64) in the image-net.org npz release: each file holds
/// "data", uint8 rows of 3·S·S bytes in CHW order (R plane, G, B), and "labels".
/// Train = train_data_batch_1..10.npz, test = val_data.npz.
/// </summary>
/// <remarks>
/// Only the array headers are read on open. A batch file's pixels are loaded on first use and
/// cached (see <see cref="DatasetOptions.MaxCachedFiles"/>).
/// </remarks>
public sealed class ImageNetDataset : IImageDataset
{
    public const int TrainFileCount = 10;

    private readonly string[] _files;
    private readonly int[] _starts; // index of each file's first image; last element = Count
    private readonly int? _maxCached;
    private readonly Dictionary<int, byte[]> _cache = new();

    /// <summary>Batch files read from disk so far (a file evicted and needed again counts twice).</summary>
    internal int FilesLoaded { get; private set; }

    /// <summary>Batch files held in memory now.</summary>
    internal int FilesCached { get { lock (_lock) return _cache.Count; } }
    private readonly LinkedList<int> _recent = new(); // most recently used file first
    private readonly object _lock = new();

    public string Name { get; }
    public ImageShape Shape { get; }
    public int Count { get; }

    public ImageNetDataset(string name, int size, string directory, string split, int? maxCachedFiles = null)
    {
        if (maxCachedFiles is < 1) throw new ArgumentOutOfRangeException(nameof(maxCachedFiles), "Must be at least 1.");
        Name = name;
        Shape = new ImageShape(3, size, size);
        _maxCached = maxCachedFiles;

        _files = split switch
        {
            "train" => Enumerable.Range(1, TrainFileCount)
                .Select(i => Locate(directory, size, $"train_data_batch_{i}.npz", "train")).ToArray(),
            "test" or "valid" or "val" => [Locate(directory, size, "val_data.npz", "val")],
            _ => throw new DatasetException($"unknown split '{split}' for {name} (expected train or test)"),
        };

        _starts = new int[_files.Length + 1];
        for (int i = 0; i < _files.Length; i++)
            _starts[i + 1] = checked(_starts[i] + RowCount(_files[i]));
        Count = _starts[^1];
    }

    public void CopyImage(int index, Span<byte> chw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int file = Array.BinarySearch(_starts, index);
        if (file < 0) file = ~file - 1;
        int local = index - _starts[file];
        Pixels(file).AsSpan(local * Shape.Size, Shape.Size).CopyTo(chw);
    }

    /// <summary>Finds a file in the directory or in the folders the official archives unpack to.</summary>
    private static string Locate(string directory, int size, string fileName, string part)
    {
        string[] folders =
        [
            directory,
            Path.Combine(directory, $"Imagenet{size}_{part}_npz"),
            Path.Combine(directory, $"Imagenet{size}_{part}_part1_npz"),
            Path.Combine(directory, $"Imagenet{size}_{part}_part2_npz"),
        ];
        return folders.Select(f => Path.Combine(f, fileName)).FirstOrDefault(File.Exists)
            ?? throw new DatasetException(
                $"{Path.Combine(directory, fileName)}: ImageNet {size}x{size} file not found (also looked in {string.Join(", ", folders.Skip(1).Select(Path.GetFileName))})");
    }

    /// <summary>Validates the "data" array of a file from its header alone and returns its row count.</summary>
    private int RowCount(string path)
    {
        try
        {
            using var npz = new NpzFile(path);
            if (!npz.Contains("data"))
                throw new DatasetException($"{path}: no 'data' array (expected uint8 rows of {Shape.Size} bytes)");
            var header = npz.GetHeader("data");
            if (header.Dtype != "uint8" || header.Shape.Length != 2 || header.Shape[1] != Shape.Size || header.Shape[0] < 1)
                throw new DatasetException(
                    $"{path}: entry 'data.npy' is {header.Dtype}[{string.Join(", ", header.Shape)}] (expected uint8[N, {Shape.Size}] for {Shape.Height}x{Shape.Width} RGB)");
            return checked((int)header.Shape[0]);
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException(IdxReader.Oneline(e.Message), e);
        }
    }

    private byte[] Pixels(int file)
    {
        lock (_lock)
        {
            if (_cache.TryGetValue(file, out var cached))
            {
                _recent.Remove(file);
                _recent.AddFirst(file);
                return cached;
            }

            // Loading under the lock keeps at most one ~300 MB file in flight at a time.
            var pixels = Load(_files[file]);
            FilesLoaded++;
            if (_maxCached is int max)
            {
                while (_cache.Count >= max)
                {
                    _cache.Remove(_recent.Last!.Value);
                    _recent.RemoveLast();
                }
            }
            _cache[file] = pixels;
            _recent.AddFirst(file);
            return pixels;
        }
    }

    private byte[] Load(string path)
    {
        try
        {
            using var npz = new NpzFile(path);
            var data = npz.Get("data");
            if (data.Dtype != "uint8" || data.ElementCount % Shape.Size != 0)
                throw new DatasetException($"{path}: entry 'data.npy' changed since the dataset was opened");
            return data.As<byte>();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DatasetException(IdxReader.Oneline(e.Message), e);
        }
    }
}
