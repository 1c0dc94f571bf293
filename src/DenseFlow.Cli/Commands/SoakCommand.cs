using DenseFlow.Benchmarks;
using DenseFlow.IO;
using Spectre.Console;

namespace DenseFlow.Cli.Commands;

static class SoakCommand
{
    public static readonly Command Soak = new()
    {
        Name = "soak",
        Summary = "train for many steps and report whether resident memory or open files grow (leak check)",
        Usage = "denseflow soak [--preset NAME | --config FILE] [--steps N] [--batch N] [--sample-every N] [--json FILE] [--csv FILE]",
        Examples = "denseflow soak --preset fmnist-cpu --steps 1000 --json soak.json\ndenseflow soak --config tiny.json --steps 10000 --batch 16 --csv soak.csv",
        Options = new[]
        {
            Common.Preset, Common.Config,
            new OptionSpec("steps", "training steps (default 1000)", Meta: "N"),
            new OptionSpec("batch", "batch size (default 16)", Meta: "N"),
            new OptionSpec("sample-every", "read RSS and open files every N steps (default 50)", Meta: "N"),
            new OptionSpec("train-images", "images per epoch, so epochs (evaluation, sample grid) come often (default 2048)", Meta: "N"),
            new OptionSpec("checkpoint-every", "steps between checkpoints (default 100)", Meta: "N"),
            new OptionSpec("out", "keep the run directory here (default: a temporary one, deleted)", Meta: "DIR"),
            new OptionSpec("json", "write the report as JSON to FILE", Meta: "FILE"),
            new OptionSpec("csv", "write every sample (step, seconds, rss, managed heap, open files) to FILE", Meta: "FILE"),
            new OptionSpec("threads", "torch threads (default: the core count)", Meta: "N"),
            Common.Device,
        },
        Run = Run,
    };

    static int Run(Args a)
    {
        var (config, preset) = Common.ResolveConfig(a, "fmnist-cpu");
        string? outDir = a.String("out");
        if (outDir is not null && Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw a.Error($"--out {outDir}: directory is not empty (expected a new run directory)");
        var o = new SoakOptions
        {
            Preset = preset ?? "custom",
            Config = preset is null ? config : null,
            Steps = a.PositiveInt("steps", 1000),
            BatchSize = a.PositiveInt("batch", 16),
            SampleEvery = a.PositiveInt("sample-every", 50),
            TrainImages = a.PositiveInt("train-images", 2048),
            CheckpointEverySteps = a.Int("checkpoint-every", 0, "zero or a positive integer") ?? 100,
            RunDir = outDir,
            Threads = a.Int("threads", 1, "a positive integer") ?? 0,
            Device = Common.ParseDevice(a).ToString(),
        };
        if (o.BatchSize > o.TrainImages) throw a.Error($"--batch {o.BatchSize} is larger than --train-images {o.TrainImages}");
        var report = Benchmarks.Soak.Run(o, s => Console.Error.WriteLine(
            $"step {s.Step,7}: rss {s.RssBytes / 1048576.0,8:F1} MiB after collection ({s.RssBeforeCollectionBytes / 1048576.0:F1} before), managed {s.ManagedBytes / 1048576.0,6:F1} MiB ({s.ManagedCommittedBytes / 1048576.0:F1} committed), open files {s.OpenFiles}"));

        var t = new Table().AddColumn("figure").AddColumn("value");
        string MiB(long b) => $"{b / 1048576.0:F1} MiB";
        t.AddRow("model / data", $"{report.Model} / {report.Data}, batch {report.BatchSize}");
        t.AddRow("steps / epochs / checkpoints", $"{report.Steps} / {report.Epochs} / {report.Checkpoints} in {report.ElapsedSeconds:F0} s");
        t.AddRow($"RSS at step {report.SettledStep} (settled; all RSS rows after a full collection)", MiB(report.RssSettledBytes));
        t.AddRow("RSS at the end", $"{MiB(report.RssEndBytes)} ({report.RssEndDriftFraction:+0.0%;-0.0%})");
        t.AddRow("RSS min / max after settling", $"{MiB(report.RssMinAfterSettleBytes)} / {MiB(report.RssMaxAfterSettleBytes)} (max {report.RssMaxDriftFraction:+0.0%;-0.0%})");
        t.AddRow("RSS before collections, max after settling / peak of the run", $"{MiB(report.RssMaxBeforeCollectionBytes)} / {MiB(report.PeakRssBytes)}");
        t.AddRow("RSS slope", $"{report.RssSlopeBytesPer1000Steps / 1048576.0:+0.00;-0.00} MiB per 1,000 steps");
        t.AddRow("open files settled / end / max", $"{report.OpenFilesSettled} / {report.OpenFilesEnd} / {report.OpenFilesMax}");
        t.AddRow("verdict", $"RSS {(report.RssFlat ? "flat (±5%)" : "NOT flat")}, files {(report.NoFileLeak ? "no leak" : "GROWING")}");
        AnsiConsole.Write(t);
        if (a.String("json") is { } json) Write(json, report.ToJson());
        if (a.String("csv") is { } csv) Write(csv, report.ToCsv());
        return report.RssFlat && report.NoFileLeak ? 0 : 1;
    }

    static void Write(string path, string text)
    {
        AtomicFile.WriteAllText(path, text);
        AnsiConsole.MarkupLineInterpolated($"→ {path}");
    }
}
