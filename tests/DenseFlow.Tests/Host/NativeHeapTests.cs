using System.Runtime.InteropServices;
using DenseFlow.Host;

namespace DenseFlow.Tests.Host;

public sealed class NativeHeapTests
{
    [Fact]
    public void Settings_apply_unless_the_user_chose_glibcs_own()
    {
        Assert.Equal(OperatingSystem.IsLinux() ? "kept" : "not Linux", NativeHeap.Decide(["PATH", "HOME", "DENSEFLOW_THREADS"], null));
        if (!OperatingSystem.IsLinux()) return;
        Assert.Equal("kept", NativeHeap.Decide(["PATH"], "keep"));
        Assert.Equal("kept", NativeHeap.Decide(["PATH", "MALLOC_SOMETHING"], " Keep "));   // not a glibc name (no trailing _)
        Assert.Equal("DENSEFLOW_HEAP=default", NativeHeap.Decide(["PATH"], "default"));
        Assert.Equal("MALLOC_ARENA_MAX_ is set", NativeHeap.Decide(["PATH", "MALLOC_ARENA_MAX_"], null));
        Assert.Equal("GLIBC_TUNABLES is set", NativeHeap.Decide(["GLIBC_TUNABLES"], "keep"));
        var e = Assert.Throws<ArgumentException>(() => NativeHeap.Decide(["PATH"], "huge"));
        Assert.Contains("DENSEFLOW_HEAP='huge'", e.Message);
        Assert.Contains("keep or default", e.Message);
    }

    [StructLayout(LayoutKind.Sequential)]
    struct RUsage { public long UtimeSec, UtimeUsec, StimeSec, StimeUsec, MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NvCsw, NivCsw; }

    [DllImport("libc", EntryPoint = "getrusage")]
    static extern int GetRUsage(int who, out RUsage usage);

    const int RusageThread = 1;   // Linux: this thread's counts only, so parallel tests do not disturb them

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
        if (!OperatingSystem.IsLinux() || NativeHeap.Configure() != "kept") return;   // the process keeps glibc's defaults on purpose
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
