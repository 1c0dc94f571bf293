namespace DenseFlow.Distributed;

/// <summary>
/// The job this process belongs to, set up once by the tool: MPI when a launcher started the process,
/// else a single process (no MPI library needed, everything as without this class).
/// </summary>
public static class World
{
    static ICommunicator _current = SingleProcessCommunicator.Instance;

    public static ICommunicator Current => _current;
    public static bool IsDistributed => _current.Size > 1;

    /// <summary>Joins the job the environment describes; a no-op without a launcher.</summary>
    public static ICommunicator Initialize()
    {
        if (_current.Size > 1) return _current;
        var launcher = Launcher.Detect();
        if (launcher is null) return _current;
        _current = new MpiCommunicator(MpiLibrary.Load(launcher), launcher);
        return _current;
    }

    /// <summary>MPI_Finalize (when MPI was initialised); the job is single-process afterwards.</summary>
    public static void Shutdown()
    {
        var c = _current;
        _current = SingleProcessCommunicator.Instance;
        c.Dispose();
    }
}
