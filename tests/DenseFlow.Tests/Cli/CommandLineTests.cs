using System.Reflection;
using DenseFlow.Cli;
using DenseFlow.Data;

namespace DenseFlow.Tests.Cli;

/// <summary>The command line on System.CommandLine: help, version, usage errors and completion, against the declared commands.</summary>
public class CommandLineTests
{
    /// <summary>Every command declared in the tool (each <c>static readonly Command</c> of DenseFlow.Cli.Commands), found without the registration list so a forgotten registration shows.</summary>
    public static IReadOnlyList<Command> Declared() =>
        typeof(DenseFlowCli).Assembly.GetTypes()
            .Where(t => t.Namespace == "DenseFlow.Cli.Commands")
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            .Where(f => f.FieldType == typeof(Command))
            .Select(f => (Command)f.GetValue(null)!)
            .ToList();

    static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void EveryDeclaredCommandsHelpListsEachOfItsOptions()
    {
        var commands = Declared();
        Assert.True(commands.Count >= 16);
        foreach (var c in commands)
        {
            var (code, output, err) = CliTests.Run(c.Name, "--help");
            Assert.Equal(0, code);
            Assert.Equal("", err);
            foreach (var o in c.Options)
            {
                Assert.Contains("--" + o.Name + (o.Kind == OptionKind.Value ? " " : ""), output);
                if (o.Alias is not null) Assert.Contains($"-{o.Alias}, --{o.Name}", output);
            }
            // -h is the same help, and so is `help COMMAND`.
            Assert.Equal(output, CliTests.Run(c.Name, "-h").Out);
            Assert.Equal(output, CliTests.Run("help", c.Name).Out);
        }
        var (top, overview, _) = CliTests.Run("--help");
        Assert.Equal(0, top);
        foreach (var c in commands) Assert.Contains($"  {c.Name} ", overview);
    }

    [Fact]
    public void HelpWinsOverOtherProblemsOnTheLine()
    {
        var (code, output, err) = CliTests.Run("train", "--no-such-option", "stray", "--help");
        Assert.Equal(0, code);
        Assert.Contains("denseflow train", output);
        Assert.Equal("", err);
    }

    [Theory]
    // An unknown dataset first, so a regression ends in a usage error rather than a training run.
    [InlineData("--out", "--help")]
    [InlineData("--out", "-h")]
    public void HelpAsAnOptionsValueStillShowsHelp(string option, string help)
    {
        var (code, output, err) = CliTests.Run("train", "--dataset", "no-such-dataset", option, help);
        Assert.Equal(0, code);
        Assert.Contains("denseflow train", output);
        Assert.Equal("", err);
    }

    [Fact]
    public void VersionPrintsTheAssemblysInformationalVersion()
    {
        string expected = typeof(DenseFlowCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var (code, output, err) = CliTests.Run("--version");
        Assert.Equal(0, code);
        Assert.Equal(expected, output.Trim());
        Assert.Equal("", err);
        // The package version leads it (the SDK may append "+<source revision>").
        Assert.StartsWith(typeof(DenseFlowCli).Assembly.GetName().Version!.ToString(3), expected);
    }

    [Theory]
    [InlineData(new[] { "train", "--no-such-option" }, "unknown option '--no-such-option'")]
    [InlineData(new[] { "train", "--no-such-option=3" }, "unknown option '--no-such-option=3'")]
    [InlineData(new[] { "eval", "--run" }, "option --run needs a value")]
    [InlineData(new[] { "sample", "stray" }, "unexpected argument 'stray'")]
    [InlineData(new[] { "import", "a.pt", "b.pt" }, "unexpected argument 'b.pt'")]
    [InlineData(new[] { "info", "--json=yes" }, "unexpected argument 'yes'")]
    [InlineData(new[] { "train", "--version" }, "unknown option '--version'")]
    [InlineData(new[] { "trian" }, "unknown command 'trian'")]
    public void UsageErrorsExitTwoWithOneLineNamingTheProblem(string[] args, string expected)
    {
        var (code, output, err) = CliTests.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var line = Assert.Single(Lines(err));
        Assert.Contains(expected, line);
        Assert.StartsWith(args[0] == "trian" ? "denseflow: " : $"denseflow {args[0]}: ", line);
    }

    [Theory]
    [InlineData(new[] { "sample", "--run", "/nonexistent/run", "--temperature", "-1" }, "--temperature must be a positive number, got '-1'")]
    [InlineData(new[] { "train", "--minutes=-1", "--out", "/nonexistent/run" }, "--minutes must be a positive number of minutes, got '-1'")]
    // A repeated option takes its last value.
    [InlineData(new[] { "train", "--batch", "8", "--batch", "-3", "--out", "/nonexistent/run" }, "--batch must be a positive integer, got '-3'")]
    public void NegativeAndInlineValuesReachTheCommandsOwnCheck(string[] args, string expected)
    {
        var (code, _, err) = CliTests.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, Assert.Single(Lines(err)));
    }

    static string[] Suggest(string line)
    {
        var (code, output, _) = CliTests.Run($"[suggest:{line.Length}]", line);
        Assert.Equal(0, code);
        return Lines(output);
    }

    [Fact]
    public void CompletionOffersCommandsOptionsAndNames()
    {
        var commands = Declared();
        Assert.Equal(commands.Select(c => c.Name).Where(n => n.StartsWith("tr")).Order(), Suggest("denseflow tr").Order());
        var train = commands.Single(c => c.Name == "train");
        Assert.Equal(train.Options.Select(o => "--" + o.Name).Where(n => n.StartsWith("--da")).Order(), Suggest("denseflow train --da").Order());
        Assert.Equal(Datasets.Names.Order(), Suggest("denseflow train --dataset ").Order());
        Assert.Equal(Datasets.Names.Where(n => n.StartsWith("ci")).Order(), Suggest("denseflow train --dataset ci").Order());
        Assert.Equal(DenseFlow.Model.Presets.Names.Order(), Suggest("denseflow bench --preset ").Order());
        Assert.Equal(new[] { "bash", "zsh" }, Suggest("denseflow completion ").Where(s => !s.StartsWith('-')).Order());
    }

    [Theory]
    [InlineData("bash", "complete -o bashdefault -o default -F _denseflow_complete denseflow")]
    [InlineData("zsh", "compdef _denseflow_complete denseflow")]
    public void CompletionScriptsAskTheToolThroughTheSuggestDirective(string shell, string registration)
    {
        var (code, output, err) = CliTests.Run("completion", shell);
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Contains("[suggest:", output);
        Assert.Contains(registration, output);
    }

    [Fact]
    public void CompletionForAnUnknownShellIsAUsageError()
    {
        var (code, _, err) = CliTests.Run("completion", "fish");
        Assert.Equal(2, code);
        Assert.Contains("unknown shell 'fish'", Assert.Single(Lines(err)));
    }
}
