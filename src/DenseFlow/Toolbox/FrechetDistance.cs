using static TorchSharp.torch;

namespace DenseFlow.Toolbox;

/// <summary>
/// Fréchet distance between Gaussians N(μ₁, Σ₁) and N(μ₂, Σ₂) (Dowson and Landau 1982; the FID of Heusel et al. 2017):
/// ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), in float64 with torch's linear algebra (LAPACK).
/// </summary>
public static class FrechetDistance
{
    /// <summary>
    /// Tr (Σ₁Σ₂)^½ is computed as Σᵢ √λᵢ(Σ₁^½ Σ₂ Σ₁^½): that matrix is similar to Σ₁Σ₂ and symmetric, so two
    /// symmetric eigen-decompositions give it without the complex round-off of a general sqrtm (which the
    /// reference implementations use, then drop the imaginary part). Tiny negative eigenvalues are clamped to 0.
    /// </summary>
    public static double Compute(Tensor mean1, Tensor covariance1, Tensor mean2, Tensor covariance2)
    {
        long d = mean1.shape[^1];
        if (mean2.shape[^1] != d || !covariance1.shape.SequenceEqual(new[] { d, d }) || !covariance2.shape.SequenceEqual(new[] { d, d }))
            throw new ArgumentException($"Fréchet distance: means of {d} and {mean2.shape[^1]} dimensions with covariances ({string.Join(",", covariance1.shape)}) and ({string.Join(",", covariance2.shape)})");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var m1 = mean1.to(ScalarType.Float64); var m2 = mean2.to(ScalarType.Float64);
        var s1 = Symmetric(covariance1.to(ScalarType.Float64)); var s2 = Symmetric(covariance2.to(ScalarType.Float64));
        var (l1, v1) = linalg.eigh(s1);
        var root1 = (v1 * l1.clamp_min(0).sqrt().unsqueeze(0)).matmul(v1.t());
        var inner = Symmetric(root1.matmul(s2).matmul(root1));
        double traceRoot = linalg.eigvalsh(inner).clamp_min(0).sqrt().sum().item<double>();
        double meanTerm = (m1 - m2).square().sum().item<double>();
        return meanTerm + s1.trace().item<double>() + s2.trace().item<double>() - 2 * traceRoot;
    }

    public static double Compute(FeatureMoments a, FeatureMoments b)
    {
        using var scope = NewDisposeScope();
        return Compute(a.Mean(), a.Covariance(), b.Mean(), b.Covariance());
    }

    static Tensor Symmetric(Tensor m) => (m + m.t()) * 0.5;
}
