using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Data;

/// <summary>
/// Cuts a dataset into int64 (B, C, H, W) batches with values 0..255. The shuffle order of an
/// epoch and every augmentation decision are pure functions of (seed, epoch, position in the
/// epoch), so a run resumed at (epoch, batchIndex) sees exactly the batches it would have seen.
/// </summary>
public sealed class ImageBatcher
{
    // Separate hash streams so the permutation and the augmentation draws are independent.
    private const long PermutationStream = 1;
    private const long AugmentationStream = 2;

    private readonly object _orderLock = new();
    private int _cachedEpoch = -1;
    private int[]? _cachedOrder;

    public IImageDataset Dataset { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public int Seed { get; }
    public Augmentation Augmentation { get; }
    public bool DropLast { get; }

    /// <summary>Batches per epoch: ⌊N/B⌋ with dropLast (the incomplete tail is skipped), else ⌈N/B⌉.</summary>
    public int BatchesPerEpoch { get; }

    public ImageBatcher(IImageDataset dataset, int batchSize, bool shuffle, int seed, Augmentation augmentation, bool dropLast)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        Augmentation = augmentation;
        DropLast = dropLast;
        BatchesPerEpoch = dropLast ? dataset.Count / batchSize : (dataset.Count + batchSize - 1) / batchSize;
    }

    /// <summary>Batch <paramref name="batchIndex"/> of <paramref name="epoch"/>, shuffled and augmented; the caller disposes it.</summary>
    public Tensor GetBatch(int epoch, int batchIndex) => GetBatchRows(epoch, batchIndex, 0, null);

    /// <summary>
    /// Rows [<paramref name="rowStart"/>, <paramref name="rowStart"/> + <paramref name="rowCount"/>) of
    /// <see cref="GetBatch"/>(epoch, batchIndex), built alone: one rank's slice of a global batch, with the
    /// same images and augmentation as those rows of the whole batch (null count: to the batch's end).
    /// </summary>
    public Tensor GetBatchRows(int epoch, int batchIndex, int rowStart, int? rowCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(batchIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(batchIndex, BatchesPerEpoch);
        var order = EpochOrder(epoch);
        int start = batchIndex * BatchSize;
        int count = Math.Min(BatchSize, Dataset.Count - start);
        int rows = rowCount ?? count - rowStart;
        if (rowStart < 0 || rows < 0 || rowStart + rows > count)
            throw new ArgumentOutOfRangeException(nameof(rowCount), $"rows {rowStart}+{rows} exceed the batch of {count}");
        return Build(rows, i => order[start + rowStart + i], i => Draw(epoch, start + rowStart + i));
    }

    /// <summary>Images start..start+count-1 in dataset order, without augmentation (for evaluation).</summary>
    public Tensor GetRange(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (start + (long)count > Dataset.Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"Range {start}+{count} exceeds the {Dataset.Count} images.");
        return Build(count, i => start + i, _ => default);
    }

    /// <summary>The dataset indices of an epoch in visiting order (a copy).</summary>
    public int[] GetOrder(int epoch) => (int[])EpochOrder(epoch).Clone();

    /// <summary>
    /// Writes one CHW image, horizontally flipped if asked and then shifted by (shiftX, shiftY)
    /// pixels (positive = content moves right/down), into <paramref name="destination"/>; pixels
    /// shifted in from outside repeat the nearest edge pixel.
    /// </summary>
    public static void Augment(ReadOnlySpan<byte> chw, ImageShape shape, bool flip, int shiftX, int shiftY, Span<long> destination)
    {
        int h = shape.Height, w = shape.Width;
        for (int c = 0; c < shape.Channels; c++)
        {
            var plane = chw.Slice(c * h * w, h * w);
            var output = destination.Slice(c * h * w, h * w);
            for (int y = 0; y < h; y++)
            {
                int sy = Math.Clamp(y - shiftY, 0, h - 1);
                for (int x = 0; x < w; x++)
                {
                    int sx = Math.Clamp(x - shiftX, 0, w - 1);
                    if (flip) sx = w - 1 - sx;
                    output[y * w + x] = plane[sy * w + sx];
                }
            }
        }
    }

    /// <summary>Largest shift for a side length: round(0.04·side).</summary>
    public static int MaxShift(int side) => (int)Math.Round(0.04 * side, MidpointRounding.ToEven);

    private readonly record struct AugmentDraw(bool Flip, int ShiftX, int ShiftY);

    private AugmentDraw Draw(int epoch, int position)
    {
        if (Augmentation == Augmentation.None) return default;
        var rng = SplitMix64.For(Seed, epoch, position, AugmentationStream);
        bool flip = rng.NextDouble() < 0.5;
        if (Augmentation == Augmentation.Flip) return new AugmentDraw(flip, 0, 0);
        // As torchvision's RandomAffine(translate=(0.04, 0.04)): round(U(-0.04·side, 0.04·side)),
        // so the largest shift is round(0.04·side) (1 px at 32, 3 px at 64) and small shifts are likelier.
        int sx = (int)Math.Round((rng.NextDouble() * 2 - 1) * 0.04 * Dataset.Shape.Width, MidpointRounding.ToEven);
        int sy = (int)Math.Round((rng.NextDouble() * 2 - 1) * 0.04 * Dataset.Shape.Height, MidpointRounding.ToEven);
        return new AugmentDraw(flip, sx, sy);
    }

    private Tensor Build(int count, Func<int, int> indexOf, Func<int, AugmentDraw> drawOf)
    {
        var shape = Dataset.Shape;
        int size = shape.Size;
        var values = new long[(long)count * size];
        // Decoding (JPEG datasets) dominates; each item is independent, so parallelism keeps results identical.
        Parallel.For(0, count, () => new byte[size], (i, _, pixels) =>
        {
            Dataset.CopyImage(indexOf(i), pixels);
            var draw = drawOf(i);
            Augment(pixels, shape, draw.Flip, draw.ShiftX, draw.ShiftY, values.AsSpan(i * size, size));
            return pixels;
        }, _ => { });
        return torch.tensor(values, [count, shape.Channels, shape.Height, shape.Width]);
    }

    private int[] EpochOrder(int epoch)
    {
        lock (_orderLock)
        {
            if (_cachedOrder is not null && _cachedEpoch == epoch) return _cachedOrder;

            var order = new int[Dataset.Count];
            for (int i = 0; i < order.Length; i++) order[i] = i;
            if (Shuffle)
            {
                // Fisher–Yates driven only by (seed, epoch).
                var rng = SplitMix64.For(Seed, epoch, PermutationStream);
                for (int i = order.Length - 1; i > 0; i--)
                {
                    int j = rng.NextInt(i + 1);
                    (order[i], order[j]) = (order[j], order[i]);
                }
            }
            _cachedEpoch = epoch;
            _cachedOrder = order;
            return order;
        }
    }
}
