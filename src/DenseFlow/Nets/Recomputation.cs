using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// Recomputation ("gradient checkpointing") of a coupling network: the forward pass keeps only the
/// network's input, and the backward pass runs the network again with autograd to get its gradients.
/// A coupling network's intermediate tensors (the dense block's growing concatenations) are most of a
/// training step's memory; recomputing them costs one more forward of the network. Results are
/// unchanged: the same operations run on the same input, and BatchNorm's running statistics, which the
/// second forward would update again, are put back.
/// </summary>
public interface IRecomputable
{
    /// <summary>Recompute the network in the backward pass instead of keeping its activations (<see cref="Recomputation"/>).</summary>
    bool Recompute { get; set; }
}

public static class Recomputation
{
    /// <summary>net(x), recomputed in the backward pass when autograd is recording; a plain call otherwise.</summary>
    public static Tensor Forward(nn.Module<Tensor, Tensor> net, Tensor x) =>
        is_grad_enabled() && x.requires_grad ? RecomputedNet.apply(net, x) : net.forward(x);

    sealed class RecomputedNet : autograd.SingleTensorFunction<RecomputedNet>
    {
        public override string Name => "DenseFlowRecomputedNet";

        // Runs with autograd off (the Function machinery turns it off): nothing inside is kept.
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var net = (nn.Module<Tensor, Tensor>)vars[0];
            var x = (Tensor)vars[1];
            ctx.save_for_backward([x]);
            ctx.save_data("net", net);
            return net.forward(x);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var net = (nn.Module<Tensor, Tensor>)ctx.get_data("net");
            using var scope = NewDisposeScope();
            var x = ctx.get_saved_variables()[0];
            // BatchNorm updates its running statistics in every training-mode forward; keep them as the
            // first forward left them.
            var buffers = net.buffers().ToList();
            var saved = buffers.Select(b => b.clone()).ToList();
            Tensor inputGrad;
            using (enable_grad())
            {
                var input = x.detach().requires_grad_(true);
                var output = net.forward(input);
                // Accumulates the network's parameter gradients, and the input's.
                output.backward([gradOutput]);
                inputGrad = input.grad!.detach();
            }
            using (no_grad())
                for (int i = 0; i < buffers.Count; i++) buffers[i].copy_(saved[i]);
            return [null!, inputGrad.MoveToOuterDisposeScope()];
        }
    }
}
