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
        var mean = x.mean(new long[] { 0, 2, 3 }, keepdim: true);
        var std = x.std(new long[] { 0, 2, 3 }, unbiased: true, keepdim: true);
        shift.copy_(mean);
        log_scale.copy_((std + Eps).log());
        initialized.fill_(1);
    }
}
