using System.Globalization;
using DenseFlow.Data;
using DenseFlow.Model;
using DenseFlow.Training;
using static TorchSharp.torch;

namespace DenseFlow.Cli.Commands;

/// <summary>Option parsing shared by the evaluation-toolbox commands (interpolate, neighbours, fid).</summary>
static class ToolboxInputs
{
    public static readonly OptionSpec Split = new("split", "dataset split: train or test (CelebA also valid)", Meta: "S");
    public static readonly OptionSpec Inception = new("inception",
        "clean-fid's TorchScript Inception file inception-2015-12-05.pt (not downloadable here: supply it)", Meta: "FILE");

    /// <summary>An output file name with the given extension, in an existing directory.</summary>
    public static string OutputFile(Args a, string option, string extension, string? value = null)
    {
        string path = value ?? a.Required(option);
        if (!path.EndsWith(extension, StringComparison.OrdinalIgnoreCase)) throw a.Error($"--{option} {path}: expected a {extension} file name");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) throw a.Error($"--{option} {path}: directory {dir} does not exist");
        return path;
    }

    /// <summary>Comma-separated positive temperatures, e.g. 0.7,0.8,0.9,1.0.</summary>
    public static double[] Temperatures(Args a, double fallback)
    {
        string? s = a.String("temperature");
        if (s is null) return new[] { fallback };
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]) || values[i] <= 0)
                throw a.Error($"--temperature must be a positive number or a comma-separated list of them, got '{s}'");
        return values;
    }

    /// <summary>The Inception file named by --inception: it must exist and be a file.</summary>
    public static string? InceptionFile(Args a, bool required)
    {
        string? path = required ? a.Required("inception") : a.String("inception");
        if (path is not null && !File.Exists(path))
            throw a.Error($"--inception {path}: file not found (expected clean-fid's TorchScript inception-2015-12-05.pt)");
        return path;
    }

    /// <summary>The run's model in evaluation mode, with the weights --weights asks for (the weight average by default, as `sample` uses).</summary>
    public static DenseFlowModel LoadModel(Args a, RunDirectory run)
    {
        var model = Common.LoadRunModel(a, run);
        model.eval();
        return model;
    }

    public static TrainingOptions? RunOptions(RunDirectory run) => File.Exists(run.OptionsFile) ? TrainingOptions.Load(run.OptionsFile) : null;

    /// <summary>Opens --dataset (falling back to the run's) with --data, --split and --limit; its images must fit the model.</summary>
    public static (IImageDataset Dataset, string Name) OpenDataset(Args a, DenseFlowModel model, TrainingOptions? options, string split, int? limit)
    {
        string name = Common.CheckDataset(a, options?.Dataset);
        string? dir = a.String("data") ?? (a.Has("dataset") ? null : options?.DataDir);
        var ds = Datasets.Open(name, dir, split, new DatasetOptions { Limit = limit });
        Common.CheckShape(model, ds, name);
        if (ds.Count == 0) throw new UsageException($"{name} {split}: no images");
        return (ds, name);
    }

    /// <summary>Image files of the model's size as uint8 (N, C, H, W); grey models take the files' luma (exact for grey PNGs).</summary>
    public static Tensor LoadImages(Args a, string option, IReadOnlyList<string> paths, DenseFlowModel model)
    {
        var s = model.Config.InputShape;
        int size = s[0] * s[1] * s[2];
        var bytes = new byte[paths.Count * size];
        for (int i = 0; i < paths.Count; i++)
        {
            var rgb = ImageFiles.DecodeRgb(paths[i], out int w, out int h);
            if (w != s[2] || h != s[1])
                throw a.Error($"--{option} {paths[i]}: image is {w}×{h}, the model takes {s[2]}×{s[1]}");
            var pixels = s[0] == 1 ? ImageFiles.Luma(rgb) : rgb;
            ImageFiles.InterleavedToPlanar(pixels, s[0], bytes.AsSpan(i * size, size));
        }
        return tensor(bytes, new long[] { paths.Count, s[0], s[1], s[2] }, dtype: ScalarType.Byte);
    }

    /// <summary>n samples at temperature T in batches, as integer images (n, C, H, W) on the CPU.</summary>
    public static Tensor Sample(DenseFlowModel model, int n, double temperature, int batch, Action<int>? advance = null)
    {
        var parts = new List<Tensor>();
        for (int done = 0; done < n; done += batch)
        {
            int m = Math.Min(batch, n - done);
            // One scope per batch: the int64 samples are freed at once, only their bytes are kept.
            using (NewDisposeScope()) parts.Add(model.Sample(m, temperature).cpu().to(ScalarType.Byte).MoveToOuterDisposeScope());
            advance?.Invoke(m);
        }
        var all = cat(parts.ToArray(), 0);
        foreach (var p in parts) p.Dispose();
        return all;
    }
}
