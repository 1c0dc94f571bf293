namespace DenseFlow.Data;

/// <summary>Training-time image augmentation applied by <see cref="ImageBatcher"/>.</summary>
public enum Augmentation
{
    None,

    /// <summary>Random horizontal flip with probability 0.5.</summary>
    Flip,

    /// <summary>Flip, then a random integer shift of up to round(0.04·side) pixels in x and y, borders edge-replicated.</summary>
    FlipAndShift,
}
