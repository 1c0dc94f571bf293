using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Host;

/// <summary>
/// A self-check of libtorch's oneDNN convolutions on this CPU, and the way out when they are wrong.
/// On the 2-core AMD EPYC (CPU family 26, Zen 5) of 2026-12-07, libtorch 2.10's oneDNN gives wrong float32
/// convolutions where a channel count leaves a partial block: NCHW outputs and input gradients, NHWC 1×1 outputs
/// with 2 threads; what reused memory held (NaN, old activations) enters the result (docs/RELIABILITY.md,
/// "oneDNN on Zen 5"; root cause not found). PyTorch 1.13 on the same machine, float64 and
/// ONEDNN_MAX_CPU_ISA=SSE41 are exact. Where the check fails,
/// oneDNN is switched off for the process (libtorch then runs its own convolutions: exact, slower).
/// DENSEFLOW_ONEDNN=on keeps oneDNN regardless, =off switches it off without checking.
/// </summary>
public static class OneDnnCheck
{
    /// <summary>What <see cref="Ensure"/> found: "exact", "wrong: oneDNN off", "wrong: could not switch oneDNN off",
    /// "off (DENSEFLOW_ONEDNN)", "on (DENSEFLOW_ONEDNN)", or "not checked".</summary>
    public static string State { get; private set; } = "not checked";

    static readonly object Gate = new();

    /// <summary>Checks once per process (a few ms) and switches oneDNN off where it computes wrong convolutions.
    /// Returns the state; <paramref name="warn"/> gets one line when oneDNN is switched off because it failed.</summary>
    public static string Ensure(TextWriter? warn = null)
    {
        lock (Gate)
        {
            if (State != "not checked") return State;
            string choice = Choice(Environment.GetEnvironmentVariable("DENSEFLOW_ONEDNN"));
            if (choice == "on") return State = "on (DENSEFLOW_ONEDNN)";
            if (choice == "off")
                return State = TrySwitchOff() ? "off (DENSEFLOW_ONEDNN)" : throw new ArgumentException("DENSEFLOW_ONEDNN=off: this libtorch has no switch for oneDNN");
            if (Exact()) return State = "exact";
            if (!TrySwitchOff())
            {
                warn?.WriteLine("denseflow: this CPU's oneDNN convolutions gave wrong results in the start-up check, and oneDNN could not be switched off here; results may be wrong.");
                return State = "wrong: could not switch oneDNN off";
            }
            warn?.WriteLine("denseflow: this CPU's oneDNN convolutions gave wrong results in the start-up check; running libtorch's own (exact, slower). DENSEFLOW_ONEDNN=on overrides.");
            return State = "wrong: oneDNN off";
        }
    }

    /// <summary>
    /// Whether float32 convolutions (as libtorch runs them now) match float64 on channel counts that leave partial
    /// blocks, NCHW 3×3 and NHWC 1×1 (the two kinds seen wrong), after the heap was filled with NaN: a padded
    /// block that is not zeroed then shows as NaN or a large error.
    /// </summary>
    public static bool Exact()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var generator = new Generator(20261207);
        foreach (var (inChannels, outChannels, kernel, channelsLast) in new[] { (17, 16, 3, false), (34, 17, 3, false), (18, 36, 1, true), (34, 36, 1, true) })
        {
            var x = randn(new long[] { 4, inChannels, 12, 12 }, generator: generator);
            var w = randn(new long[] { outChannels, inChannels, kernel, kernel }, generator: generator) * 0.1;
            var b = randn(new long[] { outChannels }, generator: generator);
            long[] padding = [kernel / 2, kernel / 2];
            var truth = nn.functional.conv2d(x.to_type(ScalarType.Float64), w.to_type(ScalarType.Float64), b.to_type(ScalarType.Float64), padding: padding);
            if (channelsLast) x = Nets.ActivationLayouts.ToChannelsLast(x);
            for (int trial = 0; trial < 3; trial++)
            {
                PoisonHeap(4 * 16 * 144, 4 * 32 * 144, 4 * 48 * 144, 48 * 48 * 9);
                var y = nn.functional.conv2d(x, w, b, padding: padding).to_type(ScalarType.Float64);
                double error = ((y - truth).abs().max() / truth.abs().max()).item<double>();
                if (!(error < 1e-4)) return false;   // NaN fails too
            }
        }
        return true;
    }

    /// <summary>Frees four NaN-filled tensors of each size (elements), so memory reused next holds NaN.</summary>
    internal static void PoisonHeap(params long[] sizes)
    {
        foreach (long size in sizes)
            for (int k = 0; k < 4; k++) full(new long[] { size }, float.NaN).Dispose();
    }

    /// <summary>DENSEFLOW_ONEDNN's value: auto (check; the default), on or off.</summary>
    internal static string Choice(string? value)
    {
        string v = value?.Trim().ToLowerInvariant() ?? "";
        return v switch
        {
            "" or "auto" => "auto",
            "on" or "off" => v,
            _ => throw new ArgumentException($"DENSEFLOW_ONEDNN='{value}': expected auto, on or off"),
        };
    }

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    static extern IntPtr GlobalContext();

    // at::Context::setUserEnabledMkldnn(bool), the switch behind PyTorch's torch.backends.mkldnn.enabled,
    // which TorchSharp does not expose.
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    static extern bool UserEnabledMkldnn(IntPtr context);

    /// <summary>Whether libtorch uses oneDNN for convolutions now.</summary>
    public static bool Enabled => UserEnabledMkldnn(GlobalContext());

    internal static void SetEnabled(bool enabled) => SetUserEnabledMkldnn(GlobalContext(), enabled);

    /// <summary>Switches oneDNN off; false where libtorch lacks the Itanium-mangled switch (another OS or build).</summary>
    static bool TrySwitchOff()
    {
        try { SetEnabled(false); return !Enabled; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
