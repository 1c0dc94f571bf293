using System.Runtime.InteropServices;
using DenseFlow.Host;

namespace DenseFlow.Tests.Host;

public sealed class ElfSymbolsTests
{
    const string GlobalContext = "_ZN2at13globalContextEv", L1dCacheSize = "_ZN2at3cpu14L1d_cache_sizeEv";
    const string PerCoreCacheSize = "_ZN4dnnl4impl3cpu8platform23get_per_core_cache_sizeEi";   // not exported

    static string LoadedTorch()
    {
        _ = TorchSharp.torch.ones(1);   // loads libtorch
        return OneDnnCacheSizes.LoadedLibraryPath("libtorch_cpu.so") ?? throw new InvalidOperationException("libtorch_cpu.so not mapped");
    }

    /// <summary>Two exported functions' symbol values and the addresses the loader gives them differ by one
    /// page-aligned load base: a misread value field or a wrong symbol match breaks this.</summary>
    [Fact]
    public void Exported_symbols_agree_with_the_loader_on_one_load_base()
    {
        if (!OperatingSystem.IsLinux()) return;
        string library = LoadedTorch();
        var symbols = ElfSymbols.Find(library, GlobalContext, L1dCacheSize, "no_such_symbol_anywhere");
        Assert.False(symbols.ContainsKey("no_such_symbol_anywhere"));
        IntPtr handle = NativeLibrary.Load(library);
        long baseA = (long)NativeLibrary.GetExport(handle, GlobalContext) - (long)symbols[GlobalContext].Value;
        long baseB = (long)NativeLibrary.GetExport(handle, L1dCacheSize) - (long)symbols[L1dCacheSize].Value;
        Assert.NotEqual(symbols[GlobalContext].Value, symbols[L1dCacheSize].Value);
        Assert.Equal(baseA, baseB);
        Assert.Equal(0, baseA % 4096);
    }

    /// <summary>What the reader is for: a function the library does not export is still found, with its size.</summary>
    [Fact]
    public void A_symbol_the_library_does_not_export_is_found_in_the_full_table()
    {
        if (!OperatingSystem.IsLinux()) return;
        string library = LoadedTorch();
        Assert.False(NativeLibrary.TryGetExport(NativeLibrary.Load(library), PerCoreCacheSize, out _));
        var symbols = ElfSymbols.Find(library, PerCoreCacheSize);
        Assert.True(symbols.TryGetValue(PerCoreCacheSize, out var symbol), $"{PerCoreCacheSize} not in {library}'s .symtab");
        Assert.True(symbol.Value > 0 && symbol.Size > 0, $"value {symbol.Value}, size {symbol.Size}");
    }

    [Fact]
    public void A_file_that_is_not_ELF_or_is_cut_short_gets_an_error_naming_it()
    {
        string dir = Directory.CreateTempSubdirectory("elf").FullName;
        try
        {
            string text = Path.Combine(dir, "notes.txt");
            File.WriteAllText(text, "this is not a shared library, only some words to fill the header");
            var e = Assert.Throws<InvalidDataException>(() => ElfSymbols.Find(text, "x"));
            Assert.StartsWith(text + ":", e.Message);
            Assert.Contains("ELF", e.Message);

            string empty = Path.Combine(dir, "empty.so");
            File.WriteAllBytes(empty, []);
            e = Assert.Throws<InvalidDataException>(() => ElfSymbols.Find(empty, "x"));
            Assert.StartsWith(empty + ":", e.Message);

            if (!OperatingSystem.IsLinux()) return;   // the cut file below starts as libtorch_cpu.so does
            // A real ELF header whose section table lies past the end of the cut file.
            string cut = Path.Combine(dir, "cut.so");
            using (var source = File.OpenRead(LoadedTorch()))
            {
                var head = new byte[4096];
                source.ReadExactly(head);
                File.WriteAllBytes(cut, head);
            }
            e = Assert.Throws<InvalidDataException>(() => ElfSymbols.Find(cut, "x"));
            Assert.StartsWith(cut + ":", e.Message);
            Assert.Contains("past the end", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
