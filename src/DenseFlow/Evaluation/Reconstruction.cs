using DenseFlow.Model;
using static TorchSharp.torch;

namespace DenseFlow.Evaluation;

/// <summary>How exactly the flow inverts: max|v − f⁻¹(f(v))| with the dropped halves put back.</summary>
public static class Reconstruction
{
    /// <summary>For integer images x: dequantize once, run the flow forward recording the dropped halves, invert with them, compare.</summary>
    public static double MaxInverseError(DenseFlowModel model, Tensor x)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var (v, _) = model.Dequantizer.Dequantize(x, null, model.Noise, model.DType);
        var dropped = new List<Tensor>();
        var (z, _) = model.FlowForward(v, observe: null, dropped: dropped);
        var back = model.DecodeLatentsToContinuous(new FlowLatents(z, dropped));
        return (back - v).abs().max().to(ScalarType.Float64).item<double>();
    }
}
