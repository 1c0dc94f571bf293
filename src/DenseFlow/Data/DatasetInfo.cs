namespace DenseFlow.Data;

/// <summary>
/// What the library knows about one dataset it can read: where it is looked for, whether it has class labels,
/// how it is trained by default, and how its files are opened. <see cref="Datasets"/> holds them all.
/// </summary>
/// <param name="Name">the name users give (`--dataset`)</param>
/// <param name="DefaultDirectory">where it is looked for when no directory is given; null when a directory must be given (a folder)</param>
/// <param name="TrainingAugmentation">the augmentation of the reference training setup for it</param>
/// <param name="DefaultPreset">the architecture preset a run on it uses when none is given</param>
/// <param name="Reader">opens split (train, test, …) of the dataset in a directory that exists</param>
/// <param name="LabelReader">the class labels of a split in a directory, one per image (null: unlabelled)</param>
public sealed record DatasetInfo(
    string Name,
    string? DefaultDirectory,
    Augmentation TrainingAugmentation,
    string DefaultPreset,
    Func<string, string, DatasetOptions, IImageDataset> Reader,
    Func<string, string, byte[]>? LabelReader = null)
{
    /// <summary>Whether class filtering (<see cref="DatasetOptions.Classes"/>, <see cref="DatasetOptions.ExcludeClasses"/>) can use its labels.</summary>
    public bool Labelled => LabelReader is not null;

    /// <summary>Whether it has predefined splits; a folder has none (every split is the whole folder).</summary>
    public bool HasSplits => DefaultDirectory is not null;
}
