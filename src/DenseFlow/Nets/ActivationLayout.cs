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
    /// Channels-last where it measured faster with libtorch's oneDNN convolutions on CPU: always in
    /// eval mode (evaluation, sampling, IWBO) and, in training mode, for maps of at least
    /// <see cref="ActivationLayouts.AutoTrainingMinPixels"/> pixels; channels-first on other devices.
    /// The choice follows the module's mode, not whether autograd records, so a recomputed network
    /// (<see cref="Recomputation"/>) runs in the same layout in both of its passes and gives identical results.
    /// </summary>
    Auto,
    /// <summary>NCHW everywhere (libtorch's default, and the reference's).</summary>
    ChannelsFirst,
    /// <summary>NHWC inside every dense block.</summary>
    ChannelsLast,
}

public static class ActivationLayouts
{
    /// <summary>
    /// In training mode, Auto uses channels-last only from this many pixels (16×16) up: oneDNN's
    /// channels-last backward pass was 4–13% slower than channels-first on 8×8 and 4×4 maps here
    /// (AVX2), while on 16×16 and larger the faster forward pays.
    /// </summary>
    public const long AutoTrainingMinPixels = 256;

    public static readonly IReadOnlyList<string> Names = ["auto", "channels-first", "channels-last"];

    /// <summary>Whether a dense block in training (or eval) mode given <paramref name="x"/> (N,C,H,W) computes in NHWC.</summary>
    public static bool UseChannelsLast(this ActivationLayout layout, Tensor x, bool training) => layout switch
    {
        ActivationLayout.ChannelsLast => true,
        ActivationLayout.ChannelsFirst => false,
        _ => x.device_type == DeviceType.CPU && (!training || x.shape[2] * x.shape[3] >= AutoTrainingMinPixels),
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
