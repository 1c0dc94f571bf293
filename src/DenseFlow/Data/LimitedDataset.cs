namespace DenseFlow.Data;

/// <summary>The first <see cref="Count"/> images of another dataset (for <see cref="DatasetOptions.Limit"/>).</summary>
public sealed class LimitedDataset : IImageDataset
{
    private readonly IImageDataset _inner;

    public LimitedDataset(IImageDataset inner, int limit)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        _inner = inner;
        Count = Math.Min(limit, inner.Count);
    }

    public string Name => _inner.Name;
    public ImageShape Shape => _inner.Shape;
    public int Count { get; }

    public void CopyImage(int index, Span<byte> chw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        _inner.CopyImage(index, chw);
    }
}
