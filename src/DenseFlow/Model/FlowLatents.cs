using static TorchSharp.torch;

namespace DenseFlow.Model;

/// <summary>
/// Every latent of a batch of images (SPEC §1): the final latent z scored by the prior (it contains the
/// cross-unit noise channels, which the units mixed in) and the half dropped at each transition, in
/// transition order (first transition first). Together with the dequantization draw they determine x.
/// </summary>
public sealed record FlowLatents(Tensor Final, IReadOnlyList<Tensor> Dropped) : IDisposable
{
    public long Batch => Final.shape[0];

    /// <summary>Joins batches latent by latent.</summary>
    public static FlowLatents Concat(IReadOnlyList<FlowLatents> parts) =>
        new(cat(parts.Select(p => p.Final).ToArray(), 0),
            Enumerable.Range(0, parts[0].Dropped.Count).Select(i => cat(parts.Select(p => p.Dropped[i]).ToArray(), 0)).ToList());

    public FlowLatents MoveToOuterDisposeScope() =>
        new(Final.MoveToOuterDisposeScope(), Dropped.Select(d => d.MoveToOuterDisposeScope()).ToList());

    public void Dispose()
    {
        Final.Dispose();
        foreach (var d in Dropped) d.Dispose();
    }
}
