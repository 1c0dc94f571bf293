namespace DenseFlow.Data;

/// <summary>Per-dataset training defaults.</summary>
public static class DatasetDefaults
{
    /// <summary>
    /// The augmentation used for training on a dataset: none for MNIST digits (flipping changes
    /// them) and arbitrary folders, flips for Fashion-MNIST and faces, flips and small shifts for
    /// natural-image datasets, as in the reference training setup.
    /// </summary>
    public static Augmentation Augmentation(string name) => name switch
    {
        "mnist" => Data.Augmentation.None,
        "fashion-mnist" => Data.Augmentation.Flip,
        "cifar10" or "imagenet32" or "imagenet64" => Data.Augmentation.FlipAndShift,
        "celeba" => Data.Augmentation.Flip,
        "folder" => Data.Augmentation.None,
        _ => throw new DatasetException($"unknown dataset '{name}' (expected one of {string.Join(", ", Datasets.Names)})"),
    };
}
