using DenseFlow.Distributed;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Distributed;

/// <summary>
/// Gradient bucketing without MPI: a fake job of two identical ranks, whose sum doubles every value, shows that each
/// gradient comes back from the right offsets of the right bucket, and that parameters without a gradient are left alone.
/// </summary>
public class GradientBucketsTests
{
    sealed class TwoEqualRanks : ICommunicator
    {
        public List<long> Calls { get; } = new();
        public int Rank => 0;
        public int Size => 2;
        public int LocalRank => 0;
        public int LocalSize => 2;
        public string Description => "two equal ranks (test)";
        public void Barrier() { }
        public void AllReduceSum(Tensor tensor) { Calls.Add(tensor.numel()); tensor.mul_(2); }
        public void AllReduceSum(double[] values) { for (int i = 0; i < values.Length; i++) values[i] *= 2; }
        public void Broadcast(Tensor tensor, int root = 0) { }
        public byte[] Broadcast(byte[]? data, int root = 0) => data!;
        public void Abort(int exitCode) => throw new InvalidOperationException("abort");
        public void Dispose() { }
    }

    static Tensor Parameter(long seed, params long[] shape)
    {
        using var g = new Generator((ulong)seed, CPU);
        var p = randn(shape, generator: g).requires_grad_(true);
        return p;
    }

    [Fact]
    public void EveryGradientIsSummedFromItsOwnOffsets_AcrossSeveralBuckets()
    {
        using var scope = NewDisposeScope();
        // 3, 5, 4 and 9 elements in buckets of at most 7: [3], [5], [4], [9] (a bucket never splits a tensor).
        var ps = new[] { Parameter(1, 3), Parameter(2, 5), Parameter(3, 2, 2), Parameter(4, 3, 3) };
        const int noGrad = 2;
        // Distinct gradients per element, so a wrong offset would put another parameter's values here.
        for (int i = 0; i < ps.Length; i++)
            if (i != noGrad) (ps[i] * (i + 1) * ps[i]).sum().backward();
        var want = ps.Select(p => p.grad is null ? null : p.grad.clone() * 2).ToArray();

        var buckets = new GradientBuckets(ps, bucketElements: 7);
        Assert.Equal(4, buckets.Count);
        var comm = new TwoEqualRanks();
        Assert.True(buckets.AllReduce(comm));
        Assert.Equal(new long[] { 3, 5, 9 }, comm.Calls); // the bucket of the gradient-less parameter makes no call
        for (int i = 0; i < ps.Length; i++)
        {
            if (i == noGrad) { Assert.Null(ps[i].grad); continue; }
            Assert.True(ps[i].grad!.eq(want[i]!).all().item<bool>(), $"parameter {i}: gradient not doubled in place");
        }

        // Small parameters share a bucket: 3 + 4 ≤ 7, and 5 starts the next.
        var packed = new GradientBuckets(new[] { Parameter(5, 3), Parameter(6, 4), Parameter(7, 5) }, bucketElements: 7);
        Assert.Equal(2, packed.Count);
    }

    [Fact]
    public void ANonFiniteSumIsReported()
    {
        using var scope = NewDisposeScope();
        var p = Parameter(8, 4);
        (p * p).sum().backward();
        using (no_grad()) p.grad![1] = tensor(float.NaN);
        Assert.False(new GradientBuckets(new[] { p }, bucketElements: 7).AllReduce(new TwoEqualRanks()));
    }
}
