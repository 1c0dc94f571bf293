using System.Text.Json;
using System.Text.Json.Serialization;

namespace DenseFlow.Benchmarks;

/// <summary>
/// One measurement. <see cref="MedianSeconds"/> is the median of the timed runs (for "iwbo": seconds per
/// image); <see cref="ModelGflops"/> is the model's forward conv GFLOP per image × images/s (× 3 for
/// training; for a calibration measurement it is the conv's own GFLOP/s); <see cref="FractionOfCalibration"/>
/// divides that by the calibration of the same run (fwd for sample/eval/iwbo, fwd+bwd for training).
/// </summary>
public sealed record Measurement(string Name, double MedianSeconds, double? ImagesPerSecond, long PeakRssBytes, double? ModelGflops, double? FractionOfCalibration)
{
    /// <summary>Images per timed run (0 where it does not apply).</summary>
    public int Batch { get; init; }

    /// <summary>Every timed run, in seconds, in the order run.</summary>
    public double[] Seconds { get; init; } = [];

    /// <summary>Measured in a process of its own.</summary>
    public bool Isolated { get; init; }

    /// <summary>The peak RSS was reset before the measurement (/proc/self/clear_refs); see <see cref="RssAtStartBytes"/>.</summary>
    public bool PeakRssReset { get; init; }

    /// <summary>Resident memory when the measurement started (before its model existed).</summary>
    public long RssAtStartBytes { get; init; }

    /// <summary>Process CPU time over the timed runs ÷ (wall time × threads): below ~0.9 other work shared the cores.</summary>
    public double? CpuShare { get; init; }

    public int Threads { get; init; }

    /// <summary>.NET garbage collections per timed run (every generation) and the time the runtime paused for them: the managed side's share of a step.</summary>
    public double? GcCollectionsPerRun { get; init; }

    public double? GcPauseSecondsPerRun { get; init; }

    /// <summary>Trainable parameters of the model measured (0 for the calibration).</summary>
    public long ParameterCount { get; init; }

    /// <summary>Median seconds of parts of a run (training: forward, backward, optimizer).</summary>
    public Dictionary<string, double>? Phases { get; init; }

    public string? Note { get; init; }

    /// <summary>
    /// This measurement's own calibration: GFLOP/s of the calibration conv (fwd+bwd for training, fwd
    /// otherwise), the mean of <see cref="Benchmark.BracketRepeats"/>-repeat runs just before and just
    /// after it in the same process. Fractions and normalised ratios use it when present.
    /// </summary>
    public double? CalibrationGflops { get; init; }

    /// <summary>|after − before| ÷ mean of the bracketing calibrations: how much the machine's speed moved during the measurement.</summary>
    public double? CalibrationSpread { get; init; }

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>One line of JSON (the child protocol's output line).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static Measurement FromJson(string json) =>
        JsonSerializer.Deserialize<Measurement>(json, Json) ?? throw new InvalidDataException("empty measurement");
}

/// <summary>The .NET garbage collector's work over some timed runs, per run.</summary>
public readonly record struct GcActivity(double CollectionsPerRun, double PauseSecondsPerRun);

