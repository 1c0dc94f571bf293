namespace DenseFlow.Cli;

/// <summary>
/// What parsing the command line gave: already answered (help, --version, a completion request, an unknown
/// command) with <see cref="ExitCode"/>; or the <see cref="Command"/> to run with its <see cref="Args"/>, or with
/// the one-line usage <see cref="Error"/> to report for it.
/// </summary>
public sealed record ParsedCommandLine(int? ExitCode, Command? Command = null, Args? Args = null, UsageException? Error = null)
{
    public static ParsedCommandLine Answered(int exitCode) => new(exitCode);
}
