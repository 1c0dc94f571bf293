using DenseFlow.Distributed;
using DenseFlow.Host;

namespace DenseFlow.Cli;

static class Runtime
{
    /// <summary>
    /// Joins the MPI job when a launcher started this process (else nothing changes), and sets the torch
    /// threads: oneDNN convolutions dominate DenseFlow's cost, so every core — shared among the ranks on this
    /// machine — unless DENSEFLOW_THREADS says otherwise. Keeps freed tensor memory in the process
    /// (<see cref="NativeHeap"/>; DENSEFLOW_HEAP=default opts out) and checks oneDNN's convolutions
    /// (<see cref="OneDnnCheck"/>). Ranks other than 0 print nothing on stdout.
    /// </summary>
    public static void Initialize()
    {
        try { NativeHeap.Configure(); }
        catch (ArgumentException e) { throw new UsageException($"denseflow: {e.Message}"); }
        var world = World.Initialize();
        int cores = Math.Max(1, Environment.ProcessorCount / Math.Max(1, world.LocalSize));
        int threads = Environment.GetEnvironmentVariable("DENSEFLOW_THREADS") is { } s && int.TryParse(s, out int n) && n > 0 ? n : cores;
        TorchSharp.torch.set_num_threads(threads);
        // After the thread count: on the Zen-5 EPYC some wrong convolutions showed with 2 threads and not with 1.
        try { OneDnnCheck.Ensure(Console.Error); }
        catch (ArgumentException e) { throw new UsageException($"denseflow: {e.Message}"); }
        if (world.Rank != 0)
        {
            Console.SetOut(TextWriter.Null);
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
            {
                Out = new Spectre.Console.AnsiConsoleOutput(TextWriter.Null),
            });
        }
    }
}
