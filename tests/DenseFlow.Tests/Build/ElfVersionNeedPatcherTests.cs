using DenseFlow.Build;

namespace DenseFlow.Tests.Build;

public class ElfVersionNeedPatcherTests
{
    static string? ShippedLib() =>
        Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).FirstOrDefault();

    [Fact]
    public void ShippedLibraryNeedIsWeakOrSystemHasVersion()
    {
        string lib = ShippedLib() ?? throw new Exception("libLibTorchSharp.so not found in test output");
        byte[] data = File.ReadAllBytes(lib);
        var r = ElfVersionNeedPatcher.MarkWeak(data, "GLIBCXX_3.4.32", out long offset);
        bool systemHas = File.Exists("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
            && ElfVersionNeedPatcher.LibraryDefinesVersion("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "GLIBCXX_3.4.32");
        if (!systemHas) Assert.Equal(ElfVersionNeedPatcher.Result.AlreadyWeak, r);
        Assert.True(offset > 0);
    }

    [Fact]
    public void PatchSetsOnlyTheWeakBitOfThatEntry()
    {
        string lib = ShippedLib() ?? throw new Exception("libLibTorchSharp.so not found in test output");
        byte[] original = File.ReadAllBytes(lib);
        // Clear the weak bit to get the unpatched image back, then patch it again.
        ElfVersionNeedPatcher.MarkWeak((byte[])original.Clone(), "GLIBCXX_3.4.32", out long off);
        byte[] unpatched = (byte[])original.Clone();
        unpatched[off] = (byte)(unpatched[off] & ~ElfVersionNeedPatcher.VerFlgWeak);
        byte[] repatched = (byte[])unpatched.Clone();
        Assert.Equal(ElfVersionNeedPatcher.Result.Patched, ElfVersionNeedPatcher.MarkWeak(repatched, "GLIBCXX_3.4.32", out long off2));
        Assert.Equal(off, off2);
        int differing = Enumerable.Range(0, unpatched.Length).Count(i => unpatched[i] != repatched[i]);
        Assert.Equal(1, differing);
        Assert.Equal(ElfVersionNeedPatcher.Result.NotNeeded, ElfVersionNeedPatcher.MarkWeak((byte[])unpatched.Clone(), "GLIBCXX_9.9.99", out _));
    }

    [Fact]
    public void NonElfIsLeftAlone()
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes("not an elf file at all, just text padding padding padding padding");
        Assert.Equal(ElfVersionNeedPatcher.Result.NotElf64, ElfVersionNeedPatcher.MarkWeak(bytes, "GLIBCXX_3.4.32", out _));
    }
}
