using DenseFlow.Imaging;
using DenseFlow.Noise;
using Spectre.Console;

namespace DenseFlow.Cli.Commands;

static class SampleCommand
{
    public static readonly Command Sample = new()
    {
        Name = "sample",
        Summary = "draw images from a trained model, as a PNG grid and optionally one PNG each",
        Usage = "denseflow sample --run RUN_DIR [-n N] [--temperature T] [--seed S] --out FILE.png [--individual DIR]",
        Examples = "denseflow sample --run runs/fmnist -n 64 --out samples.png\ndenseflow sample --run runs/cifar -n 100 --temperature 0.8 --out t08.png --individual t08/",
        Options = new[]
        {
            Common.Run,
            new OptionSpec("n", "number of images (default 64)", Alias: "n", Meta: "N"),
            new OptionSpec("temperature", "scales the prior's and dropped halves' standard deviation (default 1; the paper uses 0.8)", Meta: "T"),
            new OptionSpec("seed", "random seed (default 0)", Meta: "S"),
            new OptionSpec("out", "PNG grid to write", Meta: "FILE.png"),
            new OptionSpec("individual", "also write one PNG per image into DIR", Meta: "DIR"),
            new OptionSpec("batch", "images per pass (default 64)", Meta: "B"),
            new OptionSpec("scale", "enlarge the grid by an integer factor (default 1)", Meta: "S"),
            Common.LayoutOption,
            Common.Weights,
            Common.Device,
        },
        Run = Run,
    };

    static int Run(Args a)
    {
        int n = a.PositiveInt("n", 64);
        double temperature = a.Double("temperature", 0, exclusive: true, what: "a positive number") ?? 1.0;
        int seed = a.Int("seed", 0, "zero or a positive integer") ?? 0;
        int batch = a.PositiveInt("batch", 64);
        int scale = a.PositiveInt("scale", 1);
        string outPath = a.Required("out");
        if (!outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw a.Error($"--out {outPath}: expected a .png file name");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (dir is not null && !Directory.Exists(dir)) throw a.Error($"--out {outPath}: directory {dir} does not exist");
        var run = Common.ExistingRun(a);
        var layout = Common.Layout(a);
        using var model = Common.LoadRunModel(a, run);
        model.ActivationLayout = layout;
        model.eval();
        using var noise = new SeededNoise(seed);
        model.Noise = noise;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var parts = new List<TorchSharp.torch.Tensor>();
        for (int done = 0; done < n; done += batch)
        {
            // One scope per batch: the device tensor is freed at once, only its CPU copy is kept.
            using var scope = TorchSharp.torch.NewDisposeScope();
            parts.Add(model.Sample(Math.Min(batch, n - done), temperature).cpu().MoveToOuterDisposeScope());
        }
        using var images = TorchSharp.torch.cat(parts.ToArray(), 0);
        foreach (var p in parts) p.Dispose();
        Png.SaveGrid(outPath, images, scale: scale);
        if (a.String("individual") is { } individual)
        {
            Directory.CreateDirectory(individual);
            Png.SaveAll(individual, "sample", images);
        }
        AnsiConsole.MarkupLineInterpolated($"{n} samples at temperature {temperature} in {Common.Fmt(sw.Elapsed.TotalSeconds, "F1")} s → {outPath}");
        return 0;
    }
}
