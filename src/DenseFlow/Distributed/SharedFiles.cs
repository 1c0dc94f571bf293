namespace DenseFlow.Distributed;

/// <summary>
/// Files every rank must read alike (run.json, the checkpoint): rank 0 reads and broadcasts the bytes, so the
/// other machines need no shared file system and all ranks see the same version even while rank 0 rewrites it.
/// </summary>
public static class SharedFiles
{
    /// <summary>The file's bytes on every rank; errors (a missing file) are raised on rank 0, which then ends the job.</summary>
    public static byte[] ReadAllBytes(ICommunicator comm, string path) =>
        comm.Size == 1 ? File.ReadAllBytes(path) : comm.Broadcast(comm.Rank == 0 ? File.ReadAllBytes(path) : null);

    public static string ReadAllText(ICommunicator comm, string path) => System.Text.Encoding.UTF8.GetString(ReadAllBytes(comm, path));

    /// <summary>Whether rank 0 sees the file, on every rank.</summary>
    public static bool Exists(ICommunicator comm, string path)
    {
        if (comm.Size == 1) return File.Exists(path);
        var flag = new[] { comm.Rank == 0 && File.Exists(path) ? 1.0 : 0.0 };
        comm.AllReduceSum(flag);
        return flag[0] > 0;
    }
}
