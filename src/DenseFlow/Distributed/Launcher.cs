namespace DenseFlow.Distributed;

/// <summary>
/// What the environment says about the job: an MPI launcher (mpiexec/hydra, Open MPI's mpirun, Slurm's srun
/// with PMI/PMIx) sets rank and size variables in every process it starts. Without them the job is one process.
/// </summary>
public sealed record Launcher(string Name, int Rank, int Size, int LocalRank, int LocalSize)
{
    /// <summary>The launcher of this process, or null when none started it (or DENSEFLOW_MPI=off).</summary>
    public static Launcher? Detect() => Detect(Environment.GetEnvironmentVariable);

    public static Launcher? Detect(Func<string, string?> env)
    {
        if (env("DENSEFLOW_MPI") is "off" or "0") return null;
        int? Int(string name) => int.TryParse(env(name), out int v) ? v : null;
        Launcher? found = null;
        if (Int("OMPI_COMM_WORLD_RANK") is { } orank && Int("OMPI_COMM_WORLD_SIZE") is { } osize)
            found = new Launcher("Open MPI", orank, osize, Int("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0, Int("OMPI_COMM_WORLD_LOCAL_SIZE") ?? 1);
        else if (Int("PMI_RANK") is { } prank && Int("PMI_SIZE") is { } psize)
            found = new Launcher(env("SLURM_JOB_ID") is null ? "hydra (PMI)" : "Slurm (PMI)", prank, psize,
                Int("MPI_LOCALRANKID") ?? Int("SLURM_LOCALID") ?? 0, Int("MPI_LOCALNRANKS") ?? SlurmLocalSize(env) ?? 1);
        else if (Int("PMIX_RANK") is { } xrank && (Int("PMIX_SIZE") ?? Int("SLURM_NTASKS") ?? Int("OMPI_COMM_WORLD_SIZE")) is { } xsize)
            found = new Launcher("PMIx", xrank, xsize, Int("SLURM_LOCALID") ?? Int("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0, SlurmLocalSize(env) ?? 1);
        return found is { Size: > 1 } ? found : null;
    }

    // SLURM_TASKS_PER_NODE looks like "4(x2),3"; this node's count is SLURM_NTASKS_PER_NODE when set.
    static int? SlurmLocalSize(Func<string, string?> env)
    {
        if (int.TryParse(env("SLURM_NTASKS_PER_NODE"), out int n)) return n;
        string? tasks = env("SLURM_TASKS_PER_NODE");
        if (tasks is null) return null;
        string first = tasks.Split(',')[0];
        int paren = first.IndexOf('(');
        return int.TryParse(paren < 0 ? first : first[..paren], out int m) ? m : null;
    }
}
