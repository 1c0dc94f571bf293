using DenseFlow.Data;

namespace DenseFlow.Detection;

/// <summary>
/// The input perturbation of Ren et al. 2019 (NeurIPS, "Likelihood ratios for out-of-distribution
/// detection"), used to train the background model: each pixel value is replaced, with probability µ,
/// by a uniform random 8-bit value. The draws are a pure function of (seed, image index, pixel), so
/// an image is perturbed the same way every time it is read and a resumed run sees the same data.
/// </summary>
public sealed class MutatedDataset : IImageDataset
{
    const long MutationStream = 0x4D555441; // "MUTA": its own hash stream, independent of shuffling
    readonly IImageDataset _inner;
    readonly long _seed;

    public double Rate { get; }

    public MutatedDataset(IImageDataset inner, double rate, long seed)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!(rate >= 0 && rate <= 1)) throw new ArgumentOutOfRangeException(nameof(rate), $"mutation rate must be in [0, 1], got {rate}");
        _inner = inner;
        Rate = rate;
        _seed = seed;
    }

    public string Name => _inner.Name;
    public ImageShape Shape => _inner.Shape;
    public int Count => _inner.Count;

    public void CopyImage(int index, Span<byte> chw)
    {
        _inner.CopyImage(index, chw);
        var rng = SplitMix64.For(_seed, index, MutationStream);
        for (int i = 0; i < chw.Length; i++)
        {
            bool mutate = rng.NextDouble() < Rate;
            int value = rng.NextInt(256);
            if (mutate) chw[i] = (byte)value;
        }
    }
}
