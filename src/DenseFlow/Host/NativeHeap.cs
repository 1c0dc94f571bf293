using System.Runtime.InteropServices;

namespace DenseFlow.Host;

/// <summary>
/// glibc's heap settings for libtorch's tensors. By default glibc hands every large block back to the kernel
/// when it is freed (blocks above its mmap threshold are unmapped, the heap top above 2× that threshold is
/// trimmed), so each training step faults the same activations in again, page by page, zeroed by the kernel.
/// On virtual machines a page fault is expensive: on the 2-core Zen-5 PVM guest of docs/PERFORMANCE.md
/// ("A fourth machine kind: Zen 5 under PVM") keeping freed blocks cut the small32x1 training step by 16% and
/// left its peak RSS unchanged. So the process keeps what it freed for the next step: blocks up to 32 MiB
/// (glibc's largest mmap threshold) come from the heap, and the heap top is trimmed only when more than 2 GiB
/// of it is free. The CLI applies this at start-up; library users call <see cref="Configure"/> themselves.
/// DENSEFLOW_HEAP=default, or a glibc setting of the user's own for the same parameters, leaves glibc's defaults.
/// </summary>
public static class NativeHeap
{
    // mallopt parameter numbers, from glibc's malloc.h.
    const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3;

    /// <summary>Largest mmap threshold glibc accepts on 64-bit (HEAP_MAX_SIZE / 2).</summary>
    public const int MmapThresholdBytes = 32 << 20;

    /// <summary>How far the heap grows past a request, so a step's first allocations do not each extend it.</summary>
    public const int TopPadBytes = 256 << 20;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int Mallopt(int param, int value);

    /// <summary>What <see cref="Configure"/> did: "kept" (applied), or why glibc's defaults stay.</summary>
    public static string State { get; private set; } = "not configured";

    /// <summary>Applies the settings once per process (see the class summary); safe on any OS.</summary>
    public static string Configure()
    {
        if (State != "not configured") return State;
        State = DecideHere();
        if (State != "kept") return State;
        try
        {
            // int.MaxValue: the trim threshold is an unsigned long in glibc; 2 GiB of free heap top is kept.
            bool ok = Mallopt(M_MMAP_THRESHOLD, MmapThresholdBytes) == 1
                      & Mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1
                      & Mallopt(M_TOP_PAD, TopPadBytes) == 1;
            State = ok ? "kept" : "glibc refused mallopt";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            State = "no glibc mallopt";
        }
        return State;
    }

    /// <summary>glibc's own environment variables for the parameters set here (and MMAP_MAX, which decides mmap use).</summary>
    static readonly string[] OwnSettings = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"];

    /// <summary>"kept" when the settings apply, else the reason they do not (pure: tested without touching the heap).</summary>
    internal static string Decide(IEnumerable<string> environmentNames, string? denseflowHeap, string? glibcTunables)
    {
        string choice = denseflowHeap?.Trim().ToLowerInvariant() ?? "";
        if (choice is not ("" or "keep" or "default")) throw new ArgumentException($"DENSEFLOW_HEAP='{denseflowHeap}': expected keep or default");
        if (!OperatingSystem.IsLinux()) return "not Linux";
        if (choice == "default") return "DENSEFLOW_HEAP=default";
        var own = environmentNames.FirstOrDefault(OwnSettings.Contains);
        if (own is not null) return $"{own} is set";
        return glibcTunables?.Contains("glibc.malloc.", StringComparison.Ordinal) == true ? "GLIBC_TUNABLES sets glibc.malloc" : "kept";
    }

    /// <summary><see cref="Decide"/> on this process's environment.</summary>
    internal static string DecideHere() => Decide(Environment.GetEnvironmentVariables().Keys.Cast<string>(),
        Environment.GetEnvironmentVariable("DENSEFLOW_HEAP"), Environment.GetEnvironmentVariable("GLIBC_TUNABLES"));
}
