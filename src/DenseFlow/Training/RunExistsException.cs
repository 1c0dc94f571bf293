namespace DenseFlow.Training;

/// <summary>A new run was asked for in a directory that already holds one (and replacing it was not).</summary>
public sealed class RunExistsException : Exception
{
    public string Directory { get; }
    public RunExistsException(string directory) : base($"{directory}: already holds a run") { Directory = directory; }
}
