using System.Text;
using System.Text.Json;
using DenseFlow.Data;
using DenseFlow.IO;
using DenseFlow.Noise;
using DenseFlow.Toolbox;
using Spectre.Console;
using static TorchSharp.torch;

namespace DenseFlow.Cli.Commands;

static class FidCommand
{
    public static readonly Command Fid = new()
    {
        Name = "fid",
        Summary = "Fréchet Inception Distance of N samples against a dataset split (clean-fid preprocessing; you supply the Inception file)",
        Usage = "denseflow fid --run RUN_DIR --inception FILE [-n N] [--temperature T[,T…]] [--dataset NAME] [--data DIR] [--split train] [--limit M] [--json FILE]",
        Examples = "denseflow fid --run runs/fmnist --inception inception-2015-12-05.pt -n 10000 --temperature 0.7,0.8,0.9,1.0 --json fid.json\n"
                   + "denseflow fid --run runs/cifar --inception inception-2015-12-05.pt --dataset cifar10 --data ~/data/cifar10 -n 50000 --temperature 0.8",
        Options = new[]
        {
            Common.Run, ToolboxInputs.Inception,
            new OptionSpec("n", "samples per temperature (default 1000; the paper's FID uses 50,000)", Alias: "n", Meta: "N"),
            new OptionSpec("temperature", "sampling temperature, or a comma-separated list for FID against temperature in one run (default 1)", Meta: "T"),
            new OptionSpec("seed", "random seed of the samples (default 0; every temperature starts from it)", Meta: "S"),
            Common.Dataset, Common.Data,
            new OptionSpec("split", "split whose statistics are the reference (default train)", Meta: "S"),
            new OptionSpec("limit", "use only the first M images of the split for its statistics (default: all)", Meta: "M"),
            new OptionSpec("batch", "images per sampling / Inception pass (default 50)", Meta: "B"),
            new OptionSpec("json", "also write the results as JSON to FILE", Meta: "FILE"),
            Common.Weights, Common.Device,
        },
        Run = Run,
    };

    static int Run(Args a)
    {
        string inceptionPath = ToolboxInputs.InceptionFile(a, required: true)!;
        string? jsonPath = a.String("json") is null ? null : ToolboxInputs.OutputFile(a, "json", ".json");
        int n = a.Int("n", 2, "an integer of at least 2") ?? 1000;
        var temperatures = ToolboxInputs.Temperatures(a, 1.0);
        int seed = a.Int("seed", 0, "zero or a positive integer") ?? 0;
        int batch = a.PositiveInt("batch", 50);
        int? limit = a.Int("limit", 2, "an integer of at least 2");
        string split = Common.Split(a, "train");
        var run = Common.ExistingRun(a);
        using var model = ToolboxInputs.LoadModel(a, run);
        var (ds, name) = ToolboxInputs.OpenDataset(a, model, ToolboxInputs.RunOptions(run), split, limit);
        if (ds.Count < 2) throw a.Error($"{name} {split}: at least 2 images are needed for a covariance");
        using var inception = InceptionFeatures.Load(inceptionPath);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var reference = new FeatureMoments();
        var results = new List<(double Temperature, double Fid, double Seconds)>();
        void Work(Func<string, int, Action<int>> task)
        {
            var advance = task($"Inception features of {name} {split}", ds.Count);
            for (int start = 0; start < ds.Count; start += batch)
            {
                using var scope = NewDisposeScope();
                int m = Math.Min(batch, ds.Count - start);
                reference.Add(inception.Features(DatasetImages.Load(ds, start, m)));
                advance(m);
            }
            foreach (double t in temperatures)
            {
                var tClock = System.Diagnostics.Stopwatch.StartNew();
                advance = task($"{n} samples at T = {t}", n);
                using var noise = new SeededNoise(seed);
                model.Noise = noise;
                using var moments = new FeatureMoments();
                for (int done = 0; done < n; done += batch)
                {
                    using var scope = NewDisposeScope();
                    int m = Math.Min(batch, n - done);
                    moments.Add(inception.Features(model.Sample(m, t).cpu()));
                    advance(m);
                }
                results.Add((t, FrechetDistance.Compute(moments, reference), tClock.Elapsed.TotalSeconds));
            }
        }
        if (Common.Interactive)
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx => Work((label, total) => { var t = ctx.AddTask(label, maxValue: total); return m => t.Increment(m); }));
        else Work((_, _) => _ => { });

        long dims = reference.Dimensions;
        var table = new Table().AddColumns("temperature", "FID");
        foreach (var r in results) table.AddRow(Common.Fmt(r.Temperature, "G4"), Common.Fmt(r.Fid, "F3"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"{n} samples per temperature against {ds.Count} {name} {split} images, {dims}-d features of {Path.GetFileName(inceptionPath)}, in {Common.Fmt(clock.Elapsed.TotalSeconds, "F1")} s");
        if (n < dims || ds.Count < dims)
            AnsiConsole.MarkupLineInterpolated($"[yellow]note: fewer images than feature dimensions ({dims}): the covariances are singular and FID is biased high; use more images for figures to compare[/]");

        if (jsonPath is not null)
        {
            var doc = new Dictionary<string, object?>
            {
                ["run"] = run.Path, ["inception"] = inceptionPath, ["feature_dimensions"] = dims,
                ["preprocessing"] = "clean-fid 'clean' mode: PIL bicubic resize to 299x299 on float pixels 0..255, (x-128)/128, grey repeated to RGB",
                ["dataset"] = name, ["split"] = split, ["dataset_images"] = ds.Count, ["samples"] = n, ["seed"] = seed,
                ["results"] = results.Select(r => new Dictionary<string, double> { ["temperature"] = r.Temperature, ["fid"] = r.Fid, ["seconds"] = r.Seconds }).ToList(),
                ["seconds"] = clock.Elapsed.TotalSeconds,
            };
            AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
        }
        return 0;
    }
}
