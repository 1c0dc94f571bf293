namespace DenseFlow.Data;

/// <summary>The registry of the image datasets the library reads, and opening them by name.</summary>
public static class Datasets
{
    /// <summary>
    /// Fashion-MNIST, looked for where Debian's dataset-fashion-mnist package installs it. The other datasets
    /// are looked for in data/&lt;name&gt; under the working directory (Debian has no MNIST package).
    /// </summary>
    public static DatasetInfo FashionMnist { get; } = new("fashion-mnist", "/usr/share/datasets/fashion-mnist", Augmentation.Flip, "fmnist-cpu",
        (dir, split, _) => IdxReader.Open("fashion-mnist", dir, split), (dir, split) => IdxReader.OpenLabels("fashion-mnist", dir, split));

    // Augmentation as in the reference training setup: none for MNIST digits (flipping changes them) and arbitrary
    // folders, flips for Fashion-MNIST and faces, flips and small shifts for natural images.
    public static IReadOnlyList<DatasetInfo> All { get; } =
    [
        FashionMnist,
        new("mnist", Path.Combine("data", "mnist"), Augmentation.None, "fmnist-cpu",
            (dir, split, _) => IdxReader.Open("mnist", dir, split), (dir, split) => IdxReader.OpenLabels("mnist", dir, split)),
        new("cifar10", Path.Combine("data", "cifar10"), Augmentation.FlipAndShift, "df-74-10", (dir, split, _) => new Cifar10Dataset(dir, split)),
        new("imagenet32", Path.Combine("data", "imagenet32"), Augmentation.FlipAndShift, "df-74-10",
            (dir, split, o) => new ImageNetDataset("imagenet32", 32, dir, split, o.MaxCachedFiles)),
        new("imagenet64", Path.Combine("data", "imagenet64"), Augmentation.FlipAndShift, "df-74-10",
            (dir, split, o) => new ImageNetDataset("imagenet64", 64, dir, split, o.MaxCachedFiles)),
        new("celeba", Path.Combine("data", "celeba"), Augmentation.Flip, "df-74-10", (dir, split, o) => new CelebADataset(dir, split, o)),
        // A folder has no predefined splits; every split is the whole folder.
        new("folder", null, Augmentation.None, "df-74-10", (dir, _, o) => new FolderDataset(dir, o)),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(d => d.Name).ToArray();

    /// <summary>Names of the datasets whose labels <see cref="DatasetOptions.Classes"/> and <see cref="DatasetOptions.ExcludeClasses"/> can use.</summary>
    public static IReadOnlyList<string> Labelled { get; } = All.Where(d => d.Labelled).Select(d => d.Name).ToArray();

    /// <summary>The dataset called <paramref name="name"/>; an unknown name raises <see cref="DatasetException"/> listing the known ones.</summary>
    public static DatasetInfo Get(string name) =>
        Find(name) ?? throw new DatasetException($"unknown dataset '{name}' (expected one of {string.Join(", ", Names)})");

    /// <summary>The dataset called <paramref name="name"/>, or null.</summary>
    public static DatasetInfo? Find(string name) => All.FirstOrDefault(d => d.Name == name);

    /// <summary>
    /// Opens split <paramref name="split"/> ("train" or "test"; CelebA also "valid"; a folder ignores it)
    /// of dataset <paramref name="name"/> in <paramref name="directory"/> (null = its <see cref="DatasetInfo.DefaultDirectory"/>).
    /// Problems with the files raise <see cref="DatasetException"/>.
    /// </summary>
    public static IImageDataset Open(string name, string? directory, string split, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(split);
        options ??= new DatasetOptions();
        var info = Get(name);
        if (options.Limit is < 0) throw new DatasetException($"{name}: limit {options.Limit} must not be negative");

        directory ??= info.DefaultDirectory ?? throw new DatasetException($"{name}: a directory of images is required");
        if (!Directory.Exists(directory))
            throw new DatasetException($"{directory}: {name} directory not found");

        var dataset = info.Reader(directory, split, options);
        if (options.Classes is not null || options.ExcludeClasses is not null)
            dataset = FilterClasses(dataset, info, directory, split, options);
        return options.Limit is int limit ? new LimitedDataset(dataset, limit) : dataset;
    }

    static IImageDataset FilterClasses(IImageDataset dataset, DatasetInfo info, string directory, string split, DatasetOptions options)
    {
        if (info.LabelReader is null)
            throw new DatasetException($"{info.Name}: class filtering needs class labels, available for {string.Join(" and ", Labelled)} only");
        var labels = info.LabelReader(directory, split);
        if (labels.Length != dataset.Count)
            throw new DatasetException($"{directory}: {labels.Length} {split} labels for {dataset.Count} images (expected one label per image)");
        var include = options.Classes?.ToHashSet();
        var exclude = options.ExcludeClasses?.ToHashSet() ?? [];
        var keep = Enumerable.Range(0, labels.Length).Where(i => (include is null || include.Contains(labels[i])) && !exclude.Contains(labels[i])).ToArray();
        if (keep.Length == 0)
            throw new DatasetException($"{info.Name} {split}: no images left after class filtering (labels present: {string.Join(",", labels.Distinct().Order())})");
        return new SubsetDataset(dataset, keep);
    }
}
