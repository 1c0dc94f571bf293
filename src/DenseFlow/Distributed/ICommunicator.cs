using static TorchSharp.torch;

namespace DenseFlow.Distributed;

/// <summary>
/// The processes of one job and the collectives the trainer and the evaluator need. Rank 0 is the one that
/// writes; every collective must be called by every rank in the same order.
/// </summary>
public interface ICommunicator : IDisposable
{
    int Rank { get; }
    int Size { get; }

    /// <summary>Rank within this machine and ranks on this machine (for threads and GPUs).</summary>
    int LocalRank { get; }
    int LocalSize { get; }

    /// <summary>What runs the job, for logs: "single process" or the MPI library and launcher.</summary>
    string Description { get; }

    void Barrier();

    /// <summary>In-place element-wise sum over ranks of a float32, float64 or int64 tensor (staged through host memory when not on the CPU).</summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>In-place element-wise sum over ranks.</summary>
    void AllReduceSum(double[] values);

    /// <summary>In-place: every rank gets <paramref name="root"/>'s values.</summary>
    void Broadcast(Tensor tensor, int root = 0);

    /// <summary>Every rank gets <paramref name="root"/>'s bytes (the others pass null).</summary>
    byte[] Broadcast(byte[]? data, int root = 0);

    /// <summary>Ends every process of the job with <paramref name="exitCode"/>; does not return.</summary>
    void Abort(int exitCode);
}
