using static TorchSharp.torch;

namespace DenseFlow.Toolbox;

/// <summary>
/// Exact k-nearest-neighbour search under the Euclidean distance, by batched matrix products: for a chunk of
/// references R, ‖q − r‖² = ‖q‖² + ‖r‖² − 2·q·rᵀ for all queries at once (one matmul per chunk, in float64),
/// keeping a running top-k across chunks. No per-pair loop, so 60,000 references take seconds.
/// </summary>
public static class NearestNeighbours
{
    /// <summary>
    /// The <paramref name="k"/> nearest rows of the reference chunks to each row of <paramref name="queries"/> (Q, D).
    /// Chunks are (Rᵢ, D) tensors given in order; indices count across chunks. Equal distances keep no particular order.
    /// </summary>
    public static Neighbours Find(Tensor queries, IEnumerable<Tensor> referenceChunks, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1");
        if (queries.dim() != 2) throw new ArgumentException($"queries: expected (Q, D), got ({string.Join(",", queries.shape)})");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var q = queries.to(ScalarType.Float64);
        var qNorm = q.square().sum(1, keepdim: true);                // (Q, 1)
        long nq = q.shape[0], offset = 0;
        Tensor? bestD = null, bestI = null;                          // (Q, ≤k) squared distances and indices
        foreach (var chunk in referenceChunks)
        {
            using var inner = NewDisposeScope();
            if (chunk.dim() != 2 || chunk.shape[1] != q.shape[1])
                throw new ArgumentException($"references: expected (R, {q.shape[1]}), got ({string.Join(",", chunk.shape)})");
            var r = chunk.to(ScalarType.Float64);
            var d2 = (qNorm + r.square().sum(1).unsqueeze(0) - 2 * q.matmul(r.t())).clamp_min(0);   // (Q, R)
            var idx = arange(offset, offset + r.shape[0], dtype: ScalarType.Int64).unsqueeze(0).expand(nq, -1);
            if (bestD is not null) { d2 = cat(new[] { bestD, d2 }, 1); idx = cat(new[] { bestI!, idx }, 1); }
            int keep = (int)Math.Min(k, d2.shape[1]);
            var (values, where) = d2.topk(keep, dim: 1, largest: false, sorted: true);
            bestD?.Dispose(); bestI?.Dispose();
            bestD = values.MoveToOuterDisposeScope();
            bestI = idx.gather(1, where).MoveToOuterDisposeScope();
            offset += r.shape[0];
        }
        if (bestD is null || offset < k) throw new ArgumentException($"references: {offset} rows, fewer than k = {k}");
        var dist = bestD.sqrt().contiguous();
        var ind = bestI!.contiguous();
        var distances = new double[nq, k];
        var indices = new long[nq, k];
        var dv = dist.data<double>().ToArray();
        var iv = ind.data<long>().ToArray();
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < k; j++) { distances[i, j] = dv[i * k + j]; indices[i, j] = iv[i * k + j]; }
        return new Neighbours(indices, distances);
    }

    /// <summary>The same for one reference tensor (R, D), split into chunks of <paramref name="chunkRows"/>.</summary>
    public static Neighbours Find(Tensor queries, Tensor references, int k, int chunkRows = 8192)
    {
        var chunks = Enumerable.Range(0, (int)((references.shape[0] + chunkRows - 1) / chunkRows))
            .Select(c => references.narrow(0, (long)c * chunkRows, Math.Min(chunkRows, references.shape[0] - (long)c * chunkRows)));
        return Find(queries, chunks, k);
    }
}
