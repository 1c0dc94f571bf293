using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Distributed;

/// <summary>
/// MPI_COMM_WORLD of the system's MPI library (<see cref="MpiLibrary"/>). Initialised with
/// MPI_THREAD_SERIALIZED: collectives come from the main thread and, on a GPU, from autograd's device
/// thread, never at the same time. Every error of a call is fatal to the job (MPI's default handler).
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    readonly MpiLibrary _mpi;
    bool _finalized;

    public int Rank { get; }
    public int Size { get; }
    public int LocalRank { get; }
    public int LocalSize { get; }
    public string Description { get; }

    /// <summary>Wall time spent inside MPI calls since initialisation (including waiting for slower ranks), for measurements.</summary>
    public double CommunicationSeconds => _communication.Elapsed.TotalSeconds;

    readonly System.Diagnostics.Stopwatch _communication = new();

    // The tensor's data address (TorchSharp 0.107 has no public accessor; this is its own native entry point).
    [DllImport("LibTorchSharp")]
    static extern nint THSTensor_data(nint handle);

    public MpiCommunicator(MpiLibrary mpi, Launcher launcher)
    {
        _mpi = mpi;
        int already = 0;
        Check(mpi.Initialized(&already), "MPI_Initialized");
        if (already == 0)
        {
            int provided = 0;
            Check(mpi.InitThread(null, null, MpiLibrary.ThreadSerialized, &provided), "MPI_Init_thread");
            if (provided < MpiLibrary.ThreadSerialized)
                throw new DistributedException($"{mpi.Path}: provides thread level {provided}, DenseFlow needs MPI_THREAD_SERIALIZED (2)");
        }
        int rank = 0, size = 0;
        Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
        LocalRank = launcher.LocalRank;
        LocalSize = Math.Max(1, launcher.LocalSize);
        Description = $"{size} ranks under {launcher.Name}, {mpi.Version()} ({mpi.Path})";
    }

    public void Barrier()
    {
        _communication.Start();
        Check(_mpi.Barrier(_mpi.CommWorld), "MPI_Barrier");
    }

    public void AllReduceSum(Tensor tensor)
    {
        var type = DataType(tensor.dtype);
        Staged(tensor, host =>
        {
            // MPI counts are int: reduce in chunks of at most 2^30 elements.
            long n = host.numel(), elementSize = host.ElementSize;
            byte* data = (byte*)THSTensor_data(host.Handle);
            for (long done = 0; done < n; done += 1 << 30)
            {
                int count = (int)Math.Min(1 << 30, n - done);
                _communication.Start();
                Check(_mpi.Allreduce(_mpi.InPlace, data + done * elementSize, count, type, _mpi.Sum, _mpi.CommWorld), "MPI_Allreduce");
            }
        });
    }

    public void AllReduceSum(double[] values)
    {
        if (values.Length == 0) return;
        _communication.Start();
        fixed (double* p = values) Check(_mpi.Allreduce(_mpi.InPlace, p, values.Length, _mpi.Double, _mpi.Sum, _mpi.CommWorld), "MPI_Allreduce");
    }

    public void Broadcast(Tensor tensor, int root = 0)
    {
        Staged(tensor, host =>
        {
            long bytes = host.numel() * host.ElementSize;
            byte* data = (byte*)THSTensor_data(host.Handle);
            _communication.Start();
            for (long done = 0; done < bytes; done += 1 << 30)
                Check(_mpi.Bcast(data + done, (int)Math.Min(1 << 30, bytes - done), _mpi.Byte, root, _mpi.CommWorld), "MPI_Bcast");
        });
    }

    public byte[] Broadcast(byte[]? data, int root = 0)
    {
        var length = new double[] { Rank == root ? (data ?? throw new ArgumentNullException(nameof(data))).Length : 0 };
        fixed (double* p = length) Check(_mpi.Bcast(p, 1, _mpi.Double, root, _mpi.CommWorld), "MPI_Bcast");
        var result = Rank == root ? data! : new byte[(long)length[0]];
        fixed (byte* p = result)
            for (long done = 0; done < result.LongLength; done += 1 << 30)
                Check(_mpi.Bcast(p + done, (int)Math.Min(1 << 30, result.LongLength - done), _mpi.Byte, root, _mpi.CommWorld), "MPI_Bcast");
        return result;
    }

    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        // The launcher reads our stderr pipe and its abort socket in one event loop: if the abort arrives first it
        // kills the job before forwarding the error line (seen once in CI: empty stderr). A moment lets it drain.
        Thread.Sleep(300);
        _mpi.Abort(_mpi.CommWorld, exitCode);
        Environment.Exit(exitCode); // MPI_Abort does not return; this is for libraries that do.
    }

    public void Dispose()
    {
        if (_finalized) return;
        _finalized = true;
        int done = 0;
        _mpi.Finalized(&done);
        if (done == 0) _mpi.Finalize();
    }

    nint DataType(ScalarType type) => type switch
    {
        ScalarType.Float32 => _mpi.Float,
        ScalarType.Float64 => _mpi.Double,
        ScalarType.Int64 => _mpi.Int64,
        _ => throw new DistributedException($"all-reduce of {type} tensors is not supported (float32, float64, int64)"),
    };

    /// <summary>Runs <paramref name="action"/> on a contiguous CPU tensor holding <paramref name="tensor"/>'s values, and copies back if it is a copy.</summary>
    static void Staged(Tensor tensor, Action<Tensor> action)
    {
        if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
        {
            action(tensor);
            return;
        }
        using var host = tensor.detach().to(CPU).contiguous();
        action(host);
        using (no_grad()) tensor.copy_(host);
    }

    void Check(int code, string call)
    {
        _communication.Stop();
        if (code != 0) throw new DistributedException($"{call} failed with MPI error {code} ({_mpi.Path})");
    }
}
