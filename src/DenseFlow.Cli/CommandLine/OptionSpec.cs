namespace DenseFlow.Cli;

/// <summary>
/// One option of a command: <c>--Name</c> (and <c>-Alias</c>), its help line and, for a value option, the
/// placeholder shown in help (<see cref="Meta"/>).
/// </summary>
public sealed record OptionSpec(string Name, string Help, OptionKind Kind = OptionKind.Value, string? Alias = null, string? Meta = null)
{
    /// <summary>The values shell completion offers for this option (e.g. dataset or preset names); none when null.</summary>
    public Func<IEnumerable<string>>? Completions { get; init; }
}
