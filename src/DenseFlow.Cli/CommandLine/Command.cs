namespace DenseFlow.Cli;

/// <summary>
/// One command, declared: its options, help text and action. <see cref="CommandTree"/> turns the commands into
/// a System.CommandLine tree that parses them; <see cref="Run"/> gets the parsed <see cref="Args"/>.
/// </summary>
public sealed class Command
{
    public required string Name { get; init; }
    public required string Summary { get; init; }
    public required string Usage { get; init; }
    public string? Examples { get; init; }
    public IReadOnlyList<OptionSpec> Options { get; init; } = Array.Empty<OptionSpec>();
    /// <summary>Name of the positional argument, if the command takes one.</summary>
    public string? Positional { get; init; }
    /// <summary>The values shell completion offers for the positional argument; none when null.</summary>
    public Func<IEnumerable<string>>? PositionalCompletions { get; init; }
    public required Func<Args, int> Run { get; init; }

    /// <summary>The `--help` text. Written here rather than by System.CommandLine's help builder, whose layout has no place for the usage lines and examples.</summary>
    public string Help()
    {
        var lines = new List<string> { $"denseflow {Name} — {Summary}", "", "Usage:", $"  {Usage}", "", "Options:" };
        foreach (var o in Options.Append(new OptionSpec("help", "show this help", OptionKind.Flag, "h")))
        {
            string flag = (o.Alias is null ? "    " : $"-{o.Alias}, ") + "--" + o.Name + (o.Kind == OptionKind.Value ? " " + (o.Meta ?? "VALUE") : "");
            lines.Add($"  {flag,-30} {o.Help}");
        }
        if (Examples is not null) { lines.Add(""); lines.Add("Examples:"); lines.AddRange(Examples.Split('\n').Select(l => "  " + l)); }
        return string.Join(Environment.NewLine, lines);
    }
}
