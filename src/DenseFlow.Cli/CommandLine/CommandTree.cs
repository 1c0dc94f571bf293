using System.Globalization;
using System.Reflection;
using Scl = System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Parsing;

namespace DenseFlow.Cli;

/// <summary>
/// The declared <see cref="Command"/>s as a System.CommandLine tree: one subcommand per command, one option per
/// <see cref="OptionSpec"/>. System.CommandLine parses, answers the <c>[suggest:POS]</c> completion directive and
/// finds --help and --version; this class prints the commands' own help, and turns a parse into <see cref="Args"/>
/// or a one-line usage error in the tool's words.
/// </summary>
public sealed class CommandTree
{
    readonly IReadOnlyList<Command> _commands;
    readonly Scl.RootCommand _root;
    readonly Scl.Option _help;
    readonly Scl.Option _version;
    readonly SuggestDirective _suggest;
    readonly Dictionary<Scl.Command, Command> _commandOf = new();
    readonly Dictionary<Scl.Option, OptionSpec> _specOf = new();

    // Tokens stay as typed: no response files (@file) and no bundling of single-letter options.
    static readonly Scl.ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null, EnablePosixBundling = false };

    public CommandTree(IReadOnlyList<Command> commands)
    {
        _commands = commands;
        _root = new Scl.RootCommand("DenseFlow normalizing flows for images, on TorchSharp");
        // --help and -h only (not System.CommandLine's extra /h, -? and /?): the spellings the tool has always had.
        _root.Options.Remove(_root.Options.OfType<Scl.Help.HelpOption>().Single());
        _help = new Scl.Help.HelpOption("--help", "-h") { Recursive = true };
        _root.Options.Add(_help);
        _version = _root.Options.OfType<Scl.VersionOption>().Single();
        _suggest = _root.Directives.OfType<SuggestDirective>().Single();
        foreach (var c in commands) _root.Subcommands.Add(Node(c));
    }

    /// <summary>The version the assembly carries (the informational version: the package version and source revision).</summary>
    public static string Version =>
        typeof(CommandTree).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CommandTree).Assembly.GetName().Version?.ToString() ?? "unknown";

    public string Overview() =>
        "denseflow — DenseFlow normalizing flows (Grcić et al., NeurIPS 2021) for images, on TorchSharp\n\nUsage: denseflow <command> [options]\n\nCommands:\n"
        + string.Join("\n", _commands.Select(c => $"  {c.Name,-18} {c.Summary}"))
        + "\n\nRun 'denseflow <command> --help' for a command's options, 'denseflow --version' for the version,"
        + "\n'denseflow completion bash' (or zsh) for a shell completion script.";

    /// <summary>Parses; prints what needs no command to run (help, version, completions, unknown command).</summary>
    public ParsedCommandLine Parse(string[] args)
    {
        if (args.Length == 0 || args[0] == "help")
        {
            var asked = args.Length > 1 ? _commands.FirstOrDefault(c => c.Name == args[1]) : null;
            Console.WriteLine(asked?.Help() ?? Overview());
            return ParsedCommandLine.Answered(args.Length == 0 ? 2 : 0);
        }

        var parse = _root.Parse(args, Configuration);
        if (parse.GetResult(_suggest) is not null)
            return ParsedCommandLine.Answered(parse.Invoke(new Scl.InvocationConfiguration
            {
                Output = Console.Out, Error = Console.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
            }));

        _commandOf.TryGetValue(parse.CommandResult.Command, out var command);
        // --help or -h anywhere wins over everything else on the line, as it always has, even where an option
        // would take it as its value (`train --out -h` shows help rather than training into a directory "-h").
        if (parse.GetResult(_help) is OptionResult { Implicit: false } || (command is not null && args.Any(a => a is "--help" or "-h")))
        {
            Console.WriteLine(command?.Help() ?? Overview());
            return ParsedCommandLine.Answered(0);
        }
        if (command is null)
        {
            if (parse.Errors.Count == 0 && parse.GetResult(_version) is OptionResult { Implicit: false })
            {
                Console.WriteLine(Version);
                return ParsedCommandLine.Answered(0);
            }
            string first = parse.UnmatchedTokens.FirstOrDefault() ?? args[0];
            Console.Error.WriteLine($"denseflow: unknown command '{first}' (expected one of: {string.Join(", ", _commands.Select(c => c.Name))})");
            return ParsedCommandLine.Answered(2);
        }
        if (parse.Errors.Count > 0) return new ParsedCommandLine(null, command, Error: ErrorOf(command, parse));
        return new ParsedCommandLine(null, command, Args: ArgsOf(command, parse.CommandResult));
    }

    Scl.Command Node(Command c)
    {
        var node = new Scl.Command(c.Name, c.Summary);
        foreach (var spec in c.Options)
        {
            string[] aliases = spec.Alias is null ? [] : ["-" + spec.Alias];
            Scl.Option option = spec.Kind == OptionKind.Flag
                ? new Scl.Option<bool>("--" + spec.Name, aliases) { Arity = Scl.ArgumentArity.Zero }
                // A list, one value per occurrence, so a repeated option takes its last value (as it always has) rather than failing.
                : new Scl.Option<string[]>("--" + spec.Name, aliases) { Arity = Scl.ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false, HelpName = spec.Meta ?? "VALUE" };
            option.Description = spec.Help;
            if (spec.Completions is { } values) option.CompletionSources.Add(context => Matching(values(), context));
            node.Options.Add(option);
            _specOf[option] = spec;
        }
        if (c.Positional is not null)
        {
            var positional = new Scl.Argument<string>(c.Positional) { Arity = Scl.ArgumentArity.ZeroOrOne };
            if (c.PositionalCompletions is { } values) positional.CompletionSources.Add(context => Matching(values(), context));
            node.Arguments.Add(positional);
        }
        _commandOf[node] = c;
        return node;
    }

    static IEnumerable<CompletionItem> Matching(IEnumerable<string> values, CompletionContext context) =>
        values.Where(v => v.StartsWith(context.WordToComplete, StringComparison.Ordinal)).Select(v => new CompletionItem(v));

    Args ArgsOf(Command command, CommandResult result)
    {
        var values = new Dictionary<string, string?>();
        foreach (var o in result.Children.OfType<OptionResult>().Where(o => !o.Implicit))
            if (_specOf.TryGetValue(o.Option, out var spec))
                values[spec.Name] = spec.Kind == OptionKind.Flag ? "true" : o.Tokens[^1].Value;
        string? positional = result.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens).Select(t => t.Value).FirstOrDefault();
        return new Args(command.Name, values, positional);
    }

    /// <summary>The first problem on the line, in the words the tool has always used.</summary>
    static UsageException ErrorOf(Command command, Scl.ParseResult parse)
    {
        string prefix = $"denseflow {command.Name}: ";
        // A value option can only lack its value at the end of the line, so stray tokens before it come first.
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            return LooksLikeOption(token)
                ? new UsageException($"{prefix}unknown option '{token}' (see 'denseflow {command.Name} --help')")
                : new UsageException($"{prefix}unexpected argument '{token}'");
        }
        foreach (var e in parse.Errors)
            if (e.SymbolResult is OptionResult { Tokens.Count: 0 } o && o.Option.Arity.MinimumNumberOfValues > 0)
                return new UsageException($"{prefix}option {o.Option.Name} needs a value");
        return new UsageException(prefix + parse.Errors[0].Message);
    }

    /// <summary>A dash word that is not a number (so <c>--temperature -1</c> passes -1 on to the command's own check).</summary>
    static bool LooksLikeOption(string token) =>
        token.Length > 1 && token[0] == '-' && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
