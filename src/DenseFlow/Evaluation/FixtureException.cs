namespace DenseFlow.Evaluation;

/// <summary>A fixture directory that cannot be used (missing or malformed files).</summary>
public sealed class FixtureException : Exception
{
    public FixtureException(string message) : base(message) { }
}
