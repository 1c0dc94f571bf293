using System.Globalization;
using System.Text;
using System.Text.Json;
using DenseFlow.Data;
using DenseFlow.Detection;
using DenseFlow.IO;
using DenseFlow.Model;
using DenseFlow.Training;
using Spectre.Console;

namespace DenseFlow.Cli.Commands;

static class OodCommands
{
    // The test split of a dataset is scored; a folder has no splits (that is --ood-folder). Before Ood, which uses it.
    static readonly string[] OodDatasetNames = Datasets.All.Where(d => d.HasSplits).Select(d => d.Name).ToArray();

    public static readonly Command Ood = new()
    {
        Name = "ood",
        Summary = "out-of-distribution detection: scores the test split and an OOD set with every method; AUROC, AUPRC, FPR@95%TPR, CSV, ROC plot",
        Usage = "denseflow ood --run RUN_DIR [--dataset NAME --data DIR] (--ood-dataset NAME [--ood-data DIR] [--ood-split S] [--ood-classes LIST] | --ood-classes LIST | --ood-folder DIR | --ood-synthetic KIND) [--limit N] [--k K] [--methods a,b] [--out DIR] [--json FILE]",
        Examples = "denseflow ood --run runs/fmnist --ood-dataset mnist --ood-data ~/data/mnist\n"
                 + "denseflow ood --run runs/fmnist --ood-synthetic inverted --json inverted.json\n"
                 + "denseflow ood --run runs/fmnist-no9 --ood-classes 9\n"
                 + "denseflow ood --run runs/fmnist --ood-folder ./photos --methods complexity,ratio --out ood-photos",
        Options = new[]
        {
            Common.Run,
            new OptionSpec("dataset", "in-distribution dataset (default: the run's); its test split is scored", Meta: "NAME"),
            Common.Data,
            new OptionSpec("ood-dataset", $"out-of-distribution dataset: {string.Join(", ", OodDatasetNames)}", Meta: "NAME"),
            new OptionSpec("ood-data", "directory of the OOD dataset (default: its standard location)", Meta: "DIR"),
            new OptionSpec("ood-split", "split of the OOD dataset (default test)", Meta: "SPLIT"),
            new OptionSpec("ood-classes", "only these class labels of the OOD dataset (default: the run's dataset), e.g. the class held out with train --exclude-classes", Meta: "LIST"),
            new OptionSpec("ood-folder", "a folder of PNG/JPEG images as the OOD set (resized to the model's size)", Meta: "DIR"),
            new OptionSpec("ood-synthetic", $"a synthetic OOD set made from the in-distribution test images: {string.Join(", ", SyntheticOodSet.Names.Keys)}", Meta: "KIND"),
            new OptionSpec("limit", "use the first N images of each set (default 2000; 0 = all)", Meta: "N"),
            new OptionSpec("k", "importance samples per image for the bits/dim (default 1: single-sample bound)", Meta: "K"),
            OodSetup.Methods,
            OodSetup.TypicalImages,
            new OptionSpec("alpha", "level of the batch typicality test (default 0.01)", Meta: "A"),
            new OptionSpec("out", "directory for scores.csv, roc.png and ood.json (default RUN_DIR/ood/<OOD set>)", Meta: "DIR"),
            new OptionSpec("json", "also write the results as JSON to FILE", Meta: "FILE"),
            new OptionSpec("batch", "images per pass (default 64)", Meta: "B"),
            new OptionSpec("seed", "seed of the draws and of the synthetic sets (default 0)", Meta: "S"),
            Common.LayoutOption,
            Common.Weights,
            Common.Device,
        },
        Run = RunOod,
    };

    public static readonly Command TrainBackground = new()
    {
        Name = "train-background",
        Summary = "train the background model of the likelihood-ratio OOD score (Ren et al. 2019) into RUN_DIR/background",
        Usage = "denseflow train-background --run RUN_DIR [--mutation MU] [--preset NAME | --config FILE] [--max-steps N | --minutes M | --epochs N] [--batch B] [--seed S] [--overwrite | --resume]",
        Examples = "denseflow train-background --run runs/fmnist\ndenseflow train-background --run runs/fmnist --mutation 0.3 --minutes 5 --overwrite",
        Options = new[]
        {
            Common.Run,
            new OptionSpec("mutation", $"probability µ that a training pixel is replaced by a uniform random value (default {BackgroundModel.DefaultMutation.ToString(CultureInfo.InvariantCulture)})", Meta: "MU"),
            new OptionSpec("preset", "architecture preset (default: a small DenseFlow derived from the run's: one unit of one module per block, half the widths)", Meta: "NAME"),
            Common.Config,
            new OptionSpec("max-steps", "optimisation steps (default: as many as the run's model has had)", Meta: "N"),
            new OptionSpec("minutes", "train for a wall-clock budget instead", Meta: "M"),
            new OptionSpec("epochs", "train for N epochs instead", Meta: "N"),
            new OptionSpec("batch", "batch size (default: the run's)", Meta: "B"),
            new OptionSpec("seed", "random seed (default: the run's)", Meta: "S"),
            new OptionSpec("overwrite", "replace a background model already in the run", OptionKind.Flag),
            new OptionSpec("resume", "continue the background model's training where it stopped", OptionKind.Flag),
            Common.LayoutOption,
            Common.Device,
        },
        Run = RunTrainBackground,
    };

    sealed record ScoredSet(string Label, IImageDataset Images, ImageMeasurements Measurements, IReadOnlyList<string> Names);

    static int RunOod(Args a)
    {
        var run = Common.ExistingRun(a);
        var options = File.Exists(run.OptionsFile) ? TrainingOptions.Load(run.OptionsFile) : null;

        // Everything the user typed is checked before any image is scored or any file is written.
        int sources = new[] { a.Has("ood-dataset"), a.Has("ood-folder"), a.Has("ood-synthetic") }.Count(b => b);
        if (sources > 1) throw a.Error("give one OOD set: --ood-dataset, --ood-folder or --ood-synthetic");
        if (sources == 0 && !a.Has("ood-classes")) throw a.Error("no OOD set: give --ood-dataset NAME, --ood-folder DIR, --ood-synthetic KIND or --ood-classes LIST");
        if (a.Has("ood-classes") && (a.Has("ood-folder") || a.Has("ood-synthetic"))) throw a.Error("--ood-classes goes with --ood-dataset (or the run's dataset), not with --ood-folder or --ood-synthetic");
        int? limitArg = a.Int("limit", 0, "zero or a positive integer");
        int? limit = limitArg is 0 ? null : limitArg ?? 2000;
        var bound = new BoundSettings(a.PositiveInt("k", 1), a.PositiveInt("batch", 64), a.Int("seed", 0, "zero or a positive integer") ?? 0);
        double alpha = a.Double("alpha", 0, exclusive: true, what: "a number in (0, 1)") ?? 0.01;
        if (alpha >= 1) throw a.Error($"--alpha must be a number in (0, 1), got '{a.String("alpha")}'");
        string? jsonPath = a.String("json");
        if (jsonPath is not null && Path.GetDirectoryName(Path.GetFullPath(jsonPath)) is { } jd && !Directory.Exists(jd)) throw a.Error($"--json {jsonPath}: directory {jd} does not exist");
        int typicalImages = OodSetup.TypicalCount(a);
        SyntheticKind? synthetic = a.Has("ood-synthetic") ? a.Choice("ood-synthetic", SyntheticKind.Noise, SyntheticOodSet.Names) : null;
        var oodClasses = Common.ClassList(a, "ood-classes");
        if (a.String("ood-folder") is { } f && !Directory.Exists(f)) throw a.Error($"--ood-folder {f}: directory not found");
        if (a.String("ood-data") is { } od && !Directory.Exists(od)) throw a.Error($"--ood-data {od}: directory not found");
        if (a.String("ood-dataset") is { } on && !OodDatasetNames.Contains(on)) throw a.Error($"--ood-dataset: unknown dataset '{on}' (expected one of: {string.Join(", ", OodDatasetNames)}; use --ood-folder for a folder)");

        using var model = OodSetup.LoadModel(run, a);
        using var background = OodSetup.LoadBackground(run, model, a);
        var methods = OodSetup.ParseMethods(a, background is not null, run);
        // The default may fall back to bpd (see OodMethods.Choose); both candidates are always scored.
        var defaultMethod = OodMethods.DefaultFor(background is not null, hasTrainingData: options is not null);
        foreach (var m in new[] { defaultMethod, OodMethods.WeakModelFallback })
            if (!methods.Contains(m)) methods.Add(m);
        var shape = model.Config.InputShape;

        // In-distribution: the test split of the run's data (without the classes it was trained without).
        string dataset = Common.CheckDataset(a, options?.Dataset);
        bool runData = !a.Has("dataset");
        var inDist = Datasets.Open(dataset, a.String("data") ?? (runData ? options?.DataDir : null), "test",
            new DatasetOptions { Limit = limit, ExcludeClasses = runData ? options?.ExcludeClasses : null });
        Common.CheckShape(model, inDist, $"--dataset {dataset}");

        IImageDataset ood;
        string oodLabel;
        IReadOnlyList<string>? oodNames = null;
        if (synthetic is { } kind)
        {
            ood = new SyntheticOodSet(inDist, kind, bound.Seed);
            oodLabel = $"synthetic-{SyntheticOodSet.NameOf(kind)}";
        }
        else if (a.String("ood-folder") is { } folder)
        {
            if (shape[1] != shape[2]) throw a.Error("--ood-folder needs a model of square images");
            if (shape[0] is not (1 or 3)) throw a.Error($"--ood-folder needs a model of 1 or 3 channels, this one has {shape[0]}");
            var fd = new FolderDataset(folder, new DatasetOptions { ImageSize = shape[1], Channels = shape[0] });
            ood = limit is int l ? new LimitedDataset(fd, l) : fd;
            oodNames = fd.Files;
            oodLabel = "folder-" + Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        }
        else
        {
            string oodName = a.String("ood-dataset") ?? dataset;
            string? oodDir = a.String("ood-data") ?? (oodName == dataset ? a.String("data") ?? (runData ? options?.DataDir : null) : null);
            string split = Common.Split(a, "test", "ood-split");
            if (oodName == dataset && split == "test" && oodClasses is null) throw a.Error($"the OOD set is the in-distribution test split itself; give --ood-classes, another --ood-dataset or --ood-split");
            ood = Datasets.Open(oodName, oodDir, split, new DatasetOptions { Limit = limit, Classes = oodClasses });
            oodLabel = $"{oodName}-{split}" + (oodClasses is null ? "" : "-classes-" + string.Join("_", oodClasses));
            if (oodClasses is not null && runData && oodName == dataset && options?.ExcludeClasses is { } ex && !oodClasses.All(ex.Contains))
                AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] the run was trained on classes {string.Join(",", oodClasses.Where(c => !ex.Contains(c)))} of --ood-classes: those images are in-distribution");
            else if (oodClasses is not null && runData && oodName == dataset && options?.ExcludeClasses is null)
                AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] the run was trained on every class, so --ood-classes {string.Join(",", oodClasses)} selects in-distribution images (train with --exclude-classes to hold a class out)");
        }
        Common.CheckShape(model, ood, "the OOD set");
        string outDir = a.String("out") ?? Path.Combine(run.Path, "ood", oodLabel);
        if (File.Exists(outDir)) throw a.Error($"--out {outDir}: is a file, expected a directory");

        TypicalBpd? typical = null;
        NeighbourReference? neighbours = null;
        CombinedScale? scale = null;
        var scored = new List<ScoredSet>();
        var sets = new[] { ("in-distribution", inDist, (IReadOnlyList<string>?)null), ("ood", ood, oodNames) };
        int passes = background is not null && methods.Any(OodMethods.NeedsBackground) ? 2 : 1;
        void Work(Action<string, int> started, Action<int> advance)
        {
            // The typical bpd also decides the default (OodMethods.Choose), so it is computed whenever the run names its data (once, then cached).
            // The training split is opened once for the typical bpd and the neighbour reference.
            IImageDataset? train = null;
            IImageDataset Train() => train ??= OodSetup.TypicalSource(run, options);
            if (options is not null || methods.Any(OodMethods.NeedsTypical))
            {
                var source = Train();
                started("typical bpd (training images)", Math.Min(typicalImages, source.Count));
                typical = OodScorer.Typical(model, source, Path.Combine(run.Path, TypicalBpd.FileName), OodSetup.ModelStamp(run, a), bound, typicalImages, advance);
            }
            if (methods.Any(OodMethods.NeedsNeighbours))
            {
                var source = Train();
                started("neighbour reference (training images)", 1);
                neighbours = new NeighbourReference(source);
                if (methods.Contains(OodMethod.ComplexityNeighbours)) scale = OodScorer.Scale(typical!, source, neighbours);
                advance(1);
            }
            foreach (var (label, images, names) in sets)
            {
                started(label == "ood" ? oodLabel : $"{dataset} test", images.Count * passes);
                var m = OodScorer.Measure(model, background, images, methods, bound, advance, neighbours);
                scored.Add(new ScoredSet(label, images, m, names ?? Enumerable.Range(0, images.Count).Select(i => $"{images.Name}:{i}").ToArray()));
            }
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool quiet = jsonPath == "-";
        if (Common.Interactive && !quiet)
            AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask? task = null;
                    Work((name, total) => { if (task is not null) task.Value = task.MaxValue; task = ctx.AddTask(name, maxValue: Math.Max(1, total)); }, n => task!.Increment(n));
                    if (task is not null) task.Value = task.MaxValue;
                });
        else Work((name, total) => { if (!quiet) Console.WriteLine($"scoring {name}: {total} model passes"); }, _ => { });

        neighbours?.Dispose();
        var (chosen, why) = OodMethods.Choose(background is not null, typical);
        defaultMethod = chosen;
        if (why is not null && !quiet) AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {why}");
        var inM = scored[0].Measurements;
        var oodM = scored[1].Measurements;
        var results = new Dictionary<string, object>();
        var scoreColumns = new Dictionary<OodMethod, (double[] In, double[] Ood)>();
        int totalImages = inM.Count + oodM.Count;
        double Ms(string part) => (inM.Seconds.GetValueOrDefault(part) + oodM.Seconds.GetValueOrDefault(part)) * 1000 / totalImages;
        var table = new Table().AddColumns("method", "AUROC", "AUPRC", "FPR@95%TPR", "extra ms/image");
        foreach (var m in methods)
        {
            var si = OodScorer.Scores(m, inM, typical, scale);
            var so = OodScorer.Scores(m, oodM, typical, scale);
            scoreColumns[m] = (si, so);
            double extra = m switch
            {
                OodMethod.Ratio => Ms("background_bpd"),
                OodMethod.Complexity => Ms("png"),
                OodMethod.ComplexityWebp => Ms("webp"),
                OodMethod.Neighbours => Ms("neighbours"),
                OodMethod.ComplexityNeighbours => Ms("png") + Ms("neighbours"),
                _ => 0,
            };
            var r = new Dictionary<string, double>
            {
                ["auroc"] = OodMetrics.Auroc(si, so), ["auprc"] = OodMetrics.Auprc(si, so), ["fpr_at_95_tpr"] = OodMetrics.FprAtTpr(si, so), ["extra_ms_per_image"] = extra,
            };
            results[OodMethods.NameOf(m)] = r;
            string name = OodMethods.NameOf(m) + (m == defaultMethod ? " (default)" : "");
            table.AddRow(name, Common.Fmt(r["auroc"]), Common.Fmt(r["auprc"]), Common.Fmt(r["fpr_at_95_tpr"]), Common.Fmt(extra, "F2"));
        }

        var json = new Dictionary<string, object?>
        {
            ["default_method"] = OodMethods.NameOf(defaultMethod),
            ["default_reason"] = why,
            ["methods"] = results,
            ["in_distribution"] = new Dictionary<string, object?> { ["dataset"] = dataset, ["split"] = "test", ["images"] = inM.Count, ["excluded_classes"] = runData ? options?.ExcludeClasses : null, ["mean_bpd"] = inM.Bpd.Average() },
            ["ood"] = new Dictionary<string, object?> { ["set"] = oodLabel, ["images"] = oodM.Count, ["mean_bpd"] = oodM.Bpd.Average() },
            ["k"] = bound.K, ["seed"] = bound.Seed, ["background_model"] = background is not null,
            ["bpd_ms_per_image"] = Ms("bpd"),
            ["seconds"] = clock.Elapsed.TotalSeconds,
        };
        if (typical is not null)
        {
            var tIn = typical.Test(inM.Bpd, alpha);
            var tOod = typical.Test(oodM.Bpd, alpha);
            json["typicality_test"] = new Dictionary<string, object?>
            {
                ["typical_bpd"] = typical.Mean, ["typical_bpd_sd"] = typical.StandardDeviation, ["training_images"] = typical.Images, ["alpha"] = alpha,
                ["in_distribution"] = TestJson(tIn), ["ood"] = TestJson(tOod),
            };
        }

        // Outputs: CSV, ROC plot and JSON, each written atomically.
        Directory.CreateDirectory(outDir);
        var csv = new StringBuilder("set,index,image,ood,bpd");
        if (inM.BackgroundBpd is not null) csv.Append(",background_bpd");
        if (inM.PngBpd is not null) csv.Append(",png_bpd");
        if (inM.WebpBpd is not null) csv.Append(",webp_bpd");
        foreach (var m in methods) csv.Append(",score_").Append(OodMethods.NameOf(m));
        csv.Append('\n');
        for (int s = 0; s < 2; s++)
        {
            var set = scored[s];
            var mm = set.Measurements;
            for (int i = 0; i < mm.Count; i++)
            {
                csv.Append(set.Label).Append(',').Append(i).Append(',').Append(Csv(set.Names[i])).Append(',').Append(s);
                csv.Append(',').Append(R(mm.Bpd[i]));
                if (mm.BackgroundBpd is { } b) csv.Append(',').Append(R(b[i]));
                if (mm.PngBpd is { } p) csv.Append(',').Append(R(p[i]));
                if (mm.WebpBpd is { } w) csv.Append(',').Append(R(w[i]));
                foreach (var m in methods) csv.Append(',').Append(R(s == 0 ? scoreColumns[m].In[i] : scoreColumns[m].Ood[i]));
                csv.Append('\n');
            }
        }
        string csvPath = Path.Combine(outDir, "scores.csv");
        string rocPath = Path.Combine(outDir, "roc.png");
        json["files"] = new Dictionary<string, string> { ["scores"] = csvPath, ["roc"] = rocPath };
        byte[] jsonBytes = JsonSerializer.SerializeToUtf8Bytes(json, new JsonSerializerOptions { WriteIndented = true });
        // Under mpiexec every rank holds the gathered scores; rank 0 alone writes them.
        if (DenseFlow.Distributed.World.Current.Rank == 0)
        {
            AtomicFile.WriteAllText(csvPath, csv.ToString());
            RocPlot.Save(rocPath, $"{dataset} test vs {oodLabel} ({inM.Count} + {oodM.Count} images)",
                methods.Select(m => (OodMethods.NameOf(m), ((Dictionary<string, double>)results[OodMethods.NameOf(m)])["auroc"], OodMetrics.RocCurve(scoreColumns[m].In, scoreColumns[m].Ood))));
            AtomicFile.WriteAllBytes(Path.Combine(outDir, "ood.json"), jsonBytes);
            if (jsonPath is not null && jsonPath != "-") AtomicFile.WriteAllBytes(jsonPath, jsonBytes);
        }

        if (quiet) { Console.WriteLine(Encoding.UTF8.GetString(jsonBytes)); return 0; }
        AnsiConsole.MarkupLineInterpolated($"in-distribution: {inM.Count} {dataset} test images (mean bpd {Common.Fmt(inM.Bpd.Average())}); OOD: {oodM.Count} images of {oodLabel} (mean bpd {Common.Fmt(oodM.Bpd.Average())}); K = {bound.K}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"plain bpd costs {Common.Fmt(Ms("bpd"), "F2")} ms/image here; extra = what a method adds to it");
        if (typical is not null)
        {
            var tIn = typical.Test(inM.Bpd, alpha);
            var tOod = typical.Test(oodM.Bpd, alpha);
            AnsiConsole.MarkupLineInterpolated($"batch typicality test (typical bpd {Common.Fmt(typical.Mean)} ± {Common.Fmt(typical.StandardDeviation)} over {typical.Images} training images, α = {alpha.ToString(CultureInfo.InvariantCulture)}):");
            AnsiConsole.MarkupLineInterpolated($"  in-distribution set: |mean − typical| = {Common.Fmt(tIn.Distance)} vs ε = {Common.Fmt(tIn.Epsilon)} → {(tIn.Atypical ? "atypical" : "typical")}");
            AnsiConsole.MarkupLineInterpolated($"  OOD set:             |mean − typical| = {Common.Fmt(tOod.Distance)} vs ε = {Common.Fmt(tOod.Epsilon)} → {(tOod.Atypical ? "atypical" : "typical")}");
        }
        AnsiConsole.MarkupLineInterpolated($"wrote {csvPath}, {rocPath} and ood.json{(jsonPath is null ? "" : $" (and {jsonPath})")}");
        return 0;
    }

    static Dictionary<string, object> TestJson(TypicalityTest t) => new()
    {
        ["images"] = t.Images, ["mean_bpd"] = t.MeanBpd, ["distance"] = t.Distance, ["epsilon"] = t.Epsilon, ["atypical"] = t.Atypical,
    };


    static int RunTrainBackground(Args a)
    {
        var run = Common.ExistingRun(a);
        if (!File.Exists(run.OptionsFile)) throw a.Error($"--run {run.Path}: no run.json (the background model trains on the run's dataset, which run.json names)");
        var main = TrainingOptions.Load(run.OptionsFile);
        var bg = BackgroundModel.Of(run);
        if (a.Flag("resume"))
        {
            if (a.Flag("overwrite") || a.Has("preset") || a.Has("config") || a.Has("mutation")) throw a.Error("--resume continues the background model as configured: drop --overwrite, --preset, --config and --mutation");
            if (!File.Exists(bg.CheckpointFile)) throw a.Error($"--resume: no background model to continue in {bg.Path}");
            var saved = TrainingOptions.Load(bg.OptionsFile);
            return TrainCommands.Execute(bg, ApplyBudget(a, saved, saved.MaxSteps), resume: true);
        }
        if (bg.HasRun && !a.Flag("overwrite")) throw a.Error($"{bg.Path}: already holds a background model (use --overwrite to replace it, or --resume to continue it)");
        double mutation = a.Double("mutation", 0, what: "a probability in [0, 1]") ?? BackgroundModel.DefaultMutation;
        if (mutation > 1) throw a.Error($"--mutation must be a probability in [0, 1], got '{a.String("mutation")}'");

        var mainConfig = File.Exists(run.ConfigFile) ? DenseFlowConfig.Load(run.ConfigFile) : run.ReadConfig();
        DenseFlowConfig config;
        string? preset = null;
        if (a.Has("preset") || a.Has("config"))
        {
            (config, preset) = Common.ResolveConfig(a, null);
            if (!config.InputShape.SequenceEqual(mainConfig.InputShape))
            {
                config = config with { InputShape = mainConfig.InputShape };
                config.Plan();
            }
        }
        else
        {
            config = BackgroundModel.ConfigFor(mainConfig);
            config.Plan();
        }
        Common.RequireEightBits(a, config);
        long? mainSteps = File.Exists(run.CheckpointFile) ? Checkpoint.ReadState(run.CheckpointFile).Step : main.MaxSteps;
        var options = ApplyBudget(a, main with
        {
            Preset = preset,
            Mutation = mutation,
            Seed = a.Int("seed", 0, "zero or a positive integer") ?? main.Seed,
            BatchSize = a.PositiveInt("batch", main.BatchSize),
            FineTune = false,
            SamplesPerEpoch = 16,
            EvalImages = Math.Min(main.EvalImages ?? 500, 500),
        }, mainSteps);

        AnsiConsole.MarkupLineInterpolated($"background model for {run.Path}: mutation µ = {mutation.ToString(CultureInfo.InvariantCulture)}, {(preset ?? (a.Has("config") ? "--config" : "small DenseFlow derived from the run's"))}");
        // As for `train`: an old background model is replaced only once the data and the model are ready.
        bool overwrite = a.Flag("overwrite");
        return TrainCommands.Execute(bg, options, resume: false, freshConfig: config,
            createRun: DenseFlow.Distributed.World.Current.Rank == 0 ? () => RunDirectory.Create(bg.Path, config, options, overwrite) : null);
    }

    static TrainingOptions ApplyBudget(Args a, TrainingOptions o, long? defaultSteps)
    {
        int given = new[] { a.Has("max-steps"), a.Has("minutes"), a.Has("epochs") }.Count(b => b);
        if (given > 1) throw a.Error("give one of --max-steps, --minutes or --epochs");
        o = o with { ActivationLayout = Common.Layout(a, o.ActivationLayout), Device = a.String("device") ?? o.Device };
        if (given == 0)
        {
            if (defaultSteps is null) throw a.Error("give --max-steps, --minutes or --epochs (the run records no step count)");
            return o with { MaxSteps = defaultSteps, Minutes = null, Epochs = null };
        }
        return o with
        {
            MaxSteps = a.Has("max-steps") ? a.Int("max-steps", 1, "a positive integer") : null,
            Minutes = a.Has("minutes") ? a.Double("minutes", 0, exclusive: true, what: "a positive number of minutes") : null,
            Epochs = a.Has("epochs") ? a.Int("epochs", 1, "a positive integer") : null,
        };
    }

    static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    static string Csv(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
