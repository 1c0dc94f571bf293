using System.Globalization;

namespace DenseFlow.Cli;

/// <summary>Bad usage: a one-line message naming the option and what was expected; exit code 2.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}

public enum OptionKind { Flag, Value }

public sealed record OptionSpec(string Name, string Help, OptionKind Kind = OptionKind.Value, string? Alias = null, string? Meta = null);

/// <summary>One command: its options, help text and action.</summary>
public sealed class Command
{
    public required string Name { get; init; }
    public required string Summary { get; init; }
    public required string Usage { get; init; }
    public string? Examples { get; init; }
    public IReadOnlyList<OptionSpec> Options { get; init; } = Array.Empty<OptionSpec>();
    /// <summary>Name of the positional argument, if the command takes one.</summary>
    public string? Positional { get; init; }
    public required Func<Args, int> Run { get; init; }

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

    public Args Parse(string[] argv)
    {
        var values = new Dictionary<string, string?>();
        string? positional = null;
        for (int i = 0; i < argv.Length; i++)
        {
            string a = argv[i];
            if (a.StartsWith("-") && a.Length > 1 && !double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                string key = a.TrimStart('-');
                string? inline = null;
                int eq = key.IndexOf('=');
                if (eq >= 0) { inline = key[(eq + 1)..]; key = key[..eq]; }
                var spec = Options.FirstOrDefault(o => o.Name == key || o.Alias == key)
                    ?? throw new UsageException($"denseflow {Name}: unknown option '{a}' (see 'denseflow {Name} --help')");
                if (spec.Kind == OptionKind.Flag) { values[spec.Name] = "true"; continue; }
                string? value = inline ?? (i + 1 < argv.Length ? argv[++i] : null);
                if (value is null) throw new UsageException($"denseflow {Name}: option --{spec.Name} needs a value");
                values[spec.Name] = value;
            }
            else if (Positional is not null && positional is null) positional = a;
            else throw new UsageException($"denseflow {Name}: unexpected argument '{a}'");
        }
        return new Args(Name, values, positional);
    }
}

/// <summary>Parsed options with typed, validated accessors that throw <see cref="UsageException"/>.</summary>
public sealed class Args
{
    readonly string _command;
    readonly Dictionary<string, string?> _values;
    public string? Positional { get; }

    public Args(string command, Dictionary<string, string?> values, string? positional)
    {
        _command = command; _values = values; Positional = positional;
    }

    public bool Has(string name) => _values.ContainsKey(name);
    public bool Flag(string name) => _values.ContainsKey(name);
    public string? String(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public string Required(string name) => String(name) ?? throw new UsageException($"denseflow {_command}: --{name} is required");

    public int? Int(string name, int min = int.MinValue, string what = "an integer")
    {
        var s = String(name);
        if (s is null) return null;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
            throw new UsageException($"denseflow {_command}: --{name} must be {what}, got '{s}'");
        return v;
    }

    public int PositiveInt(string name, int fallback) => Int(name, 1, "a positive integer") ?? fallback;

    public double? Double(string name, double min = double.NegativeInfinity, bool exclusive = false, string what = "a number")
    {
        var s = String(name);
        if (s is null) return null;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < min || (exclusive && v == min))
            throw new UsageException($"denseflow {_command}: --{name} must be {what}, got '{s}'");
        return v;
    }

    public string ExistingDirectory(string name)
    {
        var p = Required(name);
        if (!Directory.Exists(p)) throw new UsageException($"denseflow {_command}: --{name} {p}: directory not found");
        return p;
    }

    public string? ExistingFile(string name)
    {
        var p = String(name);
        if (p is not null && !File.Exists(p)) throw new UsageException($"denseflow {_command}: --{name} {p}: file not found");
        return p;
    }

    public T Choice<T>(string name, T fallback, IReadOnlyDictionary<string, T> choices)
    {
        var s = String(name);
        if (s is null) return fallback;
        return choices.TryGetValue(s, out var v) ? v
            : throw new UsageException($"denseflow {_command}: --{name} must be one of {string.Join(", ", choices.Keys)}, got '{s}'");
    }

    public UsageException Error(string message) => new($"denseflow {_command}: {message}");
}
