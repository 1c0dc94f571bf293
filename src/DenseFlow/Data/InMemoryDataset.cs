namespace DenseFlow.Data;

/// <summary>Images held in one contiguous CHW byte buffer (image i at offset i × Shape.Size).</summary>
public sealed class InMemoryDataset : IImageDataset
{
    private readonly byte[] _pixels;

    public string Name { get; }
    public ImageShape Shape { get; }
    public int Count { get; }

    public InMemoryDataset(string name, ImageShape shape, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length % shape.Size != 0)
            throw new ArgumentException($"Buffer of {pixels.Length} bytes is not a whole number of {shape} images.", nameof(pixels));
        Name = name;
        Shape = shape;
        Count = pixels.Length / shape.Size;
        _pixels = pixels;
    }

    public void CopyImage(int index, Span<byte> chw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        _pixels.AsSpan(index * Shape.Size, Shape.Size).CopyTo(chw);
    }
}
