using DenseFlow.Tests.Model;
using DenseFlow.Toolbox;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Toolbox;

public class FrechetDistanceTests
{
    static Tensor RandomCovariance(long seed, int d)
    {
        using var a = TestUtil.Randn(seed, ScalarType.Float64, d, d);
        return a.matmul(a.t()) / d + eye(d, dtype: ScalarType.Float64) * 0.1;
    }

    [Fact]
    public void EqualGaussiansAreAtDistanceZero()
    {
        using var mean = TestUtil.Randn(1, ScalarType.Float64, 12);
        using var cov = RandomCovariance(2, 12);
        Assert.Equal(0, FrechetDistance.Compute(mean, cov, mean, cov), 9);
    }

    [Fact]
    public void DiagonalCovariancesGiveTheAnalyticValue()
    {
        var v1 = new[] { 1.0, 4.0, 0.25, 9.0 };
        var v2 = new[] { 2.0, 1.0, 0.25, 16.0 };
        var m1 = new[] { 0.0, 1.0, -2.0, 0.5 };
        var m2 = new[] { 1.0, 1.0, 0.0, 0.0 };
        // Σ (μ₁ − μ₂)² + Σ (√v₁ − √v₂)², by hand.
        double expected = m1.Zip(m2, (a, b) => (a - b) * (a - b)).Sum() + v1.Zip(v2, (a, b) => Math.Pow(Math.Sqrt(a) - Math.Sqrt(b), 2)).Sum();
        double fd = FrechetDistance.Compute(tensor(m1), diag(tensor(v1)), tensor(m2), diag(tensor(v2)));
        Assert.Equal(expected, fd, 10);
    }

    [Fact]
    public void TranslationAddsTheSquaredMeanDifference()
    {
        using var cov = RandomCovariance(3, 10);
        using var m1 = TestUtil.Randn(4, ScalarType.Float64, 10);
        using var shift = TestUtil.Randn(5, ScalarType.Float64, 10);
        double expected = shift.square().sum().item<double>();
        Assert.Equal(expected, FrechetDistance.Compute(m1, cov, m1 + shift, cov), 8);
    }

    [Fact]
    public void NonCommutingCovariancesMatchTheGeneralEigenvalueFormula()
    {
        // Independent route: Tr (Σ₁Σ₂)^½ = Σ √λ over the (real, non-negative) eigenvalues of the non-symmetric product.
        using var s1 = RandomCovariance(6, 8);
        using var s2 = RandomCovariance(7, 8);
        using var zero = zeros(8, dtype: ScalarType.Float64);
        var eig = TestUtil.ToDoubles(linalg.eigvals(s1.matmul(s2)).real);
        double expected = s1.trace().item<double>() + s2.trace().item<double>() - 2 * eig.Sum(l => Math.Sqrt(Math.Max(l, 0)));
        Assert.Equal(expected, FrechetDistance.Compute(zero, s1, zero, s2), 8);
        // Symmetric in its arguments.
        Assert.Equal(FrechetDistance.Compute(zero, s1, zero, s2), FrechetDistance.Compute(zero, s2, zero, s1), 9);
    }

    [Fact]
    public void FeatureMomentsAreTheSampleMeanAndUnbiasedCovariance()
    {
        // Rows (1,2), (3,6), (5,4), (7,0), added in two batches: mean (4, 3); by hand the unbiased covariance is
        // [[20/3, −8/3], [−8/3, 20/3]] (deviations (−3,−1), (−1,3), (1,1), (3,−3)).
        using var moments = new FeatureMoments();
        moments.Add(tensor(new double[,] { { 1, 2 }, { 3, 6 } }));
        moments.Add(tensor(new double[,] { { 5, 4 }, { 7, 0 } }));
        Assert.Equal(4, moments.Count);
        TestUtil.AssertClose(tensor(new double[] { 4, 3 }), moments.Mean(), 1e-12, "mean");
        TestUtil.AssertClose(tensor(new double[,] { { 20.0 / 3, -8.0 / 3 }, { -8.0 / 3, 20.0 / 3 } }), moments.Covariance(), 1e-12, "covariance");
        Assert.Throws<ArgumentException>(() => moments.Add(zeros(1, 3, dtype: ScalarType.Float64)));
    }
}
