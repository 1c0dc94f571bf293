using System.Globalization;
using DenseFlow.Imaging;
using DenseFlow.Noise;
using DenseFlow.Toolbox;
using Spectre.Console;
using static TorchSharp.torch;

namespace DenseFlow.Cli.Commands;

static class InterpolateCommand
{
    public static readonly Command Interpolate = new()
    {
        Name = "interpolate",
        Summary = "encode image pairs to all their latents, interpolate (spherical or linear), decode, write a grid",
        Usage = "denseflow interpolate --run RUN_DIR (--dataset NAME [--split S] --indices I,J[,I,J…] | --images A.png,B.png[,…]) [--steps N] [--temperature T] [--method spherical|linear] --out FILE.png",
        Examples = "denseflow interpolate --run runs/fmnist --dataset fashion-mnist --indices 0,1,2,3 --steps 10 --out interp.png\n"
                   + "denseflow interpolate --run runs/fmnist --images a.png,b.png --method linear --temperature 0.8 --out ab.png",
        Options = new[]
        {
            Common.Run, Common.Dataset, Common.Data,
            new OptionSpec("split", "dataset split the indices refer to (default test)", Meta: "S"),
            new OptionSpec("indices", "pairs of image indices in the split: row r goes from the (2r)th to the (2r+1)th", Meta: "I,J"),
            new OptionSpec("images", "pairs of PNG/JPEG files of the model's image size instead of dataset images", Meta: "A.png,B.png"),
            new OptionSpec("steps", "images per row, end points included (default 8)", Meta: "N"),
            new OptionSpec("temperature", "scales the interpolated latents as sampling does: the prior's ε and the dropped halves are multiplied by T (default 1; then the end points are the inputs exactly)", Meta: "T"),
            new OptionSpec("method", "spherical (default: slerp of each latent tensor, in the prior's standard coordinates) or linear", Meta: "M"),
            new OptionSpec("encoding", "mean (default: every encoding draw — dequantization, cross-unit noise — at its mean, one fixed latent per image) or sample (random draws from --seed)", Meta: "E"),
            new OptionSpec("seed", "seed of the encoding draws with --encoding sample (default 0)", Meta: "S"),
            new OptionSpec("scale", "enlarge the grid by an integer factor (default 1)", Meta: "S"),
            new OptionSpec("out", "PNG grid to write: one row per pair", Meta: "FILE.png"),
            Common.Weights, Common.Device,
        },
        Run = Run,
    };

    static readonly Dictionary<string, InterpolationKind> Methods = new() { ["spherical"] = InterpolationKind.Spherical, ["linear"] = InterpolationKind.Linear };

    static int Run(Args a)
    {
        string outPath = ToolboxInputs.OutputFile(a, "out", ".png");
        int steps = a.Int("steps", 2, "an integer of at least 2") ?? 8;
        double temperature = a.Double("temperature", 0, exclusive: true, what: "a positive number") ?? 1.0;
        var kind = a.Choice("method", InterpolationKind.Spherical, Methods);
        bool sampleEncoding = a.Choice("encoding", false, new Dictionary<string, bool> { ["mean"] = false, ["sample"] = true });
        int seed = a.Int("seed", 0, "zero or a positive integer") ?? 0;
        int scale = a.PositiveInt("scale", 1);
        if (a.Has("indices") == a.Has("images")) throw a.Error("give either --indices (with --dataset) or --images");
        List<int>? indices = null;
        List<string>? files = null;
        if (a.String("indices") is { } list)
        {
            indices = new List<int>();
            foreach (var part in list.Split(',', StringSplitOptions.TrimEntries))
                indices.Add(int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && i >= 0 ? i
                    : throw a.Error($"--indices must be comma-separated image indices (0, 1, …), got '{list}'"));
            if (indices.Count % 2 != 0) throw a.Error($"--indices needs pairs (an even count), got {indices.Count}");
        }
        else
        {
            files = a.String("images")!.Split(',', StringSplitOptions.TrimEntries).ToList();
            if (files.Count % 2 != 0) throw a.Error($"--images needs pairs (an even count), got {files.Count}");
            foreach (var f in files) if (!File.Exists(f)) throw a.Error($"--images {f}: file not found");
            if (a.Has("dataset")) throw a.Error("--dataset goes with --indices, not --images");
        }
        string split = Common.Split(a, "test");
        var run = Common.ExistingRun(a);
        using var model = ToolboxInputs.LoadModel(a, run);

        Tensor images;
        if (indices is not null)
        {
            var (ds, name) = ToolboxInputs.OpenDataset(a, model, ToolboxInputs.RunOptions(run), split, null);
            foreach (int i in indices)
                if (i >= ds.Count) throw a.Error($"--indices: index {i} is out of range for {name} {split} (0..{ds.Count - 1})");
            images = DatasetImages.Load(ds, indices);
        }
        else images = ToolboxInputs.LoadImages(a, "images", files!, model);
        using var _images = images;

        using var seeded = new SeededNoise(seed);
        model.Noise = sampleEncoding ? seeded : new MeanNoise();
        var device = model.Device;
        long pairs = images.shape[0] / 2;
        using var inputs = images.to(ScalarType.Int64).to(device);
        using var starts = inputs.view(pairs, 2, inputs.shape[1], inputs.shape[2], inputs.shape[3]).select(1, 0);
        using var ends = inputs.view(pairs, 2, inputs.shape[1], inputs.shape[2], inputs.shape[3]).select(1, 1);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var grid = Interpolation.Images(model, starts, ends, steps, kind, temperature).cpu();

        // How exactly the end points came back (at T = 1 they should be the inputs, pixel for pixel).
        using var rows = grid.view(pairs, steps, inputs.shape[1], inputs.shape[2], inputs.shape[3]);
        long wrong = rows.select(1, 0).ne(starts.cpu()).sum().item<long>() + rows.select(1, steps - 1).ne(ends.cpu()).sum().item<long>();
        Png.SaveGrid(outPath, grid, columns: steps, scale: scale);
        string method = kind == InterpolationKind.Spherical ? "spherical" : "linear";
        AnsiConsole.MarkupLineInterpolated($"{pairs} {(pairs == 1 ? "pair" : "pairs")} × {steps} steps ({method}, temperature {temperature}) in {Common.Fmt(sw.Elapsed.TotalSeconds, "F1")} s → {outPath}");
        if (temperature == 1.0)
        {
            if (wrong == 0) AnsiConsole.WriteLine("end points decode to the input images exactly");
            else AnsiConsole.MarkupLineInterpolated($"[yellow]end points: {wrong} pixel(s) differ from the inputs (a latent that rounds across a pixel boundary)[/]");
        }
        return 0;
    }
}
