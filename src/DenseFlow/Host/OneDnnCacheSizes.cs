using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace DenseFlow.Host;

/// <summary>
/// Repairs the cache sizes libtorch's oneDNN believes in, where the CPU does not report its cache topology.
/// oneDNN sizes its convolution blocks from Xbyak's reading of CPUID; on AMD CPUs that reading comes from leaf
/// 0x8000001D. A guest whose hypervisor zeroes that leaf (the Zen-5 EPYC under PVM of docs/RELIABILITY.md) makes
/// Xbyak report three cache levels of 1 byte each, and with those oneDNN computes wrong float32 convolutions where
/// a channel count leaves a partial block (NaN, 14–41% errors). This writes the sizes the CPU's older leaves
/// 0x80000005/0x80000006 report into oneDNN's copy (a static object found through libtorch_cpu's symbol table),
/// reads them back through oneDNN's own accessor, and undoes the write if they do not read back.
/// Kernels oneDNN made before the repair are dropped from its primitive cache: kept, they stayed wrong (measured).
/// Call it before other threads use oneDNN (<see cref="OneDnnCheck.Ensure"/> does, once per process).
/// </summary>
public static class OneDnnCacheSizes
{
    // oneDNN's accessor, its Xbyak CPU object, and an exported anchor that gives libtorch_cpu's load base.
    const string PerCoreCacheSize = "_ZN4dnnl4impl3cpu8platform23get_per_core_cache_sizeEi";
    const string XbyakCpu = "_ZZN4dnnl4impl3cpu3x643cpuEvE4cpu_";
    const string Anchor = "_ZN2at13globalContextEv";
    const string GetCacheCapacity = "dnnl_get_primitive_cache_capacity", SetCacheCapacity = "dnnl_set_primitive_cache_capacity";

    // Field offsets in Xbyak::util::Cpu as libtorch 2.10 builds it (read off get_per_core_cache_size's code):
    // dataCacheSize_[10], coresSharingDataCache_[10], dataCacheLevels_. The read-back proves them before use.
    const int SizesOffset = 0x1C, SharingOffset = 0x44, LevelsOffset = 0x6C, FieldsEnd = 0x70;

    /// <summary>
    /// Whether this CPU hides the cache topology Xbyak reads on AMD (leaf 0x8000001D empty): only then can oneDNN
    /// hold degenerate sizes. False on other vendors, other architectures and other operating systems.
    /// </summary>
    public static bool TopologyHidden()
    {
        if (!OperatingSystem.IsLinux() || !X86Base.IsSupported) return false;
        var (_, b, c, d) = X86Base.CpuId(0, 0);
        bool amd = b == 0x68747541 && d == 0x69746E65 && c == 0x444D4163;   // "AuthenticAMD"
        if (!amd) return false;
        uint maxExtended = (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        return maxExtended < 0x8000001D || (X86Base.CpuId(unchecked((int)0x8000001D), 0).Eax & 0x1F) == 0;
    }

    /// <summary>The L1d and L2 sizes per core and the L3 size (the whole cache the leaf describes) in bytes, from
    /// AMD's leaves 0x80000005/0x80000006. The L3 goes to oneDNN as it is: per-core shares of 1–4 MiB measured the
    /// same (docs/PERFORMANCE.md, "Zen 5 with oneDNN repaired").</summary>
    public static uint[] LegacyLeafSizes()
    {
        uint l1 = ((uint)X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24) << 10;
        var l23 = X86Base.CpuId(unchecked((int)0x80000006), 0);
        uint l2 = ((uint)l23.Ecx >> 16) << 10;
        uint l3 = (uint)Math.Min(uint.MaxValue, ((ulong)(uint)l23.Edx >> 18) * (512u << 10));
        return [l1, l2, l3];
    }

    /// <summary>
    /// Checks oneDNN's cache sizes and repairs degenerate ones (under 1 KiB). Returns what it found or did, for the
    /// start-up report: "not needed", "repaired: L1 1 B → 48 KiB, …", or "not repaired: reason".
    /// </summary>
    public static string Repair()
    {
        lock (Gate) return RepairOnce();
    }

    // One repair at a time: it writes a process-wide object and empties a process-wide cache.
    static readonly object Gate = new();

    static unsafe string RepairOnce()
    {
        if (!TopologyHidden()) return "not needed";
        if (Locate(out string? why) is not { } oneDnn) return $"not repaired: {why}";
        uint[] before = oneDnn.PerCoreSizes();   // also builds Xbyak's object if nothing has yet
        if (before[0] >= 1024) return "not needed";
        uint[] sizes = LegacyLeafSizes();
        if (sizes[0] < 1024 || sizes[1] < sizes[0]) return $"not repaired: leaves 0x80000005/6 report L1d {sizes[0]} B, L2 {sizes[1]} B";
        if (sizes[2] < sizes[1]) sizes[2] = sizes[1];   // no L3 reported: oneDNN then blocks for L2 alone

        uint* cpu = oneDnn.XbyakCpu;
        var saved = new uint[FieldsEnd / 4];
        for (int i = 0; i < saved.Length; i++) saved[i] = cpu[i];
        for (int level = 0; level < 3; level++)
        {
            cpu[SizesOffset / 4 + level] = sizes[level];
            cpu[SharingOffset / 4 + level] = 1;
        }
        cpu[LevelsOffset / 4] = 3;
        uint[] after = oneDnn.PerCoreSizes();
        if (!after.SequenceEqual(sizes))
        {
            for (int i = 0; i < saved.Length; i++) cpu[i] = saved[i];
            return $"not repaired: oneDNN read back {string.Join("/", after)} B after writing {string.Join("/", sizes)} B (another Xbyak layout)";
        }

        // Kernels oneDNN already made were blocked for 1-byte caches: empty its primitive cache.
        int capacity;
        if (oneDnn.GetCacheCapacity(&capacity) == 0 && oneDnn.SetCacheCapacity(0) == 0) oneDnn.SetCacheCapacity(capacity);
        return "repaired: " + string.Join(", ", Enumerable.Range(0, 3).Select(l => $"L{l + 1} {Bytes(before[l])} → {Bytes(sizes[l])}"));
    }

    /// <summary>The per-core L1, L2 and L3 sizes oneDNN uses now, in bytes; null (with the reason) where libtorch_cpu's
    /// symbol table does not have what this needs (another OS or build).</summary>
    public static uint[]? CurrentSizes(out string? why) => Locate(out why)?.PerCoreSizes();

    /// <summary>Addresses inside the loaded libtorch_cpu.so, found through its .symtab.</summary>
    unsafe sealed class OneDnnInternals
    {
        public required delegate* unmanaged<int, uint> PerCore;
        public required uint* XbyakCpu;
        public required delegate* unmanaged<int*, int> GetCacheCapacity;
        public required delegate* unmanaged<int, int> SetCacheCapacity;
        public uint[] PerCoreSizes() => [PerCore(1), PerCore(2), PerCore(3)];
    }

    static OneDnnInternals? located;

    static unsafe OneDnnInternals? Locate(out string? why)
    {
        why = null;
        if (located is not null) return located;
        if (!OperatingSystem.IsLinux()) { why = "not Linux"; return null; }
        // TorchSharp loads libtorch on its first use, which may not have happened yet in this process.
        try { TorchSharp.torch.get_num_threads(); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException)
        { why = $"libtorch could not be loaded ({e.GetType().Name})"; return null; }
        string? library = LoadedLibraryPath("libtorch_cpu.so");
        if (library is null) { why = "libtorch_cpu.so is not loaded"; return null; }
        string[] names = [PerCoreCacheSize, XbyakCpu, Anchor, GetCacheCapacity, SetCacheCapacity];
        Dictionary<string, ElfSymbols.Symbol> symbols;
        try { symbols = ElfSymbols.Find(library, names); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { why = e.Message; return null; }
        if (symbols.Count < names.Length) { why = $"{library} lacks {string.Join(", ", names.Where(n => !symbols.ContainsKey(n)))}"; return null; }
        if (symbols[XbyakCpu].Size < FieldsEnd) { why = $"Xbyak's CPU object is {symbols[XbyakCpu].Size} bytes, expected at least {FieldsEnd}"; return null; }
        byte* loadBase;
        try { loadBase = (byte*)NativeLibrary.GetExport(NativeLibrary.Load(library), Anchor) - (long)symbols[Anchor].Value; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException) { why = e.Message; return null; }
        byte* At(string name) => loadBase + (long)symbols[name].Value;
        return located = new OneDnnInternals
        {
            PerCore = (delegate* unmanaged<int, uint>)At(PerCoreCacheSize),
            XbyakCpu = (uint*)At(XbyakCpu),
            GetCacheCapacity = (delegate* unmanaged<int*, int>)At(GetCacheCapacity),
            SetCacheCapacity = (delegate* unmanaged<int, int>)At(SetCacheCapacity),
        };
    }

    static string Bytes(uint n) => n >= 1 << 20 && n % (1 << 20) == 0 ? $"{n >> 20} MiB" : n >= 1024 && n % 1024 == 0 ? $"{n >> 10} KiB" : $"{n} B";

    /// <summary>The path of a shared library mapped into this process (from /proc/self/maps), or null.</summary>
    internal static string? LoadedLibraryPath(string fileName)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash >= 0 && line.EndsWith("/" + fileName, StringComparison.Ordinal)) return line[slash..];
            }
        }
        catch (IOException) { }
        return null;
    }
}
