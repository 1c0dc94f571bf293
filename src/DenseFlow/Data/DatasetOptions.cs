namespace DenseFlow.Data;

/// <summary>Optional settings for <see cref="Datasets.Open"/>.</summary>
public sealed record DatasetOptions
{
    /// <summary>
    /// Target side length for folder and CelebA images (square). CelebA defaults to 64; a folder
    /// infers it from its first image when that image is square.
    /// </summary>
    public int? ImageSize { get; init; }

    /// <summary>Channels for folder (and CelebA) images: 1 = grayscale (ITU-R 601 luma, as PIL "L"), 3 = RGB.</summary>
    public int Channels { get; init; } = 3;

    /// <summary>CelebA only: centre-crop 148×148 before resizing (the common "cropped CelebA" variant).</summary>
    public bool CelebACenterCrop { get; init; }

    /// <summary>Keep only images of these class labels (labelled datasets: fashion-mnist, mnist). Applied before <see cref="Limit"/>.</summary>
    public IReadOnlyList<int>? Classes { get; init; }

    /// <summary>Drop images of these class labels (labelled datasets: fashion-mnist, mnist). Applied before <see cref="Limit"/>.</summary>
    public IReadOnlyList<int>? ExcludeClasses { get; init; }

    /// <summary>Use only the first N images of the split.</summary>
    public int? Limit { get; init; }

    /// <summary>
    /// ImageNet only: how many decoded batch files to keep in memory (least recently used are dropped).
    /// Null keeps every file once loaded, which shuffled training needs to avoid re-reading
    /// ~300 MB files for every batch; set it to 1 for a sequential pass with little memory.
    /// </summary>
    public int? MaxCachedFiles { get; init; }
}
