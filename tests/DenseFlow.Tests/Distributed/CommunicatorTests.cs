using System.Text.Json;
using DenseFlow.Distributed;
using DenseFlow.Noise;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Distributed;

/// <summary>The communicator alone: collectives under mpiexec -n 2, launcher detection, sharded noise.</summary>
public class CommunicatorTests
{
    [MpiFact]
    public void TwoRanksAllReduceBroadcastAndBarrier()
    {
        var (code, o, e) = Mpi.Run(2, "mpi-check", "--json");
        Assert.True(code == 0, o + e);
        using var doc = JsonDocument.Parse(o);
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("world_size").GetInt32());
        // Rank r contributed r + 1, (r + 1)/2 or /4, and −(r + 1)·2^40: sums by hand for ranks 0 and 1.
        Assert.Equal(new[] { 3.0, 1.5 }, root.GetProperty("allreduce_float32").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(new[] { 3.0, 0.75 }, root.GetProperty("allreduce_float64").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(new[] { 3L, -(1L << 40) - (2L << 40) }, root.GetProperty("allreduce_int64").EnumerateArray().Select(v => v.GetInt64()));
        Assert.Equal(2, root.GetProperty("broadcast_received_ranks").GetInt32());
    }

    [MpiFact]
    public void AFailingRankEndsTheWholeJob()
    {
        var (code, o, e) = Mpi.Run(2, "mpi-check", "--abort-rank", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("denseflow mpi-check: rank 1: failing on purpose", e);
        Assert.DoesNotContain("barrier passed", o); // rank 0 never got past the second barrier
    }

    /// <summary>Open MPI's handles are exported objects, not mpi.h constants: a separate path of MpiLibrary.</summary>
    [OpenMpiFact]
    public void OpenMpisAbi()
    {
        var psi = new System.Diagnostics.ProcessStartInfo(OpenMpiFactAttribute.Launcher) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-n", "2", "dotnet", Mpi.Tool, "mpi-check", "--json" }) psi.ArgumentList.Add(arg);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "Open MPI job did not end");
        Assert.True(p.ExitCode == 0, output.Result + error.Result);
        string json = output.Result[output.Result.IndexOf('{')..];
        using var doc = JsonDocument.Parse(json);
        Assert.StartsWith("2 ranks under Open MPI", doc.RootElement.GetProperty("description").GetString());
        Assert.Equal(new[] { 3.0, 0.75 }, doc.RootElement.GetProperty("allreduce_float64").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(2, doc.RootElement.GetProperty("broadcast_received_ranks").GetInt32());
    }

    [Fact]
    public void LauncherIsReadFromTheEnvironment()
    {
        Launcher? From(params (string, string)[] vars) => Launcher.Detect(n => vars.FirstOrDefault(v => v.Item1 == n).Item2);
        Assert.Null(From());
        Assert.Null(From(("PMI_RANK", "0"), ("PMI_SIZE", "1"))); // one process: no MPI
        Assert.Equal(new Launcher("hydra (PMI)", 1, 4, 1, 2), From(("PMI_RANK", "1"), ("PMI_SIZE", "4"), ("MPI_LOCALRANKID", "1"), ("MPI_LOCALNRANKS", "2")));
        Assert.Equal(new Launcher("Open MPI", 3, 8, 1, 4), From(("OMPI_COMM_WORLD_RANK", "3"), ("OMPI_COMM_WORLD_SIZE", "8"),
            ("OMPI_COMM_WORLD_LOCAL_RANK", "1"), ("OMPI_COMM_WORLD_LOCAL_SIZE", "4")));
        Assert.Equal(new Launcher("Slurm (PMI)", 5, 6, 2, 3), From(("PMI_RANK", "5"), ("PMI_SIZE", "6"), ("SLURM_JOB_ID", "9"), ("SLURM_LOCALID", "2"), ("SLURM_TASKS_PER_NODE", "3(x2)")));
        Assert.Null(From(("PMI_RANK", "1"), ("PMI_SIZE", "4"), ("DENSEFLOW_MPI", "off")));
    }

    [Fact]
    public void ShardedNoiseGivesThisRanksRowsOfTheGlobalDraws()
    {
        using var global = new SeededNoise(5);
        using var a = global.StandardNormal([5, 2, 3], ScalarType.Float64, CPU);
        using var b = global.Uniform([5, 4], ScalarType.Float32, CPU);
        using var inner = new SeededNoise(5);
        var rank1 = new ShardedNoise(inner, globalBatch: 5, rowStart: 2, rowCount: 3);
        using var ra = rank1.StandardNormal([3, 2, 3], ScalarType.Float64, CPU);
        using var rb = rank1.Uniform([3, 4], ScalarType.Float32, CPU);
        Assert.True(ra.eq(a.narrow(0, 2, 3)).all().item<bool>());
        Assert.True(rb.eq(b.narrow(0, 2, 3)).all().item<bool>());
        Assert.Throws<InvalidOperationException>(() => rank1.StandardNormal([5, 2], ScalarType.Float32, CPU));
    }
}
