namespace DenseFlow.Tests.Distributed;

/// <summary>A fact for Open MPI's ABI: skipped unless its launcher is installed (the set-up installs mpich only).</summary>
public sealed class OpenMpiFactAttribute : FactAttribute
{
    public const string Launcher = "/usr/bin/mpiexec.openmpi";

    public OpenMpiFactAttribute()
    {
        if (!File.Exists(Launcher)) Skip = $"{Launcher} not found: install openmpi-bin to test Open MPI's ABI";
    }
}
