namespace DenseFlow.Data;

/// <summary>
/// SplitMix64 generator and mixer. Used instead of System.Random so shuffles and augmentations
/// depend only on our own seeds and are identical across .NET versions and machines.
/// </summary>
public struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>A generator whose seed is a hash of the given values.</summary>
    public static SplitMix64 For(params ReadOnlySpan<long> values)
    {
        ulong h = 0x6A09E667F3BCC909;
        foreach (var v in values) h = Mix(h ^ (ulong)v);
        return new SplitMix64(h);
    }

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15;
        return Mix(_state);
    }

    /// <summary>Uniform integer in [0, bound) by multiply-shift (bias below 2^-32, irrelevant here).</summary>
    public int NextInt(int bound) => (int)(((Next() >> 32) * (ulong)bound) >> 32);

    /// <summary>Uniform double in [0, 1) from the top 53 bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
