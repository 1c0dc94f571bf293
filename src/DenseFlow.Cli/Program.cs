using DenseFlow.Cli;
using DenseFlow.Cli.Commands;
using DenseFlow.Data;
using DenseFlow.Evaluation;
using DenseFlow.Model;
using DenseFlow.Training;

namespace DenseFlow.Cli;

/// <summary>The `denseflow` tool: a thin command layer over the library. <see cref="Run"/> is also what the tests call.</summary>
public static class DenseFlowCli
{
    public static int Main(string[] args) => AllocatorRelaunch.TryRun(args) ?? Run(args);

    public static int Run(string[] args)
    {
        // Spectre writes where Console.Out points now (tests redirect it).
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(Console.Out),
        });
var commands = new[]
{
    TrainCommands.Train, TrainCommands.FineTune, EvalCommands.Eval, EvalCommands.Score, SampleCommand.Sample,
    OodCommands.Ood, OodCommands.TrainBackground,
    ModelCommands.Import, ModelCommands.Info, ModelCommands.VerifyReference, BenchCommand.Bench, SoakCommand.Soak,
    InterpolateCommand.Interpolate, NeighboursCommand.Neighbours, FidCommand.Fid,
    MpiCheckCommand.MpiCheck, CompletionCommand.Completion,
};

if (BenchCommand.IsChild(args))
{
    try { Runtime.Initialize(); }
    catch (UsageException e) { Console.Error.WriteLine(e.Message); return 2; }
    return DenseFlow.Benchmarks.Benchmark.ChildMain(args, Console.Out, Console.Error);
}

// System.CommandLine parses (see CommandTree); help, --version, completions and unknown commands are answered there.
var line = new CommandTree(commands).Parse(args);
if (line.ExitCode is int answered) return answered;
var command = line.Command!;

int Fail(string message, int code) => DenseFlowCli.Fail(command.Name, message, code);
try
{
    var parsed = line.Args ?? throw line.Error!;
    Runtime.Initialize();
    // Under mpiexec only the commands that share their work (and let rank 0 alone write) may run.
    if (DenseFlow.Distributed.World.IsDistributed && command.Name is not ("train" or "finetune" or "eval" or "score" or "ood" or "mpi-check"))
        throw new UsageException($"denseflow {command.Name}: runs as one process; start it without mpiexec (train, finetune, eval, score and ood run across processes)");
    int result = command.Run(parsed);
    DenseFlow.Distributed.World.Shutdown();
    return result;
}
catch (UsageException e) { return Fail(e.Message, 2); }
catch (ConfigException e) { return Fail($"denseflow {command.Name}: {e.Message}", 2); }
catch (FixtureException e) { return Fail($"denseflow {command.Name}: {e.Message}", 2); }
catch (DatasetException e) { return Fail($"denseflow {command.Name}: {e.Message}", 1); }
catch (Exception e) when (e is ModelFileException or WeightImportException or TrainingException or DenseFlow.Toolbox.InceptionFileException or DenseFlow.Distributed.DistributedException
                              or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
{
    return Fail($"denseflow {command.Name}: {e.Message}", 1);
}
catch (IOException e) { return Fail($"denseflow {command.Name}: I/O error: {e.Message}", 1); }
catch (Exception e) when (Environment.GetEnvironmentVariable("DENSEFLOW_DEBUG") is null)
{
    // Never a stack trace for users; DENSEFLOW_DEBUG=1 shows it.
    return Fail($"denseflow {command.Name}: internal error ({e.GetType().Name}): {e.Message} (set DENSEFLOW_DEBUG=1 for details)", 1);
}

    }

    /// <summary>
    /// One line on stderr and the exit code. In a multi-process job the line names the rank, and the whole
    /// job ends (MPI_Abort) so no other rank waits forever in a collective.
    /// </summary>
    static int Fail(string command, string message, int code)
    {
        string line = message.Split('\n')[0];
        var world = DenseFlow.Distributed.World.Current;
        if (world.Size == 1)
        {
            Console.Error.WriteLine(line);
            return code;
        }
        string prefix = $"denseflow {command}: ";
        Console.Error.WriteLine($"{prefix}rank {world.Rank}: {(line.StartsWith(prefix) ? line[prefix.Length..] : line)}");
        world.Abort(code);
        return code;
    }
}
