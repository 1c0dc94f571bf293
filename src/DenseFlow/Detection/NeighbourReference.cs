using DenseFlow.Data;
using DenseFlow.Toolbox;
using static TorchSharp.torch;

namespace DenseFlow.Detection;

/// <summary>
/// The training images as the reference of the nearest-neighbour OOD score: the mean Euclidean distance of
/// an image to its <see cref="K"/> nearest training images in pixel space, as a root-mean-square pixel
/// difference in [0, 1] units (distance / (255·√D)). The k-NN distance as an OOD score: Sun, Ming, Zhu,
/// Li 2022, "Out-of-distribution detection with deep nearest neighbors", ICML (there in a network's feature
/// space; here on the pixels, which needs no network). It sees what an image shows, where the likelihood
/// sees how smooth it is: a held-out class is far from every training image even when it is as smooth.
/// </summary>
public sealed class NeighbourReference : IDisposable
{
    public const int DefaultK = 5;
    const int QueryBatch = 1000;     // bounds the (queries × references chunk) distance matrix at ~65 MB
    readonly Tensor _images;         // (N, D) uint8: 60,000 Fashion-MNIST images are 47 MB

    public int K { get; }
    public int Count { get; }
    public int Dimensions { get; }

    public NeighbourReference(IImageDataset training, int k = DefaultK)
    {
        ArgumentNullException.ThrowIfNull(training);
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1");
        if (training.Count <= k) throw new ArgumentException($"{training.Name}: {training.Count} images, the nearest-neighbour score needs more than k = {k}");
        K = k;
        Count = training.Count;
        Dimensions = training.Shape.Size;
        using var images = DatasetImages.Load(training, 0, training.Count);
        _images = images.reshape(Count, Dimensions).contiguous().DetachFromDisposeScope();
    }

    /// <summary>Per image of <paramref name="images"/>: the mean distance to its K nearest reference images.</summary>
    public double[] Distances(IImageDataset images)
    {
        if (images.Shape.Size != Dimensions) throw new ArgumentException($"{images.Name}: images of {images.Shape.Size} values, the reference's have {Dimensions}");
        var result = new double[images.Count];
        for (int start = 0; start < images.Count; start += QueryBatch)
        {
            int n = Math.Min(QueryBatch, images.Count - start);
            using var q = DatasetImages.Load(images, start, n);
            using var flat = q.reshape(n, Dimensions);
            var found = NearestNeighbours.Find(flat, _images, K);
            for (int i = 0; i < n; i++) result[start + i] = Mean(found, i, skip: -1);
        }
        return result;
    }

    /// <summary>
    /// The same for the first <paramref name="count"/> reference images themselves, each without itself
    /// (leave one out), so their spread is that of unseen in-distribution images: K + 1 neighbours are
    /// found and the image's own index dropped (or the farthest, when an exact duplicate displaced it).
    /// </summary>
    public double[] LeaveOneOut(int count)
    {
        if (count < 1 || count > Count) throw new ArgumentOutOfRangeException(nameof(count), count, $"between 1 and the {Count} reference images");
        var result = new double[count];
        for (int start = 0; start < count; start += QueryBatch)
        {
            int n = Math.Min(QueryBatch, count - start);
            using var q = _images.narrow(0, start, n);
            var found = NearestNeighbours.Find(q, _images, K + 1);
            for (int i = 0; i < n; i++)
            {
                int self = K;
                for (int j = 0; j <= K; j++) if (found.Indices[i, j] == start + i) { self = j; break; }
                result[start + i] = Mean(found, i, self);
            }
        }
        return result;
    }

    double Mean(Neighbours found, int row, int skip)
    {
        double sum = 0;
        for (int j = 0; j < found.K; j++) if (j != skip) sum += found.Distances[row, j];
        return sum / K / (255.0 * Math.Sqrt(Dimensions));
    }

    public void Dispose() => _images.Dispose();
}
