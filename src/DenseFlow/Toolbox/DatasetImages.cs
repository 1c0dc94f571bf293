using DenseFlow.Data;
using static TorchSharp.torch;

namespace DenseFlow.Toolbox;

/// <summary>Dataset images as uint8 tensors (N, C, H, W), decoded in parallel.</summary>
public static class DatasetImages
{
    /// <summary>Images <paramref name="start"/> … start + count − 1.</summary>
    public static Tensor Load(IImageDataset dataset, int start, int count)
    {
        if (start < 0 || count < 0 || start + count > dataset.Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"images {start}..{start + count - 1} of {dataset.Name} (it has {dataset.Count})");
        var s = dataset.Shape;
        var bytes = new byte[(long)count * s.Size];
        Parallel.For(0, count, i => dataset.CopyImage(start + i, bytes.AsSpan((int)((long)i * s.Size), s.Size)));
        return tensor(bytes, new long[] { count, s.Channels, s.Height, s.Width }, dtype: ScalarType.Byte);
    }

    /// <summary>The given images, in the given order.</summary>
    public static Tensor Load(IImageDataset dataset, IReadOnlyList<int> indices)
    {
        var s = dataset.Shape;
        var bytes = new byte[(long)indices.Count * s.Size];
        for (int i = 0; i < indices.Count; i++)
        {
            if (indices[i] < 0 || indices[i] >= dataset.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"index {indices[i]} is out of range for {dataset.Name} (0..{dataset.Count - 1})");
            dataset.CopyImage(indices[i], bytes.AsSpan(i * s.Size, s.Size));
        }
        return tensor(bytes, new long[] { indices.Count, s.Channels, s.Height, s.Width }, dtype: ScalarType.Byte);
    }
}
