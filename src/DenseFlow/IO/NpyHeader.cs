namespace DenseFlow.IO;

/// <summary>The description of a .npy array without its data: dtype name, shape and element count.</summary>
public sealed record NpyHeader(string Dtype, long[] Shape, long ElementCount);
