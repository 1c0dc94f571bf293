using DenseFlow.Host;
using DenseFlow.Tests.IO;
using DenseFlow.Nets;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Host;

public sealed class OneDnnCheckTests
{
    [Fact]
    public void The_override_takes_auto_on_or_off_and_refuses_the_rest()
    {
        Assert.Equal("auto", OneDnnCheck.Choice(null));
        Assert.Equal("auto", OneDnnCheck.Choice(" "));
        Assert.Equal("on", OneDnnCheck.Choice("ON"));
        Assert.Equal("off", OneDnnCheck.Choice(" off "));
        var e = Assert.Throws<ArgumentException>(() => OneDnnCheck.Choice("fast"));
        Assert.Contains("DENSEFLOW_ONEDNN='fast'", e.Message);
        Assert.Contains("auto, on or off", e.Message);
    }

    /// <summary>
    /// What the check is for: after it, every float32 convolution of a partial channel block — both layouts,
    /// 1×1 and 3×3, forward and both gradients — matches float64 on a heap full of freed NaN blocks. On the Zen-5
    /// EPYC of docs/RELIABILITY.md this fails if the check does not switch oneDNN off (NaN and 14–38% errors).
    /// </summary>
    [Fact]
    public void After_the_check_convolutions_with_partial_channel_blocks_are_exact()
    {
        string state = OneDnnCheck.Ensure();
        if (state.StartsWith("on", StringComparison.Ordinal)) return;   // DENSEFLOW_ONEDNN=on: the user took oneDNN as it is
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        foreach (var (inChannels, outChannels) in new[] { (3, 17), (18, 16), (18, 36), (34, 17) })
        foreach (int kernel in new[] { 1, 3 })
        foreach (bool channelsLast in new[] { false, true })
        {
            var x = randn(new long[] { 8, inChannels, 16, 16 }, generator: generator);
            var w = randn(new long[] { outChannels, inChannels, kernel, kernel }, generator: generator) * 0.1;
            var b = randn(new long[] { outChannels }, generator: generator);
            var gy = randn(new long[] { 8, outChannels, 16, 16 }, generator: generator);
            Tensor[] Run(ScalarType type, bool nhwc)
            {
                var xi = (nhwc ? ActivationLayouts.ToChannelsLast(x) : x).to_type(type).detach().requires_grad_(true);
                var wi = w.to_type(type).detach().requires_grad_(true);
                var bi = b.to_type(type).detach().requires_grad_(true);
                OneDnnCheck.PoisonHeap(1 << 16, 1 << 18, 1 << 20, 8 * 48 * 16 * 16);
                var y = nn.functional.conv2d(xi, wi, bi, padding: new long[] { kernel / 2, kernel / 2 });
                OneDnnCheck.PoisonHeap(1 << 16, 1 << 18, 1 << 20, 8 * 48 * 16 * 16);
                var g = torch.autograd.grad([y], [xi, wi, bi], [(nhwc ? ActivationLayouts.ToChannelsLast(gy) : gy).to_type(type)]);
                return [y.to_type(ScalarType.Float64), .. g.Select(t => t.to_type(ScalarType.Float64))];
            }
            var truth = Run(ScalarType.Float64, false);
            var got = Run(ScalarType.Float32, channelsLast);
            string[] names = ["output", "input gradient", "weight gradient", "bias gradient"];
            for (int i = 0; i < names.Length; i++)
            {
                double error = ((got[i] - truth[i]).abs().max() / truth[i].abs().max()).item<double>();
                Assert.True(error < 1e-4, $"{inChannels}→{outChannels} {kernel}×{kernel} {(channelsLast ? "NHWC" : "NCHW")}: {names[i]} relative error {error:E2} (oneDNN check: {state})");
            }
        }
    }

    /// <summary>The switch the check falls back on reaches libtorch: off reads back off, on reads back on.</summary>
    [Fact]
    public void The_oneDNN_switch_turns_libtorchs_oneDNN_off_and_on()
    {
        if (!OperatingSystem.IsLinux()) return;   // the Itanium-mangled libtorch_cpu symbols
        bool before = OneDnnCheck.Enabled;
        try
        {
            OneDnnCheck.SetEnabled(false);
            Assert.False(OneDnnCheck.Enabled);
            OneDnnCheck.SetEnabled(true);
            Assert.True(OneDnnCheck.Enabled);
        }
        finally { OneDnnCheck.SetEnabled(before); }
    }

    /// <summary>
    /// With oneDNN switched off a whole command stays exact and its standard error free of libtorch's NNPACK warning.
    /// On the Zen-5 guest (hidden cache topology) libtorch printed "Could not initialize NNPACK!" at every convolution
    /// (408 lines for this command) until NNPACK is switched off with oneDNN; a child process, because the warning
    /// goes to the native stderr and the switch is per process.
    /// </summary>
    [Fact]
    public void With_oneDNN_off_a_command_is_exact_and_prints_no_NNPACK_warnings()
    {
        var (code, stdout, err) = DenseFlow.Tests.Cli.CliProcess.Run(new Dictionary<string, string?> { ["DENSEFLOW_ONEDNN"] = "off" },
            "verify-reference", FixturePaths.OfficialSmall);
        Assert.True(code == 0, stdout + err);
        Assert.Contains("verify-reference: PASSED", stdout);
        Assert.DoesNotContain("NNPACK", err);
    }
}
