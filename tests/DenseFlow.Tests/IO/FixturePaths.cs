namespace DenseFlow.Tests.IO;

/// <summary>
/// Locates the shared fixtures. The repository and the <c>shared</c> folder are siblings
/// (e.g. /work/main and /work/shared; in CI the clone lives elsewhere with shared/ beside it),
/// so walk up from the test binaries until a directory has a <c>shared</c> child with fixtures.
/// The environment variable DENSEFLOW_SHARED, when set, names the shared folder directly.
/// </summary>
public static class FixturePaths
{
    private static readonly Lazy<string> SharedRoot = new(FindShared);

    public static string Shared => SharedRoot.Value;

    public static string OfficialSmall => Path.Combine(Shared, "fixtures", "official-small");

    private static string FindShared()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("DENSEFLOW_SHARED");
        if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "fixtures")))
                return candidate;
        }
        throw new DirectoryNotFoundException(
            $"No 'shared/fixtures' folder found in any parent of {AppContext.BaseDirectory} (expected shared/ beside the repository).");
    }
}
