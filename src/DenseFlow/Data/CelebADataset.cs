using System.Globalization;

namespace DenseFlow.Data;

/// <summary>
/// CelebA aligned faces: <c>img_align_celeba/*.jpg</c> (178×218) plus <c>list_eval_partition.txt</c>
/// ("000001.jpg 0" per line; 0 = train, 1 = valid, 2 = test). Images are decoded on every access
/// and resized to ImageSize×ImageSize (default 64) with <see cref="BilinearResize"/>: the whole image
/// (aspect ratio not preserved) as in the reference, or a 148×148 centre crop when
/// <see cref="DatasetOptions.CelebACenterCrop"/> is set.
/// </summary>
public sealed class CelebADataset : IImageDataset
{
    public const int DefaultImageSize = 64;
    public const int CropSize = 148;

    private readonly string[] _paths;
    private readonly int? _crop;

    public string Name => "celeba";
    public ImageShape Shape { get; }
    public int Count => _paths.Length;

    public CelebADataset(string directory, string split, DatasetOptions options)
    {
        int partition = split switch
        {
            "train" => 0,
            "valid" or "val" => 1,
            "test" => 2,
            _ => throw new DatasetException($"unknown split '{split}' for celeba (expected train, valid or test)"),
        };
        int size = options.ImageSize ?? DefaultImageSize;
        if (size < 1) throw new DatasetException($"celeba: image size {size} must be positive");
        if (options.Channels is not (1 or 3))
            throw new DatasetException($"celeba: {options.Channels} channels requested (expected 1 or 3)");
        Shape = new ImageShape(options.Channels, size, size);
        _crop = options.CelebACenterCrop ? CropSize : null;

        // torchvision's CelebA keeps its files in a "celeba" subfolder; accept that layout too.
        string root = Directory.Exists(Path.Combine(directory, "img_align_celeba")) || !Directory.Exists(Path.Combine(directory, "celeba"))
            ? directory
            : Path.Combine(directory, "celeba");
        string images = Path.Combine(root, "img_align_celeba");
        if (!Directory.Exists(images))
            throw new DatasetException($"{images}: CelebA image folder not found (expected img_align_celeba/ with the aligned JPEGs)");
        string partitionFile = Path.Combine(root, "list_eval_partition.txt");
        _paths = ReadPartition(partitionFile, partition).Select(f => Path.Combine(images, f)).ToArray();
        if (_paths.Length == 0)
            throw new DatasetException($"{partitionFile}: no images in the {split} partition (expected lines \"<file> {partition}\")");
    }

    public void CopyImage(int index, Span<byte> chw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        ImageFiles.LoadChw(_paths[index], Shape.Height, Shape.Channels, _crop, chw);
    }

    /// <summary>File names of one partition, in file order (which is sorted by image number).</summary>
    private static List<string> ReadPartition(string path, int partition)
    {
        if (!File.Exists(path))
            throw new DatasetException($"{path}: CelebA partition file not found (expected lines like \"000001.jpg 0\")");
        var files = new List<string>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 0 or > 2)
                throw new DatasetException(
                    $"{path}: line {lineNumber} is \"{line.Trim()}\" (expected \"<image file> <0|1|2>\")");
            if (p == partition) files.Add(parts[0]);
        }
        return files;
    }
}
