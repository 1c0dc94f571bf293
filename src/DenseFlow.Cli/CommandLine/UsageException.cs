namespace DenseFlow.Cli;

/// <summary>Bad usage: a one-line message naming the option and what was expected; exit code 2.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
