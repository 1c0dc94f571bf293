using System.Diagnostics;

namespace DenseFlow.Tests.Distributed;

/// <summary>Runs `mpiexec -n N dotnet denseflow.dll …` for the multi-process tests.</summary>
public static class Mpi
{
    /// <summary>DENSEFLOW_MPIEXEC, else mpiexec on PATH; null when there is none.</summary>
    public static readonly string? Launcher = Environment.GetEnvironmentVariable("DENSEFLOW_MPIEXEC") is { Length: > 0 } forced ? forced
        : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "mpiexec")).FirstOrDefault(File.Exists);

    public const string Missing = "mpiexec not found: install the Debian package mpich (scripts/ensure-deps.sh does) to run the multi-process tests";

    public static string Tool => Path.Combine(AppContext.BaseDirectory, "denseflow.dll");

    /// <summary>The launcher's process running N ranks of the tool; the caller waits for it.</summary>
    public static Process Start(int ranks, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(Launcher!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-n", ranks.ToString(), "dotnet", Tool }.Concat(args)) psi.ArgumentList.Add(a);
        // One torch thread per rank: the 2 ranks share this machine's cores. Open MPI refuses root without these.
        psi.Environment["DENSEFLOW_THREADS"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    public static (int Code, string Out, string Err) Run(int ranks, params string[] args) => Run(ranks, null, args);

    public static (int Code, string Out, string Err) Run(int ranks, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        using var p = Start(ranks, env, args);
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpiexec -n {ranks} {string.Join(" ", args)} did not end within 2 minutes");
        }
        return (p.ExitCode, output.Result, error.Result);
    }
}
