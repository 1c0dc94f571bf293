using DenseFlow.Model;
using DenseFlow.Nets;

namespace DenseFlow.Benchmarks;

/// <summary>What <see cref="Benchmark.Run"/> measures, and how.</summary>
public sealed record BenchmarkOptions
{
    /// <summary>Preset name (ignored when <see cref="Config"/> is set).</summary>
    public string Preset { get; init; } = "small32x1";

    /// <summary>An explicit configuration; overrides <see cref="Preset"/>.</summary>
    public DenseFlowConfig? Config { get; init; }

    /// <summary>
    /// Groups and/or measurement names to run: groups "calibration" (calibration_fwd, calibration_fwd_bwd),
    /// "train" (train_b32, train_b64), "sample" (sample64), "eval" (eval64), "iwbo" (iwbo); or any of those
    /// measurement names on its own.
    /// </summary>
    public string[] Only { get; init; } = Benchmark.Groups.ToArray();

    /// <summary>Untimed runs before the timed ones (a training measurement runs one more step first, to initialise ActNorm).</summary>
    public int Warmup { get; init; } = 1;

    /// <summary>Timed runs per measurement (the calibration always uses <see cref="CalibrationRepeats"/>).</summary>
    public int Repeats { get; init; } = 5;

    public int CalibrationRepeats { get; init; } = 25;

    public int IwboImages { get; init; } = 2;
    public int IwboK { get; init; } = 1000;
    public int IwboDrawsPerPass { get; init; } = 64;

    /// <summary>Timed IWBO runs (each already covers IwboImages × IwboK draws).</summary>
    public int IwboRepeats { get; init; } = 1;

    public string Device { get; init; } = "cpu";

    /// <summary>Share of the coupling networks training measurements recompute in the backward pass (<see cref="Model.DenseFlowModel.RecomputeFraction"/>).</summary>
    public double RecomputeFraction { get; init; }

    /// <summary>Memory layout of the dense blocks' activations in every model measurement (<see cref="Model.DenseFlowModel.ActivationLayout"/>).</summary>
    public ActivationLayout Layout { get; init; } = ActivationLayout.Auto;

    /// <summary>Run each measurement in its own process (needs <see cref="ChildCommand"/>), so its peak RSS is its own.</summary>
    public bool Isolate { get; init; } = true;

    /// <summary>
    /// The denseflow executable (or denseflow.dll, run with `dotnet`) that runs one measurement per process:
    /// `ChildCommand bench --child REQUEST_JSON` (see <see cref="Benchmark.ChildArguments"/>).
    /// </summary>
    public string? ChildCommand { get; init; }

    /// <summary>Seed of the weights, images and draws.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Threads for torch; 0 = Environment.ProcessorCount.</summary>
    public int Threads { get; init; }

    public DenseFlowConfig ResolveConfig() => Config ?? Presets.Get(Preset);

    /// <summary>The name to print for the model: the preset, or "custom" for an explicit configuration.</summary>
    public string ModelName => Config is null ? Preset : "custom";
}
