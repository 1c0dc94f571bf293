using DenseFlow.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Flows;

/// <summary>
/// Activation normalisation (SPEC §3): z = (x − shift)·exp(−log_scale), log-det = −H·W·Σ log_scale.
/// Initialised from the first training-mode batch; the `initialized` buffer is saved with the weights,
/// so loading a model never initialises it again.
/// </summary>
public sealed class ActNorm : Bijection
{
    const double Eps = 1e-6;
    readonly Parameter shift;
    readonly Parameter log_scale;
    readonly Tensor initialized;

    public ActNorm(int channels) : base(nameof(ActNorm))
    {
        shift = new Parameter(zeros(1, channels, 1, 1));
        log_scale = new Parameter(zeros(1, channels, 1, 1));
        initialized = zeros(1);
        RegisterComponents();
    }

    public bool IsInitialized
    {
        get { using var v = initialized.to_type(ScalarType.Float64); return v.item<double>() != 0; }
    }

    /// <summary>Ranks whose batches together make the initialising batch (null: this process's batch alone).</summary>
    public ICommunicator? StatisticsGroup { get; set; }

    public Parameter Shift => shift;
    public Parameter LogScale => log_scale;

    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        if (training && !IsInitialized) InitializeFrom(x);
        var z = (x - shift) * exp(-log_scale);
        long hw = x.shape[2] * x.shape[3];
        var logDet = (-log_scale).sum().mul(hw).expand(x.shape[0]);
        return (z, logDet);
    }

    public override Tensor inverse(Tensor z) => shift + z * exp(log_scale);

    void InitializeFrom(Tensor x)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var (mean, std) = StatisticsGroup is { Size: > 1 } group ? GlobalStatistics(x, group)
            : (x.mean(new long[] { 0, 2, 3 }, keepdim: true), x.std(new long[] { 0, 2, 3 }, unbiased: true, keepdim: true));
        shift.copy_(mean);
        log_scale.copy_((std + Eps).log());
        initialized.fill_(1);
    }

    /// <summary>Per-channel mean and unbiased std of the global batch: all-reduced Σx, then Σ(x − mean)².</summary>
    static (Tensor Mean, Tensor Std) GlobalStatistics(Tensor x, ICommunicator group)
    {
        var dims = new long[] { 0, 2, 3 };
        var count = new double[] { x.shape[0] * x.shape[2] * x.shape[3] };
        group.AllReduceSum(count);
        var sum = x.sum(dims, keepdim: true).contiguous();
        group.AllReduceSum(sum);
        var mean = sum / count[0];
        var squares = (x - mean).square().sum(dims, keepdim: true).contiguous();
        group.AllReduceSum(squares);
        return (mean, (squares / (count[0] - 1)).sqrt());
    }
}
