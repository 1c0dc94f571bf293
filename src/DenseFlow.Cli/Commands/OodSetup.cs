using DenseFlow.Data;
using DenseFlow.Detection;
using DenseFlow.Model;
using DenseFlow.Training;
using Spectre.Console;

namespace DenseFlow.Cli.Commands;

/// <summary>What `ood` and `score` share: the run's models, the method list, the typical bpd cache.</summary>
static class OodSetup
{
    public static readonly OptionSpec Methods = new("methods", $"comma-separated scores to compute: {string.Join(", ", OodMethods.Names.Keys)} (default: all the run supports)", Meta: "LIST");
    public static readonly OptionSpec TypicalImages = new("typical-images", "training images for the typical bpd of the typicality score, cached in the run directory (default 2000)", Meta: "N");

    /// <summary>The run's model with the weights --weights asks for (by default its weight average when it has one, as eval and sample).</summary>
    public static DenseFlowModel LoadModel(RunDirectory run, Args a) => ForScoring(Common.LoadRunModel(a, run), a);

    // --weights is about the run's model; the background takes its average when it has one.
    static DenseFlowModel LoadBackgroundModel(RunDirectory background, Args a)
    {
        var model = background.LoadModel(Common.ParseDevice(a), RunWeights.Auto);
        if (background.LoadsAverage(RunWeights.Auto)) Common.WithOwnStatistics(background, model);
        return ForScoring(model, a);
    }

    static DenseFlowModel ForScoring(DenseFlowModel model, Args a)
    {
        model.ActivationLayout = Common.Layout(a);
        model.eval();
        return model;
    }

    /// <summary>The run's background model, or null when it has none.</summary>
    public static DenseFlowModel? LoadBackground(RunDirectory run, DenseFlowModel main, Args a)
    {
        if (!BackgroundModel.Exists(run)) return null;
        var bg = LoadBackgroundModel(BackgroundModel.Of(run), a);
        if (!bg.Config.InputShape.SequenceEqual(main.Config.InputShape))
        {
            bg.Dispose();
            throw new UsageException($"{BackgroundModel.Of(run).Path}: the background model takes {string.Join("×", bg.Config.InputShape)} images, the run's model {string.Join("×", main.Config.InputShape)}");
        }
        return bg;
    }

    /// <summary>--methods, or every method (without ratio when there is no background model, with a note).</summary>
    public static List<OodMethod> ParseMethods(Args a, bool hasBackground, RunDirectory run)
    {
        if (a.String("methods") is not { } list)
        {
            bool hasTrainingData = File.Exists(run.OptionsFile);
            var all = OodMethods.All.Where(m => (hasBackground || !OodMethods.NeedsBackground(m))
                && (hasTrainingData || !(OodMethods.NeedsTypical(m) || OodMethods.NeedsNeighbours(m)))).ToList();
            if (!hasBackground) Note(run);
            if (!hasTrainingData)
                AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {run.OptionsFile} is missing, so the run names no training data: {string.Join(", ", OodMethods.All.Where(m => OodMethods.NeedsTypical(m) || OodMethods.NeedsNeighbours(m)).Select(OodMethods.NameOf))} are left out");
            return all;
        }
        var result = new List<OodMethod>();
        foreach (var name in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!OodMethods.Names.TryGetValue(name, out var m))
                throw a.Error($"--methods: unknown method '{name}' (expected some of: {string.Join(", ", OodMethods.Names.Keys)})");
            if (OodMethods.NeedsBackground(m) && !hasBackground) throw NoBackground(a, run, name);
            if (!result.Contains(m)) result.Add(m);
        }
        if (result.Count == 0) throw a.Error("--methods: give at least one method");
        return result;
    }

    public static UsageException NoBackground(Args a, RunDirectory run, string what) =>
        a.Error($"{what} needs a background model and {BackgroundModel.Of(run).Path} has none (train one: denseflow train-background --run {run.Path})");

    public static void Note(RunDirectory run)
    {
        if (OodMethods.NeedsBackground(OodMethods.Default))
            AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] no background model in {BackgroundModel.Of(run).Path}: the ratio score is left out and the default {OodMethods.NameOf(OodMethods.Default)} is replaced by {OodMethods.NameOf(OodMethods.DefaultWithoutBackground)} (train one: denseflow train-background --run {run.Path})");
        else
            AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] no background model in {BackgroundModel.Of(run).Path}: the ratio score is left out (train one: denseflow train-background --run {run.Path})");
    }

    /// <summary>Identifies the weights the typical bpd was computed with, so a retrained model invalidates the cache.</summary>
    public static string ModelStamp(RunDirectory run, Args a)
    {
        var info = new FileInfo(run.WeightsFile(Common.WeightsChoice(a)));
        return $"{info.Name}:{info.Length}:{info.LastWriteTimeUtc.Ticks}";
    }

    /// <summary>The training images the typical bpd is taken from: the run's training split with its class filter.</summary>
    public static IImageDataset TypicalSource(RunDirectory run, TrainingOptions? options)
    {
        if (options is null) throw new UsageException($"the typicality, knn and complexity-knn scores need the run's training data, and {run.OptionsFile} is missing (it names the dataset)");
        return TrainingData.Open(options with { Mutation = 0, TrainLimit = null }, "train");
    }

    public static int TypicalCount(Args a) => a.PositiveInt("typical-images", 2000);
}
