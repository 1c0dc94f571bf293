using DenseFlow.Data;
using DenseFlow.Model;
using DenseFlow.Training;
using Spectre.Console;

namespace DenseFlow.Cli.Commands;

static class Common
{
    public static readonly OptionSpec Preset = new("preset", $"model preset: {string.Join(", ", Presets.Names)}", Meta: "NAME") { Completions = () => Presets.Names };
    public static readonly OptionSpec Config = new("config", "model configuration JSON file (see docs and `info --preset X --json`)", Meta: "FILE");
    public static readonly OptionSpec Device = new("device", "torch device: cpu (default), cuda, cuda:1 — cuda needs the TorchSharp CUDA package", Meta: "DEV");
    public static readonly OptionSpec Dataset = new("dataset", $"dataset: {string.Join(", ", Datasets.Names)}", Meta: "NAME") { Completions = () => Datasets.Names };
    public static readonly OptionSpec Data = new("data", "dataset directory (default: the dataset's standard location)", Meta: "DIR");
    public static readonly OptionSpec LayoutOption = new("layout", "memory layout of the dense blocks' activations: auto (default; channels-last on CPU where it measured faster), channels-first or channels-last; same results", Meta: "L") { Completions = () => DenseFlow.Nets.ActivationLayouts.Names };
    public static readonly OptionSpec Run = new("run", "run directory made by `train` or `import`", Meta: "RUN_DIR");

    /// <summary>The configuration named by --preset or --config (exactly one, or the fallback).</summary>
    public static (DenseFlowConfig Config, string? PresetName) ResolveConfig(Args a, string? fallbackPreset)
    {
        if (a.Has("preset") && a.Has("config")) throw a.Error("give either --preset or --config, not both");
        if (a.String("config") is { } path)
        {
            if (!File.Exists(path)) throw a.Error($"--config {path}: file not found");
            var c = DenseFlowConfig.Load(path);
            c.Plan();
            return (c, null);
        }
        string? name = a.String("preset") ?? fallbackPreset;
        if (name is null) throw a.Error("--preset or --config is required");
        if (!Presets.Exists(name)) throw a.Error($"--preset: unknown preset '{name}' (expected one of: {string.Join(", ", Presets.Names)})");
        return (Presets.Get(name), name);
    }

    public static string CheckDataset(Args a, string? fallback)
    {
        string name = a.String("dataset") ?? fallback ?? throw a.Error("--dataset is required");
        if (!Datasets.Names.Contains(name)) throw a.Error($"--dataset: unknown dataset '{name}' (expected one of: {string.Join(", ", Datasets.Names)})");
        string? dir = a.String("data");
        if (dir is not null && !Directory.Exists(dir)) throw a.Error($"--data {dir}: directory not found");
        return name;
    }

    public static TorchSharp.torch.Device ParseDevice(Args a, string? fallback = null)
    {
        string s = a.String("device") ?? fallback ?? "cpu";
        try { return TorchSharp.torch.device(s); }
        catch (Exception) { throw a.Error($"--device must be cpu or cuda[:N], got '{s}'"); }
    }

    static readonly Dictionary<string, RunWeights> WeightChoices = new() { ["auto"] = RunWeights.Auto, ["live"] = RunWeights.Live, ["ema"] = RunWeights.Averaged };

    public static readonly OptionSpec Weights = new("weights", "auto (default: the weight average when the run has one, from `train --ema`), live or ema", Meta: "W") { Completions = () => WeightChoices.Keys };

    public static RunWeights WeightsChoice(Args a) => a.Choice("weights", RunWeights.Auto, WeightChoices);

    /// <summary>Loads a run's model with the weights --weights asks for.</summary>
    public static DenseFlowModel LoadRunModel(Args a, RunDirectory run)
    {
        var weights = WeightsChoice(a);
        var model = run.LoadModel(ParseDevice(a), weights);
        if (!run.LoadsAverage(weights)) return model;
        if (Interactive) Spectre.Console.AnsiConsole.MarkupLine("[grey]using the run's weight average (--weights live for the last weights)[/]");
        WithOwnStatistics(run, model);
        return model;
    }

    /// <summary>
    /// A weight average loaded from the checkpoint alone carries the live weights' BatchNorm statistics: give it its own,
    /// as training does (<see cref="RunDirectory.ReestimateAverageStatistics"/>). If the training data cannot be read,
    /// say so on stderr (stdout may be the command's JSON) and go on with the live statistics.
    /// </summary>
    public static void WithOwnStatistics(RunDirectory run, DenseFlowModel averaged)
    {
        if (File.Exists(run.AveragedModelFile)) return;
        try
        {
            int images = run.ReestimateAverageStatistics(averaged);
            if (images > 0 && Interactive)
                Spectre.Console.AnsiConsole.MarkupLine($"[grey]weight average from the checkpoint: BatchNorm statistics re-estimated on {images:N0} training images[/]");
        }
        catch (Exception e) when (e is DatasetException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"note: {run.Path}: the weight average keeps the live BatchNorm statistics (its training data did not open: {e.Message})");
        }
    }

    /// <summary>A dataset split option (--split, --ood-split): train, test or valid (CelebA's validation split; ImageNet's val is its test).</summary>
    public static string Split(Args a, string fallback, string option = "split")
    {
        string split = a.String(option) ?? fallback;
        if (split is not ("train" or "test" or "valid")) throw a.Error($"--{option} must be train, test or valid, got '{split}'");
        return split;
    }

    /// <summary>The readers give 8-bit pixels and nothing reduces them: a model of fewer bits would see values past its bins.</summary>
    public static void RequireEightBits(Args a, DenseFlowConfig config)
    {
        if (config.NumBits != 8) throw a.Error($"--config: num_bits {config.NumBits}, but the datasets hold 8-bit images; train with num_bits 8");
    }

    /// <summary>Refuses a dataset whose images do not fit the model, naming both shapes.</summary>
    public static void CheckShape(DenseFlowModel model, IImageDataset ds, string what)
    {
        if (model.Config.ShapeMismatch(ds.Shape) is { } mismatch) throw new UsageException($"{what}: {mismatch}");
    }

    public static RunDirectory ExistingRun(Args a)
    {
        string dir = a.String("run") ?? a.Positional ?? throw a.Error("--run RUN_DIR is required");
        if (!Directory.Exists(dir)) throw a.Error($"--run {dir}: run directory not found");
        return new RunDirectory(dir);
    }

    /// <summary>--recompute: off = 0, on = 1, or a fraction in [0, 1].</summary>
    public static double RecomputeFraction(Args a, double fallback)
    {
        string? s = a.String("recompute");
        if (s is null) return fallback;
        if (s == "off") return 0;
        if (s == "on") return 1;
        return double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double f) && f >= 0 && f <= 1 ? f
            : throw a.Error($"--recompute must be off, on or a fraction in [0, 1], got '{s}'");
    }

    /// <summary>--layout: auto, channels-first or channels-last; <paramref name="fallback"/> when not given.</summary>
    public static DenseFlow.Nets.ActivationLayout Layout(Args a, DenseFlow.Nets.ActivationLayout fallback = DenseFlow.Nets.ActivationLayout.Auto)
    {
        string? s = a.String("layout");
        if (s is null) return fallback;
        try { return DenseFlow.Nets.ActivationLayouts.Parse(s); }
        catch (ArgumentException) { throw a.Error($"--layout must be one of {string.Join(", ", DenseFlow.Nets.ActivationLayouts.Names)}, got '{s}'"); }
    }

    /// <summary>A comma-separated list of class labels 0..255 (e.g. "9" or "3,9"), or null when the option is absent.</summary>
    public static int[]? ClassList(Args a, string name)
    {
        string? s = a.String(name);
        if (s is null) return null;
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        var result = new List<int>();
        foreach (var p in parts)
        {
            if (!int.TryParse(p, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int c) || c > 255)
                throw a.Error($"--{name} must be a comma-separated list of class labels 0..255, got '{s}'");
            result.Add(c);
        }
        return result.Distinct().Order().ToArray();
    }

    public static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    public static string Fmt(double v, string f = "F4") => v.ToString(f, System.Globalization.CultureInfo.InvariantCulture);
}
