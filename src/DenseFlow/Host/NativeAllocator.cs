namespace DenseFlow.Host;

/// <summary>
/// Which malloc serves libtorch's tensors. A DenseFlow training step allocates and frees thousands of
/// activation and gradient blocks; glibc's malloc spends a few percent of the step's CPU samples in
/// <c>_int_malloc</c>, <c>malloc_consolidate</c> and <c>unlink_chunk</c> on the main thread while the other
/// OpenMP thread waits. gperftools' tcmalloc (Debian's <c>libtcmalloc-minimal4</c>) does the same work faster:
/// on the Zen-5 EPYC of docs/PERFORMANCE.md ("Zen 5, stop 33") the fmnist-cpu step fell 6–23% (4 alternating
/// pairs) and the small32x1 step 8–10% in 2 of 3 pairs (5% slower in the third), with lower peak RSS. malloc can
/// only be replaced before the process starts (LD_PRELOAD), so the CLI starts itself again with the library
/// preloaded (<see cref="Plan"/>) and waits for that process.
/// DENSEFLOW_ALLOCATOR=glibc keeps glibc's malloc; without the library, or under an MPI launcher (whose
/// processes must not be replaced by children), glibc's malloc stays too.
/// </summary>
public static class NativeAllocator
{
    /// <summary>The library's Debian file name (package libtcmalloc-minimal4).</summary>
    public const string LibraryName = "libtcmalloc_minimal.so.4";

    /// <summary>Set in the started-again process so it never starts itself a third time.</summary>
    public const string RelaunchedVariable = "DENSEFLOW_ALLOCATOR_RELAUNCHED";

    static readonly string[] LibraryDirectories =
        ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"];

    /// <summary>What to do at start-up: <paramref name="Preload"/> the library's path to start again with, or null
    /// to run here; <paramref name="Reason"/> says which and why (for tests and diagnostics).</summary>
    public readonly record struct Decision(string? Preload, string Reason);

    /// <summary>The decision for an environment (pure: tested without starting processes).</summary>
    /// <param name="env">Environment lookup.</param>
    /// <param name="libraryPath">Where tcmalloc is, or null when it is not installed.</param>
    /// <param name="loaded">Whether tcmalloc is already mapped into this process (e.g. the user preloaded it).</param>
    public static Decision Plan(Func<string, string?> env, string? libraryPath, bool loaded)
    {
        string choice = env("DENSEFLOW_ALLOCATOR")?.Trim().ToLowerInvariant() ?? "";
        if (choice is not ("" or "tcmalloc" or "glibc"))
            throw new ArgumentException($"DENSEFLOW_ALLOCATOR='{env("DENSEFLOW_ALLOCATOR")}': expected tcmalloc or glibc");
        if (loaded) return new(null, "tcmalloc");
        if (!OperatingSystem.IsLinux()) return new(null, "system malloc (not Linux)");
        if (choice == "glibc") return new(null, "glibc (DENSEFLOW_ALLOCATOR=glibc)");
        if (env(RelaunchedVariable) is not null) return new(null, "glibc (tcmalloc preloaded but not mapped)");
        if (libraryPath is null) return new(null, $"glibc ({LibraryName} not installed)");
        if (Distributed.Launcher.Detect(env) is not null) return new(null, "glibc (under an MPI launcher: preload tcmalloc through it)");
        return new(libraryPath, "tcmalloc");
    }

    /// <summary><see cref="Plan"/> for this process.</summary>
    public static Decision PlanHere() =>
        Plan(Environment.GetEnvironmentVariable, FindLibrary(), IsLoaded());

    /// <summary>The first of the usual library directories that holds <see cref="LibraryName"/>.</summary>
    public static string? FindLibrary() =>
        LibraryDirectories.Select(d => Path.Combine(d, LibraryName)).FirstOrDefault(File.Exists);

    /// <summary>Whether tcmalloc is mapped into this process (/proc/self/maps; false where there is none).</summary>
    public static bool IsLoaded()
    {
        try { return File.ReadLines("/proc/self/maps").Any(l => l.Contains("libtcmalloc", StringComparison.Ordinal)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>LD_PRELOAD for the started-again process: the library first, the user's own preloads kept.</summary>
    public static string PreloadValue(string library, string? existing) =>
        string.IsNullOrWhiteSpace(existing) ? library : library + ":" + existing;
}
