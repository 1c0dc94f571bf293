using static TorchSharp.torch;

namespace DenseFlow.Model;

/// <summary>What one pass of the single-sample bound produced, per image.</summary>
public sealed record BoundTerms(Tensor LogLikelihood, Tensor Latent, Tensor DequantTerm, Tensor FlowLogDet, Tensor PriorLogProb)
{
    public void Dispose() { LogLikelihood.Dispose(); Latent.Dispose(); DequantTerm.Dispose(); FlowLogDet.Dispose(); PriorLogProb.Dispose(); }
}
