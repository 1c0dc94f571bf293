using System.Text.Json;
using DenseFlow.Distributed;
using Spectre.Console;
using static TorchSharp.torch;

namespace DenseFlow.Cli.Commands;

/// <summary>
/// `denseflow mpi-check`: the collectives training uses, once each, on known values — run it under the
/// launcher before a long job to see that the MPI library, the launcher and the network work together.
/// </summary>
static class MpiCheckCommand
{
    public static readonly Command MpiCheck = new()
    {
        Name = "mpi-check",
        Summary = "check the MPI set-up: rank, size, library, and the all-reduce, broadcast and barrier training uses",
        Usage = "mpiexec -n N denseflow mpi-check [--json] [--abort-rank R]",
        Examples = "mpiexec -n 2 denseflow mpi-check\nsrun --mpi=pmi2 -n 8 denseflow mpi-check --json",
        Options = new[]
        {
            new OptionSpec("json", "print the result as JSON", OptionKind.Flag),
            new OptionSpec("abort-rank", "make rank R fail after the checks, to see that the whole job ends (exit code non-zero)", Meta: "R"),
        },
        Run = Run,
    };

    static int Run(Args a)
    {
        int? abortRank = a.Int("abort-rank", 0, "zero or a positive integer");
        var world = World.Current;
        int r = world.Rank, n = world.Size;
        // Rank r contributes r + 1 (and halves of it, and −(r+1)·2^40 for int64), so the sums are known.
        using var f32 = tensor(new float[] { r + 1, 0.5f * (r + 1) });
        using var f64 = tensor(new double[] { r + 1, 0.25 * (r + 1) });
        using var i64 = tensor(new long[] { r + 1, -(r + 1L) << 40 });
        world.AllReduceSum(f32);
        world.AllReduceSum(f64);
        world.AllReduceSum(i64);
        using var shared = r == 0 ? tensor(new double[] { 42.5, -7 }) : zeros(2, dtype: ScalarType.Float64);
        world.Broadcast(shared);
        var bytes = world.Broadcast(r == 0 ? System.Text.Encoding.UTF8.GetBytes("from rank 0") : null);
        // Every rank checks what it received; the count of ranks that got rank 0's values is summed.
        bool received = shared.data<double>().SequenceEqual(new[] { 42.5, -7.0 }) && System.Text.Encoding.UTF8.GetString(bytes) == "from rank 0";
        var agree = new[] { received ? 1.0 : 0.0 };
        world.AllReduceSum(agree);
        world.Barrier();
        if (abortRank == r) throw new DistributedException($"failing on purpose (--abort-rank {r})");
        world.Barrier(); // the other ranks wait here for a rank that will never come: MPI_Abort ends them

        var result = new Dictionary<string, object>
        {
            ["world_size"] = n,
            ["description"] = world.Description,
            ["allreduce_float32"] = f32.data<float>().ToArray(),
            ["allreduce_float64"] = f64.data<double>().ToArray(),
            ["allreduce_int64"] = i64.data<long>().ToArray(),
            ["broadcast_received_ranks"] = (int)agree[0],
        };
        if (a.Flag("json")) Console.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        else
        {
            AnsiConsole.MarkupLineInterpolated($"{world.Description}");
            AnsiConsole.MarkupLineInterpolated($"all-reduce sums (float32, float64, int64): {string.Join(" ", f32.data<float>().ToArray())} | {string.Join(" ", f64.data<double>().ToArray())} | {string.Join(" ", i64.data<long>().ToArray())} (expected {n * (n + 1) / 2} and fractions of it)");
            AnsiConsole.MarkupLineInterpolated($"broadcast: {(int)agree[0]} of {n} ranks received rank 0's values; barrier passed");
        }
        return (int)agree[0] == n ? 0 : 1;
    }
}
