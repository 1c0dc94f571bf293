using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Host;

/// <summary>
/// A self-check of libtorch's oneDNN convolutions on this CPU, and the ways out when they are wrong.
/// On the 2-core AMD EPYC (CPU family 26, Zen 5, a guest under PVM) of 2026-12-07, libtorch 2.10's oneDNN gave
/// wrong float32 convolutions where a channel count leaves a partial block (NaN, 14–41% errors): the guest's CPUID
/// hides the cache topology, so oneDNN believed in 1-byte caches (docs/RELIABILITY.md, "oneDNN on Zen 5").
/// In auto mode <see cref="OneDnnCacheSizes.Repair"/> first gives oneDNN the sizes the CPU's older leaves report;
/// then four small convolutions are compared with float64, and where they are still wrong oneDNN is switched off for
/// the process (libtorch then runs its own convolutions: exact, 4.5× slower there).
/// DENSEFLOW_ONEDNN=on keeps oneDNN as libtorch set it up (no repair, no check), =off switches it off.
/// </summary>
public static class OneDnnCheck
{
    /// <summary>What <see cref="Ensure"/> found: "exact", "exact (cache sizes repaired)", "wrong: oneDNN off",
    /// "wrong: could not switch oneDNN off",
    /// "off (DENSEFLOW_ONEDNN)", "on (DENSEFLOW_ONEDNN)", or "not checked".</summary>
    public static string State { get; private set; } = "not checked";

    /// <summary>What <see cref="OneDnnCacheSizes.Repair"/> found at the check ("not run" before it; DENSEFLOW_ONEDNN=on and
    /// =off skip it).</summary>
    public static string CacheRepair { get; private set; } = "not run";

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
            CacheRepair = OneDnnCacheSizes.Repair();   // before the check, which tests the repaired oneDNN
            string repaired = CacheRepair.StartsWith("repaired", StringComparison.Ordinal) ? " (cache sizes repaired)" : "";
            if (Exact()) return State = "exact" + repaired;
            if (!TrySwitchOff())
            {
                warn?.WriteLine("denseflow: this CPU's oneDNN convolutions gave wrong results in the start-up check, and oneDNN could not be switched off here; results may be wrong.");
                return State = "wrong: could not switch oneDNN off";
            }
            string why = CacheRepair.StartsWith("not repaired", StringComparison.Ordinal) ? $" (cache sizes {CacheRepair})" : repaired;
            warn?.WriteLine($"denseflow: this CPU's oneDNN convolutions gave wrong results in the start-up check{why}; running libtorch's own (exact, slower). DENSEFLOW_ONEDNN=on overrides.");
            return State = "wrong: oneDNN off" + why;
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
            // The float64 truth as a matrix product of unfolded patches: a float64 conv2d would try NNPACK, which
            // prints a warning on every CPU it does not know.
            var patches = nn.functional.unfold(x.to_type(ScalarType.Float64), kernel, padding: kernel / 2);
            var truth = (w.to_type(ScalarType.Float64).view(outChannels, -1).matmul(patches) + b.to_type(ScalarType.Float64).view(1, outChannels, 1))
                .view(4, outChannels, 12, 12);
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

    /// <summary>Switches oneDNN off (and NNPACK where it cannot start, <see cref="QuietNnpack"/>); false where libtorch lacks
    /// the Itanium-mangled switch (another OS or build).</summary>
    static bool TrySwitchOff()
    {
        try { SetEnabled(false); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
        if (Enabled) return false;
        QuietNnpack();
        return true;
    }

    // at::Context::setUserEnabledNNPACK(bool) (torch.backends.nnpack's switch; not in TorchSharp).
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    /// <summary>
    /// With oneDNN off libtorch asks NNPACK at every convolution. Where the CPU hides its cache topology (the Zen-5
    /// guest) NNPACK's cpuinfo finds no caches, NNPACK cannot start, and libtorch prints "Could not initialize NNPACK!
    /// Reason: Unsupported hardware" at every call before running its own convolution; switching NNPACK off there
    /// keeps that convolution and drops the noise. Elsewhere NNPACK stays as libtorch set it.
    /// </summary>
    static void QuietNnpack()
    {
        if (!OneDnnCacheSizes.TopologyHidden()) return;
        try { SetUserEnabledNnpack(GlobalContext(), false); }
        catch (EntryPointNotFoundException) { }
    }
}
