using DenseFlow.Benchmarks;
using DenseFlow.IO;
using Spectre.Console;

namespace DenseFlow.Cli.Commands;

static class BenchCommand
{
    public static readonly Command Bench = new()
    {
        Name = "bench",
        Summary = "measure training, sampling and evaluation speed and memory beside the calibration convolution",
        Usage = "denseflow bench [--preset NAME | --config FILE] [--only train,sample,eval,iwbo,calibration] [--repeats N] [--json FILE] [--no-isolate]",
        Examples = "denseflow bench --preset small32x1 --json bench-small.json\ndenseflow bench --preset df-74-10 --only train,sample,eval --repeats 3",
        Options = new[]
        {
            Common.Preset, Common.Config,
            new OptionSpec("only", $"comma-separated subset of: {string.Join(", ", Benchmark.Groups)} (default all)", Meta: "LIST"),
            new OptionSpec("repeats", "timed repeats per measurement after warm-up (default 5)", Meta: "N"),
            new OptionSpec("warmup", "untimed repeats first (default 1)", Meta: "N"),
            new OptionSpec("iwbo-k", "importance samples for the IWBO cost (default 1000)", Meta: "K"),
            new OptionSpec("iwbo-images", "images for the IWBO cost (default 2)", Meta: "N"),
            new OptionSpec("iwbo-draws", "draws per pass for the IWBO (default 64)", Meta: "N"),
            new OptionSpec("json", "also write the report as JSON to FILE (`-` for standard output only)", Meta: "FILE"),
            new OptionSpec("recompute", "share of the coupling networks training steps recompute in the backward pass: off (default), on (all) or a fraction F in [0, 1]", Meta: "F"),
            Common.LayoutOption,
            new OptionSpec("no-isolate", "run every measurement in this process (peak memory is then cumulative)", OptionKind.Flag),
            new OptionSpec("threads", "torch threads (default: the core count)", Meta: "N"),
            Common.Device,
        },
        Run = Run,
    };

    /// <summary>`denseflow bench --child NAME …`: one isolated measurement, printed as a JSON line (the parent's protocol).</summary>
    public static bool IsChild(string[] args) => args.Length > 1 && args[0] == "bench" && args[1] == Benchmark.ChildFlag;

    static int Run(Args a)
    {
        var (config, preset) = Common.ResolveConfig(a, "small32x1");
        var only = (a.String("only") ?? string.Join(",", Benchmark.Groups)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        try { Benchmark.Expand(only); }
        catch (ArgumentException e) { throw a.Error($"--only: {e.Message}"); }
        var options = new BenchmarkOptions
        {
            Preset = preset ?? "custom",
            Config = preset is null ? config : null,
            Only = only,
            Repeats = a.PositiveInt("repeats", 5),
            Warmup = a.Int("warmup", 0, "zero or a positive integer") ?? 1,
            IwboK = a.PositiveInt("iwbo-k", 1000),
            IwboImages = a.PositiveInt("iwbo-images", 2),
            IwboDrawsPerPass = a.PositiveInt("iwbo-draws", 64),
            Device = Common.ParseDevice(a).ToString(),
            Isolate = !a.Flag("no-isolate"),
            RecomputeFraction = Common.RecomputeFraction(a, 0),
            Layout = Common.Layout(a),
            Threads = a.Int("threads", 1, "a positive integer") ?? 0,
            ChildCommand = Environment.ProcessPath is { } exe && !exe.EndsWith("/dotnet") ? exe : typeof(BenchCommand).Assembly.Location,
        };
        string? json = a.String("json");
        var report = Benchmark.Run(options, line => Console.Error.WriteLine(line));
        if (json == "-") { Console.WriteLine(report.ToJson()); return 0; }
        Console.WriteLine(report.ToTable());
        if (json is not null)
        {
            AtomicFile.WriteAllText(json, report.ToJson());
            AnsiConsole.MarkupLineInterpolated($"JSON → {json}");
        }
        return 0;
    }
}
