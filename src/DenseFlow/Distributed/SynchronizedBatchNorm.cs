using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Distributed;

/// <summary>
/// Training-mode BatchNorm2d over the global batch of all ranks, with the module's own parameters and
/// buffers (so model files are unchanged): mean and biased variance from all-reduced per-channel sums
/// (two passes: Σx, then Σ(x − mean)²), running variance unbiased with the global count. The sums go
/// through <see cref="AllReduceSum"/>, so the gradient is that of BatchNorm over the whole batch.
/// In eval mode, and for a single process, it is the module's own forward.
/// </summary>
public static class SynchronizedBatchNorm
{
    public static Tensor Forward(BatchNorm2d norm, Tensor x, ICommunicator? group, double eps, double momentum)
    {
        if (group is null || group.Size == 1 || !norm.training) return norm.forward(x);
        using var scope = NewDisposeScope();
        var dims = new long[] { 0, 2, 3 };
        // Element count over all ranks (ranks may hold different numbers of images).
        var count = tensor(new double[] { x.shape[0] * x.shape[2] * x.shape[3] });
        group.AllReduceSum(count);
        double n = count.item<double>();
        var mean = AllReduceSum.Of(group, x.sum(dims)) / n;
        var centred = x - mean.view(1, -1, 1, 1);
        var variance = AllReduceSum.Of(group, centred.square().sum(dims)) / n;
        var y = centred * (variance + eps).rsqrt().view(1, -1, 1, 1);
        if (norm.weight is { } w) y = y * w.view(1, -1, 1, 1);
        if (norm.bias is { } b) y = y + b.view(1, -1, 1, 1);
        using (no_grad())
        {
            norm.num_batches_tracked?.add_(1);
            norm.running_mean?.mul_(1 - momentum).add_(mean.detach() * momentum);
            norm.running_var?.mul_(1 - momentum).add_(variance.detach() * (momentum * n / Math.Max(1, n - 1)));
        }
        return y.MoveToOuterDisposeScope();
    }
}
