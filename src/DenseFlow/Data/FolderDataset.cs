namespace DenseFlow.Data;

/// <summary>
/// A directory of .png/.jpg/.jpeg images, optionally grouped one level deep into class sub-folders
/// (labels are ignored). Order: top-level files first, then each sub-folder, all sorted by ordinal
/// name, so it is the same on every machine. Every image is resized to ImageSize×ImageSize
/// (aspect ratio not preserved) with <see cref="BilinearResize"/> and converted to 1 (luma) or 3 (RGB)
/// channels. A folder has no splits: every split name returns the whole folder.
/// </summary>
public sealed class FolderDataset : IImageDataset
{
    private readonly string[] _paths;

    public string Name => "folder";
    public ImageShape Shape { get; }
    public int Count => _paths.Length;

    /// <summary>The image files in dataset order.</summary>
    public IReadOnlyList<string> Files => _paths;

    public FolderDataset(string directory, DatasetOptions options)
    {
        if (!Directory.Exists(directory))
            throw new DatasetException($"{directory}: image folder not found");
        if (options.Channels is not (1 or 3))
            throw new DatasetException($"{directory}: {options.Channels} channels requested (expected 1 or 3)");

        _paths = ListImages(directory);
        if (_paths.Length == 0)
            throw new DatasetException(
                $"{directory}: no images found (expected {string.Join("/", ImageFiles.Extensions)} files, optionally in class sub-folders)");

        int size = options.ImageSize ?? InferSize(_paths[0]);
        if (size < 1) throw new DatasetException($"{directory}: image size {size} must be positive");
        Shape = new ImageShape(options.Channels, size, size);
    }

    public void CopyImage(int index, Span<byte> chw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        ImageFiles.LoadChw(_paths[index], Shape.Height, Shape.Channels, centerCrop: null, chw);
    }

    private static string[] ListImages(string directory)
    {
        static IEnumerable<string> ImagesIn(string dir) => Directory.EnumerateFiles(dir)
            .Where(f => ImageFiles.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal);

        var subfolders = Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal);
        return ImagesIn(directory).Concat(subfolders.SelectMany(ImagesIn)).ToArray();
    }

    private static int InferSize(string firstImage)
    {
        var (width, height) = ImageFiles.ReadSize(firstImage);
        if (width != height)
            throw new DatasetException(
                $"{firstImage}: image is {width}x{height}, so the folder's image size cannot be inferred (expected a square image, or set ImageSize)");
        return width;
    }
}
