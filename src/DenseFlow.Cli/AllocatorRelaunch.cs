using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using DenseFlow.Host;

namespace DenseFlow.Cli;

/// <summary>
/// Starts this command again with tcmalloc preloaded (<see cref="NativeAllocator"/>: malloc cannot be replaced
/// in a running process) and waits for it: same arguments, environment, working directory, standard streams
/// and exit code. Ctrl-C reaches both processes (one process group); this one ignores it and the command
/// handles it as it always does. SIGTERM is passed on.
/// </summary>
static class AllocatorRelaunch
{
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    const int SigTerm = 15;

    /// <summary>The started-again command's exit code, or null to run the command in this process.</summary>
    public static int? TryRun(string[] args)
    {
        NativeAllocator.Decision plan;
        try { plan = NativeAllocator.PlanHere(); }
        catch (ArgumentException e) { Console.Error.WriteLine($"denseflow: {e.Message}"); return 2; }
        if (plan.Preload is null || Environment.ProcessPath is not { } host) return null;
        var start = new ProcessStartInfo(host) { UseShellExecute = false };
        // Run as `dotnet denseflow.dll …`: the host needs the assembly again.
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(typeof(AllocatorRelaunch).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["LD_PRELOAD"] = NativeAllocator.PreloadValue(plan.Preload, Environment.GetEnvironmentVariable("LD_PRELOAD"));
        start.Environment[NativeAllocator.RelaunchedVariable] = "1";
        Process? child;
        try { child = Process.Start(start); }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException) { child = null; }
        if (child is null) return null; // could not start: run here, with glibc's malloc
        using (child)
        {
            Console.CancelKeyPress += (_, e) => e.Cancel = true;
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; Kill(child.Id, SigTerm); });
            child.WaitForExit();
            return child.ExitCode;
        }
    }
}
