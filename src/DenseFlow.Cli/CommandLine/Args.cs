using System.Globalization;

namespace DenseFlow.Cli;

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
