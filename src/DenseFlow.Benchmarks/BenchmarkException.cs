namespace DenseFlow.Benchmarks;

/// <summary>A benchmark that could not run (bad options, a child process that failed).</summary>
public sealed class BenchmarkException : Exception
{
    public BenchmarkException(string message) : base(message) { }
}
