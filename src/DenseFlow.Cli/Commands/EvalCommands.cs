using System.Globalization;
using System.Text;
using System.Text.Json;
using DenseFlow.Data;
using DenseFlow.Detection;
using DenseFlow.Evaluation;
using DenseFlow.IO;
using DenseFlow.Model;
using DenseFlow.Noise;
using DenseFlow.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Cli.Commands;

static class EvalCommands
{
    public static readonly Command Eval = new()
    {
        Name = "eval",
        Summary = "bits/dim of a trained model on a dataset split: single-sample bound (ELBO) and importance-weighted bound (IWBO)",
        Usage = "denseflow eval --run RUN_DIR [--dataset NAME] [--data DIR] [--split test] [--k K] [--draws-per-pass N] [--limit N] [--double] [--json]",
        Examples = "denseflow eval --run runs/fmnist --k 100\ndenseflow eval --run runs/cifar --dataset cifar10 --data ~/data/cifar --k 1000 --json",
        Options = new[]
        {
            Common.Run, Common.Dataset, Common.Data,
            new OptionSpec("split", "train, test or valid (default test)", Meta: "SPLIT"),
            new OptionSpec("k", "importance samples per image for the IWBO (default 1: ELBO only; the paper uses 1000 or 200)", Meta: "K"),
            new OptionSpec("draws-per-pass", "importance samples batched per forward pass (default min(K, 64))", Meta: "N"),
            new OptionSpec("batch", "images per pass for the ELBO (default 64)", Meta: "B"),
            new OptionSpec("limit", "evaluate only the first N images", Meta: "N"),
            new OptionSpec("seed", "seed of the evaluation draws (default 0)", Meta: "S"),
            new OptionSpec("double", "evaluate in float64", OptionKind.Flag),
            new OptionSpec("json", "print the result as JSON (field `bpd`: IWBO if K > 1, else ELBO)", OptionKind.Flag),
            Common.LayoutOption,
            Common.Weights,
            Common.Device,
        },
        Run = RunEval,
    };

    public static readonly Command Score = new()
    {
        Name = "score",
        Summary = "per-image bits/dim and an OOD score as CSV, for anomaly and out-of-distribution detection (higher = more anomalous)",
        Usage = "denseflow score --run RUN_DIR (--dataset NAME [--split S] [--data DIR] | --folder DIR) --out FILE.csv [--method NAME] [--k K]",
        Examples = "denseflow score --run runs/fmnist --dataset mnist --data ~/data/mnist --out mnist_scores.csv\ndenseflow score --run runs/fmnist --folder ./photos --out photos.csv --k 16",
        Options = new[]
        {
            Common.Run, Common.Dataset, Common.Data,
            new OptionSpec("split", "train, test or valid (default test)", Meta: "SPLIT"),
            new OptionSpec("folder", "score the PNG/JPEG images in DIR (resized to the model's size)", Meta: "DIR"),
            new OptionSpec("out", "CSV file to write", Meta: "FILE.csv"),
            new OptionSpec("k", "importance samples per image (default 1)", Meta: "K"),
            new OptionSpec("limit", "score only the first N images", Meta: "N"),
            new OptionSpec("batch", "images per pass (default 64)", Meta: "B"),
            new OptionSpec("seed", "seed of the draws (default 0)", Meta: "S"),
            new OptionSpec("method", $"OOD score written next to bpd: {string.Join(", ", OodMethods.Names.Keys)} (default {OodMethods.NameOf(OodMethods.Default)}, or {OodMethods.NameOf(OodMethods.DefaultWithoutTrainingData)} when the run names no training data; see docs/OOD.md)", Meta: "NAME"),
            OodSetup.TypicalImages,
            Common.LayoutOption,
            Common.Weights,
            Common.Device,
        },
        Run = RunScore,
    };

    static (DenseFlowModel Model, RunDirectory Run, TrainingOptions? Options) LoadRun(Args a)
    {
        var run = Common.ExistingRun(a);
        var layout = Common.Layout(a);
        var model = Common.LoadRunModel(a, run);
        model.ActivationLayout = layout;
        model.eval();
        var options = File.Exists(run.OptionsFile) ? TrainingOptions.Load(run.OptionsFile) : null;
        return (model, run, options);
    }

    static int RunEval(Args a)
    {
        var (model, run, options) = LoadRun(a);
        using var _m = model;
        string dataset = Common.CheckDataset(a, options?.Dataset);
        string? dataDir = a.String("data") ?? (a.Has("dataset") ? null : options?.DataDir);
        string split = Common.Split(a, "test");
        int k = a.PositiveInt("k", 1);
        int drawsPerPass = a.PositiveInt("draws-per-pass", Math.Min(k, 64));
        int batch = a.PositiveInt("batch", 64);
        if (a.Flag("double")) model.to(ScalarType.Float64);
        using var noise = new SeededNoise(a.Int("seed", 0, "zero or a positive integer") ?? 0);
        model.Noise = noise;

        // A run trained without some classes is evaluated without them too, unless another dataset is named.
        var ds = Datasets.Open(dataset, dataDir, split, ForModel(model, dataset, new DatasetOptions { Limit = a.Int("limit", 1, "a positive integer"), ExcludeClasses = a.Has("dataset") ? null : options?.ExcludeClasses }));
        Common.CheckShape(model, ds, dataset);
        var batcher = new ImageBatcher(ds, batch, shuffle: false, seed: 0, Augmentation.None, dropLast: false);
        int count = ds.Count;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        ImageBounds r = null!;
        if (Common.Interactive && !a.Flag("json"))
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx => { var t = ctx.AddTask($"{dataset} {split}", maxValue: count); r = DatasetBounds.Evaluate(model, batcher, count, batch, k, drawsPerPass, n => t.Increment(n)); });
        else r = DatasetBounds.Evaluate(model, batcher, count, batch, k, drawsPerPass);

        int d = model.Config.Dimensions;
        double elboBpd = Likelihood.BitsPerDim(r.Elbo.Average(), d);
        double? iwboBpd = r.Iwbo is null ? null : Likelihood.BitsPerDim(r.Iwbo.Average(), d);
        var result = new Dictionary<string, object?>
        {
            ["bpd"] = iwboBpd ?? elboBpd, ["elbo_bpd"] = elboBpd, ["iwbo_bpd"] = iwboBpd, ["k"] = k, ["images"] = count,
            ["dataset"] = dataset, ["split"] = split, ["seconds"] = sw.Elapsed.TotalSeconds, ["dtype"] = model.DType.ToString().ToLowerInvariant(),
        };
        if (a.Flag("json")) Console.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        else
        {
            var table = new Table().AddColumns("bound", "bits/dim");
            table.AddRow("ELBO (single sample)", Common.Fmt(elboBpd));
            if (iwboBpd is { } ib) table.AddRow($"IWBO (K = {k})", Common.Fmt(ib));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"{count} {dataset} {split} images in {Common.Fmt(sw.Elapsed.TotalSeconds, "F1")} s");
        }
        return 0;
    }

    /// <summary>A folder's images are read with the model's channel count (luma or RGB, as `score --folder` does); its size is still checked.</summary>
    static DatasetOptions ForModel(DenseFlowModel model, string dataset, DatasetOptions o) =>
        dataset == "folder" ? o with { Channels = model.Config.InputShape[0] } : o;


    static int RunScore(Args a)
    {
        var run = Common.ExistingRun(a);
        var options = File.Exists(run.OptionsFile) ? TrainingOptions.Load(run.OptionsFile) : null;
        string outPath = a.Required("out");
        string? outDir = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (outDir is not null && !Directory.Exists(outDir)) throw a.Error($"--out {outPath}: directory {outDir} does not exist");
        if (a.Has("folder") && a.Has("dataset")) throw a.Error("give either --dataset or --folder, not both");
        var bound = new BoundSettings(a.PositiveInt("k", 1), a.PositiveInt("batch", 64), a.Int("seed", 0, "zero or a positive integer") ?? 0);
        int typicalImages = OodSetup.TypicalCount(a);
        OodMethod? asked = a.Has("method") ? a.Choice("method", OodMethod.Bpd, OodMethods.Names) : null;
        using var model = OodSetup.LoadModel(run, a);
        bool needBackground = asked is { } q ? OodMethods.NeedsBackground(q) : OodMethods.NeedsBackground(OodMethods.Default);
        using var background = needBackground ? OodSetup.LoadBackground(run, model, a) : null;
        if (asked is { } r && OodMethods.NeedsBackground(r) && background is null) throw OodSetup.NoBackground(a, run, $"--method {OodMethods.NameOf(r)}");
        var method = asked ?? OodMethods.DefaultFor(background is not null, hasTrainingData: options is not null);

        var s = model.Config.InputShape;
        IImageDataset ds;
        string source;
        int? limit = a.Int("limit", 1, "a positive integer");
        if (a.String("folder") is { } folder)
        {
            if (!Directory.Exists(folder)) throw a.Error($"--folder {folder}: directory not found");
            if (s[1] != s[2]) throw a.Error("--folder needs a model of square images");
            ds = Datasets.Open("folder", folder, "test", new DatasetOptions { ImageSize = s[1], Channels = s[0], Limit = limit });
            source = folder;
        }
        else
        {
            string dataset = Common.CheckDataset(a, options?.Dataset);
            ds = Datasets.Open(dataset, a.String("data") ?? (a.Has("dataset") ? null : options?.DataDir), Common.Split(a, "test"),
                ForModel(model, dataset, new DatasetOptions { Limit = limit, ExcludeClasses = a.Has("dataset") ? null : options?.ExcludeClasses }));
            source = dataset;
        }
        Common.CheckShape(model, ds, source);
        // Without --method the typical bpd also decides the default (OodMethods.Choose).
        // The training split is opened at most once, for the typical bpd and the neighbour reference.
        IImageDataset? train = null;
        IImageDataset Train() => train ??= OodSetup.TypicalSource(run, options);
        TypicalBpd? typical = OodMethods.NeedsTypical(method) || (asked is null && options is not null)
            ? OodScorer.Typical(model, Train(), Path.Combine(run.Path, TypicalBpd.FileName), OodSetup.ModelStamp(run, a), bound, typicalImages)
            : null;
        if (asked is null)
        {
            var (chosen, why) = OodMethods.Choose(background is not null, typical);
            method = chosen;
            if (why is not null) AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {why}");
        }
        using var neighbours = OodMethods.NeedsNeighbours(method) ? new NeighbourReference(Train()) : null;
        var scale = method == OodMethod.ComplexityNeighbours ? OodScorer.Scale(typical!, Train(), neighbours!) : null;
        var measured = OodScorer.Measure(model, background, ds, new[] { method }, bound, neighbours: neighbours);
        var scores = OodScorer.Scores(method, measured, typical, scale);
        var names = ds is FolderDataset fd ? fd.Files : null;
        string methodName = OodMethods.NameOf(method);
        var csv = new StringBuilder(method == OodMethod.Bpd ? "index,image,bpd\n" : $"index,image,bpd,{methodName}\n");
        for (int i = 0; i < ds.Count; i++)
        {
            string name = names is null ? $"{source}:{i}" : names[i];
            csv.Append(i).Append(',').Append(Csv(name)).Append(',').Append(measured.Bpd[i].ToString("R", CultureInfo.InvariantCulture));
            if (method != OodMethod.Bpd) csv.Append(',').Append(scores[i].ToString("R", CultureInfo.InvariantCulture));
            csv.Append('\n');
        }
        if (DenseFlow.Distributed.World.Current.Rank == 0)
            AtomicFile.WriteAllText(outPath, csv.ToString());
        AnsiConsole.MarkupLineInterpolated($"scored {ds.Count} images from {source} with {methodName} ({OodMethods.Describe(method)}; higher = more anomalous): mean {Common.Fmt(scores.Average())}, min {Common.Fmt(scores.Min())}, max {Common.Fmt(scores.Max())}; mean bpd {Common.Fmt(measured.Bpd.Average())} → {outPath}");
        return 0;
    }

    static string Csv(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
