using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DenseFlow.Benchmarks;

/// <summary>The result of <see cref="Benchmark.Run"/>. Headline figures are null when not measured (or failed).</summary>
public sealed record BenchmarkReport
{
    public required string Model { get; init; }
    public required int[] InputShape { get; init; }
    public long ParameterCount { get; init; }
    public required int Threads { get; init; }
    public required bool Isolated { get; init; }
    /// <summary>Share of the coupling networks the training measurements recomputed in the backward pass.</summary>
    public double RecomputeFraction { get; init; }
    /// <summary>Memory layout of the dense blocks' activations (auto, channels-first, channels-last).</summary>
    public string ActivationLayout { get; init; } = "auto";

    /// <summary>malloc of the measuring processes: tcmalloc when preloaded (<see cref="Host.NativeAllocator"/>), else glibc.</summary>
    public string Allocator { get; init; } = "";

    /// <summary>glibc heap settings of the measuring processes (<see cref="Host.NativeHeap.State"/>: kept, or why glibc's defaults applied).</summary>
    public string Heap { get; init; } = "";

    /// <summary>oneDNN start-up check of the measuring processes (<see cref="Host.OneDnnCheck.State"/>).</summary>
    public string OneDnn { get; init; } = "";
    public required string Machine { get; init; }
    public required string StartedAt { get; init; }
    public double TotalSeconds { get; init; }
    public double? LoadAverageStart { get; init; }
    public double? LoadAverageEnd { get; init; }

    /// <summary>Forward conv GFLOP per image (with the invertible 1×1 convs) and its parts.</summary>
    public required double ConvGflopsPerImage { get; init; }
    public required ConvFlopsBreakdown ConvBreakdown { get; init; }
    /// <summary>GFLOP of one forward of the calibration conv (3×3, 48→48, 64×48×32×32).</summary>
    public required double CalibrationGflop { get; init; }

    [JsonPropertyName("calibration_fwd_gflops")] public double? CalibrationFwdGflops { get; init; }
    [JsonPropertyName("calibration_fwd_bwd_gflops")] public double? CalibrationFwdBwdGflops { get; init; }
    [JsonPropertyName("train_b32_images_per_s")] public double? TrainB32ImagesPerS { get; init; }
    [JsonPropertyName("train_b64_images_per_s")] public double? TrainB64ImagesPerS { get; init; }
    [JsonPropertyName("sample64_images_per_s")] public double? Sample64ImagesPerS { get; init; }
    [JsonPropertyName("eval64_images_per_s")] public double? Eval64ImagesPerS { get; init; }
    /// <summary>Seconds per image of IWBO at K = 1000; measured when IwboK = 1000, else scaled linearly from the K measured (see Notes).</summary>
    [JsonPropertyName("iwbo_k1000_seconds_per_image")] public double? IwboK1000SecondsPerImage { get; init; }
    /// <summary>1000 single-sample passes of one image (eval1, batch 1) ÷ the IWBO at K = 1000 of one image.</summary>
    [JsonPropertyName("iwbo_speedup_vs_single_passes")] public double? IwboSpeedupVsSinglePasses { get; init; }
    /// <summary>1000 × the per-image time of single-sample passes over 64 images (eval64) ÷ the IWBO at K = 1000.</summary>
    [JsonPropertyName("iwbo_speedup_vs_batched_passes")] public double? IwboSpeedupVsBatchedPasses { get; init; }
    [JsonPropertyName("iwbo_seconds_per_image")] public double? IwboSecondsPerImage { get; init; }
    [JsonPropertyName("iwbo_k")] public int IwboK { get; init; }
    [JsonPropertyName("train_b32_peak_rss_bytes")] public long? TrainB32PeakRssBytes { get; init; }
    [JsonPropertyName("train_b64_peak_rss_bytes")] public long? TrainB64PeakRssBytes { get; init; }

    public IReadOnlyList<Measurement> Measurements { get; init; } = [];
    public IReadOnlyList<ReferenceComparison> Comparisons { get; init; } = [];
    public IReadOnlyList<string> Notes { get; init; } = [];
    public IReadOnlyList<string> Failures { get; init; } = [];

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static BenchmarkReport FromJson(string json) =>
        JsonSerializer.Deserialize<BenchmarkReport>(json, Json) ?? throw new InvalidDataException("empty benchmark report");

    static string F(double? v, string format = "G3") => v is { } d && double.IsFinite(d) ? d.ToString(format, CultureInfo.InvariantCulture) : "–";
    static string Mem(long? bytes) => bytes is > 0 ? (bytes.Value / (1024.0 * 1024 * 1024)).ToString("F2", CultureInfo.InvariantCulture) + " GiB" : "–";

    /// <summary>Plain-text tables: our measurements, then the comparison with the reference (when it has figures for this model).</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"DenseFlow benchmark: {Model} ({string.Join("×", InputShape)}, {ParameterCount:N0} parameters), {Threads} threads, "
                      + $"{(Isolated ? "one process per measurement" : "one process (peak RSS not isolated)")}"
                      + (RecomputeFraction > 0 ? $"; training recomputes {RecomputeFraction:P0} of the coupling networks" : "")
                      + $"; dense-block layout {ActivationLayout}" + (Allocator.Length > 0 ? $"; malloc {Allocator}" : "") + (Heap.Length > 0 ? $"; freed heap {Heap}" : "") + (OneDnn.Length > 0 ? $"; oneDNN {OneDnn}" : ""));
        sb.AppendLine($"machine: {Machine}; started {StartedAt}; load average {F(LoadAverageStart)} → {F(LoadAverageEnd)}");
        sb.AppendLine($"forward conv work: {F(ConvGflopsPerImage, "F2")} GFLOP/image (without the invertible 1×1 convs {F(ConvBreakdown.WithoutInvertible1x1, "F2")}); "
                      + $"calibration conv {F(CalibrationGflop, "F3")} GFLOP");
        sb.AppendLine();
        var rows = new List<string[]> { new[] { "measurement", "batch", "median s", "images/s", "model GFLOP/s", "of calib.", "own calib. (drift)", "peak RSS", "CPU share", "phases (median s)" } };
        foreach (var m in Measurements)
        {
            string phases = m.Phases is null ? "" : string.Join(", ", m.Phases.Select(p => $"{p.Key} {F(p.Value)}"));
            rows.Add([m.Name, m.Batch > 0 ? m.Batch.ToString(CultureInfo.InvariantCulture) : "", F(m.MedianSeconds, "G4"), F(m.ImagesPerSecond),
                F(m.ModelGflops, "F1"), m.FractionOfCalibration is { } f ? F(f * 100, "F0") + "%" : "–",
                m.CalibrationGflops is { } own ? $"{F(own, "F1")} ({F(m.CalibrationSpread * 100, "F0")}%)" : "–", Mem(m.PeakRssBytes), F(m.CpuShare, "F2"), phases]);
        }
        Render(sb, rows);
        if (Comparisons.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("versus the reference (ANCHORS.md; PyTorch calibration fwd 256, fwd+bwd 198 GFLOP/s); normalised = ratio ÷ (our calib. ÷ ref. calib.), our calib. being the measurement's own (bracketing) calibration; CPU-normalised uses the run's calibration and divides each of our figures by its CPU share first:");
            var cmp = new List<string[]> { new[] { "measurement", "ours images/s", "ref. images/s", "ratio", "our calib.", "ref. calib.", "normalised", "CPU-normalised" } };
            foreach (var c in Comparisons)
                cmp.Add([c.Name, F(c.OurImagesPerSecond), F(c.ReferenceImagesPerSecond) + (c.ReferenceIsEstimate ? " (est.)" : ""), F(c.Ratio, "F2"),
                    F(c.OurCalibrationGflops, "F0"), F(c.ReferenceCalibrationGflops, "F0"), F(c.NormalisedRatio, "F2"), F(c.CpuNormalisedRatio, "F2")]);
            Render(sb, cmp);
        }
        if (IwboK1000SecondsPerImage is { } iw)
        {
            sb.AppendLine();
            sb.AppendLine($"IWBO at K = 1000: {F(iw, "F1")} s per image; vs 1000 single-sample passes of one image (eval1) {F(IwboSpeedupVsSinglePasses, "F2")}× cheaper, "
                          + $"vs 1000 passes in batches of 64 images (eval64) {F(IwboSpeedupVsBatchedPasses, "F2")}× cheaper");
        }
        foreach (var n in Notes) sb.AppendLine("note: " + n);
        foreach (var f in Failures) sb.AppendLine("FAILED: " + f);
        return sb.ToString();
    }

    static void Render(StringBuilder sb, List<string[]> rows)
    {
        int cols = rows[0].Length;
        var widths = Enumerable.Range(0, cols).Select(i => rows.Max(r => r[i].Length)).ToArray();
        for (int r = 0; r < rows.Count; r++)
        {
            sb.AppendLine(string.Join("  ", rows[r].Select((cell, i) => i == 0 || i == cols - 1 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))).TrimEnd());
            if (r == 0) sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        }
    }
}
