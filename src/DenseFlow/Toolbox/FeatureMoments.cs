using static TorchSharp.torch;

namespace DenseFlow.Toolbox;

/// <summary>
/// Running mean and covariance of feature vectors, added batch by batch, so the features of 60,000 images
/// need not be kept. Sums are taken about the first batch's mean (float64) to avoid cancellation.
/// The covariance is the unbiased one (divided by N − 1), as numpy's np.cov used by the FID references.
/// </summary>
public sealed class FeatureMoments : IDisposable
{
    Tensor? _shift, _sum, _outer;
    public long Count { get; private set; }
    public long Dimensions => _shift?.shape[0] ?? 0;

    /// <summary>Adds a batch (B, D) of feature vectors.</summary>
    public void Add(Tensor features)
    {
        if (features.dim() != 2) throw new ArgumentException($"features: expected (B, D), got ({string.Join(",", features.shape)})");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var f = features.to(ScalarType.Float64);
        if (_shift is null)
        {
            // State outlives every caller's dispose scope; Dispose frees it.
            _shift = f.mean(new long[] { 0 }).DetachFromDisposeScope();
            _sum = zeros(f.shape[1], dtype: ScalarType.Float64).DetachFromDisposeScope();
            _outer = zeros(f.shape[1], f.shape[1], dtype: ScalarType.Float64).DetachFromDisposeScope();
        }
        else if (f.shape[1] != _shift.shape[0])
            throw new ArgumentException($"features: {f.shape[1]} dimensions, earlier batches had {_shift.shape[0]}");
        var c = f - _shift;
        _sum!.add_(c.sum(new long[] { 0 }));   // not sum(0): a literal 0 binds to the ScalarType overload
        _outer!.add_(c.t().matmul(c));
        Count += f.shape[0];
    }

    public Tensor Mean()
    {
        Check(1);
        return _shift! + _sum! / Count;
    }

    public Tensor Covariance()
    {
        Check(2);
        var m = _sum! / Count;
        return (_outer! - Count * m.outer(m)) / (Count - 1);
    }

    void Check(long needed)
    {
        if (Count < needed) throw new InvalidOperationException($"feature statistics need at least {needed} vectors, have {Count}");
    }

    public void Dispose() { _shift?.Dispose(); _sum?.Dispose(); _outer?.Dispose(); }
}
