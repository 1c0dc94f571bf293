using System.Text.Json;
using DenseFlow.Evaluation;
using DenseFlow.Model;
using DenseFlow.Training;
using Spectre.Console;

namespace DenseFlow.Cli.Commands;

static class ModelCommands
{
    public static readonly Command Info = new()
    {
        Name = "info",
        Summary = "architecture per block and unit, parameter count and forward convolution GFLOP per image",
        Usage = "denseflow info (--preset NAME | --config FILE | --run RUN_DIR) [--json]",
        Examples = "denseflow info --preset df-74-10\ndenseflow info --preset fmnist-cpu --json > my-config.json",
        Options = new[] { Common.Preset, Common.Config, Common.Run, new OptionSpec("json", "print the configuration as JSON (a starting point for --config)", OptionKind.Flag) },
        Run = RunInfo,
    };

    public static readonly Command Import = new()
    {
        Name = "import",
        Summary = "turn an official PyTorch checkpoint.pt (or state_dict.pt / weights.npz) into a run directory",
        Usage = "denseflow import CHECKPOINT.pt (--config FILE | --preset NAME) --out RUN_DIR",
        Examples = "denseflow import ~/DenseFlow/checkpoint.pt --preset df-74-10 --out runs/official-cifar\n"
                 + "denseflow import shared/fixtures/official-small/checkpoint.pt --config shared/fixtures/official-small/config.json --out runs/small",
        Positional = "CHECKPOINT",
        Options = new[] { Common.Preset, new OptionSpec("config", "our configuration JSON, or a reference fixture's config.json (with constructor_args)", Meta: "FILE"),
            new OptionSpec("out", "run directory to create", Meta: "RUN_DIR"), new OptionSpec("overwrite", "replace a run already in --out", OptionKind.Flag) },
        Run = RunImport,
    };

    public static readonly Command VerifyReference = new()
    {
        Name = "verify-reference",
        Summary = "replay a reference fixture's recorded draws and compare with the authors' PyTorch results",
        Usage = "denseflow verify-reference FIXTURE_DIR [--weights FILE] [--double]",
        Examples = "denseflow verify-reference ../shared/fixtures/official-small",
        Positional = "FIXTURE_DIR",
        Options = new[] { new OptionSpec("weights", "weight file to use (default: weights.npz, checkpoint.pt or state_dict.pt in the fixture)", Meta: "FILE"),
            new OptionSpec("double", "run the replay in float64", OptionKind.Flag), Common.LayoutOption },
        Run = RunVerify,
    };

    static int RunInfo(Args a)
    {
        DenseFlowConfig config;
        string title;
        if (a.String("run") is { } runDir)
        {
            var run = new RunDirectory(runDir);
            if (!Directory.Exists(runDir)) throw a.Error($"--run {runDir}: run directory not found");
            config = run.ReadConfig();
            title = runDir;
        }
        else
        {
            var (c, name) = Common.ResolveConfig(a, null);
            config = c; title = name ?? a.String("config")!;
        }
        if (a.Flag("json")) { Console.WriteLine(config.ToJson()); return 0; }
        var plan = config.Plan();
        using var model = new DenseFlowModel(config);
        double gflop = Benchmarks.ConvFlops.ForwardGflopsPerImage(config);

        AnsiConsole.MarkupLineInterpolated($"[bold]{title}[/]: input {config.Channels}×{config.Height}×{config.Width}, coupling {config.Coupling.ToString().ToLowerInvariant()}, augmentation {config.Augmentation.ToString().ToLowerInvariant()}, dequantization {config.Dequantization.ToString().ToLowerInvariant()}, prior {config.Prior.ToString().ToLowerInvariant()}");
        var table = new Table().AddColumns("block", "spatial", "in", "units × modules", "unit widths", "noise net inputs (k)", "coupling P", "landmarks", "out");
        foreach (var b in plan.Blocks)
            table.AddRow($"{b.Index}", $"{b.Height}×{b.Width}", $"{b.InChannels}", $"{b.Units} × {b.ModulesPerUnit}", string.Join(", ", b.UnitWidths),
                b.NoiseNetInputs.Length == 0 ? "—" : $"{string.Join(", ", b.NoiseNetInputs)} ({config.EffectiveGrowth})", $"{b.CouplingWidth}", $"{b.Landmarks}", $"{b.OutChannels}");
        AnsiConsole.Write(table);
        int modules = plan.Blocks.Sum(b => b.Units * b.ModulesPerUnit);
        AnsiConsole.MarkupLineInterpolated($"latent {string.Join("×", plan.LatentShape)}; {plan.DroppedDimensions} dimensions dropped at transitions; {modules} Glow-like modules (L)");
        AnsiConsole.MarkupLineInterpolated($"trainable parameters: [bold]{model.ParameterCount:N0}[/] ({model.ParameterCount - model.DequantizerParameterCount:N0} flow, {model.DequantizerParameterCount:N0} dequantizer)");
        AnsiConsole.MarkupLineInterpolated($"forward convolution work: [bold]{Common.Fmt(gflop, "F2")}[/] GFLOP per image (training step ≈ 3×)");
        return 0;
    }

    /// <summary>Our configuration from our JSON, or from a reference fixture's config.json.</summary>
    static DenseFlowConfig ReadAnyConfig(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"denseflow import: --config {path}: file not found");
        using (var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }))
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("constructor_args", out _))
                return ReferenceVerification.ReadConfig(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return DenseFlowConfig.Load(path);
    }

    static int RunImport(Args a)
    {
        string source = a.Positional ?? throw a.Error("the CHECKPOINT.pt argument is required");
        if (!File.Exists(source)) throw a.Error($"{source}: file not found");
        if (a.Has("config") && a.Has("preset")) throw a.Error("give either --preset or --config, not both");
        DenseFlowConfig config;
        try { config = a.String("config") is { } c ? ReadAnyConfig(c) : Common.ResolveConfig(a, null).Config; }
        catch (JsonException e) { throw a.Error($"--config: not valid JSON ({e.Message.Split('\n')[0]})"); }
        string outDir = a.Required("out");
        var run = new RunDirectory(outDir);
        if (run.HasRun && !a.Flag("overwrite")) throw a.Error($"--out {outDir}: already holds a run (use --overwrite to replace it)");
        using var model = new DenseFlowModel(config);
        ReferenceWeights.Load(model, source);
        RunDirectory.Create(outDir, config, options: null, a.Flag("overwrite"));
        ModelFile.Save(model, run.ModelFile);
        AnsiConsole.MarkupLineInterpolated($"imported {model.ParameterCount:N0} parameters from {source} → {run.ModelFile}");
        return 0;
    }

    static int RunVerify(Args a)
    {
        string dir = a.Positional ?? throw a.Error("the FIXTURE_DIR argument is required");
        var report = ReferenceVerification.Run(dir, a.ExistingFile("weights"), a.Flag("double") ? TorchSharp.torch.ScalarType.Float64 : TorchSharp.torch.ScalarType.Float32, Common.Layout(a));
        Console.WriteLine($"fixture {dir}, weights {report.WeightFile}, D = {report.Dimensions}");
        var table = new Table().AddColumns("image", "official log-lik (nats)", "ours (nats)", "difference", "per dim");
        foreach (var i in report.Images)
            table.AddRow($"{i.Index}", Common.Fmt(i.Official), Common.Fmt(i.Ours), $"{i.Difference:E3}", $"{i.Difference / report.Dimensions:E2}");
        AnsiConsole.Write(table);
        foreach (var (name, diff) in report.TransformOutputs) Console.WriteLine($"  {name}: max |diff| {diff:E2}");
        Console.WriteLine($"log-likelihood: max |diff| per dim {report.MaxLogLikDifferencePerDim:E2} (tolerance {VerificationReport.LogLikTolerancePerDim:E0}) {(report.LogLikOk ? "ok" : "FAIL")}");
        Console.WriteLine($"latent z: max |diff| {report.MaxLatentDifference:E2} (tolerance {VerificationReport.LatentTolerance:E0}) {(report.LatentOk ? "ok" : "FAIL")}");
        Console.WriteLine($"sampling replay: {report.DifferingPixels} of {report.SampledPixels} pixels differ, by at most {report.MaxPixelDifference} {(report.SamplesOk ? "ok" : "FAIL")}");
        Console.WriteLine(report.Passed ? "verify-reference: PASSED" : "verify-reference: FAILED");
        return report.Passed ? 0 : 1;
    }
}
