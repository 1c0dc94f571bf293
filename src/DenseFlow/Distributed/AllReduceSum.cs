using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Distributed;

/// <summary>
/// S = Σ_ranks s as an autograd operation. The loss is a sum over ranks of per-rank losses that all depend
/// on S, so ∂L/∂s on one rank is Σ_ranks ∂L_r/∂S: the backward is the same all-reduce of the incoming gradient.
/// </summary>
public sealed class AllReduceSum : autograd.SingleTensorFunction<AllReduceSum>
{
    public override string Name => "DenseFlowAllReduceSum";

    /// <summary>The sum over ranks of <paramref name="local"/>, differentiable when <paramref name="local"/> requires grad.</summary>
    public static Tensor Of(ICommunicator comm, Tensor local)
    {
        if (is_grad_enabled() && local.requires_grad) return apply(comm, local);
        var sum = local.detach().clone();
        comm.AllReduceSum(sum);
        return sum;
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var comm = (ICommunicator)vars[0];
        ctx.save_data("comm", comm);
        var sum = ((Tensor)vars[1]).detach().clone();
        comm.AllReduceSum(sum);
        return sum;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var comm = (ICommunicator)ctx.get_data("comm");
        var grad = gradOutput.detach().contiguous().clone();
        comm.AllReduceSum(grad);
        return [null!, grad];
    }
}
