namespace DenseFlow.Tests.Distributed;

/// <summary>A fact that needs mpiexec: skipped, saying why, when there is none.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (Mpi.Launcher is null) Skip = Mpi.Missing;
    }
}
