using DenseFlow.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// The intra-unit coupling network, DenseFlow's "dense + Nyström" fusion (SPEC §4):
/// conv1×1 projection → [Nyström attention ‖ dense block] → BatchNorm → ReLU → conv1×1 blend →
/// zero-initialised conv1×1 output, so every coupling starts as the identity.
/// </summary>
public sealed class DenseNystromCouplingNet : nn.Module<Tensor, Tensor>
{
    const double NormEps = 1e-5, NormMomentum = 0.1;

    readonly Conv2d input;
    readonly NystromAttention attention;
    readonly DenseBlock dense;
    readonly BatchNorm2d mix_norm;
    readonly Conv2d mix_conv;
    readonly Conv2d output;

    public DenseNystromCouplingNet(int inChannels, int outChannels, int width, int denseDepth, int denseGrowth, int landmarks)
        : base(nameof(DenseNystromCouplingNet))
    {
        input = nn.Conv2d(inChannels, width, 1);
        attention = new NystromAttention(width, width / 2, landmarks);
        dense = new DenseBlock(width, width, denseDepth, denseGrowth, gated: true);
        mix_norm = nn.BatchNorm2d(2 * width, eps: NormEps, momentum: NormMomentum);
        mix_conv = nn.Conv2d(2 * width, width, 1, bias: false);
        output = nn.Conv2d(width, outChannels, 1);
        using (no_grad()) { output.weight!.zero_(); output.bias!.zero_(); }
        RegisterComponents();
    }

    /// <summary>Ranks whose batches BatchNorm normalises over together (null: this process's batch; <see cref="SynchronizedBatchNorm"/>).</summary>
    public ICommunicator? StatisticsGroup { get; set; }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = input.forward(x);
        var fused = cat(new[] { attention.forward(h), dense.forward(h) }, 1);
        // ReLU in place: BatchNorm's backward needs its input and statistics, not its output.
        var mixed = mix_conv.forward(SynchronizedBatchNorm.Forward(mix_norm, fused, StatisticsGroup, NormEps, NormMomentum).relu_());
        return output.forward(mixed).MoveToOuterDisposeScope();
    }
}
