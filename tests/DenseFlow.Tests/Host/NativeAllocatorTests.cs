using DenseFlow.Host;

namespace DenseFlow.Tests.Host;

public sealed class NativeAllocatorTests
{
    static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    const string Lib = "/usr/lib/x86_64-linux-gnu/" + NativeAllocator.LibraryName;

    [Fact]
    public void The_command_starts_again_with_tcmalloc_only_where_that_is_safe_and_wanted()
    {
        var e = Assert.Throws<ArgumentException>(() => NativeAllocator.Plan(Env(("DENSEFLOW_ALLOCATOR", "jemalloc")), Lib, loaded: false));
        Assert.Contains("DENSEFLOW_ALLOCATOR='jemalloc'", e.Message);
        Assert.Contains("tcmalloc or glibc", e.Message);
        // Already mapped (preloaded by the user, or this is the started-again process): run here.
        Assert.Equal(new NativeAllocator.Decision(null, "tcmalloc"), NativeAllocator.Plan(Env(), Lib, loaded: true));
        if (!OperatingSystem.IsLinux()) return;
        Assert.Equal(Lib, NativeAllocator.Plan(Env(), Lib, loaded: false).Preload);
        Assert.Equal(Lib, NativeAllocator.Plan(Env(("DENSEFLOW_ALLOCATOR", " TCMalloc ")), Lib, loaded: false).Preload);
        Assert.Null(NativeAllocator.Plan(Env(("DENSEFLOW_ALLOCATOR", "glibc")), Lib, loaded: false).Preload);
        Assert.Contains("not installed", NativeAllocator.Plan(Env(), null, loaded: false).Reason);
        // Started again but the preload did not take: never a third process.
        Assert.Null(NativeAllocator.Plan(Env((NativeAllocator.RelaunchedVariable, "1")), Lib, loaded: false).Preload);
        // An MPI launcher's processes stay themselves (mpiexec tracks them; PMI hands them descriptors).
        var mpi = NativeAllocator.Plan(Env(("PMI_RANK", "0"), ("PMI_SIZE", "2")), Lib, loaded: false);
        Assert.Null(mpi.Preload);
        Assert.Contains("MPI", mpi.Reason);
        Assert.Null(NativeAllocator.Plan(Env(("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "2")), Lib, loaded: false).Preload);
    }

    [Fact]
    public void The_preload_keeps_the_users_own()
    {
        Assert.Equal(Lib, NativeAllocator.PreloadValue(Lib, null));
        Assert.Equal(Lib, NativeAllocator.PreloadValue(Lib, " "));
        Assert.Equal(Lib + ":/opt/mine.so", NativeAllocator.PreloadValue(Lib, "/opt/mine.so"));
    }

    /// <summary>The CLI in a fresh process, DENSEFLOW_ALLOCATOR as given (null: unset) and never marked as started again.</summary>
    static (int Code, string Out, string Err) Cli(string? allocator, params string[] args) =>
        DenseFlow.Tests.Cli.CliProcess.Run(new Dictionary<string, string?> { ["DENSEFLOW_ALLOCATOR"] = allocator, [NativeAllocator.RelaunchedVariable] = null }, args);

    [Fact]
    public void A_command_runs_with_tcmalloc_where_installed_and_keeps_its_output_and_exit_code()
    {
        if (!OperatingSystem.IsLinux()) return;
        bool installed = NativeAllocator.FindLibrary() is not null;
        var (code, stdout, err) = Cli(null, "bench", "--preset", "fmnist-cpu", "--only", "calibration", "--repeats", "1", "--warmup", "0");
        Assert.True(code == 0, stdout + err);
        Assert.Contains(installed ? "; malloc tcmalloc;" : "; malloc glibc;", stdout);
        (code, stdout, err) = Cli("glibc", "bench", "--preset", "fmnist-cpu", "--only", "calibration", "--repeats", "1", "--warmup", "0");
        Assert.True(code == 0, stdout + err);
        Assert.Contains("; malloc glibc;", stdout);
        // Through the second process: a usage error is still one line on stderr and exit 2.
        (code, stdout, err) = Cli(null, "train", "--no-such-option");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--no-such-option", err);
        (code, _, err) = Cli("jemalloc", "info", "--preset", "small32x1");
        Assert.Equal(2, code);
        Assert.Contains("DENSEFLOW_ALLOCATOR='jemalloc'", err);
    }
}
