namespace DenseFlow.Data;

/// <summary>Opens the supported image datasets by name.</summary>
public static class Datasets
{
    public static IReadOnlyList<string> Names { get; } =
        ["fashion-mnist", "mnist", "cifar10", "imagenet32", "imagenet64", "celeba", "folder"];

    /// <summary>
    /// Opens split <paramref name="split"/> ("train" or "test"; CelebA also "valid"; a folder ignores it)
    /// of dataset <paramref name="name"/> in <paramref name="directory"/> (null = <see cref="DefaultDirectory"/>).
    /// Problems with the files raise <see cref="DatasetException"/>.
    /// </summary>
    public static IImageDataset Open(string name, string? directory, string split, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(split);
        options ??= new DatasetOptions();
        if (options.Limit is < 0) throw new DatasetException($"{name}: limit {options.Limit} must not be negative");

        if (name == "folder" && directory is null)
            throw new DatasetException("folder: a directory of images is required");
        directory ??= DefaultDirectory(name);
        if (!Directory.Exists(directory))
            throw new DatasetException($"{directory}: {name} directory not found");

        IImageDataset dataset = name switch
        {
            "fashion-mnist" or "mnist" => IdxReader.Open(name, directory, split),
            "cifar10" => new Cifar10Dataset(directory, split),
            "imagenet32" => new ImageNetDataset(name, 32, directory, split, options.MaxCachedFiles),
            "imagenet64" => new ImageNetDataset(name, 64, directory, split, options.MaxCachedFiles),
            "celeba" => new CelebADataset(directory, split, options),
            // A folder has no predefined splits; every split is the whole folder.
            "folder" => new FolderDataset(directory, options),
            _ => throw new DatasetException($"unknown dataset '{name}' (expected one of {string.Join(", ", Names)})"),
        };
        if (options.Classes is not null || options.ExcludeClasses is not null)
            dataset = FilterClasses(dataset, name, directory, split, options);
        return options.Limit is int limit ? new LimitedDataset(dataset, limit) : dataset;
    }

    /// <summary>Names of the datasets whose labels <see cref="DatasetOptions.Classes"/> and <see cref="DatasetOptions.ExcludeClasses"/> can use.</summary>
    public static IReadOnlyList<string> Labelled { get; } = ["fashion-mnist", "mnist"];

    static IImageDataset FilterClasses(IImageDataset dataset, string name, string directory, string split, DatasetOptions options)
    {
        if (!Labelled.Contains(name))
            throw new DatasetException($"{name}: class filtering needs class labels, available for {string.Join(" and ", Labelled)} only");
        var labels = IdxReader.OpenLabels(name, directory, split);
        if (labels.Length != dataset.Count)
            throw new DatasetException($"{directory}: {labels.Length} {split} labels for {dataset.Count} images (expected one label per image)");
        var include = options.Classes?.ToHashSet();
        var exclude = options.ExcludeClasses?.ToHashSet() ?? [];
        var keep = Enumerable.Range(0, labels.Length).Where(i => (include is null || include.Contains(labels[i])) && !exclude.Contains(labels[i])).ToArray();
        if (keep.Length == 0)
            throw new DatasetException($"{name} {split}: no images left after class filtering (labels present: {string.Join(",", labels.Distinct().Order())})");
        return new SubsetDataset(dataset, keep);
    }

    /// <summary>
    /// Where a dataset is looked for when no directory is given: where Debian's dataset-fashion-mnist
    /// package installs Fashion-MNIST, otherwise data/&lt;name&gt; under the working directory
    /// (Debian has no MNIST package).
    /// </summary>
    public static string DefaultDirectory(string name) => name switch
    {
        "fashion-mnist" => "/usr/share/datasets/fashion-mnist",
        _ when Names.Contains(name) => Path.Combine("data", name),
        _ => throw new DatasetException($"unknown dataset '{name}' (expected one of {string.Join(", ", Names)})"),
    };
}
