namespace DenseFlow.Benchmarks;

/// <summary>
/// The process after a step: resident memory after a full garbage collection (what the process
/// retains — a leak shows here), resident memory just before it (with garbage not yet collected: .NET's
/// heap grows and shrinks in a sawtooth between collections), the managed heap after collection, and
/// open file descriptors. <see cref="ManagedCommittedBytes"/> is the memory .NET's collector keeps
/// committed (it may hold on to free regions): it tells runtime retention from a leak of our objects.
/// </summary>
public sealed record SoakSample(long Step, double Seconds, long RssBytes, long RssBeforeCollectionBytes, long ManagedBytes, int OpenFiles)
{
    public long ManagedCommittedBytes { get; init; }
}
