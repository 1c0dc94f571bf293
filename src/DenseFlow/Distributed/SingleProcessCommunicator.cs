using static TorchSharp.torch;

namespace DenseFlow.Distributed;

/// <summary>A job of one process: every collective is the identity, so single-process runs are unchanged.</summary>
public sealed class SingleProcessCommunicator : ICommunicator
{
    public static readonly SingleProcessCommunicator Instance = new();

    public int Rank => 0;
    public int Size => 1;
    public int LocalRank => 0;
    public int LocalSize => 1;
    public string Description => "single process";

    public void Barrier() { }
    public void AllReduceSum(Tensor tensor) { }
    public void AllReduceSum(double[] values) { }
    public void Broadcast(Tensor tensor, int root = 0) { }
    public byte[] Broadcast(byte[]? data, int root = 0) => data ?? throw new ArgumentNullException(nameof(data));
    public void Abort(int exitCode) => Environment.Exit(exitCode);
    public void Dispose() { }
}
