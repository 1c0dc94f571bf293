using System.Runtime.InteropServices;
using DenseFlow.Host;

namespace DenseFlow.Tests.Host;

public sealed class NativeHeapTests
{
    [Fact]
    public void Settings_apply_unless_the_user_chose_glibcs_own()
    {
        // A bad value is refused on every OS, before anything else is looked at.
        var e = Assert.Throws<ArgumentException>(() => NativeHeap.Decide(["PATH"], "huge", null));
        Assert.Contains("DENSEFLOW_HEAP='huge'", e.Message);
        Assert.Contains("keep or default", e.Message);
        Assert.Equal(OperatingSystem.IsLinux() ? "kept" : "not Linux", NativeHeap.Decide(["PATH", "HOME", "DENSEFLOW_THREADS"], null, null));
        if (!OperatingSystem.IsLinux()) return;
        Assert.Equal("kept", NativeHeap.Decide(["PATH"], "keep", null));
        // Settings of other parameters do not conflict: arena count, checking, perturbing, CPU tunables.
        Assert.Equal("kept", NativeHeap.Decide(["MALLOC_ARENA_MAX", "MALLOC_CHECK_", "MALLOC_PERTURB_", "GLIBC_TUNABLES"], " Keep ", "glibc.cpu.hwcaps=-AVX512F"));
        Assert.Equal("DENSEFLOW_HEAP=default", NativeHeap.Decide(["PATH"], "default", null));
        Assert.Equal("MALLOC_TRIM_THRESHOLD_ is set", NativeHeap.Decide(["PATH", "MALLOC_TRIM_THRESHOLD_"], null, null));
        Assert.Equal("MALLOC_MMAP_MAX_ is set", NativeHeap.Decide(["MALLOC_MMAP_MAX_"], "keep", null));
        Assert.Equal("GLIBC_TUNABLES sets glibc.malloc", NativeHeap.Decide(["GLIBC_TUNABLES"], "keep", "glibc.malloc.mmap_threshold=65536"));
    }

    [StructLayout(LayoutKind.Sequential)]
    struct RUsage { public long UtimeSec, UtimeUsec, StimeSec, StimeUsec, MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NvCsw, NivCsw; }

    [DllImport("libc", EntryPoint = "getrusage")]
    static extern int GetRUsage(int who, out RUsage usage);

    const int RusageThread = 1;   // Linux: this thread's counts only, not the GC's or torch's threads

    static long MinorFaults() { Assert.Equal(0, GetRUsage(RusageThread, out var u)); return u.MinFlt; }

    static long FaultsToFill(byte[] ones, out nint block)
    {
        block = Marshal.AllocHGlobal(ones.Length);   // malloc on Unix
        long before = MinorFaults();
        Marshal.Copy(ones, 0, block, ones.Length);
        return MinorFaults() - before;
    }

    /// <summary>What the settings are for: a freed block of activation size is reused without faulting its pages in again.</summary>
    [Fact]
    public void A_freed_large_block_is_reused_without_page_faults()
    {
        if (NativeHeap.DecideHere() != "kept") return;   // not Linux, or the user chose glibc's defaults on purpose
        Assert.Equal("kept", NativeHeap.Configure());   // mallopt accepted every value
        var ones = new byte[24 << 20];   // 6,144 pages: a dense block's output at batch 64
        Array.Fill(ones, (byte)1);
        FaultsToFill(ones, out nint a);   // fresh pages, or pages an earlier test freed and the heap kept
        Marshal.FreeHGlobal(a);
        long again = FaultsToFill(ones, out nint b);
        Marshal.FreeHGlobal(b);
        long pages = ones.Length / Environment.SystemPageSize;
        Assert.True(again < pages / 10, $"refilling a freed 24 MiB block faulted {again} of its {pages} pages: the heap gave it back to the kernel");
    }
}
