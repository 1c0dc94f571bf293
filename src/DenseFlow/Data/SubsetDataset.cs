namespace DenseFlow.Data;

/// <summary>The images of another dataset at the given indices, in that order (class filtering).</summary>
public sealed class SubsetDataset : IImageDataset
{
    private readonly IImageDataset _inner;
    private readonly int[] _indices;

    public SubsetDataset(IImageDataset inner, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(indices);
        foreach (int i in indices)
            if (i < 0 || i >= inner.Count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {i} outside the {inner.Count} images");
        _inner = inner;
        _indices = indices;
    }

    public string Name => _inner.Name;
    public ImageShape Shape => _inner.Shape;
    public int Count => _indices.Length;

    public void CopyImage(int index, Span<byte> chw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        _inner.CopyImage(_indices[index], chw);
    }
}
