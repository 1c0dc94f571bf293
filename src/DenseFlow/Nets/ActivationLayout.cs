using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// Memory layout of the dense blocks' activations. Results are the same in every layout (to float
/// rounding); only the speed of the convolutions differs (docs/PERFORMANCE.md, "Channels-last").
/// </summary>
public enum ActivationLayout
{
    /// <summary>
    /// Channels-last where it measured faster with libtorch's oneDNN convolutions on CPU: in eval mode
    /// (log-likelihood, IWBO, sampling) on every CPU, and in training mode on CPUs with AVX-512, where
    /// oneDNN runs NHWC forward and backward passes with its brgemm kernels and skips the reorders.
    /// Channels-first in training without AVX-512, where oneDNN's NHWC backward pass gives back what
    /// the forward gains, and on other devices. The choice follows the module's
    /// mode, not whether autograd records, so a recomputed network (<see cref="Recomputation"/>) runs
    /// in the same layout in both of its passes and gives identical results.
    /// </summary>
    Auto,
    /// <summary>NCHW everywhere (libtorch's default, and the reference's).</summary>
    ChannelsFirst,
    /// <summary>NHWC inside every dense block.</summary>
    ChannelsLast,
}

public static class ActivationLayouts
{
    public static readonly IReadOnlyList<string> Names = ["auto", "channels-first", "channels-last"];

    /// <summary>
    /// Whether <see cref="ActivationLayout.Auto"/> trains channels-last on this CPU: where it has AVX-512
    /// (docs/PERFORMANCE.md, "Channels-last": −6 to −7% per training step on an AVX-512 Xeon, even on an
    /// AVX-512 EPYC, slower backward passes on AVX2).
    /// </summary>
    public static bool ChannelsLastInTraining { get; } = System.Runtime.Intrinsics.X86.Avx512F.IsSupported;

    /// <summary>Whether a dense block in training (or eval) mode given <paramref name="x"/> (N,C,H,W) computes in NHWC.</summary>
    public static bool UseChannelsLast(this ActivationLayout layout, Tensor x, bool training) =>
        layout.UseChannelsLast(x, training, ChannelsLastInTraining);

    /// <summary>The same, with <paramref name="channelsLastInTraining"/> standing for the CPU's choice (tests both kinds of machine).</summary>
    internal static bool UseChannelsLast(this ActivationLayout layout, Tensor x, bool training, bool channelsLastInTraining) => layout switch
    {
        ActivationLayout.ChannelsLast => true,
        ActivationLayout.ChannelsFirst => false,
        _ => x.device_type == DeviceType.CPU && (!training || channelsLastInTraining),
    };

    /// <summary>The same values, stored NHWC (torch's channels_last memory format): shape and indexing unchanged.</summary>
    public static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    public static string Name(this ActivationLayout layout) => Names[(int)layout];

    /// <summary>Parses auto | channels-first (nchw) | channels-last (nhwc).</summary>
    public static ActivationLayout Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "auto" => ActivationLayout.Auto,
        "channels-first" or "nchw" => ActivationLayout.ChannelsFirst,
        "channels-last" or "nhwc" => ActivationLayout.ChannelsLast,
        _ => throw new ArgumentException($"'{text}' is not a layout; expected one of {string.Join(", ", Names)}"),
    };
}
