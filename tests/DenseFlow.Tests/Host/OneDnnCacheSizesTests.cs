using DenseFlow.Host;

namespace DenseFlow.Tests.Host;

public sealed class OneDnnCacheSizesTests
{
    /// <summary>
    /// After the start-up check oneDNN blocks its convolutions for caches of at least 1 KiB per core, L1 ≤ L2
    /// (not L3: on Xeons its share per logical core is below L2).
    /// On the Zen-5 guest of docs/RELIABILITY.md libtorch's oneDNN holds 1-byte caches until the repair; there this
    /// fails if the repair is skipped or writes fields oneDNN does not read.
    /// </summary>
    [Fact]
    public void After_the_check_oneDNN_sees_caches_of_real_size()
    {
        string state = OneDnnCheck.Ensure();
        if (state.StartsWith("on", StringComparison.Ordinal) || state.StartsWith("off", StringComparison.Ordinal)) return;   // DENSEFLOW_ONEDNN skips the repair
        uint[]? sizes = OneDnnCacheSizes.CurrentSizes(out string? why);
        // Readable sizes are required only where the repair is needed (elsewhere e.g. ARM64 has no Xbyak object).
        if (sizes is null) { Assert.False(OneDnnCacheSizes.TopologyHidden(), $"oneDNN's cache sizes unreadable: {why}"); return; }
        Assert.True(sizes[0] >= 1024 && sizes[0] <= sizes[1],
            $"oneDNN's per-core caches L1 {sizes[0]} B, L2 {sizes[1]} B, L3 {sizes[2]} B (check: {state}; repair: {OneDnnCheck.CacheRepair})");
        Assert.DoesNotContain("not repaired", OneDnnCheck.CacheRepair);
        Assert.Equal("not needed", OneDnnCacheSizes.Repair());   // a second repair finds nothing to do
    }

    /// <summary>Where the CPU hides its cache topology, the sizes written come from its older leaves: L1d and L2 of a
    /// real x86 core (16 KiB – 4 MiB), L1d ≤ L2.</summary>
    [Fact]
    public void The_legacy_leaves_give_plausible_per_core_sizes_where_the_topology_is_hidden()
    {
        if (!OneDnnCacheSizes.TopologyHidden()) return;
        uint[] sizes = OneDnnCacheSizes.LegacyLeafSizes();
        Assert.InRange(sizes[0], 16u << 10, 256u << 10);
        Assert.InRange(sizes[1], sizes[0], 16u << 20);
    }
}
