using System.Runtime.InteropServices;

namespace DenseFlow.Distributed;

/// <summary>
/// The system's MPI C library, loaded at run time, with the few entry points we call. Two ABIs exist on Linux:
/// MPICH's (libmpich.so.12; also Intel MPI and MVAPICH), whose handles are int constants from mpi.h, and
/// Open MPI's (libmpi.so.40), whose handles are addresses of exported globals. Handles are passed as nint:
/// on x86-64 and AArch64 a 32-bit int argument travels in the low half of a 64-bit register, so one set of
/// signatures serves both ABIs. (Hand-written because MPI.NET 1.4 binds Windows' msmpi only.)
/// </summary>
public sealed unsafe class MpiLibrary
{
    public string Path { get; }
    public bool IsOpenMpi { get; }

    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<nint, int> Barrier;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<byte*, int*, int> GetLibraryVersion;

    public readonly nint CommWorld, Byte, Float, Double, Int64, Sum;
    public readonly void* InPlace;

    /// <summary>MPI_THREAD_SERIALIZED: the same value (2) in both ABIs.</summary>
    public const int ThreadSerialized = 2;

    const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    static extern nint DlOpen(string path, int flags);

    MpiLibrary(string path, nint handle)
    {
        Path = path;
        nint Export(string name) => NativeLibrary.TryGetExport(handle, name, out var p) ? p
            : throw new DistributedException($"{path}: has no symbol {name} (not an MPI library?)");
        IsOpenMpi = NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _);
        Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        Finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        Barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        GetLibraryVersion = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_library_version");
        if (IsOpenMpi)
        {
            // Open MPI: handles are the addresses of its predefined objects; MPI_IN_PLACE is (void*)1.
            CommWorld = Export("ompi_mpi_comm_world");
            Byte = Export("ompi_mpi_byte");
            Float = Export("ompi_mpi_float");
            Double = Export("ompi_mpi_double");
            Int64 = Export("ompi_mpi_int64_t");
            Sum = Export("ompi_mpi_op_sum");
            InPlace = (void*)1;
        }
        else
        {
            // MPICH ABI: the constants of mpich/mpi.h; MPI_IN_PLACE is (void*)-1.
            CommWorld = 0x44000000;
            Byte = 0x4c00010d;
            Float = 0x4c00040a;
            Double = 0x4c00080b;
            Int64 = 0x4c00083a;
            Sum = 0x58000003;
            InPlace = (void*)-1;
        }
    }

    /// <summary>
    /// The library named by DENSEFLOW_MPI_LIBRARY, else the one the launcher suggests (Open MPI's for mpirun),
    /// else the first of libmpich.so.12, libmpi.so.40, libmpi.so.12 that loads.
    /// </summary>
    public static MpiLibrary Load(Launcher? launcher = null)
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("DENSEFLOW_MPI_LIBRARY") is { Length: > 0 } forced) candidates.Add(forced);
        else if (launcher?.Name == "Open MPI") candidates.AddRange(["libmpi.so.40", "libmpich.so.12", "libmpi.so.12"]);
        else candidates.AddRange(["libmpich.so.12", "libmpi.so.40", "libmpi.so.12"]);
        foreach (var name in candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            // Open MPI's plugins resolve symbols of libmpi itself: make them global, as mpi4py does.
            if (OperatingSystem.IsLinux()) DlOpen(name, RtldNow | RtldGlobal);
            return new MpiLibrary(name, handle);
        }
        throw new DistributedException($"no MPI library found (tried {string.Join(", ", candidates)}); install the Debian package mpich or openmpi-bin, or set DENSEFLOW_MPI_LIBRARY");
    }

    /// <summary>MPI_Get_library_version's first line.</summary>
    public string Version()
    {
        var buffer = new byte[8192]; // ≥ MPI_MAX_LIBRARY_VERSION_STRING of both ABIs
        int length = 0;
        fixed (byte* b = buffer) GetLibraryVersion(b, &length);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, Math.Clamp(length, 0, buffer.Length)).Split('\n')[0].Replace('\t', ' ').Trim().TrimEnd('\0');
    }
}
