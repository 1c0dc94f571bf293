namespace DenseFlow.Data;

/// <summary>
/// A finite, indexable collection of 8-bit images of one shape. Implementations are safe to
/// call from several threads at once (the batcher decodes images in parallel).
/// </summary>
public interface IImageDataset
{
    string Name { get; }
    ImageShape Shape { get; }
    int Count { get; }

    /// <summary>Copies image <paramref name="index"/> as CHW bytes into <paramref name="chw"/> (length Shape.Size).</summary>
    void CopyImage(int index, Span<byte> chw);
}
