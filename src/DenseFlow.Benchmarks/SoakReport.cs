using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DenseFlow.Benchmarks;

/// <summary>
/// What a soak run saw. Figures are relative to the settled sample: the first one taken after the first
/// epoch end, the first checkpoint and 10% of the steps, so one-off allocations (allocator pools, the
/// evaluation and sampling buffers, the writers) are not counted as growth.
/// </summary>
public sealed record SoakReport
{
    public required string Model { get; init; }
    /// <summary>"fashion-mnist", or "random" for models of another input shape.</summary>
    public required string Data { get; init; }
    public required long Steps { get; init; }
    public required int BatchSize { get; init; }
    public required int Epochs { get; init; }
    public required long Checkpoints { get; init; }
    public required double ElapsedSeconds { get; init; }
    public required long SettledStep { get; init; }
    public required long RssSettledBytes { get; init; }
    public required long RssEndBytes { get; init; }
    public required long RssMaxAfterSettleBytes { get; init; }
    public required long RssMinAfterSettleBytes { get; init; }
    /// <summary>(max after settling − settled) / settled.</summary>
    public required double RssMaxDriftFraction { get; init; }
    /// <summary>(end − settled) / settled.</summary>
    public required double RssEndDriftFraction { get; init; }
    /// <summary>Least-squares slope of RSS over the settled samples, in bytes per 1,000 steps.</summary>
    public required double RssSlopeBytesPer1000Steps { get; init; }
    /// <summary>The process's peak resident memory over the whole run (VmHWM), garbage included.</summary>
    public required long PeakRssBytes { get; init; }
    /// <summary>Largest resident memory seen just before a sample's collection, after settling.</summary>
    public required long RssMaxBeforeCollectionBytes { get; init; }
    public required int OpenFilesSettled { get; init; }
    public required int OpenFilesEnd { get; init; }
    public required int OpenFilesMax { get; init; }
    public required string Machine { get; init; }
    public required IReadOnlyList<SoakSample> Samples { get; init; }

    /// <summary>Resident memory within ±5% of the settled figure over the whole rest of the run.</summary>
    public bool RssFlat => RssMaxDriftFraction <= 0.05 && (RssMinAfterSettleBytes - RssSettledBytes) / (double)RssSettledBytes >= -0.05;

    public bool NoFileLeak => OpenFilesEnd <= OpenFilesSettled && OpenFilesMax <= OpenFilesSettled + 2;

    public string ToJson() => JsonSerializer.Serialize(this, Measurement.Json);

    public string ToCsv()
    {
        var sb = new StringBuilder("step,seconds,rss_bytes,rss_before_collection_bytes,managed_bytes,managed_committed_bytes,open_files\n");
        foreach (var s in Samples)
            sb.Append(CultureInfo.InvariantCulture, $"{s.Step},{s.Seconds:F3},{s.RssBytes},{s.RssBeforeCollectionBytes},{s.ManagedBytes},{s.ManagedCommittedBytes},{s.OpenFiles}\n");
        return sb.ToString();
    }
}
