using DenseFlow.Tests.Model;
using DenseFlow.Toolbox;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Toolbox;

public class NearestNeighboursTests
{
    [Fact]
    public void MatchesABruteForceLoopAcrossChunks()
    {
        const int q = 5, r = 203, d = 17, k = 4;
        using var queries = TestUtil.Randn(1, ScalarType.Float32, q, d);
        using var references = TestUtil.Randn(2, ScalarType.Float32, r, d);
        var qv = TestUtil.ToDoubles(queries);
        var rv = TestUtil.ToDoubles(references);
        // Chunks of 50 rows: neighbours must be merged across chunk boundaries and the last partial chunk.
        var found = NearestNeighbours.Find(queries, references, k, chunkRows: 50);
        for (int i = 0; i < q; i++)
        {
            var brute = Enumerable.Range(0, r).Select(j =>
            {
                double s = 0;
                for (int c = 0; c < d; c++) { double diff = qv[i * d + c] - rv[j * d + c]; s += diff * diff; }
                return (Index: j, Distance: Math.Sqrt(s));
            }).OrderBy(p => p.Distance).Take(k).ToArray();
            for (int n = 0; n < k; n++)
            {
                Assert.Equal(brute[n].Index, found.Indices[i, n]);
                Assert.Equal(brute[n].Distance, found.Distances[i, n], 9);
            }
        }
    }

    [Fact]
    public void AReferenceEqualToTheQueryIsAtDistanceZero()
    {
        using var references = TestUtil.Randn(3, ScalarType.Float64, 30, 6);
        using var queries = references.index_select(0, tensor(new long[] { 7, 29 }));
        var found = NearestNeighbours.Find(queries, references, 1, chunkRows: 8);
        Assert.Equal(7, found.Indices[0, 0]);
        Assert.Equal(29, found.Indices[1, 0]);
        Assert.True(found.Distances[0, 0] < 1e-6 && found.Distances[1, 0] < 1e-6);
    }

    [Fact]
    public void FewerReferencesThanKIsRefused()
    {
        using var references = TestUtil.Randn(4, ScalarType.Float64, 3, 2);
        Assert.Throws<ArgumentException>(() => NearestNeighbours.Find(references, references, 4));
    }
}
