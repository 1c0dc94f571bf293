using System.Globalization;
using System.Text;
using DenseFlow.IO;
using DenseFlow.Imaging;
using DenseFlow.Noise;
using DenseFlow.Toolbox;
using Spectre.Console;
using static TorchSharp.torch;

namespace DenseFlow.Cli.Commands;

static class NeighboursCommand
{
    public static readonly Command Neighbours = new()
    {
        Name = "neighbours",
        Summary = "samples next to their nearest training images (L2 in pixel space, optionally in Inception feature space), distances as CSV",
        Usage = "denseflow neighbours --run RUN_DIR [-n N] [-k K] [--temperature T] --dataset NAME [--data DIR] [--split train] [--inception FILE] --out FILE.png [--csv FILE.csv]",
        Examples = "denseflow neighbours --run runs/fmnist -n 8 -k 5 --dataset fashion-mnist --out neighbours.png\n"
                   + "denseflow neighbours --run runs/fmnist -n 8 --dataset fashion-mnist --inception inception-2015-12-05.pt --limit 5000 --out nn.png",
        Options = new[]
        {
            Common.Run,
            new OptionSpec("n", "number of samples (default 8)", Alias: "n", Meta: "N"),
            new OptionSpec("k", "neighbours per sample (default 5)", Alias: "k", Meta: "K"),
            new OptionSpec("temperature", "sampling temperature (default 1)", Meta: "T"),
            new OptionSpec("seed", "random seed of the samples (default 0)", Meta: "S"),
            Common.Dataset, Common.Data,
            new OptionSpec("split", "split searched (default train)", Meta: "S"),
            new OptionSpec("limit", "search only the first N images of the split", Meta: "N"),
            ToolboxInputs.Inception,
            new OptionSpec("out", "PNG grid: one row per sample — the sample, its k pixel-space neighbours, then (with --inception) its k feature-space neighbours", Meta: "FILE.png"),
            new OptionSpec("csv", "distances (default: --out with .csv): sample,space,rank,index,distance", Meta: "FILE.csv"),
            new OptionSpec("batch", "images per sampling / feature pass (default 64)", Meta: "B"),
            new OptionSpec("scale", "enlarge the grid by an integer factor (default 1)", Meta: "S"),
            Common.Weights, Common.Device,
        },
        Run = Run,
    };

    static int Run(Args a)
    {
        string outPath = ToolboxInputs.OutputFile(a, "out", ".png");
        string csvPath = ToolboxInputs.OutputFile(a, "csv", ".csv", a.String("csv") ?? Path.ChangeExtension(outPath, ".csv"));
        int n = a.PositiveInt("n", 8);
        int k = a.PositiveInt("k", 5);
        double temperature = a.Double("temperature", 0, exclusive: true, what: "a positive number") ?? 1.0;
        int seed = a.Int("seed", 0, "zero or a positive integer") ?? 0;
        int batch = a.PositiveInt("batch", 64);
        int scale = a.PositiveInt("scale", 1);
        int? limit = a.Int("limit", 1, "a positive integer");
        string? inceptionPath = ToolboxInputs.InceptionFile(a, required: false);
        string split = Common.Split(a, "train");
        var run = Common.ExistingRun(a);
        using var model = ToolboxInputs.LoadModel(a, run);
        var (ds, name) = ToolboxInputs.OpenDataset(a, model, ToolboxInputs.RunOptions(run), split, limit);
        if (ds.Count < k) throw a.Error($"-k {k}: {name} {split} has only {ds.Count} images");
        using var inception = inceptionPath is null ? null : InceptionFeatures.Load(inceptionPath);

        using var noise = new SeededNoise(seed);
        model.Noise = noise;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var samples = ToolboxInputs.Sample(model, n, temperature, batch);
        double sampleSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        using var train = DatasetImages.Load(ds, 0, ds.Count);
        double loadSeconds = clock.Elapsed.TotalSeconds;

        // Pixel space: values scaled to [0, 1], each image one row.
        clock.Restart();
        Neighbours pixel;
        using (var scope = NewDisposeScope())
        {
            var queries = samples.flatten(1).to(ScalarType.Float64) / 255.0;
            var chunks = Chunks(train, 8192).Select(c => c.flatten(1).to(ScalarType.Float64) / 255.0);
            pixel = NearestNeighbours.Find(queries, chunks, k);
        }
        double searchSeconds = clock.Elapsed.TotalSeconds;

        Neighbours? feature = null;
        double featureSeconds = 0;
        if (inception is not null)
        {
            clock.Restart();
            using var scope = NewDisposeScope();
            var queries = inception.Features(samples);
            var refs = new List<Tensor>();
            void Extract(Action<int>? advance)
            {
                foreach (var chunk in Chunks(train, batch)) { refs.Add(inception.Features(chunk)); advance?.Invoke((int)chunk.shape[0]); }
            }
            if (Common.Interactive)
                AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx => { var t = ctx.AddTask($"Inception features of {name} {split}", maxValue: ds.Count); Extract(m => t.Increment(m)); });
            else Extract(null);
            feature = NearestNeighbours.Find(queries, refs, k);
            featureSeconds = clock.Elapsed.TotalSeconds;
        }

        // Grid rows: sample, pixel neighbours, feature neighbours.
        var rows = new List<Tensor>();
        for (int i = 0; i < n; i++)
        {
            rows.Add(samples.narrow(0, i, 1));
            rows.Add(train.index_select(0, tensor(Row(pixel.Indices, i))));
            if (feature is not null) rows.Add(train.index_select(0, tensor(Row(feature.Indices, i))));
        }
        using var grid = cat(rows.ToArray(), 0);
        foreach (var r in rows) r.Dispose();

        var csv = new StringBuilder("sample,space,rank,index,distance\n");
        void Write(Neighbours nb, string space)
        {
            for (int i = 0; i < n; i++)
                for (int r = 0; r < k; r++)
                    csv.Append(i).Append(',').Append(space).Append(',').Append(r + 1).Append(',').Append(nb.Indices[i, r]).Append(',')
                       .Append(nb.Distances[i, r].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        Write(pixel, "pixel");
        if (feature is not null) Write(feature, "inception");
        Png.SaveGrid(outPath, grid, columns: feature is null ? 1 + k : 1 + 2 * k, scale: scale);
        AtomicFile.WriteAllText(csvPath, csv.ToString());

        AnsiConsole.WriteLine($"{n} samples (temperature {temperature}) against {ds.Count} {name} {split} images: sampling {Common.Fmt(sampleSeconds, "F2")} s, loading {Common.Fmt(loadSeconds, "F2")} s, pixel-space search {Common.Fmt(searchSeconds, "F2")} s"
            + (feature is null ? "" : $", Inception features and search {Common.Fmt(featureSeconds, "F1")} s"));
        AnsiConsole.MarkupLineInterpolated($"nearest pixel-space distance (pixels in [[0, 1]]): mean {Common.Fmt(Enumerable.Range(0, n).Average(i => pixel.Distances[i, 0]))} → {outPath}, {csvPath}");
        return 0;
    }

    static long[] Row(long[,] m, int i) => Enumerable.Range(0, m.GetLength(1)).Select(j => m[i, j]).ToArray();

    static IEnumerable<Tensor> Chunks(Tensor t, int rows)
    {
        for (long s = 0; s < t.shape[0]; s += rows) yield return t.narrow(0, s, Math.Min(rows, t.shape[0] - s));
    }
}
