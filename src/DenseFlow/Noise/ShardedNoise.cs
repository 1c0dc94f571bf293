using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Noise;

/// <summary>
/// One rank's rows of the draws of a whole global batch: every draw is made for the global batch from the
/// shared seeded stream (all ranks draw the same numbers) and this rank keeps rows
/// [<see cref="RowStart"/>, <see cref="RowStart"/> + <see cref="RowCount"/>). So N ranks see exactly the
/// noise one process would see for the same global batch. Every draw of a training pass has the batch as
/// its first dimension; any other shape is refused.
/// </summary>
public sealed class ShardedNoise : INoiseSource
{
    readonly INoiseSource _inner;

    public int GlobalBatch { get; set; }
    public int RowStart { get; set; }
    public int RowCount { get; set; }

    public ShardedNoise(INoiseSource inner, int globalBatch, int rowStart, int rowCount)
    {
        _inner = inner;
        GlobalBatch = globalBatch;
        RowStart = rowStart;
        RowCount = rowCount;
    }

    public Tensor StandardNormal(long[] shape, ScalarType dtype, Device device) => Rows(shape, s => _inner.StandardNormal(s, dtype, device));
    public Tensor Uniform(long[] shape, ScalarType dtype, Device device) => Rows(shape, s => _inner.Uniform(s, dtype, device));

    Tensor Rows(long[] shape, Func<long[], Tensor> draw)
    {
        if (shape.Length == 0 || shape[0] != RowCount)
            throw new InvalidOperationException($"sharded noise: a draw of shape [{string.Join(",", shape)}] does not have this rank's {RowCount} rows first");
        var global = (long[])shape.Clone();
        global[0] = GlobalBatch;
        using var all = draw(global);
        return all.narrow(0, RowStart, RowCount).clone();
    }
}
