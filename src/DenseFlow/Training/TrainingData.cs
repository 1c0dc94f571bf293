using DenseFlow.Data;
using DenseFlow.Detection;

namespace DenseFlow.Training;

/// <summary>The images a run trains and evaluates on, as its options say: class filter, training limit and the background model's mutation.</summary>
public static class TrainingData
{
    public static IImageDataset Open(TrainingOptions options, string split)
    {
        var ds = Datasets.Open(options.Dataset, options.DataDir, split, new DatasetOptions
        {
            ExcludeClasses = options.ExcludeClasses,
            Limit = split == "train" ? options.TrainLimit : null,
        });
        // Only the training images are perturbed: the per-epoch test bound stays on clean images.
        return split == "train" && options.Mutation > 0 ? new MutatedDataset(ds, options.Mutation, options.Seed) : ds;
    }

    /// <summary>The run's training batches: shuffled by its seed, its augmentation (the dataset's reference one by default), full batches only.</summary>
    public static ImageBatcher Batches(TrainingOptions options, IImageDataset train) =>
        new(train, options.BatchSize, shuffle: true, seed: options.Seed,
            options.Augmentation ?? Datasets.Get(options.Dataset).TrainingAugmentation, dropLast: true);
}
